"""The protobuf bodies kubectl sends for ``auth can-i``, ``auth whoami`` and ``create token``, as
JSON objects."""

from __future__ import annotations

import pytest

from actors.apiserver.http import protobuf
from bus.errors import BadRequest, UnsupportedMediaType

CAN_I_GET_PODS = bytes.fromhex(  # kubectl 1.37's body for `auth can-i get pods`
    "6b387300 0a320a17 617574686f72697a6174696f6e2e6b38732e696f2f7631 1217"
    "53656c665375626a6563744163636573735265766965 77 123c0a100a0012001a0022002a0032003800"
    "4200121e0a1c0a0764656661756c7412036765741a0022002a04706f647332003a001a08080012001a00"
    "20001a002200".replace(" ", ""))


def _field(number: int, data: bytes) -> bytes:
    return bytes([number << 3 | 2, len(data)]) + data


def _unknown(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return protobuf.MAGIC + _field(1, type_meta) + _field(2, raw)


def test_kubectls_can_i_review_reads_as_its_json():
    assert protobuf.decode(CAN_I_GET_PODS) == {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "get",
                                        "resource": "pods"}}}


def test_a_whoami_review_and_a_field_selector_read_as_json():
    assert protobuf.decode(_unknown("authentication.k8s.io/v1", "SelfSubjectReview",
                                    _field(1, b""))) == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "metadata": {}}
    attributes = _field(2, b"list") + _field(5, b"pods") + _field(8, _field(1, b"a=b"))
    review = protobuf.decode(_unknown("authorization.k8s.io/v1", "SelfSubjectAccessReview",
                                      _field(2, _field(1, attributes))))
    assert review["spec"]["resourceAttributes"] == {
        "verb": "list", "resource": "pods", "fieldSelector": {"rawSelector": "a=b"}}


def test_kubectls_token_request_reads_with_its_audiences_duration_and_bound_object():
    bound = _field(1, b"Pod") + _field(2, b"v1") + _field(3, b"web")
    spec = (_field(1, b"a1") + _field(1, b"a2") + bytes([4 << 3, 0xb0, 0x09])  # 1200 varint
            + _field(3, bound))
    request = protobuf.decode(_unknown("authentication.k8s.io/v1", "TokenRequest",
                                       _field(1, b"") + _field(2, spec)))
    assert request == {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                       "metadata": {}, "spec": {
                           "audiences": ["a1", "a2"], "expirationSeconds": 1200,
                           "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}}
    assert protobuf.decode(_unknown("authentication.k8s.io/v1", "TokenRequest",
                                    _field(2, b""))) == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}


def test_other_objects_stay_unsupported_and_broken_bytes_are_bad_requests():
    with pytest.raises(UnsupportedMediaType, match="Deployment"):
        protobuf.decode(_unknown("apps/v1", "Deployment", b""))
    with pytest.raises(BadRequest, match="magic"):
        protobuf.decode(b'{"kind": "SelfSubjectReview"}')
    with pytest.raises(BadRequest, match="ends inside"):
        protobuf.decode(CAN_I_GET_PODS[:-3])
