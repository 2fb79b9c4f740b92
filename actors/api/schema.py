"""Kubernetes' OpenAPI schema of every built-in type, applied as kube-apiserver's decoder
applies it: a value of the wrong type, a missing required field and a bad quantity are field
errors; a field the type does not have is unknown (refused, warned of or dropped, as the
request's ``fieldValidation`` says); a ``null`` where the field is optional is dropped. A field
the schema calls required is required outside ``status`` (where kube-apiserver takes Go's zero
values: a kubelet need not know its ``machineID``).

A CustomResourceDefinition's ``openAPIV3Schema`` compiles (:func:`compile_custom`) into the
same :class:`Node`, with what apiextensions-apiserver adds for custom resources: its value
:class:`Rules` (enum, pattern, bounds, ``x-kubernetes-list-type``), defaults filled in as the
walk meets a missing field, and pruning (a field the structural schema does not declare is
unknown, unless ``x-kubernetes-preserve-unknown-fields``); ``metadata`` is checked as every
object's.

The schemas are those the ``kubernetes-validate`` package ships as JSON files, one folder per
Kubernetes release (``kubernetes-json-schema/v<version>-local-strict/_definitions.json``, the
``$defs`` of one OpenAPI document). They are read once, and each type compiled once into a
:class:`Node` when first met (recursive types included), so a check is one walk of the object.

A ``pattern`` is a regular expression in Go's RE2 syntax, matched by RE2 (``google-re2``) as
kube-apiserver matches it: in time linear in the value, whatever the pattern (Python's ``re``
backtracks: ``^(a+)+$`` against 40 ``a`` and a ``b`` would hold a worker for hours).

Neighbours: ``actors.api.validation`` (the caller, which words the findings into errors and adds
Kubernetes' semantic rules), ``actors.api.quantity`` (the grammar of quantities).

Which thread: any; compiling takes a lock-free cache whose races only compile a type twice.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re2

from actors.api import quantity
from actors.api.objects import Object

KUBERNETES_VERSION = "1.35.0"
"""The release whose schemas are applied (a folder of ``kubernetes-validate``)."""
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
SPECIAL_TYPES = {_QUANTITY: "quantity", _INT_OR_STRING: "int-or-string"}
"""The definitions whose values have a grammar of their own rather than a JSON type."""
_ZERO: dict[str, type] = {"object": dict, "array": list, "string": str, "integer": int,
                          "number": int, "boolean": bool}
"""Go's zero value of each JSON type."""
_INTEGER_BITS = {"int32": 32, "int64": 64}
"""The widths of OpenAPI's integer formats."""
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,),
}


@dataclass(eq=False, slots=True)
class Node:
    """One schema, compiled: what a value at its place may be."""

    types: tuple[str, ...] = ()
    """JSON types allowed (``object``, ``array``...); empty: any value."""
    nullable: bool = True
    properties: dict[str, Node] | None = None
    """An object's fields; None: not a structure (a map, or anything)."""
    values: Node | None = None
    """A map's values (``additionalProperties``)."""
    closed: bool = False
    """Fields outside ``properties`` are unknown."""
    items: Node | None = None
    required: tuple[str, ...] = ()
    special: str | None = None
    """``quantity`` or ``int-or-string``: a value checked by its own grammar."""
    default: Any = None
    """What a missing field becomes (custom resources only; None: nothing)."""
    defaulted: tuple[str, ...] = ()
    """The ``properties`` that have a ``default``."""
    rules: Rules | None = None
    """What a value must be beyond its type (custom resources only)."""
    bits: int | None = None
    """An integer's width (``format: int32`` or ``int64``): Go's field holds no more."""
    go_type: str = ""
    """The Go type kube-apiserver decodes a value here into (``v1.NodeAffinity``,
    ``[]v1.Container``, ``int32``), as its decode errors name it (built-in types only)."""


@dataclass(frozen=True, slots=True)
class Rules:
    """The value validations of a custom resource's schema, as OpenAPI v3 names them."""

    enum: tuple[Any, ...] = ()
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    list_type: str | None = None
    """``x-kubernetes-list-type``: ``set`` and ``map`` items are unique (``map``: by
    ``list_keys``); ``atomic`` (the default) says nothing of them."""
    list_keys: tuple[str, ...] = ()


