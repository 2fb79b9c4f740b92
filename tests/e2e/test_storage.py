"""Storage on real Docker: a Deployment's claim on the default StorageClass (``local-path``,
WaitForFirstConsumer) binds once its pod is scheduled, to a directory the provisioner made
under the node's data dir; a file written by the pod is read by its replacement; deleting the
claim after the Deployment removes the directory and the volume."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import claimed_set, wait_for, wait_none_left
from tests.e2e.conftest import IMAGE
from tests.support import until

pytestmark = pytest.mark.e2e

CLAIM = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "keep"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
SCRIPT = ("[ -f /data/visits ] && cp /data/visits /data/seen-by-$HOSTNAME; "
          "echo $HOSTNAME >> /data/visits; exec sleep 3600")
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "keeper"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "keeper"}}, "template": {
        "metadata": {"labels": {"app": "keeper"}},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
            "name": "main", "image": IMAGE, "command": ["sh", "-c", SCRIPT],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "keep"}}]}}}}


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_a_claim_on_the_default_class_keeps_a_pods_file_for_its_replacement(admin, cluster):
    assert admin.get("storageclasses", "local-path", None)["volumeBindingMode"] == \
        "WaitForFirstConsumer"
    admin.create("persistentvolumeclaims", CLAIM)
    waiting = wait_for(admin, "persistentvolumeclaims", "keep",
                       lambda c: c["spec"].get("storageClassName") == "local-path")
    assert waiting["status"]["phase"] == "Pending"  # no consumer yet
    admin.create("deployments", DEPLOYMENT)
    bound = wait_for(admin, "persistentvolumeclaims", "keep",
                     lambda c: c["status"].get("phase") == "Bound")
    volume = admin.get("persistentvolumes", bound["spec"]["volumeName"], None)
    directory = Path(volume["spec"]["hostPath"]["path"])
    node = bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"]
    assert directory.is_relative_to(cluster.data_dir / "kubelet" / node / "storage")
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    first = until(lambda: _lines(directory / "visits"), failure="the pod wrote nothing")
    admin.delete("pods", first[0], grace_period=0)
    visits = until(lambda: (lines := _lines(directory / "visits"))[1:] and lines,
                   failure="the replacement wrote nothing")
    assert _lines(directory / f"seen-by-{visits[1]}") == [first[0]]  # it read the first's
    admin.delete("deployments", "keeper")
    wait_none_left(admin, "pods", "app=keeper")
    admin.delete("persistentvolumeclaims", "keep")

    wait_none_left(admin, "persistentvolumes", None, None,
                   field_selector=f"metadata.name={volume['metadata']['name']}")
    assert not directory.exists()


def test_a_statefulsets_claim_outlives_its_pod_on_scale_down_and_serves_it_again(admin):
    script = "echo $HOSTNAME >> /data/visits; exec sleep 3600"
    admin.create("statefulsets", claimed_set("db", {"spec": {
        "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "main", "image": IMAGE, "command": ["sh", "-c", script],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}))
    bound = wait_for(admin, "persistentvolumeclaims", "data-db-0",
                     lambda c: c["status"].get("phase") == "Bound")
    directory = Path(admin.get("persistentvolumes", bound["spec"]["volumeName"], None)[
        "spec"]["hostPath"]["path"])
    until(lambda: _lines(directory / "visits"), failure="db-0 wrote nothing")
    admin.patch("statefulsets", "db", {"spec": {"replicas": 0}}, "application/merge-patch+json")
    wait_none_left(admin, "pods", "app=db")
    assert admin.get("persistentvolumeclaims", "data-db-0")["status"]["phase"] == "Bound"
    admin.patch("statefulsets", "db", {"spec": {"replicas": 1}}, "application/merge-patch+json")
    assert until(lambda: len(_lines(directory / "visits")) == 2,
                 failure="db-0 came back without its data")


def test_a_static_local_volume_is_mounted_from_its_directory(admin, tmp_path):
    node = admin.list("nodes")["items"][0]["metadata"]["name"]
    admin.create("persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "disk-1"},
        "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"],
                 "local": {"path": str(tmp_path)}, "nodeAffinity": {"required": {
                     "nodeSelectorTerms": [{"matchExpressions": [{
                         "key": "kubernetes.io/hostname", "operator": "In",
                         "values": [node]}]}]}}}}, None)
    admin.create("persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "disk"},
        "spec": {"storageClassName": "", "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}})
    assert wait_for(admin, "persistentvolumeclaims", "disk",
                    lambda c: c["status"].get("phase") == "Bound")["spec"]["volumeName"] == \
        "disk-1"
    admin.create("pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "main", "image": IMAGE, "command": ["sh", "-c", "echo hi > /mnt/out"],
            "volumeMounts": [{"name": "disk", "mountPath": "/mnt"}]}],
            "volumes": [{"name": "disk", "persistentVolumeClaim": {"claimName": "disk"}}]}})
    wait_for(admin, "pods", "writer", lambda p: p["status"].get("phase") == "Succeeded")
    assert (tmp_path / "out").read_text() == "hi\n"
