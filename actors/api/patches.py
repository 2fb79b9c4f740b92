"""The three patch types of a ``patch`` request, named as Kubernetes names them (its
``PatchType`` is the request's Content-Type): ``application/json-patch+json`` (RFC 6902,
``jsonpatch``), ``application/merge-patch+json`` (RFC 7386, :func:`merge`) and
``application/strategic-merge-patch+json`` (Kubernetes' own, lists merged by their patch merge
keys, ``strategicmerge``). :func:`apply` is the one entry point: the object a patch makes of
another, or PatchError (a 400) saying why there is none.

Server-side apply (``application/apply-patch+yaml``, :data:`APPLY_PATCH`) is a patch type
on the wire but not a patch of the stored object: ``applying`` merges its configuration and
records who owns which field.

Neighbours: ``actors.apiserver.verbs`` (the ``patch`` verb applies a patch to the stored
object, then updates); ``jsonpatch``, ``strategicmerge`` and ``applying``.

Which thread: any; pure functions, the inputs are never changed.
"""

from __future__ import annotations

import copy
from typing import Any

from actors.api import jsonpatch, strategicmerge
from actors.api.jsonpatch import PatchError
from actors.api.objects import Object

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
"""Server-side apply's type (``applying``)."""
TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)
"""The patch types :func:`apply` applies."""
SERVED = (*TYPES, APPLY_PATCH)
"""The patch types a ``patch`` request may name."""


def apply(obj: Object, patch_type: str, patch: Any) -> Object:
    """``obj`` with ``patch`` of ``patch_type`` (one of :data:`TYPES`) applied; PatchError
    when the patch is malformed, does not apply, or does not leave an object."""
    if patch_type == JSON_PATCH:
        patched = jsonpatch.apply(obj, patch)
    elif patch_type == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise PatchError("a merge patch is a map")
        patched = merge(copy.deepcopy(obj), patch)
    elif patch_type == STRATEGIC_MERGE_PATCH:
        patched = strategicmerge.apply_patch(obj, patch)
    else:
        raise ValueError(f"not a patch type: {patch_type!r} (known: {', '.join(TYPES)})")
    if not isinstance(patched, dict):
        raise PatchError(f"the patched object is a {type(patched).__name__}, not an object")
    return patched


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386's MergePatch: a map merges key by key (``null`` removes the key), anything
    else (lists included) replaces the target whole. What the patch leaves is shared with
    ``target``, never changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge(merged.get(key), value)
    return merged
