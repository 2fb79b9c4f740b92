"""The node lifecycle controller: a node whose kubelet stops renewing its Lease goes Unknown.

It follows nodes and node Leases (namespace ``kube-node-lease``) with informers and looks at
each node on every change and every ``monitor_seconds``: a node whose Lease was last renewed
more than ``grace_seconds`` ago gets ``Ready=Unknown`` (reason ``NodeStatusUnknown``) and the
``node.kubernetes.io/unreachable`` taints (``NoSchedule`` and ``NoExecute``) and a
``NodeNotReady`` Event, as kube-controller-manager does; the scheduler then places nothing
there. The pods of a node whose Ready condition is not True get their own Ready condition
False and a ``NodeNotReady`` Event (MarkPodsNotReady: Services and ReplicaSets stop counting
them at once); on a node going Unknown this happens before it is tainted, so before any
eviction, and every ``monitor_seconds`` after for pods still Ready there (a write that lost a
race, a pod bound since). When the kubelet is back it sets Ready again and the controller
lifts the taints. Eviction of the node's pods after their toleration is
``actors.tainteviction``'s.

Which thread: the controller's actor thread (``actors.controller`` base); timers and informers
only tell it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from actors.client import Client
from actors.controller import Controller, Key
from actors.objects import (
    NODE_LEASE_NAMESPACE,
    UNREACHABLE_TAINT,
    condition,
    now_rfc3339,
    parse_time,
    set_condition,
)
from bus.connection import Connection
from bus.errors import Conflict, NotFound

log = logging.getLogger(__name__)

Object = dict[str, Any]

UNREACHABLE = UNREACHABLE_TAINT


@dataclass(frozen=True, slots=True)
class NodeLifecycleConfig:
    grace_seconds: float = 40.0
    """How long a Lease may go unrenewed before its node is Unknown (kube-controller-manager's
    --node-monitor-grace-period)."""
    monitor_seconds: float = 5.0
    """How often nodes are looked at (--node-monitor-period)."""


def last_heartbeat(node: Object, lease: Object | None) -> datetime:
    """When the node's kubelet last showed it was alive: its Lease's renewTime, else the
    node's creation."""
    stamp = (lease or {}).get("spec", {}).get("renewTime") or node["metadata"].get(
        "creationTimestamp")
    return parse_time(stamp) if stamp else datetime.now(UTC)


def verdict(node: Object, lease: Object | None, now: datetime, grace: float,
            watching_since: datetime | None = None) -> str | None:
    """What the controller must do about ``node``: ``"unknown"`` (its heartbeat is older than
    ``grace`` and it is not marked yet), ``"recovered"`` (fresh heartbeat, Ready again, still
    tainted unreachable), or None. A controller watching since ``watching_since`` counts the
    silence from then at the earliest, as kube-controller-manager counts from when it first saw
    the node: a control plane started again after a while gives its kubelets the grace period
    to renew before any node goes Unknown."""
    heard = last_heartbeat(node, lease)
    if watching_since is not None:
        heard = max(heard, watching_since)
    silent = (now - heard).total_seconds()
    ready = (condition(node, "Ready") or {}).get("status")
    taints = node.get("spec", {}).get("taints") or []
    tainted = len(without_unreachable(taints)) != len(taints)
    if silent > grace:  # also when the taints did not make it the first time
        return "unknown" if ready != "Unknown" or not tainted else None
    return "recovered" if ready == "True" and tainted else None


def marked_not_ready(pod: Object) -> Object | None:
    """``pod`` (a copy) with its Ready condition False, or None when it is not Ready True
    (kube-controller-manager's MarkPodsNotReady: only the status of that condition and its
    transition time change)."""
    if (condition(pod, "Ready") or {}).get("status") != "True":
        return None
    marked = dict(pod, status=copy.deepcopy(pod["status"]))
    for cond in marked["status"]["conditions"]:
        if cond.get("type") == "Ready":
            cond.update(status="False", lastTransitionTime=now_rfc3339())
    return marked


