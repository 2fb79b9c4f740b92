"""The service proxy actor: kube-proxy's role on a node, as an actor of the kubelet's process.

It follows Services and EndpointSlices (two informers, as the kubelet's node identity, which
may read them: kube's ``system:node-proxier`` rules) and, on every change, hands the routes
(``actors.proxy.routes.routes``) to its :class:`Forwarder`, which listens on each route's
address and forwards each TCP connection to a backend its route's balancer picks. 127.0.0.0/8
addresses are all local on Linux, so listening on a ClusterIP needs no set-up. One proxy
serves a whole kubelet process (all its Docker nodes share the host's addresses); simulated
nodes have none.

Neighbours: ``actors.proxy.routes`` (the decisions), ``bindings.proxy`` (the forwarder),
``bindings.cluster.launcher`` (starts it beside the kubelet).

Which thread: informer events arrive on the bus loop and are handed to the actor thread, which
computes the routes; the forwarder applies them on its own loop.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from actors.api import endpointslices
from actors.client.client import Client, WatchEvent
from actors.client.informer import Informer
from actors.proxy.routes import Address, Route, routes
from bus.actor import BusActor
from bus.connection import Connection

log = logging.getLogger(__name__)

REFRESH = object()
"""Local message: the Services or slices changed; compute the routes again."""


class Forwarder(Protocol):
    """Listens on the routes' addresses and forwards connections (``bindings.proxy``)."""

    def apply(self, table: dict[Address, Route]) -> None:
        """Listen on exactly ``table``'s addresses from now on, with its routes (any
        thread; returns at once)."""

    def stop(self) -> None:
        """Stop listening and forwarding."""


class ServiceProxy(BusActor):
    """See the module docstring."""

    def __init__(self, connection: Connection, client: Client, forwarder: Forwarder,
                 node_address: str) -> None:
        super().__init__(connection)
        self.client, self.forwarder, self.node_address = client, forwarder, node_address
        self._informers: list[Informer] = []
        self._pending = False
        """A refresh is queued: more events before it need no other."""

    def on_start(self) -> None:
        super().on_start()
        for resource in ("services", endpointslices.RESOURCE):
            self._informers.append(Informer(self.client, resource, self._changed).start())
        self._refresh()

    def on_stop(self) -> None:
        for informer in self._informers:
            informer.stop()
        self.forwarder.stop()
        super().on_stop()

    def _changed(self, event: WatchEvent) -> None:  # bus loop thread: hand over
        if not self._pending:
            self._pending = True
            self.tell_soon(REFRESH)

    def on_local(self, message: Any) -> Any:
        if message is REFRESH:
            self._refresh()
            return None
        return super().on_local(message)

    def _refresh(self) -> None:
        self._pending = False
        known, pieces = (informer.items() for informer in self._informers)
        self.forwarder.apply(routes(known, pieces, self.node_address))
