"""JSON Patch (RFC 6902) over plain dicts and lists: how an external admission actor changes an
object. Pure functions; :func:`apply` never changes its input.

Supported ops: ``add``, ``remove``, ``replace``, ``test``, ``move`` and ``copy``; paths are JSON
Pointers (RFC 6901: ``/metadata/labels/app``, ``~1`` for ``/`` and ``~0`` for ``~``, ``-`` for
the end of a list).
"""

from __future__ import annotations

import copy
from typing import Any

from bus.errors import BadRequest


class PatchError(BadRequest):
    """The patch is malformed or does not apply; the message says which operation."""


def _tokens(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"{path!r} is not a JSON pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]


def _index(container: list[Any], token: str, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or int(token) > len(container) - (0 if adding else 1):
        raise PatchError(f"list index {token!r} is out of range")
    return int(token)


def _parent(doc: Any, tokens: list[str]) -> Any:
    for token in tokens[:-1]:
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list):
            doc = doc[_index(doc, token, adding=False)]
        else:
            raise PatchError(f"path element {token!r} does not exist")
    return doc


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, adding=False)]
    raise PatchError(f"path element {last!r} does not exist")


def _remove(doc: Any, tokens: list[str]) -> Any:
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, adding=False))
    raise PatchError(f"cannot remove missing {last!r}")


def _add(doc: Any, tokens: list[str], value: Any, replace: bool = False) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"cannot replace missing {last!r}")
        parent[last] = value
    elif isinstance(parent, list):
        at = _index(parent, last, adding=not replace)
        if replace:
            parent[at] = value
        else:
            parent.insert(at, value)
    else:
        raise PatchError(f"cannot add {last!r} to a {type(parent).__name__}")
    return doc


def apply(doc: Any, patch: Any) -> Any:
    """``doc`` with ``patch`` applied (a new value); PatchError naming the first bad op."""
    if not isinstance(patch, list):
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(doc)
    for number, op in enumerate(patch):
        if not isinstance(op, dict):
            raise PatchError(f"operation {number} is not a map")
        kind, tokens = op.get("op"), _tokens(op.get("path"))
        try:
            if kind in ("add", "replace", "test") and "value" not in op:
                raise PatchError("needs a value")
            if kind == "add":
                doc = _add(doc, tokens, copy.deepcopy(op["value"]))
            elif kind == "replace":
                doc = _add(doc, tokens, copy.deepcopy(op["value"]), replace=True)
            elif kind == "remove":
                _remove(doc, tokens)
            elif kind == "test":
                if _get(doc, tokens) != op["value"]:
                    raise PatchError(f"test failed at {op.get('path')}")
            elif kind in ("move", "copy"):
                source = _tokens(op.get("from"))
                value = _remove(doc, source) if kind == "move" else copy.deepcopy(
                    _get(doc, source))
                doc = _add(doc, tokens, value)
            else:
                raise PatchError(f"unknown op {kind!r}")
        except PatchError as error:
            raise PatchError(f"JSON patch operation {number} ({kind}): {error.message}"
                             ) from None
    return doc
