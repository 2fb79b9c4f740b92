"""What goes back over HTTP: bodies as JSON, errors as Kubernetes ``Status`` objects with their
HTTP code (kubectl prints their reason and message: ``Error from server (NotFound): pods "x"
not found``), and watch events as the lines of a chunked JSON stream.

A 422's details are translated from the bus's form (``kind``: the singular resource;
``causes``: ``"FIELD: MESSAGE"`` strings) to Kubernetes' (``kind``: the Kind, ``group``;
``causes``: ``{"reason", "message", "field"}``), from which kubectl writes its own sentence:
``The Deployment "web" is invalid: spec.replicas: Invalid value: ...``.

Pure: unit-tested in tests/unit/apiserver/http/test_answers.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from actors.api import resources
from actors.api.objects import Object
from bus.errors import ApiError, BadRequest, Invalid

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


def warning(text: str) -> str:
    """A ``Warning`` header's value, as kube-apiserver writes it (code 299, no agent); kubectl
    prints ``Warning: <text>``. What a header cannot carry (control characters, non-ASCII)
    becomes ``?``."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in text)
    return '299 - "' + printable.replace("\\", "\\\\").replace('"', '\\"') + '"'


def retry_after(error: ApiError) -> dict[str, str]:
    """The ``Retry-After`` header of a 429 that says when to try again
    (``details.retryAfterSeconds`` > 0: flow control's), which client-go waits and then sends
    the request again by itself; none for a 429 that says nothing (an eviction a budget
    refuses: kubectl drain says so and retries), nor for other errors, as kube-apiserver."""
    seconds = (error.details or {}).get("retryAfterSeconds") if isinstance(
        error.details, dict) else None
    if error.code != 429 or isinstance(seconds, bool) or not isinstance(seconds, int) \
            or seconds <= 0:
        return {}
    return {"Retry-After": str(seconds)}


FLOW_HEADERS = {"flowSchemaUID": "X-Kubernetes-PF-FlowSchema-UID",
                "priorityLevelUID": "X-Kubernetes-PF-PriorityLevel-UID"}
"""kube-apiserver's headers naming the flow that served a request, by the reply option that
carries each (``actors.apiserver.fairness``)."""


def flow_headers(options: dict[str, Any]) -> dict[str, str]:
    """The ``X-Kubernetes-PF-*`` headers of a reply's ``opts`` (none it does not carry)."""
    return {header: str(options[key]) for key, header in FLOW_HEADERS.items()
            if isinstance(options.get(key), str) and options[key]}


def failure(error: ApiError) -> tuple[int, bytes]:
    """The HTTP code and ``Status`` body of ``error``."""
    status = error.to_status()
    if isinstance(error, Invalid) and isinstance(error.details, dict):
        status["details"] = _invalid_details(error.details)
    return error.code, encode(status)


CAUSE_REASONS = {"Invalid value": "FieldValueInvalid", "Required value": "FieldValueRequired",
                 "Forbidden": "FieldValueForbidden", "Unsupported value":
                 "FieldValueNotSupported", "Duplicate value": "FieldValueDuplicate",
                 "Not found": "FieldValueNotFound", "Too long": "FieldValueTooLong"}
"""The reason of a cause by the words its message starts with (Kubernetes' field.ErrorType)."""


def _invalid_details(details: Object) -> Object:
    translated = dict(details)
    try:
        info = resources.resolve(str(details.get("kind", "")))
        translated.update(kind=info.kind, group=info.group)
    except BadRequest:
        pass
    translated["causes"] = [_cause(cause) if isinstance(cause, str) else cause
                            for cause in details.get("causes") or ()]
    return translated


def _cause(text: str) -> Object:
    """``"spec.x: Invalid value: ..."`` as Kubernetes' StatusCause."""
    field, _, message = text.partition(": ")
    if not message:
        return {"reason": "FieldValueInvalid", "message": text, "field": ""}
    reason = next((r for words, r in CAUSE_REASONS.items() if message.startswith(words)),
                  "FieldValueInvalid")
    return {"reason": reason, "message": message, "field": field}


def event(kind: str, obj: Object) -> bytes:
    """One watch event, a line of the stream."""
    return encode({"type": kind, "object": obj}) + b"\n"


def error_event(error: ApiError) -> bytes:
    """The ERROR event that ends a watch stream, its Status the error's (410: the revision
    left the history; the client lists again). A watch that cannot start is answered this
    way too, with 200, as kube-apiserver does."""
    return event("ERROR", error.to_status())
