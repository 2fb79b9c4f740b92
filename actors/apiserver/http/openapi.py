"""The OpenAPI documents kubectl reads: ``/openapi/v3`` (the index of the group versions),
``/openapi/v3/api/v1`` and ``/openapi/v3/apis/GROUP/VERSION`` (the paths of the resources served
there, and in ``components.schemas`` the schema of each of their kinds, marked with its
``x-kubernetes-group-version-kind``, and of every type it refers to), and ``/openapi/v2``
(Swagger 2.0: the same schemas for every served kind, in ``definitions``). ``kubectl explain``
reads the v3 documents (``--output plaintext-openapiv2`` the v2 one, as protobuf:
``swaggerproto``); kubectl looks in them
for the ``fieldValidation`` parameter to know that the server validates what it is sent (and
then leaves validation to it, asking for ``fieldValidation=Strict``).

The built-in kinds' schemas are those the validation applies (``actors.api.schema``: the
``kubernetes-validate`` package's definitions of the release), written the way kube-apiserver
publishes them: references to ``#/components/schemas/NAME`` (a reference with a description
beside it wrapped in ``allOf``, as kube-openapi does), one type per value (the package's
``["string", "null"]`` is ``string``), no ``additionalProperties: false`` and no enum of
``apiVersion``/``kind`` (the package's strictness, not Kubernetes'), quantities and
int-or-strings as strings. A custom resource's is its CRD's ``openAPIV3Schema`` for that
version, with ``apiVersion``, ``kind`` and ``metadata`` added, as apiextensions-apiserver
publishes it, under the name ``<reversed group>.<version>.<Kind>``.

A document is built once and kept encoded with its ETag (``documents``: the built-in group
versions' for the life of the process, those with custom resources and ``/openapi/v2`` for
as long as their :class:`~actors.api.discovery.Served` is current), which the index names in
each ``serverRelativeURL`` (``?hash=``, as kube-apiserver) so that kubectl's cache holds it.

Which thread: the HTTPS listener's loop thread only (``documents``' caches are not locked).

Pure but for the caches: unit-tested in tests/unit/actors/apiserver/http/test_documents.py.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from actors.api import schema
from actors.api.crds import CustomResource
from actors.api.discovery import Served, versions
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.apiserver.http import swaggerproto
from actors.apiserver.http.documents import Document, cached, encoded
from bus.errors import NotAcceptable

PREFIX = "/openapi/v3"
V2 = "/openapi/v2"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_STANDARD = "io.k8s.api.core.v1.ConfigMap"
"""A built-in kind whose ``apiVersion``, ``kind`` and ``metadata`` descriptions a custom
resource's schema borrows (every kind has the same)."""
_INFO = {"title": "Kubernetes", "version": "kubeactor"}


@dataclass(frozen=True, slots=True)
class _Style:
    """How one OpenAPI version writes references."""

    refs: str
    """Where references point: ``#/components/schemas/`` or ``#/definitions/``."""
    wrap: bool
    """A reference with siblings goes in ``allOf`` (v3, as kube-openapi writes it)."""


V3_STYLE = _Style("#/components/schemas/", wrap=True)
V2_STYLE = _Style("#/definitions/", wrap=False)


def document(path: str, served: Served, accept: str = "") -> Document | None:
    """The document at ``path`` among the resources ``served`` (None: no such document), in
    the form ``accept`` asks for (``/openapi/v2``: JSON or protobuf; NotAcceptable when
    neither)."""
    path = path.rstrip("/")
    if path == PREFIX:
        return encoded(_index(served))
    if path == V2:
        if v2_protobuf(accept):
            return cached(served, f"{V2} protobuf", lambda: Document.of(
                swaggerproto.document(_swagger(served)), swaggerproto.MEDIA_TYPE))
        if not v2_acceptable(accept):
            raise NotAcceptable("the server was unable to respond with a content type that the "
                                "client supports")
        return cached(served, V2, lambda: encoded(_swagger(served)))
    root = path.removeprefix(f"{PREFIX}/")
    there = tuple(info for info in served.all if root in _roots(info))
    if not path.startswith(f"{PREFIX}/") or not there:
        return None
    custom = any(isinstance(info, CustomResource) for info in there)
    return cached(served if custom else None, path,
                  lambda: encoded(_group_version(root, there)))


