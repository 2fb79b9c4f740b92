"""Zones, their disruption, and the per-zone rate limits on the NoExecute taints of lost nodes.

The part of kube-controller-manager's node lifecycle controller that keeps a control plane cut
off from its nodes from evicting every pod. Nodes are grouped in zones by their
``topology.kubernetes.io/zone`` and ``region`` labels (:func:`zone_key`; unlabelled nodes
share the ``""`` zone). A zone is ``Normal``, ``PartialDisruption`` (more than 2 nodes and at
least ``--unhealthy-zone-threshold`` of them not Ready) or ``FullDisruption`` (none Ready):
:func:`zone_state`. The ``NoExecute`` ``unreachable`` / ``not-ready`` taint (which starts
eviction) is added to a zone's nodes one at a time through a token bucket of burst 1
(:class:`TokenBucket`, client-go's rate limiter) at ``--node-eviction-rate`` nodes a second,
``--secondary-node-eviction-rate`` in a partially disrupted zone of more than
``--large-cluster-size-threshold`` nodes, none in a smaller one (:func:`zone_rate`). When
every zone is fully disrupted the fault is taken to be the control plane's: no node is
tainted and the NoExecute taints already added are lifted ("master disruption mode"), until
a node is Ready again.

:class:`ZoneTainter` keeps that state from one pass to the next and says which taints to add
and lift; it never writes (``actors.controllers.nodelifecycle`` does, on its actor thread, and is
the only user). Pure: the caller passes the clock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum

from actors.api.pods import NOT_READY_TAINT, UNREACHABLE_TAINT

log = logging.getLogger(__name__)

ZONE_LABELS = ("failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/zone")
"""A node's zone: the first label found (Kubernetes' GetZoneKey prefers the deprecated one)."""
REGION_LABELS = ("failure-domain.beta.kubernetes.io/region", "topology.kubernetes.io/region")
EXCLUDE_LABEL = "node.kubernetes.io/exclude-disruption"
"""A node with this label is not counted in its zone's state (it is still tainted)."""


@dataclass(frozen=True, slots=True)
class DisruptionConfig:
    """kube-controller-manager's flags of the same names, with their defaults."""

    eviction_rate: float = 0.1
    """Nodes per second that get the NoExecute taint in a zone that is not partially
    disrupted (--node-eviction-rate): one lost node is tainted at once, the next 10 s later."""
    secondary_eviction_rate: float = 0.01
    """The same in a partially disrupted zone of a large cluster
    (--secondary-node-eviction-rate)."""
    large_cluster_size_threshold: int = 50
    """A zone of more nodes than this is large (--large-cluster-size-threshold); in a smaller
    partially disrupted zone no node is tainted."""
    unhealthy_zone_threshold: float = 0.55
    """Fraction of a zone's nodes (at least 3) not Ready from which it is partially disrupted
    (--unhealthy-zone-threshold)."""


class ZoneState(StrEnum):
    INITIAL = "Initial"
    """Seen for the first time: the next pass gives it its state."""
    NORMAL = "Normal"
    PARTIAL = "PartialDisruption"
    FULL = "FullDisruption"


