"""The rules of CustomResourceDefinitions and of their objects' schemas: pure functions."""

from __future__ import annotations

import copy

from actors.api import crds, schema
from actors.api.discovery import Served
from actors.api.resources import lookup
from actors.apiserver.registry import prepare_update, to_scale

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


def established(subresources: dict | None = None) -> crds.CustomResource:
    crd = copy.deepcopy(CRD)
    if subresources is not None:
        crd["spec"]["versions"][0]["subresources"] = subresources
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


def with_pattern(pattern: str) -> dict:
    crd = copy.deepcopy(CRD)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["name"] = {"type": "string", "pattern": pattern}
    return crd


def test_a_pattern_that_is_not_a_regular_expression_refuses_the_crd():
    assert crds.problems(with_pattern("([")) == [
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[name].pattern: "
        'Invalid value: "([": must be a valid regular expression, but isn\'t: missing ]: [']


def test_a_pattern_that_backtracks_in_python_is_matched_in_linear_time():
    crd = with_pattern("^(a+)+$")
    assert crds.problems(crd) == []
    crds.accept(crd, [])
    info = crds.resource_of(crd)
    assert info is not None
    obj = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "a"},
           "spec": {"name": "a" * 40 + "b"}}  # Python's re: 2**40 steps
    assert crds.check(info, obj).errors == [
        f'spec.name: Invalid value: "{"a" * 40}b": spec.name in body should match '
        "'^(a+)+$'"]


def test_a_crd_in_a_kubernetes_group_needs_the_api_approval_annotation():
    crd = copy.deepcopy(CRD)
    crd["spec"]["group"] = "rbac.authorization.k8s.io"
    crd["metadata"]["name"] = "things.rbac.authorization.k8s.io"
    assert crds.problems(crd) == [
        "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups "
        'must have approval annotation "api-approved.kubernetes.io", see '
        "https://github.com/kubernetes/enhancements/pull/1111"]
    crd["metadata"]["annotations"] = {
        "api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/1"}
    assert crds.problems(crd) == []


def test_a_scale_reads_and_writes_the_paths_of_the_crd():
    info = established({"scale": {"specReplicasPath": ".spec.count",
                                  "statusReplicasPath": ".status.count"}})
    assert info.scale == crds.ScalePaths(".spec.count", ".status.count")
    obj = {"apiVersion": "example.com/v1", "kind": "Thing",
           "metadata": {"name": "a", "generation": 1}, "spec": {"count": 2}}
    scale = to_scale(info, obj)
    assert (scale["spec"], scale["status"]) == ({"replicas": 2}, {"replicas": 0})
    new, _ = prepare_update(info, "scale", {"spec": {"replicas": 4}}, obj)
    assert (new["spec"], new["metadata"]["generation"]) == ({"count": 4}, 2)


def test_simple_paths_are_read_and_written_making_the_maps_on_the_way():
    obj: dict = {"status": "not a map"}
    crds.with_path_value(obj, ".status.deep.count", 3)
    assert obj == {"status": {"deep": {"count": 3}}}
    assert crds.path_value(obj, ".status.deep.count") == 3
    assert crds.path_value(obj, ".spec.count") is None


def test_scale_paths_must_be_simple_and_under_spec_or_status():
    crd = copy.deepcopy(CRD)
    crd["spec"]["versions"][0]["subresources"] = {"scale": {
        "specReplicasPath": ".status.n", "statusReplicasPath": ".status.items[0]"}}
    at = "spec.versions[0].subresources.scale"
    assert crds.problems(crd) == [
        f'{at}.specReplicasPath: Invalid value: ".status.n": should be a json path under .spec',
        f'{at}.statusReplicasPath: Invalid value: ".status.items[0]": should be a json path '
        "under .status"]


def test_an_object_is_shown_at_a_served_version_by_its_api_version_alone():
    info = crds.CustomResource("things", "Thing", group="example.com", version="v1",
                               versions=("v1", "v1beta1"))
    stored = {"apiVersion": "example.com/v1", "kind": "Thing", "spec": {"a": 1}}
    shown = crds.served_as(info, "v1beta1", stored)
    assert shown == {**stored, "apiVersion": "example.com/v1beta1"}
    assert stored["apiVersion"] == "example.com/v1"  # the stored object is untouched
    listed = crds.served_as(info, "v1beta1", {"apiVersion": "example.com/v1",
                                              "kind": "ThingList", "items": [stored]})
    assert [listed["apiVersion"], listed["items"][0]["apiVersion"]] == [
        "example.com/v1beta1"] * 2
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale"}
    assert crds.served_as(info, "v1beta1", scale) is scale
    assert crds.served_as(info, None, stored) is stored


def test_an_object_sent_at_one_version_must_say_that_version():
    info = crds.CustomResource("things", "Thing", group="example.com", version="v1")
    assert crds.version_mismatch(info, "v1", {"apiVersion": "example.com/v1"}) is None
    assert crds.version_mismatch(info, None, {"apiVersion": "example.com/v9"}) is None
    assert crds.version_mismatch(info, "v1", {"apiVersion": "example.com/v2"}) == (
        "the API version in the data (example.com/v2) does not match the expected API "
        "version (example.com/v1)")


def _with_spec_fields(**fields: dict) -> dict:
    crd = copy.deepcopy(CRD)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"].update(fields)
    return crd


AT = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties"


def test_defaults_their_own_schema_refuses_refuse_the_crd():
    crd = _with_spec_fields(
        size={"type": "integer", "default": "big"},
        low={"type": "integer", "minimum": 1, "default": 0},
        box={"type": "object", "properties": {"a": {"type": "integer"}},
             "default": {"a": "x", "b": 1}})
    assert crds.problems(crd) == [
        f'{AT}[size].default: Invalid value: "string": in body must be of type integer: '
        '"string"',
        f"{AT}[low].default: Invalid value: 0: in body should be greater than or equal to 1",
        f'{AT}[box].default: Invalid value: {{"a":"x","b":1}}: must not have unknown fields',
        f'{AT}[box].default.a: Invalid value: "string": a in body must be of type integer: '
        '"string"']


def test_a_schema_that_is_not_structural_refuses_the_crd():
    crd = _with_spec_fields(
        loose={"properties": {"a": {"type": "string"}}},
        listed={"type": "array", "items": {}},
        both={"type": "object", "properties": {"a": {"type": "string"}},
              "additionalProperties": {"type": "string"}},
        free={"x-kubernetes-preserve-unknown-fields": True},
        port={"x-kubernetes-int-or-string": True})
    assert crds.problems(crd) == [
        f"{AT}[loose].type: Required value: must not be empty for specified object fields",
        f"{AT}[listed].items.type: Required value: must not be empty for specified array items",
        f"{AT}[both].additionalProperties: Forbidden: additionalProperties and properties are "
        "mutual exclusive"]
