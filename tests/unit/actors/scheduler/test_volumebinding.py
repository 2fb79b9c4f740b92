"""The VolumeBinding plugin's decisions (actors/scheduler/volumebinding.py): which pods wait,
which nodes their claims' volumes allow."""

from __future__ import annotations

from typing import Any

from actors.scheduler.volumebinding import (
    CONFLICT,
    NOT_FOUND,
    VolumeBinding,
    claims_problem,
    node_problem,
)
from bus.errors import Conflict

WAITING = {"metadata": {"name": "local-path"}, "provisioner": "rancher.io/local-path",
           "volumeBindingMode": "WaitForFirstConsumer"}
NO_PROVISIONER = {"metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner",
                  "volumeBindingMode": "WaitForFirstConsumer"}
CLASSES = {"local-path": WAITING, "local": {**NO_PROVISIONER, "provisioner": ""}}


def claim(name: str, cls: str = "local-path", volume: str = "", **metadata: Any) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"u-{name}", **metadata},
            "spec": {"storageClassName": cls, "volumeName": volume,
                     "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}


def volume(name: str, node: str, cls: str = "local") -> dict:
    return {"metadata": {"name": name}, "status": {"phase": "Available"},
            "spec": {"storageClassName": cls, "capacity": {"storage": "5Gi"},
                     "accessModes": ["ReadWriteOnce"], "local": {"path": "/x"},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In",
                          "values": [node]}]}]}}}}


def labels(node: str) -> dict[str, str]:
    return {"kubernetes.io/hostname": node}


def test_a_missing_terminating_or_unbound_immediate_claim_keeps_the_pod_waiting():
    assert claims_problem({"data": None}, CLASSES) == 'persistentvolumeclaim "data" not found'
    assert claims_problem({"data": claim("data", deletionTimestamp="2026-12-07T00:00:00Z")},
                          CLASSES) == 'persistentvolumeclaim "data" is being deleted'
    assert claims_problem({"data": claim("data", cls="manual")}, CLASSES) == \
        "pod has unbound immediate PersistentVolumeClaims"
    assert claims_problem({"data": claim("data"), "old": claim("old", "manual", "pv-1")},
                          CLASSES) is None


def test_a_bound_volume_holds_the_pod_to_the_nodes_it_reaches():
    bound = claim("data", "local", "pv-1")
    volumes = {"pv-1": volume("pv-1", "node-2")}
    assert node_problem([bound], volumes, CLASSES, "node-1", labels("node-1")) == CONFLICT
    assert node_problem([bound], volumes, CLASSES, "node-2", labels("node-2")) is None


def test_a_waiting_claim_needs_a_free_volume_on_the_node_or_a_provisioner():
    volumes = {"pv-1": volume("pv-1", "node-2")}
    static = claim("data", "local")
    assert node_problem([static], volumes, CLASSES, "node-1", labels("node-1")) == NOT_FOUND
    assert node_problem([static], volumes, CLASSES, "node-2", labels("node-2")) is None
    assert node_problem([claim("data")], volumes, CLASSES, "node-1", labels("node-1")) is None


class FakeClaims:
    """The claims' side of a client: one update refused as a Conflict (another writer came
    first), then the stored claim read again."""

    def __init__(self, stored: dict) -> None:
        self.stored, self.conflicts, self.updates = stored, 1, []

    def update(self, resource: str, obj: dict) -> dict:
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict("the object has been modified")
        self.updates.append(obj)
        return obj

    def get(self, resource: str, name: str, namespace: str | None) -> dict:
        return self.stored


def test_pre_bind_writes_the_selected_node_again_over_a_conflicting_writer():
    waiting = claim("data")
    stored = claim("data", finalizers=["kubernetes.io/pvc-protection"])
    client = FakeClaims(stored)
    plugin = VolumeBinding(client)  # type: ignore[arg-type]
    state = {"VolumeBinding": ([waiting], CLASSES)}
    status = plugin.pre_bind(state, None, "node-1")  # type: ignore[arg-type]
    assert status.ok
    [written] = client.updates
    assert written["metadata"]["annotations"] == {
        "volume.kubernetes.io/selected-node": "node-1"}
    assert written["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]  # kept
