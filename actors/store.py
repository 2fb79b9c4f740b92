"""The store actor: etcd's role. Durable, revisioned, watchable key -> object storage.

Only the apiserver holds a reference to this actor; it has no bus subscription, so nothing on
NATS can address it (DESIGN §4). It knows nothing of Kubernetes semantics beyond
``metadata.resourceVersion``: the apiserver decides what to write, the store decides when it
is durable and in which order.

- One global revision, bumped by every write; an object's ``resourceVersion`` is the revision
  of its last change.
- Current objects live in memory for reads; the :class:`Backend` is the durable log. A write
  returns only after ``Backend.commit`` has returned (i.e. after it is durable).
- Every committed change becomes a :class:`StoreEvent`, kept in a bounded history window (for
  watches that resume from a revision) and told to each listener (the apiserver).

Calls arrive through a Pykka proxy; all run on the store's own thread, one at a time.
"""

from __future__ import annotations

import builtins
import concurrent.futures
import copy
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pykka

from bus.errors import AlreadyExists, ApiError, Conflict, Gone, NotFound

Object = dict[str, Any]


class Backend(Protocol):
    """Durable storage behind the store actor (implementations live in ``bindings/``)."""

    def load(self) -> tuple[int, dict[str, Object]]:
        """Return the last committed revision and every current object by key."""
        ...

    def commit(self, revision: int, changes: list[tuple[str, Object | None]]) -> None:
        """Make ``changes`` (key -> object, None for a deletion) and ``revision`` durable,
        atomically. Must not return before they would survive a crash."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """One committed change."""

    type: str
    """``ADDED``, ``MODIFIED`` or ``DELETED``."""
    key: str
    object: Object
    """The object after the change (for DELETED: its last state). Shared: read-only."""
    old: Object | None
    """The object before the change; None for ADDED."""
    revision: int
    note: Any = None
    """What the writer attached to the write (the apiserver: the span to publish, in commit
    order, before any watcher hears of it). The store never reads it."""


FLUSH = object()
"""Local message: commit the writes waiting in the StoreWriter."""


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

    :meth:`write` may be called from any thread; it blocks until the write is durable (or
    refused). Writes that wait while the store commits go together in its next transaction.
    """

    def __init__(self, store: pykka.ActorRef[Any]) -> None:
        self._store = store
        self._waiting: builtins.list[Write] = []
        self._lock = threading.Lock()

    def write(self, op: str, key: str, obj: Object | None = None,
              expected: int | None = None, note: Any = None) -> Object:
        write = Write(op, key, obj, expected, note)
        with self._lock:
            self._waiting.append(write)
            first = len(self._waiting) == 1
        if first:  # the store will take this one and everything that queues behind it
            self._store.tell(FLUSH)
        return write.done.result()

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


Listener = Callable[[StoreEvent], None]
"""Called on the store thread after each commit; must not block (tell an actor)."""


def resource_version(obj: Object) -> int:
    return int(obj.get("metadata", {}).get("resourceVersion") or 0)


