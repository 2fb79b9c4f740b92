"""What an object counts against a ResourceQuota: Kubernetes' quota evaluators, pure functions.

Every object of every resource counts one ``count/<resource>`` (core group) or
``count/<resource>.<group>`` (the generic object-count evaluator). Some also count:

- ``configmaps``, ``secrets``, ``resourcequotas``, ``replicationcontrollers``: their legacy
  name, one each;
- pods: ``pods`` and their effective ``requests.cpu``, ``requests.memory``, ``limits.cpu``,
  ``limits.memory`` (``cpu``/``memory`` are aliases of the requests);
- services: ``services``, ``services.loadbalancers`` and ``services.nodeports`` by type;
- persistentvolumeclaims: ``persistentvolumeclaims`` and ``requests.storage`` (the larger of
  the request and what was allocated), both again per storage class as
  ``<class>.storageclass.storage.k8s.io/<name>``.

Amounts are integers in base units: counts, millicores (cpu), bytes (memory, storage). An
evaluator is written for each resource whether or not the server stores it yet: it counts as
soon as objects of it are stored.

Neighbours: ``limits`` (the ResourceQuota admission plugin, which charges these amounts),
``actors.api.amounts`` (a pod's effective requests and limits), ``actors.api.resources`` (the
registered resources).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.api.amounts import pod_amounts
from actors.api.objects import Object
from actors.api.quantity import format_cpu, format_memory, parse_cpu, parse_memory
from actors.api.resources import qualify

Usage = dict[str, int]
"""Quota resource name -> amount in base units."""

ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}
COMPUTE = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
"""The pod resources every container must give once a quota limits them."""
LEGACY_COUNTS = ("configmaps", "secrets", "resourcequotas", "replicationcontrollers")
"""Core resources whose object count also goes by their plain name."""
SERVICE_RESOURCES = ("services", "services.loadbalancers", "services.nodeports")
CLAIM_RESOURCES = ("persistentvolumeclaims", "requests.storage")
STORAGE_CLASS = ".storageclass.storage.k8s.io/"
"""``<class>`` + this + a claim resource: that resource for the claims of one class."""
STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
"""Still read before ``spec.storageClassName``, as Kubernetes does."""


def count_name(group: str, resource: str) -> str:
    """The object-count quota resource: ``count/configmaps``, ``count/deployments.apps``."""
    return f"count/{qualify(resource, group)}"


def counted_by(name: str) -> tuple[str, str] | None:
    """(group, resource) whose objects count quota resource ``name``; None for a name no
    evaluator counts (a quota may name it; it is not tracked)."""
    name = ALIASES.get(name, name)
    if name.startswith("count/"):
        resource, _, group = name.removeprefix("count/").partition(".")
        return group, resource
    if name == "pods" or name in COMPUTE:
        return "", "pods"
    if name in LEGACY_COUNTS:
        return "", name
    if name in SERVICE_RESOURCES:
        return "", "services"
    if name in CLAIM_RESOURCES or name.partition(STORAGE_CLASS)[2] in CLAIM_RESOURCES:
        return "", "persistentvolumeclaims"
    return None


def _unit(name: str) -> tuple[Callable[[Any], int], Callable[[int], str]]:
    """How an amount of ``name`` is read and written: cpu in millicores, memory and storage
    in bytes, counts as whole numbers (read as quantities: ``1k`` is 1000)."""
    if name.endswith("cpu"):
        return parse_cpu, format_cpu
    if name.endswith(("memory", "storage")):
        return parse_memory, format_memory
    return parse_memory, str


def amount(name: str, value: Any) -> int | None:
    """A quota amount in base units; None when ``name`` is not tracked or ``value`` is no
    quantity (validation says)."""
    if counted_by(name) is None:
        return None
    try:
        return _unit(name)[0](value)
    except ValueError:
        return None


def show(name: str, value: int) -> str:
    """An amount as Kubernetes writes it in a quota: ``requests.cpu=500m``."""
    return f"{name}={_unit(name)[1](value)}"


def pod_usage(pod: Object) -> Usage:
    """One pod, and its effective requests and limits (:func:`pod_amounts`: init containers
    included; 0 for what it does not give)."""
    usage = dict.fromkeys(COMPUTE, 0)
    usage["pods"] = 1
    for section in ("requests", "limits"):
        for resource, value in pod_amounts(pod, section).items():
            usage[f"{section}.{resource}"] = value
    return usage


def service_usage(service: Object) -> Usage:
    """One service; a NodePort service each of its ports as a node port, a LoadBalancer one
    also one load balancer (and only the ports that name a node port when it allocates none)."""
    spec = service.get("spec") or {}
    ports = [port for port in spec.get("ports") or [] if isinstance(port, dict)]
    usage = {"services": 1, "services.loadbalancers": 0, "services.nodeports": 0}
    kind = spec.get("type")
    if kind == "NodePort":
        usage["services.nodeports"] = len(ports)
    elif kind == "LoadBalancer":
        usage["services.loadbalancers"] = 1
        allocates = spec.get("allocateLoadBalancerNodePorts", True) is not False
        usage["services.nodeports"] = sum(1 for port in ports
                                          if allocates or port.get("nodePort"))
    return usage


def claim_usage(claim: Object) -> Usage:
    """One claim and the storage it asks for (the larger of ``spec.resources.requests`` and
    ``status.allocatedResources``, as an expansion counts once asked), also per class."""
    usage = {"persistentvolumeclaims": 1}
    storage = _storage(claim)
    if storage is not None:
        usage["requests.storage"] = storage
    annotations = (claim.get("metadata") or {}).get("annotations") or {}
    storage_class = annotations.get(STORAGE_CLASS_ANNOTATION) or (
        claim.get("spec") or {}).get("storageClassName")
    if storage_class:
        usage.update({f"{storage_class}{STORAGE_CLASS}{name}": value
                      for name, value in list(usage.items())})
    return usage


def _storage(claim: Object) -> int | None:
    requested = _quantity(((claim.get("spec") or {}).get("resources") or {}).get("requests"))
    allocated = _quantity((claim.get("status") or {}).get("allocatedResources"))
    if requested is None or allocated is None:
        return requested
    return max(requested, allocated)


def _quantity(amounts: Any) -> int | None:
    """``storage`` of a resource list in bytes (rounded up); None when absent or unreadable."""
    if not isinstance(amounts, dict) or "storage" not in amounts:
        return None
    try:
        return parse_memory(amounts["storage"])
    except ValueError:
        return None


def _legacy_count(name: str) -> Callable[[Object], Usage]:
    return lambda _obj: {name: 1}


EVALUATORS: dict[str, Callable[[Object], Usage]] = {
    "pods": pod_usage, "services": service_usage, "persistentvolumeclaims": claim_usage,
    **{name: _legacy_count(name) for name in LEGACY_COUNTS},
}
"""The core resources that count more than their object count."""


def usage(group: str, resource: str, obj: Object) -> Usage:
    """Everything one object of ``resource`` in ``group`` counts against a quota."""
    counted = {count_name(group, resource): 1}
    evaluator = EVALUATORS.get(resource) if not group else None
    if evaluator is not None:
        counted.update(evaluator(obj))
    return counted


def delta(new: Usage, old: Usage) -> Usage:
    """What going from ``old`` to ``new`` adds (negative: gives back), zeros left out."""
    changed = {name: new.get(name, 0) - old.get(name, 0) for name in {*new, *old}}
    return {name: value for name, value in changed.items() if value}

