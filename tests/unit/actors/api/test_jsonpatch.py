"""JSON Patch (actors/api/jsonpatch.py): RFC 6902 operations over RFC 6901 pointers, as the
``jsonpatch`` package applies them, and every failure a PatchError (a 400), never another
exception."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api import jsonpatch
from bus.errors import BadRequest, RequestEntityTooLarge


def test_json_patch_ops():
    doc = {"a": {"b~c": 1, "d/e": 2, "list": [1, 2]}}
    assert jsonpatch.apply(doc, [
        {"op": "add", "path": "/a/list/-", "value": 3},
        {"op": "add", "path": "/a/list/0", "value": 0},
        {"op": "remove", "path": "/a/b~0c"},
        {"op": "remove", "path": "/a/d~1e"},
        {"op": "copy", "from": "/a/list", "path": "/copy"},
        {"op": "move", "from": "/copy", "path": "/moved"},
        {"op": "replace", "path": "/a/list/1", "value": 9},
        {"op": "test", "path": "/moved/3", "value": 3},
    ]) == {"a": {"list": [0, 9, 2, 3]}, "moved": [0, 1, 2, 3]}
    assert doc == {"a": {"b~c": 1, "d/e": 2, "list": [1, 2]}}  # untouched


def test_the_whole_document_may_be_replaced_but_not_removed():
    assert jsonpatch.apply({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {
        "b": 2}
    with pytest.raises(jsonpatch.PatchError, match=r"operation 0 \(remove\): can.t remove"):
        jsonpatch.apply({"a": 1}, [{"op": "remove", "path": ""}])


def test_values_added_are_copies_of_the_patchs():
    value = {"x": [1]}
    patch = [{"op": "add", "path": "/v", "value": value},
             {"op": "add", "path": "/v/x/-", "value": 2}]
    assert jsonpatch.apply({}, patch) == {"v": {"x": [1, 2]}}
    assert value == {"x": [1]}


@pytest.mark.parametrize("path", ["/a/01", "/a/-1", "/a/1e0", "/a/ 1", "/a/+1"])
def test_list_indexes_are_rfc_6901_decimals_without_leading_zeros(path: str):
    with pytest.raises(jsonpatch.PatchError, match="not a valid sequence index"):
        jsonpatch.apply({"a": [1, 2]}, [{"op": "replace", "path": path, "value": 0}])


@pytest.mark.parametrize("patch", [
    {"op": "add"}, "[]", None, ["not a map"], [{"path": "/a"}], [{"op": ["add"], "path": "/a"}],
    [{"op": "add", "path": "/x/y", "value": 1}], [{"op": "add", "path": "/a/list/0"}],
    [{"op": "remove", "path": "/missing"}], [{"op": "remove", "path": "/a/list/-"}],
    [{"op": "replace", "path": "/a/list/5", "value": 1}],
    [{"op": "add", "path": "/a/list/2", "value": 1}],
    [{"op": "test", "path": "/a", "value": 2}], [{"op": "jump", "path": "/a"}],
    [{"op": "add", "path": "no-slash", "value": 1}], [{"op": "add", "path": 5, "value": 1}],
    [{"op": "add", "path": "/a/~2", "value": 1}], [{"op": "move", "path": "/b"}],
    [{"op": "move", "from": "/a", "path": "/a/list/0"}],
    [{"op": "add", "path": "/a/list/0/deeper", "value": 1}],
])
def test_bad_json_patches_are_refused(patch: Any):
    with pytest.raises(jsonpatch.PatchError) as refused:
        jsonpatch.apply({"a": {"list": [1]}}, patch)
    assert isinstance(refused.value, BadRequest) and refused.value.code == 400


def test_copies_may_add_up_to_the_limit_and_no_more():
    """Each copy of ``/a`` into itself doubles it: without a bound, 30 of them make a TiB."""
    doc = {"a": {"x": "y" * 1024}}
    doubled = jsonpatch.apply(doc, [{"op": "copy", "from": "/a", "path": "/a/c0"}])
    assert doubled["a"]["c0"] == {"x": "y" * 1024}
    doublings = [{"op": "copy", "from": "/a", "path": f"/a/c{n}"} for n in range(30)]
    with pytest.raises(BadRequest, match=r"^Unable to complete the copy, the accumulated size"):
        jsonpatch.apply(doc, doublings)


def test_more_operations_than_kubes_limit_are_413_before_any_is_applied():
    patch = [{"op": "add", "path": "/n", "value": 1}] * (jsonpatch.MAX_OPERATIONS + 1)
    with pytest.raises(RequestEntityTooLarge, match=r"is 10000, got 10001$"):
        jsonpatch.apply({}, patch)
    assert jsonpatch.apply({}, patch[:jsonpatch.MAX_OPERATIONS]) == {"n": 1}
