"""The store actor: etcd's role. Durable, revisioned, watchable key -> object storage.

Only the apiserver holds a reference to this actor; it has no bus subscription, so nothing on
NATS can address it (DESIGN §4). It knows nothing of Kubernetes semantics beyond
``metadata.resourceVersion``: the apiserver decides what to write, the store decides when it
is durable and in which order.

- One global revision, bumped by every write; an object's ``resourceVersion`` is the revision
  of its last change.
- Current objects live in memory for reads, packed (``actors.store.view``: their compact
  JSON, decoded on read, the last used kept decoded); the :class:`Backend` is the durable log
  and the source of revisions. A write returns only after ``Backend.commit`` has returned
  (i.e. after it is durable); the store then applies the backend's :class:`Record` s in
  revision order, its own and those other stores wrote to a shared backend (JetStream), so
  every store on one backend goes through the same sequence of states.
- Every applied record becomes a :class:`StoreEvent`, kept in a history window (for watches
  and list pages that go back to a revision) and told to each listener (the apiserver). The
  window is compacted as etcd compacts (``actors.store.history``: the last N revisions, none
  older than T seconds; objects packed as the current ones); a revision below it is Gone (410).
- The store keeps the size of what it holds (each key and its object's JSON, :func:`size_of`)
  and, as etcd's ``--quota-backend-bytes``, refuses a create or update that would take it past
  :attr:`StoreConfig.quota_backend_bytes` (:class:`~bus.errors.SpaceExceeded`, nothing stored);
  reads, watches, deletes and writes that do not grow it are always served.
- A record a backend cannot decode is set aside (:class:`Undecodable`, logged once with its key
  and revision, listed by :meth:`Store.undecodable`), never raised: the rest is served.

Neighbours: ``actors.store.backend`` (the interface of the durable log and the records it
holds; ``bindings.backends`` implement it), ``actors.store.view`` and ``actors.store.history``
(the current state and the past, as held), ``actors.apiserver.server`` (the one caller: reads
through :class:`StoreView`, writes through :class:`StoreWriter`, hears :class:`StoreEvent` s).

Calls arrive through a Pykka proxy; all run on the store's own thread, one at a time.
"""

from __future__ import annotations

import builtins
import concurrent.futures
import contextlib
import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pykka

from actors.api import jsontext
from actors.api.objects import Object
from actors.store.backend import Backend, Change, Record, Undecodable
from actors.store.history import History, HistoryWindow, StoreEvent
from actors.store.view import Packed, StoreView, pack
from bus.errors import AlreadyExists, ApiError, Conflict, NotFound, SpaceExceeded

log = logging.getLogger(__name__)


DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024**3
"""etcd's ``DefaultQuotaBytes`` (2 GiB), also what it takes a quota of 0 to mean."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The store's settings (``kubeactor up``/``server`` read their defaults here)."""

    history: HistoryWindow = field(default_factory=HistoryWindow)
    """How far back watches and list pages may go (the compaction)."""
    quota_backend_bytes: int = DEFAULT_QUOTA_BACKEND_BYTES
    """Bytes the store may hold (keys and JSON values, :func:`size_of`) before creates and
    updates that grow it are refused, as etcd's ``--quota-backend-bytes``, with its default
    (2 GiB: every object is in memory, about twice its JSON size) and its meanings: 0 is the
    default, a negative value no limit."""

    @property
    def space_limit(self) -> int | None:
        """The limit in bytes after etcd's rules (0: the default); None: none."""
        if self.quota_backend_bytes < 0:
            return None
        return self.quota_backend_bytes or DEFAULT_QUOTA_BACKEND_BYTES


FLUSH = object()
"""Local message: commit the writes waiting in the StoreWriter."""

CATCH_UP = object()
"""Local message: the backend has records written by another store; apply them."""


@dataclass(slots=True)
class Write:
    """One write waiting for the next group commit."""

    op: str
    """``create``, ``update`` or ``delete``."""
    key: str
    obj: Object | None = None
    expected: int | None = None
    """For update and delete: the resourceVersion the object must still have."""
    note: Any = None
    """Carried to the write's StoreEvent untouched."""
    done: concurrent.futures.Future[Object] = field(default_factory=concurrent.futures.Future)


