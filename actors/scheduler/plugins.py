"""The default plugins, as kube-scheduler's default profile has them (names, reasons, weights).

Each plugin is a small class whose extension-point methods call the pure functions beside it
(unit-tested on their own). The default profile (:func:`default_profile`):

=================================  =========================  ======
plugin                             extension points           weight
=================================  =========================  ======
NodeUnschedulable                  PreFilter, Filter
NodeName                           PreFilter, Filter
NodeReady (kubeactor's)            PreFilter, Filter
TaintToleration                    PreFilter, Filter,         3
                                   PreScore, Score
NodeAffinity                       PreFilter, Filter,         2
                                   PreScore, Score
NodeResourcesFit (LeastAllocated)  Filter, PreScore, Score    1
NodeResourcesBalancedAllocation    PreScore, Score            1
InterPodAffinity (required terms)  PreFilter, Filter
VolumeBinding                      PreFilter, Filter,
                                   PreBind
DefaultPreemption                  PreFilter, Filter,
                                   PostFilter
DefaultBinder                      Bind
=================================  =========================  ======

NodeReady stands for what Kubernetes gets from the node lifecycle controller's
``node.kubernetes.io/not-ready`` taint: a node whose Ready condition is not True takes only
pods that tolerate that taint (``unreachable`` when Ready is Unknown).

Scores are integers, as kube-scheduler's (its arithmetic, truncating), each ``score`` returning
``(score, SUCCESS)``.
PreFilters return Skip when their Filter has nothing to reject (no node tainted, cordoned or
not ready; no selector asked; nobody nominated), so the common pod runs only NodeResourcesFit
per node. DefaultPreemption lives in ``actors.scheduler.preemption``, VolumeBinding in
``actors.scheduler.volumebinding``, InterPodAffinity in ``actors.scheduler.podaffinity``.

Neighbours: ``actors.scheduler.interface`` (the Protocols these fit), ``actors.client.client``
(DefaultBinder's ``pods/binding``).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from actors.api.meta import trace_id_of
from actors.api.objects import Object
from actors.api.placement import (
    node_matches,
    required_terms,
    term_matches,
    tolerates,
    untolerated_taint,
)
from actors.client.client import Client
from actors.scheduler.batching import BindingBatch
from actors.scheduler.framework import Profile, normalize
from actors.scheduler.interface import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    ClusterEvent,
    CycleState,
    Plugin,
    Status,
    check_profile,
    error,
    unschedulable,
)
from actors.scheduler.nodeinfo import NodeInfo, PodInfo
from actors.scheduler.podaffinity import InterPodAffinity
from actors.scheduler.preemption import DefaultPreemption
from actors.scheduler.volumebinding import VolumeBinding
from bus.errors import ApiError

NODE_EVENTS = frozenset({ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE})
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


class AnyNode:
    """Whether any node of a snapshot has ``attribute`` true (``negate``: false), worked out
    again only when the snapshot is another list or its ``generation`` moved (a node came,
    changed or went: ``cache.Snapshot``), so PreFilters that ask this cost nothing per pod."""

    def __init__(self, attribute: str, negate: bool = False) -> None:
        self._get, self._negate = attrgetter(attribute), negate
        self._seen: tuple[Sequence[NodeInfo] | None, int | None] = (None, None)
        self._answer = False

    def __call__(self, nodes: Sequence[NodeInfo]) -> bool:
        seen = self._seen
        generation = getattr(nodes, "generation", None)
        if nodes is not seen[0] or generation != seen[1]:
            values = map(self._get, nodes)
            self._answer = not all(values) if self._negate else any(values)
            self._seen = (nodes, generation)
        return self._answer


# -- taints and tolerations -------------------------------------------------------------------


def intolerable_preferences(taints: Sequence[Object], tolerations: Sequence[Object]) -> int:
    """How many PreferNoSchedule ``taints`` the pod does not tolerate (tolerations with an
    effect other than PreferNoSchedule do not count)."""
    soft = [t for t in tolerations if t.get("effect") in (None, "", "PreferNoSchedule")]
    return sum(1 for taint in taints if not any(tolerates(t, taint) for t in soft))


class TaintToleration:
    """Filter: no untolerated NoSchedule/NoExecute taint. Score: fewer untolerated
    PreferNoSchedule taints is better."""

    name: ClassVar[str] = "TaintToleration"
    events = NODE_EVENTS

    def __init__(self) -> None:
        self._hard, self._soft = AnyNode("hard_taints"), AnyNode("soft_taints")

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        state[self.name] = self._soft(nodes)  # for pre_score: any soft taint at all?
        return SUCCESS if self._hard(nodes) else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.hard_taints:
            return SUCCESS
        taint = untolerated_taint(node.hard_taints, pod.spec.get("tolerations") or ())
        if taint is None:
            return SUCCESS
        return unschedulable(f"node(s) had untolerated taint {{{taint.get('key')}: "
                             f"{taint.get('value') or ''}}}", resolvable=False)

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        if not state.get(self.name, True):
            return SKIP
        return SUCCESS if any(node.soft_taints for node in nodes) else SKIP

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
        return intolerable_preferences(node.soft_taints,
                                       pod.spec.get("tolerations") or ()), SUCCESS

    def normalize_score(self, state: CycleState, pod: PodInfo,
                        scores: dict[str, int]) -> Status:
        normalize(scores, reverse=True)
        return SUCCESS


# -- node conditions and names ----------------------------------------------------------------


class NodeUnschedulable:
    """Filter: a cordoned node (``spec.unschedulable``) takes only pods tolerating
    ``node.kubernetes.io/unschedulable:NoSchedule``."""

    name: ClassVar[str] = "NodeUnschedulable"
    events = NODE_EVENTS
    _taint: ClassVar[Object] = {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}
    _rejected = unschedulable("node(s) were unschedulable", resolvable=False)

    def __init__(self) -> None:
        self._cordoned = AnyNode("unschedulable")

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        return SUCCESS if self._cordoned(nodes) else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.unschedulable or untolerated_taint(
                [self._taint], pod.spec.get("tolerations") or ()) is None:
            return SUCCESS
        return self._rejected


class NodeReady:
    """Filter: a node whose Ready condition is not True takes only pods tolerating the
    taint Kubernetes would put on it (``not-ready``, or ``unreachable`` when Unknown)."""

    name: ClassVar[str] = "NodeReady"
    events = NODE_EVENTS
    _rejected = unschedulable("node(s) were not ready", resolvable=False)

    def __init__(self) -> None:
        self._not_ready = AnyNode("ready", negate=True)

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        return SUCCESS if self._not_ready(nodes) else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if node.ready:
            return SUCCESS
        key = UNREACHABLE_TAINT if node.ready_status == "Unknown" else NOT_READY_TAINT
        taint = {"key": key, "effect": "NoSchedule"}
        if untolerated_taint([taint], pod.spec.get("tolerations") or ()) is None:
            return SUCCESS
        return self._rejected


class NodeName:
    """Filter: a pod that names its node (``spec.nodeName``) fits only there."""

    name: ClassVar[str] = "NodeName"
    events = frozenset({ClusterEvent.NODE_ADD})
    _rejected = unschedulable("node(s) didn't match the requested node name", resolvable=False)

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        return SUCCESS if pod.spec.get("nodeName") else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        return SUCCESS if pod.spec.get("nodeName") == node.name else self._rejected


# -- node affinity ----------------------------------------------------------------------------


def preferred_score(spec: Object, labels: Mapping[str, str], node_name: str) -> int:
    """Sum of the weights of the pod's preferredDuringScheduling terms the node matches."""
    affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    preferred = affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []
    return sum(int(item.get("weight", 0)) for item in preferred
               if term_matches(item.get("preference") or {}, labels, node_name))


