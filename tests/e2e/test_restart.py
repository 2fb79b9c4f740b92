"""Several nodes share one Docker engine, and ``kubeactor up`` restarted on the same data dir
adopts the running containers instead of making new ones."""

from __future__ import annotations

import pytest

from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE, remove_containers
from tests.processes import start_up, stop_up

pytestmark = pytest.mark.e2e


def running(pod):
    return pod.get("status", {}).get("phase") == "Running"


def pod_containers(engine, data):
    """This cluster's pod containers (the engine may run other clusters' too)."""
    cluster = (data / "cluster-id").read_text().strip()
    label = f"io.kubeactor.cluster.id={cluster}"
    found = engine.containers.list(all=True, filters={"label": label})
    return {c.labels["io.kubeactor.pod.name"]: c.id for c in found}


def test_restarted_cluster_adopts_containers_on_every_node(tmp_path, docker_engine, admin_for):
    data = tmp_path / "restart"
    try:
        adopts_on_restart(data, docker_engine, admin_for)
    finally:
        remove_containers(docker_engine, data)


def adopts_on_restart(data, docker_engine, admin_for):
    up = start_up(data, "--nodes", "2")
    admin = admin_for(up)
    for name in ("left", "right"):
        up.cli("run", name, "--image", IMAGE, "--", "sleep", "3600")
    nodes = {wait_for(admin, "pods", name, running)["spec"]["nodeName"]
             for name in ("left", "right")}
    assert nodes == {"node-1", "node-2"}
    before = pod_containers(docker_engine, data)
    assert set(before) == {"left", "right"}
    assert stop_up(up) == 0
    assert pod_containers(docker_engine, data) == before  # stopping the control plane keeps pods

    again = start_up(data, "--nodes", "2")
    try:
        for name in ("left", "right"):
            assert "Running" in again.cli("get", "pod", name).stdout
        assert pod_containers(docker_engine, data) == before  # no duplicate, nothing removed
        again.cli("delete", "pod", "left", "right")
        assert pod_containers(docker_engine, data) == {}
    finally:
        stop_up(again)
