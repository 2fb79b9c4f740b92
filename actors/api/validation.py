"""Validation: every problem with an object, as kube-apiserver words it, before it is stored.
Two steps, as in kube-apiserver: :func:`decode` (before defaulting's results reach admission)
applies Kubernetes' OpenAPI schema of the type (wrong types, unknown fields as the request's
``fieldValidation`` says, optional nulls dropped); :func:`validate` (after admission) applies
the semantic rules where the schema is silent (names per kind, label syntax, quantities,
selectors...) and raises :class:`~bus.errors.Invalid` listing every problem.

Pure functions over plain dicts; :data:`VALIDATORS` holds the checks of resources that need
nothing more than their own shape (looked up by plural name).

Neighbours: ``actors.api.schema`` (the schemas), ``actors.api.defaulting`` (runs before),
``actors.api.resources`` (the registry),
``actors.api.amounts`` and ``actors.api.quantity`` (amounts), ``actors.api.selectors``,
``actors.api.certificates``, ``actors.api.priorityclasses`` and ``actors.api.crds`` (their
rules; a custom resource's schema is its CRD's), ``actors.apiserver.server`` (the caller).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from actors.api import (
    autoscaling,
    certificates,
    crds,
    disruptionbudgets,
    jobs,
    priorityclasses,
    replication,
    schema,
    secrets,
    services,
    storage,
)
from actors.api.amounts import COMPUTE_PARSERS, int_or_percent
from actors.api.objects import Object
from actors.api.quantity import parse_quantity
from actors.api.resources import ResourceInfo
from actors.api.selectors import selector_matches, selector_requirements
from bus.errors import BadRequest, Invalid

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
FIELD_VALIDATION = ("Ignore", "Warn", "Strict")
"""What a request's ``fieldValidation`` may say of unknown fields: drop them silently, drop
them with a warning (kube-apiserver's default), or refuse the object (kubectl's choice)."""
_KUBERNETES_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
"""A time as Kubernetes writes it (UTC, RFC 3339; MicroTime with the fraction)."""
MAX_ANNOTATION_BYTES = 256 * 1024
"""Most bytes all of an object's annotations may hold, keys and values (Kubernetes')."""


def decode(info: ResourceInfo, obj: Object, field_validation: str = "Warn") -> list[str]:
    """Apply the schema of ``obj``'s type, as kube-apiserver's decoder does, and return the
    warnings for the reply. Under ``Strict`` an unknown field is a BadRequest; otherwise
    unknown fields are removed from ``obj``, and so are nulls where the field is optional. A
    value of the wrong type is Invalid naming its path. Kinds Kubernetes does not have
    (kubeactor's own) pass unchanged."""
    findings = crds.check(info, obj) if isinstance(info, crds.CustomResource) else \
        schema.check(info.api_version, info.kind, obj)
    if findings is None:
        return []
    unknown = [f'unknown field "{path}"' for path in findings.unknown]
    if unknown and field_validation == "Strict":
        raise BadRequest(f'{info.kind} in version "{info.version}" cannot be handled as a '
                         f"{info.kind}: strict decoding error: {', '.join(unknown)}")
    if findings.errors:
        raise invalid(info, obj, findings.errors)
    findings.drop()
    return unknown if field_validation == "Warn" else []


def validate(info: ResourceInfo, obj: Object) -> None:
    """Raise Invalid listing every problem with ``obj``, as kube-apiserver words it."""
    problems = list(_metadata_problems(info, obj))
    if not isinstance(info, crds.CustomResource):  # its schema said all there is to say
        problems += _builtin_problems(info, obj)
    if problems:
        raise invalid(info, obj, problems)


def _builtin_problems(info: ResourceInfo, obj: Object) -> list[str]:
    problems = []
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
        if renewed is not None and not _KUBERNETES_TIME.match(str(renewed)):
            problems.append(f'spec.renewTime: Invalid value: "{renewed}": must be RFC 3339 '
                            "with microseconds, e.g. 2006-01-02T15:04:05.000000Z")
    elif info.group == "apps" and info.name != "controllerrevisions":
        problems += _workload_problems(info, obj)
    elif info.name == replication.RESOURCE:
        problems += _workload_problems(info, replication.as_replicaset(obj))
    elif info.name == jobs.JOBS:
        problems += _job_problems(info, obj)
    elif info.name == jobs.CRONJOBS:
        problems += _cronjob_problems(obj)
    elif info.name == "configmaps":
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            problems.append("data: Invalid value: must be a map of strings")
        else:
            problems += [f"data[{key}]: Invalid value: must be a string"
                         for key, value in data.items() if not isinstance(value, str)]
    if checker := VALIDATORS.get(info.name):
        problems += checker(obj)
    return problems


def invalid(info: ResourceInfo, obj: Object, problems: list[str]) -> Invalid:
    """The 422 refusing ``obj`` for ``problems``, as kube-apiserver words it."""
    metadata = obj.get("metadata")
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    return Invalid(f'{info.kind} "{name}" is invalid: ' + ", ".join(problems),
                   details={"name": name, "kind": info.singular, "causes": problems})


def _metadata_problems(info: ResourceInfo, obj: Object) -> list[str]:
    problems = []
    if obj.get("kind") not in (None, info.kind):
        problems.append(f"kind: Invalid value: {obj.get('kind')!r}: must be {info.kind}")
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = metadata.get("name")
    if not name:
        problems.append("metadata.name: Required value: name is required")
    else:
        problems += name_problems(info, name)
    return problems + label_problems("metadata", metadata)


def name_problems(info: ResourceInfo, name: Any) -> list[str]:
    """Problems with ``name`` as the name of a ``info`` object: a DNS label for namespaces, a
    path segment for RBAC objects (``system:node``), a DNS subdomain for the rest."""
    shown = f'metadata.name: Invalid value: "{name}"'
    if not isinstance(name, str):
        return [f"{shown}: must be a string"]
    if info.group == "rbac.authorization.k8s.io":
        if name in (".", ".."):
            return [f"{shown}: may not be '{name}'"]
        return [f"{shown}: may not contain '{bad}'" for bad in ("/", "%") if bad in name]
    if info.name == "namespaces":
        if len(name) > 63 or not _DNS_LABEL.match(name):
            return [f"{shown}: a lowercase RFC 1123 label must consist of lower case "
                    "alphanumeric characters or '-', and must start and end with an "
                    "alphanumeric character"]
        return []
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return [f"{shown}: a lowercase RFC 1123 subdomain must consist of lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character"]
    return []


def label_problems(at: str, metadata: Any) -> list[str]:
    """Problems with the labels and annotations of the metadata found at ``at``: keys are
    qualified names (``example.com/name``), label values at most 63 characters of
    ``[-A-Za-z0-9_.]``, all annotations at most 256 KiB."""
    if not isinstance(metadata, dict):
        return []
    problems = []
    for field in ("labels", "annotations"):
        value = metadata.get(field)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(f"{at}.{field}: Invalid value: must be a map of strings")
            continue
        problems += [f'{at}.{field}: Invalid value: "{key}": {why}' for key in value
                     if (why := _qualified_name_problem(key))]
        if field == "labels":
            problems += [
                f'{at}.labels: Invalid value: "{v}": a valid label must be an empty string or '
                "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character" for v in value.values()
                if len(v) > 63 or not _LABEL_VALUE.match(v)]
        elif sum(len(k) + len(v) for k, v in value.items()) > MAX_ANNOTATION_BYTES:
            problems.append(f"{at}.annotations: Too long: must have at most "
                            f"{MAX_ANNOTATION_BYTES} bytes")
    return problems


def _qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (``[prefix/]name``), in Kubernetes' words."""
    prefix, _, part = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "prefix part a lowercase RFC 1123 subdomain must consist of lower case " \
               "alphanumeric characters, '-' or '.', and must start and end with an " \
               "alphanumeric character"
    if not part or len(part) > 63 or not _NAME_PART.match(part):
        return "name part must consist of alphanumeric characters, '-', '_' or '.', and " \
               "must start and end with an alphanumeric character"
    return None


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
    problems += _selector_problems(info, spec)
    template = spec.get("template")
    if not isinstance(template, dict):
        return [*problems, "spec.template: Required value"]
    problems += _pod_spec_problems(template.get("spec"), "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy", "Always")
    if policy != "Always" and policy in RESTART_POLICIES:
        problems.append(f'spec.template.spec.restartPolicy: Unsupported value: "{policy}": '
                        'supported values: "Always"')
    return problems + _STRATEGY_CHECKS.get(info.kind, lambda spec: [])(spec)


def _selector_problems(info: ResourceInfo, spec: dict[str, Any]) -> list[str]:
    """A workload's selector: present, not empty, matching its template's labels."""
    selector = spec.get("selector")
    template = spec.get("template")
    labels = (template.get("metadata") or {}).get("labels") if isinstance(template, dict) else {}
    if not isinstance(selector, dict):
        return ["spec.selector: Required value"]
    try:
        if not selector_requirements(selector):
            return [f"spec.selector: Invalid value: {selector}: empty selector is invalid for "
                    f"{info.singular}"]
        if not selector_matches(selector, labels if isinstance(labels, dict) else {}):
            return [f"spec.template.metadata.labels: Invalid value: {labels}: `selector` does "
                    "not match template `labels`"]
    except (ValueError, AttributeError, TypeError) as error:
        return [f"spec.selector: Invalid value: {error}"]
    return []


def _job_problems(info: ResourceInfo, obj: Object) -> list[str]:
    """A Job: its selector (generated unless ``manualSelector``), its spec, its template."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    return [*_selector_problems(info, spec), *jobs.job_spec_problems(spec, "spec"),
            *_template_problems(spec, "spec")]


def _cronjob_problems(obj: Object) -> list[str]:
    problems = jobs.cronjob_problems(obj)
    template = (obj.get("spec") or {}).get("jobTemplate")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        problems += _template_problems(template["spec"], "spec.jobTemplate.spec")
    return problems


def _template_problems(spec: dict[str, Any], at: str) -> list[str]:
    """The pod template of a workload's ``spec`` at ``at``."""
    template = spec.get("template")
    if not isinstance(template, dict):
        return [f"{at}.template: Required value"]
    return _pod_spec_problems(template.get("spec"), f"{at}.template.spec")


def _strategy_problems(strategy: Any, at: str = "spec.strategy",
                       other: str = "Recreate") -> list[str]:
    """A Deployment's ``strategy`` (RollingUpdate or Recreate) or a DaemonSet's
    ``updateStrategy`` (RollingUpdate or OnDelete): the rolling update's ``maxSurge`` and
    ``maxUnavailable``, not both 0."""
    rolling = strategy.get("rollingUpdate") if isinstance(strategy, dict) else None
    if (problem := _strategy_type_problem(strategy, at, other)) is not None:
        return problem
    if not isinstance(rolling, dict):
        return [f"{at}.rollingUpdate: Invalid value: must be a map"]
    problems, zero = [], []
    for field in ("maxSurge", "maxUnavailable"):
        value = rolling.get(field)
        try:
            scaled = int_or_percent(value, 100, round_up=True)
        except ValueError as error:
            problems.append(f"{at}.rollingUpdate.{field}: Invalid value: {error}")
            continue
        if field == "maxUnavailable" and isinstance(value, str) and scaled > 100:
            problems.append(f"{at}.rollingUpdate.{field}: Invalid value: {value!r}: "
                            "must not be greater than 100%")
        if scaled == 0:
            zero.append(field)
    if len(zero) == 2:
        problems.append(f"{at}.rollingUpdate.maxUnavailable: Invalid value: 0: may "
                        "not be 0 when `maxSurge` is 0")
    return problems


def _strategy_type_problem(strategy: Any, at: str, other: str) -> list[str] | None:
    """Problems with a strategy's ``type`` (RollingUpdate or ``other``), [] when it is
    ``other`` and says nothing more; None: a RollingUpdate, whose fields are to check."""
    kind = strategy.get("type") if isinstance(strategy, dict) else strategy
    if not isinstance(strategy, dict) or kind not in ("RollingUpdate", other):
        return [f'{at}.type: Unsupported value: "{kind}": supported values: '
                f'"{other}", "RollingUpdate"']
    if kind == "RollingUpdate":
        return None
    return ([] if strategy.get("rollingUpdate") is None else [
        f"{at}.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
        f"'{other}'"])


def _statefulset_problems(spec: Object) -> list[str]:
    """A StatefulSet's podManagementPolicy, updateStrategy (a partition of 0 or more) and
    volumeClaimTemplates (each a claim)."""
    problems = []
    policy = spec.get("podManagementPolicy", "OrderedReady")
    if policy not in ("OrderedReady", "Parallel"):
        problems.append(f'spec.podManagementPolicy: Unsupported value: "{policy}": supported '
                        'values: "OrderedReady", "Parallel"')
    strategy, at = spec.get("updateStrategy"), "spec.updateStrategy"
    found = _strategy_type_problem(strategy, at, "OnDelete")
    rolling = (strategy.get("rollingUpdate") if isinstance(strategy, dict) else None) or {}
    partition = rolling.get("partition", 0) if isinstance(rolling, dict) else None
    if found is None and (isinstance(partition, bool) or not isinstance(partition, int)
                          or partition < 0):
        found = [f"{at}.rollingUpdate.partition: Invalid value: {partition!r}: must be "
                 "greater than or equal to 0"]
    for index, template in enumerate(spec.get("volumeClaimTemplates") or []):
        problems += storage.template_problems(f"spec.volumeClaimTemplates[{index}]", template)
    return problems + (found or [])


_STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                        "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy",
                        "minReadySeconds")
