"""The Table form of a get, list or watch (``Accept: application/json;as=Table;v=v1;
g=meta.k8s.io``, or ``v=v1beta1``): what kubectl asks for, to print a type's columns without
knowing the type (kube-apiserver's ``TableConvertor``). The columns are the ones kubeactor's own
CLI prints (``actors.api.columns``), so both doors print the same table.

Each row carries its object as the ``includeObject`` query says: ``Metadata`` (the default: a
``PartialObjectMetadata``, from which kubectl reads the namespace of ``-A`` and the labels of
``--show-labels``), ``Object`` (all of it: ``--sort-by``) or ``None``.

Pure: unit-tested in tests/unit/actors/apiserver/http/test_tables.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from actors.api import columns, conversion
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from bus.errors import BadRequest

VERSIONS = ("v1", "v1beta1")
"""The versions of ``meta.k8s.io``'s Table served."""
INCLUDE = ("Metadata", "Object", "None")
"""What ``includeObject`` may ask a row to carry."""


def asked(accept: str) -> str | None:
    """The version of the Table form ``accept`` (an Accept header) prefers, None when it
    prefers plain JSON (or names no Table form served)."""
    for media_range in accept.split(","):
        kind, *parameters = (part.strip() for part in media_range.split(";"))
        found = dict(p.partition("=")[::2] for p in parameters)
        if kind not in ("application/json", "*/*", "application/*"):
            continue
        if "as" not in found:
            return None
        if (found.get("as"), found.get("g")) == ("Table", "meta.k8s.io") and \
                found.get("v") in VERSIONS:
            return found["v"]
    return None


def include(query: Mapping[str, str]) -> str:
    """What each row carries (``includeObject``; ``Metadata`` when not said)."""
    what = query.get("includeObject") or "Metadata"
    if what not in INCLUDE:
        raise BadRequest(f"includeObject must be one of {', '.join(INCLUDE)}, not {what!r}")
    return what


def table(info: ResourceInfo, answer: Object, version: str, what: str,
          single: bool) -> Object:
    """The Table of ``answer`` (one object when ``single``, else a list) of ``info``."""
    kind_columns = columns.of(info)
    items = [answer] if single else answer.get("items") or []
    metadata = answer.get("metadata") or {}
    return {
        "kind": "Table", "apiVersion": f"meta.k8s.io/{version}",
        "metadata": {key: metadata[key] for key in ("resourceVersion", "continue")
                     if metadata.get(key) and not single},
        "columnDefinitions": [
            {"name": c.name, "type": "string", "format": c.format, "description": "",
             "priority": c.priority} for c in kind_columns.columns],
        "rows": [row(kind_columns, obj, what, conversion.as_stored(info, obj))
                 for obj in items],
    }


def row(kind_columns: columns.Columns, obj: Object, what: str, stored: Object) -> Object:
    """One row: the cells of the object (as ``stored``: at the version the columns read,
    whichever ``obj`` is shown at, as kube-apiserver prints its internal version) and what
    ``what`` says of the object."""
    found: Object = {"cells": kind_columns.cells(stored)}
    if what == "Object":
        found["object"] = obj
    elif what == "Metadata":
        found["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": obj.get("metadata") or {}}
    return found
