"""A watch's gap detection (actors/client/watching.py), on a fake client: an event whose number
skips one, a renewal that numbers events never seen, or a connection back from a loss makes the
watch resume from the last revision it took, under a new id; a number seen before is dropped."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actors.api.discovery import Served
from actors.client.client import WatchEvent
from actors.client.watching import Watch, in_line
from bus import Envelope, Incoming, Subjects
from bus.envelope import decode_from_apiserver
from bus.errors import ServerTimeout
from tests.support import until


class FakeConnection:
    """Subscriptions and reconnect listeners, kept to be looked at."""

    def __init__(self) -> None:
        self.subjects = Subjects("kubeactor")
        self.subscribed: list[str] = []
        self.decoders: list[Any] = []
        self.unsubscribed: list[str] = []
        self.listeners: list[Any] = []
        self.closed = False
        self.down: str | None = None

    def subscribe(self, subject: str, handler: Any, **options: Any) -> str:
        self.subscribed.append(subject)
        self.decoders.append(options.get("decoder"))
        return subject

    def unsubscribe(self, sub: str) -> None:
        self.unsubscribed.append(sub)

    def when_reconnected(self, listener: Any) -> Any:
        self.listeners.append(listener)
        return lambda: None


class FakeClient:
    """Answers a watch's registrations at revision 5 and notes every request's options."""

    def __init__(self) -> None:
        self.connection = FakeConnection()
        self.subjects = self.connection.subjects
        self.asked: list[dict[str, Any]] = []
        self.registered = threading.Event()
        self.answer: dict[str, Any] = {"resourceVersion": "5"}
        self._ids = itertools.count(2)

    def new_watch_id(self) -> str:
        return f"me.w{next(self._ids)}"

    def request(self, verb: str, info: Any, **kwargs: Any) -> dict[str, Any]:
        options = kwargs["options"]
        self.asked.append(options)
        if not options.get("stop"):
            self.registered.set()
        return {"watchId": options["watchId"], **self.answer}


def event(watch_id: str, sequence: int, revision: int) -> Incoming:
    """Event number ``sequence`` of watch ``watch_id``: a ConfigMap at ``revision``."""
    obj = {"metadata": {"name": f"cm-{revision}", "resourceVersion": str(revision)}}
    return Incoming(Subjects("kubeactor").watch(watch_id), Envelope(
        verb="event", body={"type": "ADDED", "object": obj}, options={"seq": sequence}), None)


@pytest.fixture
def watched() -> Iterator[tuple[FakeClient, Watch, list[WatchEvent]]]:
    client, events = FakeClient(), list[WatchEvent]()
    watch: Any = Watch(client, Served().resolve("configmaps"), "default",  # type: ignore[arg-type]
                       {"watchId": "me.w1"}, events.append)
    watch.start("5")
    client.registered.clear()
    yield client, watch, events
    watch.stop()


@pytest.mark.parametrize(("seen", "sequence", "verdict"), [
    (0, 1, "take"), (4, 5, "take"), (4, 4, "duplicate"), (4, 2, "duplicate"),
    (4, 6, "resume"), (0, 3, "resume"), (4, None, "take"), (4, True, "take")])
def test_an_event_is_taken_dropped_or_resumes_the_watch_by_its_number(seen, sequence, verdict):
    assert in_line(seen, sequence) == verdict


def test_a_skipped_number_resumes_the_watch_from_the_last_revision_taken(watched):
    client, watch, events = watched
    watch._deliver(event("me.w1", 1, 6))
    watch._deliver(event("me.w1", 3, 8))  # event 2 was lost on the way
    assert client.registered.wait(5)
    assert [e.object["metadata"]["resourceVersion"] for e in events] == ["6"]
    assert {"watchId": "me.w1", "stop": True}.items() <= client.asked[-2].items()
    assert {"watchId": "me.w2", "resourceVersion": "6"}.items() <= client.asked[-1].items()
    assert client.connection.subscribed[-1] == Subjects("kubeactor").watch("me.w2")
    watch._deliver(event("me.w1", 2, 7))  # the old id's, late: it comes again under the new
    watch._deliver(event("me.w2", 1, 7))
    watch._deliver(event("me.w2", 1, 7))  # a duplicate
    assert [e.object["metadata"]["resourceVersion"] for e in events] == ["6", "7"]


def test_a_watch_reads_its_events_as_only_the_apiserver_sends_them(watched):
    """Its subject is one only the apiserver may publish to: msgspec's decoder, not the
    requests' (which must refuse what msgspec takes)."""
    client, _, _ = watched
    assert client.connection.decoders == [decode_from_apiserver]


