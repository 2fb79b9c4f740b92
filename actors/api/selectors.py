"""Label and field selectors, parsed from kubectl's string forms into matchers.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``,
comma-separated (all must hold). Field selectors: ``path=value`` and ``path!=value`` on the
fields Kubernetes supports (``metadata.name``, ``metadata.namespace``, ``spec.nodeName``,
``status.phase``, and an Event's ``involvedObject.*``, ``reason`` and ``type``, which ``kubectl
describe`` selects its events by). A missing field compares as the empty string, so
``spec.nodeName=`` selects unscheduled pods.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bus.errors import BadRequest

Matcher = Callable[[dict[str, Any]], bool]

FIELDS = ("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase",
          *(f"involvedObject.{field}" for field in ("kind", "namespace", "name", "uid",
                                                     "apiVersion", "resourceVersion",
                                                     "fieldPath")),
          "reason", "type")
_SET_TERM = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str
    """``=``, ``!=``, ``in``, ``notin``, ``exists``, ``!exists``."""
    values: tuple[str, ...] = ()
    members: frozenset[str] = field(init=False, repr=False, compare=False)
    """``values`` to look a label up in: a watch's selector is matched against every event on
    the watch worker, and a scan of ``x notin (120,000 values)`` took 1.9 ms an event."""

    def __post_init__(self) -> None:
        # labels are strings: a value of another type (a selector stored unchecked) is none
        object.__setattr__(self, "members", frozenset(
            value for value in self.values if isinstance(value, str)))

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        match self.op:
            case "exists":
                return present
            case "!exists":
                return not present
            case "=" | "in":
                return present and value in self.members
            case _:  # "!=" and "notin" match objects without the label too
                return value not in self.members


def _split_terms(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [term.strip() for term in terms if term.strip()]


def parse_labels(selector: str | None) -> tuple[Requirement, ...]:
    """Parse a label selector; BadRequest on a malformed one."""
    requirements = []
    for term in _split_terms(selector or ""):
        if match := _SET_TERM.match(term):
            key, op, values = match.groups()
            items = tuple(v.strip() for v in values.split(",") if v.strip())
            requirements.append(Requirement(key, op, items))
        elif "!=" in term:
            key, value = term.split("!=", 1)
            requirements.append(Requirement(key.strip(), "!=", (value.strip(),)))
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            requirements.append(Requirement(key.strip(), "=", (value.strip(),)))
        elif term.startswith("!"):
            requirements.append(Requirement(term[1:].strip(), "!exists"))
        elif re.match(r"^[A-Za-z0-9_./-]+$", term):
            requirements.append(Requirement(term, "exists"))
        else:
            raise BadRequest(f"unable to parse requirement: {term!r}")
        if not requirements[-1].key:
            raise BadRequest(f"unable to parse requirement: {term!r}: the key is empty")
    return tuple(requirements)


def parse_fields(selector: str | None, selectable: tuple[str, ...] = ()
                 ) -> tuple[Requirement, ...]:
    """Parse a field selector; BadRequest naming an unsupported field. ``selectable``: the
    paths a custom resource's CRD adds (its ``selectableFields``, without the leading dot)."""
    requirements = []
    for term in _split_terms(selector or ""):
        op = "!=" if "!=" in term else "="
        path, _, value = term.replace("==", "=").partition(op)
        path = path.strip()
        if not _ or (path not in FIELDS and path not in selectable):
            supported = ", ".join((*FIELDS, *selectable))
            raise BadRequest(f'field label not supported: "{path}" (supported: {supported})')
        requirements.append(Requirement(path, op, (value.strip(),)))
    return tuple(requirements)


def required_field(selector: str | None, path: str) -> str | None:
    """The value a field selector requires ``path`` to equal (``metadata.name=web``: web);
    None when it requires none, or does not parse (the list itself then refuses it)."""
    with contextlib.suppress(BadRequest):
        for requirement in parse_fields(selector):
            if requirement.key == path and requirement.op == "=":
                return requirement.values[0]
    return None


def field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):  # a selectable field's, as kube-apiserver writes it
        return "true" if value else "false"
    return "" if value is None else str(value)


def matcher(labels: str | None = None, fields: str | None = None,
            selectable: tuple[str, ...] = ()) -> Matcher:
    """One predicate over objects for both selectors (either may be None); ``selectable``:
    the fields a custom resource may be selected by besides (:func:`parse_fields`)."""
    label_reqs = parse_labels(labels)
    field_reqs = parse_fields(fields, selectable)

    def matches(obj: dict[str, Any]) -> bool:
        obj_labels = obj.get("metadata", {}).get("labels") or {}
        if not all(req.matches(obj_labels) for req in label_reqs):
            return False
        return all(
            (field_value(obj, req.key) == req.values[0]) == (req.op == "=") for req in field_reqs
        )

    return matches


# -- LabelSelector objects (``spec.selector`` of ReplicaSets and Deployments) -----------------

_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}


def selector_requirements(selector: dict[str, Any]) -> tuple[Requirement, ...]:
    """The requirements of a LabelSelector (``matchLabels`` and ``matchExpressions``);
    ValueError naming the first malformed part."""
    requirements = [Requirement(str(k), "=", (str(v),))
                    for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        operator = _OPERATORS.get(expression.get("operator"))
        values = expression.get("values") or []
        if operator is None or not expression.get("key"):
            raise ValueError(f"matchExpressions: {expression!r}: needs a key and an operator "
                             "(In, NotIn, Exists, DoesNotExist)")
        if (operator in ("in", "notin")) != bool(values):
            raise ValueError(f"matchExpressions: {expression['key']}: values must be given for "
                             "In and NotIn, and only for them")
        requirements.append(Requirement(str(expression["key"]), operator,
                                        tuple(str(v) for v in values)))
    return tuple(requirements)


def selector_matches(selector: dict[str, Any], labels: dict[str, str] | None) -> bool:
    """Whether ``labels`` satisfy a LabelSelector; an empty selector matches nothing here (as
    Kubernetes' controllers treat it)."""
    requirements = selector_requirements(selector)
    return bool(requirements) and all(req.matches(labels or {}) for req in requirements)


def selector_text(selector: dict[str, Any]) -> str:
    """A LabelSelector in kubectl's string form (``app=web,tier in (a,b)``)."""
    words = []
    for req in selector_requirements(selector):
        match req.op:
            case "=":
                words.append(f"{req.key}={req.values[0]}")
            case "exists":
                words.append(req.key)
            case "!exists":
                words.append(f"!{req.key}")
            case _:
                words.append(f"{req.key} {req.op} ({','.join(req.values)})")
    return ",".join(words)
