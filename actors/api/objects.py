"""The API object model: which resources exist, their keys, defaults and validation.

Objects are plain dicts in Kubernetes' shape (``apiVersion``, ``kind``, ``metadata``, ``spec``,
``status``), so simple Kubernetes manifests apply unchanged. This module owns what is known
about each resource (:class:`ResourceInfo`) and the pure functions that default and validate
an object before the apiserver stores it.

Neighbours: ``actors.api.selectors`` (matching), ``actors.api.quantity`` (cpu/memory amounts),
``actors.apiserver`` (the only writer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from actors.api import certificates, priorityclasses
from actors.api.quantity import parse_cpu, parse_memory
from actors.api.selectors import selector_matches, selector_requirements
from bus.errors import BadRequest, Invalid, NotFound

Object = dict[str, Any]

TRACE_ANNOTATION = "kubeactor.io/trace-id"
"""Annotation carrying the trace id of the request that created an object (DESIGN §7)."""

DEFAULT_SCHEDULER = "default-scheduler"

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
"""Namespaces that exist in every cluster and may not be deleted."""
NODE_LEASE_NAMESPACE = "kube-node-lease"
"""Where each kubelet keeps the Lease that is its heartbeat."""
SYSTEM_NAMESPACES = (*IMMORTAL_NAMESPACES, NODE_LEASE_NAMESPACE)
"""Namespaces the apiserver creates at start."""


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """What the apiserver and kubectl know about one resource."""

    name: str
    """Plural, lower case: ``pods``."""
    kind: str
    group: str = ""
    version: str = "v1"
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    """Groups of types kubectl can name at once, as in API discovery: ``all``."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def key(self, namespace: str | None, name: str) -> str:
        """The store key of one object: ``/pods/<ns>/<name>`` or ``/nodes/<name>``."""
        return f"{self.prefix(namespace)}{name}"

    def prefix(self, namespace: str | None) -> str:
        """Store key prefix of a list: all namespaces when ``namespace`` is None."""
        group = f"{self.group}/" if self.group else ""
        if self.namespaced and namespace:
            return f"/{group}{self.name}/{namespace}/"
        return f"/{group}{self.name}/"


_RBAC = "rbac.authorization.k8s.io"
RESOURCES: tuple[ResourceInfo, ...] = (
    ResourceInfo("namespaces", "Namespace", namespaced=False, short_names=("ns",),
                 subresources=("finalize",)),
    ResourceInfo(
        "pods", "Pod", short_names=("po",), subresources=("status", "binding", "log", "exec"),
        categories=("all",),
    ),
    ResourceInfo("nodes", "Node", namespaced=False, short_names=("no",), subresources=("status",)),
    ResourceInfo("events", "Event", short_names=("ev",)),
    ResourceInfo("configmaps", "ConfigMap", short_names=("cm",)),
    ResourceInfo("leases", "Lease", group="coordination.k8s.io"),
    ResourceInfo("roles", "Role", group=_RBAC),
    ResourceInfo("rolebindings", "RoleBinding", group=_RBAC),
    ResourceInfo("clusterroles", "ClusterRole", group=_RBAC, namespaced=False),
    ResourceInfo("clusterrolebindings", "ClusterRoleBinding", group=_RBAC, namespaced=False),
    ResourceInfo("limitranges", "LimitRange", short_names=("limits",)),
    ResourceInfo("resourcequotas", "ResourceQuota", short_names=("quota",),
                 subresources=("status",)),
    ResourceInfo("admissionregistrations", "AdmissionRegistration",
                 group="admissionregistration.kubeactor.io", namespaced=False),
    ResourceInfo("selfsubjectaccessreviews", "SelfSubjectAccessReview",
                 group="authorization.k8s.io", namespaced=False),
    ResourceInfo("subjectaccessreviews", "SubjectAccessReview", group="authorization.k8s.io",
                 namespaced=False),
    ResourceInfo("replicasets", "ReplicaSet", group="apps", short_names=("rs",),
                 subresources=("status", "scale"), categories=("all",)),
    ResourceInfo("deployments", "Deployment", group="apps", short_names=("deploy",),
                 subresources=("status", "scale"), categories=("all",)),
    ResourceInfo(certificates.RESOURCE, "CertificateSigningRequest", group=certificates.GROUP,
                 namespaced=False, short_names=("csr",), subresources=("status", "approval")),
    ResourceInfo("priorityclasses", "PriorityClass", group="scheduling.k8s.io",
                 namespaced=False, short_names=("pc",)),
)
REVIEWS = ("selfsubjectaccessreviews", "subjectaccessreviews")
"""Resources that are questions, not objects: only ``create``, answered and never stored."""
STORED: tuple[ResourceInfo, ...] = tuple(info for info in RESOURCES if info.name not in REVIEWS)
"""The resources kept in the store (listed, watched, owned, deleted with their namespace)."""

