"""The controller manager on a simulated cluster (real NATS, real store, sim runtime): the
cluster heals to what is declared, rolls Deployments over, evicts the pods of lost nodes, and
deletes dependents and namespaces as Kubernetes does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api.meta import controller_ref
from actors.api.objects import Object
from actors.api.pods import is_pod_active, is_pod_ready
from actors.client.client import Client, WatchEvent
from actors.client.leaderelection import LeaderElectionConfig
from actors.controllers.nodelifecycle import NodeLifecycleConfig
from bindings.cluster import Cluster, ClusterConfig
from bindings.runtimes.sim import PULL_ERROR
from bus.errors import Conflict, Forbidden, NotFound
from tests.conftest import edit, wait_for, wait_none_left
from tests.processes import start_up, stop_up

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster.start(ClusterConfig(
        data_dir=tmp_path / "sim", nodes=3, runtime="sim",
        node_lifecycle=NodeLifecycleConfig(grace_seconds=6, monitor_seconds=1),
        node_lease_duration_seconds=4, namespace_retry_seconds=0.5))
    yield started
    started.stop()


@pytest.fixture
def admin(cluster: Cluster) -> Client:
    return cluster.admin_client()


def workload(kind: str, name: str, replicas: int, image: str = "busybox:1.35",
             **spec: Any) -> Object:
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": image,
                                                           "command": ["sleep", "3600"]}]}},
                     **spec}}


def ready(replicas: int) -> Any:
    return lambda obj: (obj.get("status", {}).get("readyReplicas") == replicas
                        and obj.get("status", {}).get("replicas") == replicas)


def pods_of(admin: Client, app: str, namespace: str = "default") -> list[Object]:
    return [pod for pod in admin.list("pods", namespace, label_selector=f"app={app}")["items"]
            if is_pod_active(pod)]


def wait_gone(admin: Client, resource: str, name: str, namespace: str | None = "default",
              timeout: float = 60) -> None:
    gone = threading.Event()
    watch = admin.watch(resource, lambda e: e.type == "DELETED" and gone.set(),
                        namespace=namespace, field_selector=f"metadata.name={name}")
    try:
        try:
            admin.get(resource, name, namespace)
        except NotFound:
            return
        assert gone.wait(timeout), f"{resource}/{name} is still there"
    finally:
        watch.stop()


def relabel(admin: Client, name: str, labels: dict[str, str]) -> None:
    """Set a pod's labels, reading it again when someone else wrote it meanwhile."""
    for _ in range(10):
        current = admin.get("pods", name)
        current["metadata"]["labels"] = labels
        try:
            admin.update("pods", current)
            return
        except Conflict:
            continue
    raise AssertionError(f"pod {name} kept changing")


class Pods:
    """The pods labelled ``app=APP`` as a watch shows them: listed first, then followed;
    ``seen`` holds what ``measure`` said of the active pods after every event."""

    def __init__(self, admin: Client, app: str, measure: Any, namespace: str = "default",
                 everything: bool = False):
        self.everything = everything
        listing = admin.list("pods", namespace, label_selector=f"app={app}")
        self.pods = {p["metadata"]["name"]: p for p in listing["items"]}
        self.measure, self.seen = measure, [measure(self.active())]
        self.history: list[Object] = list(self.pods.values())
        self.changed = threading.Condition()
        self.watch = admin.watch("pods", self._on_event, namespace=namespace,
                                 label_selector=f"app={app}",
                                 resource_version=listing["metadata"]["resourceVersion"])

    def active(self) -> list[Object]:
        """The pods a controller counts (with ``everything``, terminating ones too)."""
        if self.everything:
            return [p for p in self.pods.values()
                    if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
        return [p for p in self.pods.values() if is_pod_active(p)]

    def _on_event(self, event: WatchEvent) -> None:  # bus loop thread
        with self.changed:
            if event.type == "DELETED":
                self.pods.pop(event.object["metadata"]["name"], None)
            elif event.type in ("ADDED", "MODIFIED"):
                self.pods[event.object["metadata"]["name"]] = event.object
                self.history.append(event.object)
            self.seen.append(self.measure(self.active()))
            self.changed.notify_all()

    def until(self, predicate: Any, timeout: float = 60) -> list[Object]:
        """Wait until ``predicate(active pods)`` holds; return those pods."""
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.active()), timeout), (
                f"never held; pods: {sorted(self.pods)}")
            return self.active()

    def stop(self) -> None:
        self.watch.stop()


