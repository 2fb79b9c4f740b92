"""The ``patch`` verb on the bus: the stored object (or its subresource's view of it) with a
JSON, merge or strategic merge patch applied, then updated through admission, validation and
the store like an update; a patch that cannot apply, or makes an invalid object, changes
nothing. Server-side apply (a patch of type ``application/apply-patch+yaml``) and the
``managedFields`` every write records: an apply creates, owns its fields, conflicts with
another manager's change unless forced, removes what it stops applying."""

from __future__ import annotations

import copy

import pytest

from actors.api import patches
from actors.client.client import Client
from bindings.cluster import Cluster
from bus.errors import BadRequest, Conflict, Invalid, UnsupportedMediaType

pytestmark = pytest.mark.integration

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "labels": {"app": "web"}},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                           "containers": [{"name": "web", "image": "nginx:1.14.2"},
                                          {"name": "log", "image": "busybox:1.35"}]}}}}


@pytest.fixture
def with_controllers() -> bool:
    return False  # the API alone: nothing but the test writes


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    admin = control_plane.admin_client()
    admin.create("configmaps", {"metadata": {"name": "settings", "labels": {"team": "a"}},
                                "data": {"mode": "slow", "level": "3"}})
    admin.create("deployments", DEPLOYMENT)
    return admin


def revision(admin: Client) -> int:
    return int(admin.list("namespaces")["metadata"]["resourceVersion"])


def test_a_merge_patch_changes_what_it_names_and_removes_what_it_nulls(admin):
    before = admin.get("configmaps", "settings")
    patched = admin.patch("configmaps", "settings", {
        "metadata": {"labels": {"team": None, "tier": "x"}}, "data": {"mode": "fast"}},
        patches.MERGE_PATCH)
    assert patched["data"] == {"mode": "fast", "level": "3"}
    assert patched["metadata"]["labels"] == {"tier": "x"}
    assert patched["metadata"]["uid"] == before["metadata"]["uid"]
    assert int(patched["metadata"]["resourceVersion"]) > int(
        before["metadata"]["resourceVersion"])
    assert admin.get("configmaps", "settings") == patched


def test_a_strategic_merge_patch_changes_one_container_by_name_and_bumps_generation(admin):
    patched = admin.patch("deployments", "web", {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:1.25"}]}}}},
        patches.STRATEGIC_MERGE_PATCH)
    assert [(c["name"], c["image"]) for c in patched["spec"]["template"]["spec"]["containers"]
            ] == [("web", "nginx:1.25"), ("log", "busybox:1.35")]
    assert patched["metadata"]["generation"] == 2


def test_a_json_patch_applies_its_operations(admin):
    patched = admin.patch("configmaps", "settings", [
        {"op": "test", "path": "/data/mode", "value": "slow"},
        {"op": "remove", "path": "/data/level"}], patches.JSON_PATCH)
    assert patched["data"] == {"mode": "slow"}


def test_patching_scale_changes_the_replicas_and_answers_a_scale(admin):
    scale = admin.patch("deployments", "web", {"spec": {"replicas": 5}}, patches.MERGE_PATCH,
                        subresource="scale")
    assert (scale["kind"], scale["spec"]["replicas"]) == ("Scale", 5)
    assert admin.get("deployments", "web")["spec"]["replicas"] == 5


def test_patching_status_changes_only_the_status(admin):
    patched = admin.patch("deployments", "web", {"spec": {"replicas": 9},
                                                 "status": {"replicas": 2}},
                          patches.MERGE_PATCH, subresource="status")
    assert (patched["status"]["replicas"], patched["spec"]["replicas"]) == (2, 2)


def test_a_resource_version_in_the_patch_is_a_precondition(admin):
    stale = admin.get("configmaps", "settings")["metadata"]["resourceVersion"]
    admin.patch("configmaps", "settings", {"data": {"mode": "fast"}}, patches.MERGE_PATCH)
    before = revision(admin)
    with pytest.raises(Conflict):
        admin.patch("configmaps", "settings", {"metadata": {"resourceVersion": stale},
                                               "data": {"mode": "stale"}}, patches.MERGE_PATCH)
    assert revision(admin) == before
    assert admin.get("configmaps", "settings")["data"]["mode"] == "fast"


def nested(depth: int) -> object:
    """A value ``depth`` lists deep: past the apiserver's bound, short of msgpack's."""
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(("patch", "patch_type", "error"), [
    ([{"op": "add", "path": "/x", "value": nested(600)}], patches.JSON_PATCH, BadRequest),
    ({"data": {"mode": "x"}, "x": {"y": nested(600)}}, patches.STRATEGIC_MERGE_PATCH,
     BadRequest),
    ([{"op": "test", "path": "/data/mode", "value": "fast"},
      {"op": "remove", "path": "/data"}], patches.JSON_PATCH, BadRequest),
    ([{"op": "remove", "path": "/data/missing"}], patches.JSON_PATCH, BadRequest),
    ({"data": {"mode": 7}}, patches.MERGE_PATCH, Invalid),
    ({"metadata": {"name": "other"}}, patches.MERGE_PATCH, BadRequest),
    ([1, 2], patches.MERGE_PATCH, BadRequest),
    ({"data": {"mode": "x"}}, patches.APPLY_PATCH, Invalid),  # no fieldManager
    ({"data": {"mode": "x"}}, "text/plain", UnsupportedMediaType),
])
def test_a_patch_that_cannot_apply_or_makes_an_invalid_object_changes_nothing(
        admin, patch, patch_type, error):
    before = revision(admin)
    with pytest.raises(error):
        admin.patch("configmaps", "settings", patch, patch_type)
    assert revision(admin) == before
    assert admin.get("configmaps", "settings")["data"] == {"mode": "slow", "level": "3"}


def test_a_patch_without_its_type_is_400(admin):
    with pytest.raises(BadRequest) as refused:
        admin.request("patch", "configmaps", namespace="default", name="settings",
                      body={"data": {}})
    assert "options.patchType" in refused.value.message


def test_a_patch_that_changes_nothing_writes_nothing(admin):
    stored = admin.get("configmaps", "settings")
    before = revision(admin)
    same = admin.patch("configmaps", "settings", {"data": {"mode": "slow"}}, patches.MERGE_PATCH)
    assert same == stored
    assert revision(admin) == before


APPLIED = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "applied"},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                       "containers": [{"name": "web", "image": "nginx:1.14.2"}]}}}}


