"""A request's query string (and a DeleteOptions body, a patch's Content-Type) as the options
of the verb on the bus (``actors.apiserver.options``): what kube-apiserver reads from
``ListOptions``, ``GetOptions``, ``CreateOptions``, ``UpdateOptions``, ``PatchOptions`` and
``DeleteOptions``; and its body as what the verb carries (:func:`payload`). A value of the
wrong shape is a 400, a patch of a type not served a 415; what is not served yet
(a watch's ``sendInitialEvents``) is refused rather
than ignored, so nothing is written, nor waited for, that the caller did not mean. ``dryRun``
(the query's, or a DeleteOptions body's) goes on as the bus option of the same name.

Pure: unit-tested in tests/unit/apiserver/http/test_queries.py.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

import yaml

from actors.api import patches
from actors.api.objects import Object
from actors.apiserver.http import protobuf
from actors.apiserver.http.routes import TRUE, Call
from actors.apiserver.options import MAX_MANAGER_LENGTH, check_watch_match
from bus.errors import BadRequest, Invalid, UnsupportedMediaType

DEFAULT_WATCH_SECONDS = 1800
"""How long a watch stream lasts when the client names no ``timeoutSeconds`` (kube-apiserver:
between 30 and 60 minutes); the client then watches again from where it was."""


JSON = "application/json"
BINARY = (protobuf.MEDIA_TYPE, "application/cbor")
"""The encodings of objects client-go may send that are not served (JSON is)."""
WRITES = ("create", "update", "patch")
"""The verbs that write an object the client sent: they take ``fieldValidation``."""
DRY_RUNS = (*WRITES, "delete", "deletecollection")
"""The verbs that take ``dryRun``."""
INT64 = 2**63
"""Integers of the query are int64 (and msgpack carries no more than 64 bits)."""


def options(call: Call, query: Mapping[str, str], body: bytes, content_type: str = "",
            user_agent: str = "") -> Object:
    """The bus options of ``call`` from its ``query`` (and, for a delete, its body; for a
    patch, the body's ``content_type``; for a write, the ``user_agent`` names the field
    manager when the query does not)."""
    if call.verb == "watch" and "sendInitialEvents" in query:  # false: a plain watch
        query = {key: value for key, value in query.items() if key != "resourceVersionMatch"}
    if call.verb in ("list", "watch", "deletecollection"):
        found = _selecting(query)
        if call.verb == "watch":
            found["allowWatchBookmarks"] = query.get("allowWatchBookmarks") in TRUE
            _refuse_watch_list(query)
            check_watch_match(query.get("resourceVersionMatch"))
    else:
        found = {}
    if call.verb in ("delete", "deletecollection"):
        found.update(_deleting(query, body))
    if call.verb in WRITES and query.get("fieldValidation"):
        found["fieldValidation"] = query["fieldValidation"]
    if call.verb == "patch":
        found["patchType"] = patch_type(content_type)
        if query.get("force"):
            found["force"] = query["force"] in TRUE
    if call.verb in WRITES:
        found.update(_manager(query, found.get("patchType"), user_agent))
    if call.verb in DRY_RUNS and query.get("dryRun"):
        found["dryRun"] = [query["dryRun"]]
    if call.subresource == "log":
        found.update(_logging(query))
    if call.version is not None:
        found["version"] = call.version
    return found


def _refuse_watch_list(query: Mapping[str, str]) -> None:
    """A streaming list (``sendInitialEvents``: the initial objects, then a bookmark marking
    their end) is not served: refused as kube-apiserver refuses it without its WatchList feature,
    so client-go's reflector (``kubectl rollout status``, ``wait``) falls back to list and watch
    instead of waiting for that bookmark for ever."""
    if query.get("sendInitialEvents") in TRUE:
        raise Invalid('ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
                      "sendInitialEvents is forbidden for watch unless the WatchList feature "
                      "gate is enabled")


def _logging(query: Mapping[str, str]) -> Object:
    """A ``pods/log``'s container, tailLines, previous, timestamps, sinceSeconds, sinceTime
    and limitBytes (``follow`` is the front's to serve)."""
    found: Object = {key: query[key] for key in ("container", "sinceTime") if query.get(key)}
    for key in ("tailLines", "sinceSeconds", "limitBytes"):
        if query.get(key):
            found[key] = _integer(query, key)
    for key in ("previous", "timestamps"):
        if query.get(key) in TRUE:
            found[key] = True
    return found


def _manager(query: Mapping[str, str], patch_type: str | None, user_agent: str) -> Object:
    """The write's ``fieldManager``: the query's, else (but for an apply, which must name
    one) the user agent's product, as kube-apiserver derives it (``kubectl-edit`` of
    ``kubectl-edit/v1.37.0 (linux/amd64) kubernetes/...``)."""
    if query.get("fieldManager"):
        return {"fieldManager": query["fieldManager"]}
    product = user_agent.split("/", 1)[0][:MAX_MANAGER_LENGTH]
    return {"fieldManager": product} if product and patch_type != patches.APPLY_PATCH else {}


def patch_type(content_type: str) -> str:
    """The patch type a PATCH's Content-Type names; UnsupportedMediaType for any other (as
    kube-apiserver answers)."""
    if content_type in patches.SERVED:
        return content_type
    raise UnsupportedMediaType(f"the body of the request was in an unknown format - accepted "
                               f"media types include: {', '.join(patches.SERVED)}")


def payload(call: Call, body: bytes, content_type: str = "") -> Any:
    """What the verb carries: the object of a create or update, the patch of a patch (a
    JSON Patch is a list), nothing for the other verbs. An object in another encoding than
    JSON is 415 (client-go's CBOR then falls back to JSON), but for Kubernetes' protobuf of the
    built-in objects (``protobuf``: what client-go sends)."""
    if call.verb == "patch" and content_type == patches.APPLY_PATCH:
        return yaml_value(body)
    if call.verb == "patch":
        return json_value(body)
    if call.verb not in ("create", "update"):
        return None
    if content_type == protobuf.MEDIA_TYPE:
        return protobuf.decode(body)
    if content_type in BINARY:
        raise UnsupportedMediaType(f"the body of the request was in an unknown format - "
                                   f"accepted media types include: {JSON}")
    return json_body(body)


def _selecting(query: Mapping[str, str]) -> Object:
    """labelSelector, fieldSelector, limit, continue, resourceVersion(Match). A
    resourceVersion of "0" asks for any state, which is the current one here."""
    found: Object = {key: query[key] for key in ("labelSelector", "fieldSelector", "continue")
                     if query.get(key)}
    if query.get("limit"):
        found["limit"] = _integer(query, "limit")
    version = query.get("resourceVersion", "")
    if version not in ("", "0"):
        if not version.isdigit():
            raise BadRequest(f"resourceVersion {version!r} is not a resource version")
        found["resourceVersion"] = version
    if query.get("resourceVersionMatch"):  # "0" goes on with it: Exact refuses it
        found["resourceVersionMatch"] = query["resourceVersionMatch"]
        if version == "0":
            found["resourceVersion"] = version
    return found


def _deleting(query: Mapping[str, str], body: bytes) -> Object:
    """gracePeriodSeconds and propagationPolicy, from a DeleteOptions body (which wins, as
    in kube-apiserver) or the query, and the body's preconditions; the legacy
    ``orphanDependents`` as Orphan."""
    delete = _delete_options(body)
    found: Object = {}
    if query.get("gracePeriodSeconds"):
        found["gracePeriodSeconds"] = _integer(query, "gracePeriodSeconds")
    if query.get("propagationPolicy"):
        found["propagationPolicy"] = query["propagationPolicy"]
    if query.get("orphanDependents") in TRUE or delete.get("orphanDependents") is True:
        found["propagationPolicy"] = "Orphan"
    found.update({key: delete[key] for key in ("gracePeriodSeconds", "propagationPolicy",
                                                "dryRun", "preconditions")
                  if delete.get(key) is not None})
    return found


def _delete_options(body: bytes) -> Object:
    """The DeleteOptions a delete's body holds ({} when it has none)."""
    if not body.strip():
        return {}
    return json_body(body)


def json_value(body: bytes) -> Any:
    """A request's body as JSON; BadRequest saying why it is not."""
    try:
        return json.loads(body, parse_int=protobuf.integer_64)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # Recursion: too deep
        raise BadRequest(f"the request body is not valid JSON: {error}") from None


_SAFE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (7 times the pure Python one's speed, nesting
capped at 1000 levels), else PyYAML's own."""


class _Loader(_SAFE):
    """YAML as Kubernetes reads it into JSON: a timestamp stays the string it is written as."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def yaml_value(body: bytes) -> Any:
    """A request's YAML (or JSON) body; BadRequest saying why it is not. JSON, which kubectl
    sends, is read as JSON (PyYAML took 1.5 s of the front's thread for 600 KB of it); YAML
    without aliases (:func:`_refuse_aliases`)."""
    with contextlib.suppress(BadRequest):
        return json_value(body)
    try:
        _refuse_aliases(body)
        return yaml.load(body, Loader=_Loader)  # a safe loader
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as error:  # Recursion: deep
        raise BadRequest(f"error decoding YAML: {error}") from None


def _refuse_aliases(body: bytes) -> None:
    """A YAMLError at the first alias (``*name``): one is a reference, so an anchor named ten
    times in each of five levels (335 bytes) stood for 100,000 strings the front encoded and
    the apiserver decoded before RBAC, tenfold per level more, and one within its own anchor
    was a list holding itself (kube-apiserver's YAML caps aliasing; an apply needs none)."""
    for event in yaml.parse(body, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.YAMLError(f"aliases are not accepted (*{event.anchor})")


def json_body(body: bytes) -> Object:
    """A request's body as the JSON object it must be; BadRequest saying why not."""
    decoded = json_value(body)
    if not isinstance(decoded, dict):
        raise BadRequest(f"the request body must be a JSON object, not "
                         f"{type(decoded).__name__}")
    return decoded


def _integer(query: Mapping[str, str], key: str) -> int:
    """The query's ``key`` as an int64 (kube-apiserver's ParseInt; the bus carries no more)."""
    try:
        value = int(query[key])
    except ValueError:
        raise BadRequest(f"{key} {query[key]!r} is not an integer") from None
    if not -INT64 <= value < INT64:
        raise BadRequest(f"{key} {query[key]!r} is out of range")
    return value


def watch_seconds(query: Mapping[str, str]) -> float:
    """How long a watch stream lasts: ``timeoutSeconds``, else :data:`DEFAULT_WATCH_SECONDS`."""
    if not query.get("timeoutSeconds"):
        return DEFAULT_WATCH_SECONDS
    seconds = _integer(query, "timeoutSeconds")
    if seconds < 0:
        raise BadRequest("timeoutSeconds must be 0 or more")
    return seconds or DEFAULT_WATCH_SECONDS
