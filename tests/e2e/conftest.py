"""The e2e tier: ``kubeactor up`` in a subprocess on a real Docker engine, driven by the CLI.

Nothing here is skipped: when Docker or the busybox:1.35 image is missing the fixture fails
and says how to provide them (``scripts/setup`` does it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from actors.client.client import Client
from tests.processes import UpProcess, start_up, stop_up

IMAGE = "busybox:1.35"


@pytest.fixture(scope="session")
def docker_engine() -> docker.DockerClient:
    try:
        engine = docker.from_env()
        engine.ping()
        engine.images.get(IMAGE)
    except docker.errors.DockerException as error:
        pytest.fail(f"e2e tests need a Docker engine with {IMAGE}; run scripts/setup ({error})")
    return engine


def remove_containers(engine: docker.DockerClient, data_dir: Path) -> None:
    """Remove what a test cluster left running (a stopped control plane keeps its pods)."""
    cluster_id = (data_dir / "cluster-id").read_text().strip()
    label = f"io.kubeactor.cluster.id={cluster_id}"
    # sparse: no inspect per container, which waits while dockerd is still stopping one
    for container in engine.containers.list(all=True, sparse=True, filters={"label": label}):
        container.remove(force=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_engine) -> Iterator[UpProcess]:
    up = start_up(tmp_path_factory.mktemp("up"))
    yield up
    if up.process.poll() is None:
        stop_up(up)
    remove_containers(docker_engine, up.data_dir)


@pytest.fixture
def admin(cluster: UpProcess, admin_for) -> Client:
    return admin_for(cluster)
