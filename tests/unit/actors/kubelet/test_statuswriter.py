"""The kubelet's status writer (actors/kubelet/statuswriter.py): the latest write per key, in order
per key, never more than the window in flight, failures told to their sender."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, Future
from typing import Any

import pytest

from actors.kubelet.statuswriter import StatusWriter
from bus.errors import NotFound, ServiceUnavailable
from tests.unit.held import HeldRequests


class Apiserver(HeldRequests):
    """Requests held open until :meth:`answer`; records what was sent, in order."""

    def send(self, key: str, value: int):
        return lambda: self.hold((key, value))


@pytest.fixture
def writer():
    writer = StatusWriter(window=2)
    yield writer
    writer.stop()


def test_a_key_sends_its_latest_write_once_the_one_in_flight_is_answered(writer):
    api, outcomes = Apiserver(), list[BaseException | None]()
    for value in range(4):
        writer.put("pod-a", api.send("pod-a", value), lambda error, reply: outcomes.append(error))
    assert api.sent == [("pod-a", 0)]  # 1 and 2 were replaced by 3 while 0 flew
    api.answer()
    api.wait_sent(2)
    assert api.sent == [("pod-a", 0), ("pod-a", 3)]
    api.answer()
    assert outcomes == [None, None]
    assert writer.pending() == 0


def test_a_write_is_told_the_reply_and_its_key_is_busy_until_then(writer):
    api, replies = Apiserver(), list[Any]()
    writer.put("pod-a", api.send("pod-a", 0), lambda error, reply: replies.append(reply))
    writer.put("pod-a", api.send("pod-a", 1), lambda error, reply: replies.append(reply))
    assert writer.busy("pod-a") and not writer.busy("pod-b")
    api.answer()
    api.wait_sent(2)
    assert writer.busy("pod-a")  # the second write flies now
    api.answer()
    assert replies == [{}, {}]
    assert not writer.busy("pod-a")


def test_no_more_than_the_window_is_in_flight_and_the_rest_follows_in_order(writer):
    api = Apiserver()
    for key in ("a", "b", "c", "d"):
        writer.put(key, api.send(key, 0), lambda error, reply: None)
    assert [key for key, _ in api.sent] == ["a", "b"]
    api.answer()
    api.wait_sent(3)
    assert [key for key, _ in api.sent] == ["a", "b", "c"]
    api.answer()
    api.answer()
    api.wait_sent(4)
    assert [key for key, _ in api.sent] == ["a", "b", "c", "d"]


def test_a_newer_write_keeps_its_keys_place_in_line(writer):
    api = Apiserver()
    for key in ("a", "b", "lease", "c"):
        writer.put(key, api.send(key, 0), lambda error, reply: None)
    writer.put("lease", api.send("lease", 1), lambda error, reply: None)  # renewed while waiting
    for _ in range(2):
        api.answer()
    api.wait_sent(4)
    assert api.sent[2:] == [("lease", 1), ("c", 0)]


def test_a_dropped_key_loses_its_waiting_write(writer):
    api = Apiserver()
    writer.put("gone", api.send("gone", 0), lambda error, reply: None)
    writer.put("gone", api.send("gone", 1), lambda error, reply: None)
    writer.drop("gone")  # its pod was removed meanwhile
    assert writer.pending() == 1  # only the write in flight
    api.answer()
    writer.put("next", api.send("next", 0), lambda error, reply: None)
    api.wait_sent(2)
    assert api.sent == [("gone", 0), ("next", 0)]


def test_a_failed_write_is_told_with_its_error(writer):
    api, outcomes = Apiserver(), list[BaseException | None]()
    writer.put("gone", api.send("gone", 0), lambda error, reply: outcomes.append(error))
    api.answer(NotFound('pods "gone" not found'))
    writer.put("down", api.send("down", 0), lambda error, reply: outcomes.append(error))
    api.answer(ServiceUnavailable("the apiserver cannot be reached"))
    assert [type(error) for error in outcomes] == [NotFound, ServiceUnavailable]


def test_a_request_that_cannot_start_is_told_at_once(writer):
    outcomes: list[BaseException | None] = []

    def broken() -> Future[Any]:
        raise ServiceUnavailable("no connection")

    writer.put("pod-a", broken, lambda error, reply: outcomes.append(error))
    assert [type(error) for error in outcomes] == [ServiceUnavailable]
    assert writer.pending() == 0


def test_a_cancelled_write_is_told_and_frees_its_key(writer):
    sent: Future[Any] = Future()
    outcomes: list[BaseException | None] = []
    writer.put("pod-a", lambda: sent, lambda error, reply: outcomes.append(error))
    sent.cancel()
    assert [type(error) for error in outcomes] == [CancelledError]
    assert writer.pending() == 0


def test_writes_put_after_stop_are_dropped(writer):
    api = Apiserver()
    writer.stop()
    writer.put("pod-a", api.send("pod-a", 0), lambda error, reply: None)
    assert api.sent == []


def test_a_window_below_one_is_refused():
    with pytest.raises(ValueError, match="window of at least 1"):
        StatusWriter(window=0)


def test_a_newer_write_of_a_waiting_key_replaces_it_even_when_the_window_has_room(writer):
    """A key whose write waits (the window was full when it was put) gets a newer one once
    there is room again, before the sender took the waiting one: the newer one takes its
    place and is the only one sent. (Sent at once instead, the older one followed it, and a
    pod's ContainerCreating status landed after its Running one, for good.)"""
    api, inside, release = Apiserver(), threading.Event(), threading.Event()

    def held_send() -> Future[Any]:  # the sender thread is busy here meanwhile
        inside.set()
        release.wait(10)
        return api.hold(("c", 0))

    for key in ("a", "x"):
        writer.put(key, api.send(key, 0), lambda error, reply: None)  # the window is full
    writer.put("c", held_send, lambda error, reply: None)
    writer.put("b", api.send("b", 1), lambda error, reply: None)  # waits
    api.answer()  # a: room, which the sender gives "c"
    assert inside.wait(10)
    api.answer()  # x: room again, the sender still busy with "c"
    writer.put("b", api.send("b", 2), lambda error, reply: None)
    release.set()
    while writer.pending():
        with api.changed:
            api.changed.wait_for(lambda: api.open or not writer.pending(), 10)
        if api.open:
            api.answer()
    assert [value for key, value in api.sent if key == "b"] == [2]
