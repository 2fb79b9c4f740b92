"""Resource semantics (actors/apiserver/registry.py): what the apiserver stores for a create,
an update, a binding and a delete."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from actors.api.defaulting import default_pod_spec
from actors.api.meta import TRACE_ANNOTATION, condition, new_uid, parse_time
from actors.api.objects import Object
from actors.api.resources import lookup
from actors.apiserver.registry import (
    check_pod_update,
    graceful_deletion,
    plain_copy,
    prepare_binding,
    prepare_create,
    prepare_update,
    to_scale,
)
from bus.errors import BadRequest, Conflict, InternalError, Invalid
from tests.conftest import pod

PODS, NODES, CONFIGMAPS = lookup("", "pods"), lookup("", "nodes"), lookup("", "configmaps")


def stored_pod(name: str = "web", node: str | None = None, rv: str = "5") -> Object:
    """A pod as the store holds it after a create (and a binding to ``node``, if given)."""
    stored = prepare_create(PODS, pod(name), "default", None)
    stored["metadata"]["resourceVersion"] = rv
    if node:
        stored["spec"]["nodeName"] = node
    return stored


def test_create_sets_server_owned_metadata_and_drops_what_the_client_sent():
    body = pod("web")
    body["metadata"].update(uid="forged", resourceVersion="0", generation=9,
                            creationTimestamp="2001-01-01T00:00:00Z")
    created = prepare_create(PODS, body, "default", "trace-1")
    metadata = created["metadata"]
    assert uuid.UUID(metadata["uid"]) and metadata["uid"] != "forged"
    assert "resourceVersion" not in metadata
    assert metadata["generation"] == 1
    assert parse_time(metadata["creationTimestamp"]).year > 2001
    assert metadata["namespace"] == "default"
    assert metadata["annotations"] == {TRACE_ANNOTATION: "trace-1"}
    assert body["metadata"]["uid"] == "forged"


def versioned(version: str) -> Any:
    body = pod("web")
    body["metadata"]["resourceVersion"] = version
    return body


def test_a_trace_id_leaves_annotations_that_are_not_a_map_to_validation():
    body = dict(pod("p"), metadata={"name": "p", "annotations": 1.5})  # found by the fuzz
    assert prepare_create(PODS, body, "default", "trace-1")["metadata"]["annotations"] == 1.5


@pytest.mark.parametrize("version", ["42", "007"])
def test_a_resource_version_on_create_is_refused_as_kube_apiservers_storage_does(version: str):
    with pytest.raises(InternalError, match=r"^Internal error occurred: resourceVersion should "
                       r"not be set on objects to be created$"):
        prepare_create(PODS, versioned(version), "default", None)


@pytest.mark.parametrize("version", ["", "0", "-1", "x"])
def test_a_resource_version_its_versioner_reads_as_none_is_dropped_on_create(version: str):
    assert "resourceVersion" not in prepare_create(PODS, versioned(version), "default",
                                                   None)["metadata"]


def test_create_resets_a_pod_status_to_pending():
    body = pod("web")
    body["status"] = {"phase": "Running", "hostIP": "10.0.0.1"}
    assert prepare_create(PODS, body, "default", None)["status"] == {"phase": "Pending"}


def test_a_generated_name_is_the_same_for_one_message_delivered_twice_and_new_for_another():
    body = {"metadata": {"generateName": "web-"}, "spec": pod("web")["spec"]}
    twice = [prepare_create(PODS, body, "default", None, "0123456789abcdef")["metadata"]["name"]
             for _ in range(2)]
    another = prepare_create(PODS, body, "default", None, "fedcba9876543210")
    assert twice[0] == twice[1] and twice[0].startswith("web-") and len(twice[0]) == 9
    assert another["metadata"]["name"] != twice[0]


def test_create_rejects_a_body_namespace_other_than_the_request():
    body = pod("web")
    body["metadata"]["namespace"] = "kube-system"
    with pytest.raises(BadRequest, match="namespace"):
        prepare_create(PODS, body, "default", None)


def test_create_of_a_cluster_scoped_object_gets_no_namespace():
    node = {"metadata": {"name": "node-1"}}
    assert "namespace" not in prepare_create(NODES, node, None, None)["metadata"]


def test_main_update_keeps_the_stored_status():
    old = stored_pod()
    old["status"] = {"phase": "Running"}
    body = pod("web")
    body["status"] = {"phase": "Failed"}
    new, _ = prepare_update(PODS, None, body, old)
    assert new["status"] == {"phase": "Running"}


def test_status_update_keeps_the_stored_spec_and_metadata():
    old = stored_pod()
    body = pod("web")
    body["spec"]["containers"][0]["image"] = "nginx"
    body["metadata"]["labels"] = {"sneaky": "yes"}
    body["status"] = {"phase": "Running"}
    new, _ = prepare_update(PODS, "status", body, old)
    assert new["spec"] == old["spec"]
    assert new["metadata"] == old["metadata"]
    assert new["status"] == {"phase": "Running"}


def test_update_bumps_generation_only_when_the_spec_changes():
    old = stored_pod()
    relabelled = pod("web")
    relabelled["metadata"]["labels"] = {"app": "web"}
    respecced = pod("web")
    respecced["spec"]["containers"][0]["image"] = "busybox:1.36"
    same, _ = prepare_update(PODS, None, relabelled, old)
    bumped, _ = prepare_update(PODS, None, respecced, old)
    assert same["metadata"]["generation"] == 1
    assert bumped["metadata"]["generation"] == 2


def test_a_pod_stored_before_requests_were_defaulted_from_limits_still_takes_updates():
    old = stored_pod()
    old["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}  # no requests then
    relabelled = plain_copy(old)
    relabelled["metadata"]["labels"] = {"app": "web"}
    new, _ = prepare_update(PODS, None, relabelled, old)
    assert new["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1"}
    changed = plain_copy(old)
    changed["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
    with pytest.raises(Invalid, match="pod updates may not change fields"):
        prepare_update(PODS, None, changed, old)


def test_a_job_stored_before_its_template_was_defaulted_still_takes_updates():
    """A Job stored before its template's containers got ``resources: {}`` (session 11): a
    label added, the rest sent back as read, is no change of its immutable template; a real
    change of it still is."""
    old = prepare_create(lookup("batch", "jobs"), {"metadata": {"name": "pi"}, "spec": {
        "template": {"spec": {"restartPolicy": "Never",
                              "containers": [{"name": "pi", "image": "perl"}]}}}},
        "default", None)
    del old["spec"]["template"]["spec"]["containers"][0]["resources"]  # not defaulted then
    relabelled = plain_copy(old)
    relabelled["metadata"]["labels"]["team"] = "a"
    new, _ = prepare_update(lookup("batch", "jobs"), None, relabelled, old)
    assert new["metadata"]["labels"]["team"] == "a"
    changed = plain_copy(old)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:5"
    with pytest.raises(Invalid, match=r"spec\.template: Invalid value: .*field is immutable"):
        prepare_update(lookup("batch", "jobs"), None, changed, old)


def test_update_keeps_server_owned_metadata_of_the_stored_object():
    old = stored_pod()
    body = pod("web")
    body["metadata"].update(uid="forged", creationTimestamp="2001-01-01T00:00:00Z")
    new, _ = prepare_update(PODS, None, body, old)
    assert new["metadata"]["uid"] == old["metadata"]["uid"]
    assert new["metadata"]["creationTimestamp"] == old["metadata"]["creationTimestamp"]


@pytest.mark.parametrize(("sent", "expected"), [("7", 7), ("", None), (None, None)])
@pytest.mark.parametrize("subresource", [None, "status"])
def test_update_returns_the_resource_version_the_client_sent(
    subresource: str | None, sent: str | None, expected: int | None
):
    body = pod("web")
    body["metadata"]["resourceVersion"] = sent
    assert prepare_update(PODS, subresource, body, stored_pod())[1] == expected


def test_update_of_another_name_is_bad_request():
    with pytest.raises(BadRequest):
        prepare_update(PODS, None, pod("db"), stored_pod("web"))


def test_binding_sets_node_name_and_pod_scheduled():
    unbound = stored_pod()
    bound = prepare_binding(unbound, {"target": {"kind": "Node", "name": "node-1"}})
    assert bound["spec"]["nodeName"] == "node-1"
    assert (condition(bound, "PodScheduled") or {}).get("status") == "True"
    assert "nodeName" not in unbound["spec"]


def test_binding_an_already_bound_pod_conflicts():
    with pytest.raises(Conflict, match='already assigned to node "node-1"'):
        prepare_binding(stored_pod(node="node-1"), {"target": {"name": "node-2"}})


def test_binding_a_pod_being_deleted_conflicts():
    deleting = stored_pod()
    deleting["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    with pytest.raises(Conflict, match="being deleted"):
        prepare_binding(deleting, {"target": {"name": "node-1"}})


def test_binding_without_a_target_node_is_bad_request():
    with pytest.raises(BadRequest):
        prepare_binding(stored_pod(), {"target": {}})


def test_deleting_an_unbound_pod_is_immediate():
    assert graceful_deletion(PODS, stored_pod(), None) is None


@pytest.mark.parametrize(("grace", "period"), [(None, 30), (5, 5)])
def test_deleting_a_bound_pod_marks_it_for_its_kubelet(grace: int | None, period: int):
    bound = stored_pod(node="node-1")
    marked = graceful_deletion(PODS, bound, grace)
    assert marked is not None
    assert marked["metadata"]["deletionGracePeriodSeconds"] == period
    assert parse_time(marked["metadata"]["deletionTimestamp"])
    assert "deletionTimestamp" not in bound["metadata"]


def test_deleting_a_bound_pod_uses_its_own_termination_grace_period():
    bound = stored_pod(node="node-1")
    bound["spec"]["terminationGracePeriodSeconds"] = 12
    marked = graceful_deletion(PODS, bound, None)
    assert marked is not None and marked["metadata"]["deletionGracePeriodSeconds"] == 12


def test_deleting_a_bound_pod_with_grace_zero_is_immediate():
    assert graceful_deletion(PODS, stored_pod(node="node-1"), 0) is None


def test_deleting_an_object_with_finalizers_leaves_it_marked():
    config = {"metadata": {"name": "settings", "namespace": "default",
                           "finalizers": ["example.com/cleanup"]}}
    marked = graceful_deletion(CONFIGMAPS, config, None)
    assert marked is not None and "deletionTimestamp" in marked["metadata"]


def test_update_may_not_change_a_pods_spec_beyond_images():
    old = stored_pod()
    moved = pod("web")
    moved["spec"]["nodeName"] = "elsewhere"
    with pytest.raises(Invalid, match="pod updates may not change fields"):
        prepare_update(PODS, None, moved, old)


def test_bytes_and_non_string_keys_are_bad_requests_not_stored():
    for bad in ({"metadata": {"name": "x"}, "data": {1: "one"}},
                {"metadata": {"name": "x"}, "data": {"blob": b"\x00"}}):
        with pytest.raises(BadRequest):
            prepare_create(PODS, bad, "default", None)


DEPLOYMENTS, NAMESPACES = lookup("apps", "deployments"), lookup("", "namespaces")


def stored_deployment() -> Object:
    body = {"metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    stored = prepare_create(DEPLOYMENTS, body, "default", None)
    stored["metadata"]["resourceVersion"] = "9"
    stored["status"] = {"replicas": 2}
    return stored


def test_the_scale_subresource_reads_and_sets_only_replicas():
    old = stored_deployment()
    scale = to_scale(DEPLOYMENTS, old)
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 2, "selector": "app=web"}
    scale["spec"]["replicas"] = 5
    scale["spec"]["template"] = "ignored"
    new, expected = prepare_update(DEPLOYMENTS, "scale", scale, old)
    assert expected == 9
    assert new["spec"]["replicas"] == 5 and new["metadata"]["generation"] == 2
    assert new["spec"]["template"] == old["spec"]["template"]
    with pytest.raises(BadRequest):
        prepare_update(DEPLOYMENTS, "scale", {"spec": {}}, old)


@pytest.mark.parametrize(("replicas", "error"), [
    (-3, Invalid), ("many", BadRequest), (True, BadRequest), (2 ** 31, BadRequest),
    ({"a": 1}, BadRequest)])
def test_a_scale_whose_replicas_are_not_a_count_is_refused(replicas: Any, error: type):
    with pytest.raises(error, match=r"spec\.replicas"):  # as ValidateScale, whatever the CRD
        prepare_update(DEPLOYMENTS, "scale", {"spec": {"replicas": replicas}},
                       stored_deployment())


def test_a_workloads_selector_is_immutable():
    old = stored_deployment()
    body = dict(old, spec=dict(old["spec"], selector={"matchLabels": {"app": "other"}}))
    with pytest.raises(Invalid, match=r"spec.selector: Invalid value: .*field is immutable"):
        prepare_update(DEPLOYMENTS, None, body, old)


def test_a_statefulsets_spec_changes_only_where_kubernetes_allows():
    info = lookup("apps", "statefulsets")
    old = prepare_create(info, {
        "metadata": {"name": "web"}, "spec": {
            "replicas": 1, "serviceName": "nginx", "selector": {"matchLabels": {"app": "w"}},
            "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [
                {"name": "c", "image": "i"}]}}}}, "default", None)
    scaled, _ = prepare_update(info, None, dict(old, spec=dict(old["spec"], replicas=3)), old)
    assert scaled["metadata"]["generation"] == 2
    with pytest.raises(Invalid, match="spec: Forbidden: updates to statefulset spec for fields "
                                      "other than 'replicas'"):
        prepare_update(info, None, dict(old, spec=dict(old["spec"], serviceName="db")), old)


def test_only_namespaces_finalize_changes_a_namespaces_finalizers():
    old = prepare_create(NAMESPACES, {"metadata": {"name": "ns"}}, None, None)
    assert old["spec"]["finalizers"] == ["kubernetes"] and old["status"]["phase"] == "Active"
    plain, _ = prepare_update(NAMESPACES, None, dict(old, spec={"finalizers": []}), old)
    assert plain["spec"]["finalizers"] == ["kubernetes"]
    final, _ = prepare_update(NAMESPACES, "finalize", {"spec": {"finalizers": []}}, old)
    assert final["spec"]["finalizers"] == []


def test_a_kubelets_confirmation_is_kept_while_a_finalizer_holds_the_pod():
    held = stored_pod(node="n1")
    held["metadata"]["finalizers"] = ["foregroundDeletion"]
    marked = graceful_deletion(PODS, held, None)
    assert marked is not None and marked["metadata"]["deletionGracePeriodSeconds"] == 30
    confirmed = graceful_deletion(PODS, marked, 0)  # the kubelet stopped it: grace 0
    assert confirmed is not None and confirmed["metadata"]["deletionGracePeriodSeconds"] == 0
    assert graceful_deletion(PODS, confirmed, 0) is confirmed  # nothing new
    confirmed["metadata"]["finalizers"] = []
    assert graceful_deletion(PODS, confirmed, 0) is None  # the last finalizer went: it goes


def test_a_body_is_copied_whole_and_must_be_plain_data():
    body = {"metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"k": "v"},
            "list": [{"x": 1.5}, True, None]}
    copied = plain_copy(body)
    assert copied == body and copied["metadata"] is not body["metadata"]
    assert copied["list"][0] is not body["list"][0]
    with pytest.raises(BadRequest, match=r"body\.list\[0\]\.x: nan is not a JSON number"):
        plain_copy({"list": [{"x": float("nan")}]})
    with pytest.raises(BadRequest, match=r"body\.data: bytes values are not allowed"):
        plain_copy({"data": b"raw"})
    with pytest.raises(BadRequest, match="map keys must be strings"):
        plain_copy({"metadata": {1: "x"}})
    deep: Object = {}
    for _ in range(70):
        deep = {"d": deep}
    with pytest.raises(BadRequest, match="nested more than 64 levels deep"):
        plain_copy(deep)


def test_a_uid_is_the_text_uuid_writes_of_the_same_random_version_4_uuid():
    state = random.getstate()
    uids = [new_uid() for _ in range(500)]
    random.setstate(state)
    assert uids == [str(uuid.UUID(int=random.getrandbits(128), version=4)) for _ in range(500)]


def test_a_copied_body_shares_its_keys_and_short_strings_with_every_equal_one():
    # what the store keeps: thousands of pods repeat "Running", their image, their node
    text = json.dumps({"spec": {"nodeName": "node-1", "image": "x" * 70},
                       "status": {"conditions": [{"type": "Ready"}]}})
    first, second = (plain_copy(json.loads(text)) for _ in range(2))
    assert first == second
    assert first["spec"]["nodeName"] is second["spec"]["nodeName"]
    assert first["status"]["conditions"][0]["type"] is second["status"]["conditions"][0]["type"]
    assert next(iter(first["spec"])) is next(iter(second["spec"]))
    assert first["spec"]["image"] is not second["spec"]["image"]  # long: seldom repeated


def test_a_pod_stored_before_a_default_was_added_may_still_change_its_image():
    """A pod stored before dnsPolicy, securityContext, terminationMessage* and
    enableServiceLinks were defaulted: its update (defaulted) changes only the image."""
    stored = {"metadata": {"name": "web"}, "spec": {
        "restartPolicy": "Always", "schedulerName": "default-scheduler",
        "terminationGracePeriodSeconds": 30, "containers": [
            {"name": "app", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent"}]}}
    update = {"metadata": {"name": "web"}, "spec": {
        "containers": [{"name": "app", "image": "nginx:1.26",
                        "imagePullPolicy": "IfNotPresent"}]}}
    default_pod_spec(update["spec"])
    update["spec"]["enableServiceLinks"] = True
    check_pod_update(stored, update)
