"""What the apiserver tells of its answers: whether a tracer listens (``outcomes.Tracers``)."""

from __future__ import annotations

from actors.apiserver.outcomes import TRACER_HEARD_FOR, TRACER_REPEAT, Tracers


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nobody_listens_until_a_tracer_announces_itself():
    assert not Tracers(Clock()).listening


def test_a_tracer_listens_while_its_announcements_keep_coming_and_not_after():
    clock = Clock()
    tracers = Tracers(clock)
    tracers.heard("kubeactor.tracers", b"")
    for _ in range(5):  # announced every TRACER_REPEAT: listening throughout
        clock.now += TRACER_REPEAT
        assert tracers.listening
        tracers.heard()
    clock.now += TRACER_HEARD_FOR - 0.01
    assert tracers.listening  # one or two announcements may be lost
    clock.now += 0.02
    assert not tracers.listening
