"""Simulated kubelets in processes of their own: ``kubeactor agent --runtime sim --nodes N``
hosts N simulated nodes on one connection, each with its own identity (one context each in the
kubeconfig ``node-kubeconfig --nodes N`` writes), as KWOK hosts many fake kubelets in one
process."""

from __future__ import annotations

import pytest

from bindings import kubeconfig
from tests.conftest import pod, wait_for
from tests.processes import UpProcess, start_up, stop_up

pytestmark = pytest.mark.integration


def sim_kubeconfig(cluster: UpProcess, *flags: str) -> str:
    path = cluster.data_dir.parent / "sim.kubeconfig"
    cluster.cli("node-kubeconfig", *flags, "--data-dir", str(cluster.data_dir),
                "--kubeconfig-out", str(path))
    return str(path)


def test_one_agent_process_hosts_several_simulated_nodes_each_its_own_identity(tmp_path,
                                                                              admin_for):
    cluster = start_up(tmp_path / "up", "--runtime", "sim", "--nodes", "0")
    agent = None
    try:
        path = sim_kubeconfig(cluster, "--nodes", "3", "--node-prefix", "sim-",
                              "--first-node", "4")
        contexts = kubeconfig.load_contexts(tmp_path / "sim.kubeconfig")
        assert list(contexts) == ["system:node-sim", "sim-4", "sim-5", "sim-6"]
        assert contexts["sim-5"].user == "system:node:sim-5"
        agent = start_up(tmp_path / "agent", "--runtime", "sim", "--nodes", "3",
                         "--node-prefix", "sim-", "--first-node", "4", "--kubeconfig", path,
                         verb="agent")
        admin = admin_for(cluster)
        for name in ("sim-4", "sim-5", "sim-6"):
            wait_for(admin, "nodes", name, lambda n: any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n.get("status", {}).get("conditions", [])), namespace=None)
        admin.create("pods", pod("p1"))
        running = wait_for(admin, "pods", "p1",
                           lambda p: p.get("status", {}).get("phase") == "Running")
        assert running["spec"]["nodeName"] in ("sim-4", "sim-5", "sim-6")
    finally:
        for process in (agent, cluster):
            if process is not None:
                assert stop_up(process) == 0


def test_an_agent_whose_kubeconfig_lacks_a_node_is_refused_with_how_to_make_one(tmp_path):
    cluster = start_up(tmp_path / "up", "--runtime", "sim", "--nodes", "0")
    try:
        path = sim_kubeconfig(cluster, "--nodes", "2")
        result = cluster.cli("agent", "--runtime", "sim", "--nodes", "3", "--kubeconfig", path,
                             "--data-dir", str(tmp_path / "agent"), check=False)
        assert result.returncode != 0
        assert "no context of node node-3" in result.stderr
        assert "node-kubeconfig --nodes 3" in result.stderr
        docker = cluster.cli("agent", "--nodes", "2", "--kubeconfig", path, check=False)
        assert "give --runtime sim" in docker.stderr
    finally:
        assert stop_up(cluster) == 0
