"""Services (``v1``): their defaults, their checks, and what they ask of the address ranges.

A Service of type ClusterIP (the default), NodePort or LoadBalancer gets a ClusterIP from the
service range unless it asks for none (``clusterIP: None``, headless) or names one; NodePort and
LoadBalancer Services get a NodePort per port that names none. An ExternalName Service gets
neither. What is allocated is kept by an update that leaves it out (kube-apiserver's
``patchAllocatedValues``), and may not be changed once set. The words of every refusal are
kube-apiserver's.

Also here: a port's ``targetPort`` resolved against a pod (:func:`target_port`), kubectl's
``PORT(S)`` and ``EXTERNAL-IP`` cells, and the ``kubernetes`` Service with its Endpoints.

Pure functions over plain dicts. Neighbours: ``actors.api.ranges`` and ``actors.api.addresses``
(the allocation), ``actors.apiserver.serviceips`` (allocates), ``actors.api.endpointslices``
(the endpoints), ``actors.api.columns`` (the cells).

Which thread: any.
"""

from __future__ import annotations

import re
from typing import Any

from actors.api import addresses
from actors.api.objects import Object

RESOURCE = "services"
TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
AFFINITIES = ("ClientIP", "None")
PROTOCOLS = ("SCTP", "TCP", "UDP")
HEADLESS = "None"
CLIENT_IP_TIMEOUT = 10800
"""Seconds a ClientIP affinity lasts unless set (Kubernetes' three hours)."""
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def default_service(service: Object) -> None:
    """kube-apiserver's defaults of a Service (SetDefaults_Service)."""
    spec = service.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    kind = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        if isinstance(config, dict):
            config.setdefault("timeoutSeconds", CLIENT_IP_TIMEOUT)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    if kind != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    service.setdefault("status", {"loadBalancer": {}})


def problems(service: Object) -> list[str]:
    """kube-apiserver's checks of a Service's spec (ValidateService), in its words."""
    spec = service.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    found = []
    if kind not in TYPES:
        found.append(f'spec.type: Unsupported value: "{kind}": supported values: '
                     + ", ".join(f'"{t}"' for t in TYPES))
    if spec.get("sessionAffinity", "None") not in AFFINITIES:
        found.append(f'spec.sessionAffinity: Unsupported value: "{spec["sessionAffinity"]}": '
                     'supported values: "ClientIP", "None"')
    ports = spec.get("ports") or []
    if kind == "ExternalName":
        if not spec.get("externalName"):
            found.append("spec.externalName: Required value")
        if spec.get("clusterIP"):
            found.append(f'spec.clusterIPs: Invalid value: []string{{"{spec["clusterIP"]}"}}: '
                         "may not be set for ExternalName services")
    elif not ports and spec.get("clusterIP") != HEADLESS:
        found.append("spec.ports: Required value")
    if spec.get("clusterIP") == HEADLESS and kind in ("NodePort", "LoadBalancer"):
        found.append(f'spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' '
                     f"for {kind} services")
    return found + _ports_problems(ports, kind)


def _ports_problems(ports: list[Any], kind: str) -> list[str]:
    found: list[str] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        at = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            found.append(f"{at}.name: Required value")
        elif name and not _PORT_NAME.match(name):
            found.append(f'{at}.name: Invalid value: "{name}": a DNS-1123 label must consist '
                         "of lower case alphanumeric characters or '-'")
        elif name in names:
            found.append(f'{at}.name: Duplicate value: "{name}"')
        names.add(name)
        found += _number_problems(f"{at}.port", port.get("port"))
        if port.get("protocol", "TCP") not in PROTOCOLS:
            found.append(f'{at}.protocol: Unsupported value: "{port["protocol"]}": supported '
                         'values: "SCTP", "TCP", "UDP"')
        target = port.get("targetPort")
        if isinstance(target, str) and (not _SVC_NAME.match(target) or len(target) > 15):
            found.append(f'{at}.targetPort: Invalid value: "{target}": must contain only '
                         "alpha-numeric characters (a-z, 0-9), and hyphens (-)")
        elif isinstance(target, int):
            found += _number_problems(f"{at}.targetPort", target)
        if port.get("nodePort") and kind not in ("NodePort", "LoadBalancer"):
            found.append(f"{at}.nodePort: Forbidden: may not be used when `type` is "
                         f"'{kind}'")
    return found


def _number_problems(at: str, value: Any) -> list[str]:
    if isinstance(value, int) and 1 <= value <= 65535:
        return []
    return [f"{at}: Invalid value: {value}: must be between 1 and 65535, inclusive"]


