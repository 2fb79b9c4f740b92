"""The EndpointSlice controller, and the endpoints controller beside it: where each Service's
traffic goes (kube-controller-manager's ``endpointslice`` and ``endpoints`` controllers).

Keys are Services. A Service's own event queues it; a pod's event queues every Service of its
namespace that selects it and every one whose slices hold it (a pod that stopped matching
leaves them); a slice's or Endpoints' event queues its Service (a slice changed or deleted by
hand is put back). A reconcile computes the slices of the Service from the pods it selects
(``actors.api.endpointslices.slices_for``: ready, serving and terminating conditions,
``publishNotReadyAddresses``, at most 100 endpoints a slice, one placeholder when none),
writes the difference with the slices it manages (``plan``: updated in place, made with
``generateName: <service>-`` and the Service as their controller owner, or deleted), then
the v1 Endpoints mirrored from them. A Service without a selector is left to whoever writes
its endpoints (the ``kubernetes`` Service's are the apiserver's); a Service gone, or an
ExternalName one, loses its slices and Endpoints.

Neighbours: ``actors.controllers.controller`` (the base), ``actors.api.endpointslices`` (what
to write), ``actors.controllers.manager`` (starts it), ``actors.proxy`` (reads the slices).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from actors.api import endpointslices as slices
from actors.api.meta import owner_reference
from actors.api.objects import Object
from actors.api.selectors import selector_matches
from actors.controllers.controller import Controller, Key
from bus.errors import AlreadyExists, NotFound

SERVICES = "services"


class EndpointSliceController(Controller):
    """See the module docstring."""

    component = "endpointslice-controller"
    resources = (SERVICES, "pods", slices.RESOURCE, "endpoints")

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        metadata = obj["metadata"]
        namespace = metadata.get("namespace", "")
        if resource == SERVICES:
            return [Key.of(obj)]
        if resource == slices.RESOURCE:
            owner = (metadata.get("labels") or {}).get(slices.SERVICE_NAME)
            return [Key(SERVICES, namespace, owner)] if owner else []
        if resource == "endpoints":
            return [Key(SERVICES, namespace, metadata["name"])]
        return [Key.of(service) for service in self.listed(SERVICES, namespace)
                if _selects(service, obj) or self._holds(service, metadata["name"])]

    def _holds(self, service: Object, pod: str) -> bool:
        return any(point.get("targetRef", {}).get("name") == pod
                   for piece in self._owned(service["metadata"].get("namespace", ""),
                                            service["metadata"]["name"])
                   for point in piece.get("endpoints") or [])

    def _owned(self, namespace: str, name: str) -> list[Object]:
        return [piece for piece in self.listed(slices.RESOURCE, namespace)
                if (piece["metadata"].get("labels") or {}).get(slices.SERVICE_NAME) == name
                and piece["metadata"]["labels"].get(slices.MANAGED_BY) == slices.CONTROLLER]

    def reconcile(self, key: Key) -> float | None:
        service = self.cached(key)
        if service is not None and not (service.get("spec") or {}).get("selector"):
            return None
        wanted: list[Object] = []
        if service is not None and service["spec"].get("type") != "ExternalName":
            pods = [pod for pod in self.listed("pods", key.namespace) if _selects(service, pod)]
            wanted = slices.slices_for(service, pods)
        self._write_slices(service, key, wanted)
        self._write_endpoints(service, key, wanted)
        return None

    def _write_slices(self, service: Object | None, key: Key, wanted: list[Object]) -> None:
        updates, creates, deletes = slices.plan(self._owned(key.namespace, key.name), wanted)
        for piece in updates:
            self.remember(self.client.update(slices.RESOURCE, piece))
        for piece in creates:
            assert service is not None, "slices are only made for a Service"
            piece["metadata"].update(generateName=f"{key.name}-",
                                     ownerReferences=[owner_reference(service)])
            self.remember(self.client.create(slices.RESOURCE, piece, key.namespace))
        for piece in deletes:
            with contextlib.suppress(NotFound):
                self.client.delete(slices.RESOURCE, piece["metadata"]["name"], key.namespace)

    def _write_endpoints(self, service: Object | None, key: Key, wanted: list[Object]) -> None:
        old = self.objects["endpoints"].get((key.namespace, key.name))
        if service is None or service["spec"].get("type") == "ExternalName":
            if old is not None:
                with contextlib.suppress(NotFound):
                    self.client.delete("endpoints", key.name, key.namespace)
            return
        new = slices.mirrored_endpoints(service, wanted)
        if old is None:
            with contextlib.suppress(AlreadyExists):  # the next event brings it here
                self.remember(self.client.create("endpoints", new, key.namespace))
        elif (old.get("subsets") or []) != new["subsets"] or \
                old["metadata"].get("labels") != new["metadata"]["labels"]:
            self.remember(self.client.update("endpoints", {
                **old, "subsets": new["subsets"],
                "metadata": {**old["metadata"], "labels": new["metadata"]["labels"]}}))


def _selects(service: Object, pod: Object) -> bool:
    selector = (service.get("spec") or {}).get("selector")
    return bool(selector) and selector_matches({"matchLabels": selector},
                                               pod["metadata"].get("labels"))
