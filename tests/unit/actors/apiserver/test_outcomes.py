"""What the apiserver tells of its answers: whether a tracer listens (``outcomes.Tracers``)."""

from __future__ import annotations

from actors.apiserver.outcomes import TRACER_HEARD_FOR, TRACER_REPEAT, Tracers


def test_nobody_listens_until_a_tracer_announces_itself():
    assert not Tracers(lambda: 100.0).listening


def test_a_tracer_listens_while_its_announcements_keep_coming_and_not_after():
    now = [100.0]
    tracers = Tracers(lambda: now[0])
    tracers.heard("kubeactor.tracers", b"")
    for _ in range(5):  # announced every TRACER_REPEAT: listening throughout
        now[0] += TRACER_REPEAT
        assert tracers.listening
        tracers.heard()
    now[0] += TRACER_HEARD_FOR - 0.01
    assert tracers.listening  # one or two announcements may be lost
    now[0] += 0.02
    assert not tracers.listening
