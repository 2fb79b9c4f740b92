"""The shared base of kube-controller-manager's loops: informers, a work queue, reconcile.

A controller follows some resources with informers (no polling), shared with the other
controllers on its client (``actors.client.sharedinformer``: one watch per resource for all of
them), and keeps the last state of each object it saw. Every event becomes one or more *keys*
(resource, namespace, name) put on a :class:`WorkQueue`; the queue holds each key once however
many events name it, and the controller's :meth:`Controller.reconcile` is called with the key
alone (level-based, as controller-runtime's reconcilers: it reads the current state from the
cache and makes the world match, so it **must be idempotent**). A reconcile that returns a
number of seconds is called again after that long (a toleration running out, a namespace still
emptying; controller-runtime's ``Result{RequeueAfter}``). One that raises is retried as the
error means (:func:`retry_after`, kopf's and controller-runtime's meaning): a
``TemporaryError`` after its ``delay``; a ``PermanentError``, or an ``ApiError`` that is not
``retryable`` (Forbidden, Invalid, NotFound...), not at all until an event queues the key again
(its object changed); anything else with exponential backoff, and so does one that returns
what is neither seconds nor None (a bug, logged naming the controller and the key).

Which thread: everything runs on the controller's actor thread; informers and timers only
``tell`` it. Subclasses: ``actors.controllers.replicaset``, ``actors.controllers.deployment``,
``actors.controllers.garbagecollector``, ``actors.controllers.namespace``,
``actors.controllers.tainteviction``, ``actors.controllers.nodelifecycle``;
``actors.controllers.manager`` starts them together.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import logging
import math
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from actors.api.meta import controller_ref, owner_reference
from actors.api.objects import Object
from actors.api.resources import BY_KIND
from actors.api.selectors import selector_matches
from actors.client.client import Client, WatchEvent
from actors.client.events import EventRecorder
from actors.client.sharedinformer import shared_informers
from actors.instruments import Instruments
from bus.actor import BusActor
from bus.connection import Connection
from bus.errors import ApiError, PermanentError, TemporaryError

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True, order=True)
class Key:
    """What a reconcile request carries: which object, nothing of its state."""

    resource: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Object) -> Key:
        metadata = obj.get("metadata", {})
        return cls(BY_KIND[obj["kind"]].name, metadata.get("namespace", ""), metadata["name"])

    def __str__(self) -> str:
        return f"{self.resource}/{self.namespace}/{self.name}".replace("//", "/")


@dataclass(frozen=True, slots=True)
class _Reconcile:
    """Local message: reconcile this key now."""

    key: Key


@dataclass(frozen=True, slots=True)
class _Due:
    """Local message: the delay timer set for ``at`` (``time.monotonic``) went off."""

    at: float


DELAY_GRANULARITY_SECONDS = 0.05
"""A delayed key comes back up to this much late: the keys due within it share one timer (the
node lifecycle controller looks at every node every 5 s: 1,000 nodes, 200 keys a second)."""


class Delays:
    """Keys waiting for their time, the earliest asked for each (client-go's delaying queue:
    one heap, so one timer serves them all). Used on one thread (the controller's)."""

    def __init__(self) -> None:
        self._when: dict[Key, float] = {}
        self._heap: list[tuple[float, Key]] = []

    def add(self, key: Key, when: float) -> bool:
        """Hold ``key`` until ``when``; False when it already comes back no later."""
        if self._when.get(key, math.inf) <= when:
            return False
        self._when[key] = when
        heapq.heappush(self._heap, (when, key))
        return True

    def due(self, now: float) -> list[Key]:
        """Take the keys whose time is ``now`` or before, earliest first."""
        keys = []
        while self._heap and self._heap[0][0] <= now:
            when, key = heapq.heappop(self._heap)
            if self._when.get(key) == when:  # else a later add brought it forward
                del self._when[key]
                keys.append(key)
        return keys

    def first(self) -> float | None:
        """When the next key is due (None: none waits)."""
        while self._heap and self._when.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # brought forward meanwhile: a stale entry
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._when)


@dataclass(frozen=True, slots=True)
class ControllerConfig:
    workers: int = 64
    """Threads for the requests a controller sends side by side (a batch of pod creations,
    Events it does not wait for; made as needed). kube-controller-manager sends a whole
    slow-start batch at once; with 16, a large ReplicaSet's pods were created one round trip
    per 16 pods (figures: ``benchmarks/RESULTS.md``, sim_scale)."""
    backoff_base_seconds: float = 0.05
    """First retry of a failed reconcile (client-go's rate limiter starts at 5 ms; a bus round
    trip is slower)."""
    backoff_max_seconds: float = 60.0
    """Longest wait between retries of a key that keeps failing."""
    instruments: Instruments | None = field(default=None, compare=False)
    """Where the work queues' metrics go (``workqueue_*``); None: nowhere served."""


