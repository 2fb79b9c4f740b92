"""Field sets: which fields of an object a write set, in Kubernetes' FieldsV1 form.

A field is a :data:`Path` of FieldsV1 elements: ``f:spec`` (a field of a map),
``k:{"name":"web"}`` (the item of a keyed list, by its merge key: the strategic-merge keys of
``strategicmerge.MERGE_KEYS``), ``v:"x"`` (a value of a set list: ``finalizers``). Every other
list is atomic: the list is one field. :func:`fields` maps each field of an object to its
value (a scalar, an atomic list, an empty map, or :data:`INNER` for a keyed item or a granular
map that holds fields of its own, recorded as ``.`` beside them); :func:`encode` and
:func:`decode` turn a set into the nested ``fieldsV1`` map of ``metadata.managedFields`` and
back; :func:`describe` writes a field as kube-apiserver's conflict messages do
(``.spec.template.spec.containers[name="web"].image``).

Kubernetes reads the list and map kinds from each type's OpenAPI schema; without one, maps are
structs (no ``.`` of their own) but those named in :data:`MAP_FIELDS`, and keyed lists have
the one merge key of their strategic merge (``containerPort`` alone for ports, where
Kubernetes keys on ``containerPort`` and ``protocol``).

Neighbours: ``applying`` (server-side apply and the managers of every write),
``strategicmerge`` (the merge keys).

Which thread: any; pure functions, the inputs are never changed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from actors.api import strategicmerge
from actors.api.objects import Object, interned

Path = tuple[str, ...]
FieldSet = frozenset[Path]

INNER = object()
"""The value :func:`fields` gives a keyed item or granular map: its own fields say the rest."""

SET_LISTS = frozenset({"finalizers"})
"""Lists of scalars merged as sets (``x-kubernetes-list-type: set``), by their field name."""
MAP_FIELDS = frozenset({"labels", "annotations", "data", "binaryData", "stringData",
                        "nodeSelector", "matchLabels", "limits", "requests"})
"""Fields whose maps are maps of their own (a key per entry), not structs: they own a ``.``."""

HERE = "."
"""FieldsV1's mark of the field itself, beside the fields it holds."""


def fields(obj: Object) -> dict[Path, Any]:
    """Every field of ``obj`` with its value (:data:`INNER` for a keyed item or a granular
    map that holds fields)."""
    found: dict[Path, Any] = {}
    _walk(obj, (), found)
    return found


def _walk(value: Any, path: Path, found: dict[Path, Any]) -> None:
    if isinstance(value, dict) and value:
        if path and (path[-1].startswith("k:") or _name(path) in MAP_FIELDS):
            found[path] = INNER
        for key, item in value.items():
            _walk(item, (*path, f"f:{key}"), found)
    elif isinstance(value, list) and value and (items := elements(value, path)):
        for element, item in zip(items, value, strict=True):
            if element.startswith("v:"):
                found[(*path, element)] = item
            else:
                _walk(item, (*path, element), found)
    elif path:
        found[path] = value


def tree(obj: Object, skipped: FieldSet = frozenset()) -> Object:
    """The FieldsV1 map of every field of ``obj`` but those under a path of ``skipped``
    (what :func:`encode` makes of :func:`fields`, in one walk: no set of paths, no sort of
    all of them); a map all of whose fields are skipped is left out."""
    if not isinstance(obj, dict) or not obj:
        return {}
    return _tree([(f"f:{key}", obj[key]) for key in sorted(obj)], (), skipped, False) or {}


def _tree(children: list[tuple[str, Any]], path: Path, skipped: FieldSet, marked: bool
          ) -> Object | None:
    """The FieldsV1 node of the field ``path`` with its ``children`` (element, value), sorted
    by element, ``marked`` when it is a field of its own (``.``, first, as :func:`encode`
    orders it); None when every field under it is skipped."""
    node: Object = {HERE: {}} if marked else {}
    for element, item in children:
        inner = (*path, element)
        if inner in skipped:
            continue
        child: Object | None = {}
        if item and isinstance(item, dict):
            child = _tree([(f"f:{key}", item[key]) for key in sorted(item)], inner, skipped,
                          element[:2] == "k:" or element[2:] in MAP_FIELDS)
        elif item and isinstance(item, list) and element[:2] != "v:" and (
                found := elements(item, inner)):
            child = _tree(sorted(zip(found, item, strict=True), key=_first), inner, skipped,
                          False)
        if child is not None:
            node[sys.intern(element)] = child
    return node if len(node) > marked else None


def _first(pair: tuple[str, Any]) -> str:
    return pair[0]


def _name(path: Path) -> str:
    return path[-1][2:] if path and path[-1].startswith("f:") else ""


def names(path: Path) -> tuple[str, ...]:
    """The field names along ``path`` (what ``strategicmerge.merge_key`` looks up)."""
    return tuple(element[2:] for element in path if element.startswith("f:"))


def elements(items: list[Any], path: Path) -> list[str] | None:
    """The path element of each item of a keyed or set list, None for an atomic one (or one
    whose items do not all have their key, or repeat one)."""
    key = strategicmerge.merge_key(names(path))
    if key is not None and all(isinstance(i, dict) and key in i for i in items):
        found = [item_element(key, i[key]) for i in items]
    elif _name(path) in SET_LISTS and all(isinstance(i, str | int) for i in items):
        found = [f"v:{json.dumps(i)}" for i in items]
    else:
        return None
    return found if len(set(found)) == len(found) else None