def test_a_replicaset_of_five_returns_to_five_after_pods_are_deleted(admin):
    admin.create("replicasets", workload("ReplicaSet", "five", 5))
    wait_for(admin, "replicasets", "five", ready(5))
    pods = pods_of(admin, "five")
    assert len(pods) == 5
    owner = pods[0]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"], owner["blockOwnerDeletion"]) == (
        "ReplicaSet", "five", True, True)
    assert all(p["metadata"]["name"].startswith("five-") for p in pods)
    deleted = {pod["metadata"]["name"] for pod in pods[:2]}
    tracker = Pods(admin, "five", len)
    try:
        for name in deleted:
            admin.delete("pods", name, grace_period=0)
        healed = tracker.until(lambda active: len(active) == 5 and sum(
            map(is_pod_ready, active)) == 5 and deleted.isdisjoint(
                p["metadata"]["name"] for p in active))
    finally:
        tracker.stop()
    assert all(controller_ref(p)["name"] == "five" for p in healed)
    assert max(tracker.seen) <= 5  # never more pods than declared
    status = wait_for(admin, "replicasets", "five", lambda rs: rs["status"].get(
        "availableReplicas") == 5 and rs["status"].get("fullyLabeledReplicas") == 5)["status"]
    assert status["observedGeneration"] == 1


def test_a_replicaset_scales_down_adopts_orphans_and_releases_what_stops_matching(admin):
    admin.create("replicasets", workload("ReplicaSet", "flock", 3))
    wait_for(admin, "replicasets", "flock", ready(3))
    scale = admin.request("get", "replicasets", namespace="default", name="flock",
                          subresource="scale")
    assert scale["spec"]["replicas"] == 3 and scale["status"]["selector"] == "app=flock"
    scale["spec"]["replicas"] = 2
    tracker = Pods(admin, "flock", len)
    try:
        admin.request("update", "replicasets", namespace="default", name="flock",
                      subresource="scale", body=scale)
        tracker.until(lambda active: len(active) == 2)
        stray = {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "stray", "labels": {"app": "flock"}},
                 "spec": {"containers": [{"name": "main", "image": "busybox:1.35"}]}}
        admin.create("pods", stray)  # an orphan it matches: adopted, and one too many

        def settled(active: list[Object]) -> bool:
            return len(active) == 2 and all(is_pod_ready(p) for p in active) and all(
                (controller_ref(p) or {}).get("name") == "flock" for p in active)

        mine = tracker.until(lambda active: settled(active) and any(
            p["metadata"]["name"] == "stray" and controller_ref(p) for p in tracker.history))[0]
        name = mine["metadata"]["name"]
        relabel(admin, name, {"app": "other"})  # no longer matches: released, and replaced
        tracker.until(lambda active: settled(active) and name not in {
            p["metadata"]["name"] for p in active})
    finally:
        tracker.stop()
    wait_for(admin, "pods", name, lambda p: not p["metadata"].get("ownerReferences"))
    assert admin.get("replicasets", "flock")["spec"]["replicas"] == 2


