"""JSON Patch (RFC 6902) over plain dicts and lists: how an external admission actor changes an
object. A pure function; :func:`apply` never changes its input.

The ``jsonpatch`` package does the work, so paths follow RFC 6901 to the letter (``~1`` for
``/``, ``~0`` for ``~``, ``-`` only to add at the end, no leading zeros in an index: ``/a/01``
is refused); this module only translates what it raises into :class:`PatchError`, a
BadRequest, so a bad patch is an answer and never an exception escaping as a 500.

Neighbours: ``actors.apiserver.admission.external`` (applies a mutating actor's verdict);
``actors.api.strategicmerge`` (the other patch kind, Kubernetes' own).

Which thread: any; pure.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from bus.errors import BadRequest


class PatchError(BadRequest):
    """The patch is malformed or does not apply; the message says which operation."""


def apply(doc: Any, patch: Any) -> Any:
    """``doc`` with ``patch`` applied (a new value); PatchError naming the first bad op."""
    if not isinstance(patch, list):  # the package would parse a string as JSON text
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(doc)
    for number, op in enumerate(patch):
        if not isinstance(op, dict):
            raise PatchError(f"JSON patch operation {number} is not a map")
        try:  # one at a time, to say which failed; the values are copies of the patch's
            doc = jsonpatch.JsonPatch([copy.deepcopy(op)]).apply(doc, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
            raise PatchError(f"JSON patch operation {number} ({op.get('op')}): {error}"
                             ) from None
    return doc
