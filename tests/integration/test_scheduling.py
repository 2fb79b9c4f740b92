"""The scheduler actor on a real nats-server: binds through pods/binding where Kubernetes
would, explains failures, retries when the cluster changes, runs beside other schedulers, and
fails over between replicas."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pykka
import pytest

from actors.client.client import Client
from actors.client.leaderelection import LeaderElectionConfig
from actors.scheduler import Code, Status, default_profile
from actors.scheduler.scheduler import Scheduler, SchedulerConfig
from bindings.cluster import Cluster
from bus import Connection
from tests.conftest import node, pod, wait_for

pytestmark = pytest.mark.integration


def bound(obj):
    return bool(obj.get("spec", {}).get("nodeName"))


def scheduled_condition(obj):
    """The PodScheduled condition's status, reason and message (None when absent)."""
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond["type"] == "PodScheduled":
            return {key: cond.get(key) for key in ("status", "reason", "message")}
    return None


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
    pending = wait_for(admin, "pods", "hungry", lambda p: scheduled_condition(p) is not None)
    assert not bound(pending)
    assert scheduled_condition(pending) == {
        "status": "False", "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient cpu."}

    admin.create("nodes", node("roomy", cpu="4"), None)
    placed = wait_for(admin, "pods", "hungry", bound)
    assert placed["spec"]["nodeName"] == "roomy"
    assert scheduled_condition(placed) == {"status": "True", "reason": "", "message": ""}


def test_limits_and_init_containers_count_as_kubernetes_counts_them(control_plane: Cluster):
    admin = control_plane.admin_client()
    admin.create("nodes", node("one-cpu", cpu="1"), None)
    limited = pod("only-limits")
    limited["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
    stored = admin.create("pods", limited)
    assert stored["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "2"}, "requests": {"cpu": "2"}}  # as `kubectl get -o yaml` shows
    setup = pod("big-init", cpu="100m")
    setup["spec"]["initContainers"] = [{"name": "setup", "image": "busybox:1.35",
                                        "resources": {"requests": {"cpu": "3"}}}]
    admin.create("pods", setup)
    for name in ("only-limits", "big-init"):
        pending = wait_for(admin, "pods", name, lambda p: scheduled_condition(p) is not None)
        assert scheduled_condition(pending) == {
            "status": "False", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 Insufficient cpu."}
    admin.create("nodes", node("five-cpus", cpu="5"), None)
    placed = {name: wait_for(admin, "pods", name, bound)["spec"]["nodeName"]
              for name in ("only-limits", "big-init")}
    # both fit: 2 + 3 cpus, the init container's 3 being the pod's, not added to its 100m
    assert placed == {"only-limits": "five-cpus", "big-init": "five-cpus"}


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


# -- three different nodes: where Kubernetes would put each pod --------------------------------


def labelled(name: str, cpu: str, memory: str, labels: dict[str, str],
             taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    obj = node(name, cpu=cpu, memory=memory)
    obj["metadata"]["labels"] = labels
    obj["spec"] = {"taints": taints or []}
    return obj


def constrained(name: str, cpu: str, **spec: Any) -> dict[str, Any]:
    obj = pod(name, cpu=cpu)
    obj["spec"].update(spec)
    return obj


def test_pods_land_where_kubernetes_would_put_them_and_a_new_node_frees_the_stuck_one(
        control_plane: Cluster):
    admin = control_plane.admin_client()
    admin.create("nodes", labelled("small", "1", "2Gi", {"disk": "hdd", "zone": "a"}), None)
    admin.create("nodes", labelled("medium", "4", "8Gi", {"disk": "ssd", "zone": "a"}), None)
    admin.create("nodes", labelled("big", "8", "16Gi", {"disk": "ssd", "zone": "b"}, [
        {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]), None)
    batch_toleration = [{"key": "dedicated", "operator": "Equal", "value": "batch",
                         "effect": "NoSchedule"}]
    zone_a = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]},
            {"key": "disk", "operator": "NotIn", "values": ["hdd"]}]}]}}}
    expected = [
        (pod("web", cpu="500m"), "medium"),  # most room among untainted nodes
        (constrained("db", "2", nodeSelector={"disk": "ssd"}), "medium"),  # big is tainted
        (constrained("batch", "6", tolerations=batch_toleration), "big"),  # only room there
        (constrained("zonal", "1", affinity=zone_a), "medium"),  # zone a without hdd
        (pod("tiny", cpu="500m"), "small"),  # medium is now the fuller one
    ]
    for obj, where in expected:
        admin.create("pods", obj)
        name = obj["metadata"]["name"]
        assert wait_for(admin, "pods", name, bound)["spec"]["nodeName"] == where, name

    admin.create("pods", pod("huge", cpu="16"))
    warning = wait_for(admin, "events", None, lambda e: e.get("reason") == "FailedScheduling"
                       and e["involvedObject"]["name"] == "huge")
    assert warning["message"] == ("0/3 nodes are available: 1 node(s) had untolerated taint "
                                  "{dedicated: batch}, 2 Insufficient cpu.")
    assert warning["source"]["component"] == "default-scheduler"
    admin.create("nodes", labelled("giant", "32", "64Gi", {"zone": "c"}), None)
    assert wait_for(admin, "pods", "huge", bound)["spec"]["nodeName"] == "giant"
    scheduled = wait_for(admin, "events", None, lambda e: e.get("reason") == "Scheduled"
                         and e["involvedObject"]["name"] == "huge")
    assert scheduled["message"] == "Successfully assigned default/huge to giant"


