"""Scale of the simulated runtime at CI size: 100 simulated nodes in this process hold 1,000
running pods placed by the scheduler, without a thread per node or per pod
(benchmarks/sim_scale.py runs the full 1,000 nodes and 10,000 pods)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from actors.client.client import WatchEvent
from bindings.cluster import Cluster, ClusterConfig
from bindings.cluster.nodes import SIM_POD_WORKERS
from tests.conftest import pod

pytestmark = pytest.mark.integration

NODES, PODS = 100, 1000


@pytest.fixture
def sim_cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path / "sim", nodes=NODES,
                                          runtime="sim"))
    yield cluster
    cluster.stop()


def test_a_hundred_simulated_nodes_run_a_thousand_pods_on_a_few_threads(sim_cluster):
    admin = sim_cluster.admin_client()
    running: set[str] = set()
    nodes: set[str] = set()
    everything = threading.Event()

    deleted: set[str] = set()

    def count(event: WatchEvent) -> None:  # bus loop thread
        if event.type == "DELETED":
            deleted.add(event.object["metadata"]["name"])
        elif event.object.get("status", {}).get("phase") == "Running":
            running.add(event.object["metadata"]["name"])
            nodes.add(event.object["spec"]["nodeName"])
            if len(running) == PODS:
                everything.set()

    def create(index: int) -> None:
        admin.create("pods", pod(f"p{index}", cpu="10m"))  # the scheduler spreads them

    watch = admin.watch("pods", count, namespace="default")
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create, range(PODS)))
        assert everything.wait(300), f"only {len(running)} of {PODS} pods reached Running"
    finally:
        watch.stop()
    assert len(nodes) == NODES
    assert deleted == set()  # no node went unreachable long enough to lose its pods
    # No thread per node, none per pod: the simulated kubelets' threads are a fixed few (the
    # control plane in this process has its own, as many for 1 node as for 100).
    kubelet = [t.name for t in threading.enumerate()
               if t.name.startswith(("kubelet-sim", "sim-", "Kubelet"))]
    workers = [name for name in kubelet if name.startswith("kubelet-sim-pod")]
    assert len(workers) <= SIM_POD_WORKERS  # one pool, whatever the nodes and pods
    assert 0 < len(kubelet) - len(workers) < 40, kubelet
