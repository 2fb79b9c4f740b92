"""The few objects client-go sends as protobuf and kubeactor reads: the reviews of kubectl's
``auth can-i`` (SelfSubjectAccessReview) and ``auth whoami`` (SelfSubjectReview) and the
TokenRequest of ``create token``, which kubectl 1.37 sends only as protobuf (client-go falls
back to JSON after a 415 for CBOR, never for protobuf). Any other protobuf body stays a 415.

Kubernetes' protobuf envelope: the magic ``k8s\\x00``, then a ``runtime.Unknown`` message
(1: TypeMeta {1: apiVersion, 2: kind}, 2: the object's own bytes, 3: contentEncoding, 4:
contentType). The object is decoded by a schema of field numbers (those of
``k8s.io/api/.../generated.proto``) into the JSON object it stands for; fields not in the
schema are skipped (the open-world rule), empty strings and false booleans are left out as
JSON's ``omitempty`` does. The answer goes back as JSON, which client-go's ``Accept`` allows.

Pure: unit-tested in tests/unit/actors/apiserver/http/test_protobuf.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Union

from actors.api.objects import Object
from bus.errors import BadRequest, UnsupportedMediaType

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

Schema = dict[int, tuple[str, Union[str, "Schema"]]]
"""A message: field number -> (JSON name, ``string``, ``strings`` (repeated), ``bool``,
``int`` or a nested message)."""

_OBJECT_META: Schema = {1: ("name", "string"), 2: ("generateName", "string"),
                        3: ("namespace", "string")}
_RESOURCE_ATTRIBUTES: Schema = {
    1: ("namespace", "string"), 2: ("verb", "string"), 3: ("group", "string"),
    4: ("version", "string"), 5: ("resource", "string"), 6: ("subresource", "string"),
    7: ("name", "string"), 8: ("fieldSelector", {1: ("rawSelector", "string")}),
    9: ("labelSelector", {1: ("rawSelector", "string")})}
_NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", "string"), 2: ("verb", "string")}
SCHEMAS: dict[tuple[str, str], Schema] = {
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("resourceAttributes", _RESOURCE_ATTRIBUTES),
                     2: ("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES)})},
    ("authentication.k8s.io/v1", "SelfSubjectReview"): {1: ("metadata", _OBJECT_META)},
    ("authentication.k8s.io/v1", "TokenRequest"): {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("audiences", "strings"), 4: ("expirationSeconds", "int"),
                     3: ("boundObjectRef", {1: ("kind", "string"), 2: ("apiVersion", "string"),
                                            3: ("name", "string"), 4: ("uid", "string")})})},
}
"""The objects read from protobuf, by apiVersion and kind."""
_UNKNOWN: Schema = {1: ("typeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")}),
                    2: ("raw", "bytes")}


def decode(body: bytes) -> Object:
    """The JSON object a protobuf ``body`` stands for; UnsupportedMediaType for an object not
    read from protobuf, BadRequest for bytes that are not Kubernetes' protobuf."""
    if not body.startswith(MAGIC):
        raise BadRequest("the protobuf body does not start with Kubernetes' magic k8s\\x00")
    unknown = _message(body[len(MAGIC):], _UNKNOWN)
    meta = unknown.get("typeMeta") or {}
    api_version, kind = meta.get("apiVersion", ""), meta.get("kind", "")
    schema = SCHEMAS.get((api_version, kind))
    if schema is None:
        raise UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types "
            f"include: application/json ({MEDIA_TYPE} for {kind or 'this object'} is not "
            f"served)")
    return {"apiVersion": api_version, "kind": kind,
            **_message(unknown.get("raw") or b"", schema)}


def _message(data: bytes, schema: Schema) -> Object:
    found: Object = {}
    for number, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind == "strings":
            found.setdefault(name, []).append(_value(value, "string", name))
            continue
        decoded = _value(value, kind, name)
        if decoded not in ("", False, None):
            found[name] = decoded
    return found


def _value(value: int | bytes, kind: str | Schema, name: str) -> Any:
    if kind == "bool":
        return bool(value)
    if kind == "int":
        if not isinstance(value, int):
            raise BadRequest(f"protobuf field {name} is not a number")
        return value
    if not isinstance(value, bytes):
        raise BadRequest(f"protobuf field {name} is a number, not {kind}")
    if kind == "bytes":
        return value
    if kind == "string":
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise BadRequest(f"protobuf field {name} is not UTF-8") from None
    return _message(value, kind) if isinstance(kind, dict) else None


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """The wire's (field number, value) pairs: a varint's integer, a length-delimited
    field's bytes; fixed-width fields as their bytes."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            yield number, value
            continue
        if wire == 2:
            size, at = _varint(data, at)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise BadRequest(f"protobuf wire type {wire} is not served")
        if at + size > len(data):
            raise BadRequest("the protobuf body ends inside a field")
        yield number, data[at:at + size]
        at += size


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise BadRequest("the protobuf body ends inside a number")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at
