"""A write's field manager and an apply's force, as verb options: what kube-apiserver's
PatchOptions validation refuses is a 422, before anything is read or written."""

from __future__ import annotations

import pytest

from actors.api import patches
from actors.api.resources import lookup
from actors.apiserver.options import (
    PreconditionFailed,
    check_preconditions,
    check_watch_match,
    fit_page,
    list_revision,
    parse_options,
)
from bus.errors import BadRequest, Invalid, ServerTimeout
from bus.subjects import Subjects

SUBJECTS = Subjects("kubeactor")


def test_an_apply_carries_its_manager_and_force():
    options = parse_options({"patchType": patches.APPLY_PATCH, "fieldManager": "ops",
                             "force": True}, SUBJECTS)
    assert (options.patch_type, options.field_manager, options.force) == (
        patches.APPLY_PATCH, "ops", True)
    assert parse_options({"fieldManager": "kubectl-edit"}, SUBJECTS).field_manager == \
        "kubectl-edit"


@pytest.mark.parametrize(("raw", "words"), [
    ({"patchType": patches.APPLY_PATCH}, "fieldManager: Required value: is required for "
                                         "apply patch"),
    ({"patchType": patches.MERGE_PATCH, "force": True},
     "force: Forbidden: may not be specified for non-apply patch"),
    ({"fieldManager": "m" * 129}, "fieldManager: Too long"),
    ({"fieldManager": "tab\there"}, "printable"),
    ({"resourceVersionMatch": "Exact"}, "resourceVersionMatch: Forbidden: resourceVersionMatch "
                                        "is forbidden unless resourceVersion is provided"),
    ({"resourceVersionMatch": "Exact", "resourceVersion": "0"},
     'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
    ({"resourceVersionMatch": "Newest", "resourceVersion": "3"},
     'Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""'),
    ({"resourceVersionMatch": "Exact", "resourceVersion": "3", "continue": "abc"},
     "resourceVersionMatch is forbidden when continue is provided"),
    ({"limitBytes": 0}, "limitBytes: Invalid value: 0: must be greater than 0"),
    ({"sinceSeconds": 0}, "sinceSeconds: Invalid value: 0: must be greater than 0"),
    ({"sinceSeconds": 5, "sinceTime": "2026-12-06T22:00:00Z"},
     "at most one of `sinceTime` or `sinceSeconds` may be specified"),
    ({"sinceTime": "yesterday"}, "sinceTime: Invalid value: 'yesterday'"),
])
def test_what_options_validation_refuses_is_a_422_naming_its_options(raw, words):
    """PatchOptions, ListOptions (``resourceVersionMatch``) and PodLogOptions, each refused
    in kube-apiserver's words."""
    with pytest.raises(Invalid) as refused:
        parse_options(raw, SUBJECTS)
    kind = ("PodLogOptions" if {"limitBytes", "sinceSeconds", "sinceTime"} & set(raw) else
            "ListOptions.meta.k8s.io" if "resourceVersionMatch" in raw else
            "PatchOptions.meta.k8s.io")
    assert refused.value.message.startswith(f'{kind} "" is invalid: ')
    assert words in refused.value.message


STORED = {"metadata": {"name": "c", "uid": "u1", "resourceVersion": "7"}}


def test_a_delete_holds_when_its_preconditions_do():
    preconditions = parse_options({"preconditions": {"uid": "u1", "resourceVersion": "7"}},
                                  SUBJECTS).preconditions
    assert preconditions == (("uid", "u1"), ("resourceVersion", "7"))
    check_preconditions(preconditions, STORED)
    check_preconditions((), STORED)


@pytest.mark.parametrize(("asked", "words"), [
    ({"uid": "u2"}, "Precondition failed: UID in precondition: u2, UID in object meta: u1"),
    ({"uid": "u1", "resourceVersion": "6"}, "Precondition failed: ResourceVersion in "
                                            "precondition: 6, ResourceVersion in object meta: 7"),
])
def test_a_failed_precondition_is_a_conflict_in_kubes_words_never_retried(asked, words):
    with pytest.raises(PreconditionFailed) as failed:
        check_preconditions(parse_options({"preconditions": asked}, SUBJECTS).preconditions,
                            STORED)
    assert failed.value.message == words
    assert (failed.value.code, failed.value.retryable) == (409, False)


@pytest.mark.parametrize("asked", [["u1"], {"name": "c"}, {"uid": 7}])
def test_preconditions_of_another_shape_are_a_bad_request(asked):
    with pytest.raises(BadRequest, match="preconditions"):
        parse_options({"preconditions": asked}, SUBJECTS)


def _match(match: str, version: str = "5", **raw: object):
    return parse_options({"resourceVersionMatch": match, "resourceVersion": version, **raw},
                         SUBJECTS)


def test_an_exact_list_is_served_at_its_version_and_not_older_than_now():
    assert list_revision(_match("Exact"), 9) == 5
    assert list_revision(_match("NotOlderThan"), 9) is None
    assert list_revision(_match("NotOlderThan", "0"), 9) is None
    assert list_revision(parse_options({"resourceVersion": "50"}, SUBJECTS), 9) is None


@pytest.mark.parametrize("match", ["Exact", "NotOlderThan"])
def test_a_match_past_the_current_version_is_a_504_asking_to_retry(match):
    with pytest.raises(ServerTimeout) as late:
        list_revision(_match(match, "10"), 9)
    assert late.value.message == "Too large resource version: 10, current: 9"
    assert late.value.details["retryAfterSeconds"] == 1


def test_a_watch_with_a_version_match_is_invalid():
    with pytest.raises(Invalid, match="forbidden for watch unless sendInitialEvents"):
        check_watch_match(_match("NotOlderThan").resource_version_match)
    check_watch_match(parse_options({"resourceVersion": "5"}, SUBJECTS).resource_version_match)


def test_a_logs_timestamps_start_and_limit_are_options():
    options = parse_options({"timestamps": True, "sinceSeconds": 10, "limitBytes": 5}, SUBJECTS)
    assert (options.timestamps, options.since_seconds, options.limit_bytes) == (True, 10, 5)
    assert parse_options({"sinceTime": "2026-12-06T22:00:00Z"}, SUBJECTS).since_time == \
        "2026-12-06T22:00:00Z"


def _configmap(name: str, size: int) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "ns"}, "data": {"d": "x" * size}}


