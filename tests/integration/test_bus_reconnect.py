"""A connection whose nats-server goes away, on a real nats-server: a client's (with a reconnect
window) gives up when the window passes and fails every request at once with ConnectionLost; the
control plane's (no window) waits for the server and carries on when it is back; a request that
awaited its reply when the server went fails once the connection is back (ReplyLost), not at its
deadline; a server gone silent (frozen: no TCP reset, as a machine lost) is given up within
three seconds of pings."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace

import pytest

from bus import BusConfig, Envelope, Incoming, NatsServer
from bus.connection import Connection
from bus.errors import ConnectionLost, ReplyLost
from tests.support import until

pytestmark = pytest.mark.integration


def _answering(connection: Connection) -> None:
    """Answer every request on ``kubeactor.echo`` with its body (loop thread)."""

    def answer(incoming: Incoming) -> None:
        assert incoming.reply_to is not None
        connection.publish(incoming.reply_to, incoming.envelope.reply(incoming.envelope.body))

    connection.subscribe("kubeactor.echo", answer)


def test_a_client_fails_fast_once_its_reconnect_window_passes(nats_server, connect):
    client = connect(replace(BusConfig(url=nats_server.url), reconnect_window=0.5), "client")
    _answering(connect(nats_server.url, "echo"))
    assert client.request("kubeactor.echo", Envelope(body="hi")).result(5).body == "hi"

    nats_server.stop()
    started = time.monotonic()
    with pytest.raises(ConnectionLost, match=r"was lost and did not come back within 0\.5s"):
        client.request("kubeactor.echo", Envelope(body="again"), timeout=10).result(15)
    assert time.monotonic() - started < 2  # the window, not the request's 10 s
    assert client.lost is not None
    with pytest.raises(ConnectionLost):  # and every later one at once
        client.request("kubeactor.echo", Envelope(body="later")).result(1)


def test_a_request_waiting_for_its_reply_fails_when_the_window_passes(nats_server, connect):
    """No one answers: the request would wait out its 10 s; the lost connection ends it."""
    client = connect(replace(BusConfig(url=nats_server.url), reconnect_window=0.5), "client")
    connect(nats_server.url, "mute").subscribe("kubeactor.echo", lambda incoming: None)
    pending = client.request("kubeactor.echo", Envelope(body="hi"), timeout=10)
    nats_server.stop()
    with pytest.raises(ConnectionLost, match="was lost"):
        pending.result(3)


def test_the_control_plane_waits_for_its_server_and_carries_on(tmp_path, connect):
    with NatsServer(tmp_path / "nats") as server:
        component = connect(server.url, "component")  # reconnect_window None: for ever
        _answering(component)  # itself: resubscribed on reconnecting, before its requests go
        server.stop()
        until(lambda: component.nc.is_reconnecting, timeout=10)
        pending = component.request("kubeactor.echo", Envelope(body="meanwhile"), timeout=20)
        with pytest.raises(ConnectionLost, match=r"not back after 0\.3s"):  # not a timeout
            component.request("kubeactor.echo", Envelope(body="short"), timeout=0.3).result(5)
        server.start()  # on the same port
        assert pending.result(20).body == "meanwhile"
        assert component.lost is None


def test_a_request_awaiting_its_reply_fails_once_the_connection_is_back(tmp_path, connect):
    """Its reply went, or goes, through the server lost: it fails when the connection is back,
    saying it may or may not have been done, instead of waiting out its 30 s."""
    with NatsServer(tmp_path / "nats") as server:
        component = connect(server.url, "component")
        received = threading.Event()
        connect(server.url, "mute").subscribe("kubeactor.echo", lambda incoming: received.set())
        pending = component.request("kubeactor.echo", Envelope(body="hi"), timeout=30)
        assert received.wait(5)
        server.stop()
        started = time.monotonic()
        server.start()  # on the same port
        with pytest.raises(ReplyLost, match="may or may not have been done"):
            pending.result(10)
        assert time.monotonic() - started < 5
        assert component.lost is None


def test_a_server_gone_silent_is_given_up_within_three_seconds(tmp_path, connect):
    with NatsServer(tmp_path / "nats") as server:
        component = connect(server.url, "component")
        assert server._proc is not None
        os.kill(server._proc.pid, signal.SIGSTOP)  # no reset, no answer: a machine lost
        try:
            frozen = time.monotonic()
            until(lambda: component.down, timeout=6)
            assert time.monotonic() - frozen < 4.5
        finally:
            os.kill(server._proc.pid, signal.SIGCONT)
        until(lambda: component.down is None, timeout=15)  # and back once it answers
