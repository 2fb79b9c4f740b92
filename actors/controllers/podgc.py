"""Pod GC of orphans (Kubernetes' PodGCController, ``gcOrphaned``): a pod bound to a node that
does not exist is failed and deleted, since no kubelet will ever run it or confirm its end.

A node name no node has is quarantined for :data:`QUARANTINE_SECONDS` from when one of its
pods is first seen (a node being registered may show up late); then the node is read from the
apiserver, not the cache, and when it is still NotFound each of its pods gets phase ``Failed``
with the ``DisruptionTarget`` condition (``DeletionByPodGC``, ``PodGC: node no longer
exists``) unless it already ended, and is deleted with grace 0. A node that appears meanwhile
ends its quarantine, and so does the deletion of the last pod bound to it. The other part of
Kubernetes' pod GC, force-deleting terminating pods of lost nodes, is
``actors.controllers.tainteviction``'s.

Neighbours: ``actors.controllers.controller`` (base), ``actors.controllers.manager`` (starts
it), ``actors.api.meta`` (the condition).

Which thread: the controller's actor thread, as every controller's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

from actors.api.meta import set_condition
from actors.api.objects import Object
from actors.client.client import Client
from actors.controllers.controller import Controller, ControllerConfig, Key
from bus.connection import Connection
from bus.errors import NotFound

QUARANTINE_SECONDS = 40.0
"""How long a node name no node has is waited for before its pods go (Kubernetes'
quarantineTime; its gc loop runs every 20 s, so there they go 40 to 60 s after)."""


def orphan_failed(pod: Object) -> Object | None:
    """``pod`` as pod GC writes its status before deleting it as an orphan: ``Failed``, with
    the DisruptionTarget condition; None when it already ended (its status stays)."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return None
    failed = {**pod, "status": {**(pod.get("status") or {}), "phase": "Failed"}}
    failed["status"]["conditions"] = [dict(c) for c in failed["status"].get("conditions") or []]
    set_condition(failed, "DisruptionTarget", "True", "DeletionByPodGC",
                  "PodGC: node no longer exists")
    return failed


class PodGCController(Controller):
    """See the module docstring."""

    component = "pod-garbage-collector"
    resources = ("nodes", "pods")

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None,
                 quarantine_seconds: float = QUARANTINE_SECONDS) -> None:
        super().__init__(connection, client, config)
        self.quarantine_seconds = quarantine_seconds
        self.missing: dict[str, float] = {}
        """Node name -> when (``time.monotonic``) a pod bound to it was first seen without
        it."""

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == "pods":
            node = (obj.get("spec") or {}).get("nodeName")
            if event == "DELETED":
                self._forget_unbound(node)
                return []
            return [Key.of(obj)] if node else []
        name = obj["metadata"]["name"]
        if event != "DELETED":
            self.missing.pop(name, None)
            return []
        return [Key.of(p) for p in self.listed("pods")
                if (p.get("spec") or {}).get("nodeName") == name]

    def _forget_unbound(self, node: str | None) -> None:
        """End the quarantine of a node name no cached pod is bound to any more (its orphans
        are gone; kept, the names of every node ever lost would pile up)."""
        if node in self.missing and not any((p.get("spec") or {}).get("nodeName") == node
                                            for p in self.listed("pods")):
            del self.missing[node]

    def reconcile(self, key: Key) -> float | None:
        pod = self.cached(key)
        node = (pod.get("spec") or {}).get("nodeName") if pod is not None else None
        if pod is None or not node or self.cached(Key("nodes", "", node)) is not None:
            return None
        now = time.monotonic()
        left = self.quarantine_seconds - (now - self.missing.setdefault(node, now))
        if left > 0:
            return left
        try:
            self.client.get("nodes", node, None)
            return None  # it exists: the cache will hear of it
        except NotFound:
            pass
        with contextlib.suppress(NotFound):
            if (failed := orphan_failed(pod)) is not None:
                self.client.update("pods", failed, subresource="status")
            self.client.delete("pods", key.name, key.namespace, grace_period=0)
        return None