def test_a_cordoned_node_taking_pods_again_frees_the_waiting_pod(control_plane: Cluster):
    admin = control_plane.admin_client()
    cordoned = node("cordoned")
    cordoned["spec"] = {"unschedulable": True}
    admin.create("nodes", cordoned, None)
    admin.create("pods", pod("patient"))
    warning = wait_for(admin, "events", None, lambda e: e.get("reason") == "FailedScheduling")
    assert warning["message"] == "0/1 nodes are available: 1 node(s) were unschedulable."
    # as kubectl uncordon: a patch (the node IPAM controller wrote the Node meanwhile)
    admin.patch("nodes", "cordoned", {"spec": {"unschedulable": False}},
                "application/merge-patch+json", None)
    assert wait_for(admin, "pods", "patient", bound)["spec"]["nodeName"] == "cordoned"


# -- several schedulers, and replicas of one ------------------------------------------------------


def start_scheduler(cluster: Cluster, connect: Callable[..., Connection], name: str,
                    config: SchedulerConfig) -> pykka.ActorRef[Any]:
    connection = connect(cluster.bus("system:kube-scheduler"), name)
    client = Client(connection, cluster.token("system:kube-scheduler"))
    ref = Scheduler.start(connection, client, config)
    ref.proxy().leading.get(timeout=30)  # waits for on_start
    return ref


def test_each_pod_goes_through_the_scheduler_it_names(control_plane: Cluster, connect):
    admin = control_plane.admin_client()
    admin.create("nodes", node("n1"), None)
    mine = start_scheduler(control_plane, connect, "my-scheduler",
                           SchedulerConfig(name="my-scheduler"))
    try:
        admin.create("pods", constrained("custom", "100m", schedulerName="my-scheduler"))
        admin.create("pods", constrained("orphan", "100m", schedulerName="nobody-runs-this"))
        admin.create("pods", pod("usual"))
        assert wait_for(admin, "pods", "custom", bound)["spec"]["nodeName"] == "n1"
        wait_for(admin, "pods", "usual", bound)
        event = wait_for(admin, "events", None, lambda e: e.get("reason") == "Scheduled"
                         and e["involvedObject"]["name"] == "custom")
        assert event["source"]["component"] == "my-scheduler"
        assert not bound(admin.get("pods", "orphan"))
    finally:
        mine.stop()


def test_the_standby_replica_takes_over_when_the_leader_dies(control_plane: Cluster, connect):
    admin = control_plane.admin_client()
    admin.create("nodes", node("n1"), None)

    def replica(identity: str) -> pykka.ActorRef[Any]:
        election = LeaderElectionConfig("ha-scheduler", identity, lease_duration=3,
                                        renew_deadline=2, retry_period=0.5,
                                        release_on_stop=False)  # as if it crashed
        return start_scheduler(control_plane, connect, f"ha-{identity}", SchedulerConfig(
            name="ha-scheduler", leader_election=election))

    replicas = {"one": replica("one"), "two": replica("two")}
    try:
        holder = wait_for(admin, "leases", "ha-scheduler", lambda lease: bool(
            lease["spec"].get("holderIdentity")), namespace="kube-system")
        leader = holder["spec"]["holderIdentity"]
        standby = "two" if leader == "one" else "one"
        assert replicas[leader].proxy().leading.get(timeout=10) is True
        assert replicas[standby].proxy().leading.get(timeout=10) is False
        admin.create("pods", constrained("before", "100m", schedulerName="ha-scheduler"))
        wait_for(admin, "pods", "before", bound)

        replicas.pop(leader).stop()
        admin.create("pods", constrained("after", "100m", schedulerName="ha-scheduler"))
        taken = wait_for(admin, "leases", "ha-scheduler", lambda lease: lease["spec"].get(
            "holderIdentity") == standby, namespace="kube-system")
        assert taken["spec"]["leaseTransitions"] == holder["spec"]["leaseTransitions"] + 1
        assert wait_for(admin, "pods", "after", bound)["spec"]["nodeName"] == "n1"
    finally:
        for ref in replicas.values():
            ref.stop()


