"""``kubeactor trace``: a recorded ``run`` replays to a diagram of the seed's eight steps."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from bindings import kubeconfig
from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE
from tests.processes import UpProcess

pytestmark = pytest.mark.e2e

SEED_ARROWS = [  # (step, the diagram line it must match, in order)
    ("1 request", r"cli->>apiserver: create pods/seen$"),
    ("2 stored", r"apiserver->>store: commit pods/seen \(rev \d+\) 200$"),
    ("3 scheduler invoked", r"apiserver->>scheduler: ADDED pods/seen$"),
    ("4 binding", r"scheduler->>apiserver: create pods/seen/binding$"),
    ("5 kubelet invoked", r"apiserver->>kubelet_node_1: ADDED pods/seen$"),
    ("6 container", r"kubelet_node_1->>runtime: start pods/seen/containers 200$"),
    ("7 status", r"kubelet_node_1->>apiserver: update pods/seen/status$"),
    ("8 status stored", r"apiserver->>store: commit pods/seen/status \(rev \d+\) 200$"),
]


def test_recorded_run_replays_to_the_seeds_eight_steps(cluster: UpProcess, admin, tmp_path):
    capture, diagram = tmp_path / "run.capture", tmp_path / "run.mmd"
    tracer = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
         "trace", "--object", "pod/seen", "--record", str(capture)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert tracer.stderr is not None
        assert "tracing" in tracer.stderr.readline()  # subscribed: nothing will be missed
        cluster.cli("run", "seen", "--image", IMAGE, "--", "sleep", "3600")
        wait_for(admin, "pods", "seen", lambda p: p["status"].get("phase") == "Running")
    finally:
        tracer.send_signal(signal.SIGINT)
        live, _ = tracer.communicate(timeout=30)
    assert tracer.returncode == 0
    assert "cli -> apiserver" in live
    recorded, token = capture.read_bytes(), kubeconfig.load(cluster.kubeconfig).token
    assert token and token.encode() not in recorded  # no credential is kept
    assert b"\xa4auth" not in recorded  # no envelope's auth map (tickets, MACs, tokens)
    assert b"eyJ" not in recorded  # no JWT: the pod's service-account token stays out

    replay = cluster.cli("trace", "replay", str(capture), "--mermaid", str(diagram))
    assert replay.stdout == live  # the capture renders exactly as the live trace did
    lines = diagram.read_text().splitlines()
    assert lines[0] == "sequenceDiagram"
    for name in ("apiserver", "store", "scheduler", "kubelet_node_1 as kubelet-node-1"):
        assert f"    participant {name}" in lines
    at = 0
    for step, pattern in SEED_ARROWS:
        found = next((i for i in range(at, len(lines)) if re.search(pattern, lines[i])), None)
        assert found is not None, f"step {step} missing after line {at}:\n" + "\n".join(lines)
        at = found + 1
    cluster.cli("delete", "pod", "seen", "--grace-period", "0")
