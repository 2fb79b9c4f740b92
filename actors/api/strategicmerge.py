"""Strategic merge: Kubernetes' own patch kind, and kubectl apply's three-way merge built on it.

A strategic merge patch is a partial object: maps merge key by key (``null`` deletes a key),
lists whose items have a merge key merge item by item (``name`` for containers, ``mountPath``
for volume mounts: :data:`MERGE_KEYS`), every other list is replaced whole. Directives, as
Kubernetes spells them: ``$patch: delete`` on an item (or a map) removes it, ``$patch: replace``
replaces the map (or the list it is an item of) with the rest, ``$setElementOrder/FIELD`` gives
a keyed list's order, ``$retainKeys`` lists the only keys a map keeps. Not supported:
``$deleteFromPrimitiveList`` (every list of plain values is replaced whole).

:func:`three_way_patch` is kubectl apply's: what the manifest sets, plus the deletion of what the
previous manifest (the last-applied annotation) set and this one dropped. Applied to the live
object, it keeps what others set (server defaults, a LimitRange's resources, a controller's
labels) and changes what the manifest owns.

Neighbours: ``bindings.cli.manifests`` (``apply``); an HTTP ``PATCH`` of type
``application/strategic-merge-patch+json`` is :func:`apply_patch`. ``actors.api.jsonpatch``
is the other patch kind (RFC 6902).

Which thread: any; pure functions, the inputs are never changed.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from actors.api.jsonpatch import PatchError
from actors.api.objects import Object

Path = tuple[str, ...]

MERGE_KEYS: dict[Path, str] = {
    ("containers",): "name", ("initContainers",): "name", ("ephemeralContainers",): "name",
    ("containers", "ports"): "containerPort", ("initContainers", "ports"): "containerPort",
    ("ephemeralContainers", "ports"): "containerPort",
    ("env",): "name", ("volumeMounts",): "mountPath", ("volumeDevices",): "devicePath",
    ("volumes",): "name", ("imagePullSecrets",): "name", ("hostAliases",): "ip",
    ("topologySpreadConstraints",): "topologyKey", ("schedulingGates",): "name",
    ("resourceClaims",): "name", ("podIPs",): "ip", ("hostIPs",): "ip",
    ("ownerReferences",): "uid", ("conditions",): "type", ("addresses",): "type",
    ("spec", "ports"): "port",  # a Service's
}
"""The merge key of each keyed list, by the end of its path of field names (a list item adds
nothing to the path; the longer end wins): Kubernetes' ``x-kubernetes-patch-merge-key`` for
the types kubeactor serves. Any other list is atomic."""

PATCH = "$patch"
ORDER = "$setElementOrder/"
RETAIN = "$retainKeys"
_GONE = object()
"""What merging a ``$patch: delete`` map gives: the key holding it goes."""


def merge_key(path: Path) -> str | None:
    """The merge key of the list at ``path`` (None: the list is atomic)."""
    return MERGE_KEYS.get(path[-2:]) or MERGE_KEYS.get(path[-1:])


def apply_patch(obj: Object, patch: Any) -> Object:
    """``obj`` with the strategic merge ``patch`` applied (a new object); PatchError when the
    patch is not a map or an item of a keyed list lacks its key."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch is a map")
    merged = _merge_map(copy.deepcopy(obj), patch, ())
    return {} if merged is _GONE else merged


def three_way_patch(last: Object, desired: Object) -> Object:
    """kubectl apply's patch: ``desired`` whole, with ``null`` for each field ``last`` set and
    ``desired`` dropped, ``$patch: delete`` for each such item of a keyed list, and
    ``$setElementOrder`` so that keyed lists take ``desired``'s order."""
    return _with_deletions(last, desired, ())


def three_way_merge(live: Object, last: Object, desired: Object) -> Object:
    """What kubectl apply makes of ``live``: :func:`three_way_patch` applied to it."""
    return apply_patch(live, three_way_patch(last, desired))


def _key_of(item: Any, key: str) -> str | int | None:
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str | int) else None


