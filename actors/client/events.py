"""Recording Kubernetes Events for the objects a component works on, with aggregation.

:class:`EventRecorder` creates ``Event`` objects (``source.component``, ``source.host``) and
aggregates them as client-go's event correlator (the one kubelets and schedulers use) does:
the same object getting the same reason and message again bumps ``count`` and
``lastTimestamp`` of the Event made before, so a crash loop costs one Event, not one per
restart; and once an object gets :data:`SIMILAR_EVENTS` events of one type and reason with
different messages within :data:`SIMILAR_WINDOW_SECONDS` (:class:`Similar`), the next ones
go to one Event whose message reads ``(combined from similar events): <the latest>``. And as
its spam filter (:class:`SpamFilter`): an object's events of one type and reason from one
recorder pass :data:`SPAM_BURST` at once and one more every :data:`SPAM_REFILL_SECONDS`, the
rest are dropped (a ReplicaSet creating 10,000 pods: 25 SuccessfulCreate writes, not 10,000).
The object may be of any kind (a pod, a ReplicaSet: the controllers' events). Which
thread: :meth:`EventRecorder.record`
may be called from any thread and never blocks: the writes are sent in order from the
recorder's own thread (started on first use), off the pod's critical path; a new Event's
create is not waited for there (its reply is settled on the bus loop, as the scheduler's
bindings are; a 429 sent again after its pause), but when :data:`IN_FLIGHT` are unanswered,
or the same Event comes again before its reply, to count it on the Event made; a failure is
logged and dropped (events are best effort). Past ``max_queued``
events waiting to be written or answered, new ones are dropped, as client-go's broadcaster
drops them when its queue of 1,000 is full: under a burst (a scheduler binding hundreds of
pods a second) events never hold back the work they report, nor pile up without bound.

Neighbours: ``actors.kubelet.podsync`` (the kubelet's events), ``actors.client.client``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from actors.api.meta import now_rfc3339, trace_id_of
from actors.api.objects import Object
from actors.client.client import Client
from bus.errors import ApiError, NotFound

log = logging.getLogger(__name__)

REMEMBERED = 4096
"""Events kept for aggregation per recorder (the oldest are forgotten first)."""
MAX_QUEUED = 1000
"""Events waiting to be written before new ones are dropped (client-go's maxQueuedEvents)."""
SIMILAR_EVENTS = 10
"""Messages of one object, type and reason before they are combined (client-go's
defaultAggregateMaxEvents)."""
SIMILAR_WINDOW_SECONDS = 600.0
"""How long similar messages are counted together (defaultAggregateIntervalInSeconds)."""
SPAM_BURST = 25
"""Events of one object, type and reason let through at once (client-go's defaultSpamBurst)."""
SPAM_REFILL_SECONDS = 300.0
"""Seconds until one more is let through (client-go's defaultSpamQPS: 1/300)."""
IN_FLIGHT = 16
"""Event creates sent and not yet answered, at most: past them the writer waits for an
answer (a burst of Scheduled Events sent at once would fill the flow control's queue that the
same identity's bindings wait in, and be refused with 429)."""
ANSWER_WAIT_SECONDS = 90.0
"""Longest wait of the writer for a create's answer, when the same Event comes again before
it (the request's own deadline settles it sooner)."""
COMBINED = "(combined from similar events): "
"""What a combined Event's message starts with (client-go's EventAggregatorByReasonMessageFunc)."""


def event_name(name: str, at: int) -> str:
    """An Event's name as client-go's recorder makes it: its object's name, a dot and the
    time it happened (``at``, ``time.time_ns()``) in hex, so that a list in name order, as
    ``kubectl get events`` and ``describe`` print it, is each object's events in the order
    they happened."""
    return f"{name}.{at:x}"


@dataclass(slots=True)
class _Messages:
    seen: set[str] = field(default_factory=set)
    last: float = float("-inf")


class Similar:
    """client-go's EventAggregator, as a pure function of what it was shown and the clock:
    which Event an event goes to. Not thread-safe (the recorder's writer thread owns it)."""

    def __init__(self, limit: int = SIMILAR_EVENTS, window: float = SIMILAR_WINDOW_SECONDS,
                 remembered: int = REMEMBERED) -> None:
        self.limit, self.window, self.remembered = limit, window, remembered
        self._groups: OrderedDict[tuple[str, str, str], _Messages] = OrderedDict()

    def message(self, uid: str, kind: str, reason: str, message: str, now: float) -> str:
        """``message``, or the combined one once the object has had ``limit`` different
        messages of this type and reason, each within ``window`` seconds of the one before."""
        key = (uid, kind, reason)
        group = self._groups.pop(key, None)
        if group is None or now - group.last > self.window:
            group = _Messages()
        group.seen.add(message)
        group.last = now
        self._groups[key] = group
        while len(self._groups) > self.remembered:
            self._groups.popitem(last=False)
        return COMBINED + message if len(group.seen) >= self.limit else message

    def forget(self, uid: str) -> None:
        for key in [key for key in self._groups if key[0] == uid]:
            del self._groups[key]


class SpamFilter:
    """client-go's EventSourceObjectSpamFilter, as a pure function of what it was shown and
    the clock: a token bucket of ``burst`` per object, type and reason (the source is the
    recorder's own), refilled by one every ``refill`` seconds. Not thread-safe (the recorder's
    writer thread owns it)."""

    def __init__(self, burst: int = SPAM_BURST, refill: float = SPAM_REFILL_SECONDS,
                 remembered: int = REMEMBERED) -> None:
        self.burst, self.refill, self.remembered = burst, refill, remembered
        self._buckets: OrderedDict[tuple[str, str, str], tuple[float, float]] = OrderedDict()
        """(uid, type, reason) -> (tokens, when counted), least recently used first."""

    def allows(self, uid: str, kind: str, reason: str, now: float) -> bool:
        """Whether this event may be written (taking a token when it may)."""
        key = (uid, kind, reason)
        tokens, counted = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - counted) / self.refill)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        while len(self._buckets) > self.remembered:
            self._buckets.popitem(last=False)
        return allowed


