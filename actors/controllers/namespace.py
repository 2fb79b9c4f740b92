"""The namespace controller: a namespace being deleted is emptied, then it goes.

Deleting a namespace marks it (``deletionTimestamp``, ``status.phase: Terminating``; the
``kubernetes`` entry of ``spec.finalizers`` holds it), and NamespaceLifecycle admission refuses
new objects in it. This controller deletes every object of every namespaced resource in it (the
built-in ones, and the custom ones of the CRDs Established when it looks) and
looks again every ``retry_seconds`` while some remain (pods stop gracefully); once it is empty
it removes the ``kubernetes`` finalizer through ``namespaces/finalize`` and the apiserver
removes the namespace.

Neighbours: ``actors.controllers.controller`` (base), ``actors.apiserver.registry`` (graceful
deletion), ``actors.apiserver.admission.chain`` (NamespaceLifecycle).
"""

from __future__ import annotations

import contextlib
import logging

from actors.api.objects import Object
from actors.api.resources import STORED, ResourceInfo
from actors.client.client import Client
from actors.controllers.controller import Controller, ControllerConfig, Key
from bus.connection import Connection
from bus.errors import NotFound

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
CONTENT: tuple[ResourceInfo, ...] = tuple(info for info in STORED if info.namespaced)
"""Every namespaced built-in resource: what a namespace holds, beside custom objects."""


def remaining_finalizers(namespace: Object) -> list[str]:
    """The namespace's ``spec.finalizers`` without ours."""
    return [f for f in (namespace.get("spec") or {}).get("finalizers") or [] if f != FINALIZER]


class NamespaceController(Controller):
    """See the module docstring."""

    component = "namespace-controller"
    resources = ("namespaces",)

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None, retry_seconds: float = 2.0) -> None:
        super().__init__(connection, client, config)
        self.retry_seconds = retry_seconds

    def reconcile(self, key: Key) -> float | None:
        namespace = self.cached(key)
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return None
        if FINALIZER not in ((namespace.get("spec") or {}).get("finalizers") or []):
            return None
        custom = [info for info in self.client.discover().custom if info.namespaced]
        left = sum(self._empty(resource, key.name) for resource in (*CONTENT, *custom))
        if left:
            log.info("namespace %s: %d objects left; looking again in %.1fs", key.name, left,
                     self.retry_seconds)
            return self.retry_seconds
        with contextlib.suppress(NotFound):
            self.client.request("update", "namespaces", name=key.name, subresource="finalize",
                                body={"metadata": {"name": key.name}, "spec": {
                                    "finalizers": remaining_finalizers(namespace)}})
        return None

    def _empty(self, resource: ResourceInfo, namespace: str) -> int:
        """Delete what is left of ``resource`` in ``namespace``; how many objects remain."""
        items = self.client.list(resource, namespace)["items"]
        for obj in items:
            if not obj["metadata"].get("deletionTimestamp"):
                with contextlib.suppress(NotFound):
                    self.client.delete(resource, obj["metadata"]["name"], namespace)
        return len(items)