"""What an update may change of a StatefulSet's spec (ValidateStatefulSetUpdate)."""


def node_update_problems(old: Object, new: Object) -> list[str]:
    """kube-apiserver's refusal of a change to a Node's pod range: set once (from none to a
    valid CIDR, by the node IPAM controller), never changed or removed after."""
    def ranges(obj: Object) -> tuple[Any, Any]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return None, None
        return spec.get("podCIDR") or None, spec.get("podCIDRs") or None
    before, after = ranges(old), ranges(new)
    if before == after:
        return []
    if before == (None, None) and _valid_cidr(after[0]) and after[1] in (None, [after[0]]):
        return []
    return ['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to '
            "valid"]


def _valid_cidr(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        ipaddress.ip_network(text)
    except ValueError:
        return False
    return True


def statefulset_update_problems(old: Object, new: Object) -> list[str]:
    """kube-apiserver's refusal of an update to a StatefulSet's fixed fields."""
    def fixed(obj: Object) -> Object:
        spec = obj.get("spec")
        return {k: v for k, v in (spec.items() if isinstance(spec, dict) else ())
                if k not in _STATEFULSET_MUTABLE}
    if fixed(old) == fixed(new):
        return []
    return ["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
            "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
            "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]


def _revision_problems(revision: Object) -> list[str]:
    value = revision.get("revision")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [f"revision: Invalid value: {value!r}: must be greater than or equal to 0"]
    return []


_STRATEGY_CHECKS = {
    "Deployment": lambda spec: _strategy_problems(spec.get("strategy")),
    "DaemonSet": lambda spec: _strategy_problems(spec.get("updateStrategy"),
                                                 "spec.updateStrategy", "OnDelete"),
    "StatefulSet": _statefulset_problems,
}
"""The checks of each workload kind's own fields, after those they share."""


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
    """Problems with a map of resource name -> quantity: each a quantity in Kubernetes'
    grammar, not negative, and whole for ``pods``."""
    if amounts is None:
        return []
    if not isinstance(amounts, dict):
        return [f"{path}: Invalid value: must be a map"]
    problems = []
    for name, amount in amounts.items():
        shown = f"{path}[{name}]: Invalid value: {schema.shown(amount)}"
        try:
            value = parse_quantity(amount)
        except ValueError as error:
            problems.append(f"{shown}: {error}")
            continue
        if value < 0:
            problems.append(f"{shown}: must be greater than or equal to 0")
        elif name == "pods" and value != value.to_integral_value():
            problems.append(f"{shown}: must be an integer")
    return problems


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
              priorityclasses.RESOURCE: priorityclasses.problems, crds.RESOURCE: crds.problems,
              disruptionbudgets.RESOURCE: disruptionbudgets.problems,
              autoscaling.RESOURCE: autoscaling.problems,
              secrets.RESOURCE: secrets.secret_problems, "configmaps": secrets.configmap_problems,
              "controllerrevisions": _revision_problems, services.RESOURCE: services.problems,
              storage.VOLUMES: storage.volume_problems, storage.CLAIMS: storage.claim_problems,
              storage.CLASSES: storage.class_problems}
"""Shape checks of resources that need nothing more (looked up by plural name)."""
