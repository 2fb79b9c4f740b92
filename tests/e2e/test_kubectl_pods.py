"""Real kubectl's ``logs`` and ``exec`` through the HTTPS API against ``kubeactor up`` on
Docker: a container's real output, followed as it comes, and a real command's exit code."""

from __future__ import annotations

import re

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


def test_kubectl_logs_timestamps_since_and_limit_bytes_on_dockers_log(cluster, admin):
    """Docker's own timestamps (RFC3339Nano); ``--since-time`` the late line's second (its
    early one 3 s before it); ``--limit-bytes`` cuts the log, a followed one too, which then
    ends while the container goes on; kubeactor's own ``logs`` takes the same flags."""
    made = cluster.kubectl("run", "stamped", "--image", IMAGE, "--restart", "Never", "--",
                           "sh", "-c", "echo early; sleep 3; echo late; sleep 3600")
    assert made.returncode == 0, made.stderr
    wait_for(admin, "pods", "stamped", lambda pod: pod["status"].get("phase") == "Running")
    followed = cluster.kubectl("logs", "-f", "stamped", "--limit-bytes", "9")  # early\nlat
    assert (followed.returncode, followed.stdout) == (0, "early\nlat"), followed.stderr
    stamped = cluster.kubectl("logs", "stamped", "--timestamps").stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["early", "late"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line.split(" ")[0])
               for line in stamped)
    late = stamped[1].split(" ")[0].split(".")[0] + "Z"
    assert cluster.kubectl("logs", "stamped", "--since-time", late).stdout == "late\n"
    assert cluster.kubectl("logs", "stamped", "--since", "1h").stdout == "early\nlate\n"
    assert cluster.kubectl("logs", "stamped", "--limit-bytes", "3").stdout == "ear"
    ours = cluster.cli("logs", "stamped", "--since-time", late, "--timestamps").stdout
    assert ours == stamped[1] + "\n"
    assert cluster.cli("logs", "stamped", "--limit-bytes", "8", "--since", "1h").stdout == \
        "early\nla"
    refused = cluster.kubectl("logs", "stamped", "--since", "1s", "--since-time", late)
    assert refused.returncode == 1
    cluster.kubectl("delete", "pod", "stamped", "--wait=false")


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
