"""PersistentVolumes and claims on a simulated cluster (``kubeactor up --runtime sim``): the
binder, the phases, reclaim, in-use protection and quotas."""

from __future__ import annotations

from typing import Any

import pytest

from bus.errors import Forbidden
from tests.conftest import claimed_set, pod, wait_for, wait_none_left


def _volume(name: str, size: str = "10Gi", policy: str = "Retain") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"storageClassName": "manual", "capacity": {"storage": size},
                     "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": policy,
                     "hostPath": {"path": f"/tmp/kubeactor-test-{name}"}}}


def _claim(name: str, size: str = "3Gi") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"storageClassName": "manual", "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": size}}}}


def _phase(phase: str):
    return lambda obj: obj.get("status", {}).get("phase") == phase


def test_a_claim_binds_the_smallest_fitting_volume_and_releases_it_when_deleted(admin):
    admin.create("persistentvolumes", _volume("big", "20Gi"), None)
    admin.create("persistentvolumes", _volume("small", "5Gi"), None)
    admin.create("persistentvolumeclaims", _claim("data"))
    bound = wait_for(admin, "persistentvolumeclaims", "data", _phase("Bound"))
    assert bound["spec"]["volumeName"] == "small"
    assert bound["status"]["capacity"] == {"storage": "5Gi"}
    assert bound["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    volume = wait_for(admin, "persistentvolumes", "small", _phase("Bound"), None)
    assert volume["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"]
    assert wait_for(admin, "persistentvolumes", "big", _phase("Available"), None)
    admin.delete("persistentvolumeclaims", "data")
    released = wait_for(admin, "persistentvolumes", "small", _phase("Released"), None)
    assert released["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


def test_a_static_volume_with_delete_reclaim_fails_with_no_deleter(admin):
    admin.create("persistentvolumes", _volume("gone", policy="Delete"), None)
    admin.create("persistentvolumeclaims", _claim("short"))
    wait_for(admin, "persistentvolumeclaims", "short", _phase("Bound"))
    admin.delete("persistentvolumeclaims", "short")
    failed = wait_for(admin, "persistentvolumes", "gone", _phase("Failed"), None)
    assert "no deletable volume plugin matched" in failed["status"]["message"]


def test_a_claim_in_use_stays_until_its_pod_is_gone(admin):
    admin.create("persistentvolumes", _volume("held"), None)
    admin.create("persistentvolumeclaims", _claim("held"))
    wait_for(admin, "persistentvolumeclaims", "held", _phase("Bound"))
    user = pod("user")
    user["spec"]["volumes"] = [{"name": "v", "persistentVolumeClaim": {"claimName": "held"}}]
    admin.create("pods", user)
    wait_for(admin, "pods", "user", lambda p: bool(p["spec"].get("nodeName")))
    admin.delete("persistentvolumeclaims", "held")
    terminating = admin.get("persistentvolumeclaims", "held")
    assert terminating["metadata"]["deletionTimestamp"]
    assert terminating["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    admin.delete("pods", "user", grace_period=0)

    wait_none_left(admin, "persistentvolumeclaims", None,
                   field_selector="metadata.name=held")


def test_a_quota_counts_claims_and_the_storage_they_request(admin):
    admin.create("namespaces", {"metadata": {"name": "quoted"}}, None)
    admin.create("resourcequotas", {"metadata": {"name": "disk"}, "spec": {"hard": {
        "persistentvolumeclaims": "2", "requests.storage": "5Gi"}}}, "quoted")
    admin.create("persistentvolumeclaims", _claim("first", "4Gi"), "quoted")
    with pytest.raises(Forbidden, match=r"exceeded quota: disk, requested: requests.storage=2Gi, "
                                        r"used: requests.storage=4Gi, limited: "
                                        r"requests.storage=5Gi"):
        admin.create("persistentvolumeclaims", _claim("second", "2Gi"), "quoted")
    admin.create("persistentvolumeclaims", _claim("second", "1Gi"), "quoted")
    with pytest.raises(Forbidden, match="persistentvolumeclaims=1"):
        admin.create("persistentvolumeclaims", _claim("third", "1Mi"), "quoted")


def test_a_statefulsets_pods_get_their_own_provisioned_claims_on_simulated_nodes(admin):
    admin.create("statefulsets", claimed_set("db", {"spec": {"containers": [
        {"name": "db", "image": "busybox:1.35"}]}}, replicas=2))
    wait_for(admin, "statefulsets", "db", lambda s: s.get("status", {}).get("readyReplicas") == 2)
    for ordinal in (0, 1):
        claim = admin.get("persistentvolumeclaims", f"data-db-{ordinal}")
        assert claim["status"]["phase"] == "Bound"
        node = admin.get("pods", f"db-{ordinal}")["spec"]["nodeName"]
        assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
        volume = admin.get("persistentvolumes", claim["spec"]["volumeName"], None)
        assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
            "matchExpressions"][0]["values"] == [node]
        assert f"/kubelet/{node}/storage/" in volume["spec"]["hostPath"]["path"]


def test_a_claim_nothing_can_bind_says_why_in_events(admin):
    lonely = _claim("lonely")
    lonely["spec"]["storageClassName"] = ""
    admin.create("persistentvolumeclaims", lonely)
    admin.create("persistentvolumeclaims", _claim("classless"))  # "manual" is no StorageClass

    def said(name: str, reason: str):
        return lambda e: (e["involvedObject"]["name"], e["reason"]) == (name, reason)

    assert wait_for(admin, "events", None, said("lonely", "FailedBinding"))["message"] == \
        "no persistent volumes available for this claim and no storage class is set"
    assert wait_for(admin, "events", None, said("classless", "ProvisioningFailed"))[
        "message"] == 'storageclass.storage.k8s.io "manual" not found'
    assert admin.get("persistentvolumeclaims", "lonely")["status"]["phase"] == "Pending"
