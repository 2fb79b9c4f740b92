"""The committed state as the store holds it, and the view the apiserver reads it through.

The store keeps each current object packed (:func:`pack`: its compact JSON, as a backend
writes it; a pod of 4 KB there takes about 20 KB of Python objects decoded) and decodes it
again on read (:func:`unpack`). The objects read or written last stay decoded beside
(:data:`DECODED_KEPT` of them, least recently used out first), so the reads that follow a
write of the same object (a pod's binding after its create, its status after the binding;
the namespace and service account every create reads) are not decoded each time.

Neighbours: ``actors.store.store`` (the actor that changes the view), ``actors.store.history``
(keeps the packed objects of past revisions), ``actors.apiserver`` (reads through the view).

Which thread: :meth:`StoreView.apply` on the store's own; every read from any thread (a lock
while the state is copied or applied; another, short, around the decoded objects).
"""

from __future__ import annotations

import builtins
import threading
from collections import OrderedDict
from collections.abc import Callable

import orjson

from actors.api.objects import Object

Packed = bytes | Object
"""An object as the store holds it: its compact JSON, or the object itself when it is not JSON
that decodes back to the same (a key not a string, an integer beyond 64 bits: no backend stores
those, a test's fake may)."""

DECODED_KEPT = 512
"""Objects kept decoded beside their packed form: enough for the objects a burst of writes
touches again within a few hundred writes; each pod ~20 KB."""


_AS_IS = (orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
          | orjson.OPT_PASSTHROUGH_SUBCLASS)
"""What orjson would write as something else (a dataclass, a date, a subclass of str or dict)
it refuses instead: such an object is kept as itself."""


def pack(obj: Object) -> Packed:
    """``obj`` as the store holds it (:data:`Packed`)."""
    try:
        return orjson.dumps(obj, option=_AS_IS)
    except TypeError:  # orjson.JSONEncodeError is one
        return obj


def unpack(packed: Packed) -> Object:
    """The object ``packed`` holds (decoded anew unless it was kept as itself)."""
    return orjson.loads(packed) if isinstance(packed, bytes) else packed


class StoreView:
    """The committed state, read from any thread without going through the store's mailbox
    (so reads never wait behind a group commit's fsync).

    Only the store thread changes it, and only after a commit is durable; a reader sees an
    object once its write was acknowledged (read your writes). Objects read are shared: read
    them, never change them (a write prepares a new object). A key's object is replaced whole
    by each change; :meth:`page` reads every object and the revision they are at together (a
    lock held by the store only while it applies one record). :meth:`catch_up` waits until it
    holds every write acknowledged before, another store's too.
    """

    def __init__(self, revision: int, objects: dict[str, Object],
                 latest: Callable[[], int | None] = lambda: None) -> None:
        """``objects``: the state at ``revision`` (packed here); ``latest``: the backend's
        :meth:`~actors.store.backend.Backend.latest`."""
        self.revision = revision
        """The last revision applied."""
        self._packed = {key: pack(obj) for key, obj in objects.items()}
        self._latest = latest
        self._lock = threading.Condition()
        self._decoded: OrderedDict[str, tuple[Packed, Object]] = OrderedDict()
        """Recently used keys' objects decoded, with the packed form they were decoded from."""
        self._decoded_lock = threading.Lock()

    def catch_up(self, timeout: float) -> tuple[int, int] | None:
        """Wait (at most ``timeout`` seconds) until this view has applied every write any store
        of the backend had acknowledged when called (a consistent read, as etcd's quorum read);
        None once it has (at once with a backend of one writer), else the revision waited for
        and the one reached."""
        target = self._latest()
        if target is None:
            return None
        with self._lock:
            if self._lock.wait_for(lambda: self.revision >= target, timeout):
                return None
            return target, self.revision

    def get(self, key: str) -> Object | None:
        packed = self._packed.get(key)
        return None if packed is None else self.load(key, packed, keep=True)

    def packed(self, key: str) -> Packed | None:
        """``key``'s object as held (:data:`Packed`), None when absent."""
        return self._packed.get(key)

    def load(self, key: str, packed: Packed, keep: bool = False) -> Object:
        """``key``'s object ``packed`` (current or past) decoded: the one kept decoded when it
        is that version; ``keep``: keep it decoded as the one most recently used."""
        if not isinstance(packed, bytes):
            return packed
        with self._decoded_lock:
            kept = self._decoded.get(key)
            if kept is not None and kept[0] is packed:
                self._decoded.move_to_end(key)
                return kept[1]
        obj = orjson.loads(packed)
        if keep:
            self._keep(key, packed, obj)
        return obj

    def _keep(self, key: str, packed: Packed, obj: Object) -> None:
        with self._decoded_lock:
            self._decoded[key] = (packed, obj)
            self._decoded.move_to_end(key)
            if len(self._decoded) > DECODED_KEPT:
                self._decoded.popitem(last=False)

    def state(self) -> tuple[dict[str, Packed], int]:
        """Every key's object as held, and the revision they are at (consistent together)."""
        with self._lock:
            return dict(self._packed), self.revision

    def page(self, prefix: str, match: Callable[[Object], bool] | None = None,
             limit: int | None = None, after: str = ""
             ) -> tuple[builtins.list[Object], int, str | None]:
        """One page of the current state, as :meth:`Store.page` (objects shared)."""
        return self.page_of(*self.state(), prefix, match, limit, after)

    def page_of(self, state: dict[str, Packed], revision: int, prefix: str,
                match: Callable[[Object], bool] | None, limit: int | None, after: str
                ) -> tuple[builtins.list[Object], int, str | None]:
        """At most ``limit`` of ``state``'s objects under ``prefix`` whose key sorts after
        ``after`` and that ``match``, by key; ``revision``; and the last key when more follow
        (else None)."""
        items: builtins.list[Object] = []
        last_key = None
        for key in sorted(k for k in state if k.startswith(prefix) and k > after):
            obj = self.load(key, state[key])
            if match is not None and not match(obj):
                continue
            if limit is not None and len(items) == limit:
                return items, revision, last_key
            items.append(obj)
            last_key = key
        return items, revision, None

    def apply(self, key: str, obj: Object | None, revision: int) -> Packed | None:
        """The store thread's change: ``key`` holds ``obj`` (None: removed) at ``revision``;
        returns ``obj`` as now held (kept decoded as the key's most recently used)."""
        packed = None if obj is None else pack(obj)
        with self._lock:
            if packed is None:
                self._packed.pop(key, None)
            else:
                self._packed[key] = packed
            self.revision = revision
            self._lock.notify_all()
        with self._decoded_lock:
            self._decoded.pop(key, None)
        if obj is not None and packed is not None:
            self._keep(key, packed, obj)
        return packed