def test_a_deployment_rolls_over_without_going_under_its_minimum(admin):
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    admin.create("deployments", workload("Deployment", "roll", 4, strategy=rolling))
    wait_for(admin, "deployments", "roll", lambda d: d["status"].get("availableReplicas") == 4)
    ready_pods = Pods(admin, "roll", lambda active: sum(map(is_pod_ready, active)))
    try:
        deployment = admin.get("deployments", "roll")
        first_rs = admin.list("replicasets", "default", label_selector="app=roll")["items"]
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.36"
        admin.update("deployments", deployment)

        def rolled(d: Object) -> bool:
            status = d["status"]
            return (status.get("observedGeneration") == 2 and status.get("updatedReplicas") == 4
                    and status.get("replicas") == 4 and status.get("availableReplicas") == 4)

        done = wait_for(admin, "deployments", "roll", rolled)
    finally:
        ready_pods.stop()
    assert len(ready_pods.seen) > 8  # the rollout went by this watch
    assert min(ready_pods.seen) >= 3  # replicas - maxUnavailable, at every step
    assert done["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    progressing = next(c for c in done["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"
    sets = {rs["metadata"]["name"]: rs for rs in admin.list(
        "replicasets", "default", label_selector="app=roll")["items"]}
    old = sets[first_rs[0]["metadata"]["name"]]
    assert old["spec"]["replicas"] == 0
    new = next(rs for name, rs in sets.items() if name != old["metadata"]["name"])
    pod_hash = new["metadata"]["labels"]["pod-template-hash"]
    assert new["metadata"]["name"] == f"roll-{pod_hash}"
    assert new["spec"]["selector"]["matchLabels"] == {"app": "roll", "pod-template-hash": pod_hash}
    assert {p["spec"]["containers"][0]["image"] for p in pods_of(admin, "roll")} == {
        "busybox:1.36"}


def test_a_recreate_deployment_stops_old_pods_before_starting_new_ones(admin):
    admin.create("deployments", workload("Deployment", "again", 2,
                                         strategy={"type": "Recreate"}))
    wait_for(admin, "deployments", "again", lambda d: d["status"].get("availableReplicas") == 2)
    images = Pods(admin, "again", lambda active: {  # terminating pods count here
        p["spec"]["containers"][0]["image"] for p in active}, everything=True)
    try:
        deployment = admin.get("deployments", "again")
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.36"
        admin.update("deployments", deployment)
        wait_for(admin, "deployments", "again", lambda d: d["status"].get(
            "observedGeneration") == 2 and d["status"].get("updatedReplicas") == 2
            and d["status"].get("availableReplicas") == 2 and d["status"].get("replicas") == 2)
    finally:
        images.stop()
    assert {"busybox:1.36"} in images.seen
    assert not any(len(seen) > 1 for seen in images.seen)  # never old and new side by side


def scale(admin: Client, name: str, replicas: int) -> None:
    """As ``kubectl scale``: the scale subresource, without a precondition."""
    body = admin.request("get", "deployments", namespace="default", name=name,
                         subresource="scale")
    body["spec"]["replicas"] = replicas
    body["metadata"].pop("resourceVersion", None)
    admin.request("update", "deployments", namespace="default", name=name,
                  subresource="scale", body=body)


def sizes_by_revision(admin: Client, app: str) -> dict[str, int]:
    return {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]:
            rs["spec"]["replicas"] for rs in admin.list(
                "replicasets", "default", label_selector=f"app={app}")["items"]}


def test_scaling_a_stuck_rollout_spreads_the_new_replicas_in_proportion(admin):
    """Kubernetes' documented example: 10 replicas, maxSurge 3, maxUnavailable 2; a rollout
    to an image that never pulls stops at old 8 + new 5; scaled to 15, the 5 more replicas go
    3 to the old ReplicaSet and 2 to the new one."""
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    admin.create("deployments", workload("Deployment", "spread", 10, strategy=rolling))
    wait_for(admin, "deployments", "spread", lambda d: d["status"].get(
        "availableReplicas") == 10)
    edit(admin, "deployments", "spread", lambda d: d["spec"]["template"]["metadata"].update(
        annotations={PULL_ERROR: "no such image"}))
    wait_for(admin, "deployments", "spread", lambda d: d["status"].get(
        "observedGeneration") == 2 and d["status"].get("updatedReplicas") == 5
        and d["status"].get("replicas") == 13)
    assert sizes_by_revision(admin, "spread") == {"1": 8, "2": 5}

    scale(admin, "spread", 15)
    wait_for(admin, "deployments", "spread", lambda d: d["status"].get(
        "updatedReplicas") == 7 and d["status"].get("replicas") == 18)
    assert sizes_by_revision(admin, "spread") == {"1": 11, "2": 7}
    assert len(pods_of(admin, "spread")) == 18