class NodeAffinity:
    """Filter: ``nodeSelector`` and required node affinity. Score: preferred node affinity."""

    name: ClassVar[str] = "NodeAffinity"
    events = NODE_EVENTS
    _rejected = unschedulable("node(s) didn't match Pod's node affinity/selector",
                              resolvable=False)

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        spec = pod.spec
        wanted = spec.get("nodeSelector") or required_terms(spec) is not None
        return SUCCESS if wanted else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        return SUCCESS if node_matches(pod.spec, node.labels, node.name) else self._rejected

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        affinity = (pod.spec.get("affinity") or {}).get("nodeAffinity") or {}
        preferred = affinity.get("preferredDuringSchedulingIgnoredDuringExecution")
        return SUCCESS if preferred else SKIP

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
        return preferred_score(pod.spec, node.labels, node.name), SUCCESS

    def normalize_score(self, state: CycleState, pod: PodInfo,
                        scores: dict[str, int]) -> Status:
        normalize(scores)
        return SUCCESS


# -- resources --------------------------------------------------------------------------------


def insufficient_resources(pod: PodInfo, node: NodeInfo) -> list[str]:
    """Why ``node`` lacks room for ``pod``, in kube-scheduler's words and order (a request of
    zero never fails; the pod count always counts)."""
    reasons = []
    if len(node.pods) + 1 > node.allocatable_pods:
        reasons.append("Too many pods")
    if pod.cpu and pod.cpu > node.allocatable_cpu - node.requested_cpu:
        reasons.append("Insufficient cpu")
    if pod.memory and pod.memory > node.allocatable_memory - node.requested_memory:
        reasons.append("Insufficient memory")
    return reasons


