"""Where a bus actor's answers may go (bus/actor.py): only into inboxes, and an admission actor
only into the apiserver's; a refused answer is never published; one over the bus's limit becomes
a 500 saying so, the kubelet's node calls' too. Plain fakes, no server."""

from __future__ import annotations

from typing import Any

import pytest

from actors.admission_actor import AdmissionActor, Review, Verdict, allow
from actors.kubelet.config import KubeletConfig
from actors.kubelet.nodeagent import NodeAgent, Writers
from actors.kubelet.runtime import ExecResult
from bus.actor import BusActor, send_reply
from bus.connection import Incoming
from bus.envelope import Envelope
from bus.errors import PayloadTooLarge
from bus.subjects import Subjects

REVIEW = {"uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
          "resource": {"group": "", "version": "v1", "resource": "pods"}, "operation": "CREATE",
          "namespace": "default", "name": "p", "object": {}, "userInfo": {"username": "a"}}


class FakeConnection:
    """What a BusActor uses of a connection: it records what is published."""

    def __init__(self) -> None:
        self.subjects, self.name, self.sent = Subjects(), "fake", []

    def publish(self, subject: str, envelope: Envelope) -> None:
        self.sent.append(subject)


class Allowing(AdmissionActor):
    def admit(self, review: Review) -> Verdict:
        return allow()


class Echo(BusActor):
    def handle(self, incoming: Incoming) -> Envelope | None:
        return incoming.envelope.reply("echo")


def answered(actor: Any, reply_to: str, body: object = None) -> list[str]:
    actor._receive(Incoming("kubeactor.admission.policy", Envelope(body=body), reply_to))
    return actor.connection.sent


@pytest.mark.parametrize("reply_to", [
    "kubeactor.inbox.alice.r.1", "kubeactor.node.n1.exec", "$KV.kubeactor-store.x",
    "kubeactor.inbox.apiserver", "kubeactor.inbox.apiserver.>"])
def test_an_admission_actor_answers_only_into_the_apiservers_inbox(reply_to: str):
    assert answered(Allowing(FakeConnection(), "policy"), reply_to, REVIEW) == []
    assert answered(Allowing(FakeConnection(), "policy"), "kubeactor.inbox.apiserver.a.1",
                    REVIEW) == ["kubeactor.inbox.apiserver.a.1"]


def test_an_actor_answers_into_any_inbox_and_nowhere_else_even_when_busy():
    assert answered(Echo(FakeConnection()), "kubeactor.inbox.bob.r.1") == [
        "kubeactor.inbox.bob.r.1"]
    for elsewhere in ("kubeactor.watch.bob.w", "$JS.API.STREAM.DELETE.x", "kubeactor.trace.x"):
        assert answered(Echo(FakeConnection()), elsewhere) == []
    busy = Echo(FakeConnection())
    busy.mailbox_limit = 0  # every message is answered 429 on the loop: where it may go only
    handlers: list[Any] = []
    busy.connection.subscribe = lambda subject, handler, **options: handlers.append(handler)
    busy.listen("kubeactor.echo")
    for reply_to in ("kubeactor.node.n1.exec", "kubeactor.inbox.bob.r.2"):
        handlers[0](Incoming("kubeactor.echo", Envelope(), reply_to))
    assert busy.connection.sent == ["kubeactor.inbox.bob.r.2"]


class LimitedConnection(FakeConnection):
    """A connection whose bus takes messages of at most ``limit`` bytes of body."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.replies = limit, []

    def publish(self, subject: str, envelope: Envelope) -> None:
        if len(str(envelope.body)) > self.limit:
            raise PayloadTooLarge(f"message of {len(str(envelope.body))} bytes")
        self.replies.append(envelope)


def test_a_reply_over_the_bus_limit_is_replaced_by_a_500_that_says_so():
    connection = LimitedConnection(limit=100)
    send_reply(connection, Incoming("kubeactor.echo", Envelope(), "kubeactor.inbox.bob.r.1"),
               Envelope(body="x" * 1000))
    [reply] = connection.replies
    assert reply.status is not None and reply.status["code"] == 500
    assert reply.status["message"].startswith(
        "the response is too large for the bus (message of 1000 bytes); narrow the request")


def test_a_kubelets_node_call_answer_over_the_bus_limit_is_answered_500():
    """The node call's answer goes through the same fallback as every actor's reply: the
    apiserver relays a 500 at once instead of waiting for the call to time out."""
    class Talkative:
        def exec(self, uid: str, container: str, command: list[str]) -> ExecResult:
            return ExecResult(0, "y" * 1000, "")

    connection = LimitedConnection(limit=100)
    agent = NodeAgent(None, Talkative(), config=KubeletConfig("n1"),  # type: ignore[arg-type]
                      workers=None, timers=None, writers=Writers(None, None),  # type: ignore[arg-type]
                      publish=connection.publish, subjects=None)
    call = Envelope(verb="exec", body={"uid": "u", "container": "c", "command": ["yes"]})
    agent.answer(Incoming("kubeactor.node.n1.exec", call, "kubeactor.inbox.apiserver.1"),
                 connection)  # type: ignore[arg-type]
    [reply] = connection.replies
    assert reply.status is not None and reply.status["code"] == 500
