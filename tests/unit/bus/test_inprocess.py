"""``bus.inprocess``: a request handed to a responder of this process, without NATS: the same
bytes, reply subject and MAC as on the bus; the reply comes back through ``Incoming.answer``."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bus.actor import send_reply
from bus.config import BusConfig
from bus.connection import Connection, Incoming
from bus.envelope import Envelope, encode, mac
from bus.errors import BusTimeout
from bus.inprocess import Door

KEY = b"k" * 32


def _connection() -> Connection:
    connection = Connection(BusConfig(request_timeout=5), "front")
    connection.requests.prefix = "kubeactor.inbox.front.r."  # what connect() sets
    return connection


def test_the_door_takes_turns_and_a_closed_or_empty_one_has_no_taker():
    door, seen = Door(), []
    assert door.taker() is None
    first, second = seen.append, lambda incoming: None
    door.open(first)
    door.open(second)
    assert [door.taker() for _ in range(4)] == [first, second, first, second]
    door.close(first)
    door.close(second)
    assert door.taker() is None


def test_a_handed_request_is_what_the_bus_carries_and_its_reply_comes_back_from_a_thread():
    taken: list[Incoming] = []

    def take(incoming: Incoming) -> None:  # a responder on its own thread, as an actor
        taken.append(incoming)
        threading.Thread(target=send_reply, args=(
            None, incoming, incoming.envelope.reply({"got": incoming.envelope.body}))).start()

    envelope = Envelope(body={"name": "x"})
    reply = asyncio.run(_connection().handed(take, "kubeactor.api.get.configmaps", envelope,
                                             mac_key=KEY))
    assert reply.body == {"got": {"name": "x"}}
    incoming = taken[0]
    assert incoming.reply_to is not None and incoming.reply_to.startswith(
        "kubeactor.inbox.front.r.")
    assert incoming.data == encode(envelope) and incoming.envelope.body == {"name": "x"}
    assert incoming.mac == mac(KEY, incoming.subject, incoming.reply_to, incoming.data)


def test_a_handed_request_nobody_answers_times_out():
    with pytest.raises(BusTimeout):
        asyncio.run(_connection().handed(lambda incoming: None, "kubeactor.api.get.pods",
                                         Envelope(body={}), timeout=0.05))
