"""Amounts as Kubernetes counts them: a pod's effective requests and limits (cpu, memory), its
QoS class, whole numbers of things, and IntOrString percentages.

Pure functions over plain dicts; an unparsable amount counts 0 here (validation reports it).

Neighbours: ``actors.api.quantity`` (parses one quantity), ``actors.api.pods`` (a pod's
containers), ``actors.scheduler`` (requests when filtering and scoring),
``actors.apiserver.admission`` (LimitRanger, ResourceQuota), ``actors.api.validation``,
``actors.controllers.deployment`` (maxSurge, maxUnavailable).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from actors.api.objects import Object
from actors.api.pods import listed, pod_containers
from actors.api.quantity import parse_cpu, parse_memory, parse_quantity

NONZERO_CPU = 100
"""Millicores counted for a container without a cpu request when scoring (kube-scheduler's)."""
NONZERO_MEMORY = 200 * 2**20
"""Bytes counted for a container without a memory request when scoring (kube-scheduler's)."""


COMPUTE_PARSERS: dict[str, Callable[[Any], int]] = {"cpu": parse_cpu, "memory": parse_memory}
"""The compute resources counted for pods, each parsed to base units (millicores, bytes)."""


def pod_requests(pod: Object, nonzero: bool = False) -> tuple[int, int]:
    """(millicpu, bytes) the pod requests (:func:`pod_amounts`); with ``nonzero``, containers
    that request nothing count as the scoring defaults, so empty pods still spread over nodes."""
    amounts = pod_amounts(pod, "requests",
                          {"cpu": NONZERO_CPU, "memory": NONZERO_MEMORY} if nonzero else None)
    return amounts.get("cpu", 0), amounts.get("memory", 0)


def pod_amounts(pod: Object | None, section: str,
                missing: dict[str, int] | None = None) -> dict[str, int]:
    """The pod's effective ``requests`` or ``limits`` per compute resource, in base units, as
    Kubernetes counts them for the scheduler, quotas and LimitRange: the app containers and the
    sidecars (init containers with ``restartPolicy: Always``) added up, or what one init
    container takes while it runs (with the sidecars started before it), whichever is more. A
    resource no container names is absent; ``missing`` gives an amount to each container that
    does not name it. An unparsable amount counts 0 (validation reports it)."""
    spec = (pod or {}).get("spec")
    spec = spec if isinstance(spec, dict) else {}
    total = _add({}, *(_container_amounts(c, section, missing)
                       for c in listed(spec.get("containers"))))
    sidecars: dict[str, int] = {}
    peak: dict[str, int] = {}  # the most an init container takes with the sidecars before it
    for container in listed(spec.get("initContainers")):
        amounts = _container_amounts(container, section, missing)
        if container.get("restartPolicy") == "Always":
            _add(total, amounts)
            running = _add(sidecars, amounts)
        else:
            running = _add(dict(sidecars), amounts)
        for resource, amount in running.items():
            peak[resource] = max(peak.get(resource, 0), amount)
    for resource, amount in peak.items():
        total[resource] = max(total.get(resource, 0), amount)
    return total


def _container_amounts(container: Object, section: str,
                       missing: dict[str, int] | None) -> dict[str, int]:
    resources = container.get("resources")
    given = resources.get(section) if isinstance(resources, dict) else None
    given = given if isinstance(given, dict) else {}
    amounts = dict(missing or {})
    for resource, parse in COMPUTE_PARSERS.items():
        if resource in given:
            try:
                amounts[resource] = parse(given[resource])
            except ValueError:
                amounts[resource] = 0
    return amounts


def _add(into: dict[str, int], *amounts: dict[str, int]) -> dict[str, int]:
    """``into`` with each of ``amounts`` added, resource by resource."""
    for each in amounts:
        for resource, amount in each.items():
            into[resource] = into.get(resource, 0) + amount
    return into


def parse_count(value: Any) -> int:
    """A whole number of things (``pods``), as a quantity: ``"110"``, ``110``, ``"1e2"``."""
    amount = parse_quantity(value)
    if amount < 0 or amount != amount.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(amount)


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """Kubernetes' IntOrString scaled against ``total``: ``3`` is 3, ``"25%"`` is a quarter of
    ``total``, rounded up or down; ValueError for anything else or a negative amount."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    raise ValueError(f"{value!r}: must be a non-negative integer or a percentage (\"25%\")")


def qos_class(pod: Object) -> str:
    """Kubernetes' ComputePodQOS (``status.qosClass``): ``BestEffort`` when no container asks
    for cpu or memory, ``Guaranteed`` when every container limits both and the pod's requests
    (its limits where it names none, as defaulted) equal its limits, else ``Burstable``."""
    spec = pod.get("spec")
    requests: dict[str, int] = {}
    limits: dict[str, int] = {}
    guaranteed = True
    for container in pod_containers(spec):
        _add(requests, _positive(_container_amounts(container, "requests", None)))
        capped = _positive(_container_amounts(container, "limits", None))
        guaranteed = guaranteed and set(capped) == set(COMPUTE_PARSERS)
        _add(limits, capped)
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed and requests == limits else "Burstable"


def _positive(amounts: dict[str, int]) -> dict[str, int]:
    """The amounts above zero (what ComputePodQOS counts)."""
    return {resource: amount for resource, amount in amounts.items() if amount > 0}
