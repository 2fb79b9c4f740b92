"""The scheduler actor: picks a node for each unscheduled pod and binds it (seed step 4).

It follows pods and nodes with informers (no polling). A pod is this scheduler's when it has no
``spec.nodeName`` and its ``spec.schedulerName`` is this scheduler's name. The choice of node is
the pure function :func:`pick_node`: filter (Ready, schedulable, enough free cpu, memory and pod
slots by requests), then score by least allocated share. A pod that fits nowhere waits, with the
reason recorded as a ``FailedScheduling`` event, and is retried when a node appears or changes
or a pod goes away. The binding goes through ``pods/binding``; the pod is assumed on its node
at once, so two pods are never placed on one slot.

Neighbours: ``actors.informer`` (events in), ``actors.client`` (binding out).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from actors.client import Client, WatchEvent
from actors.informer import Informer, object_key
from actors.objects import (
    DEFAULT_SCHEDULER,
    condition,
    now_rfc3339,
    parse_count,
    pod_requests,
    trace_id_of,
)
from actors.quantity import parse_cpu, parse_memory
from bus.actor import BusActor
from bus.connection import Connection
from bus.errors import ApiError, Conflict, NotFound

log = logging.getLogger(__name__)

Object = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    name: str = DEFAULT_SCHEDULER
    """Pods whose ``spec.schedulerName`` equals this are ours."""
    retry_seconds: float = 1.0
    """Pause before retrying pods whose binding failed for a passing reason."""


RETRY = object()
"""Local message: retry the waiting pods now."""
FINISHED = ("Succeeded", "Failed")


# -- the decision, as pure functions ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeUsage:
    cpu: int = 0
    memory: int = 0
    pods: int = 0
    scored_cpu: int = 0
    """cpu with kube-scheduler's non-zero defaults, for scoring only."""
    scored_memory: int = 0


def usage_by_node(pods: list[Object]) -> dict[str, NodeUsage]:
    """What the pods bound to each node request (finished pods hold nothing)."""
    usage: dict[str, NodeUsage] = {}
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if not node or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        cpu, memory = pod_requests(pod)
        scored_cpu, scored_memory = pod_requests(pod, nonzero=True)
        used = usage.get(node, NodeUsage())
        usage[node] = NodeUsage(used.cpu + cpu, used.memory + memory, used.pods + 1,
                                used.scored_cpu + scored_cpu, used.scored_memory + scored_memory)
    return usage


def allocatable(node: Object) -> tuple[int, int, int]:
    """(millicpu, bytes, pods) the node offers."""
    alloc = node.get("status", {}).get("allocatable") or {}
    return (parse_cpu(alloc.get("cpu", 0)), parse_memory(alloc.get("memory", 0)),
            parse_count(alloc.get("pods", 110)))


def tolerates(tolerations: list[Object], taint: Object) -> bool:
    """Whether one of ``tolerations`` matches ``taint`` (Kubernetes' rules: empty key with
    Exists matches every key, empty effect every effect; Equal compares values)."""
    for toleration in tolerations:
        key_ok = toleration.get("key") == taint.get("key") or (
            not toleration.get("key") and toleration.get("operator") == "Exists")
        value_ok = toleration.get("operator") == "Exists" or (
            toleration.get("value", "") == taint.get("value", ""))
        effect_ok = not toleration.get("effect") or toleration.get("effect") == taint.get("effect")
        if key_ok and value_ok and effect_ok:
            return True
    return False


