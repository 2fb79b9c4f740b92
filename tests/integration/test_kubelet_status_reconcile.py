"""The kubelet puts back a pod's status that another writer changed (actors/kubelet/nodeagent.py,
Kubernetes' status manager's ``needsReconcile``), keeping that writer's own conditions, on a
simulated cluster in this process (real NATS, real store)."""

from __future__ import annotations

import copy
import time

import pytest

from actors.api.meta import condition
from actors.api.objects import Object
from actors.kubelet.config import KubeletConfig
from bindings.cluster import Cluster
from bus.errors import Conflict
from tests.conftest import pod, wait_for

pytestmark = pytest.mark.integration

AUDITED = {"type": "example.com/Audited", "status": "True",
           "lastTransitionTime": "2026-12-07T12:00:00Z"}
"""A condition of another writer's, which the kubelet keeps."""


def ready(obj: Object) -> bool:
    return (condition(obj, "Ready") or {}).get("status") == "True"


def test_a_running_pods_status_overwritten_by_another_writer_is_put_back_in_a_period(
        sim_cluster: Cluster) -> None:
    admin = sim_cluster.admin_client()
    admin.create("pods", pod("steady"))
    running = wait_for(admin, "pods", "steady", ready)
    changed = copy.deepcopy(running)
    changed["status"]["conditions"] = [
        *(c for c in running["status"]["conditions"] if c["type"] != "Ready"), AUDITED]
    overwritten = admin.update("pods", changed, subresource="status")
    assert not ready(overwritten)
    period = KubeletConfig("any").status_sync_seconds
    since = time.monotonic()
    back = wait_for(admin, "pods", "steady", ready, timeout=period)
    assert time.monotonic() - since < period
    assert condition(back, AUDITED["type"]) == AUDITED
    assert back["status"]["phase"] == "Running"
    assert back["status"]["containerStatuses"] == running["status"]["containerStatuses"]


def test_a_status_write_naming_a_deleted_pods_uid_does_not_land_on_one_made_again(
        sim_cluster: Cluster) -> None:
    """The uid an update sends is a precondition, as kube-apiserver takes it: the kubelet's
    status of the pod it ran is refused (409) by the pod made again under that name."""
    admin = sim_cluster.admin_client()
    admin.create("pods", pod("again", restart="Never"))
    old = admin.get("pods", "again")
    admin.delete("pods", "again", grace_period=0)
    admin.create("pods", pod("again", restart="Never"))
    made = admin.get("pods", "again")
    written = {"apiVersion": "v1", "kind": "Pod", "status": {"conditions": [AUDITED]},
               "metadata": {"name": "again", "namespace": "default",
                            "uid": old["metadata"]["uid"]}}
    with pytest.raises(Conflict, match=f"UID in precondition: {old['metadata']['uid']}, "
                                       f"UID in object meta: {made['metadata']['uid']}"):
        admin.update("pods", written, subresource="status")
    assert condition(admin.get("pods", "again"), AUDITED["type"]) is None  # kept, had it landed
    written["metadata"]["uid"] = made["metadata"]["uid"]
    assert condition(admin.update("pods", written, subresource="status"), AUDITED["type"])
