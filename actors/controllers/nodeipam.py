"""The node IPAM controller: each node's ``spec.podCIDR``, a share of the cluster's pod range
(kube-controller-manager's ``nodeipam`` controller with its RangeAllocator).

A node without a range gets the first one of ``--cluster-cidr`` (cut at
``--node-cidr-mask-size``) that no node holds (``actors.api.addresses.next_node_cidr``); the
kubelet then gives its pods addresses from it. A full cluster range leaves the node without one
and records a ``CIDRNotAvailable`` Event, as Kubernetes does. Ranges are told apart from the
cache, which each write updates at once (``remember``): one controller (the leader's) hands
them out, one node at a time, so no two nodes get one range.

Neighbours: ``actors.controllers.controller`` (the base), ``actors.api.addresses`` (the choice),
``actors.controllers.manager`` (starts it), the kubelet (reads the range).
"""

from __future__ import annotations

from actors.api import addresses
from actors.client.client import Client
from actors.controllers.controller import Controller, ControllerConfig, Key
from bus.connection import Connection


class NodeIpamController(Controller):
    """See the module docstring."""

    component = "node-ipam-controller"
    resources = ("nodes",)

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None,
                 ranges: addresses.Ranges | None = None) -> None:
        super().__init__(connection, client, config)
        self.ranges = ranges or addresses.Ranges()

    def reconcile(self, key: Key) -> float | None:
        node = self.cached(key)
        if node is None or node.get("spec", {}).get("podCIDR"):
            return None
        taken = {other.get("spec", {}).get("podCIDR") for other in self.listed("nodes")}
        cidr = addresses.next_node_cidr(self.ranges.cluster_cidr,
                                        self.ranges.node_cidr_mask, taken - {None})
        if cidr is None:
            self.record_event(node, "Normal", "CIDRNotAvailable",
                              f"Node {key.name} status is now: CIDRNotAvailable")
            return None
        spec = {**node.get("spec", {}), "podCIDR": cidr, "podCIDRs": [cidr]}
        self.remember(self.client.update("nodes", dict(node, spec=spec)))
        return None