@dataclass(slots=True)
class Findings:
    """What one walk found, paths as kube-apiserver writes them (``spec.containers[0].name``)."""

    errors: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    dropped: list[tuple[Object, str, bool]] = field(default_factory=list)
    """(map, key, unknown) of every field the decoder drops: unknown ones and optional nulls."""
    zeroed: list[tuple[list[Any], int, Any]] = field(default_factory=list)
    """(list, index, zero value) of every null item of a list: Go's decoder makes it the zero
    value of the item's type (``{}``, ``""``, ``0``)."""
    mistyped: list[tuple[str, Any, Node]] = field(default_factory=list)
    """(path, value, node) of every value Go's decoder could not read into its field (a wrong
    JSON type, an integer too wide, a string that is no quantity), also in ``errors``."""
    undecodable: str | None = None
    """For a built-in type: why kube-apiserver's decoder refuses the object (the first of
    ``mistyped``, in Go's words), a 400 before any field error; None: it decodes."""

    def drop(self) -> None:
        """Change the object walked as Go's decoder would have read it: no unknown fields, no
        optional nulls, no null items."""
        for parent, key, _ in self.dropped:
            parent.pop(key, None)
        for items, index, zero in self.zeroed:
            items[index] = zero


def check(api_version: str, kind: str, obj: Object) -> Findings | None:
    """Walk ``obj`` against the schema of ``kind`` in ``api_version``; None when Kubernetes has
    no such type (kubeactor's own kinds)."""
    root = _root(api_version, kind)
    if root is None:
        return None
    findings = walk(root, obj)
    if findings.mistyped:
        findings.undecodable = decode_error(root, *findings.mistyped[0])
    return findings


def decode_error(root: Node, path: str, value: Any, node: Node) -> str:
    """Go's words (sigs.k8s.io/json's UnmarshalTypeError, or Quantity's own) for ``value`` at
    ``path`` under ``root`` that the decoder could not read: the struct holding the field, the
    JSON names leading to it (no list indexes, no map keys) and the field's Go type."""
    if node.special == "quantity":
        return quantity.FORMAT_ERROR
    holder, fields, at = "", [], root
    for name, _ in _STEPS.findall(path):
        if name:
            holder, at = at.go_type.rpartition(".")[2], (at.properties or {}).get(name, at)
            fields.append(name)
        else:  # a list's index or a map's key
            at = at.items or at.values or at
    target = "int32" if node.special else node.go_type  # IntOrString reads an int32
    found = _GO_VALUES.get(json_type(value), json_type(value))
    if found == "number" and (node.bits is not None or node.special):
        found = f"number {value}"  # an integer field: Go names the number it cannot hold
    return (f"json: cannot unmarshal {found} into Go struct field {holder}."
            f"{'.'.join(fields)} of type {target}")


_GO_VALUES = {"boolean": "bool", "integer": "number"}
"""How Go's decoder names a JSON value's kind where it differs from the schema's type."""
_STEPS = re2.compile(r"([^.\[\]]+)|\[([^\]]*)\]")
"""A path's steps: a field's name, or an index or map key in brackets."""


def walk(root: Node, obj: Any, at: str = "") -> Findings:
    """Walk ``obj`` against ``root`` (filling in the defaults it declares); ``at``: the path
    its findings name it by (the object's root: none)."""
    findings = Findings()
    _walk(obj, root, at, findings, None, "")
    return findings


def compile_custom(schema: dict[str, Any]) -> Node:
    """The ``openAPIV3Schema`` of a custom resource's version, compiled: its own fields
    structural (pruned unless it says ``x-kubernetes-preserve-unknown-fields``), ``apiVersion``
    and ``kind`` any string, ``metadata`` every object's."""
    root = _compile_custom(schema)
    root.properties = {**(root.properties or {}), "apiVersion": Node(types=("string",)),
                       "kind": Node(types=("string",)), "metadata": _compiled(_OBJECT_META)}
    return root


def compile_node(schema: dict[str, Any]) -> Node:
    """One schema of a CRD's ``openAPIV3Schema`` (a field's, with what is under it),
    compiled as its objects' are."""
    return _compile_custom(schema)


