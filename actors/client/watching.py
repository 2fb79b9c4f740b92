"""A watch as its client holds it: the subject its events come to, its registration with the
apiserver, the renewals of its lease.

Events are pushed to a subject of the client's own (``<prefix>.watch.<owner>.<id>``, the owner
its NATS user), each numbered (``opts.seq``). The client renews the watch's lease at a third of
its length; with several apiserver processes, at the one holding the watch (the ``server`` its
registration named). A watch that may have missed events (its connection lost its server, a
number skipped, the apiserver holding it gone or restarted) resumes from the last revision it
took under a new id: see :class:`Watch`.

Neighbours: ``client`` (:meth:`Client.watch` starts one; its requests), ``informer`` (the user
that relists on an ERROR), ``actors.apiserver.watching`` (the other end).

Which thread: :meth:`Watch.start` and :meth:`Watch.stop` block the calling thread (never the
bus loop's); :meth:`Watch.astart` and :meth:`Watch.astop` are theirs on the bus loop, holding
no thread (the HTTPS front's watches); events and the renewals run on the bus loop thread, and
``on_event`` must not block.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.watches import DEFAULT_LEASE_SECONDS
from bus import loop as bus_loop
from bus.connection import Incoming
from bus.envelope import decode_from_apiserver
from bus.errors import (
    ApiError,
    BusError,
    Conflict,
    Gone,
    NoResponders,
    ServerTimeout,
    api_error,
)

if TYPE_CHECKING:
    from actors.client.client import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change pushed by the apiserver: ``ADDED``, ``MODIFIED``, ``DELETED``, ``BOOKMARK``
    (``object`` holds only ``metadata.resourceVersion``: the watch may resume from there) or
    ``ERROR`` (``object`` is a Status; code 410 means: relist)."""

    type: str
    object: Object
    watch_id: str = ""


def in_line(seen: int, sequence: Any) -> str:
    """What to do with an event numbered ``sequence`` (its ``opts.seq``) after the ``seen``
    first events of a watch: ``take`` it (the next one; also any event of an apiserver that
    numbers none), drop it as a ``duplicate`` (a number already taken), or ``resume``: events
    before it were lost on the way, and the watch starts again from the last revision taken."""
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        return "take"
    if sequence <= seen:
        return "duplicate"
    return "take" if sequence == seen + 1 else "resume"


RESUME_MAX_SECONDS = 30.0
"""Longest pause between two failed attempts to resume a watch."""


