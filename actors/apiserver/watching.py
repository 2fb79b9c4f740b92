"""Watchers: who asked to be told about which changes, what each change means to them, and
the registry that tells them.

A :class:`Watcher` holds a filter, the subject to push to and a lease; :func:`event_type_for`
decides whether a store commit is ADDED, MODIFIED, DELETED or nothing for one watcher (an object
that stops matching a selector is DELETED for it; one that starts matching is ADDED, as in
Kubernetes). Both are pure. :class:`Watches` is the registry of one apiserver's watch worker:
its watchers by id and by resource, the sweep of expired leases, and the pushes of each commit's
events to ``<prefix>.watch.<owner>.<id>``: the object encoded once for all the watchers that
read it at one version (``bus.envelope.packed``), each event's envelope around it; at its
stored version, that encoding is the one its reply and later gets carry too
(``bus.envelope.SHARED``).

Neighbours: ``server`` (the actor: it hands every store commit to :meth:`Watches.on_commit`),
``verbs`` (the ``watch`` verb opens, renews and stops watchers here), ``actors.store`` (the
events).

Which thread: the watch worker's actor thread, alone (no lock); :meth:`Watches.push` only
publishes, it never waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from actors.api import conversion
from actors.api.meta import trace_id_of
from actors.api.objects import Object
from actors.api.resources import BY_KIND, ResourceInfo
from actors.api.selectors import Matcher
from actors.api.watches import DEFAULT_LEASE_SECONDS
from actors.store import StoreEvent
from bus.envelope import SHARED, Envelope, new_id, packed
from bus.errors import PayloadTooLarge

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0
"""How often all watchers are looked at for an expired lease (a commit looks at its own)."""


@dataclass(slots=True)
class Watcher:
    id: str
    subject: str
    owner: str
    """The component that asked (envelope ``sender``), shown in traces as the receiver."""
    user: str
    info: ResourceInfo
    namespace: str | None
    match: Matcher
    revision: int
    """Last revision delivered; older events are never sent again."""
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    expires: float = field(default=0.0)
    version: str | None = None
    """The served version the watcher reads at (its objects' ``apiVersion``; None: the
    storage version)."""
    sequence: int = 0
    """Events pushed to it so far: each carries its number (``opts.seq``), so a watcher that
    misses one notices (and resumes from its last revision)."""

    def renew(self, now: float | None = None) -> None:
        self.expires = (now if now is not None else time.monotonic()) + self.lease_seconds

    def expired(self, now: float) -> bool:
        return now > self.expires

    def wants(self, info: ResourceInfo, namespace: str | None) -> bool:
        return (info is self.info or (info.name == self.info.name
                                      and info.group == self.info.group)) and (
            self.namespace is None or self.namespace == namespace)


def event_type_for(watcher: Watcher, event: StoreEvent) -> str | None:
    """What ``event`` is to ``watcher``: an event type, or None when it must not see it."""
    if event.revision <= watcher.revision:
        return None
    now_matches = event.type != "DELETED" and watcher.match(event.object)
    was_matching = event.old is not None and watcher.match(event.old)
    if event.type == "DELETED":
        return "DELETED" if was_matching else None
    if now_matches and was_matching:
        return "MODIFIED"
    if now_matches:
        return "ADDED"
    return "DELETED" if was_matching else None


ResourceOf = Callable[[Object], ResourceInfo | None]
"""The resource of a stored object (custom ones included: ``actors.api.discovery``)."""


def builtin_resource(obj: Object) -> ResourceInfo | None:
    return BY_KIND.get(obj.get("kind", ""))


def where(event: StoreEvent, resource_of: ResourceOf = builtin_resource
          ) -> tuple[ResourceInfo | None, str | None]:
    """The resource and namespace of a commit's object."""
    return resource_of(event.object), event.object.get("metadata", {}).get("namespace")