def _seconds_or_none(again: object, controller: object, key: Key) -> float | None:
    """What a reconcile returned, when it is what reconcile promises (seconds, or None);
    else TypeError naming the controller and the key (the key backs off, as when reconcile
    raises: a bug)."""
    if again is None or (isinstance(again, int | float) and not isinstance(again, bool)):
        return again
    raise TypeError(f"{type(controller).__name__}.reconcile({key}) returned {again!r}, not "
                    "seconds to reconcile again after, or None")


def backoff_delay(failures: int, base: float, ceiling: float) -> float:
    """Wait before retry number ``failures`` (1, 2, ...): base, 2*base, 4*base... to ceiling."""
    return float(min(base * 2 ** min(max(failures - 1, 0), 32), ceiling))


def retry_after(error: Exception, failures: int, config: ControllerConfig) -> float | None:
    """Seconds before a key whose reconcile raised ``error`` (its ``failures``-th failure in a
    row) is reconciled again; None: not until an event queues it again. A TemporaryError
    waits its ``delay`` (when it has one); a PermanentError (controller-runtime's
    TerminalError) and an ApiError that retrying cannot mend are terminal; anything else
    backs off exponentially."""
    if isinstance(error, TemporaryError) and error.delay is not None:
        return error.delay
    if isinstance(error, PermanentError) or (isinstance(error, ApiError)
                                             and not error.retryable):  # TemporaryError: none
        return None
    return backoff_delay(failures, config.backoff_base_seconds, config.backoff_max_seconds)


class WorkQueue:
    """Keys waiting for a reconcile, each held once; failures per key for the backoff. Used
    on one thread (the controller's). Its ``name`` labels client-go's work queue metrics:
    ``workqueue_depth``, ``workqueue_adds_total``, ``workqueue_queue_duration_seconds``."""

    def __init__(self, config: ControllerConfig, name: str = "") -> None:
        self.config = config
        self._pending: dict[Key, float] = {}
        """Keys waiting, with when each was added (``time.monotonic``)."""
        self._failures: dict[Key, int] = {}
        instruments = config.instruments or Instruments()
        self._adds = instruments.queue_adds.labels(name=name)
        self._waited = instruments.queue_duration.labels(name=name)
        instruments.gauge_from("workqueue_depth", "Current depth of workqueue", ("name",),
                               name, lambda: {(name,): len(self._pending)})

    def add(self, key: Key) -> bool:
        """True when ``key`` was not waiting yet (the caller schedules its reconcile)."""
        self._adds.inc()
        if key in self._pending:
            return False
        self._pending[key] = time.monotonic()
        return True

    def take(self, key: Key) -> None:
        """``key``'s reconcile starts: events from now on queue it again."""
        added = self._pending.pop(key, None)
        if added is not None:
            self._waited.observe(time.monotonic() - added)

    def failed(self, key: Key) -> int:
        """Count a failure of ``key``'s reconcile; how many in a row (for the backoff)."""
        self._failures[key] = self._failures.get(key, 0) + 1
        return self._failures[key]

    def forget(self, key: Key) -> None:
        """``key`` reconciled: its next failure starts the backoff afresh."""
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._pending)


@dataclass(frozen=True, slots=True)
class Claim:
    """What an owner (a ReplicaSet, a Deployment) does with the objects of its namespace."""

    owned: list[Object]
    """Its own (controller reference to it) that its selector still matches, and adopted ones."""
    adopt: list[Object]
    """Orphans its selector matches: they get a controller reference to it."""
    release: list[Object]
    """Its own that its selector no longer matches: their reference to it goes."""


def claim(owner: Object, candidates: list[Object]) -> Claim:
    """Kubernetes' ControllerRefManager: an object belongs to the owner its controller
    reference names; an orphan matching the selector is adopted (unless the owner or the
    orphan is being deleted); an owned object that stopped matching is released."""
    uid = owner["metadata"]["uid"]
    selector = owner.get("spec", {}).get("selector") or {}
    deleting = bool(owner["metadata"].get("deletionTimestamp"))
    owned, adopt, release = [], [], []
    for obj in candidates:
        matches = selector_matches(selector, obj["metadata"].get("labels"))
        ref = controller_ref(obj)
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                owned.append(obj)
            elif not deleting:
                release.append(obj)
        elif matches and not deleting and not obj["metadata"].get("deletionTimestamp"):
            adopt.append(obj)
    return Claim(owned + adopt, adopt, release)


