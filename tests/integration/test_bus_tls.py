"""TLS on the bus (issue 19, item 1): the embedded nats-server speaks TLS only, with a
certificate of the cluster CA, to clients (from their first byte) and to the other servers of
its NATS cluster (routes, both ends checked); every kubeactor client checks the server."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
from pathlib import Path

import nats
import pytest

from actors.api import certs
from bindings import kubeconfig
from bindings.cluster import Cluster, ClusterConfig
from bindings.cluster.pki import ensure_pki
from bus import Connection, NatsServer
from bus.errors import BusError
from tests.processes import start_up, stop_up
from tests.routing import free_port, wait_until_routed
from tests.support import until


async def test_a_plaintext_nats_client_is_refused(control_plane: Cluster):
    assert control_plane.url.startswith("tls://")
    plaintext = control_plane.url.replace("tls://", "nats://")
    client = nats.NATS()
    with pytest.raises((nats.errors.Error, OSError, TimeoutError)):  # no INFO comes
        await client.connect(plaintext, user="admin", allow_reconnect=False, connect_timeout=2,
                             password=control_plane._passwords["admin"])
    await client.close()
    assert not client.is_connected
    assert plaintext_answer(int(plaintext.rsplit(":", 1)[1])) == b""


def plaintext_answer(port: int) -> bytes:
    """What a server on ``port`` says to a plaintext client's CONNECT and PING before it hangs
    up (a plaintext server would say INFO first, then PONG)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"CONNECT {}\r\nPING\r\n")
        try:
            return raw.makefile("rb").read()
        except ConnectionResetError:
            return b""


def test_a_client_trusting_another_ca_fails_verification(control_plane: Cluster):
    stranger = certs.cert_pem(certs.new_ca("another-ca")[1])
    with pytest.raises(BusError, match="CERTIFICATE_VERIFY_FAILED"):
        Connection(dataclasses.replace(control_plane.bus(), ca=stranger), "misled").connect()
    with pytest.raises(BusError, match="TLS handshake"):  # the system's CAs know no cluster CA
        Connection(dataclasses.replace(control_plane.bus(), ca=None), "unaware").connect()


def test_a_bus_listening_beyond_loopback_is_tls(tmp_path: Path):
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path, nodes=0, nats_host="0.0.0.0",
                                          apiserver_only=True, https_listen=None))
    try:
        assert cluster.url.startswith("tls://0.0.0.0:")
        config = kubeconfig.load(cluster.kubeconfig_path)
        assert config.server == cluster.url and config.bus().ca == config.ca
        Connection(config.bus(), "admin").connect().close()
    finally:
        cluster.stop()


def test_the_cli_and_an_agent_work_over_tls(tmp_path: Path):
    server = start_up(tmp_path / "server", "--listen", "127.0.0.1:0", verb="server")
    try:
        url = kubeconfig.load(server.kubeconfig).server
        assert url.startswith("tls://") and f"NATS at {url}" in server.ready
        agent = start_up(tmp_path / "n1", "--node", "n1", "--runtime", "sim", "--kubeconfig",
                         server.node_kubeconfig("n1"), verb="agent")
        try:
            server.cli("run", "over-tls", "--image", "busybox:1.35", "--", "sleep", "3600")
            until(lambda: "Running" in server.cli("get", "pod", "over-tls").stdout or None,
                  failure="the pod never ran on the agent's node")
        finally:
            assert stop_up(agent) == 0
    finally:
        assert stop_up(server) == 0


ROUTE_REFUSED = "TLS route handshake error"
"""What a TLS server logs when a plaintext server tries to route to it."""


def test_a_route_between_two_servers_is_tls(tmp_path: Path):
    pki = ensure_pki(tmp_path / "pki")
    ports = (free_port(), free_port())
    routes = tuple(f"nats://127.0.0.1:{port}" for port in ports)
    with NatsServer(tmp_path / "a", cluster_port=ports[0], routes=routes,
                    tls=pki.bus_tls(tmp_path / "a" / "tls", ("127.0.0.1",))) as a, \
            NatsServer(tmp_path / "b", cluster_port=ports[1], routes=routes,
                       tls=pki.bus_tls(tmp_path / "b" / "tls", ("127.0.0.1",))) as b:
        assert plaintext_answer(ports[0]) == b""
        wait_until_routed(a, b, ca=certs.cert_pem(pki.ca))
        log = a.data_dir / "nats.log"
        seen = log.read_text().count(ROUTE_REFUSED)
        with NatsServer(tmp_path / "plain", cluster_port=free_port(),
                        routes=(f"nats://127.0.0.1:{ports[0]}",)):
            until(lambda: log.read_text().count(ROUTE_REFUSED) > seen or None,
                  failure="a plaintext server's route was never refused")


def test_a_nats_of_ones_own_is_used_over_tls_with_its_ca_file(tmp_path: Path):
    own = ensure_pki(tmp_path / "own-pki")  # not the cluster's CA
    tls = own.bus_tls(tmp_path / "own" / "tls", ("127.0.0.1",))
    with NatsServer(tmp_path / "own", tls=tls) as nats_server:
        refused = subprocess.run(
            [sys.executable, "-m", "bindings.cli", "server", "--data-dir", str(tmp_path / "x"),
             "--nats-ca", str(tls.ca_file)], capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0 and "give --nats URL too" in refused.stderr
        server = start_up(tmp_path / "server", "--nats", nats_server.url, "--nats-ca",
                          str(tls.ca_file), verb="server")
        try:
            config = kubeconfig.load(server.kubeconfig)
            assert config.server == nats_server.url and config.nats_ca == tls.ca_file.read_bytes()
            assert "No resources found" in server.cli("get", "pods").stderr
        finally:
            assert stop_up(server) == 0
