"""Where an HTTP request goes: its method and path as the verb, resource, namespace, name and
subresource of the request a bus message carries (kube-apiserver's ``RequestInfoFactory``).

Paths: ``/api/v1/...`` (the core group) and ``/apis/GROUP/VERSION/...``, then
``[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]``; ``namespaces/NAME/status`` and
``/finalize`` are the Namespace's own subresources. Methods: GET a collection lists (or
watches, with ``watch=1``), GET a name gets; POST a collection creates, POST a name's
subresource (``binding``) creates there, GET or POST on ``exec`` or ``attach`` connects (a
create); PUT
updates, PATCH patches; DELETE a name deletes,
a collection deletes what its selectors match.

The resources are those the apiserver serves now (a :class:`~actors.api.discovery.Served`):
a CRD's at each version it serves.

Pure: unit-tested in tests/unit/apiserver/http/test_routes.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from actors.api.crds import CustomResource
from actors.api.discovery import Served, versions
from actors.api.resources import ResourceInfo
from bus.errors import MethodNotAllowed, NotFound

NAMESPACE_SUBRESOURCES = ("status", "finalize")
"""Segments after ``namespaces/NAME`` that are the Namespace's, not a resource in it."""
CONNECT = ("exec", "attach")
"""Subresources a client connects to (a WebSocket's GET, or a POST), authorized as a
``create`` (``create pods/exec``, ``create pods/attach``, as kube-apiserver checks a
WebSocket's exec)."""
TRUE = ("1", "true", "True")
"""How a boolean query parameter says yes."""


@dataclass(frozen=True, slots=True)
class Call:
    """One API request, as the bus carries it."""

    verb: str
    info: ResourceInfo
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    version: str | None = None
    """A custom resource's version the path names (any the CRD serves), or a built-in's other
    than the stored one (``ResourceInfo.also``): the answer comes in it, and an object sent
    must be written in it."""


def route(method: str, path: str, query: Mapping[str, str], served: Served) -> Call:
    """The request ``method`` on ``path`` makes, among the resources ``served``; NotFound
    when no resource is there, MethodNotAllowed when the method does not apply to it."""
    parts = [part for part in path.split("/") if part]
    group, version, rest = _group_version(parts, path)
    namespace = None
    if len(rest) > 2 and rest[0] == "namespaces" and rest[2] not in NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise _not_found(path)
    info = served.lookup(group, rest[0])
    if version not in versions(info) or (namespace and not info.namespaced):
        raise _not_found(path)
    name, subresource = [*rest[1:], None, None][:2]
    if subresource is not None and subresource not in info.subresources:
        raise _not_found(path)
    verb = "create" if subresource in CONNECT and method in ("GET", "POST") else _verb(
        method, name, subresource, query)
    return Call(verb, info, namespace, name, subresource,
                version if isinstance(info, CustomResource) or version != info.version else None)


def _group_version(parts: list[str], path: str) -> tuple[str, str, list[str]]:
    """The group and version a resource path names, and the segments after them."""
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    raise _not_found(path)


def _verb(method: str, name: str | None, subresource: str | None,
          query: Mapping[str, str]) -> str:
    collection = name is None
    verbs = {
        "GET": ("watch" if query.get("watch") in TRUE else "list") if collection else "get",
        "POST": "create" if collection or subresource else None,
        "PUT": None if collection else "update",
        "PATCH": None if collection else "patch",
        "DELETE": "deletecollection" if collection else "delete",
    }
    verb = verbs.get(method)
    if verb is None:
        what = "a collection" if collection else "an object"
        raise MethodNotAllowed(f"the server does not allow this method on the requested "
                               f"resource ({method} on {what} is not served)")
    return verb


def _not_found(path: str) -> NotFound:
    """kube-apiserver's answer to a path it does not serve, with its empty ``details``, which
    tell kubectl the path, not an object, is missing (``debug``: "ephemeral containers are
    disabled for this cluster")."""
    return NotFound(f"the server could not find the requested resource ({path})", details={})
