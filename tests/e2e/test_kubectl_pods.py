"""Real kubectl's ``logs`` and ``exec`` through the HTTPS API against ``kubeactor up`` on
Docker: a container's real output, followed as it comes, and a real command's exit code."""

from __future__ import annotations

import pytest

from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE

pytestmark = pytest.mark.e2e


def test_kubectl_logs_prints_and_follows_a_containers_output(cluster, admin):
    made = cluster.kubectl("run", "counter", "--image", IMAGE, "--restart", "Never", "--",
                           "sh", "-c", "echo hello from kubeactor; sleep 2; echo second; "
                           "sleep 1; echo third")
    assert made.returncode == 0, made.stderr
    wait_for(admin, "pods", "counter", lambda pod: pod["status"].get("phase") == "Running")
    followed = cluster.kubectl("logs", "-f", "counter")  # until the container stops
    assert (followed.returncode, followed.stdout) == (
        0, "hello from kubeactor\nsecond\nthird\n")
    assert cluster.kubectl("logs", "counter").stdout == "hello from kubeactor\nsecond\nthird\n"
    assert cluster.kubectl("logs", "counter", "--tail", "1").stdout == "third\n"


def test_kubectl_exec_runs_a_command_in_the_container(cluster, admin):
    made = cluster.kubectl("run", "shell", "--image", IMAGE, "--", "sleep", "3600")
    assert made.returncode == 0, made.stderr
    wait_for(admin, "pods", "shell", lambda pod: pod["status"].get("phase") == "Running")
    listed = cluster.kubectl("exec", "shell", "--", "ls", "/")
    assert listed.returncode == 0, listed.stderr
    assert {"bin", "etc", "tmp"} <= set(listed.stdout.split())
    failed = cluster.kubectl("exec", "shell", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (failed.returncode, failed.stdout) == (3, "out\n")
    assert failed.stderr == "err\ncommand terminated with exit code 3\n"
    cluster.kubectl("delete", "pod", "shell", "counter", "--wait=false")