def test_a_paused_deployment_scales_but_rolls_its_new_template_out_only_once_resumed(admin):
    admin.create("deployments", workload("Deployment", "held", 2))
    wait_for(admin, "deployments", "held", lambda d: d["status"].get("availableReplicas") == 2)
    edit(admin, "deployments", "held", lambda d: d["spec"].update(paused=True))
    edit(admin, "deployments", "held", lambda d: d["spec"]["template"]["spec"]["containers"][
        0].update(image="busybox:1.36"))
    scale(admin, "held", 3)
    paused = wait_for(admin, "deployments", "held", lambda d: d["status"].get(
        "observedGeneration") == d["metadata"]["generation"] and d["status"].get(
        "availableReplicas") == 3)
    progressing = next(c for c in paused["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
    assert "updatedReplicas" not in paused["status"]  # 0: no ReplicaSet for the new template
    assert sizes_by_revision(admin, "held") == {"1": 3}
    assert {p["spec"]["containers"][0]["image"] for p in pods_of(admin, "held")} == {
        "busybox:1.35"}

    edit(admin, "deployments", "held", lambda d: d["spec"].update(paused=False))
    wait_for(admin, "deployments", "held", lambda d: d["status"].get("updatedReplicas") == 3
             and d["status"].get("replicas") == 3 and d["status"].get("availableReplicas") == 3)
    assert sizes_by_revision(admin, "held") == {"1": 0, "2": 3}


def test_a_lost_nodes_pods_are_evicted_and_recreated_elsewhere(cluster, admin):
    rs = workload("ReplicaSet", "sturdy", 6)
    rs["spec"]["template"]["spec"]["tolerations"] = [
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 2}]
    admin.create("replicasets", rs)
    wait_for(admin, "replicasets", "sturdy", ready(6))
    lost = [p for p in pods_of(admin, "sturdy") if p["spec"]["nodeName"] == "node-3"]
    assert lost, "the scheduler spreads pods over every node"
    tracker = Pods(admin, "sturdy", len)
    not_ready: set[str] = set()  # lost pods seen Ready=False before they went
    watch = admin.watch("pods", lambda e: e.type == "MODIFIED" and not is_pod_ready(
        e.object) and not e.object["metadata"].get("deletionTimestamp") and not_ready.add(
        e.object["metadata"]["name"]), namespace="default")
    try:
        cluster.stop_kubelet("node-3")
        wait_for(admin, "nodes", "node-3", lambda n: any(
            t["key"] == "node.kubernetes.io/unreachable" for t in n["spec"].get("taints") or []),
            namespace=None)
        for pod in lost:
            wait_gone(admin, "pods", pod["metadata"]["name"])
        tracker.until(lambda active: len(active) == 6 and all(map(is_pod_ready, active)),
                      timeout=90)
    finally:
        tracker.stop()
        watch.stop()
    assert {p["metadata"]["name"] for p in lost} <= not_ready  # MarkPodsNotReady came first
    assert {p["spec"]["nodeName"] for p in tracker.active()} <= {"node-1", "node-2"}
    events = admin.list("events", "default")["items"]
    assert any(e["reason"] == "TaintManagerEviction" for e in events)
    assert any(e["reason"] == "NodeNotReady" and e["involvedObject"]["name"] == "node-3"
               and e["message"] == "Node node-3 status is now: NodeNotReady" for e in events)
    assert any(e["reason"] == "NodeNotReady" and e["message"] == "Node is not ready"
               and e["involvedObject"]["name"] == lost[0]["metadata"]["name"] for e in events)


def test_pods_get_the_default_not_ready_and_unreachable_tolerations(admin):
    admin.create("replicasets", workload("ReplicaSet", "tolerant", 1))
    wait_for(admin, "replicasets", "tolerant", ready(1))
    tolerations = pods_of(admin, "tolerant")[0]["spec"]["tolerations"]
    assert sorted((t["key"], t["effect"], t["tolerationSeconds"]) for t in tolerations) == [
        ("node.kubernetes.io/not-ready", "NoExecute", 300),
        ("node.kubernetes.io/unreachable", "NoExecute", 300)]


def test_deleting_a_deployment_removes_its_replicasets_and_pods(admin):
    admin.create("deployments", workload("Deployment", "doomed", 3))
    wait_for(admin, "deployments", "doomed", lambda d: d["status"].get("availableReplicas") == 3)
    (rs,) = admin.list("replicasets", "default", label_selector="app=doomed")["items"]
    admin.delete("deployments", "doomed")
    wait_gone(admin, "replicasets", rs["metadata"]["name"])
    wait_none_left(admin, "pods", "app=doomed")


def test_foreground_deletion_removes_the_dependents_before_the_owner(admin):
    admin.create("deployments", workload("Deployment", "front", 2))
    wait_for(admin, "deployments", "front", lambda d: d["status"].get("availableReplicas") == 2)
    (rs,) = admin.list("replicasets", "default", label_selector="app=front")["items"]
    order: list[str] = []
    watches = [admin.watch(resource, lambda e, r=resource: e.type == "DELETED" and order.append(
        r), namespace="default", label_selector="app=front")
        for resource in ("deployments", "replicasets", "pods")]
    try:
        marked = admin.delete("deployments", "front", propagation_policy="Foreground")
        assert marked["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert marked["metadata"]["deletionTimestamp"]
        wait_gone(admin, "deployments", "front")
    finally:
        for watch in watches:
            watch.stop()
    with pytest.raises(NotFound):
        admin.get("replicasets", rs["metadata"]["name"])
    assert pods_of(admin, "front") == []
    assert order[-1] == "deployments" and order.index("replicasets") > order.index("pods")


def test_orphan_deletion_leaves_the_dependents_running_without_an_owner(admin):
    admin.create("replicasets", workload("ReplicaSet", "orphans", 2))
    wait_for(admin, "replicasets", "orphans", ready(2))
    admin.delete("replicasets", "orphans", propagation_policy="Orphan")
    wait_gone(admin, "replicasets", "orphans")
    left = pods_of(admin, "orphans")
    assert len(left) == 2
    for pod in left:
        current = wait_for(admin, "pods", pod["metadata"]["name"],
                           lambda p: not p["metadata"].get("ownerReferences"))
        assert is_pod_active(current)


def test_deleting_a_namespace_removes_its_objects_then_the_namespace(admin):
    admin.create("namespaces", {"metadata": {"name": "scratch"}}, None)
    admin.create("replicasets", workload("ReplicaSet", "inside", 2), "scratch")
    held = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}, "data": {}}
    admin.create("configmaps", held, "scratch")
    wait_for(admin, "replicasets", "inside", ready(2), namespace="scratch")
    marked = admin.delete("namespaces", "scratch", None)
    assert marked["status"]["phase"] == "Terminating"
    assert marked["spec"]["finalizers"] == ["kubernetes"]
    with pytest.raises(Forbidden, match="because it is being terminated"):
        admin.create("configmaps", {"metadata": {"name": "late"}}, "scratch")
    wait_none_left(admin, "pods", "app=inside", "scratch")
    held = wait_for(admin, "configmaps", "held",
                    lambda cm: bool(cm["metadata"].get("deletionTimestamp")), namespace="scratch")
    assert admin.get("namespaces", "scratch", None)["status"]["phase"] == "Terminating"
    held["metadata"]["finalizers"] = []
    admin.update("configmaps", held)  # the last object goes: then the namespace
    wait_gone(admin, "namespaces", "scratch", namespace=None)
    for resource in ("pods", "replicasets", "configmaps"):
        assert admin.list(resource, "scratch")["items"] == []


