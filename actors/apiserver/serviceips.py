"""ClusterIPs and NodePorts: what a Service write takes from the ranges and gives back.

A create or update of a Service first takes what it asks for (``actors.api.services``: its
ClusterIP, named or any free one of ``--service-cluster-ip-range``; a NodePort for each port
of a NodePort or LoadBalancer Service) from the range's bitmap in the store
(``actors.api.ranges``), by a write conditional on the bitmap's ``resourceVersion``, computed
again from the new bitmap when another write came first (so two apiservers on one store never
hand out one address twice); then the Service is written. When that write fails, what was
taken is given back; when it succeeds, what the old Service held and the new one does not is
given back, as on removal. A dry run takes nothing but is refused as the real write would be.
At start, :meth:`ServiceAllocations.publish_kubernetes_service` writes ``default/kubernetes``
(kube-apiserver's bootstrap controller) on the range's first address. The store has no
transactions over two keys, so a crash between a bitmap write and the Service's can leak an
offset (or lose one, restored from a backup): :meth:`ServiceAllocations.repair_ranges`,
kube-apiserver's repair loops, sets each bitmap again from the Services every
``Ranges.repair_seconds``.

Neighbours: ``verbs`` (calls :meth:`ServiceAllocations._allocated`), ``actors.api.services``,
``actors.api.ranges``, ``actors.api.addresses``.

Which thread: an apiserver worker's actor thread; the writes are yielded as any verb's.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from actors.api import addresses, endpointslices, ranges, services
from actors.api.objects import Object
from actors.api.resources import BY_KIND
from actors.api.validation import invalid
from actors.apiserver.admission.chain import Delay
from actors.apiserver.registry import prepare_create
from actors.store import Write
from bus.errors import AlreadyExists, Conflict, ServiceUnavailable

if TYPE_CHECKING:
    import pykka

    from actors.apiserver.requests import ApiServerConfig, Request, Result, Step
    from actors.store import StoreView

log = logging.getLogger(__name__)

ATTEMPTS = 100
"""How often a bitmap write is computed again after another write came first: each round of
concurrent writes of one bitmap lets one through, so a burst of N creates needs N rounds."""
BACKOFF = 0.005
"""Seconds of random pause per attempt made, up to 20 of them (at most 0.1 s): the writes
that lost spread out instead of colliding again."""

REPAIR_RANGES = object()
"""The bootstrap worker's message to itself: :meth:`ServiceAllocations.repair_ranges` now."""

Change = Callable[[int], int]
"""A bitmap in, the bitmap to store out (raises Invalid to refuse)."""


