"""The wire format: one versioned msgpack map per NATS message (see docs/PROTOCOL.md).

An :class:`Envelope` carries the metadata of a message (ids, trace, sender, verb, resource,
credentials, reply status) apart from its payload (``body``). The codec follows an open-world
rule: unknown keys are ignored on decode and ``None`` fields are dropped on encode, so peers of
different minor versions interoperate. A message that is not a map, has a newer major version,
lacks a required field or has a field of the wrong type raises :class:`~bus.errors.BadRequest`;
it never crashes a reader.

Neighbours: ``bus.subjects`` names where envelopes go; ``bus.connection`` sends them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hmac
import operator
import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import msgpack
import msgspec

from bus.errors import ApiError, BadRequest

VERSION = 1
"""Major version of the envelope. A reader rejects a higher one with 400 BadRequest."""

_KEYS: dict[str, str] = {
    # attribute -> key on the wire (short, stable; see docs/PROTOCOL.md)
    "version": "v",
    "id": "id",
    "trace_id": "trace",
    "span_id": "span",
    "parent_id": "parent",
    "sender": "from",
    "target": "to",
    "verb": "verb",
    "group": "group",
    "resource": "resource",
    "subresource": "sub",
    "namespace": "ns",
    "name": "name",
    "options": "opts",
    "body": "body",
    "auth": "auth",
    "status": "status",
    "timestamp": "ts",
}
_ATTRS = {key: attr for attr, key in _KEYS.items()}
_STRINGS = ("id", "trace_id", "span_id", "parent_id", "sender", "target", "verb", "group",
            "resource", "subresource", "namespace", "name")
_TYPES: dict[str, type | tuple[type, ...]] = {
    **dict.fromkeys(_STRINGS, str), "options": dict, "auth": dict, "status": dict,
    "timestamp": (int, float),
}
_TYPE_NAMES = {attr: "a map" if kind is dict else "a number" if kind == (int, float)
               else "a string" for attr, kind in _TYPES.items()}


def new_id() -> str:
    """A random 16-hex-digit id for messages, spans and traces. Unique, not secret: drawn
    from ``random`` (seeded from the OS), since ``os.urandom`` is a system call that gives
    up the GIL and, in a busy process, waits to get it back (one per message adds up)."""
    return f"{random.getrandbits(64):016x}"


def new_trace_id() -> str:
    """A random trace id: 32 hex digits, the 128 bits of W3C trace context (and so of
    OpenTelemetry), never all zeros. Drawn as :func:`new_id` is, for the same reason."""
    return f"{random.getrandbits(128) or 1:032x}"


@dataclass(slots=True)
class Envelope:
    """One message on the bus.

    Requests to the apiserver carry ``verb``/``resource`` and ``auth``; replies carry
    ``status`` (``{"code", "reason", "message"}``) and the resulting ``body``; watch events carry
    ``verb="event"`` and a body ``{"type": "ADDED"|..., "object": {...}}``.
    """

    version: int = VERSION
    """Envelope major version."""
    id: str = field(default_factory=new_id)
    """Unique id of this message."""
    trace_id: str | None = None
    """Shared by every message one user action causes (a ``run`` and its bind, start, status)."""
    span_id: str | None = None
    """This hop's span; replies and caused messages name it as ``parent_id``."""
    parent_id: str | None = None
    """The span that caused this message."""
    sender: str | None = None
    """Component that sent it (``apiserver``, ``scheduler``, ``kubelet-node-1``, ``cli``)."""
    target: str | None = None
    """Component it is meant for, when the subject alone does not say (watch events, spans)."""
    verb: str | None = None
    """``get``, ``list``, ``create``, ``update``, ``delete``, ``watch``, ``event``, ``commit``..."""
    group: str | None = None
    """API group of ``resource`` (``""`` for the core group)."""
    resource: str | None = None
    """Plural resource name, e.g. ``pods``."""
    subresource: str | None = None
    """``status``, ``binding``... or None."""
    namespace: str | None = None
    name: str | None = None
    options: dict[str, Any] | None = None
    """Verb options: selectors, ``resourceVersion``, ``watchId``, ``gracePeriodSeconds``..."""
    body: Any = None
    """The payload: an object, a list, an event; never metadata about the message."""
    auth: dict[str, Any] | None = None
    """Credentials (``{"token": ...}``). Never copied into replies, events or traces."""
    status: dict[str, Any] | None = None
    """On replies: Kubernetes-like status with ``code``, ``reason``, ``message``."""
    timestamp: float = field(default_factory=time.time)
    """Seconds since the epoch when the sender built the message."""

    def reply(self, body: Any = None, *, code: int = 200, sender: str | None = None) -> Envelope:
        """A success reply to this request, in the same trace."""
        return Envelope(
            trace_id=self.trace_id, parent_id=self.span_id, sender=sender, target=self.sender,
            verb=self.verb, group=self.group, resource=self.resource,
            subresource=self.subresource, namespace=self.namespace, name=self.name,
            body=body, status={"code": code, "reason": "OK" if code < 300 else "", "message": ""},
        )

    def error_reply(self, error: ApiError, *, sender: str | None = None) -> Envelope:
        """A failure reply to this request carrying ``error``'s status."""
        reply = self.reply(sender=sender)
        reply.status = error.to_status()
        return reply

    def raise_for_status(self) -> Envelope:
        """Return self when ``status`` is absent or a success; raise the matching ApiError."""
        if self.status is not None and int(self.status.get("code", 200)) >= 300:
            raise ApiError.from_status(self.status)
        return self


