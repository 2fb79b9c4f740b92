"""EndpointSlices (``discovery.k8s.io/v1``): where a Service's traffic goes, computed from the
pods it selects, and the legacy ``v1`` Endpoints mirrored from them.

:func:`endpoints_of` makes one endpoint per selected pod that has an address and is not
finished: its ``conditions`` are Kubernetes' (``ready``: the pod is Ready and not being
deleted, or the Service publishes not-ready addresses; ``serving``: the pod is Ready whether or
not it is being deleted; ``terminating``: it is being deleted), with its node and a
``targetRef``. :func:`slices_for` cuts them into slices of at most ``MAX_ENDPOINTS`` (100, the
EndpointSlice controller's ``--max-endpoints-per-slice`` default) per set of ports (a named
``targetPort`` can resolve to different numbers on different pods), labelled with the
Service's name and the controller that manages them. :func:`mirrored_endpoints` is the v1
Endpoints of a Service as kube-controller-manager's endpoints controller writes it: ready
addresses, and not-ready ones apart.

Pure functions over plain dicts. Neighbours: ``actors.api.services`` (``target_port``),
``actors.controllers.endpointslice`` (writes what these compute), ``actors.proxy`` (reads the
slices).

Which thread: any.
"""

from __future__ import annotations

from typing import Any

from actors.api.objects import Object
from actors.api.pods import is_pod_ready
from actors.api.services import target_port

GROUP = "discovery.k8s.io"
RESOURCE = "endpointslices"
MAX_ENDPOINTS = 100
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
"""On Endpoints the endpoints controller wrote (from the slices: not to be mirrored back)."""
TERMINAL = ("Succeeded", "Failed")


def endpoint(pod: Object, publish_not_ready: bool) -> Object | None:
    """The endpoint of ``pod``; None when it has no address yet or has finished."""
    status = pod.get("status") or {}
    if not status.get("podIP") or status.get("phase") in TERMINAL:
        return None
    metadata = pod["metadata"]
    terminating = bool(metadata.get("deletionTimestamp"))
    serving = is_pod_ready(pod)
    found: Object = {
        "addresses": [status["podIP"]],
        "conditions": {"ready": publish_not_ready or (serving and not terminating),
                       "serving": publish_not_ready or serving, "terminating": terminating},
        "targetRef": {"kind": "Pod", "namespace": metadata.get("namespace"),
                      "name": metadata["name"], "uid": metadata.get("uid")}}
    if node := pod.get("spec", {}).get("nodeName"):
        found["nodeName"] = node
    return found


def ports_of(service: Object, pod: Object) -> list[Object] | None:
    """The slice ports of ``pod`` for ``service``; None when a named targetPort is not one
    of the pod's (the pod then sends nothing for the Service, as Kubernetes skips it)."""
    ports = []
    for port in (service.get("spec") or {}).get("ports") or []:
        number = target_port(port, pod)
        if number is None:
            return None
        ports.append({"name": port.get("name", ""), "port": number,
                      "protocol": port.get("protocol", "TCP")})
    return ports


def endpoints_of(service: Object, pods: list[Object]) -> list[tuple[list[Object], Object]]:
    """(ports, endpoint) of each pod that has one, in the pods' name order."""
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    found = []
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        point, ports = endpoint(pod, publish), ports_of(service, pod)
        if point is not None and ports is not None:
            found.append((ports, point))
    return found


def slices_for(service: Object, pods: list[Object]) -> list[Object]:
    """The EndpointSlices ``service`` should have (without names: the writer's), at most
    ``MAX_ENDPOINTS`` endpoints each, one group per distinct set of ports; one empty slice
    when no pod is selected (as the controller keeps a placeholder)."""
    groups: dict[str, tuple[list[Object], list[Object]]] = {}
    for ports, point in endpoints_of(service, pods):
        groups.setdefault(repr(ports), (ports, []))[1].append(point)
    if not groups:
        groups[""] = ([], [])
    return [_slice(service, ports, points[i:i + MAX_ENDPOINTS])
            for ports, points in groups.values()
            for i in range(0, max(len(points), 1), MAX_ENDPOINTS)]


def _slice(service: Object, ports: list[Object], points: list[Object]) -> Object:
    metadata = service["metadata"]
    return {"apiVersion": f"{GROUP}/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"namespace": metadata.get("namespace"),
                         "labels": {SERVICE_NAME: metadata["name"], MANAGED_BY: CONTROLLER}},
            "ports": ports, "endpoints": points}


def same_content(piece: Object, wanted: Object) -> bool:
    """Whether a stored slice already holds what ``wanted`` says."""
    return all(piece.get(f) == wanted.get(f) for f in ("ports", "endpoints", "addressType")) \
        and _labels(piece) == _labels(wanted)


def _labels(piece: Object) -> Any:
    labels = piece["metadata"].get("labels") or {}
    return labels.get(SERVICE_NAME), labels.get(MANAGED_BY)


def mirrored_endpoints(service: Object, slices: list[Object]) -> Object:
    """The v1 Endpoints of ``service`` from its slices: one subset per set of ports, ready
    addresses in ``addresses`` and the others in ``notReadyAddresses`` (terminating pods
    are left out unless the Service publishes not-ready addresses)."""
    subsets = []
    for piece in slices:
        ready, unready = [], []
        for point in piece.get("endpoints") or []:
            address = {"ip": point["addresses"][0], "targetRef": point.get("targetRef")}
            if point.get("nodeName"):
                address["nodeName"] = point["nodeName"]
            conditions = point.get("conditions") or {}
            if conditions.get("ready"):
                ready.append(address)
            elif not conditions.get("terminating"):
                unready.append(address)
        subset: Object = {"ports": piece.get("ports") or []}
        if ready:
            subset["addresses"] = ready
        if unready:
            subset["notReadyAddresses"] = unready
        if ready or unready:
            subsets.append(subset)
    metadata = service["metadata"]
    labels = {**(metadata.get("labels") or {}), SKIP_MIRROR: "true"}
    return {"apiVersion": "v1", "kind": "Endpoints", "subsets": subsets,
            "metadata": {"name": metadata["name"], "namespace": metadata.get("namespace"),
                         "labels": labels}}


def kubernetes_slice(address: str, port: int) -> Object:
    """The ``kubernetes`` Service's slice: the apiserver's HTTPS address."""
    return {"apiVersion": f"{GROUP}/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {SERVICE_NAME: "kubernetes"}},
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [address], "conditions": {
                "ready": True, "serving": True, "terminating": False}}]}


def plan(existing: list[Object], wanted: list[Object]
         ) -> tuple[list[Object], list[Object], list[Object]]:
    """What to write so that ``existing`` slices (the controller's own, by name) hold
    ``wanted``: (updates: existing slices with new content, creates, deletes). Slices whose
    content is already wanted stay; the others are reused in name order before any is made."""
    pending = list(wanted)
    kept = []
    for piece in sorted(existing, key=lambda p: p["metadata"]["name"]):
        match = next((w for w in pending if same_content(piece, w)), None)
        if match is not None:
            pending.remove(match)
            kept.append(piece)
    spare = [p for p in sorted(existing, key=lambda p: p["metadata"]["name"]) if p not in kept]
    updates = [{**old, **{f: new[f] for f in ("ports", "endpoints", "addressType")},
                "metadata": {**old["metadata"], "labels": {
                    **(old["metadata"].get("labels") or {}), **new["metadata"]["labels"]}}}
               for old, new in zip(spare, pending, strict=False)]
    return updates, pending[len(updates):], spare[len(updates):]
