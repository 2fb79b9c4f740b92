"""Field sets in FieldsV1 form: which fields an object has, their encoding, their changes."""

from __future__ import annotations

import json

import pytest

from actors.api import fieldsets

POD_SPEC = {"containers": [{"name": "web", "image": "nginx", "args": ["-g", "x"],
                            "ports": [{"containerPort": 80}]}],
            "nodeSelector": {"disk": "ssd"}}
OBJ = {"metadata": {"labels": {"app": "web"}, "finalizers": ["a", "b"]}, "spec": POD_SPEC}


def test_keyed_items_set_values_atomic_lists_and_granular_maps_are_fields():
    assert set(fieldsets.fields(OBJ)) == {
        ("f:metadata", "f:labels"), ("f:metadata", "f:labels", "f:app"),
        ("f:metadata", "f:finalizers", 'v:"a"'), ("f:metadata", "f:finalizers", 'v:"b"'),
        ("f:spec", "f:containers", 'k:{"name":"web"}'),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:name"),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:args"),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:ports", 'k:{"containerPort":80}'),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:ports", 'k:{"containerPort":80}',
         "f:containerPort"),
        ("f:spec", "f:nodeSelector"), ("f:spec", "f:nodeSelector", "f:disk")}


def test_a_list_whose_items_lack_their_key_is_atomic():
    assert set(fieldsets.fields({"containers": [{"image": "x"}]})) == {("f:containers",)}


def test_encoding_marks_a_field_that_holds_others_with_a_dot_and_decodes_back():
    paths = frozenset(fieldsets.fields(OBJ))
    encoded = fieldsets.encode(paths)
    assert encoded["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
    assert next(iter(encoded["f:spec"]["f:containers"]['k:{"name":"web"}'])) == "."
    assert fieldsets.decode(encoded) == paths


def test_decoding_refuses_what_is_not_fields_v1():
    with pytest.raises(ValueError, match="not a field"):
        fieldsets.decode({"spec": {}})
    with pytest.raises(ValueError, match="not a map"):
        fieldsets.decode({"f:spec": []})


def test_a_field_is_described_as_kube_apiserver_writes_it():
    path = ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image")
    assert fieldsets.describe(path) == '.spec.containers[name="web"].image'
    assert fieldsets.describe(("f:metadata", "f:finalizers", 'v:"a"')) == \
        '.metadata.finalizers[="a"]'


def test_changes_are_what_was_set_or_changed_and_what_was_removed():
    new = {"metadata": {"labels": {"app": "api"}}, "spec": {**POD_SPEC, "nodeSelector": {}}}
    changed, removed = fieldsets.changes(OBJ, new)
    assert changed == {("f:metadata", "f:labels", "f:app"), ("f:spec", "f:nodeSelector")}
    assert ("f:spec", "f:nodeSelector", "f:disk") in removed
    assert ("f:metadata", "f:finalizers", 'v:"a"') in removed


def test_removing_a_field_finds_keyed_items_and_set_values():
    obj = {"spec": {"containers": [{"name": "a"}, {"name": "b", "image": "x"}]},
           "metadata": {"finalizers": ["f", "g"]}}
    fieldsets.remove(obj, ("f:spec", "f:containers", 'k:{"name":"b"}', "f:image"))
    fieldsets.remove(obj, ("f:spec", "f:containers", 'k:{"name":"a"}'))
    fieldsets.remove(obj, ("f:metadata", "f:finalizers", 'v:"f"'))
    fieldsets.remove(obj, ("f:spec", "f:missing", "f:x"))
    assert obj == {"spec": {"containers": [{"name": "b"}]}, "metadata": {"finalizers": ["g"]}}


def test_encoded_field_names_are_shared_by_every_object_that_has_them():
    # every pod's managedFields name the same fields: held once, not once per pod (the store)
    built = [tuple("".join(["f:", name]) for name in ("spec", "nodeName")) for _ in range(2)]
    first, second = (fieldsets.encode({path}) for path in built)
    [(spec_1, inner_1)], [(spec_2, inner_2)] = first.items(), second.items()
    assert spec_1 is spec_2 and next(iter(inner_1)) is next(iter(inner_2))


def test_the_tree_of_an_object_is_the_encoding_of_its_fields_in_the_same_order():
    obj = {"spec": {**POD_SPEC, "volumes": [{"name": "b"}, {"name": "a"}], "empty": {}},
           "metadata": {"name": "x", "finalizers": ["b", "a"], "labels": {"z": "1", "a": ""}},
           "status": {"conditions": [{"type": "Ready"}, {"type": "Ready"}]}}  # atomic: repeats
    skipped = frozenset({("f:metadata", "f:name"), ("f:status",)})
    tree = fieldsets.tree(obj, skipped)
    encoded = fieldsets.encode(p for p in fieldsets.fields(obj)
                               if p[:1] not in skipped and p[:2] not in skipped)
    assert json.dumps(tree) == json.dumps(encoded)  # the same maps, keys in the same order


def test_a_map_all_of_whose_fields_are_skipped_is_no_field_in_the_tree():
    obj = {"metadata": {"name": "x", "uid": "u"}, "data": {"k": "v"}}
    skipped = frozenset({("f:metadata", "f:name"), ("f:metadata", "f:uid")})
    assert fieldsets.tree(obj, skipped) == {"f:data": {".": {}, "f:k": {}}}


@pytest.mark.parametrize("value", ["web", 'a"b', "a\\b", "é", "a\tb", 80, -3, True, 1.5, ""])
def test_a_keyed_items_element_is_its_key_and_value_as_json(value: object):
    assert fieldsets.item_element("name", value) == \
        "k:" + json.dumps({"name": value}, separators=(",", ":"))
