"""Reading ``DATA_DIR/audit.log`` in tests: every line must validate as an ``audit.k8s.io/v1``
Event, by :data:`EVENT`, a JSON schema written from Kubernetes' Go types
(k8s.io/apiserver/pkg/apis/audit/v1/types.go: ``Event``, ``ObjectReference``, authentication's
``UserInfo``, meta's ``Status``; fields without ``omitempty`` required, no other field allowed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from tests.support import until

_STRINGS = {"type": "array", "items": {"type": "string"}}
_TIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"}
_USER = {"type": "object", "additionalProperties": False, "properties": {
    "username": {"type": "string"}, "uid": {"type": "string"}, "groups": _STRINGS,
    "extra": {"type": "object", "additionalProperties": _STRINGS}}}
EVENT: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["kind", "apiVersion", "level", "auditID", "stage", "requestURI", "verb",
                 "user"],
    "properties": {
        "kind": {"const": "Event"}, "apiVersion": {"const": "audit.k8s.io/v1"},
        "level": {"enum": ["Metadata", "Request", "RequestResponse"]},
        "auditID": {"type": "string", "pattern": "^[0-9a-f-]{36}$"},
        "stage": {"enum": ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]},
        "requestURI": {"type": "string", "minLength": 1}, "verb": {"type": "string"},
        "user": _USER, "impersonatedUser": _USER, "sourceIPs": _STRINGS,
        "userAgent": {"type": "string"},
        "objectRef": {"type": "object", "additionalProperties": False, "properties": {
            key: {"type": "string"} for key in (
                "resource", "namespace", "name", "uid", "apiGroup", "apiVersion",
                "resourceVersion", "subresource")}},
        "responseStatus": {"type": "object", "additionalProperties": False,
                           "required": ["code"], "properties": {
                               "kind": {"type": "string"}, "apiVersion": {"type": "string"},
                               "metadata": {"type": "object"}, "status": {"type": "string"},
                               "message": {"type": "string"}, "reason": {"type": "string"},
                               "details": {"type": "object"}, "code": {"type": "integer"}}},
        "requestObject": {}, "responseObject": {},
        "requestReceivedTimestamp": _TIME, "stageTimestamp": _TIME,
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}


_VALIDATOR = jsonschema.Draft202012Validator(EVENT)
"""Checked once (``jsonschema.validate`` checks the schema itself at every call)."""


def events(path: Path) -> list[dict[str, Any]]:
    """Every Event of the log at ``path``, each validated (jsonschema's ValidationError
    when a line is not an Event)."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        _VALIDATOR.validate(line)
    return lines


def written(path: Path, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The Events that match, once at least one has been written (the writer thread runs
    apart from the requests)."""
    return until(lambda: [e for e in events(path) if predicate(e)],
                 failure="no matching audit event was written")


def user(event: dict[str, Any]) -> str:
    """The name of the user who sent the request of ``event`` ("" when nobody was
    authenticated)."""
    return str(event["user"].get("username", ""))