def _answered(sent: Future[Object]) -> Object | None:
    """The Event a create made, or None when it failed (logged) or no answer came in
    :data:`ANSWER_WAIT_SECONDS`."""
    try:
        return sent.result(ANSWER_WAIT_SECONDS)
    except (ApiError, TimeoutError, CancelledError) as error:
        log.warning("event not recorded: %s", error or type(error).__name__)
        return None


class EventRecorder:
    """Events about objects (pods above all) from one component on one host. Thread-safe."""

    def __init__(self, client: Client, component: str, host: str = "",
                 max_queued: int = MAX_QUEUED, clock: Callable[[], float] = time.monotonic,
                 writer: ThreadPoolExecutor | None = None, in_flight: int = IN_FLIGHT) -> None:
        """``writer``: a one-thread executor shared with other recorders (the kubelet's, for
        every node it hosts), which :meth:`close` leaves running; by default its own;
        ``in_flight``: creates sent and not yet answered, at most."""
        self.client, self.clock = client, clock
        self.source = {"component": component, **({"host": host} if host else {})}
        self.max_queued = max_queued
        self.dropped = 0
        """Events dropped because ``max_queued`` were waiting."""
        self._queued = 0
        self._made: OrderedDict[tuple[str, str, str], Object | Future[Object]] = OrderedDict()
        """The Events made (or being created) by object uid, reason and message."""
        self._lock = threading.Lock()
        self._similar = Similar()  # the writer thread's alone
        self._spam = SpamFilter()  # the writer thread's alone
        self._in_flight = threading.Semaphore(in_flight)
        self._owned = writer is None
        self._closed = False
        self._writer = writer or ThreadPoolExecutor(max_workers=1, thread_name_prefix="events")

    def record(self, pod: Object, kind: str, reason: str, message: str,
               at: int | None = None) -> None:
        """A ``Normal`` or ``Warning`` event ``reason`` about ``pod`` (written soon after, or
        dropped when ``max_queued`` wait); ``at``: when it happened (``time.time_ns()``, by
        default now), which names a new Event."""
        at = time.time_ns() if at is None else at
        if self._closed:
            return
        with self._lock:
            full = self._queued >= self.max_queued
            if full:
                self.dropped += 1
            else:
                self._queued += 1
        if full:
            log.debug("event %s for pod %s dropped: %d events waiting", reason,
                      pod["metadata"]["name"], self.max_queued)
            return
        try:
            self._writer.submit(self._record, pod, kind, reason, message, at)
        except RuntimeError:  # closed: dropped
            self._written()

    def _written(self) -> None:
        with self._lock:
            self._queued -= 1

    def close(self) -> None:
        """Drop events not yet written (of an own writer); later ones are ignored."""
        self._closed = True
        if self._owned:
            self._writer.shutdown(wait=False, cancel_futures=True)

    def _record(self, pod: Object, kind: str, reason: str, message: str, at: int) -> None:
        sent = None
        try:
            sent = self._write(pod, kind, reason, message, at)
        finally:
            if sent is None:
                self._written()

    def _write(self, pod: Object, kind: str, reason: str, message: str, at: int
               ) -> Future[Object] | None:
        """Sends the event's write: the create's future when one is sent (the queue's place
        is given back when it is answered), None when done or dropped."""
        metadata = pod["metadata"]
        uid = str(metadata.get("uid"))
        now = self.clock()
        message = self._similar.message(uid, kind, reason, message, now)
        if not self._spam.allows(uid, kind, reason, now):
            log.debug("event %s for %s dropped: spam filter", reason, metadata["name"])
            return None
        key = (uid, reason, COMBINED if message.startswith(COMBINED) else message)
        with self._lock:
            made = self._made.pop(key, None)
        if isinstance(made, Future):  # its create not answered yet: counted on it once it is
            made = _answered(made)
        try:
            if made is None:
                sent = self._sent(lambda: self._create(pod, kind, reason, message, at))
                sent.add_done_callback(functools.partial(self._created, key))
                self._remember(key, sent)
                return sent
            self._remember(key, self._bump(made, message))
        except ApiError as error:
            log.warning("event %s for %s not recorded: %s", reason, metadata["name"], error)
        return None

    def _sent(self, send: Callable[[], Future[Object]]) -> Future[Object]:
        """``send``'s request once fewer than ``in_flight`` are unanswered (waiting here, on
        the writer's thread, for one to be)."""
        self._in_flight.acquire()
        try:
            sent = send()
        except BaseException:
            self._in_flight.release()
            raise
        sent.add_done_callback(lambda _: self._in_flight.release())
        return sent

    def _remember(self, key: tuple[str, str, str], made: Object | Future[Object]) -> None:
        with self._lock:
            self._made[key] = made
            while len(self._made) > REMEMBERED:
                self._made.popitem(last=False)

    def _created(self, key: tuple[str, str, str], sent: Future[Object]) -> None:
        """A create's answer (the bus loop's thread): the Event made, remembered in the
        create's place unless the same Event came again meanwhile (which waited for it)."""
        stored = _answered(sent)
        with self._lock:
            if self._made.get(key) is sent:
                if stored is None:
                    del self._made[key]
                else:
                    self._made[key] = stored
            self._queued -= 1

    def forget(self, pod_uid: str) -> None:
        """Drop what was remembered about a pod that is gone (after its pending events)."""
        with contextlib.suppress(RuntimeError):
            self._writer.submit(self._forget, pod_uid)

    def _forget(self, pod_uid: str) -> None:
        self._similar.forget(pod_uid)
        with self._lock:
            for key in [key for key in self._made if key[0] == pod_uid]:
                del self._made[key]

    def _create(self, obj: Object, kind: str, reason: str, message: str, at: int
                ) -> Future[Object]:
        metadata = obj["metadata"]
        namespace = metadata.get("namespace") or "default"  # a cluster-scoped object's
        now = now_rfc3339()
        event = {
            "metadata": {"name": event_name(metadata["name"], at), "namespace": namespace},
            "involvedObject": {"apiVersion": obj.get("apiVersion", "v1"),
                               "kind": obj.get("kind", "Pod"), "name": metadata["name"],
                               "namespace": metadata.get("namespace"),
                               "uid": metadata.get("uid")},
            "type": kind, "reason": reason, "message": message, "source": self.source,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        return self.client.submit("create", "events", namespace=namespace, body=event,
                                  trace_id=trace_id_of(obj), resend_throttled=True)

    def _bump(self, made: Object, message: str) -> Object:
        """The Event made before, seen once more (with the latest message: a combined one's
        changes)."""
        bumped = {**made, "count": int(made.get("count", 1)) + 1, "lastTimestamp": now_rfc3339(),
                  "message": message}
        try:
            result: Object = self.client.update("events", bumped)
        except NotFound:  # deleted meanwhile (a namespace went): start again
            fresh = {**bumped, "metadata": {"name": event_name(made["involvedObject"]["name"],
                                                               time.time_ns()),
                                            "namespace": made["metadata"]["namespace"]}}
            result = self.client.create("events", fresh, made["metadata"]["namespace"])
        return result
