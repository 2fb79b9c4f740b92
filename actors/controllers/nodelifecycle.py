"""The node lifecycle controller: a node whose kubelet stops renewing its Lease goes Unknown.

It follows nodes and node Leases (namespace ``kube-node-lease``) with informers and looks at
each node on every change and every ``monitor_seconds``: a node whose Lease was last renewed
more than ``grace_seconds`` ago gets ``Ready=Unknown`` (reason ``NodeStatusUnknown``), the
``node.kubernetes.io/unreachable:NoSchedule`` taint and a ``NodeNotReady`` Event, as
kube-controller-manager does; the scheduler then places nothing there. The pods of a node
whose Ready condition is not True get their own Ready condition False and a ``NodeNotReady``
Event (MarkPodsNotReady: Services and ReplicaSets stop counting them at once); on a node
going Unknown this happens before it is tainted, so before any eviction, and every
``monitor_seconds`` after for pods still Ready there (a write that lost a race, a pod bound
since). When the kubelet is back it sets Ready again and the controller lifts the taints.

The ``NoExecute`` taint (``unreachable``, or ``not-ready`` for ``Ready=False``), which starts
the eviction of the node's pods, comes from a pass over all nodes (:data:`PASS`, run on every
change of a node's verdict and every ``monitor_seconds``): rate-limited per zone, and none at
all while every zone is fully disrupted (``actors.controllers.disruption``). Eviction of the node's
pods after their toleration is ``actors.controllers.tainteviction``'s.

Which thread: the controller's actor thread (``actors.controllers.controller`` base); timers and
informers only tell it.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from actors.api.meta import condition, now_rfc3339, parse_time, set_condition
from actors.api.objects import Object
from actors.api.pods import NOT_READY_TAINT, UNREACHABLE_TAINT
from actors.api.resources import NODE_LEASE_NAMESPACE
from actors.client.client import Client
from actors.controllers.controller import Controller, Key
from actors.controllers.disruption import (
    EXCLUDE_LABEL,
    TAINT_FOR,
    DisruptionConfig,
    NodeHealth,
    ZoneTainter,
    zone_key,
)
from bus.connection import Connection
from bus.errors import ApiError, Conflict, NotFound

log = logging.getLogger(__name__)

UNREACHABLE = UNREACHABLE_TAINT
CONTROLLER_TAINTS = {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute"),
                     (NOT_READY_TAINT, "NoExecute")}
"""(key, effect) of the taints this controller adds, and lifts from a node Ready again."""
PASS = Key("zones", "", "")
"""The key of the pass over all nodes that adds and lifts NoExecute taints (not an object)."""
PASS_DELAY_SECONDS = 0.1
"""How soon the pass follows a node's verdict (Kubernetes' tainting pass runs every 100 ms):
the verdicts of many nodes at once share one pass over all of them."""


@dataclass(frozen=True, slots=True)
class NodeLifecycleConfig:
    grace_seconds: float = 40.0
    """How long a Lease may go unrenewed before its node is Unknown (kube-controller-manager's
    --node-monitor-grace-period)."""
    monitor_seconds: float = 5.0
    """How often nodes are looked at (--node-monitor-period)."""
    disruption: DisruptionConfig = field(default_factory=DisruptionConfig)
    """Zones and the rate of NoExecute taints (--node-eviction-rate and its kin)."""


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
    tainted by this controller), or None. A controller watching since ``watching_since`` counts
    the silence from then at the earliest, as kube-controller-manager counts from when it first
    saw the node: a control plane started again after a while gives its kubelets the grace
    period to renew before any node goes Unknown."""
    ready = (condition(node, "Ready") or {}).get("status")
    taints = node.get("spec", {}).get("taints") or []
    if silent(node, lease, now, grace, watching_since):  # also when the taint did not make it
        marked = any((t.get("key"), t.get("effect")) == (UNREACHABLE, "NoSchedule")
                     for t in taints)
        return "unknown" if ready != "Unknown" or not marked else None
    return "recovered" if ready == "True" and len(uncontrolled(taints)) != len(taints) else None


def silent(node: Object, lease: Object | None, now: datetime, grace: float,
           watching_since: datetime | None = None) -> bool:
    """Has ``node``'s kubelet gone silent for longer than ``grace`` seconds (counted from
    ``watching_since`` at the earliest)?"""
    heard = last_heartbeat(node, lease)
    if watching_since is not None:
        heard = max(heard, watching_since)
    return (now - heard).total_seconds() > grace