def item_element(key: str, value: Any) -> str:
    """The element of a keyed list's item whose merge ``key`` is ``value``."""
    if type(value) is int or (type(value) is str and value.isascii() and value.isprintable()
                              and '"' not in value and "\\" not in value):
        shown = value if type(value) is int else f'"{value}"'  # as json.dumps writes them
        return f'k:{{"{key}":{shown}}}'
    return "k:" + json.dumps({key: value}, separators=(",", ":"))


def encode(paths: Iterable[Path]) -> Object:
    """The FieldsV1 map of a set of fields (a field that holds others marks itself ``.``)."""
    members = frozenset(paths)
    tree: Object = {}
    for path in sorted(members):  # a field before what it holds
        node = tree
        for depth, element in enumerate(path):
            child = node.get(element)
            if child is None:  # (the names interned: every pod's managedFields repeat them)
                child = node[interned(element)] = {}
            elif not child and depth < len(path) - 1 and path[:depth + 1] in members:
                child[HERE] = {}
            node = child
    return tree


def decode(tree: Any) -> FieldSet:
    """The set of fields a FieldsV1 map holds; ValueError when it is not one."""
    found: list[Path] = []
    _decode(tree, (), found)
    return frozenset(found)


def _decode(tree: Any, path: Path, found: list[Path]) -> None:
    if not isinstance(tree, dict):
        raise ValueError(f"fieldsV1 at {describe(path) or 'the top'} is not a map")
    if path and (not tree or HERE in tree):
        found.append(path)
    for element, child in tree.items():
        if element != HERE:
            if element[:2] not in ("f:", "k:", "v:", "i:"):
                raise ValueError(f"fieldsV1: {element!r} is not a field")
            _decode(child, (*path, element), found)


def describe(path: Path) -> str:
    """``path`` as kube-apiserver writes a field: ``.spec.containers[name="web"].image``."""
    return "".join(_describe(element) for element in path)


def _describe(element: str) -> str:
    kind, rest = element[:2], element[2:]
    if kind == "k:":
        keys = json.loads(rest)
        return "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
    if kind == "v:":
        return f"[={rest}]"
    if kind == "i:":
        return f"[{rest}]"
    return f".{rest}"


def changes(old: Any, new: Any) -> tuple[FieldSet, FieldSet]:
    """(the fields set or changed, the fields removed) from the object ``old`` to ``new``
    (what :func:`fields` of each would show, without walking what both hold alike)."""
    changed: set[Path] = set()
    removed: set[Path] = set()
    _diff(old, new, (), changed, removed)
    return frozenset(changed), frozenset(removed)


_ABSENT = object()


def _diff(old: Any, new: Any, path: Path, changed: set[Path], removed: set[Path]) -> None:
    if type(old) is type(new) and old == new:
        return
    pairs = _pairs(old, new, path)
    if pairs is not None:
        for element, (before, after) in pairs.items():
            _diff(before, after, (*path, element), changed, removed)
        return
    before, after = _fields_at(old, path), _fields_at(new, path)
    changed.update(p for p, value in after.items() if p not in before or not _same(before[p],
                                                                                     value))
    removed.update(before.keys() - after.keys())


def _pairs(old: Any, new: Any, path: Path) -> dict[str, tuple[Any, Any]] | None:
    """The children of two maps, or two keyed or set lists, by element (None: not two)."""
    if isinstance(old, dict) and isinstance(new, dict) and old and new:
        olds = {f"f:{k}": v for k, v in old.items()}
        news = {f"f:{k}": v for k, v in new.items()}
    elif isinstance(old, list) and isinstance(new, list) and old and new and (
            (before := elements(old, path)) is not None
            and (after := elements(new, path)) is not None):
        olds, news = dict(zip(before, old, strict=True)), dict(zip(after, new, strict=True))
    else:
        return None
    return {e: (olds.get(e, _ABSENT), news.get(e, _ABSENT)) for e in olds.keys() | news.keys()}


def _fields_at(value: Any, path: Path) -> dict[Path, Any]:
    found: dict[Path, Any] = {}
    if value is _ABSENT:
        return found
    if path and path[-1].startswith("v:"):
        found[path] = value
    else:
        _walk(value, path, found)
    return found


def _same(a: Any, b: Any) -> bool:
    return a is b or (a is not INNER and b is not INNER and a == b and type(a) is type(b))


def holds(tree: Object, path: Path) -> bool:
    """Whether the FieldsV1 map ``tree`` holds the field ``path`` (without decoding it)."""
    node: Any = tree
    for element in path:
        node = node.get(element) if isinstance(node, dict) else None
        if node is None:
            return False
    return isinstance(node, dict) and (not node or HERE in node)


def remove(obj: Object, path: Path) -> None:
    """Remove the field ``path`` from ``obj`` (changed in place), if it is there."""
    parent: Any = obj
    for element in path[:-1]:
        parent = _child(parent, element)
        if parent is None:
            return
    last = path[-1]
    if isinstance(parent, dict) and last.startswith("f:"):
        parent.pop(last[2:], None)
    elif isinstance(parent, list):
        at = index(parent, last)
        if at is not None:
            del parent[at]


def _child(node: Any, element: str) -> Any:
    if isinstance(node, dict) and element.startswith("f:"):
        return node.get(element[2:])
    if isinstance(node, list):
        at = index(node, element)
        return None if at is None else node[at]
    return None


def index(items: list[Any], element: str) -> int | None:
    """Where the item ``element`` names is in ``items`` (None: not there)."""
    kind, rest = element[:2], element[2:]
    if kind == "k:":
        keys = json.loads(rest)
        return next((n for n, i in enumerate(items) if isinstance(i, dict)
                     and all(i.get(k) == v for k, v in keys.items())), None)
    if kind == "v:":
        wanted = json.loads(rest)
        return next((n for n, i in enumerate(items) if i == wanted), None)
    return None
