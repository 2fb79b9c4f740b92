"""FlowSchemas and PriorityLevelConfigurations (``flowcontrol.apiserver.k8s.io/v1``): the
objects of API Priority and Fairness, their defaults, checks, and the ones every cluster has.

A PriorityLevelConfiguration is a share of the apiserver's concurrency (``Limited``:
``nominalConcurrencyShares`` over the sum of every level's) with what happens to a request
beyond it (``limitResponse``: ``Queue`` in ``queues`` queues of ``queueLengthLimit``, a flow
dealt ``handSize`` of them, or ``Reject``), or ``Exempt`` (never waits). A FlowSchema sends
the requests its ``rules`` match (subjects, and verbs, groups, resources, namespaces) to a
level, the lowest ``matchingPrecedence`` first, and splits them into flows by user or by
namespace (``distinguisherMethod``). :func:`defaults` are Kubernetes' mandatory and suggested
objects, which the apiserver creates at start.

Pure functions over plain dicts. Neighbours: ``actors.api.validation`` and
``actors.api.defaulting`` (call in here), ``actors.apiserver.classifying`` (matches requests
against these objects), ``actors.apiserver.bootstrapping`` (creates :func:`defaults`).
"""

from __future__ import annotations

from typing import Any

from actors.api.objects import Object

GROUP = "flowcontrol.apiserver.k8s.io"
FLOW_SCHEMAS = "flowschemas"
PRIORITY_LEVELS = "prioritylevelconfigurations"
EXEMPT, LIMITED = "Exempt", "Limited"
QUEUE, REJECT = "Queue", "Reject"
BY_USER, BY_NAMESPACE = "ByUser", "ByNamespace"
SUBJECT_KINDS = ("User", "Group", "ServiceAccount")
AUTOUPDATE = "apf.kubernetes.io/autoupdate-spec"
"""The annotation Kubernetes puts on the objects it made (``"true"``)."""
CATCH_ALL = "catch-all"
"""The FlowSchema and level of a request no FlowSchema matches."""
QUEUING_DEFAULTS = {"queues": 64, "handSize": 8, "queueLengthLimit": 50}
"""Kubernetes' defaults of a ``Queue`` limit response."""
MAX_HAND_ENTROPY = 60
"""Kubernetes' bound on a hand's entropy: ``handSize * log2(queues)`` at most 60 bits."""


def defaults() -> list[Object]:
    """Kubernetes' mandatory (``exempt``, ``catch-all``) and suggested levels and schemas,
    levels first (the schemas name them)."""
    return [*(_level(*row) for row in _LEVELS), *(_schema(*row) for row in _SCHEMAS)]


_ALL = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": True,
        "namespaces": ["*"]}
_LEVELS: list[tuple[str, int, int, tuple[int, int, int] | None]] = [
    # name, nominalConcurrencyShares, lendablePercent, queuing (queues, handSize, limit)
    ("exempt", 0, 0, None),
    ("catch-all", 5, 0, None),
    ("system", 30, 33, (64, 6, 50)),
    ("node-high", 40, 25, (64, 6, 50)),
    ("leader-election", 10, 0, (16, 4, 50)),
    ("workload-high", 40, 50, (128, 6, 50)),
    ("workload-low", 100, 90, (128, 6, 50)),
    ("global-default", 20, 50, (128, 6, 50)),
]
_AUTHENTICATED = [("Group", "system:authenticated"), ("Group", "system:unauthenticated")]
_SCHEMAS: list[tuple[str, str, int, str | None, list[tuple[str, str]], list[Object]]] = [
    # name, level, matchingPrecedence, distinguisher, subjects, resourceRules
    ("exempt", "exempt", 1, None, [("Group", "system:masters")], [_ALL]),
    ("system-leader-election", "leader-election", 100, BY_USER,
     [("User", "system:kube-controller-manager"), ("User", "system:kube-scheduler")],
     [{"verbs": ["get", "create", "update"], "apiGroups": ["coordination.k8s.io"],
       "resources": ["leases"], "namespaces": ["*"]}]),
    ("system-node-high", "node-high", 400, BY_USER, [("Group", "system:nodes")],
     [{"verbs": ["*"], "apiGroups": [""], "resources": ["nodes", "nodes/status"],
       "clusterScope": True},
      {"verbs": ["*"], "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
       "namespaces": ["*"]}]),
    ("system-nodes", "system", 500, BY_USER, [("Group", "system:nodes")], [_ALL]),
    ("kube-controller-manager", "workload-high", 800, BY_NAMESPACE,
     [("User", "system:kube-controller-manager")], [_ALL]),
    ("kube-scheduler", "workload-high", 800, BY_NAMESPACE,
     [("User", "system:kube-scheduler")], [_ALL]),
    ("kube-system-service-accounts", "workload-high", 900, BY_NAMESPACE,
     [("ServiceAccount", "kube-system/*")], [_ALL]),
    ("service-accounts", "workload-low", 9000, BY_USER,
     [("Group", "system:serviceaccounts")], [_ALL]),
    ("global-default", "global-default", 9900, BY_USER, _AUTHENTICATED, [_ALL]),
    ("catch-all", "catch-all", 10000, BY_USER, _AUTHENTICATED, [_ALL]),
]


