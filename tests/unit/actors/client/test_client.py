"""The client's deadline and its words for a failing bus (actors/client/client.py), on a fake
connection whose requests settle as each test says: never, or with a bus error."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from actors.api.discovery import Served
from actors.client.client import MAX_THROTTLED, REPLY_SLACK, Client, Watch
from bus import BusConfig, Envelope, Subjects
from bus import loop as bus_loop
from bus.errors import (
    BusError,
    BusTimeout,
    ConnectionLost,
    NoResponders,
    ServerTimeout,
    ServiceUnavailable,
    TooManyRequests,
    Unreachable,
)


@dataclass
class FakeConnection:
    """The part of a Connection a client's requests use: each request's future is settled
    with ``error`` at once, or never when None (a bus loop that never answers)."""

    error: BusError | None = None
    config: BusConfig = field(default_factory=BusConfig)
    subjects: Subjects = field(default_factory=lambda: Subjects("kubeactor"))

    closed: bool = False

    def request(self, subject: str, envelope: Envelope, timeout: float | None = None,
                mac_key: bytes | None = None) -> concurrent.futures.Future[Envelope]:
        sent: concurrent.futures.Future[Envelope] = concurrent.futures.Future()
        if self.error is not None:
            sent.set_exception(self.error)
        return sent

    async def arequest(self, subject: str, envelope: Envelope, timeout: float | None = None,
                       mac_key: bytes | None = None) -> Envelope:
        raise self.error or BusTimeout("no reply")


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


def test_a_watch_left_running_stops_renewing_once_its_connection_is_closed(caplog):
    """A watch nobody stopped before its connection closed: its renewals fail with 'not
    connected'; it ends quietly instead of warning every third of its lease for ever (in
    whatever runs next in the process)."""
    client = _client(BusError("connection 'admin' is not connected; call connect() first"))
    client.connection.closed = True  # type: ignore[attr-defined]
    watch = Watch(client, Served().resolve("configmaps"), "default",
                  {"watchId": "owner.w", "leaseSeconds": 0.03}, lambda event: None)
    asyncio.run(asyncio.wait_for(watch._renew_forever(watch.id), timeout=2))
    assert not caplog.records


class PagingClient(Client):
    """A client whose lists come from ``names``, ``limit`` at a time, each page at a later
    revision than the one before (as a cluster that moves on between pages)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(FakeConnection(), "token")  # type: ignore[arg-type]
        self.names, self.asked = names, []

    def request(self, verb: str, resource: Any, **kwargs: Any) -> dict[str, Any]:
        options = kwargs.get("options") or {}
        limit, continue_token = options.get("limit"), options.get("continue")
        self.asked.append((limit, continue_token, options.get("labelSelector")))
        start = int(continue_token or 0)
        end = len(self.names) if limit is None else start + limit
        metadata = {"resourceVersion": str(100 + len(self.asked))}
        if end < len(self.names):
            metadata["continue"] = str(end)
        return {"kind": "ConfigMapList", "metadata": metadata,
                "items": [{"metadata": {"name": n}} for n in self.names[start:end]]}


def test_a_chunked_list_follows_every_continue_into_one_list_at_the_first_pages_revision():
    client = PagingClient([f"cm-{i}" for i in range(7)])
    listed = client.list("configmaps", "default", label_selector="a=b", chunk_size=3)
    assert [item["metadata"]["name"] for item in listed["items"]] == client.names
    assert listed["metadata"] == {"resourceVersion": "101"} and listed["kind"] == "ConfigMapList"
    assert client.asked == [(3, None, "a=b"), (3, "3", "a=b"), (3, "6", "a=b")]


def test_chunk_size_0_lists_in_one_request_without_a_limit():
    client = PagingClient(["a", "b"])
    assert len(client.list("configmaps", chunk_size=0)["items"]) == 2
    assert client.asked == [(None, None, None)]


class DroppingConnection(FakeConnection):
    """Loses the first ``lost`` requests (no reply: a BusTimeout at their deadline) and
    answers the others with an empty list; keeps each request's verb and deadline."""

    def __init__(self, lost: int) -> None:
        super().__init__()
        self.lost, self.sent = lost, []

    def request(self, subject: str, envelope: Envelope, timeout: float | None = None,
                mac_key: bytes | None = None) -> concurrent.futures.Future[Envelope]:
        self.sent.append((envelope.verb, timeout))
        sent: concurrent.futures.Future[Envelope] = concurrent.futures.Future()
        if len(self.sent) <= self.lost:
            sent.set_exception(BusTimeout(f"no reply on {subject}"))
        else:
            sent.set_result(Envelope(body={"items": [], "metadata": {}}, status={"code": 200}))
        return sent


def test_a_read_whose_reply_was_lost_is_asked_again_within_its_deadline():
    connection: Any = DroppingConnection(lost=1)
    assert Client(connection, "token", timeout=4).get("pods", "web") == {
        "items": [], "metadata": {}}
    assert connection.sent == [("get", 2.0), ("get", 2.0)]


def test_a_read_lost_twice_and_a_lost_write_are_timeouts_after_one_deadline():
    reads: Any = DroppingConnection(lost=2)
    with pytest.raises(ServerTimeout):
        Client(reads, "token", timeout=4).get("pods", "web")
    assert len(reads.sent) == 2
    writes: Any = DroppingConnection(lost=1)
    with pytest.raises(ServerTimeout):
        Client(writes, "token", timeout=4).create("pods", {"metadata": {"name": "web"}})
    assert writes.sent == [("create", 4)]


