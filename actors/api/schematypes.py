"""The schemas of built-in types as msgspec types: a typed check of a whole object in C, for
the objects the schema walk would find nothing in (most of them).

:func:`fits` converts an object with ``msgspec.convert`` into the type made once from its
kind's compiled :class:`~actors.api.schema.Node` (a ``Struct`` per structure, closed where the
schema is; ``list``, ``dict``, bounded ``int``, the quantity grammar) and throws the result
away: it answers only whether the object is one :func:`schema.walk` would pass as it is, with
no finding at all (no unknown field, no ``null``, no error). Each type is stricter than the
walk, never looser: a ``null`` anywhere, a float quantity, an exponent, an integer wider than
64 bits fail the conversion, and the caller then walks the object, whose findings say what
kube-apiserver would say. So the answers are the walk's; only a clean object is cheaper.

Neighbours: ``actors.api.schema`` (the nodes, and the walk this stands in front of),
``actors.api.validation`` (the caller).

Which thread: any; types are made under no lock (a race makes one twice, the same).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

import msgspec

from actors.api import schema
from actors.api.objects import Object

_NOT_NULL = int | float | str | bool | list[Any] | dict[str, Any]
"""Any JSON value but ``null`` (what the walk drops where the schema says nothing)."""
_QUANTITY = int | Annotated[str, msgspec.Meta(
    pattern=r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)"
            r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]{1,2})?\Z")]
"""The quantities taken without a look at their value: an integer, or a decimal with a
suffix or an exponent of two digits at most (a longer one, blanks, a float: the walk
decides, against ``quantity.MAX_EXPONENT``)."""
_INT_OR_STRING = Annotated[int, msgspec.Meta(ge=-1 << 31, le=(1 << 31) - 1)] | str
"""A built-in IntOrString: a string, or an integer Go's int32 holds."""
_SCALARS: dict[str, Any] = {"string": str, "boolean": bool, "number": float, "integer": int}


class _Unsupported(Exception):
    """A schema with no msgspec type here (a recursive one): its kind is always walked."""


def fits(api_version: str, kind: str, obj: Object) -> bool:
    """Whether ``obj`` is of the built-in type ``kind`` in ``api_version`` with nothing for
    the schema walk to find (False: walk it; also for kinds with no type here)."""
    typed = _ROOTS.get((api_version, kind), _UNMADE)
    if typed is _UNMADE:
        typed = _ROOTS[(api_version, kind)] = _root_type(api_version, kind)
    if typed is None:
        return False
    try:
        msgspec.convert(obj, typed)
    except msgspec.ValidationError:
        return False
    return True


_UNMADE = object()
_ROOTS: dict[tuple[str, str], Any] = {}
"""The type of each (apiVersion, kind) asked about; None: none (walked)."""


def _root_type(api_version: str, kind: str) -> Any:
    root = schema._root(api_version, kind)
    if root is None:
        return None
    try:
        return _Types(root).of(root, in_status=False)
    except _Unsupported:
        return None


class _Types:
    """The msgspec types of one root's nodes, each made once per node and place (a field
    under ``status`` is never required, as the walk has it)."""

    _names = itertools.count()

    def __init__(self, root: schema.Node) -> None:
        self.root = root
        self.made: dict[tuple[int, bool], Any] = {}
        self.making: set[tuple[int, bool]] = set()

    def of(self, node: schema.Node, in_status: bool) -> Any:
        key = (id(node), in_status)
        if key in self.made:
            return self.made[key]
        if key in self.making or node.rules is not None or node.defaulted:
            raise _Unsupported(node.go_type)
        self.making.add(key)
        typed = self.made[key] = self._type(node, in_status)
        self.making.discard(key)
        return typed

    def _type(self, node: schema.Node, in_status: bool) -> Any:
        if node.special == "int-or-string":
            return _INT_OR_STRING if node.bits == 32 else int | str
        if node.special == "quantity":
            return _QUANTITY
        if not node.types:
            if node.properties is not None or node.items or node.values:
                raise _Unsupported(node.go_type)
            return _NOT_NULL
        if len(node.types) > 1:
            raise _Unsupported(node.go_type)
        kind = node.types[0]
        if kind == "array":
            return list[self.of(node.items, in_status)] if node.items else list[Any]  # type: ignore[misc]
        if kind == "object":
            return self._object(node, in_status)
        if kind == "integer" and node.bits is not None:
            low, high = -1 << node.bits - 1, (1 << node.bits - 1) - 1
            return Annotated[int, msgspec.Meta(ge=low, le=high)]
        if kind == "number" and node.bits is not None:  # the walk bounds integers only
            raise _Unsupported(node.go_type)
        return _SCALARS[kind]

    def _object(self, node: schema.Node, in_status: bool) -> Any:
        if node.values is not None:
            if node.properties:
                raise _Unsupported(node.go_type)
            return dict[str, self.of(node.values, in_status)]  # type: ignore[misc]
        if node.properties is None and not node.closed:
            return dict[str, Any]
        properties = node.properties or {}
        if not properties.keys() >= set(node.required):
            raise _Unsupported(node.go_type)  # a required field it does not declare
        required = () if in_status else node.required
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        rename = {}
        for number, (name, sub) in enumerate(properties.items()):
            here = in_status or (node is self.root and name.startswith("status"))
            rename[f"f{number}"] = name
            typed = self.of(sub, here)
            fields.append((f"f{number}", typed) if name in required else
                          (f"f{number}", typed, None))
        fields.sort(key=lambda field: len(field) == 3)  # required fields first
        return msgspec.defstruct(f"Typed{next(self._names)}", fields, rename=rename,
                                 forbid_unknown_fields=node.closed)
