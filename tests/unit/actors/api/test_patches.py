"""The three patch types of a ``patch`` request, by their Content-Type."""

from __future__ import annotations

import copy

import pytest

from actors.api import patches
from actors.api.jsonpatch import PatchError

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
              "spec": {"replicas": 3, "template": {"spec": {"containers": [
                  {"name": "web", "image": "nginx:1.14.2"},
                  {"name": "log", "image": "busybox:1.35"}]}}}}


@pytest.mark.parametrize(("target", "patch", "result"), [  # RFC 7386's appendix A
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_is_rfc_7386(target, patch, result):
    assert patches.merge(target, patch) == result


def test_a_merge_patch_replaces_a_list_whole_and_removes_a_key_set_to_null():
    patched = patches.apply(DEPLOYMENT, patches.MERGE_PATCH, {
        "metadata": {"labels": {"tier": None}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}})
    assert patched["metadata"]["labels"] == {"app": "web"}
    assert patched["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:1.25"}]


def test_a_strategic_merge_patch_merges_containers_by_name():
    patched = patches.apply(DEPLOYMENT, patches.STRATEGIC_MERGE_PATCH, {
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}})
    assert [(c["name"], c["image"]) for c in patched["spec"]["template"]["spec"]["containers"]
            ] == [("web", "nginx:1.25"), ("log", "busybox:1.35")]


def test_a_json_patch_applies_its_operations_in_order():
    patched = patches.apply(DEPLOYMENT, patches.JSON_PATCH, [
        {"op": "test", "path": "/spec/replicas", "value": 3},
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "remove", "path": "/spec/template/spec/containers/1"}])
    assert patched["spec"]["replicas"] == 5
    assert len(patched["spec"]["template"]["spec"]["containers"]) == 1


def test_no_patch_type_changes_the_object_it_is_given():
    before = copy.deepcopy(DEPLOYMENT)
    patches.apply(DEPLOYMENT, patches.MERGE_PATCH, {"metadata": {"labels": {"app": None}}})
    patches.apply(DEPLOYMENT, patches.STRATEGIC_MERGE_PATCH, {"metadata": {"labels": None}})
    patches.apply(DEPLOYMENT, patches.JSON_PATCH, [{"op": "remove", "path": "/metadata"}])
    assert before == DEPLOYMENT


@pytest.mark.parametrize(("patch_type", "patch", "words"), [
    (patches.MERGE_PATCH, ["not", "a", "map"], "a merge patch is a map"),
    (patches.STRATEGIC_MERGE_PATCH, "text", "a strategic merge patch is a map"),
    (patches.JSON_PATCH, {"op": "add"}, "a JSON patch is a list of operations"),
    (patches.JSON_PATCH, [{"op": "test", "path": "/spec/replicas", "value": 4}],
     "JSON patch operation 0 (test)"),
    (patches.JSON_PATCH, [{"op": "replace", "path": "", "value": [1]}],
     "the patched object is a list, not an object"),
    (patches.STRATEGIC_MERGE_PATCH,
     {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
     "does not contain declared merge key: name"),
])
def test_a_patch_that_cannot_apply_is_a_patch_error_saying_why(patch_type, patch, words):
    with pytest.raises(PatchError) as refused:
        patches.apply(DEPLOYMENT, patch_type, patch)
    assert words in refused.value.message
