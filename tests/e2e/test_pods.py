"""A user's first session: ``kubeactor up``, ``run``, ``get``, ``delete`` on real Docker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE
from tests.processes import UpProcess, start_up, stop_up

pytestmark = pytest.mark.e2e

CONTRACT_LABELS = ("io.kubeactor.pod.name", "io.kubeactor.pod.namespace",
                   "io.kubeactor.pod.uid", "io.kubeactor.container.name")


def phase_is(phase):
    return lambda pod: pod.get("status", {}).get("phase") == phase


def containers_of(engine, uid):
    return engine.containers.list(all=True, filters={"label": f"io.kubeactor.pod.uid={uid}"})


def test_sleeping_pod_runs_in_a_labelled_container_and_delete_removes_it(
    cluster: UpProcess, admin, docker_engine
):
    assert cluster.cli("run", "sleeper", "--image", IMAGE, "--", "sleep", "3600").stdout == (
        "pod/sleeper created\n")
    running = wait_for(admin, "pods", "sleeper", phase_is("Running"))
    uid = running["metadata"]["uid"]
    (container,) = containers_of(docker_engine, uid)
    assert container.status == "running"
    labels = container.labels
    assert {k: labels[k] for k in CONTRACT_LABELS} == {
        "io.kubeactor.pod.name": "sleeper", "io.kubeactor.pod.namespace": "default",
        "io.kubeactor.pod.uid": uid, "io.kubeactor.container.name": "sleeper"}

    table = cluster.cli("get", "pods").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table[1].split()[:4] == ["sleeper", "1/1", "Running", "0"]

    deleted = cluster.cli("delete", "pod", "sleeper", "--grace-period", "1")
    assert deleted.stdout == 'pod "sleeper" deleted\n'
    assert containers_of(docker_engine, uid) == []
    missing = cluster.cli("get", "pod", "sleeper", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "sleeper" not found'


def test_pod_exiting_3_with_restart_never_ends_failed_with_exit_code_3(cluster, admin):
    cluster.cli("run", "fails", "--image", IMAGE, "--restart", "Never", "--",
                "sh", "-c", "exit 3")
    failed = wait_for(admin, "pods", "fails", phase_is("Failed"))
    (status,) = failed["status"]["containerStatuses"]
    assert status["state"]["terminated"]["exitCode"] == 3
    shown = json.loads(cluster.cli("get", "pod", "fails", "-o", "json").stdout)
    assert shown["kind"] == "Pod" and shown["status"]["phase"] == "Failed"
    cluster.cli("delete", "pod", "fails")


def test_get_nodes_lists_the_registered_kubelet(cluster):
    listing = json.loads(cluster.cli("get", "nodes", "-o", "json").stdout)
    assert listing["kind"] == "List"
    assert [n["metadata"]["name"] for n in listing["items"]] == ["node-1"]
    assert cluster.cli("get", "nodes", "-o", "name").stdout == "node/node-1\n"


def test_flags_work_before_and_after_the_verb(cluster):
    before = cluster.cli("-n", "kube-system", "get", "pods")
    after = cluster.cli("get", "pods", "-n", "kube-system")
    assert before.stderr == after.stderr == "No resources found in kube-system namespace.\n"


def test_up_stops_cleanly_on_sigterm_leaving_no_process(tmp_path, docker_engine):
    up = start_up(tmp_path / "short", "--nodes", "2")
    nodes = up.cli("get", "nodes", "-o", "name").stdout.split()
    assert nodes == ["node/node-1", "node/node-2"]
    nats_pid = int((tmp_path / "short" / "nats" / "nats-server.pid").read_text())
    for _ in range(3):  # impatient users press Ctrl-C twice; a burst must not deadlock it
        up.process.send_signal(signal.SIGINT)
    assert stop_up(up) == 0
    with pytest.raises(ProcessLookupError):
        os.kill(nats_pid, 0)


def test_unpullable_image_is_reported_and_the_kubelet_carries_on(cluster, admin):
    cluster.cli("run", "bad-image", "--image", "Not:A/Valid::Image")

    def pull_failed(pod):
        statuses = pod.get("status", {}).get("containerStatuses") or [{}]
        waiting = statuses[0].get("state", {}).get("waiting", {})
        return waiting.get("reason") == "ErrImagePull" and bool(waiting.get("message"))

    wait_for(admin, "pods", "bad-image", pull_failed)
    cluster.cli("run", "after-bad", "--image", IMAGE, "--restart", "Never", "--", "true")
    wait_for(admin, "pods", "after-bad", phase_is("Succeeded"))
    cluster.cli("delete", "pod", "bad-image", "after-bad", "--grace-period", "0")


def test_second_up_on_the_same_data_dir_is_refused(cluster):
    second = subprocess.run(
        [sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(cluster.data_dir)],
        capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert cluster.cli("get", "nodes", "-o", "name").stdout == "node/node-1\n"
