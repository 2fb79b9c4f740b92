"""The ``patch`` verb on the bus: the stored object (or its subresource's view of it) with a
JSON, merge or strategic merge patch applied, then updated through admission, validation and
the store like an update; a patch that cannot apply, or makes an invalid object, changes
nothing."""

from __future__ import annotations

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
    ({"data": {"mode": "x"}}, "application/apply-patch+yaml", UnsupportedMediaType),
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
