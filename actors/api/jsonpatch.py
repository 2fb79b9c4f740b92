"""JSON Patch (RFC 6902) over plain dicts and lists: how an external admission actor changes an
object. A pure function; :func:`apply` never changes its input.

The ``jsonpatch`` package does the work, so paths follow RFC 6901 to the letter (``~1`` for
``/``, ``~0`` for ``~``, ``-`` only to add at the end, no leading zeros in an index: ``/a/01``
is refused); this module only translates what it raises into :class:`PatchError`, a
BadRequest, so a bad patch is an answer and never an exception escaping as a 500. As
kube-apiserver, it bounds what a patch may ask: :data:`MAX_OPERATIONS` operations, and
:data:`MAX_COPY_BYTES` added by its copies.

Neighbours: ``actors.apiserver.admission.external`` (applies a mutating actor's verdict),
``patches`` (a ``patch`` request's, of whoever may patch);
``actors.api.strategicmerge`` (the other patch kind, Kubernetes' own).

Which thread: any; pure.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from bus.envelope import packed_size
from bus.errors import BadRequest, RequestEntityTooLarge

MAX_OPERATIONS = 10_000
"""kube-apiserver's ``maxJSONPatchOperations``: more is a 413 before any is applied."""
MAX_COPY_BYTES = 3 * 1024 * 1024
"""kube-apiserver's ``--json-patch-max-copy-bytes``: what a patch's ``copy`` operations may
add in all (packed). Each copy of a value into itself doubles it: unbounded, 30 operations
of a 1 KiB ConfigMap asked a worker for a TiB."""


class PatchError(BadRequest):
    """The patch is malformed or does not apply; the message says which operation."""


def apply(doc: Any, patch: Any) -> Any:
    """``doc`` with ``patch`` applied (a new value); PatchError naming the first bad op,
    RequestEntityTooLarge past :data:`MAX_OPERATIONS`."""
    if not isinstance(patch, list):  # the package would parse a string as JSON text
        raise PatchError("a JSON patch is a list of operations")
    if len(patch) > MAX_OPERATIONS:
        raise RequestEntityTooLarge(f"The allowed maximum operations in a JSON patch is "
                                    f"{MAX_OPERATIONS}, got {len(patch)}")
    doc = copy.deepcopy(doc)
    copied = 0
    for number, op in enumerate(patch):
        if not isinstance(op, dict):
            raise PatchError(f"JSON patch operation {number} is not a map")
        try:  # one at a time, to say which failed; the values are copies of the patch's
            copied += _copied(doc, op)
            if copied > MAX_COPY_BYTES:
                raise PatchError(f"Unable to complete the copy, the accumulated size increase "
                                 f"of copy is {copied}, exceeding the limit {MAX_COPY_BYTES}")
            doc = jsonpatch.JsonPatch([copy.deepcopy(op)]).apply(doc, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
            raise PatchError(f"JSON patch operation {number} ({op.get('op')}): {error}"
                             ) from None
    return doc


def _copied(doc: Any, op: dict[str, Any]) -> int:
    """What ``op`` adds to ``doc`` by copying (packed bytes): a ``copy``'s value, else 0."""
    if op.get("op") != "copy" or not isinstance(op.get("from"), str):
        return 0
    return packed_size(jsonpointer.resolve_pointer(doc, op["from"]))
