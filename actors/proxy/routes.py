"""What the service proxy listens on and where it sends each connection: pure decisions.

:func:`routes` turns the Services and EndpointSlices a proxy knows into one :class:`Route` per
address it must listen on: each TCP port of a Service with a ClusterIP (not headless, not
ExternalName) on ``clusterIP:port``, and for NodePort and LoadBalancer Services also on
``node_address:nodePort``; its backends are the ready endpoints of the Service's slices
(``conditions.ready``) at the slice's port of the same name. A Service port without a ready
endpoint has no route: nothing listens there, so a connection is refused at once (as
kube-proxy's REJECT rule), and a pod that turns unready leaves the backends, so new
connections stop reaching it (established ones go on). UDP and SCTP ports are not proxied.

Only addresses of ``allowed`` (:data:`LOOPBACK` unless the caller configures more) are
listened on or forwarded to: an EndpointSlice is written by anyone who may edit its
namespace, so an endpoint at ``10.0.0.5`` or ``0.0.0.0`` (or an address or port that is not
one) is left out, and a ClusterIP or node address outside them gets no listener; the proxy
never becomes a relay to another host.

:class:`Balancer` picks a backend per connection: round robin, or with ``sessionAffinity:
ClientIP`` the backend a client address had last (while it is still a backend and its
affinity has not timed out).

Neighbours: ``actors.proxy.proxy`` (the actor that computes these), ``bindings.proxy`` (the
forwarder that listens and forwards), ``actors.api.endpointslices`` (the slices' shape).

Which thread: :func:`routes` any; a :class:`Balancer` is used on the forwarder's loop thread.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeGuard

from actors.api import endpointslices, services
from actors.api.objects import Object

Address = tuple[str, int]
"""(IP, port)."""
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"),)
"""Where the proxy may listen and forward unless configured otherwise."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where connections to one listening address go."""

    service: str
    """``namespace/name:port``, for logs."""
    backends: tuple[Address, ...]
    affinity_seconds: float | None = None
    """ClientIP affinity's timeout; None: round robin."""


def routes(known_services: Iterable[Object], slices: Iterable[Object], node_address: str,
           allowed: tuple[Network, ...] = LOOPBACK) -> dict[Address, Route]:
    """Every address to listen on and its route (see the module docstring)."""
    ready = _ready_backends(slices, allowed)
    found: dict[Address, Route] = {}
    for service in known_services:
        spec = service.get("spec") or {}
        ip = spec.get("clusterIP")
        if not _within(ip, allowed) or spec.get("type") == "ExternalName":
            continue
        metadata = service["metadata"]
        owner = (metadata.get("namespace", ""), metadata["name"])
        affinity = _affinity(spec)
        for port in spec.get("ports") or []:
            backends = ready.get((*owner, port.get("name") or ""), ())
            number, node_port = _port(port.get("port")), _port(port.get("nodePort"))
            if port.get("protocol", "TCP") != "TCP" or not backends or number is None:
                continue
            route = Route(f"{owner[0]}/{owner[1]}:{port.get('name') or number}",
                          tuple(sorted(backends)), affinity)
            found[(ip, number)] = route
            if node_port and services.needs_node_ports(service) and \
                    _within(node_address, allowed):
                found[(node_address, node_port)] = route
    return found


def _within(ip: object, allowed: tuple[Network, ...]) -> TypeGuard[str]:
    """``ip`` is an address (not a network's own unspecified one) of one of ``allowed``."""
    if not isinstance(ip, str):
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not address.is_unspecified and any(address in net for net in allowed)


def _port(value: object) -> int | None:
    """A TCP port number, or None when ``value`` is not one."""
    return value if isinstance(value, int) and 0 < value < 65536 else None


def _affinity(spec: Object) -> float | None:
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    return float(config.get("timeoutSeconds", services.CLIENT_IP_TIMEOUT))


def _ready_backends(slices: Iterable[Object], allowed: tuple[Network, ...]
                    ) -> dict[tuple[str, str, str], set[Address]]:
    """(namespace, service, port name) -> the ready endpoints' addresses (those ``allowed``)."""
    found: dict[tuple[str, str, str], set[Address]] = {}
    for piece in slices:
        metadata = piece["metadata"]
        owner = (metadata.get("labels") or {}).get(endpointslices.SERVICE_NAME)
        if not owner:
            continue
        ready = [e["addresses"][0] for e in piece.get("endpoints") or []
                 if (e.get("conditions") or {}).get("ready", True) and e.get("addresses")
                 and _within(e["addresses"][0], allowed)]
        for port in piece.get("ports") or []:
            if (number := _port(port.get("port"))) is not None:
                found.setdefault((metadata.get("namespace", ""), owner, port.get("name") or ""),
                                 set()).update((ip, number) for ip in ready)
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
