"""The local-path provisioner's decisions (actors/storage/localpath.py): which claims get a
volume, what it is, which directories go."""

from __future__ import annotations

from pathlib import Path

from actors.api import storage
from actors.storage.localpath import to_remove, wanted_volume, wants_provisioning

CLASSES = {"local-path": storage.local_path_class(),
           "other": {"metadata": {"name": "other"}, "provisioner": "example.com/disk"}}


def claim(cls: str = "local-path", node: str | None = "node-1", volume: str = "") -> dict:
    annotations = {storage.SELECTED_NODE: node} if node else {}
    return {"metadata": {"name": "data", "namespace": "team", "uid": "abc",
                         "annotations": annotations},
            "spec": {"storageClassName": cls, "volumeName": volume,
                     "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "2Gi"}}}}


def test_only_an_unbound_claim_of_its_class_selected_onto_its_nodes_is_provisioned():
    nodes = {"node-1"}
    assert wants_provisioning(claim(), CLASSES, nodes, set())
    assert not wants_provisioning(claim(node=None), CLASSES, nodes, set())  # no consumer yet
    assert not wants_provisioning(claim(node="node-2"), CLASSES, nodes, set())  # another's
    assert not wants_provisioning(claim(cls="other"), CLASSES, nodes, set())
    assert not wants_provisioning(claim(volume="pv"), CLASSES, nodes, set())
    assert not wants_provisioning(claim(), CLASSES, nodes, {"pvc-abc"})  # made already


def test_the_volume_is_a_directory_of_the_selected_node_pre_bound_to_the_claim():
    made = wanted_volume(claim(), CLASSES["local-path"], Path("/data/kubelet/node-1/storage"))
    spec = made["spec"]
    assert made["metadata"]["name"] == "pvc-abc"
    assert spec["hostPath"]["path"] == "/data/kubelet/node-1/storage/pvc-abc_team_data"
    assert spec["claimRef"]["uid"] == "abc" and spec["claimRef"]["namespace"] == "team"
    assert spec["capacity"] == {"storage": "2Gi"}
    assert spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0][
        "values"] == ["node-1"]
    assert storage.volume_problems(made) == []


def test_only_its_own_released_delete_volumes_on_its_nodes_lose_their_directory():
    made = wanted_volume(claim(), CLASSES["local-path"], Path("/s"))
    released = {**made, "status": {"phase": "Released"}}
    assert to_remove(released, {"node-1"}) == "/s/pvc-abc_team_data"
    assert to_remove(released, {"node-2"}) is None
    assert to_remove({**made, "status": {"phase": "Bound"}}, {"node-1"}) is None
    kept = {**released, "spec": {**made["spec"], "persistentVolumeReclaimPolicy": "Retain"}}
    assert to_remove(kept, {"node-1"}) is None
    static = {**released, "metadata": {"name": "pvc-abc"}}
    assert to_remove(static, {"node-1"}) is None
