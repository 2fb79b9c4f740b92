"""Query strings and DeleteOptions as the verbs' options on the bus."""

from __future__ import annotations

import functools
import json

import pytest

from actors.api import patches
from actors.api.discovery import Served
from actors.apiserver.http import routes
from actors.apiserver.http.queries import DEFAULT_WATCH_SECONDS, options, payload, watch_seconds
from bus.errors import BadRequest, Invalid, UnsupportedMediaType

route = functools.partial(routes.route, served=Served())
"""Routes among the built-in resources."""


def _options(method: str, path: str, body: bytes = b"", **query: str) -> dict:
    return options(route(method, path, query), query, body)


def test_a_list_takes_selectors_paging_and_a_resource_version():
    assert _options("GET", "/api/v1/pods", labelSelector="app=web", fieldSelector="spec.nodeName=n",
                    limit="5", resourceVersion="12", **{"continue": "abc"}) == {
        "labelSelector": "app=web", "fieldSelector": "spec.nodeName=n", "limit": 5,
        "continue": "abc", "resourceVersion": "12"}


def test_resource_version_zero_means_any_state_so_none_is_sent():
    assert _options("GET", "/api/v1/pods", resourceVersion="0") == {}


def test_a_version_match_goes_on_with_its_version_even_zero_which_exact_refuses():
    assert _options("GET", "/api/v1/pods", resourceVersion="0",
                    resourceVersionMatch="Exact") == {
        "resourceVersion": "0", "resourceVersionMatch": "Exact"}
    assert _options("GET", "/api/v1/pods", resourceVersion="7",
                    resourceVersionMatch="NotOlderThan") == {
        "resourceVersion": "7", "resourceVersionMatch": "NotOlderThan"}


def test_a_watch_with_a_version_match_is_invalid_unless_it_says_no_initial_events():
    with pytest.raises(Invalid, match="forbidden for watch unless sendInitialEvents"):
        _options("GET", "/api/v1/pods", watch="true", resourceVersion="3",
                 resourceVersionMatch="NotOlderThan")

    assert "resourceVersionMatch" not in _options(
        "GET", "/api/v1/pods", watch="true", sendInitialEvents="false",
        resourceVersion="0", resourceVersionMatch="NotOlderThan")


def test_a_watch_asks_for_bookmarks_only_when_the_client_does():
    assert _options("GET", "/api/v1/pods", watch="true")["allowWatchBookmarks"] is False
    assert _options("GET", "/api/v1/pods", watch="1",
                    allowWatchBookmarks="true")["allowWatchBookmarks"] is True


def test_a_streaming_list_is_refused_as_invalid_so_client_go_falls_back_to_list_and_watch():
    with pytest.raises(Invalid, match="sendInitialEvents"):
        _options("GET", "/apis/apps/v1/namespaces/d/deployments", watch="true",
                 sendInitialEvents="true", resourceVersionMatch="NotOlderThan",
                 allowWatchBookmarks="true")
    assert _options("GET", "/api/v1/pods", watch="true", sendInitialEvents="false")


def test_delete_options_in_the_body_win_over_the_query():
    body = json.dumps({"kind": "DeleteOptions", "apiVersion": "v1",
                       "propagationPolicy": "Foreground", "gracePeriodSeconds": 0}).encode()
    assert _options("DELETE", "/api/v1/namespaces/d/pods/p", body,
                    propagationPolicy="Orphan", gracePeriodSeconds="30") == {
        "propagationPolicy": "Foreground", "gracePeriodSeconds": 0}


def test_dry_run_goes_on_for_the_writes_and_deletes_from_the_query_or_delete_options():
    assert _options("POST", "/api/v1/namespaces/d/pods", dryRun="All")["dryRun"] == ["All"]
    assert _options("PUT", "/api/v1/namespaces/d/pods/p", dryRun="All")["dryRun"] == ["All"]
    assert _options("DELETE", "/api/v1/namespaces/d/pods", dryRun="All")["dryRun"] == ["All"]
    body = json.dumps({"kind": "DeleteOptions", "dryRun": ["All"]}).encode()
    assert _options("DELETE", "/api/v1/namespaces/d/pods/p", body)["dryRun"] == ["All"]
    assert "dryRun" not in _options("GET", "/api/v1/namespaces/d/pods/p", dryRun="All")


