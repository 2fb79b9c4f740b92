"""The HTTPS listener on a real socket (no bus: only ``/healthz``, which the front answers
itself): a connection that never completes a request is closed after ``idle_seconds``, as
kube-apiserver's ReadHeaderTimeout does, so anonymous half-open requests cannot hold the
process's memory and file descriptors (3000 of them held 790 MB for an hour before)."""

from __future__ import annotations

import gc
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.api import certs
from actors.api.discovery import Served
from bindings.cluster.pki import ensure_pki
from bindings.https import Front, HttpsListener, tls_context


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[HttpsListener, ssl.SSLContext]]:
    """A listener closing idle connections after one second, and a client context trusting
    its CA."""
    pki = ensure_pki(tmp_path / "pki")
    cert, key = pki.serving(tmp_path / "serving", ("127.0.0.1",))
    ca = certs.cert_pem(pki.ca)
    front = Front(None, None, Served)  # type: ignore[arg-type]  # /healthz never reaches the bus
    served = HttpsListener(front, tls_context(cert, key, ca), "127.0.0.1", 0,
                           idle_seconds=1).start()
    yield served, ssl.create_default_context(cadata=ca.decode())
    served.stop()


def _open(listener: HttpsListener, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection((listener.host, listener.port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_a_connection_that_never_finishes_its_headers_is_closed(listener):
    served, context = listener
    with _open(served, context) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # no blank line, ever
        assert sock.recv(1024) == b""  # closed by the server, well before the 10 s timeout


def test_a_connection_that_sends_nothing_is_closed(listener):
    served, context = listener
    with _open(served, context) as sock:
        assert sock.recv(1024) == b""


def test_a_complete_request_is_answered(listener):
    served, context = listener
    with _open(served, context) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(1024):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok")


def test_stopping_during_a_handshake_leaks_no_socket(listener):
    """A client that connected but never began TLS: the server's accept is still waiting for
    the handshake when the listener stops. Left pending, that task is destroyed with the loop
    and its socket is reported unclosed later, in whatever test runs then (a CI run failed so);
    the warnings filter turns such a report into an error of this test."""
    served, _ = listener
    with socket.create_connection((served.host, served.port), timeout=10) as raw:
        raw.sendall(b"\x16")  # one byte of a ClientHello, never the rest
        time.sleep(0.2)  # the server has accepted and awaits the handshake
        served.stop()
        gc.collect()
        assert raw.recv(1024) == b""  # the server closed its end
