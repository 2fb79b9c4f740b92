"""Autoscaling on a real Docker engine: pods burning CPU (busybox's ``while :; do :; done``)
show in ``kubectl top`` through Docker's stats and get their Deployment scaled up by its
HorizontalPodAutoscaler within two minutes, then down once a rollout makes them idle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE, remove_containers
from tests.processes import UpProcess, start_up, stop_up

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_engine) -> Iterator[UpProcess]:
    """``up`` syncing each HPA every 2 s with a 5 s scale-down window."""
    up = start_up(tmp_path_factory.mktemp("up"), "--horizontal-pod-autoscaler-sync-period",
                  "2", "--horizontal-pod-autoscaler-downscale-stabilization", "5")
    yield up
    if up.process.poll() is None:
        stop_up(up)
    remove_containers(docker_engine, up.data_dir)


BURN = ["sh", "-c", "while :; do :; done"]


def burner() -> dict:
    labels = {"app": "burn"}
    container = {"name": "burn", "image": IMAGE, "command": BURN,
                 "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burn"},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container]}}}}


HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
       "metadata": {"name": "burn"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                   "name": "burn"},
                "minReplicas": 1, "maxReplicas": 3,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                    "type": "Utilization", "averageUtilization": 50}}}]}}


def ready(n: int):
    return lambda d: d.get("status", {}).get("readyReplicas") == n and d["spec"]["replicas"] == n


def test_pods_burning_cpu_scale_up_then_down_when_idle(cluster, admin):
    admin.create("deployments", burner())
    wait_for(admin, "deployments", "burn", ready(1), timeout=60)
    top = cluster.kubectl("top", "pods", "-l", "app=burn")
    assert top.returncode == 0, top.stderr
    millicores = int(top.stdout.splitlines()[1].split()[1].removesuffix("m"))
    assert millicores >= 100  # over its request, under its 200m limit (plus sampling noise)
    admin.create("horizontalpodautoscalers", HPA)
    wait_for(admin, "deployments", "burn", ready(3), timeout=120)
    template = burner()["spec"]["template"]
    template["spec"]["containers"][0]["command"] = ["sleep", "3600"]  # a rollout to idle pods
    admin.patch("deployments", "burn", {"spec": {"template": template}},
                "application/merge-patch+json")
    wait_for(admin, "events", None, lambda e: e["reason"] == "SuccessfulRescale" and
             e["message"] == "New size: 1; reason: All metrics below target", timeout=120)
    wait_for(admin, "deployments", "burn", ready(1), timeout=60)