class Store(pykka.ThreadingActor):
    """See the module docstring. Use through ``Store.start(backend).proxy()``."""

    use_daemon_thread = True

    def __init__(self, backend: Backend, history: int = 10_000) -> None:
        super().__init__()
        self._backend = backend
        self._revision, self._objects = backend.load()
        self._history: deque[StoreEvent] = deque(maxlen=history)
        self._floor = self._revision
        """Oldest revision a watch may resume from: every later event is in the history."""
        self._listeners: list[Listener] = []
        self._writer = StoreWriter(self.actor_ref)

    def on_stop(self) -> None:
        self._backend.close()

    # -- reads -----------------------------------------------------------------------------

    def revision(self) -> int:
        return self._revision

    def get(self, key: str) -> Object:
        obj = self._objects.get(key)
        if obj is None:
            raise NotFound(f"key {key} not found")
        return copy.deepcopy(obj)

    def get_or_none(self, key: str) -> Object | None:
        obj = self._objects.get(key)
        return None if obj is None else copy.deepcopy(obj)

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
        objects = self._objects if revision is None else self._state_at(revision)
        items: builtins.list[Object] = []
        last_key = None
        for key in sorted(k for k in objects if k.startswith(prefix) and k > after):
            obj = objects[key]
            if match is not None and not match(obj):
                continue
            if limit is not None and len(items) == limit:
                return items, self._revision if revision is None else revision, last_key
            items.append(copy.deepcopy(obj))
            last_key = key
        return items, self._revision if revision is None else revision, None

    def _state_at(self, revision: int) -> dict[str, Object]:
        """Every object as it was right after ``revision``: now, with later events undone."""
        if revision < self._floor or revision > self._revision:
            raise Gone(f"the requested revision {revision} is no longer available "
                       f"(oldest {self._floor}, newest {self._revision}); list again")
        state = dict(self._objects)
        for event in reversed(self._history):
            if event.revision <= revision:
                break
            if event.old is None:
                state.pop(event.key, None)
            else:
                state[event.key] = event.old
        return state

    def events_since(self, revision: int) -> builtins.list[StoreEvent]:
        """Events after ``revision``; Gone when the history no longer reaches back that far."""
        if revision < self._floor:
            raise Gone(
                f"too old resource version: {revision} ({self._floor})",
                details={"revision": self._floor},
            )
        return [event for event in self._history if event.revision > revision]

    # -- writes ----------------------------------------------------------------------------

    def create(self, key: str, obj: Object) -> Object:
        """Create ``key``; AlreadyExists when it exists."""
        return self._write_one(Write("create", key, obj))

    def update(self, key: str, obj: Object, expected: int | None = None) -> Object:
        """Replace ``key``; Conflict if ``expected`` is given and is not its resourceVersion."""
        return self._write_one(Write("update", key, obj, expected))

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
        return super().on_receive(message)

    def _write_one(self, write: Write) -> Object:
        self._commit_group([write])
        return write.done.result(0)

    def _commit_group(self, writes: builtins.list[Write]) -> None:
        """Apply ``writes`` in order over the current state, make every one that holds durable
        in ONE backend commit (group commit), then resolve each write's future: with its
        stored object once durable, or with its own error (AlreadyExists, NotFound, Conflict),
        or with the commit's error for all when the commit fails (then nothing changed)."""
        staged: dict[str, Object | None] = {}
        events: builtins.list[StoreEvent] = []
        accepted: builtins.list[tuple[Write, Object]] = []
        revision = self._revision
        for write in writes:
            current = staged[write.key] if write.key in staged else self._objects.get(write.key)
            try:
                _check(write, current)
            except ApiError as error:
                write.done.set_exception(error)
                continue
            revision += 1
            if write.op == "delete":
                assert current is not None
                stored = copy.deepcopy(current)
                staged[write.key] = None
                events.append(StoreEvent("DELETED", write.key, stored, current, revision,
                                          write.note))
            else:
                stored = copy.deepcopy(write.obj or {})
                staged[write.key] = stored
                kind = "ADDED" if current is None else "MODIFIED"
                events.append(StoreEvent(kind, write.key, stored, current, revision, write.note))
            stored.setdefault("metadata", {})["resourceVersion"] = str(revision)
            accepted.append((write, stored))
        if not accepted:
            return
        try:
            self._backend.commit(revision, builtins.list(staged.items()))
        except ApiError as error:
            for write, _ in accepted:
                write.done.set_exception(error)
            return
        for key, obj in staged.items():
            if obj is None:
                self._objects.pop(key, None)
            else:
                self._objects[key] = obj
        self._revision = revision
        for event in events:
            self._emit(event)
        for write, stored in accepted:
            write.done.set_result(copy.deepcopy(stored))

    def add_listener(self, listener: Listener) -> int:
        """Register ``listener`` for every later commit; return the current revision."""
        self._listeners.append(listener)
        return self._revision

    # -- internals -------------------------------------------------------------------------

    def _emit(self, event: StoreEvent) -> None:
        if len(self._history) == self._history.maxlen:
            self._floor = self._history[0].revision
        self._history.append(event)
        for listener in self._listeners:
            listener(event)
