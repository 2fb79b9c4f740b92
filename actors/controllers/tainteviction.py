"""Taint-based eviction, and the part of pod GC that frees pods of lost nodes.

Follows nodes and pods. A pod bound to a node with ``NoExecute`` taints is evicted (deleted)
at once when it does not tolerate one of them, after the smallest ``tolerationSeconds`` of the
tolerations it uses when all have one (counted from the taint's ``timeAdded``), never when one
tolerates it for ever (:func:`eviction_delay`; Kubernetes' NoExecuteTaintManager). Pods get
300 s tolerations of ``node.kubernetes.io/not-ready`` and ``unreachable`` by default
(``actors.api.defaulting.default_tolerations``).

A pod deleted on a node that is unreachable would wait for ever for its kubelet to confirm;
like Kubernetes' pod GC this controller force-deletes (grace 0) a terminating pod on a node
tainted ``node.kubernetes.io/unreachable``, so its ReplicaSet's replacement is the only copy
left.

Neighbours: ``actors.controllers.controller`` (base), ``actors.controllers.nodelifecycle`` (which
taints lost nodes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime

from actors.api.meta import parse_time
from actors.api.objects import Object
from actors.api.pods import UNREACHABLE_TAINT, toleration_matches
from actors.client.client import Client
from actors.controllers.controller import Controller, ControllerConfig, Key
from bus.connection import Connection
from bus.errors import NotFound


def eviction_delay(pod: Object, taints: list[Object], now: datetime,
                   first_seen: dict[str, datetime] | None = None) -> float | None:
    """Seconds until ``pod`` must be evicted for the NoExecute ``taints`` of its node (0 or
    less: now), or None when it tolerates them for ever. A taint without ``timeAdded``
    counts from ``first_seen[key]``, else from ``now``."""
    no_execute = [t for t in taints if t.get("effect") == "NoExecute"]
    tolerations = [t for t in pod.get("spec", {}).get("tolerations") or [] if isinstance(t, dict)]
    delay: float | None = None
    for taint in no_execute:
        used = [t for t in tolerations if toleration_matches(t, taint)]
        if not used:
            return 0.0
        seconds = [float(t["tolerationSeconds"]) for t in used
                   if t.get("tolerationSeconds") is not None]
        if not seconds:
            continue  # tolerated for ever
        added = (parse_time(taint["timeAdded"]) if taint.get("timeAdded")
                 else (first_seen or {}).get(str(taint.get("key")), now))
        left = max(min(seconds), 0) - (now - added).total_seconds()
        delay = left if delay is None else min(delay, left)
    return delay


def force_delete(pod: Object, node: Object | None) -> bool:
    """Pod GC: must ``pod`` go at once, its kubelet being unable to confirm? True when it is
    terminating on an unreachable node."""
    if node is None:
        return False
    unreachable = any(t.get("key") == UNREACHABLE_TAINT and t.get("effect") == "NoExecute"
                      for t in node.get("spec", {}).get("taints") or [])
    return unreachable and bool(pod["metadata"].get("deletionTimestamp"))


class TaintEvictionController(Controller):
    """See the module docstring."""

    component = "taint-eviction-controller"
    resources = ("nodes", "pods")

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None) -> None:
        super().__init__(connection, client, config)
        self.first_seen: dict[tuple[str, str], datetime] = {}
        """(node, taint key) -> when a taint without ``timeAdded`` was first seen."""
        self.on_node: dict[str, set[Key]] = {}
        """Node name -> the pods bound to it (an index, so a node's change is cheap)."""
        self.node_taints: dict[str, list[Object]] = {}
        """Node name -> its NoExecute taints when last looked at."""

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == "pods":
            key, node = Key.of(obj), obj.get("spec", {}).get("nodeName")
            if event == "DELETED":
                self.on_node.get(node or "", set()).discard(key)
                return []
            if node:
                self.on_node.setdefault(node, set()).add(key)
            return [key] if node else []
        name = obj["metadata"]["name"]
        taints = [t for t in obj.get("spec", {}).get("taints") or []
                  if t.get("effect") == "NoExecute"]
        if event != "DELETED" and self.node_taints.get(name) == taints:
            return []  # its NoExecute taints did not change: nothing to re-judge
        self.node_taints[name] = taints
        if event == "DELETED":
            self.node_taints.pop(name, None)
        return list(self.on_node.get(name, set()))

    def reconcile(self, key: Key) -> float | None:
        pod = self.cached(key)
        if pod is None or not pod.get("spec", {}).get("nodeName"):
            return None
        node = self.cached(Key("nodes", "", pod["spec"]["nodeName"]))
        if force_delete(pod, node):
            self._delete(key, grace=0)
            return None
        if node is None or pod["metadata"].get("deletionTimestamp"):
            return None
        now = datetime.now(UTC)
        taints = node.get("spec", {}).get("taints") or []
        seen = {str(t.get("key")): self.first_seen.setdefault(
            (node["metadata"]["name"], str(t.get("key"))), now) for t in taints}
        delay = eviction_delay(pod, taints, now, seen)
        if delay is None:
            return None
        if delay > 0:
            return delay
        self.record_event(pod, "Normal", "TaintManagerEviction",
                          f"Marking for deletion Pod {key.namespace}/{key.name}")
        self._delete(key, grace=None)
        return None

    def _delete(self, key: Key, grace: int | None) -> None:
        with contextlib.suppress(NotFound):
            self.client.delete("pods", key.name, key.namespace, grace_period=grace)
