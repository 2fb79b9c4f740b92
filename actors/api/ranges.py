"""Allocation bitmaps kept in the store: which ClusterIPs and NodePorts are taken.

As kube-apiserver's ``ipallocator`` and ``portallocator``, each range is one object, a v1
``RangeAllocation`` (``range``: the CIDR or ports; ``data``: the bitmap, the bytes of a big
integer whose bit *i* is offset *i*, base64), at a store key no resource serves. The
apiserver changes it with a write conditional on its ``resourceVersion`` (a GuaranteedUpdate):
of two apiservers taking one offset on one store, one write fails and is computed again from
the new bitmap, so no offset is handed out twice.

Pure functions over plain dicts and ints. Neighbours: ``actors.api.addresses`` (the ranges),
``actors.api.services`` (what a Service asks of them), ``actors.apiserver.serviceips`` (the
writes).

Which thread: any.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterable

from actors.api.objects import Object

SERVICE_IPS = "/ranges/serviceips"
"""The store key of the ClusterIPs' bitmap (kube-apiserver's ``/registry/ranges/serviceips``)."""
NODE_PORTS = "/ranges/servicenodeports"
"""The store key of the NodePorts' bitmap."""


class Taken(Exception):
    """An offset asked for is allocated already."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class Full(Exception):
    """No offset is free."""


def allocation(name: str, range_text: str) -> Object:
    """An empty RangeAllocation of ``range_text`` (kept at the key ``name`` names)."""
    return {"apiVersion": "v1", "kind": "RangeAllocation", "metadata": {"name": name},
            "range": range_text, "data": ""}


def bits_of(stored: Object) -> int:
    """The bitmap of a stored RangeAllocation."""
    return int.from_bytes(base64.b64decode(stored.get("data") or ""), "big")


def with_bits(stored: Object, bits: int) -> Object:
    """A copy of ``stored`` holding ``bits`` (without its resourceVersion: the store's)."""
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "big") if bits else b""
    metadata = {k: v for k, v in stored["metadata"].items() if k != "resourceVersion"}
    return {**stored, "metadata": metadata, "data": base64.b64encode(data).decode()}


def take(bits: int, size: int, wanted: Iterable[int | None],
         rng: random.Random | None = None) -> tuple[int, list[int]]:
    """Take each ``wanted`` offset (None: any free one, looked for from a random place, as
    kube's allocator does, so that two apiservers rarely race for one); the new bitmap and the
    offsets taken, in order. Raises :class:`Taken` for a named offset already taken and
    :class:`Full` when no offset is free."""
    chosen = []
    for offset in wanted:
        if offset is None:
            offset = _free(bits, size, (rng or random).randrange(size))
        elif bits >> offset & 1:
            raise Taken(offset)
        bits |= 1 << offset
        chosen.append(offset)
    return bits, chosen


def give_back(bits: int, offsets: Iterable[int]) -> int:
    """``bits`` with ``offsets`` free again."""
    for offset in offsets:
        bits &= ~(1 << offset)
    return bits


def _free(bits: int, size: int, start: int) -> int:
    for step in range(size):
        offset = (start + step) % size
        if not bits >> offset & 1:
            return offset
    raise Full()
