"""The embedded NATS of a control plane: one nats-server, or several routed as one NATS
cluster on this machine (``up --nats-cluster N``), each speaking TLS only with a certificate of
the cluster CA and locked down with the cluster's users.

Server 1 keeps its state in ``DATA_DIR/nats``, server N in ``DATA_DIR/nats-N``. Each remembers
its client port (``port``) and route port (``cluster-port``) there, so that after a restart
the kubeconfigs written before (and the agents holding them) find the bus again. The servers
of a NATS cluster route to each other as user ``route`` with a password kept beside the CA
(``DATA_DIR/pki/nats-routes.json``, mode 0600), over TLS both ways.

Neighbours: ``bindings.cluster.launcher`` (starts them first, stops them last), ``bus.server``
(one server), ``bindings.cluster.pki`` (their certificates), ``bindings.cluster.bususers``
(their users).

Which thread: the launcher's.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from bindings.cluster import bususers
from bindings.cluster.pki import Pki
from bus import NatsServer
from bus.server import ROUTE_USER, port_is_free

ROUTES_FILE = "nats-routes.json"
"""The routes' password, in the cluster's pki dir."""


@dataclass(frozen=True, slots=True)
class EmbeddedNats:
    """What the embedded servers are asked to be."""

    host: str
    """The address they listen on (clients and routes)."""
    port: int
    """Server 1's client port; 0: the one it had last time when free, else a free one (the
    others always so)."""
    count: int = 1
    """Servers: 1 alone, 3 a NATS cluster that survives losing one."""
    sync_always: bool = False
    """Sync JetStream to disk before acknowledging a write (``NatsServer.sync_always``)."""


def start(data: Path, pki_dir: Path, pki: Pki, asked: EmbeddedNats,
          authorization: str) -> list[NatsServer]:
    """Start the servers ``asked`` for, each with ``authorization``, and return them (all
    stopped again when one fails to start)."""
    dirs = [data / "nats"] + [data / f"nats-{n}" for n in range(2, asked.count + 1)]
    for directory in dirs:
        directory.mkdir(parents=True, exist_ok=True)
    ports = [_remembered(d / "cluster-port", asked.host) or _free(asked.host) for d in dirs]
    routes = tuple(f"nats://{local_address(asked.host)}:{port}" for port in ports)
    password = (bususers.ensure_users(pki_dir / ROUTES_FILE, [ROUTE_USER])[ROUTE_USER]
                if asked.count > 1 else None)
    servers = [NatsServer(
        directory, host=asked.host,
        port=(asked.port if first else 0) or _remembered(directory / "port", asked.host),
        sync_always=asked.sync_always, authorization=authorization,
        tls=pki.bus_tls(directory / "tls", _names(asked.host)),
        cluster_port=route_port if asked.count > 1 else None,
        routes=routes if asked.count > 1 else (), route_password=password)
        for first, directory, route_port in zip(
            [True] + [False] * (asked.count - 1), dirs, ports, strict=True)]
    started: list[NatsServer] = []
    try:
        for server in servers:
            started.append(server.start())
            (server.data_dir / "port").write_text(str(server.port))
            if server.cluster_port is not None:
                (server.data_dir / "cluster-port").write_text(str(server.cluster_port))
    except BaseException:
        for server in started:
            server.stop()
        raise
    return servers


def _names(host: str) -> tuple[str, ...]:
    """The names a server listening on ``host`` is reached at, for its certificate: the
    address itself, this machine's name and loopback's."""
    return (host, socket.gethostname(), "localhost", "127.0.0.1")


def local_address(host: str) -> str:
    """An address to reach a listener on ``host`` at: 127.0.0.1 for every address."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "localhost") else host


def _remembered(path: Path, host: str) -> int:
    """The port kept at ``path`` last time, when it is free again (else 0)."""
    try:
        port = int(path.read_text())
    except (OSError, ValueError):
        return 0
    return port if port_is_free(host, port) else 0


def _free(host: str) -> int:
    """A port free on ``host`` now (for a route port, which nats-server cannot pick itself
    since every server must name the others')."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