class StoreWriter:
    """Where apiserver workers hand writes to the store: a queue beside its mailbox.

    :meth:`submit` and :meth:`write` may be called from any thread. Writes that wait while the
    store commits go together in its next transaction. The store takes the object handed to it
    as its own (no copy): the caller must not change it afterwards, and must not change what
    comes back either (it is the stored object, shared with every reader).
    """

    def __init__(self, store: pykka.ActorRef[Any]) -> None:
        self._store = store
        self._waiting: builtins.list[Write] = []
        self._lock = threading.Lock()

    def submit(self, write: Write) -> concurrent.futures.Future[Object]:
        """Queue ``write`` without waiting; its future resolves (on the store thread) with the
        stored object once durable, or with the error that refused it."""
        with self._lock:
            self._waiting.append(write)
            first = len(self._waiting) == 1
        if first:  # the store will take this one and everything that queues behind it
            self._store.tell(FLUSH)
        return write.done

    def write(self, op: str, key: str, obj: Object | None = None,
              expected: int | None = None, note: Any = None) -> Object:
        """:meth:`submit`, then block until the write is durable (or refused)."""
        return self.submit(Write(op, key, obj, expected, note)).result()

    def take_all(self) -> builtins.list[Write]:
        with self._lock:
            taken, self._waiting = self._waiting, []
        return taken


def _check(write: Write, current: Object | None) -> None:
    """AlreadyExists, NotFound or Conflict when ``write`` cannot apply over ``current``."""
    if write.op == "create":
        if current is not None:
            raise AlreadyExists(f"key {write.key} already exists")
        return
    if current is None:
        raise NotFound(f"key {write.key} not found")
    if write.expected is not None and resource_version(current) != write.expected:
        raise Conflict(
            f"the object has been modified; please apply your changes to the latest "
            f"version and try again (have {resource_version(current)}, got {write.expected})"
        )


def dry_run(write: Write, current: Object | None) -> Object:
    """What ``write`` would store over ``current``, without storing it (kube-apiserver's
    dry-run storage): the error a commit would raise, else the object as it would be stored
    but for the revision it would stamp: a create's has no resourceVersion, an update's keeps
    ``current``'s, a delete answers ``current``."""
    _check(write, current)
    if write.obj is None:
        assert current is not None
        return current
    would = copy.deepcopy(write.obj)
    metadata = would.setdefault("metadata", {})
    metadata.pop("resourceVersion", None)
    if current is not None:
        metadata["resourceVersion"] = str(resource_version(current))
    return would


Listener = Callable[[StoreEvent], None]
"""Called on the store thread after each commit; must not block (tell an actor)."""


def resource_version(obj: Object) -> int:
    return int(obj.get("metadata", {}).get("resourceVersion") or 0)


def _rounds(writes: builtins.list[Write]) -> Iterator[builtins.list[Write]]:
    """``writes`` in order, cut where a key comes again: a backend assigns a write's revision
    only when it commits it, and the next write to that key must name it."""
    start, keys = 0, set[str]()
    for index, write in enumerate(writes):
        if write.key in keys:
            yield writes[start:index]
            start, keys = index, set[str]()
        keys.add(write.key)
    if start < len(writes):
        yield writes[start:]


_SIZE_JSON = json.JSONEncoder(separators=(",", ":"), default=repr)
"""What measures a value that is not JSON (no backend stores it): ASCII-only, so a string's
length is its size in bytes."""


def size_of(key: str, obj: Object | None) -> int:
    """What ``key`` holding ``obj`` counts against the store's quota: the key's and the
    object's compact UTF-8 JSON's bytes, as a backend stores it (0 for nothing). Measured with
    orjson (``jsontext``): every write is measured, on the store's thread, and the standard
    library's encoder took 28 us for a pod orjson measures in 2."""
    if obj is None:
        return 0
    try:
        size = len(jsontext.dumps(obj))
    except (TypeError, ValueError):
        size = len(_SIZE_JSON.encode(obj))
    return len(key.encode()) + size


def space_exceeded(size: int, limit: int) -> SpaceExceeded:
    log.warning("store: a write refused: %d bytes held, the quota is %d (--quota-backend-bytes)",
                size, limit)
    return SpaceExceeded("etcdserver: mvcc: database space exceeded")


def _stamped(obj: Object, revision: int) -> Object:
    stamped = copy.deepcopy(obj)
    stamped.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return stamped


