"""What the service proxy listens on and where it sends each connection: pure decisions.

:func:`routes` turns the Services and EndpointSlices a proxy knows into one :class:`Route` per
address it must listen on: each TCP port of a Service with a ClusterIP (not headless, not
ExternalName) on ``clusterIP:port``, and for NodePort and LoadBalancer Services also on
``node_address:nodePort``; its backends are the ready endpoints of the Service's slices
(``conditions.ready``) at the slice's port of the same name. A Service port without a ready
endpoint has no route: nothing listens there, so a connection is refused at once (as
kube-proxy's REJECT rule), and a pod that turns unready leaves the backends, so new
connections stop reaching it (established ones go on). UDP and SCTP ports are not proxied.

:class:`Balancer` picks a backend per connection: round robin, or with ``sessionAffinity:
ClientIP`` the backend a client address had last (while it is still a backend and its
affinity has not timed out).

Neighbours: ``actors.proxy.proxy`` (the actor that computes these), ``bindings.proxy`` (the
forwarder that listens and forwards), ``actors.api.endpointslices`` (the slices' shape).

Which thread: :func:`routes` any; a :class:`Balancer` is used on the forwarder's loop thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from actors.api import endpointslices, services
from actors.api.objects import Object

Address = tuple[str, int]
"""(IP, port)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where connections to one listening address go."""

    service: str
    """``namespace/name:port``, for logs."""
    backends: tuple[Address, ...]
    affinity_seconds: float | None = None
    """ClientIP affinity's timeout; None: round robin."""


def routes(known_services: Iterable[Object], slices: Iterable[Object], node_address: str
           ) -> dict[Address, Route]:
    """Every address to listen on and its route (see the module docstring)."""
    ready = _ready_backends(slices)
    found: dict[Address, Route] = {}
    for service in known_services:
        spec = service.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == services.HEADLESS or spec.get("type") == "ExternalName":
            continue
        metadata = service["metadata"]
        owner = (metadata.get("namespace", ""), metadata["name"])
        affinity = _affinity(spec)
        for port in spec.get("ports") or []:
            backends = ready.get((*owner, port.get("name") or ""), ())
            if port.get("protocol", "TCP") != "TCP" or not backends:
                continue
            route = Route(f"{owner[0]}/{owner[1]}:{port.get('name') or port['port']}",
                          tuple(sorted(backends)), affinity)
            found[(ip, int(port["port"]))] = route
            if port.get("nodePort") and services.needs_node_ports(service):
                found[(node_address, int(port["nodePort"]))] = route
    return found


def _affinity(spec: Object) -> float | None:
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    return float(config.get("timeoutSeconds", services.CLIENT_IP_TIMEOUT))


def _ready_backends(slices: Iterable[Object]) -> dict[tuple[str, str, str], set[Address]]:
    """(namespace, service, port name) -> the ready endpoints' addresses."""
    found: dict[tuple[str, str, str], set[Address]] = {}
    for piece in slices:
        metadata = piece["metadata"]
        owner = (metadata.get("labels") or {}).get(endpointslices.SERVICE_NAME)
        if not owner:
            continue
        ready = [e["addresses"][0] for e in piece.get("endpoints") or []
                 if (e.get("conditions") or {}).get("ready", True) and e.get("addresses")]
        for port in piece.get("ports") or []:
            if port.get("port") is not None:
                found.setdefault((metadata.get("namespace", ""), owner, port.get("name") or ""),
                                 set()).update((ip, int(port["port"])) for ip in ready)
    return found


@dataclass(slots=True)
class Balancer:
    """Picks a backend for each connection to one route; told new backends as they change."""

    route: Route
    clock: Callable[[], float] = time.monotonic
    _next: int = 0
    _affinity: dict[str, tuple[Address, float]] = field(default_factory=dict)
    """Client IP -> (its backend, when it was last used)."""

    def pick(self, client_ip: str, tried: Iterable[Address] = ()) -> Address | None:
        """The backend for a connection from ``client_ip`` (none of ``tried``, which failed
        to connect); None when none is left."""
        left = [b for b in self.route.backends if b not in set(tried)]
        if not left:
            return None
        now, timeout = self.clock(), self.route.affinity_seconds
        if timeout is not None:
            held = self._affinity.get(client_ip)
            if held is not None and held[0] in left and now - held[1] <= timeout:
                self._affinity[client_ip] = (held[0], now)
                return held[0]
        chosen = left[self._next % len(left)]
        self._next += 1
        if timeout is not None:
            self._affinity[client_ip] = (chosen, now)
        return chosen