def _meta(name: str) -> Object:
    return {"name": name, "annotations": {AUTOUPDATE: "true"}}


def _level(name: str, shares: int, lendable: int,
           queuing: tuple[int, int, int] | None) -> Object:
    obj: Object = {"apiVersion": f"{GROUP}/v1", "kind": "PriorityLevelConfiguration",
                   "metadata": _meta(name)}
    if name == "exempt":
        obj["spec"] = {"type": EXEMPT, "exempt": {"nominalConcurrencyShares": shares,
                                                  "lendablePercent": lendable}}
        return obj
    response: Object = {"type": REJECT} if queuing is None else {"type": QUEUE, "queuing": dict(
        zip(("queues", "handSize", "queueLengthLimit"), queuing, strict=True))}
    obj["spec"] = {"type": LIMITED, "limited": {"nominalConcurrencyShares": shares,
                                                "lendablePercent": lendable,
                                                "limitResponse": response}}
    return obj


def _subject(kind: str, name: str) -> Object:
    if kind == "ServiceAccount":
        namespace, _, account = name.partition("/")
        return {"kind": kind, "serviceAccount": {"namespace": namespace, "name": account}}
    return {"kind": kind, kind.lower(): {"name": name}}


def _schema(name: str, level: str, precedence: int, distinguisher: str | None,
            subjects: list[tuple[str, str]], rules: list[Object]) -> Object:
    spec: Object = {"priorityLevelConfiguration": {"name": level},
                    "matchingPrecedence": precedence,
                    "rules": [{"subjects": [_subject(*s) for s in subjects],
                               "resourceRules": [dict(rule) for rule in rules]}]}
    if distinguisher is not None:
        spec["distinguisherMethod"] = {"type": distinguisher}
    return {"apiVersion": f"{GROUP}/v1", "kind": "FlowSchema", "metadata": _meta(name),
            "spec": spec}


# -- defaults and checks (the registry's hooks) -----------------------------------------------

def default_priority_level(obj: Object) -> None:
    """Kubernetes' defaults: ``Limited`` gets 30 shares, ``lendablePercent`` 0, and a
    ``Queue`` response's missing figures :data:`QUEUING_DEFAULTS`."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    limited = spec.get("limited")
    if spec.get("type") == LIMITED and isinstance(limited, dict):
        limited.setdefault("nominalConcurrencyShares", 30)
        limited.setdefault("lendablePercent", 0)
        response = limited.setdefault("limitResponse", {"type": REJECT})
        if isinstance(response, dict) and response.get("type") == QUEUE:
            queuing = response.setdefault("queuing", {})
            for key, value in QUEUING_DEFAULTS.items():
                if isinstance(queuing, dict):
                    queuing.setdefault(key, value)


def default_flow_schema(obj: Object) -> None:
    """Kubernetes' default ``matchingPrecedence``: 1000."""
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("matchingPrecedence", 1000)


def priority_level_problems(obj: Object) -> list[str]:
    """kube-apiserver's ValidatePriorityLevelConfiguration, in its words."""
    spec = obj.get("spec") or {}
    kind = spec.get("type")
    if kind not in (EXEMPT, LIMITED):
        return [f'spec.type: Unsupported value: "{kind}": supported values: "Exempt", '
                f'"Limited"']
    name = (obj.get("metadata") or {}).get("name")
    if (kind == EXEMPT) != (name == "exempt"):
        return [f'spec.type: Invalid value: "{kind}": type must be {EXEMPT} if and only if '
                'name is "exempt"']
    if kind == EXEMPT:
        return [] if spec.get("limited") is None else [
            "spec.limited: Forbidden: must be nil if the type is not Limited"]
    limited = spec.get("limited")
    if not isinstance(limited, dict):
        return ["spec.limited: Required value: must not be empty when type is Limited"]
    problems = _range(limited, "nominalConcurrencyShares", "spec.limited", 0, 2**31 - 1)
    problems += _range(limited, "lendablePercent", "spec.limited", 0, 100)
    return problems + _response_problems(limited.get("limitResponse") or {})


