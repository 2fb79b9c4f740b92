"""The addresses of one node's pods: what CNI's host-local IPAM does for a kubelet.

A pod on the host's network has the node's address; any other gets the lowest free address of
the node's ``spec.podCIDR`` (given by the node IPAM controller), kept while the kubelet knows
the pod and given back when it forgets it. A pod that already shows an address of the range
(the kubelet restarted) keeps it. On Docker such a pod runs with no network at all; its address
is the one Kubernetes would show (its sandbox's, from the node's range), reachable by nothing:
Services reach pods on the host's network (see ``actors.proxy``).

Neighbours: ``actors.api.addresses`` (the range arithmetic), ``actors.kubelet.kubelet`` (sets
the range when the Node shows it, forgets pods), ``actors.kubelet.podsync`` (asks, per status).

Which thread: any; one lock.
"""

from __future__ import annotations

import threading

from actors.api import addresses
from actors.api.objects import Object


class PodAddresses:
    """See the module docstring."""

    def __init__(self, node_address: str) -> None:
        self.node_address = node_address
        self.cidr: str | None = None
        """The node's pod range; None until the node IPAM controller gave one."""
        self._held: dict[str, str] = {}
        """Pod uid -> its address."""
        self._lock = threading.Lock()

    def set_range(self, cidr: str | None) -> bool:
        """Take the node's range; True when it is new (pods waiting for one may now get one)."""
        with self._lock:
            changed, self.cidr = cidr != self.cidr, cidr
            return changed and cidr is not None

    def address(self, pod: Object) -> str | None:
        """The pod's address; None while the node has no range (or it is full)."""
        if pod.get("spec", {}).get("hostNetwork"):
            return self.node_address
        uid = pod["metadata"]["uid"]
        with self._lock:
            if uid in self._held or self.cidr is None:
                return self._held.get(uid)
            taken = set(self._held.values())
            shown = pod.get("status", {}).get("podIP")
            if shown and shown not in taken and addresses.offset_of(self.cidr, shown):
                chosen: str | None = shown
            else:
                chosen = addresses.next_pod_ip(self.cidr, taken)
            if chosen is not None:
                self._held[uid] = chosen
            return chosen

    def release(self, uid: str) -> None:
        with self._lock:
            self._held.pop(uid, None)
