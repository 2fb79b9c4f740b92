"""``kubeactor up --processes N``: the cluster spread over processes (agents of simulated
nodes, the scheduler, the controller manager), which ``up`` supervises: a pod runs and is
deleted through the layout, and a ``kill -9`` of each kind of child is survived as Kubernetes
survives a component's crash (systemd starts it again; a scheduler or controller manager leads
again through its Lease, a kubelet runs its node's pods again)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bus.server import die_with_parent
from tests.conftest import pod, wait_for
from tests.processes import start_up, stop_up
from tests.support import alive, until

pytestmark = pytest.mark.integration

ELECTION = ("--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=4s",
            "--leader-elect-retry-period=0.5s")


def children(pid: int) -> dict[str, int]:
    """The kubeactor processes ``pid`` started, by verb (an agent's: ``agent-<first node>``)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid and "bindings.cli" in argv:
            verb = argv[argv.index("bindings.cli") + 1]
            first = argv[argv.index("--first-node") + 1] if verb == "agent" else ""
            found[f"{verb}-{first}".rstrip("-")] = int(entry.name)
    return found


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def running(obj):
    return obj.get("status", {}).get("phase") == "Running"


def replicaset(name: str, replicas: int):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]}}}}


def test_up_spreads_the_cluster_over_processes_and_survives_a_kill_of_each(tmp_path, admin_for):
    cluster = start_up(tmp_path / "up", "--runtime", "sim", "--nodes", "4", "--processes", "5",
                       *ELECTION)
    try:
        started = children(cluster.process.pid)  # 2 agents of 2 nodes each
        assert set(started) == {"agent-1", "agent-3", "scheduler", "controller-manager"}
        admin = admin_for(cluster)
        # the first child's ready line may come before the controller manager made the
        # namespace's ServiceAccount, which admission needs
        wait_for(admin, "serviceaccounts", "default", lambda _: True)
        admin.create("pods", pod("p0"))
        wait_for(admin, "pods", "p0", running)
        admin.delete("pods", "p0", "default")
        until(lambda: "p0" not in {p["metadata"]["name"]
                                   for p in admin.list("pods", "default")["items"]},
              failure="p0 was never deleted")

        # A kubelet's process: its nodes' pods run again once systemd's restart is up.
        admin.create("pods", {**pod("on-node-3"), "spec": {
            **pod("on-node-3")["spec"], "nodeName": "node-3"}})
        wait_for(admin, "pods", "on-node-3", running)
        kill(started["agent-3"])
        admin.create("pods", {**pod("after-agent"), "spec": {
            **pod("after-agent")["spec"], "nodeName": "node-4"}})
        wait_for(admin, "pods", "after-agent", running, timeout=120)
        # The scheduler's: a new replica leads once the dead one's Lease has expired.
        kill(started["scheduler"])
        admin.create("pods", pod("after-scheduler"))
        placed = wait_for(admin, "pods", "after-scheduler", running, timeout=120)
        assert placed["spec"]["nodeName"].startswith("node-")
        # The controller manager's: a ReplicaSet made after it died gets its pods.
        kill(started["controller-manager"])
        admin.create("replicasets", replicaset("after-cm", 2))
        until(lambda: sum(running(p) for p in admin.list("pods", "default")["items"]
                          if p["metadata"]["name"].startswith("after-cm")) == 2,
              timeout=120, interval=0.5, failure="after-cm never ran its 2 pods")
        restarted = children(cluster.process.pid)
        assert set(restarted) == set(started)
        assert all(restarted[kind] != started[kind] for kind in
                   ("agent-3", "scheduler", "controller-manager"))
        assert restarted["agent-1"] == started["agent-1"]
    finally:
        assert stop_up(cluster) == 0
    assert not [pid for pid in restarted.values() if Path(f"/proc/{pid}").exists()]



def test_a_sigterm_while_up_waits_for_its_children_ends_up_and_them_at_once(tmp_path):
    """The scheduler is held (SIGSTOP) before it can say ready, so ``up`` is waiting for it
    (the wait's own limit is 300 s): a SIGTERM ends ``up`` (143) and every child in seconds."""
    up = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(tmp_path / "up"),
         "--https-listen", "127.0.0.1:0", "--runtime", "sim", "--nodes", "2",
         "--processes", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent)
    try:
        held = until(lambda: children(up.pid).get("scheduler"), timeout=120, interval=0.01,
                     failure="up never started its scheduler")
        os.kill(held, signal.SIGSTOP)
        started = until(lambda: (found := children(up.pid)).keys() >= {"agent-1", "scheduler"}
                        and found, timeout=60, failure="up never started its agent")
        up.send_signal(signal.SIGTERM)
        os.kill(held, signal.SIGCONT)  # its SIGTERM from up is delivered now
        assert up.wait(timeout=15) == 128 + signal.SIGTERM
    finally:
        up.kill()
        up.wait()
    until(lambda: not any(alive(pid) for pid in started.values()), timeout=10,
          failure="a child of up outlived it")


def test_a_sigkill_of_up_leaves_no_child_running(tmp_path):
    cluster = start_up(tmp_path / "up", "--runtime", "sim", "--nodes", "2", "--processes", "3")
    try:
        started = children(cluster.process.pid)
        assert set(started) == {"agent-1", "scheduler"}
    finally:
        kill(cluster.process.pid)
        cluster.process.wait()
    until(lambda: not any(alive(pid) for pid in started.values()), timeout=10,
          failure="a child of up outlived its SIGKILL")
