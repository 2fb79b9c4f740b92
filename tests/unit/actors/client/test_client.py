"""The client's deadline and its words for a failing bus (actors/client/client.py), on a fake
connection whose requests settle as each test says: never, or with a bus error."""

from __future__ import annotations

import concurrent.futures
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from actors.client.client import REPLY_SLACK, Client
from bus import BusConfig, Envelope, Subjects
from bus.errors import (
    BusError,
    BusTimeout,
    ConnectionLost,
    NoResponders,
    ServerTimeout,
    ServiceUnavailable,
    Unreachable,
)


@dataclass
class FakeConnection:
    """The part of a Connection a client's requests use: each request's future is settled
    with ``error`` at once, or never when None (a bus loop that never answers)."""

    error: BusError | None = None
    config: BusConfig = field(default_factory=BusConfig)
    subjects: Subjects = field(default_factory=lambda: Subjects("kubeactor"))

    def request(self, subject: str, envelope: Envelope, timeout: float | None = None,
                mac_key: bytes | None = None) -> concurrent.futures.Future[Envelope]:
        sent: concurrent.futures.Future[Envelope] = concurrent.futures.Future()
        if self.error is not None:
            sent.set_exception(self.error)
        return sent


def _client(error: BusError | None = None) -> Client:
    connection: Any = FakeConnection(error)
    return Client(connection, "token", timeout=0.2)


def test_a_request_the_bus_never_settles_raises_server_timeout_at_its_deadline():
    started = time.monotonic()
    with pytest.raises(ServerTimeout, match=r"no answer to get pods within 0\.2s"):
        _client().request("get", "pods", name="web")
    assert time.monotonic() - started < 0.2 + REPLY_SLACK + 0.5


@pytest.mark.parametrize("error", [ConnectionLost("the connection to the bus was lost"),
                                   NoResponders("no responders on kubeactor.api.pods.get")])
def test_a_lost_bus_or_an_api_nobody_serves_is_unreachable(error):
    with pytest.raises(Unreachable, match=re.escape(str(error))) as raised:
        _client(error).get("pods", "web")
    assert isinstance(raised.value, ServiceUnavailable)  # 503 to whoever retries on it


def test_a_missed_reply_is_a_timeout_not_unreachable():
    with pytest.raises(ServerTimeout) as raised:
        _client(BusTimeout("no reply within 0.2s")).get("pods", "web")
    assert not isinstance(raised.value, Unreachable)