class Watch:
    """A live watch: subscribe to its subject, register it, renew its lease; :meth:`stop`
    ends it. ``revision`` is the last resourceVersion seen.

    A watch that may have missed events resumes from ``revision`` under a new id (client-go's
    reflector re-establishing a broken watch from its last resourceVersion): when its
    connection comes back after losing its server (whatever was pushed meanwhile is lost),
    when an event's number (``opts.seq``) skips one, when a renewal's answer numbers more
    events than came (the last ones were lost), or when its apiserver is gone or had lost it.
    The apiserver replays what came after ``revision``; when that left its history (410), the
    watch ends with an ERROR event and its informer relists."""

    def __init__(self, client: Client, info: ResourceInfo, namespace: str | None,
                 options: dict[str, Any], on_event: Callable[[WatchEvent], None]) -> None:
        self.client, self.info, self.namespace = client, info, namespace
        self.options, self.on_event = options, on_event
        self.id: str = options["watchId"]
        self.revision = ""
        self.server: str | None = None
        """The apiserver process holding the watch (None: the only one)."""
        self._subject = client.subjects.watch(self.id)
        """Where this watch's events come: those of an earlier id are dropped."""
        self._sub: Any = None
        self._renewal: concurrent.futures.Future[None] | None = None
        self._seen = 0
        """The number of the last event taken under this id."""
        self._owed = 0
        """How many events the last answer of the apiserver said were pushed under this id."""
        self._answered: tuple[int, str] | None = None
        """The registration's answer until every event it numbered is taken: how many were
        pushed before it (the replay, the initial list) and the revision it names."""
        self._listing = False
        """Started without a revision and the initial list not all taken: its events come in
        no order of revision, so none moves ``revision`` and a resume sends it all again."""
        self._resuming = False
        self._stopped = False
        self._lock = threading.Lock()
        """Held while the id, subscription and server change hands (never over a request)."""
        self._unlisten: Callable[[], None] | None = None
        self._stopper: asyncio.Future[None] | None = None
        """The stop of a watch whose start its caller gave up (:meth:`astart`)."""

    @classmethod
    def of(cls, client: Client, info: ResourceInfo, on_event: Callable[[WatchEvent], None], *,
           namespace: str | None = None, label_selector: str | None = None,
           field_selector: str | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS,
           version: str | None = None) -> Watch:
        """A watch of ``info``'s objects (in ``namespace``, matching the selectors; with
        ``version``, a custom resource's served version, in that version), not started."""
        options: dict[str, Any] = {"watchId": client.new_watch_id(),
                                   "leaseSeconds": lease_seconds, "allowWatchBookmarks": True}
        options.update({k: v for k, v in (("labelSelector", label_selector),
                                          ("fieldSelector", field_selector),
                                          ("version", version)) if v})
        return cls(client, info, namespace, options, on_event)

    def start(self, resource_version: str | None) -> Watch:
        """Subscribe, then register with the apiserver (events may arrive before it answers);
        blocks this thread until registered. A registration left unanswered is sent once
        more, under a new id (as client-go's reflector watches again; one the apiserver made
        unheard lapses with its lease). Raises ApiError and leaves nothing behind."""
        self.revision, self._listing = resource_version or "", not resource_version
        try:
            self._open(resource_version)
        except ServerTimeout as lost:
            log.info("watch %s: %s; registering again", self.id, lost)
            with self._lock:
                self._new_id()
            self._open(resource_version)
        self._unlisten = self.client.connection.when_reconnected(
            lambda: self._resume("its connection to the bus came back"))
        return self

    def _open(self, resource_version: str | None) -> None:
        """Subscribe and register under the current id; start renewing. An id left meanwhile
        (a resume, :meth:`stop`) is forgotten at once."""
        connection = self.client.connection
        with self._lock:
            watch_id, subject = self.id, self._subject
        sub = connection.subscribe(subject, self._deliver, decoder=decode_from_apiserver)
        try:
            reply = self.client.request("watch", self.info, namespace=self.namespace,
                                        options=dict(self.options, watchId=watch_id,
                                                     resourceVersion=resource_version or ""))
        except (ApiError, BusError):
            connection.unsubscribe(sub)
            raise
        if not self._adopted(watch_id, sub, reply):
            self._forget(watch_id, sub, reply.get("server"), None)
            return
        bus_loop.wait(self._registered(watch_id, int(reply.get("seq") or 0),
                                       str(reply.get("resourceVersion") or "")), timeout=10)

    def _adopted(self, watch_id: str, sub: Any, reply: dict[str, Any]) -> bool:
        """Whether ``watch_id``, registered (``reply``), is still the watch's id: then ``sub``
        and the server named are the watch's, and its renewals start."""
        with self._lock:
            current = self.id == watch_id and not self._stopped
            if current:
                self._sub, self.server = sub, reply.get("server")
                self._renewal = bus_loop.submit(self._renew_forever(watch_id))
        return current

    async def astart(self, resource_version: str | None) -> Watch:  # bus loop thread
        """:meth:`start` holding no thread: registered on the bus loop, and a refusal raised
        at once, a 429 too (not waited out and sent again, as :meth:`start` does: its caller
        answers it with ``Retry-After``, as kube-apiserver answers a watch its priority level
        cannot take). Cancelled (its caller left), the registration goes on, then the watch
        stops: a subscription cancelled in its flush broke the connection (nats-py answered
        the PONG of the cancelled ping: ``InvalidStateError``, the connection lost)."""
        opening = asyncio.ensure_future(self._astart(resource_version))
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(self._stop_started)
            raise

    async def _astart(self, resource_version: str | None) -> Watch:
        self.revision, self._listing = resource_version or "", not resource_version
        try:
            await self._aopen(resource_version)
        except ServerTimeout as lost:
            log.info("watch %s: %s; registering again", self.id, lost)
            with self._lock:
                self._new_id()
            await self._aopen(resource_version)
        with self._lock:  # stopped meanwhile (its caller left): nothing to resume
            if not self._stopped:
                self._unlisten = self.client.connection.when_reconnected(
                    lambda: self._resume("its connection to the bus came back"))
        return self

    def _stop_started(self, opening: asyncio.Future[Watch]) -> None:  # bus loop thread
        """Stop the watch whose start its caller gave up, once started (or refused)."""
        if not opening.cancelled() and opening.exception() is not None:
            return  # refused: nothing left behind
        self._stopper = asyncio.ensure_future(self.astop())

    async def _aopen(self, resource_version: str | None) -> None:  # bus loop thread
        """:meth:`_open` on the bus loop, the registration sent once."""
        connection = self.client.connection
        with self._lock:
            watch_id, subject = self.id, self._subject
        sub = await connection.asubscribe(subject, self._deliver, decoder=decode_from_apiserver)
        try:
            reply = await self._arequest(dict(self.options, watchId=watch_id,
                                              resourceVersion=resource_version or ""))
        except BusError as error:
            await connection.aunsubscribe(sub)
            raise api_error(error) from error
        except ApiError:
            await connection.aunsubscribe(sub)
            raise
        if not self._adopted(watch_id, sub, reply):
            await self._aforget(watch_id, sub, reply.get("server"), None)
            return
        await self._registered(watch_id, int(reply.get("seq") or 0),
                               str(reply.get("resourceVersion") or ""))

    async def _registered(self, watch_id: str, pushed: int, revision: str
                          ) -> None:  # bus loop thread
        """The registration's answer: ``pushed`` events went before it, and every commit up
        to ``revision`` was looked at for the watch."""
        if watch_id != self.id:
            return  # left since
        self._owed = max(self._owed, pushed)
        self._answered = (pushed, revision)
        self._caught_up()

    def _caught_up(self) -> None:  # bus loop thread
        """Once every event the registration's answer numbered is taken, the revision it
        named is the watch's (a replay's tail lost is noticed at the next renewal)."""
        if self._answered is not None and self._seen >= self._answered[0]:
            revision, self._answered, self._listing = self._answered[1], None, False
            self.revision = str(max(int(self.revision or 0), int(revision or 0)))

    def _deliver(self, incoming: Incoming) -> None:  # bus loop thread
        envelope = incoming.envelope
        if incoming.subject != self._subject:
            return  # pushed under an id this watch left: what it told comes again
        if not isinstance(envelope.body, dict):
            log.warning("watch %s: ignored a malformed event from %r", self.id, envelope.sender)
            return
        sequence = (envelope.options or {}).get("seq")
        verdict = in_line(self._seen, sequence)
        if verdict == "resume":
            self._resume(f"event {sequence} came after event {self._seen}")
            return
        if verdict == "duplicate":
            return
        self._seen = sequence if isinstance(sequence, int) else self._seen
        obj = envelope.body.get("object") or {}
        if not self._listing:
            self.revision = obj.get("metadata", {}).get("resourceVersion", self.revision)
        self._caught_up()
        self.on_event(WatchEvent(str(envelope.body.get("type")), obj, self.id))

    def _resume(self, why: str) -> None:  # bus loop thread
        """Leave the current id at once (its later events are dropped) and resume from
        ``revision`` under a new one, on a thread of its own (a registration blocks)."""
        with self._lock:
            if self._resuming or self._stopped:
                return
            self._resuming = True
            left = (self.id, self._sub, self.server, self._renewal)
            self._new_id()
            self._sub = self._renewal = None
            self._seen, self._owed, self._answered = 0, 0, None
            revision = "" if self._listing else self.revision
        log.info("watch %s: %s; resuming from revision %s as %s", left[0], why, revision,
                 self.id)
        threading.Thread(target=self._resume_from, args=(revision, left), daemon=True,
                         name=f"resume-{self.id}").start()

    def _new_id(self) -> None:  # under the lock
        self.id = self.client.new_watch_id()
        self.options = dict(self.options, watchId=self.id)
        self._subject = self.client.subjects.watch(self.id)

    def _resume_from(self, revision: str, left: tuple[str, Any, str | None, Any]) -> None:
        """Forget the id left, then register the new one from ``revision`` until it works
        (backing off to RESUME_MAX_SECONDS), the watch stops, or the apiserver refuses for
        good: then an ERROR event (410: relist)."""
        self._forget(*left)
        delay = 0.1
        while not self._stopped:
            try:
                self._open(revision)
                break
            except Exception as error:  # the bus's, or the subscription's (a timeout)
                if isinstance(error, ApiError) and not error.retryable:
                    self.on_event(WatchEvent("ERROR", error.to_status(), self.id))
                    break
                log.warning("watch %s: resuming failed (%s); again in %.1fs", self.id, error,
                            delay)
                time.sleep(delay)
                delay = min(delay * 2, RESUME_MAX_SECONDS)
        with self._lock:
            self._resuming = False

    def _forget(self, watch_id: str, sub: Any, server: str | None,
                renewal: concurrent.futures.Future[None] | None) -> None:
        """Stop renewing ``watch_id``, unsubscribe, and tell the apiserver to forget it;
        never raises."""
        if renewal is not None:
            renewal.cancel()
        if sub is None:
            return
        self.client.connection.unsubscribe(sub)
        if self.client.connection.down is not None:
            return  # not waited for: the apiserver forgets it once its lease lapses
        with contextlib.suppress(ApiError, BusError):
            self.client.request("watch", self.info, namespace=self.namespace,
                                options=dict(self.options, watchId=watch_id, stop=True),
                                timeout=2, server=server)  # authorized as the watch itself

    def stop(self) -> None:
        """Unsubscribe and tell the apiserver to forget this watch; never raises."""
        self._forget(*self._stopping())

    async def astop(self) -> None:  # bus loop thread
        """:meth:`stop` holding no thread: the apiserver is told once (refused, a 429
        included, the watch lapses with its lease)."""
        await self._aforget(*self._stopping())

    async def _aforget(self, watch_id: str, sub: Any, server: str | None,
                       renewal: concurrent.futures.Future[None] | None) -> None:
        """:meth:`_forget` on the bus loop, the apiserver told once."""
        if renewal is not None:
            renewal.cancel()
        if sub is None:
            return
        connection = self.client.connection
        await connection.aunsubscribe(sub)
        if connection.down is None:
            with contextlib.suppress(ApiError, BusError):
                await self._arequest(dict(self.options, watchId=watch_id, stop=True),
                                     timeout=2, server=server)

    def _stopping(self) -> tuple[str, Any, str | None, concurrent.futures.Future[None] | None]:
        """Mark the watch stopped: what :meth:`_forget` then forgets."""
        with self._lock:
            self._stopped = True
            current = (self.id, self._sub, self.server, self._renewal)
            self._sub = self._renewal = None
        if self._unlisten is not None:
            self._unlisten()
        return current

    async def _renew_forever(self, watch_id: str) -> None:
        """Renew ``watch_id`` every third of the lease, while it is the watch's. One that
        finds events lost, or the watch lost by its apiserver, resumes it; a failed one is
        :meth:`_renewal_failed`'s."""
        period = float(self.options.get("leaseSeconds", DEFAULT_LEASE_SECONDS)) / 3
        while True:
            await asyncio.sleep(period)
            if watch_id != self.id:
                return  # left by a resume
            if self._seen < self._owed:  # the answer before said more were pushed
                self._resume(f"events {self._seen + 1} to {self._owed} never came")
                return
            try:
                answer = await self._renew()
            except (ApiError, BusError) as error:
                if watch_id == self.id and self._renewal_failed(error):
                    continue
                return
            if watch_id != self.id:
                return  # left by a resume meanwhile
            if not answer.get("renewed"):  # the apiserver had lost it and made it again
                self._resume("its apiserver had lost it")
                return
            self._owed = max(self._owed, int(answer.get("seq") or 0))

    async def _renew(self) -> dict[str, Any]:
        """One renewal, from the last revision taken: the apiserver's answer."""
        return await self._arequest(dict(self.options, resourceVersion=self.revision),
                                    server=self.server)

    async def _arequest(self, options: dict[str, Any], timeout: float | None = None,
                        server: str | None = None) -> dict[str, Any]:
        """One watch request with ``options`` (a registration, a renewal, a stop) sent once
        from the bus loop: the apiserver's answer; its refusal (ApiError) or BusError."""
        proof = await self.client.credentials.aprove(self.client.connection)
        envelope = self.client.envelope("watch", self.info, self.namespace, None, None,
                                        options, None, None, proof.auth)
        reply = await self.client.connection.arequest(
            self.client.subject("watch", self.info, None, server), envelope, timeout,
            mac_key=proof.mac_key)
        answer: dict[str, Any] = reply.raise_for_status().body
        return answer

    def _renewal_failed(self, error: ApiError | BusError) -> bool:
        """Whether to renew again after ``error``: not once the apiserver refused for good (the
        revision left its history, the id is taken, 403...: an ERROR event), the one holding
        the watch is gone (it resumes on another) or the connection is closed."""
        if isinstance(error, NoResponders) and self.server is not None:
            self._resume("its apiserver is gone")
            return False
        if isinstance(error, Gone | Conflict) or (
                isinstance(error, ApiError) and not error.retryable):
            self.on_event(WatchEvent("ERROR", error.to_status(), self.id))
            return False
        if isinstance(error, BusError) and self.client.connection.closed:
            return False  # closed under a watch nobody stopped: nothing left to renew
        log.warning("watch %s: renewal failed: %s", self.id, error)
        return True
