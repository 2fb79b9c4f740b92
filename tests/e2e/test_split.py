"""Split deployment: ``kubeactor server`` and ``kubeactor agent`` processes over one NATS (one
server or a cluster of them), each agent with its node's own kubeconfig (``kubeactor
node-kubeconfig``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bindings import kubeconfig
from bindings.cluster import bususers
from bindings.cluster.identities import CONTROL_PLANE_USERS
from bus.permissions import ADMIN, authorization
from bus.server import NatsServer
from bus.subjects import Subjects
from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE, remove_containers
from tests.processes import start_up, stop_up
from tests.routing import free_port, wait_until_routed

pytestmark = pytest.mark.e2e


def test_an_agent_needs_its_nodes_own_kubeconfig(tmp_path):
    server = start_up(tmp_path / "server", verb="server")
    try:
        refused = subprocess.run(
            [sys.executable, "-m", "bindings.cli", "agent", "--node", "east", "--kubeconfig",
             str(server.kubeconfig), "--data-dir", str(tmp_path / "east")],
            capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1
        assert "is not node east's (its NATS identity is 'admin'" in refused.stderr
        written = kubeconfig.load(Path(server.node_kubeconfig("east")))
        assert (written.user, written.bus().user, written.nats_password) == (
            "system:node:east", "system:node:east", None)  # its certificate is its identity
        assert oct(Path(tmp_path / "east.kubeconfig").stat().st_mode & 0o777) == "0o600"
        snooping = subprocess.run(  # only the admin may trace the whole bus
            [sys.executable, "-m", "bindings.cli", "trace", "--kubeconfig",
             str(tmp_path / "east.kubeconfig"), "--timeout", "1"],
            capture_output=True, text=True, timeout=120)
        assert snooping.returncode == 1
        assert "NATS user 'system:node:east' may not subscribe to kubeactor.>" in snooping.stderr
    finally:
        assert stop_up(server) == 0


def test_server_and_two_agents_spread_pods_over_both_nodes(tmp_path, admin_for, docker_engine):
    server = start_up(tmp_path / "server", verb="server")
    agents = []
    try:
        for node in ("east", "west"):
            agents.append(start_up(tmp_path / node, "--node", node, "--kubeconfig",
                                   server.node_kubeconfig(node), verb="agent"))
        nodes = server.cli("get", "nodes", "-o", "name").stdout.split()
        assert nodes == ["node/east", "node/west"]
        admin = admin_for(server)
        for name in ("one", "two"):
            server.cli("run", name, "--image", IMAGE, "--", "sleep", "3600")
        placed = {wait_for(admin, "pods", name,
                           lambda p: p["status"].get("phase") == "Running")["spec"]["nodeName"]
                  for name in ("one", "two")}
        assert placed == {"east", "west"}
        server.cli("delete", "pod", "one", "two")
    finally:
        for agent in agents:
            assert stop_up(agent) == 0
            remove_containers(docker_engine, agent.data_dir)
        assert stop_up(server) == 0


def test_a_restarted_server_keeps_its_nats_port_so_agents_reconnect(tmp_path):
    """The bus URL agents hold stays (the HTTPS port of --https-listen 127.0.0.1:0 is new at
    each start, as any port 0)."""
    first = start_up(tmp_path / "server", verb="server")
    url = kubeconfig.load(tmp_path / "server" / "kubeconfig").bus().url
    assert stop_up(first) == 0
    again = start_up(tmp_path / "server", verb="server")
    try:
        assert kubeconfig.load(tmp_path / "server" / "kubeconfig").bus().url == url
    finally:
        assert stop_up(again) == 0


def test_a_node_whose_agent_stops_goes_not_ready_until_it_is_back(tmp_path, admin_for,
                                                                       docker_engine):
    server = start_up(tmp_path / "server", "--node-monitor-grace-period", "3",
                      "--node-monitor-period", "1", verb="server")
    try:
        lonely = server.node_kubeconfig("lonely")
        agent = start_up(tmp_path / "lonely", "--node", "lonely", "--kubeconfig",
                         lonely, "--node-lease-duration-seconds", "4",
                         verb="agent")
        admin = admin_for(server)
        wait_for(admin, "leases", "lonely", lambda lease: True, namespace="kube-node-lease")
        assert stop_up(agent) == 0
        remove_containers(docker_engine, agent.data_dir)

        def unknown_and_tainted(node):  # two writes: the status, then the taints
            ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
            return ready[0]["status"] == "Unknown" and bool(node["spec"].get("taints"))

        gone = wait_for(admin, "nodes", "lonely", unknown_and_tainted, namespace=None)
        assert {t["key"] for t in gone["spec"]["taints"]} == {"node.kubernetes.io/unreachable"}
        assert server.cli("get", "nodes").stdout.splitlines()[1].split()[:2] == [
            "lonely", "NotReady"]
        server.cli("run", "stranded", "--image", IMAGE, "--", "sleep", "3600")
        failed = wait_for(admin, "events", None, lambda e: e.get("reason") == "FailedScheduling")
        assert failed["message"] == "0/1 nodes are available: 1 node(s) were not ready."

        back = start_up(tmp_path / "lonely", "--node", "lonely", "--kubeconfig",
                        lonely, "--node-lease-duration-seconds", "4",
                        verb="agent")
        try:
            wait_for(admin, "nodes", "lonely", lambda n: not n["spec"].get("taints"),
                     namespace=None)
            wait_for(admin, "pods", "stranded", lambda p: p["status"].get("phase") == "Running")
            server.cli("delete", "pod", "stranded", "--grace-period", "0")
        finally:
            assert stop_up(back) == 0
            remove_containers(docker_engine, back.data_dir)
    finally:
        assert stop_up(server) == 0


def test_a_long_exec_does_not_stop_the_nodes_heartbeat(tmp_path, admin_for, docker_engine):
    up = start_up(tmp_path / "busy", "--node-monitor-grace-period", "3",
                  "--node-monitor-period", "1", "--node-lease-duration-seconds", "4")
    try:
        admin = admin_for(up)
        up.cli("run", "box", "--image", IMAGE, "--", "sleep", "3600")
        wait_for(admin, "pods", "box", lambda p: p["status"].get("phase") == "Running")
        seen: list[str] = []
        watch = admin.watch("nodes", lambda event: seen.extend(
            c["status"] for c in event.object["status"]["conditions"] if c["type"] == "Ready"),
            field_selector="metadata.name=node-1")
        try:
            assert up.cli("exec", "box", "--", "sleep", "6").returncode == 0
        finally:
            watch.stop()
        assert seen and "Unknown" not in seen  # the lease was renewed all along
        up.cli("delete", "pod", "box", "--grace-period", "0")
    finally:
        assert stop_up(up) == 0
        remove_containers(docker_engine, up.data_dir)


def test_an_agent_joins_through_another_server_of_a_nats_cluster(tmp_path, admin_for):
    """Both servers of the NATS cluster are locked down with the same users, the control
    plane's (made before it starts, in its pki dir), and the same auth callout issuer: the
    agent's certificate, shown to the other server, is checked by the apiserver."""
    ports = (free_port(), free_port())
    routes = tuple(f"nats://127.0.0.1:{port}" for port in ports)
    (tmp_path / "server" / "pki").mkdir(parents=True)
    passwords = bususers.ensure_users(tmp_path / "server" / "pki" / bususers.FILE,
                                      CONTROL_PLANE_USERS)
    users = authorization(passwords, Subjects(),
                          bususers.ensure_issuer(tmp_path / "server" / "pki").public)
    with NatsServer(tmp_path / "nats-a", cluster_port=ports[0], routes=routes,
                    authorization=users, route_password="route-pw") as here, \
            NatsServer(tmp_path / "nats-b", cluster_port=ports[1], routes=routes,
                       authorization=users, route_password="route-pw") as there:
        wait_until_routed(here, there, ADMIN, passwords[ADMIN])
        server = start_up(tmp_path / "server", "--nats", here.url, verb="server")
        try:
            unreachable = tmp_path / "kubeconfig-elsewhere"  # --nats must be what is used
            unreachable.write_text(Path(server.node_kubeconfig("far")).read_text().replace(
                here.url, "nats://127.0.0.1:1"))
            assert "nats://127.0.0.1:1\n" in unreachable.read_text()
            agent = start_up(tmp_path / "far", "--node", "far", "--runtime", "sim",
                             "--kubeconfig", str(unreachable), "--nats", there.url,
                             verb="agent")
            try:
                server.cli("run", "remote", "--image", IMAGE, "--", "sleep", "3600")
                running = wait_for(admin_for(server), "pods", "remote",
                                   lambda p: p["status"].get("phase") == "Running")
                assert running["spec"]["nodeName"] == "far"
                server.cli("delete", "pod", "remote")
            finally:
                assert stop_up(agent) == 0
        finally:
            assert stop_up(server) == 0