def _merge_map(live: Any, patch: Object, path: Path) -> Any:
    """``live`` (changed in place: the caller's own copy) with ``patch`` merged in."""
    if patch.get(PATCH) == "delete":
        return _GONE
    result = live if isinstance(live, dict) and patch.get(PATCH) != "replace" else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        merged = None if value is None else _merge_value(result.get(key), value, (*path, key))
        if merged is None or merged is _GONE:
            result.pop(key, None)
        else:
            result[key] = merged
    for key, order in patch.items():
        field = key.removeprefix(ORDER)
        if field != key and isinstance(result.get(field), list) and isinstance(order, list):
            result[field] = _ordered(result[field], order, merge_key((*path, field)))
    if isinstance(patch.get(RETAIN), list):
        retained = {key for key in patch[RETAIN] if isinstance(key, str)}  # a set: a list's
        result = {k: v for k, v in result.items() if k in retained}  # look-ups were quadratic
    return result


def _merge_value(live: Any, value: Any, path: Path) -> Any:
    if isinstance(value, dict):
        return _merge_map(live, value, path)
    key = merge_key(path)
    if not isinstance(value, list) or key is None:
        return copy.deepcopy(value)
    replace = any(isinstance(item, dict) and item.get(PATCH) == "replace" for item in value)
    return _merge_keyed(live if isinstance(live, list) and not replace else [], value, path, key)


def _merge_keyed(result: list[Any], value: list[Any], path: Path, key: str) -> list[Any]:
    """The keyed list ``result`` (changed in place) with the items of ``value`` merged in by
    their ``key``: where each key's items are is looked up, not searched for (a search per
    item was quadratic: 16,000 items held a worker for 20 s)."""
    at_key: dict[str | int | None, deque[int]] = {}
    for n, old in enumerate(result):
        at_key.setdefault(_key_of(old, key), deque()).append(n)
    for item in value:
        if isinstance(item, dict) and item.get(PATCH) == "replace":
            continue
        wanted = _key_of(item, key)
        if wanted is None:
            raise PatchError(f"{'.'.join(path)}: {item!r} does not contain declared merge "
                             f"key: {key}")
        places = at_key.setdefault(wanted, deque())
        at = places[0] if places else None
        merged = _merge_map(None if at is None else result[at], item, path)
        if at is None and merged is not _GONE:
            places.append(len(result))
            result.append(merged)
        elif at is not None and merged is _GONE:
            result[at] = _GONE  # taken out below, so that the places after it stay
            places.popleft()
        elif at is not None:
            result[at] = merged
    return [item for item in result if item is not _GONE]


def _ordered(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    """``items`` in ``order`` (maps holding their merge key), the unlisted ones after."""
    if key is None:
        return items
    rank = {_key_of(entry, key): n for n, entry in enumerate(order)}
    rank.pop(None, None)
    listed = sorted((i for i in items if _key_of(i, key) in rank),
                    key=lambda i: rank[_key_of(i, key)])
    return listed + [i for i in items if _key_of(i, key) not in rank]


def _with_deletions(last: Object, desired: Object, path: Path) -> Object:
    patch: Object = {key: None for key in last if key not in desired}
    for key, value in desired.items():
        before, at = last.get(key), (*path, key)
        merge = merge_key(at)
        if isinstance(value, dict):
            patch[key] = _with_deletions(before if isinstance(before, dict) else {}, value, at)
        elif isinstance(value, list) and merge and all(_key_of(i, merge) is not None
                                                        for i in value):
            patch[key] = _list_with_deletions(before if isinstance(before, list) else [],
                                              value, merge, at)
            patch[f"{ORDER}{key}"] = [{merge: item[merge]} for item in value]
        else:
            patch[key] = copy.deepcopy(value)
    return patch


def _list_with_deletions(last: list[Any], desired: list[Object], key: str,
                         path: Path) -> list[Object]:
    earlier = {_key_of(item, key): item for item in last}
    earlier.pop(None, None)
    kept = {item[key] for item in desired}
    return [_with_deletions(earlier.get(item[key], {}), item, path) for item in desired] + [
        {key: gone, PATCH: "delete"} for gone in earlier if gone not in kept]
