"""The service proxy's forwarder on real loopback sockets: a ClusterIP address listened on,
connections spread over the backends, a backend taken out stops getting new ones, no route
refuses at once, ClientIP affinity."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from actors.proxy.routes import Route
from bindings.proxy import TcpForwarder
from tests.support import until

CLUSTER_IP = ("127.16.77.1", 18080)


class _Named(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _backend(name: bytes) -> _Named:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(64)
            self.request.sendall(name)

    server = _Named(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def backends() -> Iterator[dict[bytes, tuple[str, int]]]:
    servers = {name: _backend(name) for name in (b"a", b"b")}
    yield {name: server.server_address for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture
def forwarder() -> Iterator[TcpForwarder]:
    made = TcpForwarder("test-proxy")
    yield made
    made.stop()


def _ask(address: tuple[str, int] = CLUSTER_IP) -> bytes:
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(b"hi")
        return conn.recv(64)


def _listening(forwarder: TcpForwarder, wanted: list) -> None:
    until(lambda: forwarder.listening() == wanted, timeout=10)


def test_connections_go_round_robin_and_a_backend_taken_out_gets_no_more(forwarder, backends):
    forwarder.apply({CLUSTER_IP: Route("default/web:80", tuple(backends.values()))})
    _listening(forwarder, [CLUSTER_IP])
    assert sorted(_ask() for _ in range(4)) == [b"a", b"a", b"b", b"b"]
    forwarder.apply({CLUSTER_IP: Route("default/web:80", (backends[b"b"],))})
    until(lambda: all(_ask() == b"b" for _ in range(4)), timeout=10)


def test_no_route_refuses_at_once(forwarder, backends):
    forwarder.apply({CLUSTER_IP: Route("default/web:80", (backends[b"a"],))})
    _listening(forwarder, [CLUSTER_IP])
    forwarder.apply({})
    _listening(forwarder, [])
    with pytest.raises(ConnectionRefusedError):
        _ask()


def test_a_backend_that_refuses_is_passed_over(forwarder, backends):
    dead = ("127.0.0.1", 1)  # nothing listens there: refused
    forwarder.apply({CLUSTER_IP: Route("default/web:80", (dead, backends[b"a"]))})
    _listening(forwarder, [CLUSTER_IP])
    assert [_ask() for _ in range(3)] == [b"a"] * 3


def test_client_ip_affinity_keeps_one_backend(forwarder, backends):
    forwarder.apply({CLUSTER_IP: Route("default/web:80", tuple(backends.values()), 60.0)})
    _listening(forwarder, [CLUSTER_IP])
    assert len({_ask() for _ in range(6)}) == 1