class Gate:
    """Permit plugin: every pod waits (``timeout`` seconds) until the test allows it; counts
    the Unreserve calls it gets."""

    name = "Gate"

    def __init__(self, timeout: float) -> None:
        self.timeout, self.unreserved = timeout, 0
        self.asked = threading.Event()

    def permit(self, state, pod, node):
        self.asked.set()
        return Status(Code.WAIT), self.timeout

    def reserve(self, state, pod, node):
        return Status()

    def unreserve(self, state, pod, node):
        self.unreserved += 1


def test_a_pod_waiting_at_permit_binds_once_allowed_and_is_rejected_at_its_timeout(
        control_plane: Cluster, connect):
    admin = control_plane.admin_client()
    admin.create("nodes", node("n1"), None)
    patient, hasty = Gate(timeout=300), Gate(timeout=0.5)
    refs = []
    for name, gate in (("patient", patient), ("hasty", hasty)):
        connection = connect(control_plane.bus("system:kube-scheduler"), name)
        client = Client(connection, control_plane.token("system:kube-scheduler"))
        refs.append(Scheduler.start(connection, client, SchedulerConfig(name=name),
                                    default_profile(client, extra=[gate])))
    try:
        admin.create("pods", constrained("held", "100m", schedulerName="patient"))
        assert patient.asked.wait(30)
        # read on the actor thread, so after the cycle that put the pod there
        waiting = refs[0].proxy().framework.get(timeout=10).waiting["default/held"]
        assert not bound(admin.get("pods", "held"))
        waiting.allow("Gate")
        assert wait_for(admin, "pods", "held", bound)["spec"]["nodeName"] == "n1"

        admin.create("pods", constrained("dropped", "100m", schedulerName="hasty"))
        rejected = wait_for(admin, "events", None, lambda e: e.get("reason") == (
            "FailedScheduling") and e["involvedObject"]["name"] == "dropped")
        assert rejected["message"] == "pod default/dropped rejected at Permit: timed out waiting"
        assert hasty.unreserved >= 1 and patient.unreserved == 0
        assert not bound(admin.get("pods", "dropped"))
    finally:
        for ref in refs:
            ref.stop()



class Brittle:
    """Filter plugin that trips on one pod, as a plugin indexing a field no check foresaw."""

    name = "Brittle"

    def filter(self, state, pod, node):
        if pod.pod["metadata"]["name"] == "odd":
            raise AttributeError("'list' object has no attribute 'get'")
        return Status()


def test_a_cycle_that_raises_is_a_failed_scheduling_event_and_the_scheduler_goes_on(
        control_plane: Cluster, connect):
    admin = control_plane.admin_client()
    admin.create("nodes", node("n1"), None)
    connection = connect(control_plane.bus("system:kube-scheduler"), "brittle")
    client = Client(connection, control_plane.token("system:kube-scheduler"))
    ref = Scheduler.start(connection, client, SchedulerConfig(name="brittle"),
                          default_profile(client, extra=[Brittle()]))
    try:
        admin.create("pods", constrained("odd", "100m", schedulerName="brittle"))
        admin.create("pods", constrained("even", "100m", schedulerName="brittle"))
        assert wait_for(admin, "pods", "even", bound)["spec"]["nodeName"] == "n1"
        said = wait_for(admin, "events", None, lambda e: e.get("reason") == "FailedScheduling"
                        and e["involvedObject"]["name"] == "odd")
        assert said["message"] == ("running Filter plugin Brittle on node n1: raised "
                                   "AttributeError: 'list' object has no attribute 'get'")
        odd = wait_for(admin, "pods", "odd", lambda p: scheduled_condition(p) is not None)
        assert scheduled_condition(odd)["reason"] == "SchedulerError" and not bound(odd)
    finally:
        ref.stop()
