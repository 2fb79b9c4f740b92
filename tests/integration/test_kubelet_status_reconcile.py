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