def _compile_custom(schema: dict[str, Any]) -> Node:
    node = Node(default=copy.deepcopy(schema.get("default")), rules=_rules(schema))
    if schema.get("x-kubernetes-int-or-string"):
        node.special = "int-or-string"
        return node
    _fill(node, schema, _compile_custom)
    if node.types == ("object",) and node.values is None:
        node.properties = node.properties or {}
        node.closed = not schema.get("x-kubernetes-preserve-unknown-fields")
    node.defaulted = tuple(key for key, sub in (node.properties or {}).items()
                           if sub.default is not None)
    node.nullable = bool(schema.get("nullable")) or not node.types
    return node


def _rules(schema: dict[str, Any]) -> Rules | None:
    found = Rules(
        enum=tuple(schema.get("enum") or ()), pattern=schema.get("pattern"),
        minimum=schema.get("minimum"), maximum=schema.get("maximum"),
        exclusive_minimum=bool(schema.get("exclusiveMinimum")),
        exclusive_maximum=bool(schema.get("exclusiveMaximum")),
        min_length=schema.get("minLength"), max_length=schema.get("maxLength"),
        min_items=schema.get("minItems"), max_items=schema.get("maxItems"),
        list_type=schema.get("x-kubernetes-list-type"),
        list_keys=tuple(schema.get("x-kubernetes-list-map-keys") or ()))
    return None if found == Rules() else found


@functools.cache
def _definitions() -> dict[str, Any]:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the kubernetes-validate package is missing: pip install kubeactor")
    folder = Path(next(iter(spec.submodule_search_locations)), "kubernetes-json-schema",
                  f"v{KUBERNETES_VERSION}-local-strict")
    with open(folder / "_definitions.json", encoding="utf-8") as file:
        definitions: dict[str, Any] = json.load(file)["$defs"]
    return definitions


