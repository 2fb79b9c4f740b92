"""Fault plans on a real NATS (bus/faults.py, bus/connection.py): what a subscription's handler
sees of the messages a plan drops, duplicates, delays or reorders, and what it leaves alone."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest

from bus import Envelope, faults
from bus.faults import FaultPlan

SUBJECT = "kubeactor.api.core.pods.create"


@pytest.fixture
def installed() -> Iterator[list[FaultPlan]]:
    plans: list[FaultPlan] = []
    yield plans
    for plan in plans:
        faults.PROCESS.remove(plan.name)


def install(plans: list[FaultPlan], **rates: float) -> None:
    plans.append(FaultPlan("test", ("kubeactor.api.*.pods.*",), until=time.time() + 60,
                           seed=1, **rates))
    faults.PROCESS.install(plans[-1])


def received(nats_server, connect, sent: list[Envelope], subject: str = SUBJECT,
             within: float = 1.0) -> list[str]:
    """The names of the messages ``sent`` on ``subject`` that the handler got, in order,
    until none came for ``within`` seconds."""
    got: queue.Queue[str] = queue.Queue()
    listener = connect(nats_server.url, "listener")
    listener.subscribe(subject, lambda incoming: got.put(incoming.envelope.name or ""))
    sender = connect(nats_server.url, "sender")
    for envelope in sent:
        sender.publish(subject, envelope)
    names = []
    try:
        while True:
            names.append(got.get(timeout=within))
    except queue.Empty:
        return names


def pods(count: int) -> list[Envelope]:
    return [Envelope(verb="create", resource="pods", name=f"p{i}") for i in range(count)]


def test_a_dropping_plan_drops_and_a_duplicating_one_delivers_twice(
        nats_server, connect, installed) -> None:
    install(installed, drop=1.0)
    assert received(nats_server, connect, pods(3)) == []
    faults.PROCESS.remove("test")
    install(installed, duplicate=1.0)
    assert received(nats_server, connect, pods(2)) == ["p0", "p0", "p1", "p1"]


def test_a_delayed_message_arrives_after_the_delay_and_reordered_ones_are_overtaken(
        nats_server, connect, installed) -> None:
    install(installed, delay=0.3)
    started = time.monotonic()
    assert received(nats_server, connect, pods(1)) == ["p0"]
    assert time.monotonic() - started >= 0.3
    faults.PROCESS.remove("test")
    install(installed, reorder=0.5)
    sent = [f"p{i}" for i in range(40)]
    order = received(nats_server, connect, pods(40))
    assert sorted(order) == sorted(sent) and order != sent


def test_subjects_outside_the_plan_and_fault_plans_own_messages_pass(
        nats_server, connect, installed) -> None:
    install(installed, drop=1.0)
    assert received(nats_server, connect, pods(2), "kubeactor.api.core.nodes.get") == [
        "p0", "p1"]
    own = Envelope(verb="create", group=faults.GROUP, resource=faults.RESOURCE, name="plan")
    assert received(nats_server, connect, [own]) == ["plan"]
