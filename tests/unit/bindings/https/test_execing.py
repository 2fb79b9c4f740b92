"""The HTTPS front's exec relay (bindings/https/execing.py) against a fake bus connection: a
client that leaves while its exec opens (aiohttp cancels the handler) or before its upgrade
leaves no stream subscribed in the front, and the kubelet's calls for input are answered
``hangup`` so that it lets go of the command at once; the same for a followed log."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from actors.api.discovery import Served
from actors.client.streams import ExecMessage
from bindings.https import Front
from bindings.https.execing import ExecRelay
from bus.connection import Incoming
from bus.envelope import Envelope
from bus.subjects import Subjects


class _Connection:
    """What an exec stream uses of a bus connection: its subscriptions and what it published."""

    def __init__(self) -> None:
        self.subjects, self.owner, self.name = Subjects("kubeactor"), "alice", "front"
        self.subscribed: list[str] = []
        self.unsubscribed: list[str] = []
        self.published: list[tuple[str, Envelope]] = []

    def subscribe(self, subject: str, handler: Any) -> str:
        self.subscribed.append(subject)
        return subject

    def unsubscribe(self, subscription: str) -> None:
        self.unsubscribed.append(subscription)

    def publish(self, subject: str, envelope: Envelope) -> None:
        self.published.append((subject, envelope))


class _Client:
    """A client whose exec request waits until ``go`` is set (the kubelet starting it)."""

    def __init__(self) -> None:
        self.connection = _Connection()
        self.asked, self.go = threading.Event(), threading.Event()

    def request(self, *args: Any, **kwargs: Any) -> None:
        self.asked.set()
        assert self.go.wait(10)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


async def _send(data: bytes) -> None:
    raise ConnectionError("the client left")


async def _until(done: Any) -> None:
    for _ in range(500):
        if done():
            return
        await asyncio.sleep(0.01)


def _relay() -> tuple[ExecRelay, _Client]:
    executor = ThreadPoolExecutor(2)
    return ExecRelay(_send, _nothing(), {}, executor), _Client()


def _asking(connection: _Connection) -> ExecMessage:
    """The kubelet's call for input, as it arrives."""
    reply_to = f"{connection.subjects.inbox('kubelet-n1')}.r1"
    return ExecMessage("input", Incoming("kubeactor.inbox.alice.exec.x",
                                         Envelope(verb="exec", body={"seq": 1, "input": True}),
                                         reply_to))


async def test_a_client_that_leaves_while_its_exec_opens_leaves_no_stream_subscribed():
    relay, client = _relay()
    opening = asyncio.create_task(relay.open(client, "demo", "default",  # type: ignore[arg-type]
                                             {"command": ["sleep", "3600"]}))
    await asyncio.get_running_loop().run_in_executor(None, client.asked.wait, 10)
    opening.cancel()  # aiohttp cancels the handler when its client leaves
    with pytest.raises(asyncio.CancelledError):
        await opening
    relay._arrived(_asking(client.connection))  # the kubelet started it, and asks for input
    client.go.set()  # the apiserver's answer: the stream is open
    connection = client.connection
    await _until(lambda: connection.unsubscribed and connection.published)
    assert connection.unsubscribed == connection.subscribed
    assert [envelope.body for _, envelope in connection.published] == [
        {"seq": 1, "hangup": True}]


async def test_a_stream_abandoned_before_the_upgrade_hangs_up_on_the_kubelet():
    relay, client = _relay()
    client.go.set()
    await relay.open(client, "demo", "default", {"command": ["cat"]})  # type: ignore[arg-type]
    relay._arrived(_asking(client.connection))
    await asyncio.sleep(0)  # handed over to the listener's loop
    relay.abandon()  # the upgrade failed: the client left
    connection = client.connection
    await _until(lambda: connection.unsubscribed)
    assert connection.unsubscribed == connection.subscribed
    assert [envelope.body for _, envelope in connection.published] == [
        {"seq": 1, "hangup": True}]


async def test_a_client_that_leaves_while_its_followed_log_opens_leaves_no_stream_subscribed():
    # a user who may only get pods/log: kubectl logs -f, gone before the stream opened
    client = _Client()
    front = Front(None, None, Served)  # type: ignore[arg-type]  # the client is the bus here
    call = SimpleNamespace(name="demo", namespace="default")
    following = asyncio.create_task(front._follow(None, client, call, {}))  # type: ignore[arg-type]
    await asyncio.get_running_loop().run_in_executor(None, client.asked.wait, 10)
    following.cancel()
    with pytest.raises(asyncio.CancelledError):
        await following
    client.go.set()
    connection = client.connection
    await _until(lambda: connection.unsubscribed)
    assert connection.subscribed and connection.unsubscribed == connection.subscribed