_BY_GROUP_NAME = {(info.group, info.name): info for info in RESOURCES}


def lookup(group: str, name: str) -> ResourceInfo:
    """The resource ``name`` in ``group``; NotFound when the server does not have it."""
    info = _BY_GROUP_NAME.get((group, name))
    if info is None:
        shown = f"{name}.{group}" if group else name
        raise NotFound(f'the server could not find the requested resource "{shown}"')
    return info


def in_category(category: str) -> list[ResourceInfo]:
    """The resources of a category (``all``), in discovery order."""
    return [info for info in RESOURCES if category in info.categories]


def resolve(word: str) -> ResourceInfo:
    """The resource a kubectl user means by ``word``: plural, singular, short name or Kind."""
    lowered = word.lower()
    for info in RESOURCES:
        names = (info.name, info.singular, *info.short_names, f"{info.name}.{info.group}",
                 f"{info.singular}.{info.group}")
        if lowered in names:
            return info
    raise BadRequest(f'the server doesn\'t have a resource type "{word}"')


def now_rfc3339() -> str:
    """The current time as Kubernetes writes timestamps (UTC, seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """Inverse of :func:`now_rfc3339` (and of :func:`now_micro`)."""
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in value else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.strptime(value, pattern).replace(tzinfo=UTC)


def now_micro() -> str:
    """The current time as Kubernetes' MicroTime (Lease ``renewTime``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def meta(obj: Object) -> dict[str, Any]:
    """``obj["metadata"]``, created when absent."""
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be a map")
    return metadata


# -- defaults ---------------------------------------------------------------------------------


def default_pod(pod: Object) -> None:
    """Fill the fields Kubernetes defaults on a new pod (in place), with the tolerations its
    DefaultTolerationSeconds admission plugin adds; leaves a malformed spec alone for
    validation to report."""
    spec = pod.setdefault("spec", {})
    if default_pod_spec(spec):
        for container in pod_containers(spec):
            default_requests(container)
        default_tolerations(spec)
        pod.setdefault("status", {}).setdefault("phase", "Pending")


def default_pod_spec(spec: Any) -> bool:
    """Defaults of a pod spec, also of the pod templates of workloads; False when it is too
    malformed to default."""
    if not isinstance(spec, dict) or not isinstance(spec.get("containers", []), list):
        return False
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", DEFAULT_SCHEDULER)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for container in pod_containers(spec):
        container.setdefault("imagePullPolicy", default_pull_policy(container.get("image")))
    return True


def pod_containers(spec: Any) -> list[Object]:
    """The init containers, then the app containers, of a pod spec; leaves out what is too
    malformed to be a container (validation reports it)."""
    if not isinstance(spec, dict):
        return []
    return [*_listed(spec.get("initContainers")), *_listed(spec.get("containers"))]


def default_requests(container: Object) -> None:
    """A resource with a limit and no request is requested at its limit (Kubernetes'
    SetDefaults_Pod; not done for the pod templates of workloads, as in Kubernetes)."""
    resources = container.get("resources")
    limits = resources.get("limits") if isinstance(resources, dict) else None
    if not isinstance(resources, dict) or not isinstance(limits, dict) or not limits:
        return
    if resources.get("requests") is None:
        resources["requests"] = {}
    requests = resources["requests"]
    if isinstance(requests, dict):
        for resource, amount in limits.items():
            requests.setdefault(resource, amount)


NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300
"""How long a pod stays on a not-ready or unreachable node before eviction, unless it says
otherwise (kube-apiserver's --default-not-ready-toleration-seconds and
--default-unreachable-toleration-seconds)."""


