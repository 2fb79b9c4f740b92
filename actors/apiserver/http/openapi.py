"""The OpenAPI v3 documents kubectl reads before it writes: ``/openapi/v3`` (the index of the
group versions) and ``/openapi/v3/api/v1``, ``/openapi/v3/apis/GROUP/VERSION``, each with the
paths of its resources. kubectl looks there for the ``fieldValidation`` parameter to know
that the server validates what it is sent (and then leaves validation to it, asking for
``fieldValidation=Strict``); without these documents it validates on its own against
``/openapi/v2``, and refuses to send anything when that is missing.

The group versions are those the apiserver serves now (a
:class:`~actors.api.discovery.Served`): a CRD's at each version it serves.

Not served yet: the schemas of the kinds (``components.schemas``, which ``kubectl explain``
reads) and ``/openapi/v2``.

Pure: unit-tested in tests/unit/apiserver/http/test_openapi.py.
"""

from __future__ import annotations

from actors.api.discovery import Served, versions
from actors.api.objects import Object
from actors.api.resources import ResourceInfo

PREFIX = "/openapi/v3"


def _root(group: str, version: str) -> str:
    """``api/v1`` or ``apis/GROUP/VERSION``: a group version's path, without the slash."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _roots(info: ResourceInfo) -> list[str]:
    """The group versions ``info`` is served at, as paths."""
    return [_root(info.group, version) for version in versions(info)]


def document(path: str, served: Served) -> Object | None:
    """The document at ``path`` among the resources ``served`` (None: no such document)."""
    if path.rstrip("/") == PREFIX:
        roots = dict.fromkeys(root for info in served.all for root in _roots(info))
        return {"paths": {root: {"serverRelativeURL": f"{PREFIX}/{root}"} for root in roots}}
    if not path.startswith(f"{PREFIX}/"):  # every API request passes here: answer it first
        return None
    root = path.rstrip("/").removeprefix(f"{PREFIX}/")
    there = [info for info in served.all if root in _roots(info)]
    if not there:
        return None
    version = root.rpartition("/")[2]
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "kubeactor"},
            "paths": {_object_path(info, root): _operations(info, version) for info in there},
            "components": {"schemas": {}}}


def _object_path(info: ResourceInfo, root: str) -> str:
    scope = "namespaces/{namespace}/" if info.namespaced else ""
    return f"/{root}/{scope}{info.name}/{{name}}"


def _operations(info: ResourceInfo, version: str) -> Object:
    """The operations on one object, with the query parameters the server reads."""
    kind = {"group": info.group, "version": version, "kind": info.kind}
    parameters = [{"name": name, "in": "query", "schema": {"type": "string"}}
                  for name in ("fieldManager", "fieldValidation")]
    return {method: {"x-kubernetes-group-version-kind": kind, "x-kubernetes-action": action,
                     "parameters": parameters, "responses": {}}
            for method, action in (("get", "get"), ("put", "put"), ("patch", "patch"),
                                   ("delete", "delete"))}