def managers(obj) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e["fieldsV1"]
            for e in obj["metadata"]["managedFields"]}


def test_an_apply_creates_then_an_unchanged_apply_writes_nothing(admin):
    created = admin.apply("deployments", APPLIED, "ops")
    assert created["spec"]["replicas"] == 2
    assert managers(created)[("ops", "Apply")]["f:spec"]["f:replicas"] == {}
    assert created["metadata"]["generation"] == 1
    again = admin.apply("deployments", APPLIED, "ops")
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert admin.get("deployments", "applied") == created


def test_a_scale_then_an_apply_is_a_conflict_unless_forced(admin):
    admin.apply("deployments", APPLIED, "ops")
    scale = admin.get("deployments", "applied")
    admin.patch("deployments", "applied", {"spec": {"replicas": 5}}, patches.MERGE_PATCH,
                subresource="scale")
    scaled = admin.get("deployments", "applied")
    assert [(e["manager"], e.get("subresource")) for e in scaled["metadata"]["managedFields"]
            if e["operation"] == "Update"] == [(admin.connection.name, "scale")]
    before = revision(admin)
    with pytest.raises(Conflict) as conflict:
        admin.apply("deployments", APPLIED, "ops")
    assert conflict.value.message.startswith("Apply failed with 1 conflict: conflict with ")
    assert conflict.value.message.endswith(' with subresource "scale" using apps/v1: '
                                           ".spec.replicas")
    assert conflict.value.details["causes"][0]["type"] == "FieldManagerConflict"
    assert revision(admin) == before
    forced = admin.apply("deployments", APPLIED, "ops", force=True)
    assert forced["spec"]["replicas"] == 2
    assert set(managers(forced)) == {("ops", "Apply")}
    assert scale["metadata"]["uid"] == forced["metadata"]["uid"]


def test_an_apply_removes_what_it_no_longer_applies_and_keeps_what_others_set(admin):
    two = copy.deepcopy(APPLIED)
    two["spec"]["minReadySeconds"] = 3
    two["spec"]["template"]["spec"]["containers"].append({"name": "log",
                                                          "image": "busybox:1.35"})
    admin.apply("deployments", two, "ops")
    admin.patch("deployments", "applied", {"metadata": {"labels": {"team": "a"}}},
                patches.MERGE_PATCH)
    after = admin.apply("deployments", APPLIED, "ops")
    assert after["spec"]["minReadySeconds"] == 0  # removed, then defaulted
    assert [c["name"] for c in after["spec"]["template"]["spec"]["containers"]] == ["web"]
    assert after["metadata"]["labels"] == {"team": "a"}


def test_every_write_records_its_manager_and_an_edit_takes_the_field(admin):
    made = admin.create("configmaps", {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    assert managers(made)[(admin.connection.name, "Update")]["f:data"] == {".": {}, "f:a": {}}
    admin.apply("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "cm"}, "data": {"a": "1", "b": "2"}},
                "ops")
    edited = admin.get("configmaps", "cm")
    edited["data"]["b"] = "3"
    updated = admin.request("update", "configmaps", namespace="default", name="cm",
                            body=edited, options={"fieldManager": "kubectl-edit"})
    owners = managers(updated)
    assert owners[("kubectl-edit", "Update")] == {"f:data": {"f:b": {}}}
    assert owners[("ops", "Apply")] == {"f:data": {"f:a": {}}}  # shared a, lost b


def test_managed_fields_sent_as_one_empty_entry_are_cleared(admin):
    admin.apply("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "cleared"}, "data": {"a": "1"}}, "ops")
    cleared = admin.patch("configmaps", "cleared", {"metadata": {"managedFields": [{}]}},
                          patches.MERGE_PATCH)
    assert "managedFields" not in cleared["metadata"]


@pytest.mark.parametrize(("body", "options", "error"), [
    (APPLIED, {"patchType": patches.APPLY_PATCH}, Invalid),  # no fieldManager
    (APPLIED, {"patchType": patches.MERGE_PATCH, "force": True}, Invalid),
    ({**APPLIED, "kind": "Pod"}, {"patchType": patches.APPLY_PATCH, "fieldManager": "o"},
     BadRequest),
    ({**APPLIED, "spec": {"replicas": "two"}},
     {"patchType": patches.APPLY_PATCH, "fieldManager": "o"}, Invalid),
])
def test_a_bad_apply_is_refused_and_writes_nothing(admin, body, options, error):
    before = revision(admin)
    with pytest.raises(error):
        admin.request("patch", "deployments", namespace="default", name="applied", body=body,
                      options=options)
    assert revision(admin) == before
