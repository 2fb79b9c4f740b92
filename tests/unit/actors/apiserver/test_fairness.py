"""What a request's claim classifies it as before it is authenticated (``fairness``): a claim
of another's inbox, with other credentials or none, never borrows that user's flow."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from actors.api import bindingbatches, flowcontrol
from actors.api.users import UserInfo
from actors.apiserver import fairness
from actors.apiserver.classifying import FlowControl, policy
from actors.apiserver.fairness import Identities, asked
from actors.apiserver.queueing import Dispatcher, Pacing
from bus.connection import Incoming
from bus.envelope import Envelope
from bus.subjects import Subjects

SUBJECTS = Subjects()
ADMIN = UserInfo("admin", groups=("system:masters", "system:authenticated"))
ALICE = UserInfo("alice", groups=("system:authenticated",))


def _request(owner: str, auth: dict[str, Any] | None) -> Incoming:
    return Incoming(f"{SUBJECTS.prefix}.api.core.v1.configmaps.list",
                    Envelope(verb="list", auth=auth, namespace="default"),
                    f"{SUBJECTS.inbox_prefix}.{owner}.x1")


def _flow(identities: Identities, incoming: Incoming) -> tuple[str, str]:
    flow = policy(flowcontrol.defaults()).classify(
        asked(incoming, SUBJECTS, identities.user(incoming)))
    return flow.level.name, flow.key


def test_a_forged_inbox_is_classified_neither_exempt_nor_as_its_owner():
    identities = Identities(SUBJECTS)
    for user, token in ((ADMIN, "tok-admin"), (ALICE, "tok-alice")):
        identities.learn(_request(user.name, {"token": token}), user)
    assert _flow(identities, _request("admin", {"token": "tok-admin"}))[0] == "exempt"
    alice = _flow(identities, _request("alice", {"token": "tok-alice"}))
    assert alice == ("global-default", "global-default/alice")
    forged: tuple[dict[str, Any] | None, ...] = (
        {"token": "tok-mallory"}, {}, None, {"ticket": b"mallory's"})
    for auth in forged:
        assert _flow(identities, _request("admin", auth))[0] != "exempt"
        assert _flow(identities, _request("alice", auth)) != alice


def test_a_forwarded_certificate_without_the_fronts_own_credential_is_not_the_forwarded_user():
    """A certificate is no secret: naming the front's inbox and forwarding the admin's
    certificate, without the front's own ticket, does not make a request exempt."""
    identities = Identities(SUBJECTS)
    front = "system:kube-apiserver-https"
    forwarded = {"certificate": b"admin's DER"}
    identities.learn(_request(front, {"ticket": b"front's", "forwarded": forwarded}), ADMIN)
    assert _flow(identities, _request(front, {"ticket": b"front's",
                                              "forwarded": forwarded}))[0] == "exempt"
    for auth in ({"forwarded": forwarded}, {"token": "tok-mallory", "forwarded": forwarded}):
        assert _flow(identities, _request(front, auth))[0] != "exempt"


def test_a_flood_making_up_a_credential_per_request_is_paced_as_one_sender():
    """Hole (attack, s8-fair): an unauthenticated claim is a flow of its own, told apart by its
    credential, and pacing keeps a Duty per flow: a flood whose every request carries a
    made-up token (or names a made-up inbox owner) is a new flow each time, owes one
    request's time, and is never paced; it takes the whole worker, as before pacing."""
    identities = Identities(SUBJECTS)
    levels = policy(flowcontrol.defaults())
    pacing = Pacing(frozenset(("global-default", "workload-low", "catch-all")), 0.1)
    dispatcher = Dispatcher(concurrency=600, max_wait=100.0, paced=pacing)
    for index in range(300):  # 6 s of the worker's time (one hand's queues: 6 of 50)
        incoming = _request("mallory", {"token": f"made-up-{index}"})
        flow = levels.classify(asked(incoming, SUBJECTS, identities.user(incoming)))
        assert dispatcher.offer(flow, incoming, 0.0, levels.total_shares) is not None
    now, busy, cost = 0.0, 0.0, 0.02  # one 401 costs the worker 20 ms
    while now < 10.0:
        ticket = dispatcher.next(now)
        if ticket is None:
            pause = dispatcher.pause(now)
            if pause == 0:
                break
            now += max(pause, 0.001)  # fairness.MIN_PAUSE
            continue
        now, busy = now + cost, busy + cost
        dispatcher.served(ticket, cost, now)
        dispatcher.release(ticket)
    assert busy <= 0.1 * 10.0 + pacing.shared_burst + cost, \
        f"the flood held the worker {busy:.3f} s of 10 s"