def unreachable_taints() -> list[Object]:
    """The taints of an unreachable node; the NoExecute one says since when (eviction counts
    the pods' tolerationSeconds from then)."""
    return [{"key": UNREACHABLE, "effect": "NoSchedule"},
            {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now_rfc3339()}]


def without_unreachable(taints: list[Object]) -> list[Object]:
    return [taint for taint in taints if taint.get("key") != UNREACHABLE]


class NodeLifecycleController(Controller):
    """See the module docstring."""

    component = "node-controller"
    resources = ("nodes", "leases", "pods")

    def __init__(self, connection: Connection, client: Client,
                 config: NodeLifecycleConfig | None = None) -> None:
        super().__init__(connection, client)
        self.config = config or NodeLifecycleConfig()
        self._watching_since = datetime.now(UTC)

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        namespace = obj["metadata"].get("namespace")
        if resource == "pods":  # a Ready pod on a node that is not: the node's pods are marked
            node = obj.get("spec", {}).get("nodeName")
            return [Key("nodes", "", node)] if node and event != "DELETED" and not (
                self._ready(node)) and marked_not_ready(obj) is not None else []
        if resource == "leases" and namespace != NODE_LEASE_NAMESPACE:
            return []
        return [Key("nodes", "", obj["metadata"]["name"])]

    def _ready(self, node: str) -> bool:
        cached = self.cached(Key("nodes", "", node))
        return cached is None or (condition(cached, "Ready") or {}).get("status") == "True"

    def reconcile(self, key: Key) -> float | None:
        """Judge one node; look at it again every ``monitor_seconds`` while it exists."""
        node = self.cached(key)
        if node is None:
            return None
        lease = self.cached(Key("leases", NODE_LEASE_NAMESPACE, key.name))
        try:
            action = verdict(node, lease, datetime.now(UTC), self.config.grace_seconds,
                             self._watching_since)
        except ValueError as error:  # a bad timestamp
            log.warning("node lifecycle: node %s: %s", key.name, error)
            return self.config.monitor_seconds
        if action == "unknown":
            self._mark_unknown(node)
        elif action == "recovered":
            taints = without_unreachable(node.get("spec", {}).get("taints") or [])
            self.remember(self.client.update("nodes", dict(node, spec=dict(
                node.get("spec", {}), taints=taints))))
        elif not self._ready(key.name):
            self._mark_pods_not_ready(key.name)
        return self.config.monitor_seconds

    def _mark_unknown(self, node: Object) -> None:
        name = node["metadata"]["name"]
        log.info("node %s stopped renewing its lease; marking it Unknown", name)
        set_condition(node, "Ready", "Unknown", "NodeStatusUnknown",
                      "Kubelet stopped posting node status.")
        stored = self.remember(self.client.update("nodes", node, subresource="status"))
        self.record_event(stored, "Normal", "NodeNotReady",
                          f"Node {name} status is now: NodeNotReady")
        self._mark_pods_not_ready(name)
        taints = without_unreachable(stored.get("spec", {}).get("taints") or [])
        self.remember(self.client.update("nodes", dict(stored, spec=dict(
            stored.get("spec", {}), taints=taints + unreachable_taints()))))

    def _mark_pods_not_ready(self, node: str) -> None:
        """MarkPodsNotReady: every pod bound to ``node`` and still Ready gets Ready=False and a
        ``NodeNotReady`` Event; a pod that changed or went meanwhile is left to the next
        look."""
        for pod in self.listed("pods"):
            marked = marked_not_ready(pod) if pod.get("spec", {}).get(
                "nodeName") == node else None
            if marked is None:
                continue
            try:
                self.remember(self.client.update("pods", marked, subresource="status"))
            except (Conflict, NotFound):
                continue
            self.record_event(marked, "Warning", "NodeNotReady", "Node is not ready")