class ServiceAllocations:
    """Mixed into :class:`~actors.apiserver.server.ApiServer`; see the module docstring."""

    config: ApiServerConfig
    view: StoreView | None
    store: pykka.ActorProxy[Any]
    range_leaks: dict[str, dict[int, int]]
    """Per bitmap key, the offsets the last repair found taken by no Service (and the repairs
    each has left before it is freed)."""

    if TYPE_CHECKING:
        def _observe(self, obj: Object, deleted: bool = False) -> None: ...

    def _allocated(self, request: Request, obj: Object, old: Object | None,
                   write: Callable[[], Generator[Step, Result, Object]]
                   ) -> Generator[Step, Result, Object]:
        """``write()`` the Service ``obj`` (replacing ``old``) holding what it asks of the
        ranges; any other object is written as it is."""
        if request.info.name != services.RESOURCE or request.info.group or \
                request.subresource is not None:
            return (yield from write())
        if old is not None:
            services.keep_allocated(obj, old)
        yield from self._take(request, obj, old)
        try:
            stored = yield from write()
        except BaseException:
            yield from self._give_back(request, obj, old)
            raise
        if old is not None:
            yield from self._give_back(request, old, stored)
        return stored

    def _released(self, request: Request, removed: Object) -> Generator[Step, Result, None]:
        """Give back what a removed Service held."""
        if request.info.name == services.RESOURCE and not request.info.group:
            yield from self._give_back(request, removed, None)

    def publish_kubernetes_service(self, address: str, port: int) -> None:
        """The ``kubernetes`` Service in ``default`` on the first ClusterIP, and its
        Endpoints and EndpointSlice on the HTTPS API's ``address``:``port`` (kube-apiserver's
        bootstrap controller); written straight to the store, again after a restart on
        another port. Blocks this worker's thread on the store (at start, once)."""
        assert self.view is not None, "publish after on_start"
        ip = addresses.host(self.config.ranges.service_cidr, 0)
        for obj in (services.kubernetes_service(ip),
                    services.kubernetes_endpoints(address, port),
                    endpointslices.kubernetes_slice(address, port)):
            info = BY_KIND[obj["kind"]]
            key = info.key("default", services.KUBERNETES)
            old = self.view.get(key)
            with contextlib.suppress(AlreadyExists, Conflict):  # another apiserver's, now
                if old is None:
                    if info.name == services.RESOURCE:
                        self._take_first_ip()
                    self._observe(self.store.create(key, prepare_create(
                        info, obj, "default", None)).get())
                elif info.name != services.RESOURCE and any(
                        old.get(f) != obj.get(f) for f in ("subsets", "endpoints", "ports")):
                    self._observe(self.store.update(
                        key, {**old, **obj, "metadata": old["metadata"]},
                        int(old["metadata"]["resourceVersion"])).get())

    def repair_ranges(self) -> None:
        """kube-apiserver's repair loops over ClusterIPs and NodePorts (``ranges.repair``):
        an offset a Service holds that its bitmap does not mark is marked, one no Service has
        held for ``LEAK_REPAIRS`` repairs in a row is freed, an address held twice or out of
        its range is reported. A repair whose write loses to another write waits for the next.
        Blocks this worker's thread on the store (once a period)."""
        assert self.view is not None, "repairs after on_start"
        cidr = self.config.ranges.service_cidr
        span = addresses.PortRange.parse(self.config.ranges.node_ports)
        # The bitmaps first: an offset taken after them is one no Service read below holds.
        stored = {key: self.view.get(key) for key in (ranges.SERVICE_IPS, ranges.NODE_PORTS)}
        held = self.view.page(BY_KIND["Service"].prefix(None))[0]
        ips = [(s, _held_ip(s)) for s in held if _held_ip(s) is not None]
        offsets = [(s, addresses.offset_of(cidr, str(ip))) for s, ip in ips]
        for service, offset in offsets:
            if offset is None:
                log.warning("the ClusterIP %s of Service %s is not within %s",
                            service["spec"]["clusterIP"], _named(service), cidr)
        self._repair(ranges.SERVICE_IPS, stored[ranges.SERVICE_IPS], cidr,
                     [o for _, o in offsets if o is not None],
                     lambda o: f"ClusterIP {addresses.host(cidr, o)}")
        self._repair(ranges.NODE_PORTS, stored[ranges.NODE_PORTS], str(span),
                     [p - span.first for s in held for p in services.node_ports(s)
                      if span.first <= p <= span.last],
                     lambda o: f"NodePort {o + span.first}")

    def _repair(self, key: str, stored: Object | None, range_text: str, held: list[int],
                shown: Callable[[int], str]) -> None:
        current = stored or ranges.allocation(key.rsplit("/", 1)[-1], range_text)
        bits = ranges.bits_of(current)
        found = ranges.repair(bits, held, self.range_leaks.get(key, {}))
        for words, offsets in (("is held by a Service but was not allocated; repairing",
                                found.marked), ("is held by no Service: freed", found.freed),
                               ("is held by more than one Service", found.doubled)):
            for offset in offsets:
                log.warning("%s %s", shown(offset), words)
        if found.bits != bits:
            try:
                if stored is None:
                    self.store.create(key, ranges.with_bits(current, found.bits)).get()
                else:
                    self.store.update(key, ranges.with_bits(current, found.bits),
                                      int(stored["metadata"]["resourceVersion"])).get()
            except (Conflict, AlreadyExists):
                return  # another write came first: the next repair looks again
        self.range_leaks[key] = found.leaks

    def _take_first_ip(self) -> None:
        """Mark the first ClusterIP taken (the ``kubernetes`` Service's), as a create would."""
        assert self.view is not None, "publish after on_start"
        cidr = self.config.ranges.service_cidr
        stored = self.view.get(ranges.SERVICE_IPS)
        current = stored or ranges.allocation("serviceips", cidr)
        bits = ranges.bits_of(current)
        if bits & 1:
            return
        taken = ranges.with_bits(current, bits | 1)
        if stored is None:
            self.store.create(ranges.SERVICE_IPS, taken).get()
        else:
            self.store.update(ranges.SERVICE_IPS, taken,
                              int(stored["metadata"]["resourceVersion"])).get()

    # -- taking ------------------------------------------------------------------------------

    def _take(self, request: Request, obj: Object, old: Object | None
              ) -> Generator[Step, Result, None]:
        spec = obj["spec"]
        held = _held_ip(old)
        if not services.needs_cluster_ip(obj):
            services.set_cluster_ip(obj, None)
        elif held is not None:
            if spec.get("clusterIP") not in (None, "", held):
                raise invalid(request.info, obj, [
                    "spec.clusterIPs[0]: Invalid value: "
                    f'[]string{{"{spec["clusterIP"]}"}}: may not change once set'])
            services.set_cluster_ip(obj, held)
        else:
            yield from self._take_ip(request, obj)
        if not services.needs_node_ports(obj):
            return
        try:
            yield from self._take_ports(request, obj, set(services.node_ports(old or {})))
        except BaseException:  # the ClusterIP just taken goes back with the refusal
            if held is None and services.needs_cluster_ip(obj):
                yield from self._give_back(request, {"spec": {
                    "clusterIP": obj["spec"]["clusterIP"]}}, None)
            raise

    def _take_ip(self, request: Request, obj: Object) -> Generator[Step, Result, None]:
        cidr = self.config.ranges.service_cidr
        wanted = obj["spec"].get("clusterIP") or None
        offset = None if wanted is None else addresses.offset_of(cidr, wanted)
        if wanted is not None and offset is None:
            raise invalid(request.info, obj, [services.out_of_range(wanted, cidr)])
        chosen: list[int] = []

        def change(bits: int) -> int:
            try:
                bits, chosen[:] = ranges.take(bits, addresses.hosts(cidr), [offset])
            except ranges.Taken:
                raise invalid(request.info, obj, [services.ip_invalid(
                    str(wanted), "provided IP is already allocated")]) from None
            except ranges.Full:
                raise invalid(request.info, obj, [
                    "spec.clusterIPs: Internal error: failed to allocate a serviceIP: range "
                    "is full"]) from None
            return bits

        yield from self._change(request, ranges.SERVICE_IPS, cidr, change)
        services.set_cluster_ip(obj, addresses.host(cidr, chosen[0]))

    def _take_ports(self, request: Request, obj: Object, held: set[int]
                    ) -> Generator[Step, Result, None]:
        span = addresses.PortRange.parse(self.config.ranges.node_ports)
        ports = obj["spec"].get("ports") or []
        asked = [(i, p) for i, p in enumerate(ports)
                 if not p.get("nodePort") or p["nodePort"] not in held]
        refused = [services.port_out_of_range(i, p["nodePort"], span) for i, p in asked
                   if p.get("nodePort") and not span.first <= p["nodePort"] <= span.last]
        if refused:
            raise invalid(request.info, obj, refused)
        wanted = [p["nodePort"] - span.first if p.get("nodePort") else None for _, p in asked]
        chosen: list[int] = []

        def change(bits: int) -> int:
            try:
                bits, chosen[:] = ranges.take(bits, span.size, wanted)
            except ranges.Taken as taken:
                i = wanted.index(taken.offset)
                raise invalid(request.info, obj, [services.port_invalid(
                    asked[i][0], taken.offset + span.first,
                    "provided port is already allocated")]) from None
            except ranges.Full:
                raise invalid(request.info, obj, [
                    "spec.ports: Internal error: failed to allocate a nodePort: range is "
                    "full"]) from None
            return bits

        yield from self._change(request, ranges.NODE_PORTS, str(span), change)
        for (_, port), offset in zip(asked, chosen, strict=True):
            port["nodePort"] = offset + span.first

    # -- giving back -------------------------------------------------------------------------

    def _give_back(self, request: Request, held: Object, kept: Object | None
                   ) -> Generator[Step, Result, None]:
        """Give back what ``held`` holds and ``kept`` (None: nothing) does not."""
        ip = _held_ip(held)
        cidr = self.config.ranges.service_cidr
        if ip is not None and ip != _held_ip(kept) and \
                (offset := addresses.offset_of(cidr, ip)) is not None:
            yield from self._change(request, ranges.SERVICE_IPS, cidr,
                                    lambda bits: ranges.give_back(bits, [offset]))
        span = addresses.PortRange.parse(self.config.ranges.node_ports)
        ports = set(services.node_ports(held)) - set(services.node_ports(kept or {}))
        offsets = [p - span.first for p in ports if span.first <= p <= span.last]
        if offsets:
            yield from self._change(request, ranges.NODE_PORTS, str(span),
                                    lambda bits: ranges.give_back(bits, offsets))

    # -- the bitmap --------------------------------------------------------------------------

    def _change(self, request: Request, key: str, range_text: str, change: Change
                ) -> Generator[Step, Result, None]:
        """Store ``change`` of the bitmap at ``key``, conditional on the bitmap it was
        computed from; again from the new one when another write came first. A dry run
        computes it (and so is refused as the write would be) but writes nothing."""
        assert self.view is not None, "writes before on_start"
        for attempt in range(ATTEMPTS):
            if attempt:  # another store's write may not be in this one's view yet
                yield Delay(random.uniform(0, BACKOFF * min(attempt, 20)))
            stored = self.view.get(key)
            current = stored or ranges.allocation(key.rsplit("/", 1)[-1], range_text)
            bits = ranges.bits_of(current)
            new = change(bits)
            if new == bits or request.options.dry_run:
                return
            revision = None if stored is None else int(stored["metadata"]["resourceVersion"])
            outcome = yield Write("create" if stored is None else "update", key,
                                  ranges.with_bits(current, new), revision)
            if not isinstance(outcome, (Conflict, AlreadyExists)):
                if isinstance(outcome, BaseException):
                    raise outcome
                return
        raise ServiceUnavailable(f"the allocation at {key} kept changing: try again")


def _named(obj: Object) -> str:
    return f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"


def _held_ip(service: Object | None) -> str | None:
    """The ClusterIP a Service holds, if any."""
    if service is None or not services.needs_cluster_ip(service):
        return None
    return (service.get("spec") or {}).get("clusterIP") or None

