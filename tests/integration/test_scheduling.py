"""The scheduler actor on a real nats-server: binds through pods/binding, explains failures,
and retries when the cluster changes."""

from __future__ import annotations

import pytest

from bindings.cluster import Cluster
from tests.conftest import node, pod, wait_for

pytestmark = pytest.mark.integration


def bound(obj):
    return bool(obj.get("spec", {}).get("nodeName"))


def test_pod_lands_on_the_ready_node_with_room(control_plane: Cluster):
    admin = control_plane.admin_client()
    admin.create("nodes", node("small", cpu="500m"), None)
    admin.create("nodes", node("big", cpu="8"), None)
    admin.create("nodes", node("down", cpu="64", ready=False), None)
    admin.create("pods", pod("needs-two", cpu="2"))
    placed = wait_for(admin, "pods", "needs-two", bound)
    assert placed["spec"]["nodeName"] == "big"
    scheduled = next(c for c in placed["status"]["conditions"] if c["type"] == "PodScheduled")
    assert scheduled["status"] == "True"


def test_unschedulable_pod_says_why_and_is_placed_when_a_node_fits(control_plane: Cluster):
    admin = control_plane.admin_client()
    admin.create("nodes", node("tiny", cpu="1"), None)
    admin.create("pods", pod("hungry", cpu="3"))
    warning = wait_for(admin, "events", None, lambda e: e.get("reason") == "FailedScheduling")
    assert warning["message"] == "0/1 nodes are available: 1 Insufficient cpu."
    assert warning["involvedObject"]["name"] == "hungry"
    assert not bound(admin.get("pods", "hungry"))

    admin.create("nodes", node("roomy", cpu="4"), None)
    assert wait_for(admin, "pods", "hungry", bound)["spec"]["nodeName"] == "roomy"


def test_two_pods_never_share_the_last_slot(control_plane: Cluster):
    admin = control_plane.admin_client()
    admin.create("nodes", node("one-slot", cpu="1"), None)
    admin.create("pods", pod("first", cpu="1"))
    admin.create("pods", pod("second", cpu="1"))
    wait_for(admin, "events", None, lambda e: e.get("reason") == "FailedScheduling")
    placed = [p for p in admin.list("pods", "default")["items"] if bound(p)]
    assert len(placed) == 1


def test_waiting_pod_is_placed_when_a_running_pod_finishes(control_plane: Cluster):
    admin = control_plane.admin_client()
    admin.create("nodes", node("one-slot", cpu="1"), None)
    admin.create("pods", pod("first", cpu="1"))
    first = wait_for(admin, "pods", "first", bound)
    admin.create("pods", pod("second", cpu="1"))
    wait_for(admin, "events", None, lambda e: e.get("reason") == "FailedScheduling")
    admin.update("pods", dict(first, status={"phase": "Succeeded"}), subresource="status")
    assert wait_for(admin, "pods", "second", bound)["spec"]["nodeName"] == "one-slot"