def zone_key(labels: dict[str, str] | None) -> str:
    """Kubernetes' GetZoneKey: ``region:\\0:zone``, or ``""`` without either label."""
    labels = labels or {}
    zone = next((labels[k] for k in ZONE_LABELS if k in labels), "")
    region = next((labels[k] for k in REGION_LABELS if k in labels), "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def zone_state(ready: Iterable[bool], unhealthy_threshold: float) -> ZoneState:
    """Kubernetes' ComputeZoneState from the Ready verdicts of a zone's nodes."""
    verdicts = list(ready)
    not_ready = verdicts.count(False)
    if not_ready and not_ready == len(verdicts):
        return ZoneState.FULL
    if not_ready > 2 and not_ready / len(verdicts) >= unhealthy_threshold:
        return ZoneState.PARTIAL
    return ZoneState.NORMAL


def zone_rate(state: ZoneState, size: int, config: DisruptionConfig) -> float:
    """Taints per second in a zone of ``size`` nodes in ``state`` (setLimiterInZone)."""
    if state is ZoneState.PARTIAL:
        return (config.secondary_eviction_rate if size > config.large_cluster_size_threshold
                else 0.0)
    return config.eviction_rate


class TokenBucket:
    """client-go's token bucket rate limiter of burst 1, full when made; rate 0 never
    accepts (its fake never rate limiter). Times are seconds of the caller's clock."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self._tokens = 1.0
        self._at = now

    def _refill(self, now: float) -> None:
        self._tokens = min(1.0, self._tokens + max(now - self._at, 0.0) * self.rate)
        self._at = max(now, self._at)

    def try_accept(self, now: float) -> bool:
        """Take a token if there is one."""
        self._refill(now)
        if self.rate <= 0 or self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def wait(self, now: float) -> float:
        """Seconds until a token is there (inf at rate 0)."""
        self._refill(now)
        if self.rate <= 0:
            return math.inf
        return max(1.0 - self._tokens, 0.0) / self.rate

    def swapped(self, rate: float, now: float) -> TokenBucket:
        """The bucket for a new ``rate`` (RateLimitedTimedQueue.SwapLimiter): this one when the
        rate is the same; else a full one, emptied when this one has no token now (so a swap
        never lets a taint through early)."""
        if rate == self.rate:
            return self
        bucket = TokenBucket(rate, now)
        if rate > 0 and not self.try_accept(now):
            bucket.try_accept(now)
        return bucket


@dataclass(frozen=True, slots=True)
class NodeHealth:
    """What a pass needs to know of one node."""

    name: str
    zone: str
    _: KW_ONLY
    ready: bool
    """Counted Ready in its zone: its Ready condition is True and its heartbeat is fresh."""
    status: str | None
    """Its Ready condition's status as stored (``True``, ``False``, ``Unknown``; None: none)."""
    no_execute: frozenset[str] = frozenset()
    """Keys of the controller's NoExecute taints it has (unreachable, not-ready)."""
    excluded: bool = False
    """Labelled ``node.kubernetes.io/exclude-disruption``: not counted in its zone."""


@dataclass(slots=True)
class Plan:
    """What a pass asks the controller to write."""

    taint: dict[str, str] = field(default_factory=dict)
    """Node -> the NoExecute taint key it gets (the other controller NoExecute taint goes)."""
    untaint: list[str] = field(default_factory=list)
    """Nodes whose controller NoExecute taints go."""
    wait: float = math.inf
    """Seconds until a node waiting for its taint may have it."""


TAINT_FOR = {"False": NOT_READY_TAINT, "Unknown": UNREACHABLE_TAINT}
"""The NoExecute taint of a Ready status (the two are kept mutually exclusive)."""


class ZoneTainter:
    """Zone states, one token bucket and one queue of nodes waiting for their NoExecute taint
    per zone, from one :meth:`plan` to the next. Used on one thread (the controller's)."""

    def __init__(self, config: DisruptionConfig | None = None) -> None:
        self.config = config or DisruptionConfig()
        self.states: dict[str, ZoneState] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.queues: dict[str, dict[str, None]] = {}
        """Zone -> nodes waiting for their taint, first come first."""

    def plan(self, nodes: list[NodeHealth], now: float) -> Plan:
        """One pass over every node (monitorNodeHealth, handleDisruption, then
        doNoExecuteTaintingPass): which nodes get or lose their NoExecute taint now. A node
        queued here is taken as tainted once it is in ``Plan.taint``: a write that fails
        leaves it without the taint, and the next pass queues it again."""
        zones = self._zones(nodes, now)
        result = Plan()
        for node in nodes:
            self._judge(node, result)
        if self._disrupt(zones, nodes, now, result):
            return result
        by_name = {node.name: node for node in nodes}
        for zone, queue in self.queues.items():
            while queue and self.buckets[zone].try_accept(now):
                node = by_name[next(iter(queue))]
                del queue[node.name]
                if node.status in TAINT_FOR:  # else Ready again meanwhile: the token is spent
                    result.taint[node.name] = TAINT_FOR[node.status]
            if queue:
                result.wait = min(result.wait, self.buckets[zone].wait(now))
        return result

    def _zones(self, nodes: list[NodeHealth], now: float) -> dict[str, list[bool]]:
        """The Ready verdicts by zone of the counted nodes; zones new to this pass get their
        bucket, gone ones are forgotten, and so are queued nodes gone or moved."""
        zones: dict[str, list[bool]] = {}
        for node in nodes:
            if node.zone not in self.states:
                self.states[node.zone] = ZoneState.INITIAL
                self.buckets[node.zone] = TokenBucket(self.config.eviction_rate, now)
                self.queues[node.zone] = {}
            if not node.excluded:
                zones.setdefault(node.zone, []).append(node.ready)
        where = {node.name: node.zone for node in nodes}
        present = set(where.values())
        for zone in list(self.states):
            if zone not in present:
                del self.states[zone], self.buckets[zone], self.queues[zone]
                continue
            self.queues[zone] = {n: None for n in self.queues[zone] if where.get(n) == zone}
        return zones

    def _judge(self, node: NodeHealth, result: Plan) -> None:
        """processTaintBaseEviction: a node not Ready waits for its taint, unless it has the
        other one (swapped at once); a Ready one leaves the queue and loses its taints."""
        queue = self.queues[node.zone]
        wanted = TAINT_FOR.get(node.status or "")
        if node.status == "True":
            queue.pop(node.name, None)
            if node.no_execute:
                result.untaint.append(node.name)
        elif wanted is None:
            return
        elif wanted in node.no_execute:
            queue.pop(node.name, None)
        elif node.no_execute:
            result.taint[node.name] = wanted
        else:
            queue.setdefault(node.name)

    def _disrupt(self, zones: dict[str, list[bool]], nodes: list[NodeHealth], now: float,
                 result: Plan) -> bool:
        """handleDisruption: new zone states and their rates; True when every zone is fully
        disrupted (master disruption mode: nothing is tainted and every NoExecute taint of the
        controller goes, on entry and at every pass after, until a node is Ready again)."""
        new = {zone: zone_state(ready, self.config.unhealthy_zone_threshold)
               for zone, ready in zones.items()}
        all_are = all(state is ZoneState.FULL for state in new.values())
        all_were = all(self.states.get(zone) is ZoneState.FULL for zone in zones)
        if all_are:  # every node lost at once: the control plane's connectivity, not theirs
            if not all_were:
                log.info("Controller detected that all Nodes are not-Ready. Entering master "
                         "disruption mode")
                for zone in self.states:
                    self.buckets[zone] = self.buckets[zone].swapped(0.0, now)
                    self.states[zone] = ZoneState.FULL
            result.taint.clear()
            result.untaint = [node.name for node in nodes if node.no_execute]
            return True
        if all_were:
            log.info("Controller detected that some Nodes are Ready. Exiting master "
                     "disruption mode")
        for zone, state in new.items():
            if all_were or self.states[zone] is not state:
                if not all_were:
                    log.info("Controller detected that zone %r is now in state %s", zone, state)
                self.buckets[zone] = self.buckets[zone].swapped(
                    zone_rate(state, len(zones[zone]), self.config), now)
                self.states[zone] = state
        return False