MAC_HEADER = "Kubeactor-Mac"
"""NATS header of a request's MAC (base64), beside the envelope rather than in it."""


def mac(key: bytes, subject: str, reply_to: str, data: bytes) -> bytes:
    """HMAC-SHA256 over a message's subject, reply subject and bytes: proves all three came
    from the holder of ``key`` (a session key, see ``actors.api.certs``), so that nobody who saw
    the message can send it again with its answer going elsewhere."""
    # hmac.new, not the one-shot hmac.digest: that gives up the GIL around OpenSSL's call
    # whatever the size, and a busy process then waits for it again on every request.
    return hmac.new(key, f"{subject}\0{reply_to}\0".encode() + data, "sha256").digest()


def read_mac(headers: dict[str, str] | None) -> bytes | None:
    """The MAC a message's headers carry; None when there is none or it is not base64."""
    value = (headers or {}).get(MAC_HEADER)
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def packed_size(value: Any) -> int:
    """Bytes ``value`` takes on the wire (to keep objects well under the bus's max payload)."""
    return len(pack(value))


_PACKER = msgspec.msgpack.Encoder()
"""msgspec's msgpack encoder: the same bytes as msgpack's ``packb`` in a third of the time."""


def packed(value: Any) -> msgspec.Raw:
    """``value`` encoded once, to be put as it is in several envelopes' bodies (a watch
    event's object, for every watcher of it)."""
    return msgspec.Raw(pack(value))