def test_a_delete_bodys_preconditions_go_on_to_the_delete_and_deletecollection():
    body = json.dumps({"kind": "DeleteOptions", "preconditions": {
        "uid": "u1", "resourceVersion": "7"}}).encode()
    for path in ("/api/v1/namespaces/d/pods/p", "/api/v1/namespaces/d/pods"):
        assert _options("DELETE", path, body)["preconditions"] == {"uid": "u1",
                                                                   "resourceVersion": "7"}


def test_orphan_dependents_is_the_orphan_policy():
    assert _options("DELETE", "/api/v1/namespaces/d/pods/p", orphanDependents="true") == {
        "propagationPolicy": "Orphan"}


@pytest.mark.parametrize(("query", "body"), [
    ({"limit": "many"}, b""), ({"resourceVersion": "x1"}, b""),
    ({}, b"{not json"), ({}, b"[1, 2]"),
    ({"gracePeriodSeconds": "soon"}, b""),
])
def test_what_cannot_be_served_as_asked_is_a_400(query, body):
    with pytest.raises(BadRequest):
        options(route("DELETE", "/api/v1/namespaces/d/configmaps", query), query, body)


def test_a_watch_lasts_its_timeout_or_the_default():
    assert watch_seconds({"timeoutSeconds": "7"}) == 7
    assert watch_seconds({}) == watch_seconds({"timeoutSeconds": "0"}) == DEFAULT_WATCH_SECONDS
    with pytest.raises(BadRequest):
        watch_seconds({"timeoutSeconds": "-1"})


@pytest.mark.parametrize("content_type", patches.TYPES)
def test_a_patch_says_its_type_in_its_content_type(content_type):
    call = route("PATCH", "/api/v1/namespaces/d/configmaps/c", {})
    assert options(call, {"fieldManager": "kubectl-patch"}, b"{}", content_type) == {
        "patchType": content_type, "fieldManager": "kubectl-patch"}


def test_a_write_names_its_field_manager_from_the_query_else_from_the_user_agent():
    put = route("PUT", "/api/v1/namespaces/d/configmaps/c", {})
    agent = "kubectl-edit/v1.37.0 (linux/amd64) kubernetes/abc"
    assert options(put, {}, b"{}", user_agent=agent) == {"fieldManager": "kubectl-edit"}
    assert options(put, {"fieldManager": "mine"}, b"{}", user_agent=agent) == {
        "fieldManager": "mine"}
    assert options(route("GET", "/api/v1/namespaces/d/configmaps/c", {}), {}, b"",
                   user_agent=agent) == {}


def test_an_apply_takes_its_manager_only_from_the_query_and_may_be_forced():
    call = route("PATCH", "/api/v1/namespaces/d/configmaps/c", {})
    agent = "kubectl/v1.37.0"
    assert options(call, {}, b"{}", patches.APPLY_PATCH, agent) == {
        "patchType": patches.APPLY_PATCH}
    assert options(call, {"fieldManager": "ops", "force": "true"}, b"{}",
                   patches.APPLY_PATCH, agent) == {
        "patchType": patches.APPLY_PATCH, "fieldManager": "ops", "force": True}


def test_an_apply_body_is_yaml_or_json_and_its_timestamps_stay_strings():
    call = route("PATCH", "/api/v1/namespaces/d/configmaps/c", {})
    yaml_body = b"kind: ConfigMap\ndata: {when: 2026-12-06, n: '1'}\n"
    assert payload(call, yaml_body, patches.APPLY_PATCH) == {
        "kind": "ConfigMap", "data": {"when": "2026-12-06", "n": "1"}}
    assert payload(call, b'{"kind": "ConfigMap"}', patches.APPLY_PATCH) == {"kind": "ConfigMap"}
    with pytest.raises(BadRequest):
        payload(call, b"kind: [unclosed", patches.APPLY_PATCH)


@pytest.mark.parametrize("body", [
    b"a: &a [x]\nb: [*a, *a]\n",  # an alias: a reference, 10 a level was 10**levels strings
    b"a: &a [*a]\n",  # a list holding itself: the encoder's RecursionError
    b"a: " + b"[" * 2000 + b"]" * 2000,  # the parser's RecursionError
])
def test_an_apply_body_with_an_alias_or_nested_past_the_parser_is_a_bad_request(body):
    call = route("PATCH", "/api/v1/namespaces/d/configmaps/c", {})
    with pytest.raises(BadRequest, match=r"^error decoding YAML"):
        payload(call, body, patches.APPLY_PATCH)
    assert payload(call, b"a: &a [x]\n", patches.APPLY_PATCH) == {"a": ["x"]}  # an anchor


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_a_patch_of_another_type_is_415(content_type):
    call = route("PATCH", "/api/v1/namespaces/d/configmaps/c", {})
    with pytest.raises(UnsupportedMediaType) as refused:
        options(call, {}, b"{}", content_type)
    assert refused.value.code == 415
    assert "application/apply-patch+yaml" in refused.value.message


