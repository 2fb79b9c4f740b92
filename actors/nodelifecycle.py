"""The node lifecycle controller: a node whose kubelet stops renewing its Lease goes Unknown.

It follows nodes and node Leases (namespace ``kube-node-lease``) with informers and looks at
them every ``monitor_seconds``: a node whose Lease was last renewed more than
``grace_seconds`` ago gets ``Ready=Unknown`` (reason ``NodeStatusUnknown``) and the
``node.kubernetes.io/unreachable`` taints (``NoSchedule`` and ``NoExecute``), as
kube-controller-manager does; the scheduler then places nothing there. When the kubelet is back
it sets Ready again and the controller lifts the taints. Eviction of the node's pods after
their toleration arrives with the controllers work.

Which thread: the controller's actor thread; timers and informers only tell it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from actors.client import Client, WatchEvent
from actors.informer import Informer
from actors.objects import NODE_LEASE_NAMESPACE, condition, parse_time, set_condition
from bus.actor import BusActor
from bus.connection import Connection
from bus.errors import ApiError

log = logging.getLogger(__name__)

Object = dict[str, Any]

UNREACHABLE = "node.kubernetes.io/unreachable"
CHECK = object()
"""Local message: look at every node now."""


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


def verdict(node: Object, lease: Object | None, now: datetime, grace: float) -> str | None:
    """What the controller must do about ``node``: ``"unknown"`` (its heartbeat is older than
    ``grace`` and it is not marked yet), ``"recovered"`` (fresh heartbeat, Ready again, still
    tainted unreachable), or None."""
    silent = (now - last_heartbeat(node, lease)).total_seconds()
    ready = (condition(node, "Ready") or {}).get("status")
    taints = node.get("spec", {}).get("taints") or []
    tainted = len(without_unreachable(taints)) != len(taints)
    if silent > grace:  # also when the taints did not make it the first time
        return "unknown" if ready != "Unknown" or not tainted else None
    return "recovered" if ready == "True" and tainted else None


def unreachable_taints() -> list[Object]:
    return [{"key": UNREACHABLE, "effect": effect} for effect in ("NoSchedule", "NoExecute")]


def without_unreachable(taints: list[Object]) -> list[Object]:
    return [taint for taint in taints if taint.get("key") != UNREACHABLE]


class NodeLifecycleController(BusActor):
    """See the module docstring."""

    def __init__(self, connection: Connection, client: Client,
                 config: NodeLifecycleConfig | None = None) -> None:
        super().__init__(connection)
        self.client = client
        self.config = config or NodeLifecycleConfig()
        self.nodes: dict[str, Object] = {}
        self.leases: dict[str, Object] = {}
        self._informers: list[Informer] = []
        self._timer: threading.Timer | None = None

    def on_start(self) -> None:
        super().on_start()
        self._informers = [
            Informer(self.client, "nodes", self.tell_self).start(),
            Informer(self.client, "leases", self.tell_self, namespace=NODE_LEASE_NAMESPACE).start(),
        ]
        self._plan_check()

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for informer in self._informers:
            informer.stop()
        super().on_stop()

    def on_local(self, message: Any) -> Any:
        if message is CHECK:
            try:
                self._check(datetime.now(UTC))
            finally:
                self._plan_check()  # one bad object must not end the monitoring
        elif isinstance(message, WatchEvent):
            cache = self.nodes if message.object.get("kind") == "Node" else self.leases
            name = message.object["metadata"]["name"]
            if message.type == "DELETED":
                cache.pop(name, None)
            else:
                cache[name] = message.object
        else:
            return super().on_local(message)
        return None

    def _plan_check(self) -> None:
        self._timer = threading.Timer(self.config.monitor_seconds, self.tell_self, args=(CHECK,))
        self._timer.daemon = True
        self._timer.start()

    def _check(self, now: datetime) -> None:
        for name, node in list(self.nodes.items()):
            try:
                action = verdict(node, self.leases.get(name), now, self.config.grace_seconds)
                if action == "unknown":
                    self._mark_unknown(node)
                elif action == "recovered":
                    taints = without_unreachable(node.get("spec", {}).get("taints") or [])
                    self.client.update("nodes", dict(node, spec=dict(node.get("spec", {}),
                                                                     taints=taints)))
            except (ApiError, ValueError) as error:  # a bad timestamp, a refused write
                log.warning("node lifecycle: node %s: %s", name, error)

    def _mark_unknown(self, node: Object) -> None:
        name = node["metadata"]["name"]
        log.info("node %s stopped renewing its lease; marking it Unknown", name)
        set_condition(node, "Ready", "Unknown", "NodeStatusUnknown",
                      "Kubelet stopped posting node status.")
        stored = self.client.update("nodes", node, subresource="status")
        taints = without_unreachable(stored.get("spec", {}).get("taints") or [])
        self.client.update("nodes", dict(stored, spec=dict(stored.get("spec", {}),
                                                           taints=taints + unreachable_taints())))
