"""Server-side apply and managedFields: who owns which field, conflicts, removal, updates."""

from __future__ import annotations

import copy
import json

import pytest

from actors.api import applying, fieldsets
from actors.api.meta import LAST_APPLIED

CONFIG = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
          "spec": {"replicas": 3, "template": {"spec": {"containers": [
              {"name": "web", "image": "nginx:1"}]}}}}
APPLIER = applying.Writer("ops", "apps/v1", "2026-12-06T21:00:00Z")
SCALER = applying.Writer("kubectl-scale", "apps/v1", "2026-12-06T21:01:00Z", "scale")
REPLICAS = ("f:spec", "f:replicas")
IMAGE = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:image")


def _owners(obj):
    return {(m.manager, m.operation): m.fields for m in applying.read(obj)}


def _with(obj, **spec):
    changed = copy.deepcopy(obj)
    changed["spec"].update(spec)
    return changed


def _scaled(obj, replicas):
    scaled = _with(obj, replicas=replicas)
    scaled["metadata"]["managedFields"] = applying.record(obj, scaled, SCALER)
    return scaled


def test_an_apply_owns_exactly_the_fields_of_its_configuration():
    created = applying.apply(None, CONFIG, APPLIER, force=False)
    owned = _owners(created)[("ops", "Apply")]
    assert REPLICAS in owned and IMAGE in owned
    assert ("f:metadata", "f:name") not in owned
    assert created["spec"]["replicas"] == 3


def test_applying_the_same_configuration_again_changes_nothing():
    created = applying.apply(None, CONFIG, APPLIER, force=False)
    later = applying.Writer("ops", "apps/v1", "2026-12-06T22:00:00Z")
    assert applying.apply(created, CONFIG, later, force=False) == created


def test_a_field_another_manager_changed_is_a_conflict_naming_it():
    scaled = _scaled(applying.apply(None, CONFIG, APPLIER, force=False), 5)
    assert _owners(scaled)[("kubectl-scale", "Update")] == {REPLICAS}
    with pytest.raises(applying.ApplyConflict) as conflict:
        applying.apply(scaled, CONFIG, APPLIER, force=False)
    assert conflict.value.code == 409
    assert conflict.value.message == ('Apply failed with 1 conflict: conflict with '
                                      '"kubectl-scale" with subresource "scale" using apps/v1: '
                                      '.spec.replicas')
    assert conflict.value.details["causes"] == [{
        "type": "FieldManagerConflict", "field": ".spec.replicas",
        "message": 'conflict with "kubectl-scale" with subresource "scale" using apps/v1'}]


def test_force_takes_the_field_from_the_other_manager():
    scaled = _scaled(applying.apply(None, CONFIG, APPLIER, force=False), 5)
    forced = applying.apply(scaled, CONFIG, APPLIER, force=True)
    assert forced["spec"]["replicas"] == 3
    assert set(_owners(forced)) == {("ops", "Apply")}


def test_applying_the_value_another_manager_set_shares_the_field():
    scaled = _scaled(applying.apply(None, CONFIG, APPLIER, force=False), 5)
    shared = applying.apply(scaled, _with(CONFIG, replicas=5), APPLIER, force=False)
    owners = _owners(shared)
    assert REPLICAS in owners[("ops", "Apply")]
    assert owners[("kubectl-scale", "Update")] == {REPLICAS}


def test_a_field_no_longer_applied_goes_unless_another_manager_owns_it():
    config = _with(CONFIG, minReadySeconds=5, paused=True)
    live = applying.apply(None, config, APPLIER, force=False)
    live = applying.apply(live, config, applying.Writer("other", "apps/v1", "t"), force=False)
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"paused": True}}
    live = applying.apply(live, other, applying.Writer("other", "apps/v1", "t"), force=False)
    after = applying.apply(live, CONFIG, APPLIER, force=False)
    assert "minReadySeconds" not in after["spec"]
    assert after["spec"]["paused"] is True


def test_a_container_no_longer_applied_is_removed_item_and_all():
    two = copy.deepcopy(CONFIG)
    two["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    live = applying.apply(None, two, APPLIER, force=False)
    after = applying.apply(live, CONFIG, APPLIER, force=False)
    assert after["spec"]["template"]["spec"]["containers"] == [{"name": "web", "image": "nginx:1"}]


def test_an_apply_merges_keyed_lists_and_sets_and_keeps_what_others_set():
    live = applying.apply(None, CONFIG, APPLIER, force=False)
    live["spec"]["template"]["spec"]["containers"].append({"name": "mesh", "image": "envoy"})
    live["metadata"]["finalizers"] = ["keep"]
    config = copy.deepcopy(CONFIG)
    config["metadata"]["finalizers"] = ["mine"]
    merged = applying.apply(live, config, APPLIER, force=False)
    assert [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]] == ["web",
                                                                                    "mesh"]
    assert merged["metadata"]["finalizers"] == ["keep", "mine"]


def test_an_object_without_managers_is_owned_before_the_first_apply():
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1}}
    with pytest.raises(applying.ApplyConflict, match='"before-first-apply" using apps/v1'):
        applying.apply(live, CONFIG, APPLIER, force=False)


