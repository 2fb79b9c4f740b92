"""HorizontalPodAutoscalers through the HTTPS API on simulated nodes: ``kubectl autoscale``
makes one that scales its Deployment, and it reads at ``autoscaling/v1`` (converted from the
stored v2, as kube-apiserver) as well as v2; the official client's ``AutoscalingV1Api``
creates, reads and patches a v1 one whose target is a ReplicationController, which it scales."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from actors.controllers.podautoscaler import AutoscalerConfig
from bindings.cluster import Cluster, ClusterConfig
from bindings.runtimes.sim import CPU_USAGE
from tests.conftest import wait_for
from tests.processes import KUBECTL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> Iterator[Cluster]:
    """One simulated node, its HTTPS API; each HPA looked at every half second."""
    cluster = Cluster.start(ClusterConfig(
        data_dir=tmp_path_factory.mktemp("autoscale"), nodes=1, runtime="sim",
        autoscaler=AutoscalerConfig(sync_seconds=0.5, downscale_stabilization_seconds=2)))
    yield cluster
    cluster.stop()


def kubectl(cluster: Cluster, *args: str) -> str:
    done = subprocess.run([KUBECTL, "--kubeconfig", str(cluster.kubeconfig_path), *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _template(name: str, usage: str) -> dict:
    """Pods of ``name`` that use ``usage`` of CPU against a request of 100m."""
    return {"metadata": {"labels": {"app": name}, "annotations": {CPU_USAGE: usage}},
            "spec": {"containers": [{"name": "c", "image": "sim", "resources": {
                "requests": {"cpu": "100m"}}}]}}


def test_kubectl_autoscale_then_the_hpa_at_v1_and_v2(quick):
    admin = quick.admin_client()
    admin.create("deployments", {"metadata": {"name": "web"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
        "template": _template("web", "200m")}})  # 200% of the request
    assert kubectl(quick, "autoscale", "deployment", "web", "--min", "2", "--max", "5",
                   "--cpu-percent", "80") == "horizontalpodautoscaler.autoscaling/web autoscaled\n"
    wait_for(admin, "deployments", "web", lambda d: d["spec"]["replicas"] == 3)  # 200/80 of 1
    v1 = json.loads(kubectl(quick, "get", "horizontalpodautoscalers.v1.autoscaling", "web",
                            "-o", "json"))
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"] == {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "web"},
                          "minReplicas": 2, "maxReplicas": 5,
                          "targetCPUUtilizationPercentage": 80}
    v2 = json.loads(kubectl(quick, "get", "horizontalpodautoscalers.v2.autoscaling", "web",
                            "-o", "json"))
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    assert "autoscaling.alpha.kubernetes.io/conditions" not in v2["metadata"]["annotations"]
    tables = [kubectl(quick, "get", f"horizontalpodautoscalers.{version}.autoscaling", "web")
              for version in ("v1", "v2")]  # the columns read the stored form
    assert tables[0].splitlines()[1].split()[:3] == tables[1].splitlines()[1].split()[:3] == [
        "web", "Deployment/web", "cpu:"]
    versions = kubectl(quick, "api-versions").split()
    assert {"autoscaling/v1", "autoscaling/v2"} <= set(versions)


def test_the_official_clients_v1_hpa_scales_a_replication_controller(quick):
    admin = quick.admin_client()
    admin.create("replicationcontrollers", {"metadata": {"name": "old"}, "spec": {
        "replicas": 1, "selector": {"app": "old"}, "template": _template("old", "200m")}})
    with k8s_config.new_client_from_config(str(quick.kubeconfig_path)) as api_client:
        v1 = k8s.AutoscalingV1Api(api_client)
        created = v1.create_namespaced_horizontal_pod_autoscaler("default", {
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "old"}, "spec": {
                "scaleTargetRef": {"apiVersion": "v1", "kind": "ReplicationController",
                                   "name": "old"},
                "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 50}})
        assert created.spec.target_cpu_utilization_percentage == 50
        wait_for(admin, "replicationcontrollers", "old",
                 lambda rc: rc.get("status", {}).get("readyReplicas") == 4)
        wait_for(admin, "hpa", "old", lambda h: h.get("status", {}).get("currentReplicas") == 4
                 and bool(h["status"].get("currentMetrics")))  # the new pods' figures too
        read = v1.read_namespaced_horizontal_pod_autoscaler("old", "default")
        assert (read.status.current_replicas, read.status.current_cpu_utilization_percentage) \
            == (4, 200)
        patched = v1.patch_namespaced_horizontal_pod_autoscaler(
            "old", "default", {"spec": {"targetCPUUtilizationPercentage": 100}})
        assert patched.spec.target_cpu_utilization_percentage == 100
    stored = admin.get("horizontalpodautoscalers", "old")
    assert stored["apiVersion"] == "autoscaling/v2"
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 100
    assert not any(key.startswith("autoscaling.alpha") for key in
                   stored["metadata"].get("annotations") or {})