def default_tolerations(spec: Object) -> None:
    """DefaultTolerationSeconds: a pod that does not tolerate the not-ready and unreachable
    NoExecute taints gets tolerations for them, for DEFAULT_TOLERATION_SECONDS."""
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = []
    if not isinstance(tolerations, list) or not all(isinstance(t, dict) for t in tolerations):
        return
    for key in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        taint = {"key": key, "effect": "NoExecute"}
        if not any(toleration_matches(t, taint) for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    spec["tolerations"] = tolerations


def toleration_matches(toleration: Object, taint: Object) -> bool:
    """Whether one toleration tolerates one taint (Kubernetes' rules: an empty key with
    ``Exists`` tolerates every taint, an empty effect every effect)."""
    key_ok = toleration.get("key") == taint.get("key") or (
        not toleration.get("key") and toleration.get("operator") == "Exists")
    value_ok = toleration.get("operator") == "Exists" or (
        toleration.get("value", "") == taint.get("value", ""))
    effect_ok = not toleration.get("effect") or toleration.get("effect") == taint.get("effect")
    return key_ok and value_ok and effect_ok


def default_pull_policy(image: Any) -> str:
    """``Always`` for ``:latest`` or untagged images, ``IfNotPresent`` otherwise."""
    if not isinstance(image, str) or "@" in image:
        return "IfNotPresent"
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def default_namespace(namespace: Object) -> None:
    """A namespace is Active and holds the ``kubernetes`` finalizer, which the namespace
    controller removes once everything in it is gone."""
    spec = namespace.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("finalizers", ["kubernetes"])
    status = namespace.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Active")


def default_replicaset(rs: Object) -> None:
    """Kubernetes' defaults of apps/v1 ReplicaSets (and the part Deployments share)."""
    spec = rs.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("minReadySeconds", 0)
    template = spec.get("template")
    if isinstance(template, dict):
        default_pod_spec(template.get("spec"))
    rs.setdefault("status", {})


def default_deployment(deployment: Object) -> None:
    """Kubernetes' defaults of apps/v1 Deployments."""
    default_replicaset(deployment)
    spec = deployment["spec"]
    if not isinstance(spec, dict):
        return
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxSurge", "25%")
                rolling.setdefault("maxUnavailable", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def default_limit_range(limit_range: Object) -> None:
    """Kubernetes' defaults of a LimitRange: each Container item's ``default`` and
    ``defaultRequest`` filled as :func:`limit_range_defaults` says."""
    spec = limit_range.get("spec")
    items = spec.get("limits") if isinstance(spec, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("type", "Container") == "Container":
            limits, requests = limit_range_defaults(item)
            if limits:
                item["default"] = limits
            if requests:
                item["defaultRequest"] = requests


def limit_range_defaults(item: Object) -> tuple[dict[str, Any], dict[str, Any]]:
    """(limits, requests) a LimitRange Container item gives containers that lack them, as
    Kubernetes defaults the item: a resource without a ``default`` limit takes its ``max``, one
    without a ``defaultRequest`` takes its default limit, else its ``min``."""
    def section(name: str) -> dict[str, Any]:
        amounts = item.get(name)
        return amounts if isinstance(amounts, dict) else {}

    limits = {**section("max"), **section("default")}
    return limits, {**section("min"), **limits, **section("defaultRequest")}


DEFAULTERS = {"pods": default_pod, "namespaces": default_namespace,
              "replicasets": default_replicaset, "deployments": default_deployment,
              "limitranges": default_limit_range,
              priorityclasses.RESOURCE: priorityclasses.default_priority_class}


# -- validation -------------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")


def validate(info: ResourceInfo, obj: Object) -> None:
    """Raise Invalid listing every problem with ``obj``, as kube-apiserver words it."""
    problems = list(_metadata_problems(info, obj))
    if info.name == "pods":
        problems += _pod_problems(obj)
    elif info.name == "nodes":
        status = obj.get("status") or {}
        for field in ("capacity", "allocatable"):
            problems += _quantity_problems(f"status.{field}", status.get(field))
    elif info.group == "rbac.authorization.k8s.io":
        problems += _rbac_problems(info, obj)
    elif info.name == "leases":
        renewed = (obj.get("spec") or {}).get("renewTime")
        try:
            if renewed is not None:
                parse_time(str(renewed))
        except ValueError:
            problems.append(f'spec.renewTime: Invalid value: "{renewed}": must be RFC 3339 '
                            "with microseconds, e.g. 2006-01-02T15:04:05.000000Z")
    elif info.group == "apps":
        problems += _workload_problems(info, obj)
    elif info.name == "configmaps":
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            problems.append("data: Invalid value: must be a map of strings")
        else:
            problems += [f"data[{key}]: Invalid value: must be a string"
                         for key, value in data.items() if not isinstance(value, str)]
    if checker := VALIDATORS.get(info.name):
        problems += checker(obj)
    if problems:
        name = obj.get("metadata", {}).get("name", "")
        raise Invalid(
            f'{info.kind} "{name}" is invalid: ' + ", ".join(problems),
            details={"name": name, "kind": info.singular, "causes": problems},
        )


def _metadata_problems(info: ResourceInfo, obj: Object) -> list[str]:
    problems = []
    if obj.get("kind") not in (None, info.kind):
        problems.append(f"kind: Invalid value: {obj.get('kind')!r}: must be {info.kind}")
    name = obj.get("metadata", {}).get("name")
    pattern = _DNS_LABEL if info.name in ("namespaces",) else _DNS_SUBDOMAIN
    if not name:
        problems.append("metadata.name: Required value: name is required")
    elif not isinstance(name, str) or len(name) > 253 or not pattern.match(name):
        problems.append(
            f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must '
            "consist of lower case alphanumeric characters, '-' or '.', and must start and end "
            "with an alphanumeric character"
        )
    for field in ("labels", "annotations"):
        value = obj.get("metadata", {}).get(field)
        if value is not None and (
            not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
        ):
            problems.append(f"metadata.{field}: Invalid value: must be a map of strings")
    return problems


def _pod_problems(pod: Object) -> list[str]:
    return _pod_spec_problems(pod.get("spec"), "spec")


def _pod_spec_problems(spec: Any, at: str) -> list[str]:
    """Problems with a pod spec found at path ``at`` (a pod's, or a workload's template)."""
    if not isinstance(spec, dict):
        return [f"{at}: Required value"]
    problems = []
    containers, inits = spec.get("containers"), spec.get("initContainers")
    if not isinstance(containers, list) or not containers:
        problems.append(f"{at}.containers: Required value")
        containers = []
    if inits is not None and not isinstance(inits, list):
        problems.append(f"{at}.initContainers: Invalid value: must be a list")
    seen: set[str] = set()  # one name space for init and app containers
    for field, listed in (("initContainers", inits), ("containers", containers)):
        for i, container in enumerate(listed if isinstance(listed, list) else []):
            problems += _container_problems(container, f"{at}.{field}[{i}]", seen,
                                            init=field == "initContainers")
    if spec.get("restartPolicy", "Always") not in RESTART_POLICIES:
        problems.append(
            f"{at}.restartPolicy: Unsupported value: {spec['restartPolicy']!r}: supported "
            'values: "Always", "OnFailure", "Never"'
        )
    return problems


def _container_problems(container: Any, path: str, seen: set[str], init: bool) -> list[str]:
    """Problems with one (``init``) container at ``path``; ``seen`` holds the names taken
    before it."""
    if not isinstance(container, dict):
        return [f"{path}: Invalid value: must be a map"]
    problems = []
    name = container.get("name")
    if not isinstance(name, str) or len(name) > 63 or not _DNS_LABEL.match(name):
        problems.append(f'{path}.name: Invalid value: "{name}": must be a DNS-1123 label')
    elif name in seen:
        problems.append(f"{path}.name: Duplicate value: {name!r}")
    seen.add(str(name))
    if not isinstance(container.get("image"), str) or not container["image"].strip():
        problems.append(f"{path}.image: Required value")
    for field in ("command", "args"):
        value = container.get(field)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            problems.append(f"{path}.{field}: Invalid value: must be a list of strings")
    if container.get("imagePullPolicy", "IfNotPresent") not in PULL_POLICIES:
        problems.append(
            f"{path}.imagePullPolicy: Unsupported value: {container['imagePullPolicy']!r}"
        )
    if "restartPolicy" in container:  # only sidecars (init containers) may say, and Always
        if not init:
            problems.append(f"{path}.restartPolicy: Forbidden: may not be set for non-init "
                            "containers")
        elif container["restartPolicy"] != "Always":
            problems.append(f"{path}.restartPolicy: Unsupported value: "
                            f'{container["restartPolicy"]!r}: supported values: "Always"')
    problems += _resource_problems(f"{path}.resources", container.get("resources"))
    for j, env in enumerate(container.get("env") or []):
        if not isinstance(env, dict) or not isinstance(env.get("name"), str):
            problems.append(f"{path}.env[{j}].name: Required value")
    return problems


def _workload_problems(info: ResourceInfo, obj: Object) -> list[str]:
    """ReplicaSet and Deployment: replicas, a selector that matches the template's labels, a
    valid pod template that restarts Always, and (Deployments) the update strategy."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    problems = []
    for field in ("replicas", "minReadySeconds", "revisionHistoryLimit",
                  "progressDeadlineSeconds"):
        value = spec.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"spec.{field}: Invalid value: {value!r}: must be greater than or "
                            "equal to 0")
    selector = spec.get("selector")
    template = spec.get("template")
    labels = (template.get("metadata") or {}).get("labels") if isinstance(template, dict) else {}
    if not isinstance(selector, dict):
        problems.append("spec.selector: Required value")
    else:
        try:
            if not selector_requirements(selector):
                problems.append(f"spec.selector: Invalid value: {selector}: empty selector is "
                                f"invalid for {info.singular}")
            elif isinstance(labels, dict) and not selector_matches(selector, labels):
                problems.append(f"spec.template.metadata.labels: Invalid value: {labels}: "
                                "`selector` does not match template `labels`")
        except (ValueError, AttributeError, TypeError) as error:
            problems.append(f"spec.selector: Invalid value: {error}")
    if not isinstance(template, dict):
        return [*problems, "spec.template: Required value"]
    problems += _pod_spec_problems(template.get("spec"), "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy", "Always")
    if policy != "Always" and policy in RESTART_POLICIES:
        problems.append(f'spec.template.spec.restartPolicy: Unsupported value: "{policy}": '
                        'supported values: "Always"')
    if info.kind == "Deployment":
        problems += _strategy_problems(spec.get("strategy"))
    return problems


def _strategy_problems(strategy: Any) -> list[str]:
    if not isinstance(strategy, dict) or strategy.get("type") not in ("RollingUpdate",
                                                                       "Recreate"):
        kind = strategy.get("type") if isinstance(strategy, dict) else strategy
        return [f'spec.strategy.type: Unsupported value: "{kind}": supported values: '
                '"Recreate", "RollingUpdate"']
    rolling = strategy.get("rollingUpdate")
    if strategy["type"] == "Recreate":
        return ([] if rolling is None else ["spec.strategy.rollingUpdate: Forbidden: may not "
                                            "be specified when strategy `type` is 'Recreate'"])
    if not isinstance(rolling, dict):
        return ["spec.strategy.rollingUpdate: Invalid value: must be a map"]
    problems, zero = [], []
    for field in ("maxSurge", "maxUnavailable"):
        value = rolling.get(field)
        try:
            scaled = int_or_percent(value, 100, round_up=True)
        except ValueError as error:
            problems.append(f"spec.strategy.rollingUpdate.{field}: Invalid value: {error}")
            continue
        if field == "maxUnavailable" and isinstance(value, str) and scaled > 100:
            problems.append(f"spec.strategy.rollingUpdate.{field}: Invalid value: {value!r}: "
                            "must not be greater than 100%")
        if scaled == 0:
            zero.append(field)
    if len(zero) == 2:
        problems.append("spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may "
                        "not be 0 when `maxSurge` is 0")
    return problems


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """Kubernetes' IntOrString scaled against ``total``: ``3`` is 3, ``"25%"`` is a quarter of
    ``total``, rounded up or down; ValueError for anything else or a negative amount."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    raise ValueError(f"{value!r}: must be a non-negative integer or a percentage (\"25%\")")


def _resource_problems(path: str, resources: Any) -> list[str]:
    if resources is None:
        return []
    if not isinstance(resources, dict):
        return [f"{path}: Invalid value: must be a map"]
    problems = []
    for section in ("requests", "limits"):
        problems += _quantity_problems(f"{path}.{section}", resources.get(section))
    return problems


def _quantity_problems(path: str, amounts: Any) -> list[str]:
    """Problems with a map of resource name -> quantity (cpu, memory, pods)."""
    if amounts is None:
        return []
    if not isinstance(amounts, dict):
        return [f"{path}: Invalid value: must be a map"]
    problems = []
    for name, amount in amounts.items():
        parse = {"cpu": parse_cpu, "memory": parse_memory, "pods": parse_count}.get(name)
        try:
            if parse is not None:
                parse(amount)
        except ValueError as error:
            problems.append(f"{path}[{name}]: Invalid value: {error}")
    return problems


def parse_count(value: Any) -> int:
    """A whole number of things (``pods``): ``"110"`` or ``110``."""
    if isinstance(value, bool) or not str(value).isdigit():
        raise ValueError(f"{value!r} is not a whole number")
    return int(value)


def _string_lists(path: str, value: Any, fields: tuple[str, ...]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: Invalid value: must be a map"]
    return [f"{path}.{field}: Invalid value: must be a list of strings" for field in fields
            if not isinstance(value.get(field) or [], list)
            or not all(isinstance(v, str) for v in value.get(field) or [])]


def _rbac_problems(info: ResourceInfo, obj: Object) -> list[str]:
    """Shape checks that keep the authorizer from ever reading a malformed rule or binding."""
    problems = []
    if info.kind in ("Role", "ClusterRole"):
        rules = obj.get("rules") or []
        if not isinstance(rules, list):
            return ["rules: Invalid value: must be a list"]
        for i, rule in enumerate(rules):
            problems += _string_lists(f"rules[{i}]", rule,
                                      ("apiGroups", "resources", "verbs", "resourceNames"))
        return problems
    ref = obj.get("roleRef")
    kinds = ("ClusterRole",) if info.kind == "ClusterRoleBinding" else ("Role", "ClusterRole")
    if not isinstance(ref, dict) or ref.get("kind") not in kinds or not ref.get("name"):
        problems.append(f"roleRef: Invalid value: needs kind ({' or '.join(kinds)}) and name")
    subjects = obj.get("subjects") or []
    if not isinstance(subjects, list):
        return [*problems, "subjects: Invalid value: must be a list"]
    for i, subject in enumerate(subjects):
        if not isinstance(subject, dict) or subject.get("kind") not in (
            "User", "Group", "ServiceAccount"
        ) or not isinstance(subject.get("name"), str):
            problems.append(f"subjects[{i}]: Invalid value: needs kind (User, Group or "
                            "ServiceAccount) and name")
    return problems


# -- reading objects --------------------------------------------------------------------------


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
                       for c in _listed(spec.get("containers"))))
    sidecars: dict[str, int] = {}
    peak: dict[str, int] = {}  # the most an init container takes with the sidecars before it
    for container in _listed(spec.get("initContainers")):
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


def _listed(containers: Any) -> list[Object]:
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


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


def condition(obj: Object, kind: str) -> dict[str, Any] | None:
    """The status condition of type ``kind``, or None."""
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def set_condition(obj: Object, kind: str, status: str, reason: str = "", message: str = "") -> None:
    """Add or replace the status condition ``kind`` (transition time moves only on change)."""
    conditions = obj.setdefault("status", {}).setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == kind:
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now_rfc3339()
            cond.update(status=status, reason=reason, message=message)
            return
    conditions.append({"type": kind, "status": status, "reason": reason, "message": message,
                       "lastTransitionTime": now_rfc3339()})


def trace_id_of(obj: Object) -> str | None:
    """The trace id an object carries in its annotations."""
    return (obj.get("metadata", {}).get("annotations") or {}).get(TRACE_ANNOTATION)


def _limit_range_problems(obj: Object) -> list[str]:
    limits = (obj.get("spec") or {}).get("limits")
    if not isinstance(limits, list):
        return ["spec.limits: Required value: a list of limits"]
    problems = []
    for i, item in enumerate(limits):
        if not isinstance(item, dict):
            problems.append(f"spec.limits[{i}]: Invalid value: must be a map")
            continue
        if item.get("type", "Container") not in ("Container", "Pod"):
            problems.append(f"spec.limits[{i}].type: Unsupported value: {item.get('type')!r}: "
                            'supported values: "Container", "Pod"')
        fields = ("default", "defaultRequest", "min", "max")
        shape = [p for f in fields for p in _quantity_problems(f"spec.limits[{i}].{f}",
                                                                 item.get(f))]
        problems += shape or _limit_order_problems(f"spec.limits[{i}]", item)
    return problems


LIMIT_ORDER = (("min", "max", "min"), ("min", "defaultRequest", "defaultRequest"),
               ("defaultRequest", "max", "defaultRequest"),
               ("defaultRequest", "default", "defaultRequest"), ("min", "default", "default"),
               ("default", "max", "default"))
"""(lower, upper, field blamed) of a LimitRange item, each lower amount at most the upper one,
in the order kube-apiserver checks them."""
_LIMIT_WORDS = {"min": "min value", "max": "max value", "default": "default value",
                "defaultRequest": "default request value"}


def _limit_order_problems(at: str, item: Object) -> list[str]:
    """kube-apiserver's checks that min <= defaultRequest <= default <= max, per resource."""
    problems = []
    for lower, upper, blamed in LIMIT_ORDER:
        lows, highs = item.get(lower) or {}, item.get(upper) or {}
        for resource in sorted(set(lows) & set(highs) & set(COMPUTE_PARSERS)):
            parse = COMPUTE_PARSERS[resource]
            if parse(lows[resource]) > parse(highs[resource]):
                high_words = ("default limit value" if (lower, upper) == (
                    "defaultRequest", "default") else _LIMIT_WORDS[upper])
                problems.append(f'{at}.{blamed}[{resource}]: Invalid value: '
                                f'"{item[blamed][resource]}": {_LIMIT_WORDS[lower]} '
                                f"{lows[resource]} is greater than {high_words} "
                                f"{highs[resource]}")
    return problems


def _quota_problems(obj: Object) -> list[str]:
    hard = (obj.get("spec") or {}).get("hard")
    if not isinstance(hard, dict):
        return ["spec.hard: Required value: a map of resource to quantity"]
    return _quantity_problems("spec.hard", {name.rpartition(".")[2]: value
                                            for name, value in hard.items()})


def _admission_registration_problems(obj: Object) -> list[str]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    problems = _string_lists("spec", spec, ("operations", "resources"))
    subject = spec.get("subject")
    if not isinstance(subject, str) or not re.match(
            r"^([A-Za-z0-9_\-:/]+\.)?[A-Za-z0-9_\-:]+$", subject):
        problems.append("spec.subject: Invalid value: a NATS subject token ([A-Za-z0-9_-:]), "
                        "or <owner>.<token> for an actor serving as NATS identity <owner>")
    for op in spec.get("operations") or []:
        if op not in ("CREATE", "UPDATE", "DELETE", "CONNECT", "*"):
            problems.append(f"spec.operations: Unsupported value: {op!r}")
    if not spec.get("resources"):
        problems.append("spec.resources: Required value")
    timeout = spec.get("timeoutSeconds", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= 30:
        problems.append("spec.timeoutSeconds: Invalid value: must be between 1 and 30 seconds")
    if spec.get("failurePolicy", "Fail") not in ("Fail", "Ignore"):
        problems.append(f"spec.failurePolicy: Unsupported value: {spec['failurePolicy']!r}: "
                        'supported values: "Fail", "Ignore"')
    if not isinstance(spec.get("mutating", False), bool):
        problems.append("spec.mutating: Invalid value: must be true or false")
    return problems


VALIDATORS = {"limitranges": _limit_range_problems, "resourcequotas": _quota_problems,
              "admissionregistrations": _admission_registration_problems,
              certificates.RESOURCE: certificates.problems,
              priorityclasses.RESOURCE: priorityclasses.problems}
"""Shape checks of resources that need nothing more (looked up by plural name)."""


def owner_reference(owner: Object, controller: bool = True) -> Object:
    """An ownerReference naming ``owner``: the owner's controller, blocking its foreground
    deletion until this dependent is gone."""
    metadata = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": metadata["name"],
            "uid": metadata["uid"], "controller": controller, "blockOwnerDeletion": True}


def controller_ref(obj: Object) -> Object | None:
    """The ownerReference with ``controller: true``, or None."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def is_pod_active(pod: Object) -> bool:
    """Counted by its controller: neither finished nor being deleted (Kubernetes'
    FilterActivePods)."""
    return (pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")
            and not pod.get("metadata", {}).get("deletionTimestamp"))


def is_pod_ready(pod: Object) -> bool:
    return (condition(pod, "Ready") or {}).get("status") == "True"