class Watches:
    """The watchers of one apiserver (held by its watch worker), by id and by resource."""

    def __init__(self, publish: Callable[[str, Envelope], None], sender: str,
                 resource_of: ResourceOf = builtin_resource,
                 sent: Callable[[ResourceInfo], None] | None = None) -> None:
        """``publish``: the actor's (events go out on the bus loop); ``sender``: the
        apiserver's component name, in every event's envelope; ``resource_of``: which
        resource a committed object is of; ``sent`` hears of each event pushed (the
        metrics)."""
        self._publish = publish
        self._sent = sent
        self._sender = sender
        self._resource_of = resource_of
        self.watchers: dict[str, Watcher] = {}
        self._watching: dict[tuple[str, str], dict[str, Watcher]] = {}
        """The same watchers by (group, resource): a commit looks only at those of its own."""
        self._swept = time.monotonic()
        """When the watchers were last all looked at for an expired lease."""
        self._dispatched = 0
        """The last store revision whose event went past every watcher."""
        self._encoded: tuple[Object, tuple[ResourceInfo, str | None], Any] | None = None
        """The object last pushed, the resource and version it was served as, and its bytes
        (a stored object is never changed: the same object is the same bytes)."""

    def get(self, watch_id: str) -> Watcher | None:
        return self.watchers.get(watch_id)

    def held_by(self, user: str) -> int:
        """How many watches ``user`` holds open."""
        return sum(w.user == user for w in self.watchers.values())

    def add(self, watcher: Watcher) -> None:
        self.watchers[watcher.id] = watcher
        self._watching.setdefault((watcher.info.group, watcher.info.name), {})[watcher.id] = \
            watcher

    def renew(self, existing: Watcher, bookmarks: bool) -> None:
        existing.renew()
        if bookmarks and self._dispatched > existing.revision:
            # Every commit up to _dispatched was looked at for this watcher: it may resume
            # from there (Kubernetes' BOOKMARK), even if none of them concerned it.
            existing.revision = self._dispatched
            self.push(existing, "BOOKMARK", {
                "apiVersion": existing.info.api_version, "kind": existing.info.kind,
                "metadata": {"resourceVersion": str(self._dispatched)}})

    def replay(self, watcher: Watcher, events: Iterable[StoreEvent]) -> None:
        """Push the events since the revision a new watch asked for."""
        for event in events:
            self.deliver(watcher, event, where(event, self._resource_of))

    def on_commit(self, event: StoreEvent) -> None:
        """Push a store commit to the watchers of its resource; drop the expired ones."""
        self._dispatched = max(self._dispatched, event.revision)
        now, at = time.monotonic(), where(event, self._resource_of)
        if now - self._swept > SWEEP_SECONDS:
            self._sweep(now)
        info = at[0]
        watching = self._watching.get((info.group, info.name), {}) if info else {}
        for watch_id, watcher in list(watching.items()):
            if watcher.expired(now):
                self.forget(watch_id)
                continue
            try:
                self.deliver(watcher, event, at)
            except PayloadTooLarge as error:
                log.warning("watch %s: event at revision %d not delivered: %s", watch_id,
                            event.revision, error)

    def _sweep(self, now: float) -> None:
        """Drop every watcher whose lease ran out (also those no commit concerns)."""
        self._swept = now
        for watch_id in [i for i, watcher in self.watchers.items() if watcher.expired(now)]:
            self.forget(watch_id)

    def forget(self, watch_id: str) -> None:
        watcher = self.watchers.pop(watch_id, None)
        if watcher is not None:
            self._watching.get((watcher.info.group, watcher.info.name), {}).pop(watch_id, None)

    def deliver(self, watcher: Watcher, event: StoreEvent,
                at: tuple[ResourceInfo | None, str | None]) -> None:
        """Push ``event`` to ``watcher`` if it concerns it; ``at``: the event's resource and
        namespace (:func:`where`)."""
        info, namespace = at
        if info is None or not watcher.wants(info, namespace):
            return
        kind = event_type_for(watcher, event)
        watcher.revision = max(watcher.revision, event.revision)
        if kind is not None:
            commit = event.note.span_id if isinstance(event.note, Envelope) else None
            self.push(watcher, kind, event.object, commit)

    def _encode(self, watcher: Watcher, obj: Object) -> Any:
        """``obj`` as ``watcher`` reads it, encoded: once for the watchers of a commit that
        read it as the same resource and version."""
        served = (watcher.info, watcher.version)
        last = self._encoded
        if last is not None and last[0] is obj and last[1] == served:
            return last[2]
        shown = conversion.served_as(watcher.info, watcher.version, obj)
        encoded = SHARED.keep(obj) if shown is obj else packed(shown)
        self._encoded = (obj, served, encoded)
        return encoded

    def push(self, watcher: Watcher, kind: str, obj: Object, parent: str | None = None) -> None:
        """Publish one event to ``watcher``; ``parent``: the span of the commit it tells of."""
        metadata, sequence = obj.get("metadata", {}), watcher.sequence + 1
        self._publish(watcher.subject, Envelope(
            trace_id=trace_id_of(obj), span_id=new_id(), parent_id=parent, sender=self._sender,
            target=watcher.owner, verb="event", group=watcher.info.group,
            resource=watcher.info.name, namespace=metadata.get("namespace"),
            name=metadata.get("name"),
            body={"type": kind, "object": self._encode(watcher, obj)},
            options={"seq": sequence},
        ))
        watcher.sequence = sequence  # not when it was too large to go: its watcher never hears
        if self._sent is not None:
            self._sent(watcher.info)