def test_writes_pass_field_validation_on_and_reads_do_not():
    for method, path in (("POST", "/api/v1/namespaces/d/configmaps"),
                         ("PUT", "/api/v1/namespaces/d/configmaps/c")):
        assert _options(method, path, fieldValidation="Strict") == {"fieldValidation": "Strict"}
    assert _options("GET", "/api/v1/namespaces/d/configmaps/c", fieldValidation="Strict") == {}


def test_a_json_patch_is_carried_as_its_list_and_a_create_must_be_an_object():
    patch = route("PATCH", "/api/v1/namespaces/d/configmaps/c", {})
    assert payload(patch, b'[{"op": "remove", "path": "/data"}]') == [
        {"op": "remove", "path": "/data"}]
    with pytest.raises(BadRequest):
        payload(patch, b"{nope")
    with pytest.raises(BadRequest, match="not valid JSON"):  # past the interpreter's bound
        payload(patch, b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(BadRequest, match="64 bits"):  # what the bus cannot carry
        payload(patch, b'{"data": {"a": 1}, "x": 100000000000000000000000000000}')
    with pytest.raises(BadRequest):
        payload(route("POST", "/api/v1/namespaces/d/configmaps", {}), b"[1]")
    assert payload(route("GET", "/api/v1/namespaces/d/configmaps", {}), b"") is None


def test_an_object_not_in_json_is_415_as_kube_apiserver_answers_an_unknown_encoding():
    review = route("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {})
    with pytest.raises(UnsupportedMediaType):
        payload(review, b"\xa1\x64kind", "application/cbor")
    widget = b"k8s\x00\x0a\x18\x0a\x0eexample.com/v1\x12\x06Widget"
    with pytest.raises(UnsupportedMediaType, match="Widget"):
        payload(route("POST", "/api/v1/namespaces/d/configmaps", {}), widget,
                "application/vnd.kubernetes.protobuf")
    assert payload(review, b'{"spec": {}}', "application/json") == {"spec": {}}


def test_a_review_or_an_update_in_protobuf_is_read_as_json():
    review = route("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {})
    whoami = (b"k8s\x00\x0a\x2d\x0a\x18authentication.k8s.io/v1\x12\x11SelfSubjectReview"
              b"\x12\x02\x0a\x00")
    assert payload(review, whoami, "application/vnd.kubernetes.protobuf") == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "metadata": {}}
    configmap = b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x05\x0a\x03\x0a\x01x"
    assert payload(route("PUT", "/api/v1/namespaces/d/configmaps/x", {}), configmap,
                   "application/vnd.kubernetes.protobuf") == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


def test_a_log_takes_its_container_tail_previous_timestamps_start_and_limit():
    path = "/api/v1/namespaces/default/pods/demo/log"
    assert _options("GET", path, container="c", tailLines="3", follow="true") == {
        "container": "c", "tailLines": 3}
    assert _options("GET", path, previous="false", timestamps="false") == {}
    assert _options("GET", path, previous="true", timestamps="true", sinceSeconds="10",
                    limitBytes="5") == {"previous": True, "timestamps": True,
                                        "sinceSeconds": 10, "limitBytes": 5}
    assert _options("GET", path, sinceTime="2026-12-06T22:00:00Z") == {
        "sinceTime": "2026-12-06T22:00:00Z"}
    with pytest.raises(BadRequest, match="limitBytes"):
        _options("GET", path, limitBytes="lots")


def test_integers_beyond_int64_are_a_bad_request_not_an_encoding_crash():
    """msgpack carries at most 64 bits: a larger number from the query must be refused
    where it is read (kube-apiserver's ParseInt fails there too)."""
    path = "/api/v1/namespaces/default/pods/demo/log"
    for key in ("limitBytes", "sinceSeconds", "tailLines"):
        with pytest.raises(BadRequest):
            _options("GET", path, **{key: "1" + "0" * 30})
    with pytest.raises(BadRequest):
        _options("GET", "/api/v1/pods", limit=str(2**63))
    assert _options("GET", path, limitBytes=str(2**63 - 1))["limitBytes"] == 2**63 - 1
