"""The HorizontalPodAutoscaler on simulated nodes (real NATS, real store, no Docker): a
Deployment whose pods use more CPU than the target scales up, and back down once their usage
drops and the (shortened) stabilization window has passed; kubectl prints its columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.api.meta import condition
from actors.controllers.podautoscaler import AutoscalerConfig
from bindings.cluster import Cluster, ClusterConfig
from bindings.runtimes.sim import CPU_USAGE
from bus.errors import Invalid
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def quick_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Two simulated nodes; each HPA looked at every half second, a 2 s scale-down window."""
    cluster = Cluster.start(ClusterConfig(
        data_dir=tmp_path / "sim", nodes=2, runtime="sim",
        autoscaler=AutoscalerConfig(sync_seconds=0.5, downscale_stabilization_seconds=2)))
    yield cluster
    cluster.stop()


def deployment(name: str, usage: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels, "annotations": {CPU_USAGE: usage}},
                "spec": {"containers": [{"name": "c", "image": "sim", "resources": {
                    "requests": {"cpu": "100m"}}}]}}}}


def autoscaler(name: str, target: str = "web", kind: str = "Deployment") -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
                     "minReplicas": 1, "maxReplicas": 4, "metrics": [
                         {"type": "Resource", "resource": {"name": "cpu", "target": {
                             "type": "Utilization", "averageUtilization": 50}}}]}}


def replicas(n: int):
    return lambda d: d.get("status", {}).get("readyReplicas") == n and d["spec"]["replicas"] == n


def test_a_busy_deployment_scales_up_then_down_when_its_usage_drops(quick_cluster):
    admin = quick_cluster.admin_client()
    admin.create("deployments", deployment("web", "200m"))  # 200% of its request
    wait_for(admin, "deployments", "web", replicas(1), timeout=30)
    admin.create("horizontalpodautoscalers", autoscaler("web"))
    wait_for(admin, "deployments", "web", replicas(4), timeout=30)
    hpa = wait_for(admin, "hpa", "web",
                   lambda h: h.get("status", {}).get("currentReplicas") == 4, timeout=30)
    assert hpa["status"]["desiredReplicas"] == 4
    assert hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] \
        == 200
    assert condition(hpa, "ScalingLimited")["reason"] == "TooManyReplicas"
    assert condition(hpa, "ScalingActive")["status"] == "True"
    up = wait_for(admin, "events", None, lambda e: e["reason"] == "SuccessfulRescale")
    assert up["message"] == ("New size: 4; reason: cpu resource utilization (percentage of "
                             "request) above target")
    for pod in admin.list("pods", "default", label_selector="app=web")["items"]:
        admin.patch("pods", pod["metadata"]["name"],
                    {"metadata": {"annotations": {CPU_USAGE: "10m"}}},
                    "application/merge-patch+json")
    wait_for(admin, "deployments", "web", replicas(1), timeout=60)
    down = wait_for(admin, "events", None, lambda e: e["reason"] == "SuccessfulRescale"
                    and e["message"].startswith("New size: 1"))
    assert down["message"] == "New size: 1; reason: All metrics below target"


def test_an_hpa_on_a_missing_target_says_so_and_a_bad_one_is_refused(quick_cluster):
    admin = quick_cluster.admin_client()
    admin.create("horizontalpodautoscalers", autoscaler("lost", target="nothing"))
    hpa = wait_for(admin, "hpa", "lost", lambda h: condition(h, "AbleToScale") is not None)
    able = condition(hpa, "AbleToScale")
    assert (able["status"], able["reason"]) == ("False", "FailedGetScale")
    bad = autoscaler("bad")
    bad["spec"]["maxReplicas"] = 0
    with pytest.raises(Invalid, match=r"spec\.maxReplicas"):
        admin.create("horizontalpodautoscalers", bad)


def test_kubectl_prints_the_hpa_columns(cluster, admin):
    admin.create("horizontalpodautoscalers", autoscaler("shown", target="absent"))
    shown = cluster.kubectl("get", "hpa", "shown")
    assert shown.returncode == 0, shown.stderr
    head, row = shown.stdout.splitlines()
    assert head.split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS",
                            "AGE"]
    assert row.split()[:7] == ["shown", "Deployment/absent", "cpu:", "<unknown>/50%", "1", "4",
                               "0"]
