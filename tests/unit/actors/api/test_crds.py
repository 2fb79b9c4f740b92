"""The rules of CustomResourceDefinitions and of their objects' schemas: pure functions."""

from __future__ import annotations

import copy

from actors.api import crds, schema
from actors.api.discovery import Served
from actors.api.resources import lookup

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "things.example.com"},
    "spec": {"group": "example.com", "scope": "Cluster",
             "names": {"plural": "things", "kind": "Thing", "shortNames": ["th"],
                       "categories": ["stuff"]},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                 "openAPIV3Schema": {"type": "object", "properties": {"spec": {
                     "type": "object", "properties": {
                         "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
                         "items": {"type": "array", "maxItems": 2, "x-kubernetes-list-type":
                                   "map", "x-kubernetes-list-map-keys": ["k"],
                                   "items": {"type": "object", "properties": {
                                       "k": {"type": "string"},
                                       "n": {"type": "number", "default": 0.5}}}}}}}}}}]},
}


def established() -> crds.CustomResource:
    crd = copy.deepcopy(CRD)
    crds.accept(crd, [])
    info = crds.resource_of(crd)
    assert info is not None
    return info


def test_an_accepted_crd_serves_its_resource_where_every_reader_finds_it():
    info = established()
    served = Served([info])
    assert served.lookup("example.com", "things") is info
    assert served.resolve("th") is info and served.resolve("thing.example.com") is info
    assert served.in_category("stuff") == [info]
    assert served.of({"apiVersion": "example.com/v1", "kind": "Thing"}) is info
    assert served.of({"apiVersion": "v1", "kind": "Pod"}) is lookup("", "pods")
    assert (info.namespaced, info.key(None, "a")) == (False, "/example.com/things/a")


def test_a_crd_not_established_serves_nothing():
    assert crds.resource_of(copy.deepcopy(CRD)) is None


def test_names_another_resource_of_the_group_uses_are_refused():
    crd = copy.deepcopy(CRD)
    crds.accept(crd, [established()])
    names, ready = crd["status"]["conditions"]
    assert (names["status"], names["reason"], names["message"]) == (
        "False", "NameConflict", '"things" is already in use')
    assert ready["status"] == "False" and crds.resource_of(crd) is None


def test_a_valid_crd_has_no_problems_and_a_webhook_conversion_is_refused():
    assert crds.problems(CRD) == []
    crd = copy.deepcopy(CRD)
    crd["spec"]["conversion"] = {"strategy": "Webhook"}
    crd["spec"]["names"]["kind"] = "thing"
    assert crds.problems(crd) == [
        'spec.names.kind: Invalid value: "thing": must be a CamelCase name starting with an '
        "upper case letter",
        'spec.conversion.strategy: Unsupported value: "Webhook": supported values: "None"']


def test_the_walker_defaults_list_items_and_checks_strings_lists_and_map_keys():
    info = established()
    obj = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "a"},
           "spec": {"name": "Abcdef", "items": [{"k": "x"}, {"k": "x"}, {"k": "y"}]}}
    findings = crds.check(info, obj)
    assert findings.errors == [
        "spec.name: Too long: may not be more than 5 bytes",
        "spec.items: Too many: 3: must have at most 2 items"]
    obj["spec"] = {"name": "Ab", "items": [{"k": "x"}, {"k": "x"}]}
    assert crds.check(info, obj).errors == [
        "spec.name: Invalid value: \"Ab\": spec.name in body should match '^[a-z]+$'",
        'spec.items[1]: Duplicate value: ["x"]']
    assert obj["spec"]["items"][0] == {"k": "x", "n": 0.5}


def test_a_schema_without_properties_preserving_unknown_fields_keeps_them():
    root = schema.compile_custom({"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    obj = {"metadata": {"name": "a"}, "anything": {"goes": [1]}}
    findings = schema.walk(root, obj)
    findings.drop()
    assert (findings.errors, findings.unknown, obj["anything"]) == ([], [], {"goes": [1]})