def health(node: Object, lease: Object | None, now: datetime, grace: float,
           watching_since: datetime | None = None) -> NodeHealth:
    """What the NoExecute pass needs of ``node``: counted Ready when its condition is True
    and its heartbeat fresh (so nodes gone silent together count together, whichever was
    marked Unknown first)."""
    status = (condition(node, "Ready") or {}).get("status")
    labels = node["metadata"].get("labels") or {}
    return NodeHealth(
        node["metadata"]["name"], zone_key(labels),
        ready=status == "True" and not silent(node, lease, now, grace, watching_since),
        status=status,
        no_execute=frozenset(
            t.get("key", "") for t in node.get("spec", {}).get("taints") or []
            if t.get("effect") == "NoExecute" and t.get("key") in TAINT_FOR.values()),
        excluded=EXCLUDE_LABEL in labels)


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


def no_execute_taint(key: str) -> Object:
    """A NoExecute taint of this controller; it says since when (eviction counts the pods'
    tolerationSeconds from then)."""
    return {"key": key, "effect": "NoExecute", "timeAdded": now_rfc3339()}


def uncontrolled(taints: list[Object], effect: str | None = None) -> list[Object]:
    """``taints`` without this controller's (of ``effect`` only, when given)."""
    return [t for t in taints if (t.get("key"), t.get("effect")) not in CONTROLLER_TAINTS
            or effect not in (None, t.get("effect"))]


class NodeLifecycleController(Controller):
    """See the module docstring."""

    component = "node-controller"
    resources = ("nodes", "leases", "pods")

    def __init__(self, connection: Connection, client: Client,
                 config: NodeLifecycleConfig | None = None) -> None:
        super().__init__(connection, client)
        self.config = config or NodeLifecycleConfig()
        self.tainter = ZoneTainter(self.config.disruption)
        self._watching_since = datetime.now(UTC)

    def on_start(self) -> None:
        super().on_start()  # the informers' first lists are in the mailbox before the pass
        self.enqueue(PASS)

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
        """Judge one node, or all of them for their NoExecute taints (:data:`PASS`); look
        again every ``monitor_seconds`` (the pass sooner when a taint waits for its turn)."""
        if key == PASS:
            return min(self._pass(), self.config.monitor_seconds)
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
            self._retaint(node, uncontrolled(node.get("spec", {}).get("taints") or []))
        elif not self._ready(key.name):
            self._mark_pods_not_ready(key.name)
        if action is not None:
            self.enqueue(PASS, after=PASS_DELAY_SECONDS)
        return self.config.monitor_seconds

    def _pass(self) -> float:
        """Add and lift NoExecute taints as the zones' states and rates allow; the seconds
        until a node waiting for its taint may have it (inf: none waits)."""
        now, nodes = datetime.now(UTC), []
        for node in self.listed("nodes"):
            lease = self.cached(Key("leases", NODE_LEASE_NAMESPACE, node["metadata"]["name"]))
            try:
                nodes.append(health(node, lease, now, self.config.grace_seconds,
                                    self._watching_since))
            except ValueError as error:  # a bad timestamp
                log.warning("node lifecycle: node %s: %s", node["metadata"]["name"], error)
        plan = self.tainter.plan(nodes, time.monotonic())
        writes = [(name, [no_execute_taint(key)]) for name, key in plan.taint.items()]
        for name, added in writes + [(name, []) for name in plan.untaint]:
            cached = self.cached(Key("nodes", "", name))
            if cached is None:
                continue
            try:
                self._retaint(cached, uncontrolled(cached.get("spec", {}).get("taints") or [],
                                                   "NoExecute") + added)
            except ApiError as error:  # taken again at the next pass
                log.info("node lifecycle: NoExecute taint of node %s: %s", name, error)
        return plan.wait

    def _retaint(self, node: Object, taints: list[Object]) -> None:
        self.remember(self.client.update("nodes", dict(node, spec=dict(
            node.get("spec", {}), taints=taints))))

    def _mark_unknown(self, cached: Object) -> None:
        node = copy.deepcopy(cached)  # the informer's own is shared: read-only
        name = node["metadata"]["name"]
        log.info("node %s stopped renewing its lease; marking it Unknown", name)
        set_condition(node, "Ready", "Unknown", "NodeStatusUnknown",
                      "Kubelet stopped posting node status.")
        stored = self.remember(self.client.update("nodes", node, subresource="status"))
        self.record_event(stored, "Normal", "NodeNotReady",
                          f"Node {name} status is now: NodeNotReady")
        self._mark_pods_not_ready(name)
        taints = uncontrolled(stored.get("spec", {}).get("taints") or [], "NoSchedule")
        self._retaint(stored, [*taints, {"key": UNREACHABLE, "effect": "NoSchedule"}])

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
