"""Priority and preemption on a real nats-server with simulated nodes (Node objects, no
kubelet: the test deletes a terminating victim as its kubelet would): a pod of higher priority
evicts a lower one from a full node and is bound there before any lower pod takes the room; a
pod nominated there after a lower nominated one clears the lower one's ``nominatedNodeName``; a
pod whose policy is Never, or of equal priority, evicts nobody."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.objects import Object
from actors.scheduler.scheduler import SchedulerConfig
from bindings.cluster import Cluster
from tests.conftest import node, pod, wait_for
from tests.integration.test_scheduling import bound, start_scheduler

pytestmark = pytest.mark.integration


def priority_class(name: str, value: int, **fields: Any) -> Object:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, **fields}


def classed(name: str, priority_class_name: str | None, **spec: Any) -> Object:
    obj = pod(name, cpu="1")
    if priority_class_name:
        obj["spec"]["priorityClassName"] = priority_class_name
    obj["spec"].update(spec)
    return obj


def failed_scheduling(admin: Any, name: str) -> Object:
    return wait_for(admin, "events", None, lambda e: e.get("reason") == "FailedScheduling"
                    and e["involvedObject"]["name"] == name)


def test_a_higher_priority_pod_preempts_a_lower_one_and_is_bound_in_its_place(
        control_plane: Cluster):
    admin = control_plane.admin_client()
    assert {"system-cluster-critical", "system-node-critical"} <= {
        pc["metadata"]["name"] for pc in admin.list("priorityclasses")["items"]}
    admin.create("priorityclasses", priority_class("low", 10), None)
    admin.create("priorityclasses", priority_class("high", 1000), None)
    admin.create("nodes", node("full", cpu="1"), None)
    admin.create("pods", classed("victim", "low"))
    wait_for(admin, "pods", "victim", bound)
    admin.create("pods", classed("waiting", None))  # priority 0: it must not take the room
    failed_scheduling(admin, "waiting")

    preemptor = admin.create("pods", classed("preemptor", "high"))
    assert preemptor["spec"]["priority"] == 1000
    nominated = wait_for(admin, "pods", "preemptor",
                         lambda p: p.get("status", {}).get("nominatedNodeName") == "full")
    assert not bound(nominated)
    leaving = wait_for(admin, "pods", "victim", lambda p: bool(
        p["metadata"].get("deletionTimestamp")))
    target = next(c for c in leaving["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["status"], target["reason"]) == ("True", "PreemptionByScheduler")
    admin.delete("pods", "victim", grace_period=0)  # its kubelet confirms

    assert wait_for(admin, "pods", "preemptor", bound)["spec"]["nodeName"] == "full"
    preempted = wait_for(admin, "events", None, lambda e: e.get("reason") == "Preempted")
    assert preempted["involvedObject"]["name"] == "victim"
    assert preempted["message"] == (f"Preempted by pod {preemptor['metadata']['uid']} on node "
                                    "full")
    assert not bound(admin.get("pods", "waiting"))


def test_a_higher_nomination_to_the_same_node_clears_the_lower_ones_nominated_node_name(
        control_plane: Cluster):
    admin = control_plane.admin_client()
    for name, value in (("low", 10), ("mid", 500), ("high", 1000)):
        admin.create("priorityclasses", priority_class(name, value), None)
    admin.create("nodes", node("full", cpu="1"), None)
    admin.create("pods", classed("victim", "low"))
    wait_for(admin, "pods", "victim", bound)
    admin.create("pods", classed("mid", "mid"))
    wait_for(admin, "pods", "mid",
             lambda p: p.get("status", {}).get("nominatedNodeName") == "full")
    wait_for(admin, "pods", "victim", lambda p: bool(p["metadata"].get("deletionTimestamp")))

    admin.create("pods", classed("high", "high"))  # the victim still holds the room
    wait_for(admin, "pods", "high",
             lambda p: p.get("status", {}).get("nominatedNodeName") == "full")
    wait_for(admin, "pods", "mid", lambda p: p["status"].get("nominatedNodeName") == "")
    admin.delete("pods", "victim", grace_period=0)  # its kubelet confirms
    assert wait_for(admin, "pods", "high", bound)["spec"]["nodeName"] == "full"
    assert not bound(admin.get("pods", "mid"))


def test_policy_never_and_equal_priority_preempt_nobody(control_plane: Cluster, connect):
    admin = control_plane.admin_client()
    admin.create("priorityclasses", priority_class("low", 10), None)
    admin.create("priorityclasses", priority_class("polite", 1000, preemptionPolicy="Never"),
                 None)
    admin.create("nodes", node("full", cpu="1"), None)
    ref = start_scheduler(control_plane, connect, "preempting",
                          SchedulerConfig(name="preempting"))
    try:
        admin.create("pods", classed("victim", "low", schedulerName="preempting"))
        wait_for(admin, "pods", "victim", bound)
        admin.create("pods", classed("polite", "polite", schedulerName="preempting"))
        assert failed_scheduling(admin, "polite")["message"] == (
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
            "preemptionPolicy=Never.")
        admin.create("pods", classed("peer", "low", schedulerName="preempting"))
        assert failed_scheduling(admin, "peer")["message"] == (
            "0/1 nodes are available: 1 Insufficient cpu.")
        # read on the actor thread, so after both cycles decided
        assert not ref.proxy().cache.get(timeout=10).has_nominations()
        victim = admin.get("pods", "victim")
        assert not victim["metadata"].get("deletionTimestamp")
        assert all(c["type"] != "DisruptionTarget" for c in victim["status"].get(
            "conditions") or [])
        assert not any(e.get("reason") == "Preempted"
                       for e in admin.list("events", "default")["items"])
    finally:
        ref.stop()