def with_owner(obj: Object, owner: Object | None, owner_uid: str) -> Object:
    """``obj`` (a copy) with its references to ``owner_uid`` removed, and a controller
    reference to ``owner`` added when one is given."""
    refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid]
    if owner is not None:
        refs.append(owner_reference(owner))
    return with_owner_references(obj, refs)


def with_owner_references(obj: Object, refs: list[Object]) -> Object:
    """``obj`` (a copy) with these owner references; none is no field, as Kubernetes writes
    an empty list (``kubectl get -o jsonpath={.metadata.ownerReferences}`` prints nothing)."""
    metadata = {key: value for key, value in obj["metadata"].items() if key != "ownerReferences"}
    return dict(obj, metadata={**metadata, "ownerReferences": refs} if refs else metadata)


class Controller(BusActor):
    """Informers on :attr:`resources`, a cache of what they saw, a work queue and
    :meth:`reconcile`. Subclasses name their resources, map events to keys and reconcile."""

    component: ClassVar[str] = "controller"
    """The ``source.component`` of the Events it records."""
    resources: ClassVar[tuple[str, ...]] = ()
    """Resources followed (all namespaces)."""

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None) -> None:
        super().__init__(connection)
        self.client = client
        self.controller_config = config or ControllerConfig()
        self.queue = WorkQueue(self.controller_config,
                               type(self).__name__.removesuffix("Controller").lower())
        self.pool = ThreadPoolExecutor(self.controller_config.workers,
                                       thread_name_prefix=type(self).__name__)
        """For requests sent side by side; results are handled back on the actor thread."""
        self.events = EventRecorder(client, self.component)
        """The Events it records (:meth:`record_event`)."""
        self.objects: dict[str, dict[tuple[str, str], Object]] = {r: {} for r in self.resources}
        self._informers: list[str] = []
        """Resources whose shared informer this controller listens to."""
        self._delays = Delays()
        self._timer: concurrent.futures.Future[None] | None = None
        """The one timer (on the bus loop, not a thread) for the earliest delayed key."""
        self._timer_at = math.inf

    # -- to override ---------------------------------------------------------------------------

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        """The keys to reconcile because ``obj`` (of ``resource``) was ADDED, MODIFIED or
        DELETED; by default the object's own key."""
        metadata = obj["metadata"]
        return [Key(resource, metadata.get("namespace", ""), metadata["name"])]

    def reconcile(self, key: Key) -> float | None:
        """Make the world match what ``key``'s object declares; idempotent. Return seconds
        after which to look again, or None; raise TemporaryError to be called again after
        its delay, PermanentError not to be retried, anything else to be retried with
        backoff (an ApiError: when it is ``retryable``, else as a PermanentError)."""
        raise NotImplementedError

    # -- life cycle ----------------------------------------------------------------------------

    def on_start(self) -> None:
        super().on_start()
        informers = shared_informers(self.client)
        for resource in self.resources:
            informers.add(resource, self.tell_soon)
            self._informers.append(resource)

    def key_of(self, obj: Object) -> Key:
        """:meth:`Key.of`, for an object of a custom resource too (one the client knows)."""
        info = self.client.served.of(obj)
        if info is None:
            raise KeyError(f"no resource serves kind {obj.get('kind')!r}")
        metadata = obj["metadata"]
        return Key(info.name, metadata.get("namespace", ""), metadata["name"])

    def follow(self, resource: str) -> None:
        """Follow ``resource`` too from now on (one the cluster began to serve: a custom
        resource); on the actor thread."""
        if resource not in self.objects:
            self.objects[resource] = {}
            shared_informers(self.client).add(resource, self.tell_soon)
            self._informers.append(resource)

    def on_stop(self) -> None:
        informers = shared_informers(self.client)
        for resource in self._informers:
            informers.remove(resource, self.tell_soon)
        if self._timer is not None:
            self._timer.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.events.close()
        super().on_stop()

    def on_local(self, message: Any) -> Any:
        if isinstance(message, WatchEvent):
            self._observe(message)
        elif isinstance(message, _Reconcile):
            self._run(message.key)
        elif isinstance(message, _Due):
            if message.at == self._timer_at:
                self._timer, self._timer_at = None, math.inf
            for key in self._delays.due(time.monotonic()):
                self.enqueue(key)
            self._arm()
        else:
            return super().on_local(message)
        return None

    # -- the queue -----------------------------------------------------------------------------

    def enqueue(self, key: Key, after: float = 0.0) -> None:
        """Reconcile ``key`` soon (once, however often it is asked), or after ``after``
        seconds (the earliest asked for wins; up to DELAY_GRANULARITY_SECONDS late)."""
        if after <= 0:
            if self.queue.add(key):
                self.tell_self(_Reconcile(key))
            return
        if self._delays.add(key, time.monotonic() + after):
            self._arm()

    def _arm(self) -> None:
        """Set the timer for the earliest delayed key, unless one goes off early enough."""
        first = self._delays.first()
        if first is None or self._timer_at <= first + DELAY_GRANULARITY_SECONDS:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = first + DELAY_GRANULARITY_SECONDS
        self._timer = self.tell_later(max(self._timer_at - time.monotonic(), 0.0),
                                      _Due(self._timer_at))

    def _run(self, key: Key) -> None:
        self.queue.take(key)
        try:
            again = _seconds_or_none(self.reconcile(key), self, key)
        except Exception as error:  # one bad object must not stop us
            self._failed(key, error)
            return
        self.queue.forget(key)
        if again is not None:
            self.enqueue(key, after=again)

    def _failed(self, key: Key, error: Exception) -> None:
        """Log ``error`` and queue ``key`` again when (and as) :func:`retry_after` says. An
        unexpected error (a bug, an object no check foresaw) is logged with its traceback at
        the key's first failure in a row, its retries quietly."""
        failures = self.queue.failed(key)
        delay = retry_after(error, failures, self.controller_config)
        name = type(self).__name__
        if delay is None:
            log.warning("%s: reconcile %s failed (%s); not retried until it changes", name,
                        key, error)
            return
        expected = isinstance(error, ApiError | TemporaryError)
        level = logging.INFO if expected else logging.ERROR if failures == 1 else logging.DEBUG
        log.log(level, "%s: reconcile %s failed (%s); retrying in %.2fs", name, key, error,
                delay, exc_info=level == logging.ERROR)
        self.enqueue(key, after=delay)

    # -- the cache -----------------------------------------------------------------------------

    def _observe(self, event: WatchEvent) -> None:
        obj = event.object
        info = self.client.served.of(obj)  # custom resources too, once resolved
        if info is None or info.name not in self.objects:
            return
        cache = self.objects[info.name]
        metadata = obj["metadata"]
        where = (metadata.get("namespace", ""), metadata["name"])
        cached = cache.get(where)
        if event.type == "DELETED":
            if cached is not None and cached["metadata"].get("uid") == metadata.get("uid"):
                del cache[where]
        elif cached is None or _revision(cached) <= _revision(obj):
            cache[where] = obj
        else:
            return  # older than what a write of ours already told us
        for key in self.keys_for(info.name, obj, event.type):
            self.enqueue(key)

    def remember(self, obj: Object) -> Object:
        """Take in an object a write of ours returned, before its watch event comes; so a
        reconcile right after never acts on the state from before that write."""
        info = self.client.served.of(obj)  # custom resources too, once resolved
        if info is not None and info.name in self.objects:
            metadata = obj["metadata"]
            cache = self.objects[info.name]
            where = (metadata.get("namespace", ""), metadata["name"])
            if _revision(cache.get(where, {})) <= _revision(obj):
                cache[where] = obj
        return obj

    def cached(self, key: Key) -> Object | None:
        return self.objects[key.resource].get((key.namespace, key.name))

    def listed(self, resource: str, namespace: str | None = None) -> list[Object]:
        """Cached objects of ``resource``, in ``namespace`` when given."""
        return [obj for (ns, _), obj in self.objects[resource].items()
                if namespace is None or ns == namespace]

    # -- helpers -------------------------------------------------------------------------------

    def claim(self, owner: Object, resource: str) -> list[Object]:
        """The objects of ``resource`` in the owner's namespace that it owns, after adopting
        the orphans its selector matches and releasing its own that it no longer matches."""
        found = claim(owner, self.listed(resource, owner["metadata"].get("namespace", "")))
        uid = owner["metadata"]["uid"]
        owned = found.owned[:len(found.owned) - len(found.adopt)]  # adopted ones come last
        for obj in found.adopt:
            owned.append(self.remember(self.client.update(resource, with_owner(obj, owner,
                                                                               uid))))
        for obj in found.release:
            self.remember(self.client.update(resource, with_owner(obj, None, uid)))
        return owned

    def record_event(self, obj: Object, kind: str, reason: str, message: str) -> None:
        """Record an Event about ``obj`` (``Normal`` or ``Warning``) without waiting for it
        (client-go's recorder: aggregated, spam-filtered, written on its own thread)."""
        self.events.record(obj, kind, reason, message)


def without_zeros(status: Object, fields: tuple[str, ...]) -> Object:
    """``status`` without those of ``fields`` that are 0: a status's plain int32 counts, which
    Go's ``omitempty`` leaves out of what kube-controller-manager writes (its pointers, such as
    ``collisionCount``, keep their 0)."""
    return {k: v for k, v in status.items() if k not in fields or v != 0}


def _revision(obj: Object) -> int:
    return int(obj.get("metadata", {}).get("resourceVersion") or 0)
