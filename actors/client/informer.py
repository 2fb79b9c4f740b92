"""The informer: list, then watch from the list's revision, relist on 410 Gone.

Every component that follows objects (scheduler, kubelet, later the controllers) uses this
instead of polling. Events reach ``on_event`` in commit order: the initial list as ADDED on
the caller's thread, then watch events on the bus loop thread; ``on_event`` must not block
(components pass ``BusActor.tell_self``). After a relist the informer reports what changed while
it was blind: ADDED or MODIFIED for what is there, DELETED for what went away.

What the informer keeps of each object is its ``transform``'s (client-go's ``SetTransform``):
by default :func:`compact`, every object without its ``managedFields`` (as kube-scheduler and
kube-controller-manager trim theirs: half a pod's memory, which no controller reads; an update
of an object without them keeps the stored ones) and with its short strings interned (the
``"True"``, image names and condition types of ten thousand pods held once, not once a pod);
a MODIFIED keeps the parts it did not change from the state kept before it
(:func:`compact_since`: a bound pod's spec but its ``nodeName``, walked a third faster than
anew).
A transform that answers None leaves the object out: neither kept nor told (a kubelet of many
nodes keeps only its nodes' pods).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from sys import intern
from typing import Any

import msgspec

from actors.api.meta import unmanaged
from actors.api.objects import INTERNED_CHARS, Object, interned
from actors.api.watches import DEFAULT_LEASE_SECONDS
from actors.client.client import CHUNK_SIZE, Client, Watch, WatchEvent
from bus.errors import ApiError, BusError

log = logging.getLogger(__name__)

RELIST_MAX_SECONDS = 30.0
"""Longest pause between two failed relists."""

Transform = Callable[[Object], Object | None]
"""What to keep of an object an informer follows; None: leave it out (neither kept nor told).
It must answer the same for every state of one object (as a pod's ``spec.nodeName``, which
never changes once set), or the object may stay behind in the cache."""




def compact(obj: Object) -> Object:
    """``obj`` as an informer keeps it by default: a copy without ``metadata.managedFields``,
    its short strings interned (a decoded pod: 21 KB -> 8 KB)."""
    return _interned(unmanaged(obj))


def compact_since(obj: Object, before: Object) -> Object:
    """:func:`compact` of a new state of ``before`` (kept compacted): every part equal to
    ``before``'s, of exactly the same types (``1``, ``1.0`` and ``True`` are equal but not
    alike), is ``before``'s own, not a copy (a bound pod's spec, containers and tolerations are
    its pending state's); nothing ``before`` holds changes. Kept objects are never changed in
    place, so one part may belong to two states."""
    return _shared(unmanaged(obj), before)


def _interned(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: (intern(item) if len(item) <= INTERNED_CHARS else item)
                if type(item) is str else _interned(item)  # a str inline: the common case
                for key, item in value.items()}
    if isinstance(value, list):
        return [_interned(item) for item in value]
    return interned(value) if isinstance(value, str) else value


def _shared(value: Any, before: Any) -> Any:
    """``value`` compacted, or ``before`` itself where the two are alike (:func:`_alike`);
    a dict or list that changed is walked to share its parts that did not."""
    if value == before and _alike(value, before):
        return before
    kind = type(value)
    if kind is dict and type(before) is dict:
        return _shared_dict(value, before)
    if kind is list and type(before) is list and len(value) == len(before):
        return [_shared(item, old) for item, old in zip(value, before, strict=True)]
    return _interned(value)


def _shared_dict(value: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        old = before.get(key, _ABSENT)
        kind = type(item)
        if kind is type(old) and kind in _LEAVES and item == old:
            out[key] = old  # the common case, without a call
        else:
            out[key] = _shared(item, old)
    return out


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _alike(value: Any, before: Any) -> bool:
    """Whether two equal values are of the same types all through: their msgpack bytes tell
    ``1``, ``1.0`` and ``True`` apart (compared in C, not walked here). What msgpack cannot
    hold (never in a decoded event) is not alike."""
    kind = type(value)
    if kind is not type(before):
        return False
    try:
        return kind not in (dict, list) or _PACK(value) == _PACK(before)
    except (TypeError, msgspec.EncodeError):
        return False


_PACK = msgspec.msgpack.Encoder().encode
_ABSENT = object()
"""A key ``before`` lacks (alike to nothing)."""


def object_key(obj: Object) -> str:
    metadata = obj.get("metadata", {})
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"


class Informer:
    """Follows one resource (optionally filtered) and keeps the last state of each object."""

    def __init__(self, client: Client, resource: str, on_event: Callable[[WatchEvent], None],
                 *, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS, page: int = CHUNK_SIZE,
                 transform: Transform = compact) -> None:
        """``lease_seconds``: of the informer's watches (renewed at a third of it); ``page``:
        objects per page of a list; ``transform``: what is kept and told of each object."""
        self.client, self.resource, self.on_event = client, resource, on_event
        self.transform = transform
        self.lease_seconds, self.page = lease_seconds, page
        self.namespace = namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self._cache: dict[str, Object] = {}
        self._lock = threading.Lock()
        self._watch: Watch | None = None
        self._stopped = False

    def start(self) -> Informer:
        """List and start watching; blocks this thread for the list (never call on the loop)."""
        self._relist()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()

    def items(self) -> list[Object]:
        with self._lock:
            return list(self._cache.values())

    def get(self, name: str, namespace: str | None = None) -> Object | None:
        """The last state seen of one object, or None."""
        with self._lock:
            return self._cache.get(f"{namespace or ''}/{name}")

    def _list(self) -> tuple[list[Object], str]:
        """Every object, page by page (one consistent snapshot), and its revision."""
        listed = self.client.list(self.resource, self.namespace,
                                  label_selector=self.label_selector,
                                  field_selector=self.field_selector, chunk_size=self.page)
        kept = (self.transform(obj) for obj in listed["items"])
        revision = str(listed["metadata"]["resourceVersion"])
        return [obj for obj in kept if obj is not None], revision

    def _relist(self) -> None:
        items, revision = self._list()
        fresh = {object_key(obj): obj for obj in items}
        with self._lock:
            gone = [obj for key, obj in self._cache.items() if key not in fresh]
            changed = [
                ("MODIFIED" if key in self._cache else "ADDED", obj)
                for key, obj in fresh.items()
                if self._cache.get(key, {}).get("metadata", {}).get("resourceVersion")
                != obj["metadata"].get("resourceVersion")
            ]
            self._cache = fresh
        for obj in gone:
            self.on_event(WatchEvent("DELETED", obj))
        for kind, obj in changed:
            self.on_event(WatchEvent(kind, obj))
        watch = self.client.watch(
            self.resource, self._on_watch_event, namespace=self.namespace,
            resource_version=revision,
            label_selector=self.label_selector, field_selector=self.field_selector,
            lease_seconds=self.lease_seconds,
        )
        with self._lock:
            stopped = self._stopped
            if not stopped:
                self._watch = watch
        if stopped:  # stop() ran meanwhile: this watch must not outlive it
            watch.stop()

    def _on_watch_event(self, event: WatchEvent) -> None:  # bus loop thread
        if event.type == "BOOKMARK":
            return  # the watch's revision moved on; nothing changed for us
        if event.type == "ERROR":
            log.info("%s informer: watch expired (%s); relisting",
                     self.resource, event.object.get("message"))
            threading.Thread(target=self._relist_after_error, daemon=True).start()
            return
        kept = self._kept(event)
        if kept is None:
            return
        with self._lock:
            if event.type == "DELETED":
                self._cache.pop(object_key(kept), None)
            else:
                self._cache[object_key(kept)] = kept
        self.on_event(event if kept is event.object else dataclasses.replace(event, object=kept))

    def _kept(self, event: WatchEvent) -> Object | None:
        """What the transform keeps of a watch event's object: by default (:func:`compact`)
        a MODIFIED shares what did not change with the state kept before it."""
        if self.transform is compact and event.type == "MODIFIED":
            with self._lock:
                before = self._cache.get(object_key(event.object))
            if before is not None:
                return compact_since(event.object, before)
        return self.transform(event.object)

    def _relist_after_error(self) -> None:
        """Relist until it works (backing off to RELIST_MAX_SECONDS) or the informer stops."""
        with self._lock:
            watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()
        delay = 0.5
        while not self._stopped:
            try:
                self._relist()
                return
            except (ApiError, BusError) as error:
                log.warning("%s informer: relist failed (%s); retrying in %.1fs",
                            self.resource, error, delay)
                time.sleep(delay)
                delay = min(delay * 2, RELIST_MAX_SECONDS)