def test_the_controller_manager_can_be_stopped_and_started_again(cluster, admin):
    manager = cluster.controller_manager
    assert manager is not None and manager.running
    manager.stop()  # as when this replica loses its leader lease
    assert not manager.running
    admin.create("replicasets", workload("ReplicaSet", "gated", 2))
    assert admin.list("pods", "default", label_selector="app=gated")["items"] == []
    manager.start()  # leading again: the controllers catch up from their informers
    wait_for(admin, "replicasets", "gated", ready(2))


# -- replicas of the controller manager -----------------------------------------------------------

ELECTION = LeaderElectionConfig(lease_duration=10, renew_deadline=8, retry_period=1)
"""Leader election periods short enough for a takeover within seconds, long enough that a
leader slowed down by a loaded machine keeps its Lease."""


def test_the_standby_controller_manager_takes_over_when_the_leader_dies(tmp_path, nats_server):
    """Two control planes on one JetStream store: the first (a ``kubeactor server`` process)
    leads ``kube-controller-manager``; the second's controllers do nothing until the first is
    killed (no release: its Lease must expire), then they reconcile."""
    flags = [f"--leader-elect-{flag}={seconds}s" for flag, seconds in (
        ("lease-duration", ELECTION.lease_duration), ("renew-deadline", ELECTION.renew_deadline),
        ("retry-period", ELECTION.retry_period))]
    leader = start_up(tmp_path / "a", "--store", "jetstream", "--nats", nats_server.url, *flags,
                      verb="server")
    standby: Cluster | None = None
    holders: list[str] = []
    try:
        standby = Cluster.start(ClusterConfig(
            data_dir=tmp_path / "b", nodes=0, store="jetstream", nats_url=nats_server.url,
            tokens_file=leader.data_dir / "tokens.csv", leader_election=ELECTION))
        admin = standby.admin_client()
        watch = admin.watch("leases", lambda e: holders.append(
            e.object["spec"].get("holderIdentity", "")), namespace="kube-system",
            field_selector="metadata.name=kube-controller-manager")
        first = admin.get("leases", "kube-controller-manager", "kube-system")["spec"]
        mine = f"{socket.gethostname()}_{(tmp_path / 'b' / 'cluster-id').read_text().strip()}"
        assert first["holderIdentity"] not in ("", mine)
        manager = standby.controller_manager
        assert manager is not None and not manager.running

        admin.create("replicasets", workload("ReplicaSet", "kept", 2))
        wait_for(admin, "replicasets", "kept", lambda rs: rs.get("status", {}).get(
            "replicas") == 2)  # the leader's controllers at work
        assert not manager.running  # the standby's did nothing meanwhile
        assert mine not in holders

        leader.process.kill()  # as a crash: the Lease is not released
        leader.process.wait(timeout=30)
        taken = wait_for(admin, "leases", "kube-controller-manager", lambda lease: lease[
            "spec"].get("holderIdentity") == mine, namespace="kube-system")
        assert taken["spec"]["leaseTransitions"] == first["leaseTransitions"] + 1
        assert "" not in holders  # taken over after expiry, not handed over
        watch.stop()

        kept = admin.get("replicasets", "kept")
        admin.update("replicasets", dict(kept, spec=dict(kept["spec"], replicas=3)))
        wait_for(admin, "replicasets", "kept", lambda rs: rs.get("status", {}).get(
            "replicas") == 3)  # the new leader reconciles
        assert manager.running
        assert len(pods_of(admin, "kept")) == 3
    finally:
        if standby is not None:
            standby.stop()
        if leader.process.poll() is None:
            stop_up(leader)
