"""Where a pod may go: node affinity (``nodeSelector``, required node selector terms) and
taints against tolerations, as Kubernetes' component-helpers rule them.

Pure functions over plain dicts, shared by the scheduler (its NodeAffinity and TaintToleration
plugins) and the DaemonSet controller (which node should run a daemon pod).

Neighbours: ``actors.scheduler.plugins`` and ``actors.controllers.daemonset`` (callers),
``actors.api.pods`` (the taints a pod is given tolerations of).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from actors.api.objects import Object


def tolerates(toleration: Object, taint: Object) -> bool:
    """Kubernetes' ToleratesTaint: an empty effect or key matches any; ``Exists`` matches
    any value, ``Equal`` (the default) the same value."""
    effect, key = toleration.get("effect"), toleration.get("key")
    if effect and effect != taint.get("effect"):
        return False
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(taints: Sequence[Object], tolerations: Sequence[Object]) -> Object | None:
    """The first of ``taints`` no toleration matches."""
    for taint in taints:
        if not any(tolerates(toleration, taint) for toleration in tolerations):
            return taint
    return None


def expression_matches(expression: Object, labels: Mapping[str, str]) -> bool:
    """One ``matchExpressions`` requirement (In, NotIn, Exists, DoesNotExist, Gt, Lt)
    against a node's labels. NotIn and DoesNotExist hold for a missing label; Gt and Lt
    compare integers and fail on anything else."""
    key, operator = expression.get("key", ""), expression.get("operator")
    values = expression.get("values") or []
    present, value = key in labels, labels.get(key)
    match operator:
        case "In":
            return present and value in values
        case "NotIn":
            return value not in values
        case "Exists":
            return present
        case "DoesNotExist":
            return not present
        case "Gt" | "Lt":
            try:
                have, bound = int(value or ""), int(values[0])
            except (ValueError, IndexError):
                return False
            return have > bound if operator == "Gt" else have < bound
    return False


def field_matches(expression: Object, node_name: str) -> bool:
    """One ``matchFields`` requirement: only ``metadata.name`` with In or NotIn exists."""
    if expression.get("key") != "metadata.name":
        return False
    return expression_matches(expression, {"metadata.name": node_name}) if expression.get(
        "operator") in ("In", "NotIn") else False


def term_matches(term: Object, labels: Mapping[str, str], node_name: str) -> bool:
    """A nodeSelectorTerm: all its requirements hold; a term with none matches nothing."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    return (all(expression_matches(e, labels) for e in expressions)
            and all(field_matches(f, node_name) for f in fields))


def required_terms(spec: Object) -> list[Object] | None:
    """The pod's requiredDuringSchedulingIgnoredDuringExecution nodeSelectorTerms (None: no
    such requirement)."""
    affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    return None if required is None else list(required.get("nodeSelectorTerms") or [])


def node_matches(spec: Object, labels: Mapping[str, str], node_name: str) -> bool:
    """``nodeSelector`` (every label equal) and the required terms (any term) both hold."""
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(key) != value for key, value in selector.items()):
        return False
    terms = required_terms(spec)
    return terms is None or any(term_matches(term, labels, node_name) for term in terms)