def least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """Mean share of cpu and memory left free once the pod is there, in integers as
    kube-scheduler's leastRequestedScore (0..100; requests with its non-zero defaults; a
    resource asked beyond capacity scores 0)."""
    cpu_cap, memory_cap = node.allocatable_cpu, node.allocatable_memory
    cpu = node.nonzero_cpu + pod.nonzero_cpu
    memory = node.nonzero_memory + pod.nonzero_memory
    free_cpu = ((cpu_cap - cpu) * MAX_NODE_SCORE // cpu_cap
                if cpu_cap > 0 and cpu <= cpu_cap else 0)
    free_memory = ((memory_cap - memory) * MAX_NODE_SCORE // memory_cap
                   if memory_cap > 0 and memory <= memory_cap else 0)
    return (free_cpu + free_memory) // 2


def balanced_allocation(pod: PodInfo, node: NodeInfo) -> int:
    """100 when cpu and memory would be used in equal shares, less as they drift apart
    (kube-scheduler: int((1 - standard deviation of the shares) * 100); requests as asked)."""
    cpu_cap, memory_cap = node.allocatable_cpu, node.allocatable_memory
    cpu = (node.requested_cpu + pod.cpu) / cpu_cap if cpu_cap > 0 else 1.0
    memory = (node.requested_memory + pod.memory) / memory_cap if memory_cap > 0 else 1.0
    return int((1 - abs((cpu if cpu < 1 else 1.0) - (memory if memory < 1 else 1.0)) / 2)
               * MAX_NODE_SCORE)


_USAGE = attrgetter("usage")
_T = TypeVar("_T")


def per_usage(known: dict[str, _T], nodes: Sequence[NodeInfo],
              decide: Callable[[NodeInfo], _T]) -> list[_T]:
    """What ``decide`` says of each of ``nodes``, asked once per distinct ``usage`` (on one
    node that has it) and kept in ``known`` (a cycle's table), the loops in C but for
    that."""
    usages = list(map(_USAGE, nodes))
    for usage, node in dict(zip(usages, nodes, strict=True)).items():
        if usage not in known:
            known[usage] = decide(node)
    return list(map(known.__getitem__, usages))


class ByUsage:
    """Score plugins whose score depends only on the pod and the node's ``usage`` (its
    allocatable and requested resources): PreScore leaves the cycle an empty table (the
    pod's state), and each distinct usage is scored once in a cycle (nodes of one shape and
    load, the common case, share one), the same score kube-scheduler's would be. Subclasses
    name the plugin and give ``scored`` (pure: pod, node -> score)."""

    name: ClassVar[str]

    @staticmethod
    def scored(pod: PodInfo, node: NodeInfo) -> int:
        raise NotImplementedError

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        state[self.name] = {}
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
        known = state.get(self.name)
        if known is None:  # scored outside a cycle (no PreScore ran)
            return self.scored(pod, node), SUCCESS
        value: int | None = known.get(node.usage)
        if value is None:
            value = known[node.usage] = self.scored(pod, node)
        return value, SUCCESS

    def score_nodes(self, state: CycleState, pod: PodInfo,
                    nodes: Sequence[NodeInfo]) -> list[int]:
        return per_usage(state.setdefault(self.name, {}), nodes,
                         lambda node: self.scored(pod, node))


FILTERED = "NodeResourcesFit/filter"
"""CycleState key: NodeResourcesFit's Filter statuses by node usage, this cycle's."""


class NodeResourcesFit(ByUsage):
    """Filter: requests fit in what is left (cpu, memory, pods). Score: LeastAllocated."""

    name: ClassVar[str] = "NodeResourcesFit"
    events = frozenset({*NODE_EVENTS, ClusterEvent.ASSIGNED_POD_DELETE})
    scored = staticmethod(least_allocated)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if (len(node.pods) < node.allocatable_pods  # the common case, without a list
                and pod.cpu <= node.allocatable_cpu - node.requested_cpu
                and pod.memory <= node.allocatable_memory - node.requested_memory):
            return SUCCESS
        reasons = insufficient_resources(pod, node)
        return unschedulable(*reasons) if reasons else SUCCESS

    def filter_nodes(self, state: CycleState, pod: PodInfo,
                     nodes: Sequence[NodeInfo]) -> list[Status]:
        """:meth:`filter` of each node, once per distinct usage in a cycle."""
        return per_usage(state.setdefault(FILTERED, {}), nodes,
                         lambda node: self.filter(state, pod, node))


