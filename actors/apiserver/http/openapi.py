"""The OpenAPI v3 documents kubectl reads before it writes: ``/openapi/v3`` (the index of the
group versions) and ``/openapi/v3/api/v1``, ``/openapi/v3/apis/GROUP/VERSION``, each with the
paths of its resources. kubectl looks there for the ``fieldValidation`` parameter to know
that the server validates what it is sent (and then leaves validation to it, asking for
``fieldValidation=Strict``); without these documents it validates on its own against
``/openapi/v2``, and refuses to send anything when that is missing.

Not served yet: the schemas of the kinds (``components.schemas``, which ``kubectl explain``
reads) and ``/openapi/v2``.

Pure: unit-tested in tests/unit/apiserver/http/test_openapi.py.
"""

from __future__ import annotations

from actors.api.objects import Object
from actors.api.resources import RESOURCES, ResourceInfo

PREFIX = "/openapi/v3"


def _root(info: ResourceInfo) -> str:
    """``api/v1`` or ``apis/GROUP/VERSION``: a group version's path, without the slash."""
    return f"apis/{info.group}/{info.version}" if info.group else f"api/{info.version}"


def document(path: str) -> Object | None:
    """The document at ``path`` (None: no such document)."""
    if path.rstrip("/") == PREFIX:
        roots = dict.fromkeys(_root(info) for info in RESOURCES)
        return {"paths": {root: {"serverRelativeURL": f"{PREFIX}/{root}"} for root in roots}}
    served = [info for info in RESOURCES if f"{PREFIX}/{_root(info)}" == path.rstrip("/")]
    if not served:
        return None
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "kubeactor"},
            "paths": {_object_path(info): _operations(info) for info in served},
            "components": {"schemas": {}}}


def _object_path(info: ResourceInfo) -> str:
    scope = "namespaces/{namespace}/" if info.namespaced else ""
    return f"/{_root(info)}/{scope}{info.name}/{{name}}"


def _operations(info: ResourceInfo) -> Object:
    """The operations on one object, with the query parameters the server reads."""
    kind = {"group": info.group, "version": info.version, "kind": info.kind}
    parameters = [{"name": name, "in": "query", "schema": {"type": "string"}}
                  for name in ("fieldManager", "fieldValidation")]
    return {method: {"x-kubernetes-group-version-kind": kind, "x-kubernetes-action": action,
                     "parameters": parameters, "responses": {}}
            for method, action in (("get", "get"), ("put", "put"), ("patch", "patch"),
                                   ("delete", "delete"))}