def test_a_connection_back_from_a_loss_resumes_the_watch(watched):
    client, watch, _ = watched
    watch._deliver(event("me.w1", 1, 6))
    client.connection.listeners[0]()
    assert client.registered.wait(5)
    assert {"watchId": "me.w2", "resourceVersion": "6"}.items() <= client.asked[-1].items()


def test_a_renewal_numbering_events_never_seen_resumes_the_watch(watched):
    client, watch, _ = watched
    watch._renewal.cancel()
    watch.options["leaseSeconds"] = 0.03
    watch._deliver(event("me.w1", 1, 6))
    watch._owed = 2  # the last renewal's answer: two events were pushed; the last was lost
    asyncio.run(asyncio.wait_for(watch._renew_forever(watch.id), timeout=2))
    assert client.registered.wait(5)
    assert {"watchId": "me.w2", "resourceVersion": "6"}.items() <= client.asked[-1].items()


def test_a_replay_moves_the_revision_to_its_answers_once_every_event_it_numbered_came(
        watched):
    """The answer (every commit up to 9 looked at, 2 events replayed) may be read before
    the events: resuming before they came must start from the last one taken."""
    client, watch, _ = watched
    client.answer = {"resourceVersion": "9", "seq": 2}
    client.connection.listeners[0]()
    assert client.registered.wait(5)
    until(lambda: watch._answered)
    assert watch.revision == "5"
    watch._deliver(event("me.w2", 1, 6))
    assert watch.revision == "6"
    watch._deliver(event("me.w2", 2, 8))
    assert watch.revision == "9"


def test_a_watch_stopped_while_the_bus_is_down_does_not_wait_to_tell_the_apiserver(watched):
    """A stop that would wait out its request's deadline on a bus that is gone (every
    controller stopping so made a process's shutdown last minutes): the apiserver forgets the
    watch once its lease lapses."""
    client, watch, _ = watched
    client.connection.down = "reconnecting to tls://127.0.0.1:4222 for 3.0s"
    watch.stop()
    assert not any(options.get("stop") for options in client.asked)
    assert client.connection.unsubscribed == [Subjects("kubeactor").watch("me.w1")]


class LosingClient(FakeClient):
    """Loses the answer to the first registration (the bus's timeout)."""

    def request(self, verb: str, info: Any, **kwargs: Any) -> dict[str, Any]:
        if not self.asked:
            self.asked.append(kwargs["options"])
            raise ServerTimeout("no reply on kubeactor.api.core.configmaps.watch within 10.0s")
        return super().request(verb, info, **kwargs)


def test_a_registration_left_unanswered_is_sent_once_more_under_a_new_id():
    """A watch's start whose registration (or its answer) was lost registers again, as
    client-go's reflector would, instead of failing its informer (a controller that failed
    to start: 'no reply on ...watch within 10.0s')."""
    client = LosingClient()
    watch: Any = Watch(client, Served().resolve("configmaps"), "default",  # type: ignore[arg-type]
                       {"watchId": "me.w1"}, lambda event: None)
    watch.start("5")
    try:
        assert [asked["watchId"] for asked in client.asked] == ["me.w1", "me.w2"]
        assert watch.id == "me.w2"
        assert client.connection.unsubscribed == [client.subjects.watch("me.w1")]
    finally:
        watch.stop()
