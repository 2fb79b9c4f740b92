"""``/openapi/v2`` as protobuf, the only form kubectl 1.37 asks it in (``explain --output
plaintext-openapiv2``): the Swagger document of ``openapi`` written as gnostic's
``openapi.v2.Document`` (google/gnostic ``openapiv2/OpenAPIv2.proto``), as kube-apiserver
serves it under ``application/com.github.proto-openapi.spec.v2.v1.0+protobuf``.

Only what the document holds is written: the Swagger version, its info, its paths (each
object's operations with their query parameters and kind) and its definitions, each schema's
fields by their number in ``Schema``. A value of no fixed type (a default, an enum's values, a
vendor extension such as ``x-kubernetes-group-version-kind``) is an ``Any`` whose ``yaml`` is
its JSON (which YAML reads as it is), as gnostic writes them.

Pure: unit-tested in tests/unit/actors/apiserver/http/test_documents.py.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from actors.api.objects import Object

MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
ASKED = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", MEDIA_TYPE)
"""How client-go names the form in its ``Accept`` (the first), and how it is answered."""

_STRINGS = {"$ref": 1, "format": 2, "title": 3, "description": 4, "pattern": 13,
            "discriminator": 26}
_DOUBLES = {"multipleOf": 6, "maximum": 7, "minimum": 9}
_BOOLS = {"exclusiveMaximum": 8, "exclusiveMinimum": 10, "uniqueItems": 16, "readOnly": 27}
_INTEGERS = {"maxLength": 11, "minLength": 12, "maxItems": 14, "minItems": 15,
             "maxProperties": 17, "minProperties": 18}
_ANYS = {"default": 5, "example": 30}
_OPERATIONS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}
"""``PathItem``'s fields."""


def document(swagger: Object) -> bytes:
    """The ``openapi.v2.Document`` of ``swagger`` (a Swagger 2.0 document as JSON)."""
    info = swagger.get("info") or {}
    return b"".join([
        _string(1, str(swagger.get("swagger", "2.0"))),
        _message(2, _string(1, str(info.get("title", ""))) + _string(2, str(
            info.get("version", "")))),
        _message(8, b"".join(_message(2, _string(1, path) + _message(2, _path_item(item)))
                             for path, item in (swagger.get("paths") or {}).items())),
        _message(9, _named_schemas(swagger.get("definitions") or {}))])


def schema(node: Object) -> bytes:
    """One ``Schema``."""
    return b"".join(_schema_field(key, value) for key, value in node.items())


def _schema_field(key: str, value: Any) -> bytes:
    if key in _STRINGS:
        return _string(_STRINGS[key], str(value))
    if key in _DOUBLES:
        return _tag(_DOUBLES[key], 1) + struct.pack("<d", float(value))
    if key in _BOOLS:
        return _tag(_BOOLS[key], 0) + _varint(int(bool(value)))
    if key in _INTEGERS:
        return _tag(_INTEGERS[key], 0) + _varint(int(value))
    if key in _ANYS:
        return _message(_ANYS[key], _any(value))
    if key.startswith("x-"):
        return _message(31, _string(1, key) + _message(2, _any(value)))
    return _COMPOSED.get(key, _nothing)(value)


def _nothing(value: Any) -> bytes:
    """A keyword Swagger 2.0 has no field for (``oneOf``, ``nullable``): left out."""
    return b""


def _additional(value: Any) -> bytes:
    if isinstance(value, dict):
        return _message(21, _message(1, schema(value)))
    return _message(21, _tag(2, 0) + _varint(int(bool(value))))


_COMPOSED = {
    "required": lambda value: b"".join(_string(19, str(item)) for item in value),
    "enum": lambda value: b"".join(_message(20, _any(item)) for item in value),
    "additionalProperties": _additional,
    "type": lambda value: _message(22, b"".join(
        _string(1, t) for t in ([value] if isinstance(value, str) else value))),
    "items": lambda value: _message(23, b"".join(
        _message(1, schema(item)) for item in (value if isinstance(value, list) else [value]))),
    "allOf": lambda value: b"".join(_message(24, schema(item)) for item in value),
    "properties": lambda value: _message(25, _named_schemas(value)),
}
"""The keywords whose fields are messages or repeated."""


def _named_schemas(schemas: Object) -> bytes:
    """``repeated NamedSchema`` (field 1 of ``Definitions`` and ``Properties``)."""
    return b"".join(_message(1, _string(1, name) + _message(2, schema(value)))
                    for name, value in schemas.items())


def _path_item(item: Object) -> bytes:
    return b"".join(_message(_OPERATIONS[method], _operation(operation))
                    for method, operation in item.items() if method in _OPERATIONS)


def _operation(operation: Object) -> bytes:
    """An ``Operation``: its query parameters (``ParametersItem`` > ``Parameter`` >
    ``NonBodyParameter`` > ``QueryParameterSubSchema``) and vendor extensions."""
    parameters = b"".join(_message(8, _message(1, _message(2, _message(3, (
        _string(2, str(p.get("in", "query"))) + _string(4, str(p["name"]))
        + _string(6, str(p.get("type", "string"))))))))
        for p in operation.get("parameters") or ())
    extensions = b"".join(_message(13, _string(1, key) + _message(2, _any(value)))
                          for key, value in operation.items() if key.startswith("x-"))
    return parameters + _message(9, b"") + extensions


def _any(value: Any) -> bytes:
    """An ``Any`` holding ``value`` as YAML (its JSON)."""
    return _string(2, json.dumps(value))


def _message(number: int, payload: bytes) -> bytes:
    return _tag(number, 2) + _varint(len(payload)) + payload


def _string(number: int, value: str) -> bytes:
    return _message(number, value.encode()) if value else b""


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # a negative int64 is its two's complement
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
