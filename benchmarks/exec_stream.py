"""Interactive exec through kubeactor (real kubectl, the HTTPS front, the bus's exec stream, the
kubelet, Docker) against ``docker exec`` on the same container, measured in the same run.

    .venv/bin/python benchmarks/exec_stream.py [--mebibytes 8] [--rounds 3]

Starts ``kubeactor up`` (one Docker node, its HTTPS API on a free port) in a subprocess, runs
one pod (busybox:1.35, ``sleep 3600``), then, interleaved so that both see the same load of
this shared machine: ``kubectl exec -i POD -- cat`` with N MiB of random bytes piped in (each
byte goes front -> kubelet as input and back as output, checked) against ``docker exec -i
CONTAINER cat``; and ``kubectl exec POD -- true`` against ``docker exec CONTAINER true``.
Prints one JSON line: the best of each, the echo's MB/s through kubeactor, and the ratios
``echo_ratio`` and ``true_ratio`` (kubeactor's time over Docker's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.processes import KUBECTL, UpProcess, start_up, stop_up


def timed(run: Callable[[], bytes], expected: bytes) -> float:
    started = time.monotonic()
    got = run()
    assert got == expected, "the echo differs"
    return time.monotonic() - started


def measure(up: UpProcess, container: str, data: bytes, rounds: int) -> dict[str, float]:
    kubectl = [KUBECTL, "--kubeconfig", str(up.kubeconfig), "exec"]

    def run(args: list[str], given: bytes = b"") -> Callable[[], bytes]:
        return lambda: subprocess.run(args, input=given, capture_output=True,
                                      check=True).stdout

    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, args, given in (
                ("kubeactor_echo_s", [*kubectl, "-i", "shell", "--", "cat"], data),
                ("docker_echo_s", ["docker", "exec", "-i", container, "cat"], data),
                ("kubeactor_true_s", [*kubectl, "shell", "--", "true"], b""),
                ("docker_true_s", ["docker", "exec", container, "true"], b"")):
            seconds = timed(run(args, given), given)
            best[name] = min(best.get(name, seconds), seconds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mebibytes", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = docker.from_env()
    data_dir = Path(tempfile.mkdtemp()) / "up"
    up = start_up(data_dir)
    try:
        up.kubectl("run", "shell", "--image", "busybox:1.35", "--", "sleep", "3600")
        up.kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=60s")
        container = next(c.id for c in engine.containers.list() if "k8s_shell_" in c.name)
        data = os.urandom(args.mebibytes * 1024 * 1024)
        best = measure(up, container, data, args.rounds)
    finally:
        stop_up(up)
        cluster = (data_dir / "cluster-id").read_text().strip()
        for found in engine.containers.list(
                all=True, filters={"label": f"io.kubeactor.cluster.id={cluster}"}):
            found.remove(force=True)
    print(json.dumps({
        **{name: round(value, 3) for name, value in best.items()},
        "echo_mb_s": round(len(data) / 1e6 / best["kubeactor_echo_s"], 1),
        "echo_ratio": round(best["kubeactor_echo_s"] / best["docker_echo_s"], 2),
        "true_ratio": round(best["kubeactor_true_s"] / best["docker_true_s"], 2),
        "load": [round(x, 1) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
