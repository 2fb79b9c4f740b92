"""The e2e tier: ``kubeactor up`` in a subprocess on a real Docker engine, driven by the CLI.

Nothing here is skipped: when Docker or the busybox:1.35 image is missing the fixture fails
and says how to provide them (``scripts/setup`` does it).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from actors.client import Client
from bindings import kubeconfig
from bus import BusConfig, Connection
from bus.server import die_with_parent

IMAGE = "busybox:1.35"


@dataclass
class UpProcess:
    process: subprocess.Popen[str]
    data_dir: Path
    lines: queue.Queue[str]

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


@pytest.fixture(scope="session")
def docker_engine() -> docker.DockerClient:
    try:
        engine = docker.from_env()
        engine.ping()
        engine.images.get(IMAGE)
    except docker.errors.DockerException as error:
        pytest.fail(f"e2e tests need a Docker engine with {IMAGE}; run scripts/setup ({error})")
    return engine


def start_up(data_dir: Path, *extra: str, verb: str = "up") -> UpProcess:
    """Run ``kubeactor VERB --data-dir DATA_DIR EXTRA...`` until it says it is ready."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", verb, "--data-dir", str(data_dir), *extra],
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
        if "ready" in line:
            return up
        if process.poll() is not None and lines.empty():
            raise AssertionError(f"kubeactor {verb} exited early: {''.join(seen)}")


def stop_up(up: UpProcess) -> int:
    up.process.send_signal(signal.SIGTERM)
    return up.process.wait(timeout=60)


def remove_containers(engine: docker.DockerClient, data_dir: Path) -> None:
    """Remove what a test cluster left running (a stopped control plane keeps its pods)."""
    cluster_id = (data_dir / "cluster-id").read_text().strip()
    label = f"io.kubeactor.cluster.id={cluster_id}"
    for container in engine.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_engine) -> Iterator[UpProcess]:
    up = start_up(tmp_path_factory.mktemp("up"))
    yield up
    if up.process.poll() is None:
        stop_up(up)
    remove_containers(docker_engine, up.data_dir)


@pytest.fixture
def admin_for() -> Iterator[Callable[[UpProcess], Client]]:
    """``admin_for(process)``: an admin client of that cluster (closed after the test)."""
    connections: list[Connection] = []

    def make(up: UpProcess) -> Client:
        config = kubeconfig.load(up.kubeconfig)
        bus = BusConfig(url=config.server, prefix=config.prefix)
        connections.append(Connection(bus, "e2e").connect())
        return Client(connections[-1], config.token)

    yield make
    for connection in connections:
        connection.close()


@pytest.fixture
def admin(cluster: UpProcess, admin_for) -> Client:
    return admin_for(cluster)
