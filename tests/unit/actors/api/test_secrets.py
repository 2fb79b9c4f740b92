"""Secrets and immutable ConfigMaps (actors/api/secrets.py) through the apiserver's pure steps:
decoding (base64, stringData), ValidateSecret per type, update rules, redaction for traces."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from actors.api import secrets
from actors.api.objects import Object
from actors.api.resources import lookup
from actors.api.validation import validate
from actors.apiserver.registry import prepare_create, prepare_update
from bus.errors import BadRequest, Invalid

SECRETS, CONFIGMAPS = lookup("", "secrets"), lookup("", "configmaps")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def created(body: Object, info: Any = SECRETS) -> Object:
    """What the apiserver would store for ``body`` (decoded, defaulted, validated)."""
    obj = prepare_create(info, {"metadata": {"name": "s"}, **body}, "default", None)
    validate(info, obj)
    obj["metadata"]["resourceVersion"] = "3"
    return obj


def causes(body: Object) -> list[str]:
    with pytest.raises(Invalid) as refused:
        created(body)
    return refused.value.details["causes"]


def test_a_secret_defaults_to_opaque_and_keeps_its_data():
    stored = created({"data": {"password": b64("hunter2")}})
    assert stored["type"] == "Opaque" and stored["data"] == {"password": b64("hunter2")}


def test_string_data_is_merged_into_data_winning_and_never_stored():
    stored = created({"data": {"a": b64("old"), "b": b64("kept")},
                      "stringData": {"a": "new", "c": "ünï"}})
    assert "stringData" not in stored
    assert {k: base64.b64decode(v).decode() for k, v in stored["data"].items()} == {
        "a": "new", "b": "kept", "c": "ünï"}


@pytest.mark.parametrize(("value", "byte"), [("aGVsbG8=!", 8), ("a$bc", 1), ("abc", 0),
                                              ("aGVsbG8", 4)])
def test_data_that_is_not_base64_is_a_400_in_kubernetes_words(value, byte):
    with pytest.raises(BadRequest) as refused:
        created({"data": {"k": value}})
    assert str(refused.value) == ('Secret in version "v1" cannot be handled as a Secret: '
                                  f"illegal base64 data at input byte {byte}")


def test_a_configmaps_binary_data_is_base64_checked_too():
    with pytest.raises(BadRequest, match="ConfigMap in version \"v1\" cannot be handled"):
        created({"binaryData": {"k": "***"}}, CONFIGMAPS)


@pytest.mark.parametrize(("kind", "data", "expected"), [
    ("kubernetes.io/tls", {"tls.crt": "x"}, ["data[tls.key]: Required value"]),
    ("kubernetes.io/tls", {}, ["data[tls.crt]: Required value", "data[tls.key]: Required value"]),
    ("kubernetes.io/basic-auth", {}, ["data[username]: Required value",
                                      "data[password]: Required value"]),
    ("kubernetes.io/ssh-auth", {"ssh-privatekey": ""}, ["data[ssh-privatekey]: Required value"]),
    ("kubernetes.io/dockerconfigjson", {}, ["data[.dockerconfigjson]: Required value"]),
    ("kubernetes.io/service-account-token", {},
     ["metadata.annotations[kubernetes.io/service-account.name]: Required value"]),
])
def test_each_type_requires_its_keys(kind, data, expected):
    assert causes({"type": kind, "stringData": data}) == expected


@pytest.mark.parametrize(("kind", "data"), [
    ("kubernetes.io/tls", {"tls.crt": "c", "tls.key": "k"}),
    ("kubernetes.io/basic-auth", {"username": "admin"}),
    ("kubernetes.io/ssh-auth", {"ssh-privatekey": "key"}),
    ("kubernetes.io/dockerconfigjson", {".dockerconfigjson": '{"auths": {}}'}),
    ("example.com/custom", {}),
])
def test_each_type_with_its_keys_is_accepted(kind, data):
    assert created({"type": kind, "stringData": data})["type"] == kind


def test_a_docker_config_that_is_not_a_json_object_is_refused_without_its_content():
    problems = causes({"type": "kubernetes.io/dockerconfigjson",
                       "stringData": {".dockerconfigjson": "[1, 2]"}})
    assert problems == ['data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": '
                        "json: cannot unmarshal list into Go value of type "
                        "map[string]interface {}"]


def test_keys_follow_the_config_key_grammar_and_size_is_limited():
    assert causes({"stringData": {"bad key": "v", "..x": "v"}}) == [
        'data[bad key]: Invalid value: "bad key": a valid config key must consist of '
        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
        "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        "data[..x]: Invalid value: \"..x\": must not start with '..'"]
    assert causes({"stringData": {"big": "x" * (secrets.MAX_BYTES + 1)}}) == [
        "data: Too long: must have at most 1048576 bytes"]


def test_an_immutable_secret_refuses_changes_to_its_data_and_to_immutable():
    old = created({"immutable": True, "stringData": {"a": "1"}})
    changed = {**old, "stringData": {"a": "2"}}
    with pytest.raises(Invalid) as refused:
        prepare_update(SECRETS, None, changed, old)
    assert refused.value.code == 422
    assert str(refused.value) == ('Secret "s" is invalid: data: Forbidden: field is immutable '
                                  "when `immutable` is set")
    with pytest.raises(Invalid, match="immutable: Forbidden: field is immutable when"):
        prepare_update(SECRETS, None, {**old, "immutable": False}, old)
    relabelled = {**old, "metadata": {**old["metadata"], "labels": {"a": "b"}}}
    assert prepare_update(SECRETS, None, relabelled, old)[0]["metadata"]["labels"] == {"a": "b"}


def test_a_secrets_type_never_changes():
    old = created({"stringData": {"a": "1"}})
    with pytest.raises(Invalid, match=r'type: Invalid value: "kubernetes\.io/basic-auth": field '
                                      r"is immutable"):
        prepare_update(SECRETS, None, {**old, "type": "kubernetes.io/basic-auth"}, old)


def test_an_immutable_configmap_refuses_changes_to_data_and_binary_data():
    old = created({"immutable": True, "data": {"a": "1"}}, CONFIGMAPS)
    with pytest.raises(Invalid, match="data: Forbidden: field is immutable"):
        prepare_update(CONFIGMAPS, None, {**old, "data": {"a": "2"}}, old)
    with pytest.raises(Invalid, match="binaryData: Forbidden: field is immutable"):
        prepare_update(CONFIGMAPS, None, {**old, "binaryData": {"b": b64("x")}}, old)
    mutable = created({"data": {"a": "1"}}, CONFIGMAPS)
    assert prepare_update(CONFIGMAPS, None, {**mutable, "data": {"a": "2"}},
                          mutable)[0]["data"] == {"a": "2"}


def test_redaction_leaves_keys_and_no_value_wherever_a_secret_is():
    stored = created({"stringData": {"password": "hunter2"}})
    stored["metadata"]["annotations"] = {secrets.LAST_APPLIED: '{"stringData": "hunter2"}'}
    event = {"type": "ADDED", "object": stored}
    listing = {"kind": "SecretList", "items": [stored]}
    for shown in (secrets.redacted(event), secrets.redacted(listing)):
        assert "hunter2" not in repr(shown) and b64("hunter2") not in repr(shown)
    assert secrets.redacted(event)["object"]["data"] == {"password": secrets.REDACTED}
    patch = [{"op": "replace", "path": "/data/password", "value": b64("hunter2")}]
    assert secrets.redacted(patch, secret=True)[0]["value"] == secrets.REDACTED
    assert secrets.redacted({"stringData": {"p": "hunter2"}}, secret=True) == {
        "stringData": {"p": secrets.REDACTED}}
    configmap = {"kind": "ConfigMap", "data": {"a": "visible"}}
    assert secrets.redacted(configmap) == configmap
