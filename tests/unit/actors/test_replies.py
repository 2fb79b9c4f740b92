"""Where a bus actor's answers may go (bus/actor.py): only into inboxes, and an admission actor
only into the apiserver's; a refused answer is never published. Plain fakes, no server."""

from __future__ import annotations

from typing import Any

import pytest

from actors.admission_actor import AdmissionActor, Review, Verdict, allow
from bus.actor import BusActor
from bus.connection import Incoming
from bus.envelope import Envelope
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
