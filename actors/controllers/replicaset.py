"""The ReplicaSet controller: keep ``spec.replicas`` pods of the template running.

For each ReplicaSet it claims the pods of its namespace (adopting orphans its selector matches,
releasing its own that stopped matching: :func:`actors.controllers.controller.claim`), creates pods
from the template (``generateName: <rs>-``, a controller ownerReference that blocks the owner's
foreground deletion) or deletes the surplus (:func:`pods_to_delete`: unscheduled first, then
pending, not ready, the most restarted, the newest, as Kubernetes ranks them), and writes
``status`` (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
observedGeneration). :class:`Expectations` keep it from acting again while the pods it just
created or deleted have not come back through the watch.

:class:`ReplicationManager` is the same controller for v1 ReplicationControllers (as
kube-controller-manager's, which runs the ReplicaSet controller over a conversion): it reads
each through ``actors.api.replication.as_replicaset`` (its plain-map selector as a
LabelSelector) and writes its status back to the ReplicationController.

Neighbours: ``actors.controllers.controller`` (base), ``actors.controllers.deployment`` (which owns
ReplicaSets).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actors.api import replication
from actors.api.meta import condition, controller_ref, owner_reference, parse_time
from actors.api.objects import Object
from actors.api.pods import is_pod_active, is_pod_ready
from actors.api.selectors import selector_matches
from actors.client.client import Client
from actors.controllers.controller import Controller, ControllerConfig, Key, without_zeros
from bus.connection import Connection
from bus.errors import ApiError, NotFound, TemporaryError

log = logging.getLogger(__name__)

BURST_REPLICAS = 500
"""Most pods created or deleted in one reconcile (kube-controller-manager's burstReplicas)."""
EXPECTATIONS_TIMEOUT_SECONDS = 300.0
"""Expectations older than this are given up on (a watch event lost), as in Kubernetes."""

OMITTED_WHEN_ZERO = ("fullyLabeledReplicas", "readyReplicas", "availableReplicas",
                     "observedGeneration")
"""ReplicaSetStatus's counts Go's omitempty leaves out at 0 (``replicas`` is always
written)."""


@dataclass(slots=True)
class _Expected:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    since: float = field(default_factory=time.monotonic)


class Expectations:
    """Creations and deletions a controller has made and not yet seen come back through its
    watch (Kubernetes' UIDTrackingControllerExpectations)."""

    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._by_key: dict[Key, _Expected] = {}

    def expect(self, key: Key, adds: int = 0, deletes: Iterable[str] = ()) -> None:
        self._by_key[key] = _Expected(adds, set(deletes))

    def created(self, key: Key) -> None:
        """One pod of ``key`` was seen created (or its creation failed)."""
        if (expected := self._by_key.get(key)) is not None:
            expected.adds -= 1

    def deleted(self, key: Key, pod_name: str) -> None:
        """A pod of ``key`` was seen going (or its deletion failed)."""
        if (expected := self._by_key.get(key)) is not None:
            expected.deletes.discard(pod_name)

    def still_there(self, key: Key, active: set[str]) -> None:
        """Level-based check of the deletions: a pod expected to go that is no longer among
        the ``active`` ones has gone, whichever event said so (or was missed)."""
        if (expected := self._by_key.get(key)) is not None:
            expected.deletes &= active

    def satisfied(self, key: Key) -> bool:
        expected = self._by_key.get(key)
        return expected is None or (expected.adds <= 0 and not expected.deletes) or (
            time.monotonic() - expected.since > self.timeout)

    def forget(self, key: Key) -> None:
        self._by_key.pop(key, None)


# -- decisions ----------------------------------------------------------------------------------


def new_pod(rs: Object) -> Object:
    """A pod of ``rs``'s template: named ``<rs>-<random>``, controlled by ``rs``."""
    template = copy.deepcopy(rs["spec"]["template"])
    metadata = template.get("metadata") or {}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": f"{rs['metadata']['name']}-",
                     "namespace": rs["metadata"]["namespace"],
                     "labels": metadata.get("labels") or {},
                     "annotations": metadata.get("annotations") or {},
                     "ownerReferences": [owner_reference(rs)]},
        "spec": template.get("spec") or {},
    }


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _deletion_rank(pod: Object) -> tuple[Any, ...]:
    """Smaller goes first (Kubernetes' ActivePods ordering)."""
    spec, status = pod.get("spec", {}), pod.get("status", {})
    ready = condition(pod, "Ready") or {}
    since = ready.get("lastTransitionTime") or ""
    restarts = sum(int(s.get("restartCount", 0)) for s in status.get("containerStatuses") or [])
    created = pod["metadata"].get("creationTimestamp") or ""
    return (bool(spec.get("nodeName")), _PHASE_RANK.get(status.get("phase", "Pending"), 0),
            is_pod_ready(pod),
            _negate(since) if is_pod_ready(pod) else "",  # ready for less time first
            -restarts, _negate(created), pod["metadata"].get("name", ""))