def untolerated_taint(pod: Object, node: Object) -> Object | None:
    """The first NoSchedule or NoExecute taint of ``node`` that ``pod`` does not tolerate."""
    tolerations = pod.get("spec", {}).get("tolerations") or []
    for taint in node.get("spec", {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(
            tolerations, taint
        ):
            return dict(taint)
    return None


def unfit_reasons(pod: Object, node: Object, used: NodeUsage) -> list[str]:
    """Why ``pod`` cannot go to ``node`` (empty: it fits), in kube-scheduler's words."""
    ready = condition(node, "Ready")
    if ready is None or ready.get("status") != "True":
        return ["node(s) were not ready"]
    if node.get("spec", {}).get("unschedulable"):
        return ["node(s) were unschedulable"]
    if (taint := untolerated_taint(pod, node)) is not None:
        return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"]
    wanted = pod.get("spec", {}).get("nodeSelector") or {}
    labels = node.get("metadata", {}).get("labels") or {}
    if any(labels.get(key) != value for key, value in wanted.items()):
        return ["node(s) didn't match Pod's node affinity/selector"]
    cpu, memory = pod_requests(pod)
    cpu_cap, memory_cap, pods_cap = allocatable(node)
    reasons = []
    if used.pods + 1 > pods_cap:
        reasons.append("Too many pods")
    if used.cpu + cpu > cpu_cap:
        reasons.append("Insufficient cpu")
    if used.memory + memory > memory_cap:
        reasons.append("Insufficient memory")
    return reasons


def score(pod: Object, node: Object, used: NodeUsage) -> float:
    """LeastAllocated: the mean share of cpu and memory left free after placing the pod
    (requests counted with kube-scheduler's non-zero defaults)."""
    cpu, memory = pod_requests(pod, nonzero=True)
    cpu_cap, memory_cap, _ = allocatable(node)
    free_cpu = 1 - (used.scored_cpu + cpu) / cpu_cap if cpu_cap else 0
    free_memory = 1 - (used.scored_memory + memory) / memory_cap if memory_cap else 0
    return (free_cpu + free_memory) / 2


def pick_node(pod: Object, nodes: list[Object], pods: list[Object]) -> tuple[str | None, str]:
    """The best node for ``pod`` and an empty message, or None and why nothing fits."""
    usage = usage_by_node(pods)
    reasons: Counter[str] = Counter()
    best: tuple[float, str] | None = None
    for node in nodes:
        name = node["metadata"]["name"]
        used = usage.get(name, NodeUsage())
        problems = unfit_reasons(pod, node, used)
        if problems:
            reasons.update(problems)
            continue
        candidate = (score(pod, node, used), name)
        if best is None or candidate[0] > best[0] or (
            candidate[0] == best[0] and name < best[1]
        ):
            best = candidate
    if best is not None:
        return best[1], ""
    summary = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    return None, f"0/{len(nodes)} nodes are available: {summary}." if nodes else (
        "0/0 nodes are available: no nodes registered.")


# -- the actor ----------------------------------------------------------------------------------


class Scheduler(BusActor):
    """See the module docstring."""

    def __init__(self, connection: Connection, client: Client,
                 config: SchedulerConfig | None = None) -> None:
        super().__init__(connection)
        self.client = client
        self.config = config or SchedulerConfig()
        self.nodes: dict[str, Object] = {}
        self.pods: dict[str, Object] = {}
        self.waiting: dict[str, str] = {}
        """Unschedulable pods (key -> last failure message), retried on cluster changes."""
        self.assumed: dict[str, str] = {}
        """Pods bound by us whose binding we have not seen yet (key -> node): counted on that
        node whatever older event arrives meanwhile."""
        self._informers: list[Informer] = []
        self._retry_timer: threading.Timer | None = None

    def on_start(self) -> None:
        super().on_start()
        self._informers = [Informer(self.client, "nodes", self.tell_self).start(),
                           Informer(self.client, "pods", self.tell_self).start()]

    def on_stop(self) -> None:
        for informer in self._informers:
            informer.stop()
        if self._retry_timer is not None:
            self._retry_timer.cancel()
        super().on_stop()

    def on_local(self, message: Any) -> Any:
        if message is RETRY:
            self._retry_waiting()
            return None
        if not isinstance(message, WatchEvent):
            return super().on_local(message)
        obj, key = message.object, object_key(message.object)
        if obj.get("kind") == "Node":
            self._remember(self.nodes, key, message)
            self._retry_waiting()
            return None
        self._remember(self.pods, key, message)
        if message.type == "DELETED" or obj.get("spec", {}).get("nodeName"):
            self.assumed.pop(key, None)
        if message.type == "DELETED" or obj.get("status", {}).get("phase") in FINISHED:
            self.waiting.pop(key, None)
            self._retry_waiting()  # resources were freed
        elif self._is_mine(obj) and key not in self.assumed:
            self._schedule(obj)
        return None

    @staticmethod
    def _remember(cache: dict[str, Object], key: str, event: WatchEvent) -> None:
        if event.type == "DELETED":
            cache.pop(key, None)
        else:
            cache[key] = event.object

    def _is_mine(self, pod: Object) -> bool:
        spec = pod.get("spec", {})
        return (not spec.get("nodeName") and not pod["metadata"].get("deletionTimestamp")
                and spec.get("schedulerName", DEFAULT_SCHEDULER) == self.config.name)

    def _retry_waiting(self) -> None:
        for key in list(self.waiting):
            pod = self.pods.get(key)
            if pod is None or not self._is_mine(pod):
                self.waiting.pop(key, None)
            else:
                self._schedule(pod)

    def _pods_with_assumed(self) -> list[Object]:
        return [dict(pod, spec=dict(pod["spec"], nodeName=self.assumed[key]))
                if key in self.assumed else pod for key, pod in self.pods.items()]

    def _schedule(self, pod: Object) -> None:
        key = object_key(pod)
        node, why = pick_node(pod, list(self.nodes.values()), self._pods_with_assumed())
        if node is None:
            if self.waiting.get(key) != why:
                self._record_event(pod, "Warning", "FailedScheduling", why)
            self.waiting[key] = why
            return
        self.waiting.pop(key, None)
        trace_id = trace_id_of(pod)
        try:
            self.client.bind(pod, node, trace_id=trace_id)
        except (Conflict, NotFound) as error:
            log.info("binding %s to %s lost: %s", key, node, error.message)
            return
        except ApiError as error:  # refused (admission) or transient (429, 5xx)
            log.warning("binding %s to %s failed: %s", key, node, error.message)
            self.waiting[key] = error.message  # retried on the next cluster change...
            if error.retryable:
                self._retry_later()  # ...or sooner when waiting alone may help
            return
        self.assumed[key] = node
        self._record_event(pod, "Normal", "Scheduled",
                           f"Successfully assigned {key} to {node}", trace_id)

    def _retry_later(self) -> None:
        if self._retry_timer is None or not self._retry_timer.is_alive():
            self._retry_timer = threading.Timer(self.config.retry_seconds,
                                                self.tell_self, args=(RETRY,))
            self._retry_timer.daemon = True
            self._retry_timer.start()

    def _record_event(self, pod: Object, kind: str, reason: str, message: str,
                      trace_id: str | None = None) -> None:
        metadata = pod["metadata"]
        event = {
            "metadata": {"generateName": f"{metadata['name']}.",
                         "namespace": metadata["namespace"]},
            "involvedObject": {"kind": "Pod", "name": metadata["name"],
                               "namespace": metadata["namespace"], "uid": metadata.get("uid")},
            "type": kind, "reason": reason, "message": message,
            "source": {"component": self.config.name},
            "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339(), "count": 1,
        }
        try:
            self.client.create("events", event, metadata["namespace"], trace_id=trace_id)
        except ApiError as error:
            log.warning("cannot record event %s for %s: %s", reason, metadata["name"], error)
