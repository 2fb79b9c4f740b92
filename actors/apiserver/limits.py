"""Admission plugins about compute resources: LimitRanger and ResourceQuota.

:class:`LimitRanger` fills each new pod's containers with the defaults of the namespace's
LimitRange objects (``default`` limits, ``defaultRequest`` requests, each falling back as
``objects.limit_range_defaults`` says) and refuses amounts outside their ``min``/``max``; it
runs after the pod's own defaults, so a container's limit without a request has already
become its request. :class:`ResourceQuota` keeps each ResourceQuota's
``status.used`` and refuses a pod that would take it past ``spec.hard``: it charges the quota
with a compare-and-swap on the quota object before the pod is stored, so two concurrent creates
can never both take the last unit (the loser re-reads and is refused), and gives the amounts
back when a pod is removed or its create fails after admission (``release``).

Neighbours: ``admission`` (the chain and its protocols), ``actors.objects`` (a pod's effective
requests and limits, ``pod_amounts``, shared with the scheduler), ``actors.quantity``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from actors.apiserver.admission import AdmissionRequest, ObjectAccess
from actors.objects import COMPUTE_PARSERS, limit_range_defaults, pod_amounts, pod_containers
from actors.quantity import format_cpu, format_memory
from bus.errors import Conflict

log = logging.getLogger(__name__)

Object = dict[str, Any]
FORMATTERS: dict[str, Callable[[int], str]] = {"cpu": format_cpu, "memory": format_memory}


def _section(container: Object, section: str) -> dict[str, Any]:
    """``resources.<section>`` of a container, created when absent."""
    resources = container.setdefault("resources", {})
    if not isinstance(resources, dict):
        return {}
    amounts = resources.setdefault(section, {})
    return amounts if isinstance(amounts, dict) else {}


def _amount(resource: str, value: Any) -> int | None:
    """An amount in base units (millicores, bytes), None when unparsable (validation says)."""
    try:
        return COMPUTE_PARSERS[resource](value)
    except (KeyError, ValueError):
        return None


class LimitRanger:
    """Defaults and bounds from the namespace's LimitRange objects, on pod creation, with
    Kubernetes' messages: defaults and bounds per container (items of ``type: Container``),
    bounds over the whole pod (``type: Pod``)."""

    name = "LimitRanger"

    def __init__(self, access: ObjectAccess) -> None:
        self._access = access

    def _items(self, request: AdmissionRequest) -> list[tuple[str, Object]]:
        """(type, item) of every LimitRange item that applies to ``request``."""
        if request.info.name != "pods" or request.operation != "CREATE" or request.subresource:
            return []
        return [(str(item.get("type", "Container")), item)
                for limit_range in self._access.list("limitranges", request.namespace)
                for item in (limit_range.get("spec") or {}).get("limits") or []
                if isinstance(item, dict)]

    def admit(self, request: AdmissionRequest) -> None:
        for item in (item for kind, item in self._items(request) if kind == "Container"):
            limits, requests = limit_range_defaults(item)
            for container in pod_containers((request.object or {}).get("spec")):
                for section, defaults in (("limits", limits), ("requests", requests)):
                    if defaults:
                        amounts = _section(container, section)
                        for resource, value in defaults.items():
                            amounts.setdefault(resource, value)

    def validate(self, request: AdmissionRequest) -> None:
        """``min``/``max`` per container, init containers too (``type: Container``), and over
        the pod's effective requests and limits (``type: Pod``)."""
        problems = []
        containers = pod_containers((request.object or {}).get("spec"))
        for kind, item in self._items(request):
            holders = containers if kind == "Container" else [_pod_total(request.object)]
            for holder in holders:
                problems += _bound_problems(item, holder, kind)
        if len(problems) == 1:
            raise request.forbidden(problems[0])
        if problems:
            raise request.forbidden(f"[{', '.join(problems)}]")


def _pod_total(pod: Object | None) -> Object:
    """The pod's effective requests and limits (:func:`pod_amounts`), as one container."""
    return {"resources": {section: {resource: FORMATTERS[resource](amount)
                                    for resource, amount in pod_amounts(pod, section).items()}
                          for section in ("requests", "limits")}}


