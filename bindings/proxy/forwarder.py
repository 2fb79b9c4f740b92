"""The service proxy's :class:`~actors.proxy.proxy.Forwarder`: listens on each route's
address and copies each accepted TCP connection to and from a backend.

Runs an asyncio loop on a thread of its own. :meth:`TcpForwarder.apply` hands it a new table:
listeners of addresses no longer in it close (connections already forwarded go on), new ones
open (an address that cannot be bound is logged and tried again at the next table), and the
others keep their listener and their balancer's state (round robin position, ClientIP
affinity) with the new backends. A connection goes to the backend the balancer picks; when
that backend refuses, to another, until none is left (the client is then closed).

Neighbours: ``actors.proxy.proxy`` (the actor that calls it), ``actors.proxy.routes`` (the
routes and the balancer).

Which thread: :meth:`apply` and :meth:`stop` from any thread; everything else on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading

from actors.proxy.routes import Address, Balancer, Route

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5.0
"""How long a backend may take to accept before the next one is tried."""
CHUNK = 64 * 1024


class TcpForwarder:
    """See the module docstring."""

    def __init__(self, name: str = "service-proxy") -> None:
        self._loop = asyncio.new_event_loop()
        self._servers: dict[Address, asyncio.AbstractServer] = {}
        self._balancers: dict[Address, Balancer] = {}
        self._copies: set[asyncio.Task[None]] = set()
        """The connections being forwarded: cancelled when the forwarder stops."""
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def apply(self, table: dict[Address, Route]) -> None:
        asyncio.run_coroutine_threadsafe(self._apply(dict(table)), self._loop)

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def listening(self) -> list[Address]:
        """The addresses listened on now (for tests and logs); waits for the loop."""
        async def now() -> list[Address]:
            return sorted(self._servers)

        return asyncio.run_coroutine_threadsafe(now(), self._loop).result(10)

    async def _shutdown(self) -> None:
        """No listener left, every forwarded connection closed."""
        await self._apply({})
        for task in self._copies:
            task.cancel()
        await asyncio.gather(*self._copies, return_exceptions=True)

    async def _apply(self, table: dict[Address, Route]) -> None:
        for address in [a for a in self._servers if a not in table]:
            self._servers.pop(address).close()
            self._balancers.pop(address, None)
        for address, route in table.items():
            balancer = self._balancers.get(address)
            if balancer is not None:
                balancer.route = route
                continue
            try:
                self._servers[address] = await asyncio.start_server(
                    functools.partial(self._forward, address), *address, reuse_address=True)
            except OSError as error:
                log.warning("service proxy: cannot listen on %s:%d for %s: %s", *address,
                            route.service, error.strerror)
                continue
            self._balancers[address] = Balancer(route)

    async def _forward(self, address: Address, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        balancer = self._balancers.get(address)
        peer = writer.get_extra_info("peername") or ("", 0)
        backend = await self._connect(balancer, peer[0]) if balancer else None
        if backend is None:
            writer.close()
            return
        upstream_reader, upstream_writer = backend
        task = asyncio.current_task()
        assert task is not None, "forwarding runs in a task"
        self._copies.add(task)
        try:
            await asyncio.gather(_copy(reader, upstream_writer), _copy(upstream_reader, writer))
        finally:
            self._copies.discard(task)
            for end in (writer, upstream_writer):
                with contextlib.suppress(ConnectionError, OSError):
                    end.close()

    async def _connect(self, balancer: Balancer, client_ip: str
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        tried: list[Address] = []
        while (chosen := balancer.pick(client_ip, tried)) is not None:
            try:
                return await asyncio.wait_for(asyncio.open_connection(*chosen), CONNECT_SECONDS)
            except (OSError, TimeoutError):
                tried.append(chosen)
        log.info("service proxy: no backend of %s accepted", balancer.route.service)
        return None


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the reader ends, then half-close the writer (the other way goes on); a
    connection reset ends it too."""
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
