"""Pod, node and Service addresses: the ranges a cluster uses and the choices made in them.

The defaults sit inside 127.0.0.0/8, every address of which is local on Linux, so that a
cluster on one machine needs no network set-up and sends nothing off the machine:

- ``CLUSTER_CIDR`` (``--cluster-cidr``) 127.64.0.0/10, cut into one /24 per node
  (``NODE_CIDR_MASK``, kube-controller-manager's ``--node-cidr-mask-size`` for IPv4): 16,384
  nodes of 254 pod addresses each (a node runs at most 110 pods).
- ``SERVICE_CIDR`` (``--service-cluster-ip-range``) 127.16.0.0/16, apart from the pods'
  range and from 127.0.0.1: 65,534 ClusterIPs, the first of which is the ``kubernetes``
  Service's, as kube-apiserver gives it.
- ``NODE_PORTS`` (``--service-node-port-range``) 30000-32767, Kubernetes' own.

A cluster of several machines would use routable ranges instead (each node's pod range
reachable from the others), as Kubernetes does: say ``--cluster-cidr 10.244.0.0/16`` and
``--service-cluster-ip-range 10.96.0.0/12``.

Neighbours: ``actors.api.ranges`` (the allocation bitmaps kept in the store),
``actors.controllers.nodeipam`` (gives each node its ``spec.podCIDR``), the kubelet (gives each
pod an address of its node's range), ``actors.apiserver.serviceips`` (ClusterIPs, NodePorts).

Which thread: any; pure functions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass

CLUSTER_CIDR = "127.64.0.0/10"
"""Where pod addresses come from (``--cluster-cidr``)."""
NODE_CIDR_MASK = 24
"""The prefix length of each node's share of ``CLUSTER_CIDR`` (``--node-cidr-mask-size``)."""
SERVICE_CIDR = "127.16.0.0/16"
"""Where ClusterIPs come from (``--service-cluster-ip-range``)."""
NODE_PORTS = "30000-32767"
"""Where NodePorts come from (``--service-node-port-range``)."""


@dataclass(frozen=True, slots=True)
class PortRange:
    """A range of ports, both ends included: ``30000-32767``."""

    first: int
    last: int

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """``30000-32767`` (or one port); ValueError naming the text when it is not one."""
        low, _, high = text.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"invalid port range {text!r}: want FIRST-LAST") from None
        if not 0 < first <= last < 65536:
            raise ValueError(f"invalid port range {text!r}: want 1 <= FIRST <= LAST <= 65535")
        return cls(first, last)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True, slots=True)
class Ranges:
    """A cluster's address ranges (the flags of ``up`` and ``server``), checked when made."""

    cluster_cidr: str = CLUSTER_CIDR
    """Pods' addresses (``--cluster-cidr``)."""
    node_cidr_mask: int = NODE_CIDR_MASK
    """Each node's share of them (``--node-cidr-mask-size``)."""
    service_cidr: str = SERVICE_CIDR
    """ClusterIPs (``--service-cluster-ip-range``)."""
    node_ports: str = NODE_PORTS
    """NodePorts (``--service-node-port-range``)."""
    repair_seconds: float = 180.0
    """Period of the apiserver's repair of both ranges' bitmaps against the Services that hold
    them (kube-apiserver's 3 minutes); 0: never."""

    def __post_init__(self) -> None:
        pods, services = network(self.cluster_cidr), network(self.service_cidr)
        PortRange.parse(self.node_ports)
        if not pods.prefixlen <= self.node_cidr_mask <= 30:
            raise ValueError(f"--node-cidr-mask-size {self.node_cidr_mask} must be between "
                             f"the cluster CIDR's ({pods.prefixlen}) and 30")
        if pods.overlaps(services):
            raise ValueError(f"--service-cluster-ip-range {services} overlaps "
                             f"--cluster-cidr {pods}")
        if services.num_addresses < 8:
            raise ValueError(f"--service-cluster-ip-range {services} is too small")


def network(cidr: str) -> ipaddress.IPv4Network:
    """The IPv4 network ``cidr`` names; ValueError saying so when it is not one."""
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as error:
        raise ValueError(f"invalid CIDR {cidr!r}: {error}") from None


def hosts(cidr: str) -> int:
    """How many addresses of ``cidr`` can be handed out (not its network nor broadcast)."""
    return max(network(cidr).num_addresses - 2, 0)


def host(cidr: str, offset: int) -> str:
    """The ``offset``-th address that can be handed out in ``cidr`` (0: the one after the
    network address)."""
    return str(network(cidr).network_address + 1 + offset)


def offset_of(cidr: str, address: str) -> int | None:
    """Where ``address`` sits among ``cidr``'s addresses to hand out; None when outside."""
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return None
    offset = int(ip) - int(network(cidr).network_address) - 1
    return offset if 0 <= offset < hosts(cidr) else None


def next_node_cidr(cluster_cidr: str, mask: int, taken: Collection[str]) -> str | None:
    """The first node range not ``taken``; None when the cluster range is full
    (kube-controller-manager's range allocator then reports CIDRNotAvailable)."""
    whole = network(cluster_cidr)
    step, base = 1 << (32 - mask), int(whole.network_address)
    for index in range(whole.num_addresses // step):  # arithmetic: a thousand nodes are cheap
        cidr = f"{ipaddress.IPv4Address(base + index * step)}/{mask}"
        if cidr not in taken:
            return cidr
    return None


def next_pod_ip(pod_cidr: str, taken: Collection[str]) -> str | None:
    """The lowest address of the node's range no pod holds, after the gateway (the range's
    first address, as CNI's host-local IPAM keeps it for the bridge); None when full."""
    for offset in range(1, hosts(pod_cidr)):
        candidate = host(pod_cidr, offset)
        if candidate not in taken:
            return candidate
    return None
