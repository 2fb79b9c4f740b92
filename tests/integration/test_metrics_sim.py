"""Resource metrics on simulated nodes (real NATS, real store, no Docker): the apiserver asks
the kubelets for their pods' usage (``sim.kubeactor.io/cpu-usage`` and ``memory-usage``) and
serves it as ``metrics.k8s.io`` PodMetrics and NodeMetrics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bindings.runtimes.sim import CPU_USAGE, MEMORY_USAGE
from bus.errors import MethodNotAllowed, NotFound
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

PODS, NODES = "pods.metrics.k8s.io", "nodes.metrics.k8s.io"


def busy(name: str, cpu: str, memory: str, app: str = "busy") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": app},
                         "annotations": {CPU_USAGE: cpu, MEMORY_USAGE: memory}},
            "spec": {"containers": [{"name": "a", "image": "sim"},
                                    {"name": "b", "image": "sim"}]}}


def running(pod: dict) -> bool:
    return pod.get("status", {}).get("phase") == "Running"


def test_pod_and_node_metrics_are_the_kubelets_figures(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create("pods", busy("hot", "250m", "64Mi"))
    admin.create("pods", busy("cold", "0", "1Mi", app="other"))
    hot = wait_for(admin, "pods", "hot", running)
    wait_for(admin, "pods", "cold", running)
    metrics = admin.get(PODS, "hot")
    assert metrics["kind"] == "PodMetrics"
    assert metrics["metadata"]["labels"] == {"app": "busy"}
    assert metrics["containers"] == [
        {"name": "a", "usage": {"cpu": "250000000n", "memory": "65536Ki"}},
        {"name": "b", "usage": {"cpu": "250000000n", "memory": "65536Ki"}}]
    listed = admin.list(PODS, "default", label_selector="app=busy")
    assert listed["kind"] == "PodMetricsList"
    assert [m["metadata"]["name"] for m in listed["items"]] == ["hot"]
    assert sorted(m["metadata"]["name"] for m in admin.list(PODS)["items"]) == ["cold", "hot"]
    node = admin.get(NODES, hot["spec"]["nodeName"], namespace=None)
    assert node["kind"] == "NodeMetrics"
    assert int(node["usage"]["cpu"].removesuffix("n")) >= 500_000_000
    assert len(admin.list(NODES)["items"]) == 3


def test_metrics_of_a_missing_pod_are_not_found_and_cannot_be_written(sim_cluster):
    admin = sim_cluster.admin_client()
    with pytest.raises(NotFound, match=r'pods\.metrics\.k8s\.io "ghost" not found'):
        admin.get(PODS, "ghost")
    with pytest.raises(MethodNotAllowed):
        admin.request("delete", PODS, namespace="default", name="ghost")


@pytest.fixture
def top_pod(cluster, admin) -> Iterator[str]:
    """A pod on ``kubeactor up --runtime sim`` using 1.5 cores and 100 MiB."""
    admin.create("pods", busy("top", "750m", "50Mi"))
    wait_for(admin, "pods", "top", running)
    yield "top"
    admin.delete("pods", "top", "default")


def test_kubectl_top_pods_and_nodes_show_the_usage(cluster, top_pod):
    pods = cluster.kubectl("top", "pods")
    assert pods.returncode == 0, pods.stderr
    assert pods.stdout.split()[:6] == ["NAME", "CPU(cores)", "MEMORY(bytes)", top_pod,
                                       "1500m", "100Mi"]
    containers = cluster.kubectl("top", "pod", top_pod, "--containers")
    assert containers.returncode == 0, containers.stderr
    assert containers.stdout.splitlines()[1].split() == [top_pod, "a", "750m", "50Mi"]
    listed = cluster.kubectl("get", "podmetrics", top_pod)  # NAME and AGE, not a pod's columns
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[:3] == ["NAME", "AGE", top_pod]
    nodes = cluster.kubectl("top", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    assert nodes.stdout.splitlines()[0].split()[:3] == ["NAME", "CPU(cores)", "CPU(%)"]
    assert "1500m" in nodes.stdout


def test_kubeactor_top_prints_kubectls_columns(cluster, top_pod):
    pods = cluster.cli("top", "pods", "--containers").stdout.splitlines()
    assert pods[0].split() == ["NAME", "CONTAINER", "CPU(cores)", "MEMORY(bytes)"]
    assert [top_pod, "b", "750m", "50Mi"] in [line.split() for line in pods]
    nodes = cluster.cli("top", "nodes").stdout
    assert nodes.splitlines()[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)",
                                             "MEMORY(%)"]
    assert "1500m" in nodes