def _negate(stamp: str) -> str:
    """Reverse the order of RFC 3339 stamps (later sorts first)."""
    return "".join(chr(0x10FFFF - ord(c)) for c in stamp)


def pods_to_delete(pods: list[Object], count: int) -> list[Object]:
    """The ``count`` pods to delete when scaling down: unscheduled before scheduled, pending
    before running, not ready before ready, ready for a shorter time, more restarts, newer."""
    return sorted(pods, key=_deletion_rank)[:max(count, 0)]


def slow_start_batches(count: int) -> list[int]:
    """Kubernetes' slowStartBatch sizes for ``count`` creations: 1, 2, 4, ... (the last one
    what is left)."""
    sizes, size = [], 1
    while count > 0:
        sizes.append(min(size, count))
        count -= sizes[-1]
        size *= 2
    return sizes


def replica_change(active: int, replicas: int) -> int:
    """Pods to create (positive) or delete (negative), at most BURST_REPLICAS at once."""
    return max(-BURST_REPLICAS, min(replicas - active, BURST_REPLICAS))


def replicaset_status(rs: Object, pods: list[Object], now: datetime
                      ) -> tuple[Object, float | None]:
    """``rs``'s status from its active pods, and the seconds until a ready pod becomes
    available (``minReadySeconds``), when one will."""
    spec = rs.get("spec", {})
    min_ready = int(spec.get("minReadySeconds") or 0)
    labels = (spec.get("template", {}).get("metadata") or {}).get("labels") or {}
    ready, available, soonest = 0, 0, None
    for pod in pods:
        if not is_pod_ready(pod):
            continue
        ready += 1
        since = (condition(pod, "Ready") or {}).get("lastTransitionTime")
        waited = (now - parse_time(since)).total_seconds() if since and min_ready else min_ready
        if waited >= min_ready:
            available += 1
        else:
            left = min_ready - waited
            soonest = left if soonest is None else min(soonest, left)
    status = dict(rs.get("status") or {})
    status.update(
        replicas=len(pods), readyReplicas=ready, availableReplicas=available,
        fullyLabeledReplicas=sum(1 for p in pods if labels.items()
                                 <= (p["metadata"].get("labels") or {}).items()),
        observedGeneration=rs["metadata"].get("generation", 1),
    )
    return status, soonest


def create_pods(controller: Controller, key: Key, owner: Object, pods: list[Object],
                expectations: Expectations) -> None:
    """Create ``pods`` for ``owner`` (a ReplicaSet, a Job) in slow-start batches (1, 2, 4...: a
    failing create, say a quota, fails once rather than once per pod), with a SuccessfulCreate
    Event each; stop at the first batch with a failure (a FailedCreate Event), to be retried
    with backoff whatever its kind (as kube's controllers: a quota or a webhook that refused
    may allow later, and no event about the owner would say so). On the controller's
    thread."""
    sent = 0
    for size in slow_start_batches(len(pods)):
        futures = [controller.pool.submit(controller.client.create, "pods", pod, key.namespace)
                   for pod in pods[sent:sent + size]]
        sent += size
        failures = []
        for future in futures:
            try:
                pod = controller.remember(future.result())
            except ApiError as error:
                failures.append(error)
                continue
            controller.record_event(owner, "Normal", "SuccessfulCreate",
                                    f"Created pod: {pod['metadata']['name']}")
        if failures:
            for _ in range(len(failures) + len(pods) - sent):  # none of those will show up
                expectations.created(key)
            controller.record_event(owner, "Warning", "FailedCreate",
                                    f"Error creating: {failures[0].message}")
            raise TemporaryError(str(failures[0])) from failures[0]