def _bound_problems(item: Object, container: Object, kind: str) -> list[str]:
    resources = container.get("resources")
    if not isinstance(resources, dict):
        resources = {}
    problems = []
    for bound, section, word in (("min", "requests", "request"), ("max", "limits", "limit")):
        for resource, value in (item.get(bound) or {}).items():
            given = (resources.get(section) or {}).get(resource)
            what = "minimum" if bound == "min" else "maximum"
            if given is None:
                problems.append(f"{what} {resource} usage per {kind} is {value}.  No {word} "
                                "is specified")
                continue
            have, edge = _amount(resource, given), _amount(resource, value)
            if have is None or edge is None:
                continue
            if (bound == "min" and have < edge) or (bound == "max" and have > edge):
                problems.append(f"{what} {resource} usage per {kind} is {value}, but {word} "
                                f"is {given}")
    return problems


QUOTA_RESOURCES = ("pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}
MAX_CHARGE_ATTEMPTS = 20
"""Compare-and-swap rounds on a quota before giving up with 409 (each loser re-reads)."""


def pod_usage(pod: Object) -> dict[str, int]:
    """What a pod counts against a quota: one pod, and its effective requests and limits
    (:func:`pod_amounts`: init containers included; base units; 0 for what it does not give)."""
    usage = dict.fromkeys(QUOTA_RESOURCES, 0)
    usage["pods"] = 1
    for section in ("requests", "limits"):
        for resource, amount in pod_amounts(pod, section).items():
            usage[f"{section}.{resource}"] = amount
    return usage


def _quota_amount(name: str, value: Any) -> int | None:
    """A quota amount in base units: ``pods`` a count, ``*.cpu`` millicores, ``*.memory``
    bytes; None for a resource this quota does not track."""
    name = ALIASES.get(name, name)
    if name == "pods":
        return int(value) if str(value).isdigit() else None
    return _amount(name.rpartition(".")[2], value) if name in QUOTA_RESOURCES else None


def show(name: str, amount: int) -> str:
    """An amount as Kubernetes prints it in a quota message: ``requests.cpu=500m``."""
    kind = name.rpartition(".")[2]
    return f"{name}={FORMATTERS[kind](amount) if kind in FORMATTERS else amount}"


def _tracked(quota: Object, field: str) -> dict[str, int]:
    """``spec.hard`` (or ``status.used``) of a quota in base units, aliases resolved."""
    section = (quota.get("spec") if field == "hard" else quota.get("status")) or {}
    amounts = {}
    for name, value in (section.get(field) or {}).items():
        amount = _quota_amount(name, value)
        if amount is not None:
            amounts[ALIASES.get(name, name)] = amount
    return amounts


def _names(quota: Object) -> dict[str, str]:
    """Each tracked resource as the quota's ``spec.hard`` names it (``cpu`` or
    ``requests.cpu``): its status and its messages use the same words."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    return {ALIASES.get(name, name): name for name in hard}


def _written(amounts: dict[str, int], names: dict[str, str]) -> dict[str, str]:
    return dict(sorted(show(names.get(r, r), amount).split("=", 1)
                       for r, amount in amounts.items()))


class ResourceQuota:
    """Kubernetes' ResourceQuota admission for pods (``pods``, ``requests.cpu``,
    ``requests.memory``, ``limits.cpu``, ``limits.memory``; ``cpu``/``memory`` mean the
    requests). Last in the chain: nothing after it may refuse what it charged for."""

    name = "ResourceQuota"

    def __init__(self, access: ObjectAccess) -> None:
        self._access = access

    def admit(self, request: AdmissionRequest) -> None:
        """A quota's own status: ``hard`` follows the spec, ``used`` is counted from the
        pods stored when it is created and kept by the charges after that."""
        if request.info.name != "resourcequotas" or request.object is None \
                or request.subresource == "status":  # a status update says what it means
            return
        quota = request.object
        if request.operation == "CREATE":
            used = dict.fromkeys(_tracked(quota, "hard"), 0)
            for pod in self._access.list("pods", request.namespace):
                for name, amount in pod_usage(pod).items():
                    if name in used:
                        used[name] += amount
        else:
            used = {**dict.fromkeys(_tracked(quota, "hard"), 0),
                    **_tracked(request.old_object or {}, "used")}
        hard = (quota.get("spec") or {}).get("hard") or {}
        quota["status"] = {"hard": copy.deepcopy(hard), "used": _written(used, _names(quota))}

    def validate(self, request: AdmissionRequest) -> None:
        if (request.info.name != "pods" or request.operation != "CREATE"
                or request.subresource or request.object is None):
            return
        self._charge(request.namespace, pod_usage(request.object), request)

    def release(self, obj: Object) -> None:
        if obj.get("kind") == "Pod":
            usage = {name: -amount for name, amount in pod_usage(obj).items()}
            self._charge(obj.get("metadata", {}).get("namespace"), usage, None)

    def _charge(self, namespace: str | None, usage: dict[str, int],
                request: AdmissionRequest | None) -> None:
        """Add ``usage`` to every quota of ``namespace`` that tracks any of it, each by a
        compare-and-swap; refuse (when ``request`` is given) past a hard limit, giving back
        what the other quotas were charged."""
        charged: list[Object] = []
        try:
            for quota in self._access.list("resourcequotas", namespace):
                self._charge_with_retries(quota, usage, request)
                charged.append(quota)
        except Exception:
            refund = {name: -amount for name, amount in usage.items()}
            for quota in charged:
                self._charge_with_retries(quota, refund, None)
            raise

    def _charge_with_retries(self, quota: Object, usage: dict[str, int],
                             request: AdmissionRequest | None) -> None:
        meta = quota["metadata"]
        for _ in range(MAX_CHARGE_ATTEMPTS):
            try:
                self._charge_one(quota, usage, request)
                return
            except Conflict:
                fresh = self._access.get("resourcequotas", meta.get("namespace"), meta["name"])
                if fresh is None:
                    return
                quota = fresh
        raise Conflict(f'Operation cannot be fulfilled on resourcequotas "{meta["name"]}": too '
                       "many concurrent charges; try again")

    def _charge_one(self, quota: Object, usage: dict[str, int],
                    request: AdmissionRequest | None) -> None:
        hard, used = _tracked(quota, "hard"), _tracked(quota, "used")
        name = quota["metadata"]["name"]
        names = _names(quota)
        if request is not None:
            check(name, hard, used, usage, request, names)
        charged = {r: max(0, used.get(r, 0) + usage[r]) for r in hard if usage.get(r)}
        if not charged:
            return
        updated = copy.deepcopy(quota)
        status = updated.setdefault("status", {})
        status["used"] = {**(status.get("used") or {}), **_written(charged, names)}
        self._access.update_status("resourcequotas", updated)


def check(name: str, hard: dict[str, int], used: dict[str, int], usage: dict[str, int],
          request: AdmissionRequest, names: dict[str, str]) -> None:
    """Forbidden in Kubernetes' words when ``usage`` does not fit in quota ``name``."""
    unspecified = [names[r] for r in hard
                   if r != "pods" and not _specified(request.object or {}, r)]
    if unspecified:
        raise request.forbidden(f"failed quota: {name}: must specify "
                                f"{','.join(sorted(unspecified))}")
    over = sorted(r for r in hard if used.get(r, 0) + usage.get(r, 0) > hard[r])
    if over:
        def amounts(of: dict[str, int]) -> str:
            return ",".join(show(names[r], of.get(r, 0)) for r in over)

        raise request.forbidden(f"exceeded quota: {name}, requested: {amounts(usage)}, used: "
                                f"{amounts(used)}, limited: {amounts(hard)}")


def _specified(pod: Object, name: str) -> bool:
    """Every container of ``pod`` gives the amount quota resource ``name`` counts."""
    section, _, resource = name.partition(".")
    return all(resource in (((c.get("resources") or {}).get(section)) or {})
               for c in pod_containers(pod.get("spec")))