def is_document(path: str) -> bool:
    """Whether ``path`` is where OpenAPI documents are (served or not)."""
    return path.rstrip("/") in (PREFIX, V2) or path.startswith(f"{PREFIX}/")


def v2_protobuf(accept: str) -> bool:
    """Whether ``accept`` asks for ``/openapi/v2`` as protobuf before JSON (kubectl's does,
    alone)."""
    for offered in _offered(accept):
        if offered in swaggerproto.ASKED:
            return True
        if offered in _JSON:
            return False
    return False


def v2_acceptable(accept: str) -> bool:
    """Whether ``accept`` takes ``/openapi/v2`` as JSON."""
    return not accept or any(offered in _JSON for offered in _offered(accept))


_JSON = ("application/json", "application/*", "*/*", "")


def _offered(accept: str) -> list[str]:
    return [part.split(";")[0].strip() for part in accept.split(",")]


def _root(group: str, version: str) -> str:
    """``api/v1`` or ``apis/GROUP/VERSION``: a group version's path, without the slash."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _roots(info: ResourceInfo) -> list[str]:
    """The group versions ``info`` is served at, as paths."""
    return [_root(info.group, version) for version in versions(info)]


def _index(served: Served) -> Object:
    roots = dict.fromkeys(root for info in served.all for root in _roots(info))
    return {"paths": {root: {"serverRelativeURL": (
        f"{PREFIX}/{root}?hash={document(f'{PREFIX}/{root}', served).hash}")}  # type: ignore[union-attr]
        for root in roots}}


def _group_version(root: str, there: tuple[ResourceInfo, ...]) -> Object:
    version = root.rpartition("/")[2]
    schemas: dict[str, Object] = {}
    for info in there:
        schemas.update(_kind_schemas(info, version, V3_STYLE))
    return {"openapi": "3.0.0", "info": _INFO,
            "paths": {_object_path(info, root): _operations(info, version, V3_STYLE)
                      for info in there},
            "components": {"schemas": schemas}}


def _swagger(served: Served) -> Object:
    definitions: dict[str, Object] = {}
    paths: dict[str, Object] = {}
    for info in served.all:
        for version in versions(info):
            definitions.update(_kind_schemas(info, version, V2_STYLE))
            paths[_object_path(info, _root(info.group, version))] = _operations(
                info, version, V2_STYLE)
    return {"swagger": "2.0", "info": _INFO, "paths": paths, "definitions": definitions}


def _object_path(info: ResourceInfo, root: str) -> str:
    scope = "namespaces/{namespace}/" if info.namespaced else ""
    return f"/{root}/{scope}{info.name}/{{name}}"


def _operations(info: ResourceInfo, version: str, style: _Style) -> Object:
    """The operations on one object, with the query parameters the server reads."""
    kind = {"group": info.group, "version": version, "kind": info.kind}
    typed = {"schema": {"type": "string"}} if style is V3_STYLE else {"type": "string"}
    parameters = [{"name": name, "in": "query", **typed}
                  for name in ("dryRun", "fieldManager", "fieldValidation")]
    return {method: {"x-kubernetes-group-version-kind": kind, "x-kubernetes-action": action,
                     "parameters": parameters, "responses": {}}
            for method, action in (("get", "get"), ("put", "put"), ("patch", "patch"),
                                   ("delete", "delete"))}


def _kind_schemas(info: ResourceInfo, version: str, style: _Style) -> dict[str, Object]:
    """The schemas of ``info``'s kind (and its list) at ``version``, and of every type they
    refer to; none for a kind Kubernetes does not have (kubeactor's own)."""
    if isinstance(info, CustomResource):
        return {**_custom_schemas(info, version, style),
                **_closure((f"{_META}.ObjectMeta", f"{_META}.ListMeta"), style)}
    api_version = f"{info.group}/{version}" if info.group else version
    names = (schema.definition_of(api_version, kind) for kind in (info.kind, f"{info.kind}List"))
    return _closure([name for name in names if name is not None], style)


def _closure(names: Iterable[str], style: _Style) -> dict[str, Object]:
    """The definitions ``names`` and every one they refer to, written in ``style``."""
    found: dict[str, Object] = {}
    waiting = list(names)
    while waiting:
        name = waiting.pop()
        if name not in found:
            found[name] = _written(name, style)
            waiting += _references(name)
    return found


@functools.cache
def _references(name: str) -> tuple[str, ...]:
    """The definitions that ``name``'s refers to."""
    found: list[str] = []

    def scan(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("$ref"), str):
                found.append(value["$ref"].rsplit("/", 1)[-1])
            for item in value.values():
                scan(item)
        elif isinstance(value, list):
            for item in value:
                scan(item)
    scan(schema.definitions()[name])
    return tuple(dict.fromkeys(found))


@functools.cache
def _written(name: str, style: _Style) -> Object:
    """The definition ``name`` as kube-apiserver publishes it (see the module docstring)."""
    if name in schema.SPECIAL_TYPES:
        special = {"type": "string"}
        return {**special, "format": "int-or-string"} \
            if schema.SPECIAL_TYPES[name] == "int-or-string" else special
    return convert(schema.definitions()[name], style)


def convert(node: Object, style: _Style = V3_STYLE) -> Object:
    """One schema of the package's, written as OpenAPI (see the module docstring)."""
    written: Object = {}
    for key, value in node.items():
        if key == "type":
            types = [value] if isinstance(value, str) else [t for t in value if t != "null"]
            if types:
                written["type"] = types[0]
        elif key == "properties":
            written[key] = {name: _property(name, sub, style) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            if isinstance(value, dict):
                written[key] = convert(value, style)
        elif key != "$ref":
            written[key] = value
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return written
    target = {"$ref": style.refs + ref.rsplit("/", 1)[-1]}
    if written and style.wrap:
        return {"allOf": [target], **written}
    return {**target, **written}


def _property(name: str, sub: Object, style: _Style) -> Object:
    written = convert(sub, style)
    if name in ("apiVersion", "kind"):
        written.pop("enum", None)
    return written


def custom_name(info: CustomResource, version: str) -> str:
    """The name of a custom resource's schema: ``com.example.v1.Widget`` for
    ``example.com/v1`` ``Widget`` (apiextensions-apiserver's)."""
    return ".".join([*reversed(info.group.split(".")), version, info.kind])


def _custom_schemas(info: CustomResource, version: str, style: _Style) -> dict[str, Object]:
    """A custom resource's schema at ``version`` and its list's."""
    name = custom_name(info, version)
    own = info.openapi.get(version) or {"type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True}
    standard = {key: _written(_STANDARD, style)["properties"][key]
                for key in ("apiVersion", "kind", "metadata")}
    main = {**own, "properties": {**(own.get("properties") or {}), **standard},
            "x-kubernetes-group-version-kind": [
                {"group": info.group, "version": version, "kind": info.kind}]}
    listed = {"type": "object", "required": ["items"], "properties": {
        "apiVersion": standard["apiVersion"], "kind": standard["kind"],
        "items": {"type": "array", "items": {"$ref": style.refs + name}},
        "metadata": {"$ref": f"{style.refs}{_META}.ListMeta"}},
        "x-kubernetes-group-version-kind": [
            {"group": info.group, "version": version, "kind": f"{info.kind}List"}]}
    return {name: main, f"{name}List": listed}
