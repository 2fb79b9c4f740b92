"""Secrets (``v1/Secret``) and what they share with ConfigMaps: bytes kept base64-encoded,
keys of one grammar, an ``immutable`` switch, and values that no trace may show.

As kube-apiserver does, in order:

1. decoding (:func:`decode_secret`, :func:`decode_configmap`, run as their defaulters): ``data``
   (and a ConfigMap's ``binaryData``) must be base64, else a 400 in the words of Kubernetes'
   JSON decoder; a Secret's ``stringData`` is merged into ``data`` (it wins) and never stored;
   a Secret's ``type`` defaults to ``Opaque``;
2. validation (:func:`secret_problems`, :func:`configmap_problems`): keys, the 1 MiB limit and
   the keys each Secret type requires (ValidateSecret, ValidateConfigMap);
3. on update (:func:`update_problems`): ``type`` never changes; once ``immutable`` is true
   neither it nor the data may change.

:func:`redacted` is what the trace and its captures keep of a message that may hold a Secret
or a service account token (a TokenRequest's answer, a TokenReview).

Pure functions over plain dicts. Neighbours: ``actors.api.defaulting`` and
``actors.api.validation`` (their registries name these), ``actors.apiserver.registry`` (calls
:func:`update_problems`), ``bindings.cli.tracing`` (calls :func:`redacted`),
``actors.kubelet.volumes`` (decodes what the kubelet writes into pods).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from actors.api.meta import LAST_APPLIED
from actors.api.objects import Object
from bus.errors import BadRequest

RESOURCE = "secrets"
OPAQUE = "Opaque"
SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
DOCKERCFG = "kubernetes.io/dockercfg"
DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
BASIC_AUTH = "kubernetes.io/basic-auth"
SSH_AUTH = "kubernetes.io/ssh-auth"
TLS = "kubernetes.io/tls"
SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name"
MAX_BYTES = 1024 * 1024
"""The most a Secret's or a ConfigMap's values may hold together (Kubernetes' MaxSecretSize)."""
REDACTED = "<redacted>"
"""What a trace or a capture shows instead of a Secret's value."""

_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_NEWLINES = str.maketrans("", "", "\r\n")
_IMMUTABLE = "field is immutable when `immutable` is set"
_DATA_FIELDS = {RESOURCE: ("data",), "configmaps": ("data", "binaryData")}
"""The fields an immutable object keeps, by resource."""


# -- decoding -------------------------------------------------------------------------------

def decode_secret(secret: Object) -> None:
    """Kubernetes' decoding of a v1 Secret (in place): ``data`` checked as base64,
    ``stringData`` merged into it, ``type`` defaulted; BadRequest as kube-apiserver words a
    body it cannot decode."""
    data = _bytes_map(secret, "data", "Secret")
    strings = secret.pop("stringData", None)
    if strings is not None:
        if not isinstance(strings, dict) or not all(isinstance(v, str) for v in strings.values()):
            raise _undecodable("Secret", "json: cannot unmarshal into Go struct field "
                               "Secret.stringData of type map[string]string")
        data.update({key: encode(value.encode()) for key, value in strings.items()})
    if data or "data" in secret:
        secret["data"] = data
    if not secret.get("type"):
        secret["type"] = OPAQUE


def decode_configmap(configmap: Object) -> None:
    """Kubernetes' decoding of a v1 ConfigMap's ``binaryData`` (base64); BadRequest otherwise."""
    _bytes_map(configmap, "binaryData", "ConfigMap")


def _bytes_map(obj: Object, field: str, kind: str) -> dict[str, str]:
    """``obj[field]``, a map of base64 strings, checked (a copy)."""
    value = obj.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _undecodable(kind, f"json: cannot unmarshal into Go struct field {kind}.{field} "
                           "of type map[string][]uint8")
    for text in value.values():
        if (at := illegal_base64_at(text)) is not None:
            raise _undecodable(kind, f"illegal base64 data at input byte {at}")
    return dict(value)


def _undecodable(kind: str, why: str) -> BadRequest:
    return BadRequest(f'{kind} in version "v1" cannot be handled as a {kind}: {why}')


def illegal_base64_at(text: str) -> int | None:
    """Where standard, padded base64 ``text`` goes wrong (Go's CorruptInputError offset, line
    breaks ignored as Go ignores them); None when it decodes."""
    plain = text.translate(_NEWLINES)
    try:
        base64.b64decode(plain, validate=True)
        return None
    except binascii.Error:
        pass
    padding = plain.find("=")
    body = plain if padding < 0 else plain[:padding]
    for at, char in enumerate(body):
        if not (char.isascii() and (char.isalnum() or char in "+/")):
            return at
    after = len(plain) - len(plain[len(body):].lstrip("="))
    if after < len(plain):  # something after the padding
        return after
    return len(body) - len(body) % 4  # too short, or padded wrong


def encode(value: bytes) -> str:
    return base64.b64encode(value).decode()


def decoded(text: str) -> bytes:
    """The bytes of one stored (so valid) base64 value."""
    return base64.b64decode(text.translate(_NEWLINES))


# -- validation -----------------------------------------------------------------------------

def secret_problems(secret: Object) -> list[str]:
    """kube-apiserver's ValidateSecret, in its words (never quoting a value)."""
    data = secret.get("data") or {}
    problems = _key_problems("data", data)
    if sum(len(decoded(v)) for v in data.values()) > MAX_BYTES:
        problems.append(f"data: Too long: must have at most {MAX_BYTES} bytes")
    kind = secret.get("type")
    if kind == SERVICE_ACCOUNT_TOKEN:
        annotations = secret.get("metadata", {}).get("annotations") or {}
        if not annotations.get(SERVICE_ACCOUNT_NAME_ANNOTATION):
            problems.append("metadata.annotations[kubernetes.io/service-account.name]: "
                            "Required value")
    elif kind in (DOCKERCFG, DOCKER_CONFIG_JSON):
        problems += _json_problems(data, ".dockercfg" if kind == DOCKERCFG else ".dockerconfigjson")
    elif kind == BASIC_AUTH and "username" not in data and "password" not in data:
        problems += ["data[username]: Required value", "data[password]: Required value"]
    elif kind == SSH_AUTH and not data.get("ssh-privatekey"):
        problems.append("data[ssh-privatekey]: Required value")
    elif kind == TLS:
        problems += [f"data[{key}]: Required value" for key in ("tls.crt", "tls.key")
                     if key not in data]
    return problems


def _json_problems(data: dict[str, str], key: str) -> list[str]:
    """A docker config key must be there and hold a JSON object."""
    if key not in data:
        return [f"data[{key}]: Required value"]
    try:
        parsed = json.loads(decoded(data[key]))
    except ValueError as error:
        why = f"invalid character: {error}"
    else:
        if isinstance(parsed, dict):
            return []
        why = (f"json: cannot unmarshal {type(parsed).__name__} into Go value of type "
               "map[string]interface {}")
    return [f'data[{key}]: Invalid value: "<secret contents redacted>": {why}']


def configmap_problems(configmap: Object) -> list[str]:
    """kube-apiserver's ValidateConfigMap: keys, no key in both maps, the size limit."""
    data = _map(configmap.get("data"))
    binary = _map(configmap.get("binaryData"))
    problems = _key_problems("data", data) + _key_problems("binaryData", binary)
    problems += [f'data[{key}]: Invalid value: "{key}": duplicate of key present in binaryData'
                 for key in data if key in binary]
    size = sum(len(str(v).encode()) for v in data.values())
    size += sum(len(decoded(v)) for v in binary.values())
    if size > MAX_BYTES:
        problems.append(f"[]: Too long: must have at most {MAX_BYTES} bytes")
    return problems


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _key_problems(field: str, values: dict[str, Any]) -> list[str]:
    return [f'{field}[{key}]: Invalid value: "{key}": {why}'
            for key in values for why in key_problems(key)]


def key_problems(key: str) -> list[str]:
    """Kubernetes' IsConfigMapKey (the keys of Secrets and ConfigMaps), in its words."""
    problems = []
    if len(key) > 253:
        problems.append("must be no more than 253 characters")
    if not _KEY.match(key):
        problems.append("a valid config key must consist of alphanumeric characters, '-', '_' "
                        "or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
                        "for validation is '[-._a-zA-Z0-9]+')")
    if key == ".":
        problems.append("must not be '.'")
    elif key == "..":
        problems.append("must not be '..'")
    elif key.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def update_problems(resource: str, old: Object, new: Object) -> list[str]:
    """ValidateSecretUpdate and ValidateConfigMapUpdate: a Secret's ``type`` never changes;
    once ``immutable`` is true, neither it nor the data may change."""
    problems = []
    if resource == RESOURCE and new.get("type") != old.get("type"):
        problems.append(f'type: Invalid value: "{new.get("type")}": field is immutable')
    if old.get("immutable") is True:
        if new.get("immutable") is not True:
            problems.append(f"immutable: Forbidden: {_IMMUTABLE}")
        problems += [f"{field}: Forbidden: {_IMMUTABLE}" for field in _DATA_FIELDS[resource]
                     if (new.get(field) or {}) != (old.get(field) or {})]
    return problems


def has_immutable_data(resource: str) -> bool:
    """Whether ``resource`` has the ``immutable`` switch (Secrets and ConfigMaps)."""
    return resource in _DATA_FIELDS


# -- redaction ------------------------------------------------------------------------------

_TOKEN_HOLDERS = {"TokenRequest": "status", "TokenReview": "spec"}
"""Kinds that carry a token, and the field whose ``token`` it is."""
_TOKEN_RESOURCES = {"tokenreviews": "TokenReview"}
"""Resources whose request bodies carry a token (a client may leave their ``kind`` out)."""


def redacted(value: Any, secret: bool = False, resource: str | None = None) -> Any:
    """A copy of ``value`` (a message body, an object, a list, a watch event) where no Secret's
    value and no token is left: every map of kind Secret (or, with ``secret``, the value itself:
    a request body about a Secret, a patch) keeps its keys and loses its values and its
    last-applied manifest (``apply`` keeps the whole manifest there, values too); a TokenRequest
    and a TokenReview (or a request body about ``resource`` tokenreviews) lose their token."""
    if isinstance(value, list):
        return [_redacted_op(item) if secret else redacted(item) for item in value]
    if not isinstance(value, dict):
        return value
    if secret or value.get("kind") == "Secret":
        return _redacted_secret(value)
    holder = _TOKEN_HOLDERS.get(str(value.get("kind") or _TOKEN_RESOURCES.get(resource or "")))
    copy = {key: redacted(item) for key, item in value.items()}
    if isinstance(copy.get(holder), dict) and "token" in copy[holder]:
        copy[holder] = {**copy[holder], "token": REDACTED}
    return copy


def _redacted_secret(secret: Object) -> Object:
    copy = {key: redacted(item) for key, item in secret.items()}
    for field in ("data", "stringData"):
        if isinstance(secret.get(field), dict):
            copy[field] = dict.fromkeys(secret[field], REDACTED)
        elif field in secret:
            copy[field] = REDACTED
    annotations = (secret.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        copy["metadata"] = {**copy["metadata"],
                            "annotations": {**annotations, LAST_APPLIED: REDACTED}}
    return copy


def _redacted_op(item: Any) -> Any:
    """One operation of a JSON patch of a Secret: its value goes whatever its path."""
    if isinstance(item, dict) and "value" in item:
        return {**item, "value": REDACTED}
    return redacted(item, secret=True)