class NodeResourcesBalancedAllocation(ByUsage):
    """Score: prefer nodes whose cpu and memory would be used in like shares; skipped for
    pods that request neither (as kube-scheduler)."""

    name: ClassVar[str] = "NodeResourcesBalancedAllocation"
    events = frozenset({*NODE_EVENTS, ClusterEvent.ASSIGNED_POD_DELETE})
    scored = staticmethod(balanced_allocation)

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        return super().pre_score(state, pod, nodes) if pod.cpu or pod.memory else SKIP


# -- binding ----------------------------------------------------------------------------------


class DefaultBinder:
    """Bind: ``create pods/binding`` through the apiserver (``bind`` blocks its binding
    thread; ``bind_soon`` does not block, and its bindings of one turn go together:
    ``batching``)."""

    name: ClassVar[str] = "DefaultBinder"

    def __init__(self, client: Client) -> None:
        self.client = client
        self.batch = BindingBatch(client)

    def bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        try:
            self.client.bind(pod.pod, node, trace_id=trace_id_of(pod.pod))
        except ApiError as failure:
            return error(f"binding rejected: {failure.message}")
        return SUCCESS

    def bind_soon(self, state: CycleState, pod: PodInfo, node: str,
                  done: Callable[[Status], None]) -> None:
        """The same request, sent with the turn's others (:meth:`send_bindings`) and
        answered on the bus loop (no binding thread waits for it)."""
        sent = self.batch.add(pod.pod, node, trace_id_of(pod.pod))
        sent.add_done_callback(lambda answered: done(bind_status(answered)))

    def send_bindings(self) -> None:
        """The scheduler's turn is over: send the bindings held."""
        self.batch.send()


def bind_status(answered: concurrent.futures.Future[Any]) -> Status:
    """DefaultBinder's Status for a binding's answer: Success, or the Error of the
    apiserver's refusal (as ``bind``'s) or of whatever else ended it. Never raises: it runs
    on the bus loop, where nobody would hear it."""
    try:
        answered.result()
    except ApiError as failure:
        return error(f"binding rejected: {failure.message}")
    except Exception as failure:  # cancelled, or a bug on the way
        return error(f"binding failed: {type(failure).__name__}: {failure}")
    return SUCCESS


DEFAULT_WEIGHTS: Mapping[str, int] = {
    TaintToleration.name: 3, NodeAffinity.name: 2, NodeResourcesFit.name: 1,
    NodeResourcesBalancedAllocation.name: 1}
"""kube-scheduler's default score weights."""


def placement_plugins() -> list[Plugin]:
    """A fresh set of the default plugins that only read (Filters and Scores: no
    preemption, no binding), in kube-scheduler's order; what ``actors.ext.scheduling``
    runs offline."""
    return [NodeUnschedulable(), NodeName(), NodeReady(), TaintToleration(), NodeAffinity(),
            NodeResourcesFit(), NodeResourcesBalancedAllocation(), InterPodAffinity()]


def default_plugins(client: Client) -> list[Plugin]:
    """A fresh set of the default plugins, in kube-scheduler's order."""
    return [*placement_plugins(), VolumeBinding(client), DefaultPreemption(client),
            DefaultBinder(client)]


@dataclass(frozen=True)
class ProfileConfig:
    """A scheduler's profile as configuration (``ClusterConfig.profile``, ``kubeactor
    scheduler --plugin --weight``): the default plugins followed by ``plugins``, the default
    weights updated by ``weights`` (keyed by plugin ``name``). Refused when made, as a
    Profile is (TypeError, ValueError naming the plugin): a plugin without a name or that
    extends no extension point, two of one name, a weight for no Score plugin."""

    plugins: tuple[Plugin, ...] = ()
    weights: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_profile([*placement_plugins(), *self.plugins], {**DEFAULT_WEIGHTS, **self.weights})

    def profile(self, client: Client) -> Profile:
        """The Profile, with the default plugins that use ``client`` (preemption, binding)."""
        return default_profile(client, self.plugins, self.weights)


def default_profile(client: Client, extra: Sequence[Plugin] = (),
                    weights: Mapping[str, int] | None = None) -> Profile:
    """The default plugins followed by ``extra`` ones (a custom scheduler's own), with the
    default weights updated by ``weights``."""
    return Profile(tuple([*default_plugins(client), *extra]),
                   {**DEFAULT_WEIGHTS, **(weights or {})})