class Store(pykka.ThreadingActor):
    """See the module docstring. Use through ``Store.start(backend).proxy()``."""

    use_daemon_thread = True

    def __init__(self, backend: Backend, config: StoreConfig | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` (seconds) dates the events for the time-based compaction."""
        super().__init__()
        config = config or StoreConfig()
        self._backend = backend
        self._limit = config.space_limit
        revision, objects = backend.load()
        if backend.undecodable:  # each was logged by the backend with its key and revision
            log.warning("store: %d record(s) could not be decoded: set aside, not served",
                        len(backend.undecodable))
        self._sizes = {key: size_of(key, obj) for key, obj in objects.items()}
        """What each key counts against the quota (:func:`size_of`)."""
        self._size = sum(self._sizes.values())
        self._view = StoreView(revision, objects, backend.latest)
        del objects  # the view holds them packed
        self._history = History(config.history, revision, clock)
        self._listeners: list[Listener] = []
        self._writer = StoreWriter(self.actor_ref)
        backend.follow(self._catch_up_soon)

    def on_stop(self) -> None:
        self._backend.close()

    def _catch_up_soon(self) -> None:
        """The backend's notice (any thread): others' records wait; apply them in turn."""
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(CATCH_UP)

    @property
    def _revision(self) -> int:
        return self._view.revision

    # -- reads -----------------------------------------------------------------------------
    # Through the proxy these copy what they return (callers may change it); the apiserver
    # reads the shared objects through view() instead, without waiting for this thread.

    def revision(self) -> int:
        return self._revision

    def size(self) -> int:
        """Bytes held, as the quota counts them (:func:`size_of`)."""
        return self._size

    def undecodable(self) -> builtins.list[Undecodable]:
        """The records the backend set aside because it could not decode them."""
        return list(self._backend.undecodable)

    def view(self) -> StoreView:
        """The thread-safe read view of the committed state."""
        return self._view

    def get(self, key: str) -> Object:
        obj = self.get_or_none(key)
        if obj is None:
            raise NotFound(f"key {key} not found")
        return obj

    def get_or_none(self, key: str) -> Object | None:
        return copy.deepcopy(self._view.get(key))

    def list(
        self, prefix: str, match: Callable[[Object], bool] | None = None
    ) -> tuple[list[Object], int]:
        """Objects under ``prefix`` (sorted by key) that ``match``, and the current revision."""
        return self.page(prefix, match)[:2]

    def page(self, prefix: str, match: Callable[[Object], bool] | None = None,
             limit: int | None = None, after: str = "", revision: int | None = None
             ) -> tuple[builtins.list[Object], int, str | None]:
        """One page of a list, as it was at ``revision`` (now when None): at most ``limit``
        objects under ``prefix`` whose key sorts after ``after``, that revision, and the last
        key when more follow (else None). Gone when ``revision`` left the history window, as
        etcd answers for a compacted revision."""
        items, at, last_key = self.page_shared(prefix, match, limit, after, revision)
        return copy.deepcopy(items), at, last_key

    def page_shared(self, prefix: str, match: Callable[[Object], bool] | None = None,
                    limit: int | None = None, after: str = "", revision: int | None = None
                    ) -> tuple[builtins.list[Object], int, str | None]:
        """:meth:`page` without copies: the objects are shared, read-only."""
        if revision is None:
            return self._view.page(prefix, match, limit, after)
        state = self._history.state_at(revision, self._view.state()[0], self._revision)
        return self._view.page_of(state, revision, prefix, match, limit, after)

    def events_since(self, revision: int) -> builtins.list[StoreEvent]:
        """Events after ``revision``; Gone when the history no longer reaches back that far."""
        return self._history.since(revision, self._revision, self._view.load)

    # -- writes ----------------------------------------------------------------------------

    # Through the proxy these copy the object given and the one returned (callers may go on
    # changing theirs); the apiserver writes through writer(), handing its objects over.

    def create(self, key: str, obj: Object) -> Object:
        """Create ``key``; AlreadyExists when it exists."""
        return self._write_one(Write("create", key, copy.deepcopy(obj)))

    def update(self, key: str, obj: Object, expected: int | None = None) -> Object:
        """Replace ``key``; Conflict if ``expected`` is given and is not its resourceVersion."""
        return self._write_one(Write("update", key, copy.deepcopy(obj), expected))

    def delete(self, key: str, expected: int | None = None) -> Object:
        """Remove ``key``; returns its last state stamped with the deleting revision."""
        return self._write_one(Write("delete", key, None, expected))

    def writer(self) -> StoreWriter:
        """The thread-safe handle through which apiserver workers write in groups."""
        return self._writer

    def on_receive(self, message: Any) -> Any:
        if message is FLUSH:
            self._commit_group(self._writer.take_all())
            return None
        if message is CATCH_UP:
            self._apply(self._backend.records(0), {})
            return None
        return super().on_receive(message)

    def _write_one(self, write: Write) -> Object:
        self._commit_group([write])
        return copy.deepcopy(write.done.result(0))

    def _commit_group(self, writes: builtins.list[Write]) -> None:
        """Commit ``writes`` in order, in as few backend commits as their keys allow (group
        commit: one for all unless a key comes twice)."""
        for round_ in _rounds(writes):
            self._commit_round(round_)

    def _commit_round(self, writes: builtins.list[Write]) -> None:
        """Check each write over the current state, make every one that holds durable in ONE
        backend commit, apply the backend's records up to the last of them, then resolve each
        write's future: with its stored object once durable, or with its own error
        (AlreadyExists, NotFound, Conflict: from the check, or from a backend shared with other
        stores), or with the commit's error (then that write changed nothing)."""
        accepted: builtins.list[tuple[Write, Change, Object | None]] = []
        sizes: builtins.list[int] = []
        held = self._size
        for write in writes:
            current = self._view.get(write.key)
            obj = None if write.op == "delete" else write.obj or {}
            size = size_of(write.key, obj)
            try:
                _check(write, current)
                held = self._fit(held, size - self._sizes.get(write.key, 0))
            except ApiError as error:
                write.done.set_exception(error)
                continue
            change = Change(write.key, obj, resource_version(current) if current else 0)
            accepted.append((write, change, current))
            sizes.append(size)
        if not accepted:
            return
        outcomes = self._backend.commit([change for _, change, _ in accepted])
        done = list(zip(accepted, outcomes, strict=True))
        notes = {outcome: write.note for (write, _, _), outcome in done
                 if isinstance(outcome, int)}
        known = {outcome: size for outcome, size in zip(outcomes, sizes, strict=True)
                 if isinstance(outcome, int)}
        applied = self._apply(self._backend.records(max(notes, default=0)), notes, known)
        for (write, change, current), outcome in done:
            if isinstance(outcome, ApiError):
                write.done.set_exception(outcome)
                continue
            event = applied.get(outcome)
            if event is None:  # superseded in the log before this store read it
                event_object = _stamped(change.object or current or {}, outcome)
            else:
                event_object = event.object
            write.done.set_result(event_object)

    def _fit(self, held: int, growth: int) -> int:
        """What the store holds after a write that grows it by ``growth`` bytes; SpaceExceeded
        when that grows it past the quota (a write that does not grow it always fits)."""
        if growth > 0 and self._limit is not None and held + growth > self._limit:
            raise space_exceeded(held, self._limit)
        return held + growth

    def _apply(self, records: builtins.list[Record], notes: dict[int, Any],
               sizes: dict[int, int] | None = None) -> dict[int, StoreEvent]:
        """Apply ``records`` (in revision order) to the objects and tell each as an event;
        return the events by revision. ``sizes``: what the records of this store's own writes
        count against the quota, by revision (measured when checked)."""
        events: dict[int, StoreEvent] = {}
        for record in records:
            if record.revision <= self._revision:
                continue
            current, held = self._view.get(record.key), self._view.packed(record.key)
            note = notes.get(record.revision)
            packed = self._view.apply(record.key, record.object, record.revision)
            self._account(record, (sizes or {}).get(record.revision), packed)
            if record.object is not None:
                kind = "ADDED" if current is None else "MODIFIED"
                event = StoreEvent(kind, record.key, object=record.object, old=current,
                                   revision=record.revision, note=note)
            elif current is not None:
                event = StoreEvent("DELETED", record.key, object=_stamped(current, record.revision),
                                   old=current, revision=record.revision, note=note)
                packed = pack(event.object)
            else:  # the deletion of a key this store never saw
                continue
            events[record.revision] = event
            self._emit(event, packed, held)
        return events

    def _account(self, record: Record, size: int | None, packed: Packed | None) -> None:
        """Keep the size of what ``record``'s key now holds (measured unless ``size``: from
        ``packed``, its object as the view holds it, when that is its JSON)."""
        if record.object is None:
            self._size -= self._sizes.pop(record.key, 0)
            return
        if size is None:
            size = (len(record.key.encode()) + len(packed) if isinstance(packed, bytes)
                    else size_of(record.key, record.object))
        self._size += size - self._sizes.get(record.key, 0)
        self._sizes[record.key] = size

    def add_listener(self, listener: Listener) -> int:
        """Register ``listener`` for every later commit; return the current revision."""
        self._listeners.append(listener)
        return self._revision

    # -- internals -------------------------------------------------------------------------

    def _emit(self, event: StoreEvent, packed: Packed | None, old: Packed | None) -> None:
        """Keep ``event`` in the history (its objects as held: ``packed``, ``old``) and tell
        every listener."""
        assert packed is not None
        self._history.add(event, packed, old)
        for listener in self._listeners:
            listener(event)