# -- the controller -----------------------------------------------------------------------------


class ReplicaSetController(Controller):
    """See the module docstring."""

    component = "replicaset-controller"
    owner_resource, owner_kind = "replicasets", "ReplicaSet"
    resources = (owner_resource, "pods")

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None) -> None:
        super().__init__(connection, client, config)
        self.expectations = Expectations()

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == self.owner_resource:
            return [Key.of(obj)]
        namespace = obj["metadata"]["namespace"]
        ref = controller_ref(obj)
        if ref is not None:
            if ref.get("kind") != self.owner_kind:
                return []
            key = Key(self.owner_resource, namespace, ref["name"])
            if event == "ADDED":
                self.expectations.created(key)
            if event == "DELETED" or obj["metadata"].get("deletionTimestamp"):
                self.expectations.deleted(key, obj["metadata"]["name"])
            return [key]
        labels = obj["metadata"].get("labels")  # an orphan: who could adopt it?
        return [Key.of(rs) for rs in self.listed(self.owner_resource, namespace)
                if selector_matches(self.view(rs)["spec"].get("selector") or {}, labels)]

    def view(self, owner: Object) -> Object:
        """The owner as a ReplicaSet (itself)."""
        return owner

    def reconcile(self, key: Key) -> float | None:
        stored = self.cached(key)
        if stored is None:
            self.expectations.forget(key)
            return None
        rs = self.view(stored)
        pods = [pod for pod in self.claim(rs, "pods") if is_pod_active(pod)]
        self.expectations.still_there(key, {pod["metadata"]["name"] for pod in pods})
        if self.expectations.satisfied(key) and not rs["metadata"].get("deletionTimestamp"):
            self._manage(key, rs, pods)
        status, soonest = replicaset_status(rs, pods, datetime.now(UTC))
        status = without_zeros(status, OMITTED_WHEN_ZERO)
        if status != rs.get("status"):
            self.remember(self.client.update(self.owner_resource, dict(stored, status=status),
                                             subresource="status"))
        return soonest

    def _manage(self, key: Key, rs: Object, pods: list[Object]) -> None:
        change = replica_change(len(pods), int(rs["spec"].get("replicas", 1)))
        if change > 0:
            self.expectations.expect(key, adds=change)
            self._create(key, rs, change)
        elif change < 0:
            doomed = pods_to_delete(pods, -change)
            self.expectations.expect(key, deletes=[p["metadata"]["name"] for p in doomed])
            self._delete(key, rs, doomed)

    def _create(self, key: Key, rs: Object, count: int) -> None:
        create_pods(self, key, rs, [new_pod(rs) for _ in range(count)], self.expectations)

    def _delete(self, key: Key, rs: Object, doomed: list[Object]) -> None:
        """Delete ``doomed`` side by side; the first failure but NotFound is retried with
        backoff (as a create's)."""
        names = [pod["metadata"]["name"] for pod in doomed]
        futures = [self.pool.submit(self.client.delete, "pods", name, key.namespace)
                   for name in names]
        failure: ApiError | None = None
        for name, future in zip(names, futures, strict=True):
            try:
                future.result()
            except ApiError as error:
                self.expectations.deleted(key, name)  # it will not go (or went already)
                if not isinstance(error, NotFound):
                    failure = failure or error
                continue
            self.record_event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
        if failure is not None:
            raise TemporaryError(str(failure)) from failure


class ReplicationManager(ReplicaSetController):
    """The ReplicaSet controller over v1 ReplicationControllers (see the module docstring)."""

    component = "replication-controller"
    owner_resource, owner_kind = replication.RESOURCE, replication.KIND
    resources = (owner_resource, "pods")

    def view(self, owner: Object) -> Object:
        return replication.as_replicaset(owner)
