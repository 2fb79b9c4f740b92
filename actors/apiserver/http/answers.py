"""What goes back over HTTP: bodies as JSON, errors as Kubernetes ``Status`` objects with their
HTTP code (kubectl prints their reason and message: ``Error from server (NotFound): pods "x"
not found``), and watch events as the lines of a chunked JSON stream.

Pure: unit-tested in tests/unit/apiserver/http/test_answers.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from actors.api.objects import Object
from bus.errors import ApiError

JSON = "application/json"


def encode(body: Any) -> bytes:
    """``body`` as JSON; bytes (which msgpack carries, JSON does not) as base64, as
    Kubernetes' ``[]byte`` fields are."""
    return json.dumps(body, separators=(",", ":"), default=_bytes).encode()


def _bytes(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON")


def success_code(verb: str) -> int:
    """201 Created for a create, as kube-apiserver; 200 otherwise."""
    return 201 if verb == "create" else 200


def failure(error: ApiError) -> tuple[int, bytes]:
    """The HTTP code and ``Status`` body of ``error``."""
    return error.code, encode(error.to_status())


def event(kind: str, obj: Object) -> bytes:
    """One watch event, a line of the stream."""
    return encode({"type": kind, "object": obj}) + b"\n"


def error_event(error: ApiError) -> bytes:
    """The ERROR event that ends a watch stream, its Status the error's (410: the revision
    left the history; the client lists again). A watch that cannot start is answered this
    way too, with 200, as kube-apiserver does."""
    return event("ERROR", error.to_status())