# -- allocation ------------------------------------------------------------------------------


def needs_cluster_ip(service: Object) -> bool:
    spec = service.get("spec") or {}
    return spec.get("type", "ClusterIP") != "ExternalName" and spec.get("clusterIP") != HEADLESS


def needs_node_ports(service: Object) -> bool:
    return (service.get("spec") or {}).get("type") in ("NodePort", "LoadBalancer")


def node_ports(service: Object) -> list[int]:
    """The NodePorts a Service holds."""
    if not needs_node_ports(service):
        return []
    return [p["nodePort"] for p in service["spec"].get("ports") or [] if p.get("nodePort")]


def keep_allocated(service: Object, old: Object) -> None:
    """Fill what an update leaves out with what the old Service holds (kube-apiserver's
    patchAllocatedValues): its ClusterIP, and the NodePort of each port it still has."""
    spec, before = service.setdefault("spec", {}), old.get("spec") or {}
    if needs_cluster_ip(service) and needs_cluster_ip(old) and not spec.get("clusterIP"):
        spec["clusterIP"] = before.get("clusterIP")
        spec["clusterIPs"] = before.get("clusterIPs")
    if needs_node_ports(service) and needs_node_ports(old):
        held = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                for p in before.get("ports") or []}
        for port in spec.get("ports") or []:
            if not port.get("nodePort") and held.get((port.get("port"), port.get("protocol"))):
                port["nodePort"] = held[(port.get("port"), port.get("protocol"))]


def set_cluster_ip(service: Object, ip: str | None) -> None:
    """Write the ClusterIP chosen (None: the Service has none) with its family fields."""
    spec = service["spec"]
    if spec.get("type") == "ExternalName":
        return
    chosen = ip or HEADLESS
    spec["clusterIP"], spec["clusterIPs"] = chosen, [chosen]
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")


def ip_invalid(ip: str, why: str) -> str:
    """A refusal of the ClusterIP ``ip`` in kube-apiserver's words."""
    return f'spec.clusterIPs: Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: {why}'


def out_of_range(ip: str, cidr: str) -> str:
    return ip_invalid(ip, f"the provided IP ({ip}) is not in the valid range. The range of "
                          f"valid IPs is {cidr}")


def port_invalid(index: int, port: int, why: str) -> str:
    return f"spec.ports[{index}].nodePort: Invalid value: {port}: {why}"


def port_out_of_range(index: int, port: int, ports: addresses.PortRange) -> str:
    return port_invalid(index, port, "provided port is not in the valid range. The range of "
                                     f"valid ports is {ports}")


# -- endpoints -------------------------------------------------------------------------------


def target_port(port: Object, pod: Object) -> int | None:
    """The pod's port a Service port sends to: ``targetPort`` as a number, or the named
    container port of the pod (None when the pod has no port of that name)."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in pod.get("spec", {}).get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("name") == target and \
                    declared.get("protocol", "TCP") == port.get("protocol", "TCP"):
                return int(declared["containerPort"])
    return None


# -- kubectl's cells -------------------------------------------------------------------------


def ports_text(service: Object) -> str:
    """kubectl's PORT(S): ``80/TCP``, ``80:30080/TCP``, ``<none>``."""
    ports = (service.get("spec") or {}).get("ports") or []
    cells = [f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/"
             f"{p.get('protocol', 'TCP')}" for p in ports]
    return ",".join(cells) or "<none>"


def external_ip_text(service: Object) -> str:
    """kubectl's EXTERNAL-IP: the external name, the external IPs, or ``<none>``
    (``<pending>`` for a LoadBalancer without an ingress address)."""
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return spec.get("externalName") or "<none>"
    ingress = [i.get("ip") or i.get("hostname") for i in
               (service.get("status") or {}).get("loadBalancer", {}).get("ingress") or []]
    shown = [*ingress, *(spec.get("externalIPs") or [])]
    if shown:
        return ",".join(str(s) for s in shown)
    return "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"


# -- the kubernetes Service ------------------------------------------------------------------


KUBERNETES = "kubernetes"
"""The Service in ``default`` that points at the apiserver."""


def kubernetes_service(ip: str) -> Object:
    """The ``kubernetes`` Service (kube-apiserver's bootstrap controller's), on ``ip``."""
    service: Object = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": KUBERNETES, "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP",
                            "targetPort": 443}]}}
    default_service(service)
    set_cluster_ip(service, ip)
    return service


def kubernetes_endpoints(address: str, port: int) -> Object:
    """The ``kubernetes`` Endpoints: the apiserver's HTTPS address."""
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": KUBERNETES, "namespace": "default",
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": address}],
                         "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}
