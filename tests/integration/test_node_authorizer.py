"""No over-reaching kubelet, on a real cluster (simulated nodes n1 and n2, one NATS connection
for both, each acting as itself): a node's own kubeconfig (``kubeactor node-kubeconfig``)
reads only what the pods bound to it refer to (the Node authorizer), and a followed log takes
only the chunks of the pod's kubelet (MACed with the reader's per-stream key), not what another
node writes to its subject; nor does an exec stream, whose input no other node can see or
feed."""

from __future__ import annotations

import queue
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api.objects import Object
from actors.client.client import Client, LogStream
from actors.client.streams import ExecMessage, ExecStream
from bindings import kubeconfig
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection
from bus.envelope import Envelope
from bus.errors import BusTimeout, Forbidden, PermissionViolation
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster.start(ClusterConfig(data_dir=tmp_path / "cluster", runtime="sim",
                                          node_names=("n1", "n2")))
    yield started
    started.stop()


@pytest.fixture
def as_node(cluster: Cluster, tmp_path: Path) -> Iterator[Any]:
    """``as_node(name)``: a client and connection of that node's own kubeconfig, written by
    ``kubeactor node-kubeconfig``."""
    opened: list[Connection] = []

    def connect(node: str) -> tuple[Client, Connection]:
        path = tmp_path / f"{node}.kubeconfig"
        subprocess.run([sys.executable, "-m", "bindings.cli", "node-kubeconfig", "--node", node,
                        "--data-dir", str(tmp_path / "cluster"), "--kubeconfig-out", str(path)],
                       check=True, capture_output=True, timeout=120)
        config = kubeconfig.load(path)
        opened.append(Connection(config.bus(), f"kubelet-{node}").connect())
        return Client(opened[-1], config.credentials()), opened[-1]

    yield connect
    for connection in opened:
        connection.close()


def pod_using(name: str, node: str, configmap: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{
                "name": "c", "image": "busybox:1.35", "env": [{"name": "PASSWORD", "valueFrom": {
                    "configMapKeyRef": {"name": configmap, "key": "password"}}}]}]}}


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"password": f"{name}-secret"}}


def reads_only_its_own(cluster: Cluster, as_node: Any, resource: str,
                       make: Callable[[str], Object], pod: Callable[[str, str, str], Object],
                       ) -> tuple[Client, Object]:
    """Pods "one" on n1 and "two" on n2, each referring to its own ``resource`` object (``one-x``
    and ``two-x``, made by ``make``); n1 reads its own (returned) and is refused the other."""
    admin = cluster.admin_client()
    for name, node in (("one", "n1"), ("two", "n2")):
        admin.create(resource, make(f"{name}-x"), "default")
        admin.create("pods", pod(name, node, f"{name}-x"), "default")
    wait_for(admin, "pods", "one", lambda p: p["status"].get("phase") == "Running")
    n1, _ = as_node("n1")
    own = n1.get(resource, "one-x", "default")
    with pytest.raises(Forbidden) as denied:
        n1.get(resource, "two-x", "default")
    assert denied.value.message == (
        f'{resource} "two-x" is forbidden: User "system:node:n1" cannot get resource '
        f'"{resource}" in API group "" in the namespace "default": no relationship found '
        "between node 'n1' and this object")
    return n1, own


def test_a_node_reads_the_configmap_of_its_own_pod_and_nothing_of_another_nodes(
        cluster: Cluster, as_node: Any):
    n1, own = reads_only_its_own(cluster, as_node, "configmaps", configmap, pod_using)
    assert own["data"] == {"password": "one-x-secret"}
    with pytest.raises(Forbidden, match=r'cannot list resource "configmaps" in API group "" '
                                        r"at the cluster scope: can only read namespaced"):
        n1.list("configmaps", None)
    with pytest.raises(Forbidden, match=r"can only list/watch pods with spec\.nodeName"):
        n1.list("pods", None)
    assert [p["metadata"]["name"] for p in n1.list(
        "pods", None, field_selector="spec.nodeName=n1")["items"]] == ["one"]
    with pytest.raises(Forbidden, match="only its own Node object"):
        n1.get("nodes", "n2", None)


def test_a_node_may_read_a_configmap_only_while_a_pod_bound_to_it_needs_it(
        cluster: Cluster, as_node: Any):
    admin = cluster.admin_client()
    admin.create("configmaps", configmap("later-cm"), "default")
    n1, _ = as_node("n1")
    with pytest.raises(Forbidden, match="no relationship found"):
        n1.get("configmaps", "later-cm", "default")
    admin.create("pods", pod_using("later", "n1", "later-cm"), "default")
    assert n1.get("configmaps", "later-cm", "default")["metadata"]["name"] == "later-cm"
    admin.delete("pods", "later", "default", grace_period=0)
    with pytest.raises(Forbidden, match="no relationship found"):
        n1.get("configmaps", "later-cm", "default")