def test_a_page_over_its_byte_budget_is_cut_after_the_last_object_that_fits():
    items = [_configmap(f"c{i}", 400) for i in range(5)]
    kept, last = fit_page(lookup("", "configmaps"), items, None, 1000)
    assert [o["metadata"]["name"] for o in kept] == ["c0", "c1"]
    assert last == "/configmaps/ns/c1"  # the next page starts after it


def test_a_page_that_fits_is_left_whole_with_its_own_continue():
    items = [_configmap(f"c{i}", 10) for i in range(3)]
    assert fit_page(lookup("", "configmaps"), items, "/configmaps/ns/c2", 10_000) == (
        items, "/configmaps/ns/c2")


def test_one_object_over_the_budget_still_makes_a_page_of_one():
    kept, last = fit_page(lookup("", "nodes"), [{"metadata": {"name": "n1"}, "x": "y" * 50},
                                            {"metadata": {"name": "n2"}}], None, 10)
    assert len(kept) == 1 and last == "/nodes/n1"


@pytest.mark.parametrize("key", ["labelSelector", "fieldSelector"])
def test_a_selector_is_at_most_what_an_http_request_line_carries(key):
    assert parse_options({key: "a" * 8192}, SUBJECTS)
    with pytest.raises(BadRequest, match="is 8193 characters long, over the limit of 8192"):
        parse_options({key: "a" * 8193}, SUBJECTS)
