"""The HTTPS server: aiohttp on an event loop of its own, with the cluster's TLS.

TLS: the serving certificate (the cluster CA's, naming the listen address, ``localhost`` and
``127.0.0.1``) and TLS 1.2 at least; a client certificate is asked for and, when one is shown,
must chain to the cluster CA, or the handshake fails (a certificate of another CA is refused
before any request is read). Who it names is the apiserver's to decide (``front``).

A connection that has not sent a whole request within ``idle_seconds`` of opening, or of its
last answer, is closed (:data:`IDLE_SECONDS`); one whose request is being answered (a watch)
stays.

aiohttp is the server library: asyncio like the bus (one loop thread serves every connection,
no thread per client), chunked streaming responses for watches, TLS through ``ssl`` with the
peer's certificate at hand, and a WebSocket server for ``exec`` and ``attach``.

Which thread: :meth:`HttpsListener.start` and :meth:`~HttpsListener.stop` block their caller
until the server is up or down; the handlers run on the listener's own loop thread
(``https``), never on the bus loop.

Neighbours: ``front`` (the handlers), ``bindings.cluster.launcher`` (starts it beside the
apiserver), ``bindings.cluster.pki`` (the serving certificate).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from concurrent.futures import Future
from pathlib import Path

from aiohttp import web

from bindings.https.front import Front
from bus.errors import UsageError

DEFAULT_LISTEN = "127.0.0.1:6443"
"""Where ``up`` and ``server`` serve the API unless told (kube-apiserver's port)."""
IDLE_SECONDS = 32.0
"""How long a connection may go without a whole request (kube-apiserver's ReadHeaderTimeout;
it also ends idle keep-alive connections, which kube-apiserver keeps 90 s). aiohttp's own
default is an hour: 3000 anonymous half-sent requests held 790 MB and 3000 descriptors."""


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (port 0: a free one); UsageError when it is not one."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"{text!r} is not HOST:PORT (port 0: a free one)")
    return host.strip("[]"), int(port)


def tls_context(cert: Path, key: Path, ca: bytes) -> ssl.SSLContext:
    """The server's TLS: its certificate and key (files), client certificates optional but
    verified against ``ca`` (PEM) when shown."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=ca.decode())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


class HttpsListener:
    """Serves ``front`` on ``host``:``port`` with ``context``, on a thread of its own."""

    def __init__(self, front: Front, context: ssl.SSLContext, host: str, port: int,
                 idle_seconds: float = IDLE_SECONDS) -> None:
        self.front, self.context, self.host, self.port = front, context, host, port
        self.idle_seconds = idle_seconds
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="https",
                                        daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def start(self) -> HttpsListener:
        """Listen (blocks until it does); OSError when the address cannot be had."""
        self._thread.start()
        started: Future[None] = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        try:
            started.result(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    async def _start(self) -> None:
        app = web.Application(client_max_size=self.front.max_body_bytes)
        app.router.add_route("*", "/{path:.*}", self.front.handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                                     keepalive_timeout=self.idle_seconds)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, ssl_context=self.context).start()
        self.port = int(self._runner.addresses[0][1])
        self.front.address = f"{self.host}:{self.port}"

    async def _stop(self) -> None:
        """Close the site and its connections, then end what is still pending on the loop: a
        connection accepted while the site closed is still in its TLS handshake, and a task
        left pending when the loop closes leaks its socket (asyncio reports it later, in
        whatever code runs then)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def stop(self) -> None:
        """Close the listener and every connection; idempotent."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()
        self.front.node_calls.shutdown(wait=False, cancel_futures=True)