def test_the_admins_requests_travel_on_the_exempt_lane_but_its_watches():
    """Only the admin's NATS user may publish on the exempt lane; the lane has no watch (the
    watchers' worker is on the shared one), nor requests addressed to one process."""
    admin: Any = FakeConnection(config=BusConfig(user="admin"))
    alice: Any = FakeConnection(config=BusConfig(user="alice"))
    pods = Client(admin, "token").info("pods")
    assert Client(admin, "token").subject("list", pods, None) == "kubeactor.exempt.core.pods.list"
    assert Client(admin, "token").subject("watch", pods, None) == "kubeactor.api.core.pods.watch"
    assert Client(admin, "token").subject("get", pods, None, "s1") == \
        "kubeactor.api.core.pods.get.s1"
    assert Client(alice, "token").subject("list", pods, None) == "kubeactor.api.core.pods.list"


@dataclass
class ThrottlingConnection(FakeConnection):
    """Answers the first ``refusals`` requests with flow control's 429, then each with its
    own name; counts what was sent."""

    refusals: int = 0
    pause: float | None = 0.05
    sent: int = 0

    def request(self, subject: str, envelope: Envelope, timeout: float | None = None,
                mac_key: bytes | None = None) -> concurrent.futures.Future[Envelope]:
        self.sent += 1
        answered: concurrent.futures.Future[Envelope] = concurrent.futures.Future()
        if self.sent <= self.refusals:
            answered.set_result(envelope.error_reply(TooManyRequests(
                "Too many requests, please try again later.",
                details={} if self.pause is None else {"retryAfterSeconds": self.pause})))
        else:
            answered.set_result(envelope.reply({"metadata": {"name": envelope.name}}))
        return answered


def test_a_request_refused_by_flow_control_is_sent_again_after_the_pause_it_names():
    connection = ThrottlingConnection(refusals=3)
    started = time.monotonic()
    got = Client(connection, "token", timeout=1).request("get", "pods", name="web")
    assert got == {"metadata": {"name": "web"}} and connection.sent == 4
    assert time.monotonic() - started >= 3 * 0.05


def test_a_request_refused_more_than_client_gos_ten_retries_raises_the_429():
    connection = ThrottlingConnection(refusals=100)
    with pytest.raises(TooManyRequests):
        Client(connection, "token", timeout=1).request("create", "configmaps",
                                                       namespace="default", body={})
    assert connection.sent == MAX_THROTTLED + 1


def test_a_429_naming_no_pause_is_raised_at_once():
    """As an eviction a disruption budget forbids: waiting does not lift it (client-go sends
    again only an answer with Retry-After)."""
    connection = ThrottlingConnection(refusals=1, pause=None)
    with pytest.raises(TooManyRequests):
        Client(connection, "token", timeout=1).request("get", "pods", name="web")
    assert connection.sent == 1


@dataclass
class ThrottlingLoopConnection(ThrottlingConnection):
    """A ThrottlingConnection whose resends come as a real connection's do: awaited on its
    loop (a real bus loop thread), each with the thread it came on and its envelope."""

    loop: bus_loop.Loop = field(default_factory=lambda: bus_loop.Loop("test-throttled-loop"))
    sends: list[tuple[str, Envelope]] = field(default_factory=list)

    def request(self, subject: str, envelope: Envelope, timeout: float | None = None,
                mac_key: bytes | None = None) -> concurrent.futures.Future[Envelope]:
        self.sends.append((threading.current_thread().name, envelope))
        return super().request(subject, envelope, timeout, mac_key)

    async def arequest(self, subject: str, envelope: Envelope,  # type: ignore[override]
                       timeout: float | None = None, mac_key: bytes | None = None
                       ) -> Envelope:
        return self.request(subject, envelope, timeout, mac_key).result()


POD = {"metadata": {"name": "web", "namespace": "default"}}


def test_a_binding_sent_without_waiting_is_sent_again_after_each_429s_pause_on_the_loop():
    connection = ThrottlingLoopConnection(refusals=3)
    started = time.monotonic()
    sent = Client(connection, "token", timeout=1).bind_soon(POD, "n1", trace_id="t1")
    assert time.monotonic() - started < 3 * 0.05  # the pauses are the loop's, not the caller's
    assert sent.result(5) == {"metadata": {"name": "web"}} and connection.sent == 4
    assert time.monotonic() - started >= 3 * 0.05
    threads = [thread for thread, _ in connection.sends]
    assert threads[1:] == ["test-throttled-loop"] * 3
    envelopes = [envelope for _, envelope in connection.sends]
    assert {envelope.trace_id for envelope in envelopes} == {"t1"}  # one trace
    assert len({envelope.id for envelope in envelopes}) == 4  # each send a message of its own
    assert envelopes[-1].body["target"] == {"apiVersion": "v1", "kind": "Node", "name": "n1"}
    assert (envelopes[-1].subresource, envelopes[-1].name) == ("binding", "web")


def test_a_binding_sent_without_waiting_refused_past_ten_retries_resolves_to_the_429():
    connection = ThrottlingLoopConnection(refusals=100, pause=0.001)
    with pytest.raises(TooManyRequests):
        Client(connection, "token", timeout=1).bind_soon(POD, "n1").result(5)
    assert connection.sent == MAX_THROTTLED + 1


def test_a_submitted_request_not_asked_to_resend_resolves_to_its_first_429():
    connection = ThrottlingLoopConnection(refusals=1)
    with pytest.raises(TooManyRequests):
        Client(connection, "token", timeout=1).submit("get", "pods", name="web").result(5)
    assert connection.sent == 1
