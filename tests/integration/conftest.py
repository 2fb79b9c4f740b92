"""The CLI modules of the integration tier share this: ``kubeactor up --runtime sim`` (real
NATS, real store, two simulated nodes, no Docker) in a subprocess, one per module, and an admin
client of it. Modules with a ``cluster`` or ``admin`` of their own use theirs. ``sim_cluster``:
the same in this process (``Cluster.start``, three simulated nodes), one per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.client.client import Client
from bindings.cluster import Cluster, ClusterConfig
from tests.processes import UpProcess, start_up, stop_up


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[UpProcess]:
    up = start_up(tmp_path_factory.mktemp("up"), "--runtime", "sim", "--nodes", "2")
    yield up
    stop_up(up)


@pytest.fixture
def admin(cluster: UpProcess, admin_for) -> Client:
    return admin_for(cluster)


@pytest.fixture
def sim_cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path / "sim", nodes=3, runtime="sim"))
    yield cluster
    cluster.stop()
