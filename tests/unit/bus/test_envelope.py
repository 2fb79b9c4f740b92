"""The envelope codec (bus/envelope.py): round trip, open-world decoding, loud rejection of
anything that is not an envelope, and statuses turned back into the right error leaf."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from bus.envelope import (
    SHARED,
    VERSION,
    Encodings,
    Envelope,
    decode,
    decode_from_apiserver,
    encode,
)
from bus.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Unauthorized,
)


def request(**fields: Any) -> Envelope:
    """A typical apiserver request, with ``fields`` overriding its defaults."""
    base: dict[str, Any] = dict(
        trace_id="t1", span_id="s1", sender="cli", verb="create", group="", resource="pods",
        subresource="binding", namespace="default", name="web", options={"dryRun": False},
        body={"target": {"name": "node-1"}}, auth={"token": "secret"},
    )
    return Envelope(**(base | fields))


def wire(**keys: Any) -> bytes:
    """Raw msgpack bytes of a map with exactly ``keys`` (version and id included if given)."""
    return msgpack.packb(keys, use_bin_type=True)


DECODERS = pytest.mark.parametrize("decoder", [decode, decode_from_apiserver],
                                   ids=["decode", "decode_from_apiserver"])
"""Both readers of envelopes: every request's, and the faster one of watch events."""


@DECODERS
def test_decode_inverts_encode(decoder: Any):
    sent = request()
    assert decoder(encode(sent)) == sent


def test_a_watch_event_reads_the_same_by_either_decoder():
    event = Envelope(sender="apiserver", verb="event", options={"seq": 3, "watchId": "me.w1"},
                     body={"type": "MODIFIED", "object": {
                         "metadata": {"name": "web", "labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "args": ["-x", 1, 2.5, None]}]},
                         "data": b"\x00\xff", "big": 2**63, "neg": -(2**63)}})
    data = encode(event)
    assert decode_from_apiserver(data) == decode(data) == event


def test_only_the_faster_decoder_takes_an_array_as_a_maps_key():
    """Why a request is never read by ``decode_from_apiserver``: msgspec makes a tuple of an
    array key, where a request's reader must answer 400 (nobody but the apiserver may
    publish a watch event)."""
    data = b"\x83\xa1v\x01\xa2id\xa1x\xa4body" + b"\x81\x91\x01\x02"  # body {[1]: 2}
    with pytest.raises(BadRequest):
        decode(data)
    assert decode_from_apiserver(data).body == {(1,): 2}


def test_encode_drops_none_fields_and_uses_short_wire_keys():
    packed = msgpack.unpackb(encode(Envelope(id="m1", sender="cli", namespace="default",
                                             subresource="status", timestamp=1.5)))
    assert packed == {"v": VERSION, "id": "m1", "from": "cli", "ns": "default",
                      "sub": "status", "ts": 1.5}


@DECODERS
def test_decode_ignores_unknown_wire_keys(decoder: Any):
    received = decoder(wire(v=VERSION, id="m1", verb="get", priority="high", x_future=[1]))
    assert (received.id, received.verb) == ("m1", "get")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(wire(v=VERSION + 1, id="m1"), id="newer-major-version"),
        pytest.param(wire(v=0, id="m1"), id="version-zero"),
        pytest.param(wire(v=True, id="m1"), id="boolean-version"),
        pytest.param(wire(id="m1"), id="no-version"),
        pytest.param(msgpack.packb([VERSION, "m1"]), id="not-a-map"),
        pytest.param(b"\xc1\x00garbage", id="garbage-bytes"),
        pytest.param(wire(v=VERSION, id="m1", verb="get")[:-2], id="truncated"),
        pytest.param(wire(v=VERSION, verb="get"), id="missing-id"),
        pytest.param(wire(v=VERSION, id=7), id="non-string-id"),
    ],
)
@DECODERS
def test_decode_rejects_non_envelopes_with_bad_request(decoder: Any, data: bytes):
    with pytest.raises(BadRequest):
        decoder(data)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ({"code": 404, "reason": "NotFound"}, NotFound),
        ({"code": 409, "reason": "Conflict"}, Conflict),
        ({"code": 409, "reason": "AlreadyExists"}, AlreadyExists),
        ({"code": 403, "reason": "Forbidden"}, Forbidden),
        ({"code": 410, "reason": "Expired"}, Gone),
        ({"code": 401}, Unauthorized),
    ],
)
def test_raise_for_status_raises_the_leaf_named_by_reason_or_code(
    status: dict[str, Any], error: type[ApiError]
):
    with pytest.raises(ApiError) as raised:
        Envelope(status={**status, "message": "why"}).raise_for_status()
    assert raised.type is error
    assert raised.value.message == "why"


@pytest.mark.parametrize("status", [None, {"code": 200, "reason": "OK"}, {"code": 201}])
def test_raise_for_status_returns_the_envelope_on_success(status: dict[str, Any] | None):
    reply = Envelope(status=status)
    assert reply.raise_for_status() is reply


def test_error_reply_survives_the_wire_as_the_same_error():
    reply = request().error_reply(Conflict("stale resourceVersion"), sender="apiserver")
    with pytest.raises(Conflict, match="stale resourceVersion"):
        decode(encode(reply)).raise_for_status()


def test_reply_stays_in_the_trace_and_never_carries_credentials():
    sent = request()
    reply = sent.reply({"ok": True}, sender="apiserver")
    assert (reply.trace_id, reply.parent_id, reply.target) == ("t1", "s1", "cli")
    assert reply.auth is None
    assert reply.id != sent.id


@DECODERS
def test_fields_of_the_wrong_type_are_bad_requests(decoder: Any):
    for key, value in (("ns", 5), ("opts", ["x"]), ("auth", "token"), ("ts", "now"),
                       ("name", True)):
        wire = msgpack.packb({"v": 1, "id": "abc", key: value})
        with pytest.raises(BadRequest, match=repr(key)):
            decoder(wire)


def test_a_kept_encoding_is_carried_as_the_same_bytes_and_only_for_that_very_object():
    obj = {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
    reply = Envelope(id="1", verb="get", body=obj, status={"code": 200}, timestamp=1.0)
    before = encode(reply)
    raw = SHARED.keep(obj)
    assert SHARED.keep(obj) is raw  # encoded once
    assert encode(reply) == before == msgpack.packb(msgpack.unpackb(before))
    twin = Envelope(id="1", verb="get", body=dict(obj), status={"code": 200}, timestamp=1.0)
    assert SHARED.find(twin.body) is None and encode(twin) == before
    few = Encodings(size=2)
    kept = [{"n": n} for n in range(3)]
    for value in kept:
        few.keep(value)
    assert few.find(kept[0]) is None and few.find(kept[2]) is not None  # the oldest go


def test_an_encoding_over_the_largest_kept_is_not_kept():
    kept = Encodings(largest=1024)
    small, large = {"data": "x" * 100}, {"data": "x" * 2000}
    assert bytes(kept.keep(large)) == msgpack.packb(large)  # still the right bytes
    kept.keep(small)
    assert kept.find(large) is None and kept.find(small) is not None
