"""The VolumeBinding plugin: a pod goes where its claims' volumes are, and a claim waiting for
its first consumer learns the node (kube-scheduler's ``VolumeBinding``).

PreFilter: a pod with no ``persistentVolumeClaim`` volume is skipped; a claim that is missing or
being deleted, or unbound while its class binds at once (Immediate, or no class), makes the pod
unschedulable until a storage event. Filter: a bound claim's volume must admit the node (its
required node affinity: ``node(s) had volume node affinity conflict``); an unbound claim of a
WaitForFirstConsumer class needs a free volume the node reaches or a class with a provisioner
(``node(s) didn't find available persistent volumes to bind``). PreBind: each such claim is
annotated ``volume.kubernetes.io/selected-node`` with the chosen node; the binder then binds a
volume there or the provisioner makes one. Unlike kube-scheduler, PreBind does not wait for the
binding: the kubelet waits to mount a claim until it is bound.

Neighbours: ``actors.api.volumebinding`` (the decisions), ``actors.scheduler.cache`` (the
claims, volumes and classes), ``actors.controllers.persistentvolume`` (binds after).

Which thread: PreFilter and Filter on the scheduling cycle's (the actor's); PreBind on a
binding thread (it writes claims).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import ClassVar

from actors.api import storage
from actors.api import volumebinding as binding
from actors.api.objects import Object
from actors.client.client import Client
from actors.scheduler.interface import (
    SKIP,
    SUCCESS,
    ClusterEvent,
    CycleState,
    Handle,
    Status,
    error,
    unschedulable,
)
from actors.scheduler.nodeinfo import NodeInfo, PodInfo
from bus.errors import ApiError, Conflict

_STATE = "VolumeBinding"
CONFLICT = "node(s) had volume node affinity conflict"
NOT_FOUND = "node(s) didn't find available persistent volumes to bind"
CONFLICT_RETRIES = 5
"""Writes of a claim's selected node tried before the binding fails (and the pod retries)."""


def claims_problem(claims: dict[str, Object | None], classes: dict[str, Object]) -> str | None:
    """Why the pod cannot be placed at all (PreFilter), given its claims by name."""
    for name, claim in claims.items():
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if claim["metadata"].get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        if not claim.get("spec", {}).get("volumeName") and \
                not binding.waits_for_consumer(claim, classes):
            return "pod has unbound immediate PersistentVolumeClaims"
    return None


def node_problem(claims: list[Object], volumes: dict[str, Object], classes: dict[str, Object],
                 node: str, labels: dict[str, str]) -> str | None:
    """Why ``node`` cannot hold the pod's claims (Filter); None when it can."""
    for claim in claims:
        named = claim["spec"].get("volumeName")
        if named:
            volume = volumes.get(named)
            if volume is not None and not binding.admits(volume, labels, node):
                return CONFLICT
        elif binding.best_volume(claim, volumes.values(), (node, labels)) is None and not (
                classes.get(storage.class_name(claim)) or {}).get("provisioner"):
            return NOT_FOUND
    return None


class VolumeBinding:
    """See the module docstring."""

    name: ClassVar[str] = "VolumeBinding"
    events: ClassVar[frozenset[ClusterEvent]] = frozenset({
        ClusterEvent.STORAGE_CHANGE, ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE})

    def __init__(self, client: Client) -> None:
        self.client = client
        self._handle: Handle | None = None

    def use_framework(self, framework: Handle) -> None:
        self._handle = framework

    def _kind(self, resource: str) -> dict[tuple[str, str], Object]:
        assert self._handle is not None, "the framework lends its cache first"
        return self._handle.cache.storage.get(resource, {})

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        names = binding.pod_claims(pod.pod)
        if not names:
            return SKIP
        namespace = pod.pod["metadata"].get("namespace", "")
        claims = {n: self._kind(storage.CLAIMS).get((namespace, n)) for n in names}
        classes = {k[1]: c for k, c in self._kind(storage.CLASSES).items()}
        problem = claims_problem(claims, classes)
        if problem is not None:
            return unschedulable(problem)
        state[_STATE] = ([c for c in claims.values() if c is not None], classes)
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        claims, classes = state[_STATE]
        volumes = {k[1]: v for k, v in self._kind(storage.VOLUMES).items()}
        problem = node_problem(claims, volumes, classes, node.name, node.labels)
        return SUCCESS if problem is None else unschedulable(problem)

    def pre_bind_pre_flight(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        """Skip for a pod without claims (PreFilter left none in ``state``)."""
        claims, _ = state.get(_STATE, ([], {}))
        return SUCCESS if claims else SKIP

    def pre_bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        claims, _ = state.get(_STATE, ([], {}))
        try:
            for claim in claims:
                if not claim["spec"].get("volumeName") and (claim["metadata"].get(
                        "annotations") or {}).get(storage.SELECTED_NODE) != node:
                    self._select(claim, node)
        except ApiError as failure:
            return error(f"binding volumes: {failure.message}")
        return SUCCESS

    def _select(self, claim: Object, node: str) -> None:
        """Annotate the claim with ``node``; read again when another writer (the binder, the
        protection controller) changed it meanwhile."""
        current = copy.deepcopy(claim)
        for _ in range(CONFLICT_RETRIES):
            if current["spec"].get("volumeName"):
                return  # bound meanwhile: nothing to select
            current["metadata"].setdefault("annotations", {})[storage.SELECTED_NODE] = node
            try:
                self.client.update(storage.CLAIMS, current)
                return
            except Conflict:
                metadata = current["metadata"]
                current = self.client.get(storage.CLAIMS, metadata["name"],
                                          metadata.get("namespace"))
        raise Conflict(f'persistentvolumeclaim "{claim["metadata"]["name"]}" kept changing')
