"""The protobuf bodies kubectl sends (its ``create`` generators, ``auth can-i``, ``auth whoami``,
``create token``) read as the JSON objects kubectl itself prints for the same command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from actors.apiserver.http import protobuf
from bus.errors import BadRequest, UnsupportedMediaType

CAN_I_GET_PODS = bytes.fromhex(  # kubectl 1.37's body for `auth can-i get pods`
    "6b387300 0a320a17 617574686f72697a6174696f6e2e6b38732e696f2f7631 1217"
    "53656c665375626a6563744163636573735265766965 77 123c0a100a0012001a0022002a0032003800"
    "4200121e0a1c0a0764656661756c7412036765741a0022002a04706f647332003a001a08080012001a00"
    "20001a002200".replace(" ", ""))


def _field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _unknown(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return protobuf.MAGIC + _field(1, type_meta) + _field(2, raw)


def test_kubectls_can_i_review_reads_as_its_json():
    assert protobuf.decode(CAN_I_GET_PODS) == {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "get",
                                        "resource": "pods"}}, "status": {"allowed": False}}


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


BODIES = json.loads((Path(__file__).parent / "data" / "protobuf_bodies.json").read_text())
"""kubectl 1.37's bodies for its create generators and its ``--dry-run=client -o json`` of the
same commands (scripts/capture_protobuf_bodies.py wrote them)."""


def _meaning(value: Any) -> Any:
    """JSON without what carries nothing (null, {}, []), as both forms may differ there:
    kubectl prints ``creationTimestamp: null`` and ``status: {}``."""
    if isinstance(value, dict):
        kept = {key: _meaning(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, {}, [])}
    if isinstance(value, list):
        return [_meaning(item) for item in value]
    return value


@pytest.mark.parametrize("command", sorted(BODIES))
def test_each_create_generators_protobuf_reads_as_kubectls_own_json(command):
    decoded = protobuf.decode(bytes.fromhex(BODIES[command]["protobuf"]))
    assert _meaning(decoded) == _meaning(BODIES[command]["json"])


def test_zeros_that_were_set_are_kept_and_the_others_left_out():
    deployment = protobuf.decode(bytes.fromhex(BODIES[
        "deployment zero --image=busybox:1.35 --replicas=0 -- sleep 3600"]["protobuf"]))
    assert deployment["spec"]["replicas"] == 0  # a pointer: set to 0 by the user
    assert "minReadySeconds" not in deployment["spec"]  # not a pointer: gogo always sends it
    settings = protobuf.decode(bytes.fromhex(BODIES[
        "configmap settings --from-literal=greeting=hello --from-literal=empty="]["protobuf"]))
    assert settings["data"] == {"greeting": "hello", "empty": ""}


def test_int_or_strings_quantities_and_times_read_as_kubernetes_writes_them():
    budget = protobuf.decode(bytes.fromhex(BODIES[
        "poddisruptionbudget web-pdb --selector=app=web --min-available=50%"]["protobuf"]))
    assert budget["spec"]["minAvailable"] == "50%"
    quota = protobuf.decode(bytes.fromhex(BODIES[
        "quota small --hard=cpu=1,memory=1G,pods=2 --scopes=BestEffort"]["protobuf"]))
    assert quota["spec"]["hard"] == {"cpu": "1", "memory": "1G", "pods": "2"}
    stamp = bytes([1 << 3]) + _varint(1_700_000_000) + bytes([2 << 3, 5])  # seconds, nanos
    event = protobuf.decode(_unknown("v1", "Event", _field(7, stamp) + _field(6, b"")))
    assert event["lastTimestamp"] == "2023-11-14T22:13:20Z" and "firstTimestamp" not in event
    unavailable = bytes([1 << 3, 0, 2 << 3, 2])  # IntOrString{type: Int, intVal: 2}
    budget = protobuf.decode(_unknown("policy/v1", "PodDisruptionBudget",
                                      _field(2, _field(3, unavailable))))
    assert budget["spec"] == {"maxUnavailable": 2}


def test_inlined_structs_and_maps_of_lists_read_as_their_json():
    size = _field(2, _field(1, b"1Gi"))  # EmptyDirVolumeSource.sizeLimit, a Quantity
    volume = _field(1, b"cache") + _field(2, _field(2, size))  # VolumeSource inlined
    pod = protobuf.decode(_unknown("v1", "Pod", _field(2, _field(1, volume))))
    assert pod["spec"]["volumes"] == [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}]
    team = _field(1, b"team") + _field(2, _field(1, b"a") + _field(1, b"b"))  # ExtraValue
    review = protobuf.decode(_unknown("authorization.k8s.io/v1", "SubjectAccessReview",
                                      _field(2, _field(3, b"jane") + _field(5, team))))
    assert review["spec"] == {"user": "jane", "extra": {"team": ["a", "b"]}}


def _varint(value: int) -> bytes:
    found = bytearray()
    while value > 0x7F:
        found.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*found, value])


def test_other_objects_are_unsupported_and_broken_bytes_are_bad_requests():
    with pytest.raises(UnsupportedMediaType, match="Widget"):
        protobuf.decode(_unknown("example.com/v1", "Widget", b""))
    with pytest.raises(BadRequest, match="magic"):
        protobuf.decode(b'{"kind": "SelfSubjectReview"}')
    with pytest.raises(BadRequest, match="ends inside"):
        protobuf.decode(CAN_I_GET_PODS[:-3])
    with pytest.raises(BadRequest, match="is a number"):  # metadata sent as a varint
        protobuf.decode(_unknown("v1", "ConfigMap", bytes([1 << 3, 1])))
    with pytest.raises(BadRequest, match="not UTF-8"):
        protobuf.decode(_unknown("v1", "ConfigMap", _field(1, _field(1, b"\xff"))))


def test_nesting_past_the_bound_is_a_bad_request_not_a_crash(monkeypatch):
    pod = bytes.fromhex(BODIES["deployment web --image=nginx:1.27 --replicas=3 --port=80"][
        "protobuf"])  # spec.template.spec.containers[0].ports[0]: five messages down
    monkeypatch.setattr(protobuf, "MAX_DEPTH", 3)
    with pytest.raises(BadRequest, match="deeper than 3"):
        protobuf.decode(pod)


def test_json_nested_past_the_interpreters_bound_inside_a_field_is_a_bad_request():
    deep = b"[" * 100_000 + b"]" * 100_000  # metadata.managedFields[0].fieldsV1
    meta = _field(17, _field(7, _field(1, deep)))
    with pytest.raises(BadRequest, match="does not hold JSON"):
        protobuf.decode(_unknown("v1", "ConfigMap", _field(1, meta)))


def test_a_number_past_64_bits_is_a_bad_request_not_a_crash():
    generation = bytes([7 << 3]) + _varint(2 ** 69)  # ten bytes, as Go never writes
    with pytest.raises(BadRequest, match="64 bits"):
        protobuf.decode(_unknown("v1", "ConfigMap", _field(1, _field(1, b"x") + generation)))
    fields = _field(17, _field(7, _field(1, b'{"f:a": 100000000000000000000000}')))
    with pytest.raises(BadRequest, match="64 bits"):  # in the JSON a fieldsV1 holds
        protobuf.decode(_unknown("v1", "ConfigMap", _field(1, fields)))