def _response_problems(response: Object) -> list[str]:
    kind = response.get("type")
    where = "spec.limited.limitResponse"
    if kind == REJECT:
        return [] if response.get("queuing") is None else [
            f"{where}.queuing: Forbidden: must be nil if limited.limitResponse.type is not "
            "Limited"]
    if kind != QUEUE:
        return [f'{where}.type: Unsupported value: "{kind}": supported values: "Queue", '
                '"Reject"']
    queuing = response.get("queuing") or {}
    problems = []
    for key in ("queues", "handSize", "queueLengthLimit"):
        problems += _range(queuing, key, f"{where}.queuing", 1, 2**31 - 1)
    if problems:
        return problems
    queues, hand = queuing["queues"], queuing["handSize"]
    if hand > queues:
        return [f"{where}.queuing.handSize: Invalid value: {hand}: should not be greater "
                f"than queues ({queues})"]
    if hand * max(queues - 1, 1).bit_length() > MAX_HAND_ENTROPY:
        return [f"{where}.queuing.handSize: Invalid value: {hand}: required entropy bits of "
                f"deckSize {queues} and handSize {hand} should not be greater than "
                f"{MAX_HAND_ENTROPY}"]
    return []


def _range(obj: Object, key: str, where: str, low: int, high: int) -> list[str]:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return [f"{where}.{key}: Invalid value: {value!r}: must be between {low} and {high}"
                if isinstance(value, int) else f"{where}.{key}: Required value"]
    return []


def flow_schema_problems(obj: Object) -> list[str]:
    """kube-apiserver's ValidateFlowSchema, in its words (the essentials)."""
    spec = obj.get("spec") or {}
    problems = _range(spec, "matchingPrecedence", "spec", 1, 10000)
    if not ((spec.get("priorityLevelConfiguration") or {}).get("name")):
        problems.append("spec.priorityLevelConfiguration.name: Required value: must reference "
                        "a priority level")
    method = (spec.get("distinguisherMethod") or {}).get("type", BY_USER)
    if method not in (BY_USER, BY_NAMESPACE):
        problems.append(f'spec.distinguisherMethod.type: Unsupported value: "{method}": '
                        'supported values: "ByNamespace", "ByUser"')
    for i, rule in enumerate(spec.get("rules") or ()):
        problems += _rule_problems(rule, f"spec.rules[{i}]")
    return problems


def _rule_problems(rule: Any, where: str) -> list[str]:
    if not isinstance(rule, dict):
        return [f"{where}: Invalid value: must be an object"]
    problems = [] if rule.get("subjects") else [f"{where}.subjects: Required value: subjects "
                                                "must contain at least one value"]
    if not rule.get("resourceRules") and not rule.get("nonResourceRules"):
        problems.append(f"{where}: Required value: at least one of resourceRules and "
                        "nonResourceRules has to be non-empty")
    for j, subject in enumerate(rule.get("subjects") or ()):
        kind = subject.get("kind") if isinstance(subject, dict) else None
        if kind not in SUBJECT_KINDS:
            problems.append(f'{where}.subjects[{j}].kind: Unsupported value: "{kind}": '
                            'supported values: "Group", "ServiceAccount", "User"')
        elif not isinstance(subject.get(_field(kind)), dict):
            problems.append(f"{where}.subjects[{j}].{_field(kind)}: Required value: "
                            f"{_field(kind)} is required when subject kind is '{kind}'")
    for j, resource_rule in enumerate(rule.get("resourceRules") or ()):
        if not (resource_rule.get("verbs") and resource_rule.get("apiGroups")
                and resource_rule.get("resources")):
            problems.append(f"{where}.resourceRules[{j}]: Required value: verbs, apiGroups "
                            "and resources must each contain at least one value")
        elif not resource_rule.get("namespaces") and not resource_rule.get("clusterScope"):
            problems.append(f"{where}.resourceRules[{j}].namespaces: Required value: "
                            "resource rules that are not cluster scoped must supply at least "
                            "one namespace")
    return problems


def _field(kind: str) -> str:
    """The field of a subject of ``kind``: ``user``, ``group``, ``serviceAccount``."""
    return "serviceAccount" if kind == "ServiceAccount" else kind.lower()


VALIDATORS = {PRIORITY_LEVELS: priority_level_problems, FLOW_SCHEMAS: flow_schema_problems}
"""This module's checks, by resource (``validation.VALIDATORS`` holds them)."""
DEFAULTERS = {PRIORITY_LEVELS: default_priority_level, FLOW_SCHEMAS: default_flow_schema}
"""This module's defaults, by resource (``defaulting.DEFAULTERS`` holds them)."""
