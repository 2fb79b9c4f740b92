"""Restart safety: ``kubeactor up`` (or one agent) killed with kill -9 and started again on the
same data dir adopts the running containers by label instead of making new ones, and removes
the containers of pods deleted while it was down. Several nodes share one Docker engine."""

from __future__ import annotations

import contextlib
import threading

import pytest

from bus.errors import NotFound
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


def test_cluster_killed_with_sigkill_adopts_containers_on_every_node(tmp_path, docker_engine,
                                                                     admin_for):
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
    up.process.kill()  # kill -9 the whole cluster
    up.process.wait(timeout=30)
    assert pod_containers(docker_engine, data) == before  # pods outlive the control plane

    again = start_up(data, "--nodes", "2")
    try:
        for name in ("left", "right"):
            assert "Running" in again.cli("get", "pod", name).stdout
        assert pod_containers(docker_engine, data) == before  # no duplicate, nothing removed
        again.cli("delete", "pod", "left", "right")
        assert pod_containers(docker_engine, data) == {}
    finally:
        stop_up(again)


def test_agent_killed_with_sigkill_adopts_and_removes_pods_deleted_while_it_was_down(
        tmp_path, docker_engine, admin_for):
    server = start_up(tmp_path / "server", verb="server")
    node = tmp_path / "node"
    try:
        own = server.node_kubeconfig("node-a")
        agent = start_up(node, "--node", "node-a", "--kubeconfig", own,
                         verb="agent")
        admin = admin_for(server)
        names = ("kept", "forced", "graceful")
        for name in names:
            server.cli("run", name, "--image", IMAGE, "--", "sleep", "3600")
        for name in names:
            wait_for(admin, "pods", name, running)
        before = pod_containers(docker_engine, node)
        agent.process.kill()  # kill -9: no clean-up of any kind
        agent.process.wait(timeout=30)
        server.cli("delete", "pod", "forced", "--grace-period", "0")  # gone from the API
        marked = admin.delete("pods", "graceful", grace_period=5)  # waits for its kubelet
        assert marked["metadata"]["deletionTimestamp"]
        again = start_up(node, "--node", "node-a", "--kubeconfig", own,
                         verb="agent")
        try:
            wait_gone(admin, "graceful")  # stopped, removed and confirmed by the kubelet
            assert pod_containers(docker_engine, node) == {"kept": before["kept"]}
            status = admin.get("pods", "kept")["status"]
            assert status["phase"] == "Running"
            assert status["containerStatuses"][0]["containerID"] == f"docker://{before['kept']}"
        finally:
            stop_up(again)
    finally:
        remove_containers(docker_engine, node)
        stop_up(server)


def wait_gone(admin, name: str, timeout: float = 60.0) -> None:
    """Block until pod ``name`` is deleted (at once when it is already)."""
    gone = threading.Event()
    watch = admin.watch("pods", lambda event: event.type == "DELETED" and gone.set(),
                        namespace="default", field_selector=f"metadata.name={name}")
    try:
        with contextlib.suppress(NotFound):
            admin.get("pods", name)
            assert gone.wait(timeout), f"pod {name} was never deleted"
    finally:
        watch.stop()
