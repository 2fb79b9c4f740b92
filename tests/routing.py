"""NATS clusters in tests: a free port for a route, and waiting until two servers route
messages to each other (plaintext, or TLS against a CA)."""

from __future__ import annotations

import asyncio
import socket

import nats
import nats.errors

from bus.config import tls_options
from bus.server import NatsServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_routed(sender: NatsServer, receiver: NatsServer, user: str = "",
                      password: str = "", ca: bytes | None = None) -> None:
    """Until a message published on ``sender`` reaches a subscriber on ``receiver`` (both
    connections as ``user``, who may publish and subscribe anywhere; over TLS checked against
    ``ca`` where the servers speak it)."""
    async def probe() -> None:
        inbound, outbound = [await nats.connect(server.url, user=user, password=password,
                                                **tls_options(server.url, ca))
                             for server in (receiver, sender)]
        try:
            subscription = await inbound.subscribe("route.probe")
            await inbound.flush()
            for _ in range(200):
                await outbound.publish("route.probe", b"?")
                try:
                    await subscription.next_msg(timeout=0.05)
                    return
                except nats.errors.TimeoutError:
                    continue
            raise AssertionError("the two nats-servers never formed a cluster")
        finally:
            await inbound.close()
            await outbound.close()

    asyncio.run(probe())
