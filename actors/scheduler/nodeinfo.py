"""What the scheduler knows about a pod and a node, computed once and kept up to date.

:class:`PodInfo` holds what every plugin reads of a pod (requests parsed once, when the pod is
first seen). :class:`NodeInfo` holds a node's parsed allocatable, its taints sorted by effect,
and the sum of the requests of the pods placed on it, changed by one pod at a time
(:meth:`NodeInfo.add_pod` / :meth:`NodeInfo.remove_pod`), never recomputed from all pods.

Neighbours: ``actors.scheduler.cache`` owns the NodeInfos; plugins read them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from actors.api.amounts import parse_count, pod_requests
from actors.api.meta import condition
from actors.api.objects import Object
from actors.api.quantity import parse_cpu, parse_memory

HARD_EFFECTS = ("NoSchedule", "NoExecute")
"""Taint effects that keep pods off a node (PreferNoSchedule only lowers its score)."""
DEFAULT_MAX_PODS = 110
"""Pods a node takes when its status says nothing (the kubelet's --max-pods default)."""


def pod_key(pod: Object) -> str:
    metadata = pod.get("metadata", {})
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"


@dataclass(slots=True)
class PodInfo:
    """A pod and what the plugins read of it, parsed once."""

    pod: Object
    key: str
    cpu: int
    """Millicores requested (0 when nothing is asked)."""
    memory: int
    """Bytes requested."""
    nonzero_cpu: int
    """cpu with kube-scheduler's defaults for containers that ask nothing (scoring only)."""
    nonzero_memory: int
    priority: int

    @classmethod
    def of(cls, pod: Object) -> PodInfo:
        cpu, memory = pod_requests(pod)
        nonzero_cpu, nonzero_memory = pod_requests(pod, nonzero=True)
        priority = pod.get("spec", {}).get("priority") or 0
        return cls(pod, pod_key(pod), cpu, memory, nonzero_cpu, nonzero_memory,
                   priority if isinstance(priority, int) else 0)

    @property
    def spec(self) -> Object:
        spec: Object = self.pod.get("spec") or {}
        return spec


@dataclass(slots=True)
class NodeInfo:
    """One node and the sum of what its pods request (assumed pods included)."""

    name: str
    node: Object | None = None
    """None while pods are known on a node the scheduler has not seen yet."""
    labels: dict[str, str] = field(default_factory=dict)
    ready: bool = False
    ready_status: str = "Unknown"
    unschedulable: bool = False
    hard_taints: tuple[Object, ...] = ()
    """NoSchedule and NoExecute taints."""
    soft_taints: tuple[Object, ...] = ()
    """PreferNoSchedule taints."""
    allocatable_cpu: int = 0
    allocatable_memory: int = 0
    allocatable_pods: int = DEFAULT_MAX_PODS
    requested_cpu: int = 0
    requested_memory: int = 0
    nonzero_cpu: int = 0
    nonzero_memory: int = 0
    pods: dict[str, PodInfo] = field(default_factory=dict)
    usage: str = ""
    """What the resource Filter and Scores read of the node, as one key: allocatable cpu,
    memory and pods; requested cpu and memory, with and without the non-zero defaults; the
    pod count. An interned string (nodes of one usage share it: hashed once, found by
    identity). Nodes of one shape and load share it, so a cycle filters and scores each
    distinct usage once (``plugins.per_usage``)."""

    def set_node(self, node: Object) -> None:
        """Take in a new version of the node (parsing its allocatable and taints once)."""
        self.node = node
        self.labels = node.get("metadata", {}).get("labels") or {}
        spec, status = node.get("spec") or {}, node.get("status") or {}
        self.ready_status = (condition(node, "Ready") or {}).get("status", "Unknown")
        self.ready = self.ready_status == "True"
        self.unschedulable = bool(spec.get("unschedulable"))
        taints = spec.get("taints") or []
        self.hard_taints = tuple(t for t in taints if t.get("effect") in HARD_EFFECTS)
        self.soft_taints = tuple(t for t in taints if t.get("effect") == "PreferNoSchedule")
        allocatable = status.get("allocatable") or {}
        self.allocatable_cpu = parse_cpu(allocatable.get("cpu", 0))
        self.allocatable_memory = parse_memory(allocatable.get("memory", 0))
        self.allocatable_pods = parse_count(allocatable.get("pods", DEFAULT_MAX_PODS))
        self._refresh_usage()

    def add_pod(self, info: PodInfo) -> None:
        self.remove_pod(info.key)
        self.pods[info.key] = info
        self._count(info, 1)

    def remove_pod(self, key: str) -> PodInfo | None:
        info = self.pods.pop(key, None)
        if info is not None:
            self._count(info, -1)
        return info

    def _count(self, info: PodInfo, sign: int) -> None:
        self.requested_cpu += sign * info.cpu
        self.requested_memory += sign * info.memory
        self.nonzero_cpu += sign * info.nonzero_cpu
        self.nonzero_memory += sign * info.nonzero_memory
        self._refresh_usage()

    def _refresh_usage(self) -> None:
        self.usage = sys.intern(f"{self.allocatable_cpu} {self.allocatable_memory} "
                      f"{self.allocatable_pods} {self.requested_cpu} {self.requested_memory} "
                      f"{self.nonzero_cpu} {self.nonzero_memory} {len(self.pods)}")