@functools.cache
def _kinds() -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> the name of its definition."""
    found = {}
    for name, schema in _definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            group = f"{gvk['group']}/" if gvk["group"] else ""
            found[(f"{group}{gvk['version']}", gvk["kind"])] = name
    return found


def definitions() -> dict[str, Any]:
    """Every definition of the release, by name (``io.k8s.api.core.v1.Pod``), as the package
    ships them (JSON Schema: references ``#/$defs/NAME``, types that may be ``null``); the
    OpenAPI documents kubectl reads are written from these. Read them, never change them."""
    return _definitions()


def definition_of(api_version: str, kind: str) -> str | None:
    """The name of the definition of ``kind`` in ``api_version``; None when Kubernetes has no
    such type."""
    return _kinds().get((api_version, kind))


def _root(api_version: str, kind: str) -> Node | None:
    name = _kinds().get((api_version, kind))
    return None if name is None else _compiled(name)


_COMPILED: dict[str, Node] = {}


def _compiled(name: str) -> Node:
    """The definition ``name``, compiled once (cached before its fields, for recursion)."""
    if (node := _COMPILED.get(name)) is not None:
        return node
    package, _, type_name = name.rpartition(".")
    node = _COMPILED[name] = Node(go_type=f"{package.rpartition('.')[2]}.{type_name}")
    special = SPECIAL_TYPES.get(name)
    if special is not None:
        node.special = special
        node.bits = 32 if special == "int-or-string" else None  # Go's IntOrString: an int32
    else:
        _fill(node, _definitions()[name])
    return node


def _compile(schema: dict[str, Any]) -> Node:
    ref = schema.get("$ref")
    if ref is not None:
        return _compiled(ref.rsplit("/", 1)[-1])
    node = Node()
    _fill(node, schema)
    return node


def _fill(node: Node, schema: dict[str, Any],
          compile_: Callable[[dict[str, Any]], Node] = _compile) -> None:
    """Fill ``node`` from ``schema``, its parts compiled by ``compile_``."""
    types = schema.get("type", ())
    types = (types,) if isinstance(types, str) else tuple(types)
    node.types = tuple(t for t in types if t != "null")
    node.nullable = "null" in types or not types
    if "properties" in schema:
        node.properties = {key: compile_(sub) for key, sub in schema["properties"].items()}
    extra = schema.get("additionalProperties")
    node.closed = extra is False
    if isinstance(extra, dict):
        node.values = compile_(extra)
    if "items" in schema:
        node.items = compile_(schema["items"])
    node.required = tuple(schema.get("required", ()))
    node.bits = _INTEGER_BITS.get(schema.get("format", ""))
    node.go_type = node.go_type or _go_type(node, schema.get("format", ""))


def _go_type(node: Node, format_: str) -> str:
    """The Go type of an inline schema (a definition's is its name)."""
    if node.items is not None:
        return f"[]{node.items.go_type}"
    if node.values is not None:
        return f"map[string]{node.values.go_type}"
    return _GO_TYPES.get(format_) or _GO_TYPES.get(node.types[0] if node.types else "", "")


_GO_TYPES = {"int32": "int32", "int64": "int64", "double": "float64", "string": "string",
             "boolean": "bool", "number": "float64"}
"""Go's types of OpenAPI's formats and scalar types."""


def _walk(value: Any, node: Node, path: str, found: Findings, parent: Object | None,
          key: str) -> None:
    if value is None:
        if node.nullable or node.special:
            if parent is not None:
                found.dropped.append((parent, key, False))
        else:
            found.errors.append(_wrong_type(path, node.types, value))
        return
    if node.special:
        if problems := _special_problems(node, path, value):
            found.errors += problems
            found.mistyped.append((path, value, node))
        return
    if node.types and not _has_type(value, node.types):
        found.errors.append(_wrong_type(path, node.types, value))
        found.mistyped.append((path, value, node))
        return
    if node.bits is not None and isinstance(value, int) and not isinstance(value, bool):
        low, high = -1 << node.bits - 1, (1 << node.bits - 1) - 1
        if not low <= value <= high:
            found.errors.append(f"{path}: Invalid value: {value}: must be between {low} and "
                                f"{high}, inclusive")
            found.mistyped.append((path, value, node))
    if node.rules is not None:
        found.errors += _rule_problems(node.rules, path, value)
    if isinstance(value, dict):
        _walk_map(value, node, path, found)
    elif isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            if item is None and node.items.types:  # then checked as that zero value
                item = _ZERO[node.items.types[0]]()
                found.zeroed.append((value, index, item))
            _walk(item, node.items, f"{path}[{index}]", found, None, "")


def _walk_map(value: Object, node: Node, path: str, found: Findings) -> None:
    properties = node.properties or {}
    for key in node.defaulted:
        if value.get(key) is None and (key not in value or not properties[key].nullable):
            value[key] = copy.deepcopy(properties[key].default)
    for key, item in value.items():
        sub = properties.get(key)
        if sub is not None:
            _walk(item, sub, f"{path}.{key}" if path else key, found, value, key)
        elif node.values is not None:
            _walk(item, node.values, f"{path}[{key}]", found, value, key)
        elif node.closed:
            found.unknown.append(f"{path}.{key}" if path else key)
            found.dropped.append((value, key, True))
    for key in node.required if not path.startswith("status") else ():
        if value.get(key) is None:
            found.errors.append(f"{path}.{key}: Required value" if path else
                                f"{key}: Required value")


def _rule_problems(rules: Rules, path: str, value: Any) -> list[str]:
    """What ``value`` (of the right type) breaks of ``rules``, as kube-openapi words it."""
    if rules.enum and value not in rules.enum:
        supported = ", ".join(shown(v) for v in rules.enum)
        return [f"{path}: Unsupported value: {shown(value)}: supported values: {supported}"]
    if isinstance(value, str):
        return _string_problems(rules, path, value)
    if isinstance(value, list):
        return _list_problems(rules, path, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_problems(rules, path, value)
    return []


def _string_problems(rules: Rules, path: str, value: str) -> list[str]:
    if rules.max_length is not None and len(value) > rules.max_length:
        return [f"{path}: Too long: may not be more than {rules.max_length} bytes"]
    if rules.min_length is not None and len(value) < rules.min_length:
        return [f"{path}: Invalid value: {shown(value)}: {path} in body should be at least "
                f"{rules.min_length} chars long"]
    if rules.pattern is not None and not regex(rules.pattern).search(value):
        return [f"{path}: Invalid value: {shown(value)}: {path} in body should match "
                f"'{rules.pattern}'"]
    return []


def _number_problems(rules: Rules, path: str, value: float) -> list[str]:
    low, high = rules.minimum, rules.maximum
    if low is not None and (value < low or (rules.exclusive_minimum and value == low)):
        than = "greater than" if rules.exclusive_minimum else "greater than or equal to"
        return [f"{path}: Invalid value: {value}: {path} in body should be {than} {low}"]
    if high is not None and (value > high or (rules.exclusive_maximum and value == high)):
        than = "less than" if rules.exclusive_maximum else "less than or equal to"
        return [f"{path}: Invalid value: {value}: {path} in body should be {than} {high}"]
    return []


def _list_problems(rules: Rules, path: str, value: list[Any]) -> list[str]:
    if rules.max_items is not None and len(value) > rules.max_items:
        return [f"{path}: Too many: {len(value)}: must have at most {rules.max_items} items"]
    if rules.min_items is not None and len(value) < rules.min_items:
        return [f"{path}: Invalid value: {len(value)}: {path} in body should have at least "
                f"{rules.min_items} items"]
    if rules.list_type not in ("set", "map"):
        return []
    seen: list[Any] = []
    problems = []
    for index, item in enumerate(value):
        identity = [item.get(key) for key in rules.list_keys] if rules.list_type == "map" \
            and isinstance(item, dict) else item
        if identity in seen:
            problems.append(f"{path}[{index}]: Duplicate value: {json.dumps(identity)}")
        seen.append(identity)
    return problems


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a regular expression RE2 takes, in its words; None when it is."""
    try:
        regex(pattern)
    except re2.error as error:
        return str(error.args[0].decode() if isinstance(error.args[0], bytes) else error)
    return None


_QUIET = re2.Options()
_QUIET.log_errors = False


@functools.lru_cache(maxsize=1024)
def regex(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (once); ``re2.error`` when it is not one."""
    return re2.compile(pattern, _QUIET)


def _has_type(value: Any, types: tuple[str, ...]) -> bool:
    if isinstance(value, bool):
        return "boolean" in types
    classes = _CLASSES.get(types)
    if classes is None:  # once per tuple of types a schema names (a few dozen)
        classes = _CLASSES[types] = tuple(c for t in types for c in _JSON_TYPES.get(t, ()))
    return isinstance(value, classes)


_CLASSES: dict[tuple[str, ...], tuple[type, ...]] = {}
"""The Python classes of each tuple of JSON types :func:`_has_type` was asked about (one
``isinstance`` instead of one per type: the schema walk's largest cost)."""


def json_type(value: Any) -> str:
    """The JSON type of a decoded value, as Kubernetes names it in messages."""
    if value is None:
        return "null"
    for name in ("boolean", "integer", "number", "string", "array", "object"):
        if _has_type(value, (name,)):
            return name
    return type(value).__name__


def _wrong_type(path: str, types: tuple[str, ...], value: Any) -> str:
    actual = json_type(value)
    return (f'{path}: Invalid value: "{actual}": {path} in body must be of type '
            f'{" or ".join(types)}: "{actual}"')


def _special_problems(node: Node, path: str, value: Any) -> list[str]:
    if node.special == "int-or-string":  # a built-in one's integer is an int32 (``bits``)
        if not _has_type(value, ("integer", "string")):
            return [_wrong_type(path, ("integer", "string"), value)]
        if node.bits is not None and isinstance(value, int) and not isinstance(value, bool):
            low, high = -1 << node.bits - 1, (1 << node.bits - 1) - 1
            if not low <= value <= high:
                return [f"{path}: Invalid value: {value}: must be between {low} and {high}, "
                        "inclusive"]
        return []
    try:
        quantity.parse_quantity(value)
    except ValueError as error:
        return [f"{path}: Invalid value: {shown(value)}: {error}"]
    return []


def shown(value: Any) -> str:
    """A value as kube-apiserver quotes it in a field error."""
    return json.dumps(value) if isinstance(value, str) else str(value)
