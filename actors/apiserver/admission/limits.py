"""Admission plugins about resources: LimitRanger and ResourceQuota.

:class:`LimitRanger` fills each new pod's containers with the defaults of the namespace's
LimitRange objects (``default`` limits, ``defaultRequest`` requests, each falling back as
``defaulting.limit_range_defaults`` says), annotating the pod with what it set
(``kubernetes.io/limit-ranger``), and refuses amounts outside their ``min``/``max``; it
runs after the pod's own defaults, so a container's limit without a request has already
become its request. :class:`ResourceQuota` keeps each ResourceQuota's
``status.used`` and refuses an object that would take it past ``spec.hard`` (what each object
counts: ``quota``): it charges the quota with a compare-and-swap on the quota object before the
object is stored (an update: what it counts more than before), so two concurrent creates can
never both take the last unit (the loser re-reads and is refused), and gives the amounts back
when an object is removed or its write fails after admission (``release``). A dry run is
checked against the quotas but charges nothing (kube-apiserver's quota admission).

Neighbours: ``admission`` (the chain and its protocols), ``quota`` (the evaluators),
``actors.api.amounts`` (a pod's effective requests and limits, ``pod_amounts``, shared with the
scheduler), ``actors.api.defaulting`` (a LimitRange's defaults), ``actors.api.quantity``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from actors.api.amounts import COMPUTE_PARSERS, pod_amounts
from actors.api.defaulting import limit_range_defaults
from actors.api.objects import Object
from actors.api.pods import listed, pod_containers
from actors.api.quantity import format_cpu, format_memory
from actors.apiserver.admission import quota as quota_usage
from actors.apiserver.admission.chain import AdmissionRequest, ObjectAccess
from bus.errors import Conflict, NotFound

log = logging.getLogger(__name__)

FORMATTERS: dict[str, Callable[[int], str]] = {"cpu": format_cpu, "memory": format_memory}
ANNOTATION = "kubernetes.io/limit-ranger"
"""Says which defaults the LimitRanger gave a pod's containers."""


def _section(container: Object, section: str) -> dict[str, Any]:
    """``resources.<section>`` of a container, created when absent."""
    resources = container.setdefault("resources", {})
    if not isinstance(resources, dict):
        return {}
    amounts = resources.setdefault(section, {})
    return amounts if isinstance(amounts, dict) else {}


def _merge(container: Object, kind: str, requests: dict[str, Any],
           limits: dict[str, Any]) -> list[str]:
    """Give ``container`` the default ``requests`` and ``limits`` it lacks; what was set, as
    the LimitRanger annotation says it (``cpu, memory request for container app``)."""
    said = []
    for section, defaults in (("requests", requests), ("limits", limits)):
        amounts = _section(container, section) if defaults else {}
        missing = sorted(r for r in defaults if r not in amounts)
        amounts.update({r: defaults[r] for r in missing})
        if missing:
            said.append(f"{', '.join(missing)} {section[:-1]} for {kind} {container.get('name')}")
    return said


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
        """Each Container item's defaults into the containers that lack them, the pod
        annotated with what was set (``kubernetes.io/limit-ranger``, Kubernetes' words)."""
        pod = request.object or {}
        spec = pod.get("spec")
        for item in (item for kind, item in self._items(request) if kind == "Container"):
            limits, requests = limit_range_defaults(item)
            said = [words for field, kind in (("containers", "container"),
                                              ("initContainers", "init container"))
                    for container in listed((spec or {}).get(field))
                    for words in _merge(container, kind, requests, limits)]
            metadata = pod.get("metadata")
            if said and isinstance(metadata, dict):
                metadata["annotations"] = {**(metadata.get("annotations") or {}),
                                           ANNOTATION: "LimitRanger plugin set: "
                                           + "; ".join(said)}

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


MAX_CHARGE_ATTEMPTS = 20
"""Compare-and-swap rounds on a quota before giving up with 409 (each loser re-reads)."""


def _tracked(quota: Object, field: str) -> dict[str, int]:
    """``spec.hard`` (or ``status.used``) of a quota in base units, aliases resolved."""
    section = (quota.get("spec") if field == "hard" else quota.get("status")) or {}
    amounts = {}
    for name, value in (section.get(field) or {}).items():
        counted = quota_usage.amount(name, value)
        if counted is not None:
            amounts[quota_usage.ALIASES.get(name, name)] = counted
    return amounts


