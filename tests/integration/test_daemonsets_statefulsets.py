"""DaemonSets and StatefulSets on a simulated cluster (real NATS, real store, no Docker): a
daemon pod on every eligible node (a tainted one left out, a new one given one, a removed one
losing its own) rolled within ``maxUnavailable``; a StatefulSet's pods made in order, removed
in reverse, rolled from the highest ordinal down to its partition."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator

import pytest

from actors.api.objects import Object
from actors.client.client import Client, WatchEvent
from actors.controllers.daemonset import target_node
from bindings.cluster import Cluster, ClusterConfig
from bindings.runtimes.sim import START_SECONDS
from tests.conftest import edit, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path_factory.mktemp("sets") / "sim",
                                          nodes=4, runtime="sim"))
    yield cluster
    cluster.stop()


def workload(kind: str, name: str, image: str = "busybox:1.35", **spec: object) -> Object:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": labels}, **spec, "template": {
                "metadata": {"labels": labels, "annotations": {START_SECONDS: "0.2"}},
                "spec": {"containers": [{"name": "main", "image": image}]}}}}


class PodLog:
    """The pods of one app as a watch shows them, in order: what each event said."""

    def __init__(self, client: Client, app: str) -> None:
        self.events: queue.Queue[WatchEvent] = queue.Queue()
        self.seen: list[tuple[str, Object]] = []
        self._watch = client.watch("pods", self.events.put, namespace="default",
                                   label_selector=f"app={app}")

    def stop(self) -> list[tuple[str, Object]]:
        self._watch.stop()
        while not self.events.empty():
            event = self.events.get()
            self.seen.append((event.type, event.object))
        return self.seen


def ready(pod: Object) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions") or [])


def status_is(**wanted: object) -> Callable[[Object], bool]:
    return lambda obj: all((obj.get("status") or {}).get(k) == v for k, v in wanted.items())


def test_a_daemonset_runs_on_each_eligible_node_and_rolls_within_max_unavailable(sim):
    admin = sim.admin_client()
    edit(admin, "nodes", "node-3", lambda node: node["spec"].update(
        taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]), None)
    admin.create("daemonsets", workload("DaemonSet", "agent", updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}))
    wait_for(admin, "daemonsets", "agent", status_is(
        desiredNumberScheduled=3, numberAvailable=3, updatedNumberScheduled=3))
    pods = admin.list("pods", "default", label_selector="app=agent")["items"]
    assert sorted(target_node(p) for p in pods) == ["node-1", "node-2", "node-4"]
    assert all(p["spec"]["nodeName"] == target_node(p) for p in pods)  # placed there

    sim.add_sim_nodes("node-5")
    wait_for(admin, "daemonsets", "agent", status_is(desiredNumberScheduled=4,
                                                     numberAvailable=4))
    assert "node-5" in {target_node(p) for p in admin.list(
        "pods", "default", label_selector="app=agent")["items"]}

    log = PodLog(admin, "agent")
    edit(admin, "daemonsets", "agent", lambda ds: ds["spec"]["template"]["spec"][
        "containers"][0].update(image="busybox:1.36"))
    rolled = wait_for(admin, "daemonsets", "agent", lambda ds: status_is(
        updatedNumberScheduled=4, numberAvailable=4, numberReady=4)(ds) and ds["status"][
        "observedGeneration"] == ds["metadata"]["generation"])
    assert rolled["status"]["desiredNumberScheduled"] == 4
    state: dict[str, bool] = {}
    fewest = 4
    for kind, pod in log.stop():
        state[pod["metadata"]["name"]] = kind != "DELETED" and ready(pod)
        fewest = min(fewest, sum(state.values())) if len(state) >= 4 else fewest
    assert fewest >= 3  # maxUnavailable 1: never fewer than 3 of 4 ready
    images = {p["spec"]["containers"][0]["image"] for p in admin.list(
        "pods", "default", label_selector="app=agent")["items"]
        if not p["metadata"].get("deletionTimestamp")}
    assert images == {"busybox:1.36"}

    sim.stop_kubelet("node-5")  # the machine goes, and its Node is deleted
    admin.delete("nodes", "node-5", None)
    wait_for(admin, "daemonsets", "agent", status_is(desiredNumberScheduled=3,
                                                     currentNumberScheduled=3))
    assert all(p["metadata"].get("deletionTimestamp") for p in admin.list(
        "pods", "default", label_selector="app=agent")["items"] if target_node(p) == "node-5")


def first(seen: list[tuple[str, Object]], test: Callable[[str, Object], bool]) -> int:
    """Where in ``seen`` the first event passing ``test`` is."""
    return next(i for i, (kind, pod) in enumerate(seen) if test(kind, pod))


def named(name: str, test: Callable[[str, Object], bool]) -> Callable[[str, Object], bool]:
    return lambda kind, pod: pod["metadata"]["name"] == name and test(kind, pod)


def added(kind: str, pod: Object) -> bool:
    return kind == "ADDED"


def is_ready(kind: str, pod: Object) -> bool:
    return kind != "DELETED" and ready(pod)


def leaving(kind: str, pod: Object) -> bool:
    return kind == "DELETED" or bool(pod["metadata"].get("deletionTimestamp"))


def test_a_statefulset_makes_pods_in_order_removes_them_in_reverse_and_rolls_by_partition(sim):
    admin = sim.admin_client()
    log = PodLog(admin, "web")
    admin.create("statefulsets", workload("StatefulSet", "web", replicas=3,
                                          serviceName="nginx"))
    wait_for(admin, "statefulsets", "web", status_is(readyReplicas=3, availableReplicas=3))
    seen = log.stop()
    for before, after in (("web-0", "web-1"), ("web-1", "web-2")):
        assert first(seen, named(before, is_ready)) < first(seen, named(after, added))
    web1 = admin.get("pods", "web-1")
    assert (web1["spec"]["hostname"], web1["spec"]["subdomain"]) == ("web-1", "nginx")
    assert web1["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert web1["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"

    log = PodLog(admin, "web")
    scale = admin.request("get", "statefulsets", namespace="default", name="web",
                          subresource="scale")
    scale["spec"]["replicas"] = 1
    admin.request("update", "statefulsets", namespace="default", name="web",
                  subresource="scale", body=scale)
    wait_for(admin, "statefulsets", "web", status_is(replicas=1, readyReplicas=1))
    seen = log.stop()
    assert first(seen, named("web-2", leaving)) < first(seen, named("web-1", leaving))
    assert not any(p["metadata"]["name"] == "web-0" and leaving(k, p) for k, p in seen)

    edit(admin, "statefulsets", "web", lambda sts: sts["spec"].update(replicas=3))
    wait_for(admin, "statefulsets", "web", status_is(readyReplicas=3))
    log = PodLog(admin, "web")

    def new_image(partition: int) -> Callable[[Object], None]:
        def change(sts: Object) -> None:
            sts["spec"]["updateStrategy"] = {"type": "RollingUpdate",
                                             "rollingUpdate": {"partition": partition}}
            sts["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.36"
        return change

    edit(admin, "statefulsets", "web", new_image(1))
    partial = wait_for(admin, "statefulsets", "web", status_is(updatedReplicas=2,
                                                               readyReplicas=3))
    assert partial["status"]["currentRevision"] != partial["status"]["updateRevision"]
    images = {name: admin.get("pods", name)["spec"]["containers"][0]["image"]
              for name in ("web-0", "web-1", "web-2")}
    assert images == {"web-0": "busybox:1.35", "web-1": "busybox:1.36", "web-2": "busybox:1.36"}
    edit(admin, "statefulsets", "web", new_image(0))
    done = wait_for(admin, "statefulsets", "web", lambda sts: status_is(
        updatedReplicas=3, readyReplicas=3, currentReplicas=3)(sts) and sts["status"][
        "currentRevision"] == sts["status"]["updateRevision"])
    seen = log.stop()
    assert first(seen, named("web-2", leaving)) < first(seen, named("web-1", leaving)) < \
        first(seen, named("web-0", leaving))
    revisions = admin.list("controllerrevisions", "default", label_selector="app=web")["items"]
    assert {r["metadata"]["name"] for r in revisions} == {done["status"]["currentRevision"],
                                                          partial["status"]["currentRevision"]}
