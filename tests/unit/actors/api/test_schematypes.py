"""The typed check in front of the schema walk: an object it lets through is one the walk
finds nothing in (so every answer stays the walk's), and the corpus' valid objects are let
through (so the check is what a clean create costs)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from actors.api import schema, schematypes
from actors.api.objects import Object
from tests.unit.actors.api.test_schema import VALID, _at, _doc_pod, _wrong_types, stored

VALUES: list[Any] = [None, "x", "", 1, -1, 1 << 31, 1 << 63, 1 << 64, 1.5, 1e300, True, [],
                     {}, [None], [1], ["a"], {"zz": 1}, {"name": "n"}, "1Gi", "1e3", "1e999",
                     " 1", "-", ".5m"]
"""What each value of a pod is replaced with in turn: nulls, wrong types, integers wider
than a Go field, quantities the walk must judge itself."""


def _clean(findings: schema.Findings | None) -> bool:
    return findings is not None and not (findings.errors or findings.unknown
                                         or findings.dropped or findings.zeroed)


def test_a_pod_the_typed_check_lets_through_has_nothing_for_the_walk_to_find():
    pod, passed = _doc_pod(), 0
    for _, keys in _wrong_types(pod, ""):
        for value in VALUES:
            changed = copy.deepcopy(pod)
            _at(changed, keys[:-1])[keys[-1]] = copy.deepcopy(value)
            if schematypes.fits("v1", "Pod", changed):
                passed += 1
                assert _clean(schema.check("v1", "Pod", changed)), (keys, value)
    assert passed  # some changes are still valid pods (a name for a name)


@pytest.mark.parametrize("change", [
    {"spec": {"containers": [{"name": "web", "image": "nginx", "extra": 1}]}},
    {"spec": {"containers": [{"name": "web", "image": "nginx", "stdin": None}]}},
    {"spec": {"containers": [{"image": "nginx"}]}},
    {"spec": {"containers": [{"name": "web", "image": "nginx",
                              "resources": {"limits": {"cpu": "1e100"}}}]}},
    {"spec": {"containers": [{"name": "web", "image": "nginx",
                              "resources": {"limits": {"cpu": 0.5}}}]}},
    {"spec": {"containers": [{"name": "web", "image": "nginx"}],
              "terminationGracePeriodSeconds": 1 << 64}},
    {"spec": {"containers": [{"name": "web", "image": "nginx"}], "priority": 1 << 31}},
], ids=["unknown", "null", "required", "long exponent", "float quantity", "wide int64",
        "wide int32"])
def test_what_the_walk_would_drop_refuse_or_judge_is_left_to_the_walk(change: Object):
    assert not schematypes.fits("v1", "Pod", {"apiVersion": "v1", "kind": "Pod",
                                              "metadata": {"name": "p"}, **change})


def test_a_status_needs_no_required_field_as_the_walk_has_it():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "web", "image": "nginx"}]},
           "status": {"conditions": [{"status": "True"}]}}  # no type
    assert _clean(schema.check("v1", "Pod", copy.deepcopy(pod)))
    assert schematypes.fits("v1", "Pod", pod)


def _floats(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_floats(item) for item in value.values())
    return isinstance(value, float) or (isinstance(value, list) and any(map(_floats, value)))


TYPED = [(r, b) for r, bodies in VALID.items() for b in bodies
         if r != "customresourcedefinitions"  # its schema is recursive: walked
         and schema.definition_of(b["apiVersion"], b["kind"]) and not _floats(b)]
"""The corpus' objects of built-in kinds, but a CRD's and those holding a float (a float
quantity is the walk's to judge: ``1e-200`` is none)."""


@pytest.mark.parametrize(("resource", "body"), TYPED,
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_valid_manifest_of_a_built_in_kind_fits_its_type(resource: str, body: Object):
    obj = stored(resource, body)
    assert schematypes.fits(obj["apiVersion"], obj["kind"], obj)