def test_a_node_cannot_gain_a_configmap_by_creating_a_pod_that_uses_it(
        cluster: Cluster, as_node: Any):
    admin = cluster.admin_client()
    admin.create("configmaps", configmap("theirs-cm"), "default")
    n1, _ = as_node("n1")
    mirror = pod_using("bait", "n1", "theirs-cm")
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    for attempt, words in ((pod_using("bait", "n1", "theirs-cm"), "can only create mirror pods"),
                           (mirror, "can not create pods that reference configmaps")):
        with pytest.raises(Forbidden, match=words):
            n1.create("pods", attempt, "default")
    with pytest.raises(Forbidden, match="no relationship found"):
        n1.get("configmaps", "theirs-cm", "default")


def test_a_nodes_own_kubeconfig_cannot_reach_the_simulated_nodes_subjects(
        cluster: Cluster, as_node: Any):
    """The simulated nodes share one connection (NATS user system:node-sim); a real node's
    kubeconfig must not have watch events sent there."""
    n1, _ = as_node("n1")
    with pytest.raises(Forbidden, match='NATS identity "system:node-sim"'):
        n1.request("watch", "pods", options={"watchId": "system:node-sim.stolen",
                                             "fieldSelector": "spec.nodeName=n1"})


def test_auth_can_i_answers_for_a_node_as_the_node_authorizer(cluster: Cluster):
    admin = cluster.admin_client()
    admin.create("configmaps", configmap("one-cm"), "default")
    admin.create("pods", pod_using("one", "n1", "one-cm"), "default")

    def review(name: str) -> dict[str, Any]:
        return admin.create("subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "system:node:n2", "groups": ["system:nodes"],
                     "resourceAttributes": {"verb": "get", "resource": "configmaps",
                                            "namespace": "default", "name": name}}},
            None)["status"]

    assert review("one-cm") == {
        "allowed": False, "reason": "no relationship found between node 'n2' and this object"}


def running_on_n1(cluster: Cluster, pod: str) -> Client:
    """The admin's client, once ``pod`` (one container) runs on n1."""
    admin = cluster.admin_client()
    admin.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
                          "spec": {"nodeName": "n1", "containers": [
                              {"name": "c", "image": "busybox:1.35"}]}}, "default")
    wait_for(admin, "pods", pod, lambda p: p["status"].get("phase") == "Running")
    return admin


def never_answered(node: Connection, subject: str, forged: Envelope) -> None:
    """``forged`` sent on a stream's ``subject`` without a MAC, and with a MAC of another key,
    is never answered."""
    for key in (None, b"k" * 32):
        with pytest.raises(BusTimeout):
            node.request(subject, forged, 1.0, key).result(5)


def test_another_nodes_chunk_in_a_followed_log_is_dropped_unacknowledged(
        cluster: Cluster, as_node: Any):
    admin = running_on_n1(cluster, "talker")
    stream = LogStream(admin, "talker", "default", {})
    try:
        _, n2 = as_node("n2")
        never_answered(n2, stream.subject, Envelope(
            sender="kubelet-n1", verb="logs", body={"seq": 1, "data": "FORGED\n", "end": True}))
        chunk = stream.take(timeout=30)  # the simulated container's log: empty, then the end
        assert chunk is not None and (chunk.data, chunk.end) == ("", True)
        assert stream.take(timeout=0.2) is None
    finally:
        stream.close()


def test_another_node_can_neither_forge_an_exec_streams_output_nor_feed_its_input(
        cluster: Cluster, as_node: Any):
    admin = running_on_n1(cluster, "echo")
    said: queue.Queue[ExecMessage] = queue.Queue()
    stream = ExecStream(admin, "echo", "default", {"command": ["cat"], "stdin": True},
                        said.put)
    try:
        _, n2 = as_node("n2")
        with pytest.raises(PermissionViolation):  # so it never sees where input goes
            n2.subscribe(stream.subject, lambda incoming: None)
        never_answered(n2, stream.subject, Envelope(
            sender="kubelet-n1", verb="exec", body={"seq": 1, "channel": 1, "data": b"FORGED\n"}))
        asking = said.get(timeout=30)
        assert asking.kind == "input"
        stream.answer(asking, {"stdin": b"real\n"})
        echoed = said.get(timeout=30)
        while echoed.kind == "input":  # the next call for input may come first
            stream.answer(echoed, {"close": True})
            echoed = said.get(timeout=30)
        assert (echoed.kind, echoed.data) == ("output", b"real\n")
        stream.answer(echoed)
        while (end := said.get(timeout=30)).kind == "input":
            stream.answer(end, {"close": True})
        assert (end.kind, end.exit_code) == ("end", 0)
        stream.answer(end)
    finally:
        stream.close()


def pod_mounting(name: str, node: str, secret: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "volumes": [{"name": "creds", "secret": {
                "secretName": secret}}], "containers": [{
                    "name": "c", "image": "busybox:1.35",
                    "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"}]}]}}


def test_a_node_reads_the_secret_its_pod_mounts_and_not_another_nodes(
        cluster: Cluster, as_node: Any):
    def secret(name: str) -> Object:
        return {"metadata": {"name": name}, "stringData": {"password": f"{name}-pw"}}

    _, own = reads_only_its_own(cluster, as_node, "secrets", secret, pod_mounting)
    assert own["data"] == {"password": "b25lLXgtcHc="}  # one-x-pw
