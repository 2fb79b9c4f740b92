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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from actors.api.objects import Object

SERVICE_IPS = "/ranges/serviceips"
"""The store key of the ClusterIPs' bitmap (kube-apiserver's ``/registry/ranges/serviceips``)."""
NODE_PORTS = "/ranges/servicenodeports"
"""The store key of the NodePorts' bitmap."""
LEAK_REPAIRS = 3
"""Repairs that must find an offset taken by no object before it is freed (kube-apiserver's
``numRepairsBeforeLeakCleanup``): a create takes its offset before its object is written."""


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


@dataclass(slots=True)
class Repair:
    """What a repair of one bitmap found, and the bitmap to store."""

    bits: int
    leaks: dict[int, int] = field(default_factory=dict)
    """Offsets taken by no object, and the repairs each has left before it is freed."""
    marked: list[int] = field(default_factory=list)
    """Offsets an object holds that the bitmap did not say were taken (now taken)."""
    freed: list[int] = field(default_factory=list)
    """Offsets taken by no object for :data:`LEAK_REPAIRS` repairs (now free)."""
    doubled: list[int] = field(default_factory=list)
    """Offsets two objects or more hold (reported, as kube-apiserver's repair reports them)."""


def repair(bits: int, held: Iterable[int], leaks: Mapping[int, int]) -> Repair:
    """kube-apiserver's repair of an allocation bitmap (``ipallocator/controller/repair.go``):
    every offset ``held`` by an object is taken; an offset taken by none stays taken until
    :data:`LEAK_REPAIRS` repairs in a row have found it so (``leaks``: what the last repair
    left), then is freed."""
    found, doubled = 0, []
    for offset in held:
        if found >> offset & 1:
            doubled.append(offset)
        found |= 1 << offset
    result = Repair(found, marked=_offsets(found & ~bits), doubled=doubled)
    for offset in _offsets(bits & ~found):
        left = leaks.get(offset, LEAK_REPAIRS) - 1
        if left > 0:
            result.leaks[offset] = left
            result.bits |= 1 << offset
        else:
            result.freed.append(offset)
    return result


def _offsets(bits: int) -> list[int]:
    """The offsets set in ``bits``, lowest first."""
    offsets = []
    while bits:
        low = bits & -bits
        offsets.append(low.bit_length() - 1)
        bits ^= low
    return offsets