def test_a_flood_making_up_a_credential_per_request_holds_no_known_flow_behind_its_pace():
    """Hole (attack, s10): each made-up claim, a flow of its own, was dealt a hand of its own,
    so a flood spread over every queue of ``global-default``; each queue's head then waited on
    the one paced account of unverified claims, and a known user's request behind it waited
    that pace, refused after ``max_wait``. The claims of that account share one hand: they
    fill its queues alone (the rest refused), and the known user's request goes at once."""
    identities = Identities(SUBJECTS)
    alice = _request("alice", {"token": "tok-alice"})
    identities.learn(alice, ALICE)
    levels = policy(flowcontrol.defaults())
    dispatcher = Dispatcher(concurrency=600, max_wait=5.0,
                            paced=Pacing(frozenset(("global-default",)), 0.05))

    def offered(incoming: Incoming) -> bool:
        flow = levels.classify(asked(incoming, SUBJECTS, identities.user(incoming)))
        return dispatcher.offer(flow, incoming, 0.0, levels.total_shares) is not None

    queued = sum(offered(_request("mallory", {"token": f"made-up-{index}"}))
                 for index in range(6400))
    assert queued == 6 * 50  # one hand of the level's queues
    assert offered(alice)
    now = 0.0
    while (ticket := dispatcher.next(now)) is not None and ticket.item is not alice:
        now += 0.002  # each 401 the flood costs: its account soon owes its burst
        dispatcher.served(ticket, 0.002, now)
        dispatcher.release(ticket)
    assert ticket is not None and ticket.item is alice and not ticket.expired


def test_a_claim_one_worker_authenticated_is_known_to_the_others():
    """Each worker learns who a claim is; what one learnt must classify the next request on
    any other (FlowControl.learnt), or every client's first request to each worker lands on
    the one paced account of unverified claims (a cluster's start: 'no reply within 10 s')."""
    learnt: OrderedDict[Any, UserInfo] = OrderedDict()
    first, second = Identities(SUBJECTS, learnt), Identities(SUBJECTS, learnt)
    request = _request("alice", {"token": "tok-alice"})
    assert _flow(second, request)[1] != "global-default/alice"
    first.learn(request, ALICE)
    assert _flow(second, request) == ("global-default", "global-default/alice")


def test_past_the_claims_kept_the_least_recently_learnt_is_forgotten(monkeypatch):
    """A user opening thousands of sessions (each a claim learnt) made the workers forget
    every claim they knew, the control plane's included (all then paced as newcomers): only
    the claims idle meanwhile are forgotten."""
    monkeypatch.setattr(fairness, "MAX_IDENTITIES", 3)
    identities = Identities(SUBJECTS)
    controller = _request("alice", {"token": "tok-alice"})
    for index in range(10):
        identities.learn(controller, ALICE)  # alice keeps working
        identities.learn(_request("mallory", {"ticket": f"session-{index}".encode()}),
                         UserInfo("mallory"))
        assert _flow(identities, controller) == ("global-default", "global-default/alice")
    assert _flow(identities, _request("mallory", {"ticket": b"session-0"}))[1] != \
        "global-default/mallory"


class _Worker(fairness.Fairness):
    """The part of a worker that queues what arrives (no pipeline behind it)."""

    def __init__(self) -> None:
        self.flow_control = FlowControl()
        self.flow_control.policy = policy(flowcontrol.defaults())
        self.subjects, self.identities = SUBJECTS, Identities(SUBJECTS)
        self.dispatcher = Dispatcher(concurrency=600, max_wait=5.0)
        self._dispatching, self.told = False, list[object]()

    def tell_soon(self, message: object) -> None:
        self.told.append(message)


def test_a_batch_of_bindings_is_queued_as_many_requests_as_it_holds():
    worker = _Worker()
    body = bindingbatches.batch_body([{"kind": "Binding"}] * 3, [None] * 3)
    subject = f"{SUBJECTS.prefix}.api.core.v1.pods/binding.create"
    for envelope in (Envelope(verb="create", subresource="binding", body=body),
                     Envelope(verb="create", subresource="binding", namespace="default",
                              name="web", body=body)):
        assert worker.arrived(Incoming(subject, envelope, f"{SUBJECTS.inbox_prefix}.a.x1")) \
            is None
    widths = [ticket.width for ticket in iter(lambda: worker.dispatcher.next(0.0), None)]
    assert widths == [3, 1]  # a single binding, whatever its body, is one


class _Timed(fairness.Fairness):
    """A worker's flow control whose timers are only written down."""

    def __init__(self) -> None:
        self.timers: list[float] = []

    def tell_later(self, delay: float, message: Any) -> None:
        assert message is fairness.RESUME
        self.timers.append(delay)


def test_a_request_held_back_is_refused_when_it_expires_though_a_later_resume_is_due():
    """Hole (attack, s12): once a paced user's heavy request was served with nothing else
    waiting, the worker set its one RESUME for when her flow may go again (her debt over her
    share: 36 s after a write of 1.8 s). Her next request, held back, asked for a RESUME at
    its expiry (5 s) and was told one was on its way: nothing looked at it again before the
    36 s, and her client gave up at 10 s (504, not the 429 due at 5 s). The earlier RESUME
    is asked for."""
    worker = _Timed()
    worker._resume_later(36.0)  # served her write: nothing waits, her flow's turn is far
    worker._resume_later(5.0)  # her next request is held back: it expires sooner
    assert min(worker.timers) == 5.0
    worker._resume_later(20.0)  # one due sooner is on its way: no other
    assert len(worker.timers) == 2