class Encodings:
    """The encodings of values that are never changed (the store's objects: a get's answer,
    a write's, their watch events), kept for the last :attr:`size` of them, so that one
    object is encoded once for every envelope that carries it (its reply, its watchers'
    events, the next get of it). :func:`encode` puts the kept bytes in place of such a body:
    the same bytes, one dict look-up. A value is kept with its bytes, so its ``id`` names it
    alone while kept. Any thread (one dict: a race encodes twice, the same bytes). An
    encoding over :attr:`largest` bytes is not kept: what the kept ones hold stays bounded
    (``size`` x ``largest``) whatever size of objects a user may write."""

    def __init__(self, size: int = 512, largest: int = 16 * 1024) -> None:
        self.size, self.largest = size, largest
        self._kept: OrderedDict[int, tuple[Any, msgspec.Raw]] = OrderedDict()
        """By the value's ``id``, oldest first (a plain dict's oldest key is found by skipping
        every key deleted before it: up to a few hundred)."""

    def keep(self, value: Any) -> msgspec.Raw:
        """``value``'s encoding, kept for the next envelopes that carry it; the caller
        promises nobody changes ``value`` from now on."""
        kept = self._kept.get(id(value))
        if kept is not None and kept[0] is value:
            return kept[1]
        encoded = packed(value)
        if len(encoded) > self.largest:
            return encoded
        self._kept[id(value)] = (value, encoded)
        if len(self._kept) > self.size:
            with contextlib.suppress(KeyError):  # another thread took the last one
                self._kept.popitem(last=False)  # the oldest kept
        return encoded

    def find(self, value: Any) -> msgspec.Raw | None:
        """``value``'s kept encoding, or None."""
        kept = self._kept.get(id(value))
        return kept[1] if kept is not None and kept[0] is value else None


SHARED = Encodings()
"""The process's kept encodings (:class:`Encodings`)."""


def pack(value: Any) -> bytes:
    """``value`` as msgpack (str as str, bytes as bin); what msgspec will not write (a
    subclass of str, as an enum's value) msgpack writes."""
    try:
        return _PACKER.encode(value)
    except TypeError:
        return msgpack.packb(value, use_bin_type=True)


_WIRE_KEYS = tuple(_KEYS[f.name] for f in dataclasses.fields(Envelope))
_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(Envelope)))
"""Every field's value, in the order of ``_WIRE_KEYS`` (one C call: the codec is on every
hop)."""


def encode(envelope: Envelope) -> bytes:
    """Pack ``envelope`` as a msgpack map, dropping ``None`` fields."""
    wire = {key: value for key, value in zip(_WIRE_KEYS, _VALUES(envelope), strict=True)
            if value is not None}
    if (kept := SHARED.find(envelope.body)) is not None:
        wire["body"] = kept
    return pack(wire)


def decode(data: bytes) -> Envelope:
    """Unpack a message; raise BadRequest when it is not a valid envelope."""
    try:
        wire = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as error:  # msgpack raises several unrelated types
        raise BadRequest(f"message is not valid msgpack: {error}") from error
    return _envelope(wire)


_UNPACKER = msgspec.msgpack.Decoder()
"""msgspec's msgpack decoder: a watch event in about a third of ``msgpack.unpackb``'s time
(and its short keys shared). Not for requests: it takes an array as a map's key (a tuple),
which a request's reader must refuse (400) and msgpack's does."""


def decode_from_apiserver(data: bytes) -> Envelope:
    """:func:`decode` for what only the apiserver may publish (watch events: nats-server
    refuses anyone else's publish to ``P.watch.>``, docs/PROTOCOL.md), whose objects the
    apiserver wrote and checked. The same envelope from the same bytes, faster; a message
    that is not one still raises BadRequest."""
    try:
        wire = _UNPACKER.decode(data)
    except msgspec.DecodeError as error:
        raise BadRequest(f"message is not valid msgpack: {error}") from error
    return _envelope(wire)


def _envelope(wire: Any) -> Envelope:
    """The envelope an unpacked message holds; BadRequest when it holds none."""
    if not isinstance(wire, dict):
        raise BadRequest("message is not a msgpack map")
    version = wire.get("v")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise BadRequest(f"unsupported envelope version {version!r} (this reader: {VERSION})")
    if not isinstance(wire.get("id"), str):
        raise BadRequest("envelope has no string 'id'")
    known = {}
    for key, value in wire.items():
        attr = _ATTRS.get(key)
        if attr is None:
            continue
        expected = _TYPES.get(attr)
        if value is not None and expected is not None and (
            not isinstance(value, expected) or isinstance(value, bool)
        ):
            raise BadRequest(f"envelope field {key!r} must be {_TYPE_NAMES[attr]}")
        known[attr] = value
    return Envelope(**known)
