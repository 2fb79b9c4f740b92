"""Server-side apply on the bus (the ``patch`` verb of type ``application/apply-patch+yaml``)
and the ``managedFields`` every write records, against a real apiserver and store: an apply
creates, owns its fields, conflicts with another manager's change unless forced, removes what
it stops applying; creates, updates and patches record their writer."""

from __future__ import annotations

import copy

import pytest

from actors.api import patches
from actors.client.client import Client
from bindings.cluster import Cluster
from bus.errors import BadRequest, Conflict, Invalid

pytestmark = pytest.mark.integration

CONFIG = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                       "containers": [{"name": "web", "image": "nginx:1.14.2"}]}}}}


@pytest.fixture
def with_controllers() -> bool:
    return False  # the API alone: nothing but the test writes


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    return control_plane.admin_client()


def managers(obj) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e["fieldsV1"]
            for e in obj["metadata"]["managedFields"]}


def revision(admin: Client) -> int:
    return int(admin.list("namespaces")["metadata"]["resourceVersion"])


def test_an_apply_creates_then_an_unchanged_apply_writes_nothing(admin):
    created = admin.apply("deployments", CONFIG, "ops")
    assert created["spec"]["replicas"] == 2
    assert managers(created)[("ops", "Apply")]["f:spec"]["f:replicas"] == {}
    assert created["metadata"]["generation"] == 1
    again = admin.apply("deployments", CONFIG, "ops")
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert admin.get("deployments", "web") == created


def test_a_scale_then_an_apply_is_a_conflict_unless_forced(admin):
    admin.apply("deployments", CONFIG, "ops")
    scale = admin.get("deployments", "web")
    admin.patch("deployments", "web", {"spec": {"replicas": 5}}, patches.MERGE_PATCH,
                subresource="scale")
    scaled = admin.get("deployments", "web")
    assert [(e["manager"], e.get("subresource")) for e in scaled["metadata"]["managedFields"]
            if e["operation"] == "Update"] == [(admin.connection.name, "scale")]
    before = revision(admin)
    with pytest.raises(Conflict) as conflict:
        admin.apply("deployments", CONFIG, "ops")
    assert conflict.value.message.startswith("Apply failed with 1 conflict: conflict with ")
    assert conflict.value.message.endswith(' with subresource "scale" using apps/v1: '
                                           ".spec.replicas")
    assert conflict.value.details["causes"][0]["type"] == "FieldManagerConflict"
    assert revision(admin) == before
    forced = admin.apply("deployments", CONFIG, "ops", force=True)
    assert forced["spec"]["replicas"] == 2
    assert set(managers(forced)) == {("ops", "Apply")}
    assert scale["metadata"]["uid"] == forced["metadata"]["uid"]


def test_an_apply_removes_what_it_no_longer_applies_and_keeps_what_others_set(admin):
    two = copy.deepcopy(CONFIG)
    two["spec"]["minReadySeconds"] = 3
    two["spec"]["template"]["spec"]["containers"].append({"name": "log",
                                                          "image": "busybox:1.35"})
    admin.apply("deployments", two, "ops")
    admin.patch("deployments", "web", {"metadata": {"labels": {"team": "a"}}},
                patches.MERGE_PATCH)
    after = admin.apply("deployments", CONFIG, "ops")
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
    (CONFIG, {"patchType": patches.APPLY_PATCH}, Invalid),  # no fieldManager
    (CONFIG, {"patchType": patches.MERGE_PATCH, "force": True}, Invalid),
    ({**CONFIG, "kind": "Pod"}, {"patchType": patches.APPLY_PATCH, "fieldManager": "o"},
     BadRequest),
    ({**CONFIG, "spec": {"replicas": "two"}},
     {"patchType": patches.APPLY_PATCH, "fieldManager": "o"}, Invalid),
])
def test_a_bad_apply_is_refused_and_writes_nothing(admin, body, options, error):
    before = revision(admin)
    with pytest.raises(error):
        admin.request("patch", "deployments", namespace="default", name="web", body=body,
                      options=options)
    assert revision(admin) == before