def _names(quota: Object) -> dict[str, str]:
    """Each tracked resource as the quota's ``spec.hard`` names it (``cpu`` or
    ``requests.cpu``): its status and its messages use the same words."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    return {quota_usage.ALIASES.get(name, name): name for name in hard}


def _written(amounts: dict[str, int], names: dict[str, str]) -> dict[str, str]:
    return dict(sorted(quota_usage.show(names.get(r, r), amount).split("=", 1)
                       for r, amount in amounts.items()))


def _charges(request: AdmissionRequest) -> bool:
    """Whether ``request`` may add to its namespace's quotas: a create (not a binding) or an
    update of a namespaced object."""
    return request.info.namespaced and request.object is not None and \
        request.operation != "DELETE" and not (request.operation == "CREATE"
                                                 and request.subresource)  # a binding


def _request_usage(request: AdmissionRequest) -> dict[str, int]:
    """What ``request`` (that :func:`_charges`) adds to its namespace's quotas (negative: gives
    back): a create, what the new object counts; an update, what it counts more (or less)
    than the old one."""
    info = request.info
    assert request.object is not None, "only asked of a request that charges"
    new = quota_usage.usage(info.group, info.name, request.object)
    if request.operation == "CREATE":
        return new
    return quota_usage.delta(new, quota_usage.usage(info.group, info.name,
                                                    request.old_object or {}))


class ResourceQuota:
    """Kubernetes' ResourceQuota admission: object counts of every resource, pods' compute
    resources, services and claims (what ``quota`` evaluates). Last in the chain: nothing
    after it may refuse what it charged for."""

    name = "ResourceQuota"

    def __init__(self, access: ObjectAccess) -> None:
        self._access = access

    def admit(self, request: AdmissionRequest) -> None:
        """A quota's own status: ``hard`` follows the spec, ``used`` is counted from the
        objects stored when it is created (itself included, as Kubernetes' recount) and kept
        by the charges after that."""
        if request.info.name != "resourcequotas" or request.object is None \
                or request.subresource == "status":  # a status update says what it means
            return
        quota = request.object
        if request.operation == "CREATE":
            used = self._count(request.namespace, dict.fromkeys(_tracked(quota, "hard"), 0))
            for name, amount in quota_usage.usage("", "resourcequotas", quota).items():
                if name in used:
                    used[name] += amount
        else:
            used = {**dict.fromkeys(_tracked(quota, "hard"), 0),
                    **_tracked(request.old_object or {}, "used")}
        hard = (quota.get("spec") or {}).get("hard") or {}
        quota["status"] = {"hard": copy.deepcopy(hard), "used": _written(used, _names(quota))}

    def _count(self, namespace: str | None, used: dict[str, int]) -> dict[str, int]:
        """``used`` plus what the objects stored in ``namespace`` count of each of its names."""
        counted = {quota_usage.counted_by(name) for name in used}
        for group, resource in (pair for pair in counted if pair is not None):
            try:
                info = self._access.served.lookup(group, resource)
            except NotFound:  # not a resource this server serves (yet): nothing to count
                continue
            for obj in self._access.list(info, namespace):
                for name, amount in quota_usage.usage(group, resource, obj).items():
                    if name in used:
                        used[name] += amount
        return used

    def validate(self, request: AdmissionRequest) -> None:
        if not _charges(request) or not (quotas := self._quotas(request.namespace)):
            return  # no quota there: what the object counts is not even counted
        usage = _request_usage(request)
        pod_create = request.info.name == "pods" and request.operation == "CREATE"
        if usage:
            self._charge(quotas, usage, request, _pod_constraints if pod_create else None)

    def release(self, obj: Object, old: Object | None = None) -> None:
        """Give back what ``obj`` counted (or, with ``old``, what changing ``old`` into ``obj``
        was charged)."""
        info = self._access.served.of(obj)
        if info is None or not info.namespaced or not (
                quotas := self._quotas(obj.get("metadata", {}).get("namespace"))):
            return
        counted = quota_usage.usage(info.group, info.name, obj)
        if old is not None:
            counted = quota_usage.delta(counted, quota_usage.usage(info.group, info.name, old))
        if counted:
            self._charge(quotas, {name: -amount for name, amount in counted.items()}, None)

    def _quotas(self, namespace: str | None) -> list[Object]:
        """The ResourceQuotas of ``namespace`` (None, a cluster-scoped object's: none). Read
        before the usage is counted: a pod's requests and limits cost more to count than the
        list, and most namespaces have no quota."""
        return self._access.list("resourcequotas", namespace) if namespace else []

    def _charge(self, quotas: list[Object], usage: dict[str, int],
                request: AdmissionRequest | None, constraints: Constraints | None = None
                ) -> None:
        """Add ``usage`` to every one of ``quotas`` (a namespace's) that tracks any of it, each
        by a compare-and-swap; refuse (when ``request`` is given) past a hard limit, giving
        back what the other quotas were charged."""
        charged: list[Object] = []
        try:
            for quota in quotas:
                self._charge_with_retries(quota, usage, request, constraints)
                charged.append(quota)
        except Exception:
            refund = {name: -amount for name, amount in usage.items()}
            for quota in charged:
                self._charge_with_retries(quota, refund, None, None)
            raise

    def _charge_with_retries(self, quota: Object, usage: dict[str, int],
                             request: AdmissionRequest | None,
                             constraints: Constraints | None) -> None:
        meta = quota["metadata"]
        for _ in range(MAX_CHARGE_ATTEMPTS):
            try:
                self._charge_one(quota, usage, request, constraints)
                return
            except Conflict:
                fresh = self._access.get("resourcequotas", meta.get("namespace"), meta["name"])
                if fresh is None:
                    return
                quota = fresh
        raise Conflict(f'Operation cannot be fulfilled on resourcequotas "{meta["name"]}": too '
                       "many concurrent charges; try again")

    def _charge_one(self, quota: Object, usage: dict[str, int],
                    request: AdmissionRequest | None, constraints: Constraints | None) -> None:
        hard, used = _tracked(quota, "hard"), _tracked(quota, "used")
        name = quota["metadata"]["name"]
        names = _names(quota)
        if request is not None:
            if constraints is not None:
                constraints(name, hard, request, names)
            check(name, hard, used, usage, request, names)
        charged = {r: max(0, used.get(r, 0) + usage[r]) for r in hard if usage.get(r)}
        if not charged or (request is not None and request.dry_run):  # checked, not charged
            return
        updated = copy.deepcopy(quota)
        status = updated.setdefault("status", {})
        status["used"] = {**(status.get("used") or {}), **_written(charged, names)}
        self._access.update_status("resourcequotas", updated)


Constraints = Callable[[str, dict[str, int], AdmissionRequest, dict[str, str]], None]
"""What an object must say before quota ``name`` admits it (Kubernetes' evaluator
``Constraints``); raises Forbidden."""


def _pod_constraints(name: str, hard: dict[str, int], request: AdmissionRequest,
                     names: dict[str, str]) -> None:
    """A pod's containers must each give every compute resource the quota limits; refused
    naming, per resource, the containers that do not (Kubernetes' words)."""
    unspecified = {names[r]: _unspecified(request.object or {}, r) for r in hard
                   if r in quota_usage.COMPUTE}
    said = [f"{r} for: {','.join(sorted(c))}" for r, c in sorted(unspecified.items()) if c]
    if said:
        raise request.forbidden(f"failed quota: {name}: must specify {'; '.join(said)}")


def check(name: str, hard: dict[str, int], used: dict[str, int], usage: dict[str, int],
          request: AdmissionRequest, names: dict[str, str]) -> None:
    """Forbidden in Kubernetes' words when what ``usage`` adds does not fit in quota
    ``name`` (only what it adds is checked: a quota already past a limit still admits what
    does not add to it)."""
    over = sorted(r for r in hard if usage.get(r, 0) > 0 and used.get(r, 0) + usage[r] > hard[r])
    if over:
        def amounts(of: dict[str, int]) -> str:
            return ",".join(quota_usage.show(names[r], of.get(r, 0)) for r in over)

        raise request.forbidden(f"exceeded quota: {name}, requested: {amounts(usage)}, used: "
                                f"{amounts(used)}, limited: {amounts(hard)}")


def _unspecified(pod: Object, name: str) -> set[str]:
    """The containers of ``pod`` that do not give the amount quota resource ``name`` counts."""
    section, _, resource = name.partition(".")
    return {str(c.get("name")) for c in pod_containers(pod.get("spec"))
            if resource not in (((c.get("resources") or {}).get(section)) or {})}
