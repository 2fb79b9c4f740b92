"""Checks of the policy kinds that the authorizer, the admission plugins and the admission
actors read: RBAC roles and bindings, LimitRanges (min <= defaultRequest <= default <= max),
ResourceQuotas and AdmissionRegistrations. Malformed, they would be read as something else;
here they are refused.

Pure functions over plain dicts, each returning problems in kube-apiserver's words.

Neighbours: ``actors.api.validation`` (the dispatcher), ``actors.apiserver.rbac`` and
``actors.apiserver.admission`` (their readers), ``actors.api.amounts``.
"""

from __future__ import annotations

import re
from typing import Any

from actors.api.amounts import COMPUTE_PARSERS
from actors.api.objects import Object
from actors.api.podspecs import quantity_problems
from actors.api.resources import ResourceInfo


def _string_lists(path: str, value: Any, fields: tuple[str, ...]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: Invalid value: must be a map"]
    return [f"{path}.{field}: Invalid value: must be a list of strings" for field in fields
            if not isinstance(value.get(field) or [], list)
            or not all(isinstance(v, str) for v in value.get(field) or [])]


def rbac_problems(info: ResourceInfo, obj: Object) -> list[str]:
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


def limit_range_problems(obj: Object) -> list[str]:
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
        shape = [p for f in fields for p in quantity_problems(f"spec.limits[{i}].{f}",
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


def quota_problems(obj: Object) -> list[str]:
    """A ResourceQuota's ``spec.hard`` quantities (none at all is a quota that limits
    nothing, as kube-apiserver takes it)."""
    hard = (obj.get("spec") or {}).get("hard") or {}
    if not isinstance(hard, dict):
        return ["spec.hard: Invalid value: a map of resource to quantity"]
    return quantity_problems("spec.hard", {name.rpartition(".")[2]: value
                                            for name, value in hard.items()})


def admission_registration_problems(obj: Object) -> list[str]:
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