def test_an_update_owns_what_it_changed_and_takes_it_from_the_others():
    live = applying.apply(None, CONFIG, APPLIER, force=False)
    edited = _with(live, replicas=4, paused=True)
    editor = applying.Writer("kubectl-edit", "apps/v1", "t")
    edited["metadata"]["managedFields"] = applying.record(live, edited, editor)
    owners = _owners(edited)
    assert owners[("kubectl-edit", "Update")] == {REPLICAS, ("f:spec", "f:paused")}
    assert REPLICAS not in owners[("ops", "Apply")]


def test_an_update_that_changes_nothing_keeps_the_managers_as_they_were():
    live = applying.apply(None, CONFIG, APPLIER, force=False)
    assert applying.record(live, copy.deepcopy(live), SCALER) == \
        live["metadata"]["managedFields"]


def test_managers_sent_with_an_update_replace_the_live_ones_and_a_list_of_one_empty_clears():
    live = applying.apply(None, CONFIG, APPLIER, force=False)
    sent = copy.deepcopy(live)
    sent["metadata"]["managedFields"][0]["manager"] = "renamed"
    assert {m.manager for m in applying.read({"metadata": {"managedFields": applying.record(
        live, sent, SCALER)}})} == {"renamed"}
    assert applying.cleared({"metadata": {"managedFields": [{}]}})
    assert not applying.cleared({"metadata": {"managedFields": []}})


@pytest.mark.parametrize(("body", "words"), [
    ([], "is an object"), ({"kind": "Deployment"}, "apiVersion and kind"),
    ({**CONFIG, "kind": "Pod"}, "not the kind"),
    ({**CONFIG, "metadata": {"name": "other"}}, "does not match"),
    ({**CONFIG, "metadata": {"managedFields": [{"manager": "x"}]}}, "must be nil"),
])
def test_a_configuration_that_is_not_one_is_a_400(body, words):
    with pytest.raises(applying.BadRequest, match=words):
        applying.configuration(body, "Deployment", "web")


def test_the_manager_entry_is_kubernetes_form():
    entry = applying.apply(None, CONFIG, APPLIER, force=False)["metadata"]["managedFields"][0]
    assert {k: v for k, v in entry.items() if k != "fieldsV1"} == {
        "manager": "ops", "operation": "Apply", "apiVersion": "apps/v1",
        "time": "2026-12-06T21:00:00Z", "fieldsType": "FieldsV1"}
    assert entry["fieldsV1"]["f:spec"]["f:replicas"] == {}
    assert fieldsets.decode(entry["fieldsV1"]) == _owners({"metadata": {"managedFields": [
        entry]}})[("ops", "Apply")]


@pytest.mark.parametrize("sent", ["x", [{"manager": "m", "operation": "Update",
                                         "fieldsV1": {"spec": {}}}], [{"manager": 1}]])
def test_managers_sent_that_cannot_be_read_leave_the_live_ones(sent):
    live = applying.apply(None, CONFIG, APPLIER, force=False)
    body = copy.deepcopy(live)
    body["metadata"]["managedFields"] = sent
    assert applying.record(live, body, SCALER) == live["metadata"]["managedFields"]


def _applied_client_side():
    """CONFIG as ``kubectl apply`` (client-side) leaves it: the annotation, an Update."""
    live = copy.deepcopy(CONFIG)
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(CONFIG)}
    csa = applying.Writer("kubectl-client-side-apply", "apps/v1", "t")
    live["metadata"]["managedFields"] = applying.record(None, live, csa)
    return live


def test_kubectl_server_side_takes_what_it_applied_client_side_without_a_conflict():
    changed = _with(CONFIG, replicas=5)
    kubectl = applying.Writer("kubectl", "apps/v1", "t2")
    upgraded = applying.apply(_applied_client_side(), changed, kubectl, force=False)
    assert upgraded["spec"]["replicas"] == 5
    assert REPLICAS in _owners(upgraded)[("kubectl", "Apply")]
    assert json.loads(upgraded["metadata"]["annotations"][LAST_APPLIED])["spec"][
        "replicas"] == 5
    with pytest.raises(applying.ApplyConflict):  # another manager gets no such upgrade
        applying.apply(_applied_client_side(), changed, APPLIER, force=False)


def test_the_upgrade_leaves_conflicts_on_fields_kubectl_never_applied():
    live = _scaled(_applied_client_side(), 4)
    live["metadata"]["annotations"][LAST_APPLIED] = json.dumps(
        {**CONFIG, "spec": {k: v for k, v in CONFIG["spec"].items() if k != "replicas"}})
    with pytest.raises(applying.ApplyConflict, match=r"\.spec\.replicas"):
        applying.apply(live, CONFIG, applying.Writer("kubectl", "apps/v1", "t"), force=False)


def test_a_create_records_what_a_diff_from_nothing_would():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "web", "namespace": "default", "uid": "u", "labels": {"app": "web"},
        "finalizers": ["a", "b"]}, "spec": {"containers": [
            {"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "busybox"}], "tolerations": [{"key": "k"}]},
        "status": {}}
    created = applying.record(None, pod, APPLIER)  # without a diff
    assert created == applying.record({}, pod, APPLIER)  # the diff's answer
    owned = _owners({"metadata": {"managedFields": created}})[("ops", applying.UPDATE)]
    assert ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image") in owned
    assert ("f:metadata", "f:uid") not in owned
