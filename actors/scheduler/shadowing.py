"""The shadow scheduler: a second profile run on the live cluster, binding nothing, to see
where its choices would differ from the active scheduler's.

A :class:`ShadowScheduler` is a :class:`Scheduler` that never leads (as a standby replica, it
keeps its cache of nodes, bound pods, budgets and storage up to date by watch, and never runs
a scheduling cycle of its own) and holds no Lease. It follows the pods of the active
scheduler it shadows (``spec.schedulerName`` = :attr:`ShadowConfig.follows`): the pending
version of each is kept until the active scheduler's binding arrives by watch
(``spec.nodeName`` set); then, on the cluster as the shadow's cache holds it just before that
pod counts, its own profile filters every node and scores the feasible ones, and
:func:`decide` compares its choice with the node bound. Each decision is counted in
``scheduler_shadow_decisions_total{result="agree|differ"}``; a difference is logged (a
warning: it is what the shadow runs for) and recorded as a ``Normal`` Event
:data:`REASON` on the pod, from the shadow's name, whose message (:func:`message`, read back
by :func:`parse` for ``kubeactor shadow report``) gives both nodes and both score breakdowns.

What it may not do, made structural: its profile is the default plugins that only read
(``placement_plugins``: no preemption, no VolumeBinding's writes, no binder) followed by the
configured ones, and a configured plugin with PostFilter, Reserve, Permit, PreBind or Bind is
refused when the config is made; it has no leader election (never leading, nothing would
start a cycle); its only writes are its Events.

Which thread: the actor's (watch events, decisions); the Events are written on the
recorder's thread. Neighbours: ``actors.scheduler.scheduler`` (what it extends),
``actors.scheduler.framework`` (:meth:`Framework.scores_of`, the breakdown),
``actors.instruments`` (the counter), ``bindings.cli.shadow`` (the report).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from actors.api.objects import Object
from actors.api.pods import DEFAULT_SCHEDULER
from actors.client.client import Client, WatchEvent
from actors.instruments import Instruments
from actors.scheduler import interface
from actors.scheduler.framework import Profile
from actors.scheduler.interface import CycleState
from actors.scheduler.nodeinfo import PodInfo, pod_key
from actors.scheduler.plugins import DEFAULT_WEIGHTS, ProfileConfig, placement_plugins
from actors.scheduler.scheduler import Scheduler, SchedulerConfig
from bus.connection import Connection

log = logging.getLogger(__name__)

REASON = "ShadowDisagreed"
"""The reason of a shadow's Events (``--field-selector reason=ShadowDisagreed``)."""
WRITING_POINTS = (interface.PostFilterPlugin, interface.ReservePlugin, interface.PermitPlugin,
                  interface.PreBindPlugin, interface.BindPlugin)
"""Extension points a shadow's plugins may not have: they act on the cluster."""
Breakdown = Mapping[str, int]
"""One node's score by Score plugin, normalized and unweighted (0..100)."""


@dataclass(frozen=True)
class ShadowConfig:
    """A shadow scheduler; refused when made (ValueError) if a plugin of ``profile`` would act
    on the cluster."""

    profile: ProfileConfig = field(default_factory=ProfileConfig)
    """Plugins after the default read-only ones and weights over the defaults, as the active
    scheduler's (``kubeactor scheduler --profile FILE``)."""
    name: str = "shadow-scheduler"
    """The source of its Events and the ``profile`` label of its counter."""
    follows: str = DEFAULT_SCHEDULER
    """The active scheduler whose pods it shadows."""

    def __post_init__(self) -> None:
        for plugin in self.profile.plugins:
            acts = [point.__name__ for point in WRITING_POINTS if isinstance(plugin, point)]
            if acts:
                raise ValueError(f"plugin {plugin.name!r} is a {', '.join(acts)}: a shadow "
                                 "scheduler only filters and scores (it never preempts, "
                                 "reserves or binds)")

    def framework_profile(self) -> Profile:
        return Profile((*placement_plugins(), *self.profile.plugins),
                       {**DEFAULT_WEIGHTS, **self.profile.weights})


# -- the decision -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """The shadow's choice for one pod beside the active scheduler's binding."""

    key: str
    active: str
    """The node the active scheduler bound the pod to."""
    shadow: str | None
    """The node the shadow's profile chose; None: none (``why``)."""
    scores: Mapping[str, Breakdown]
    """The breakdowns of the feasible nodes (the active's is missing when the shadow's
    Filters reject it)."""
    weights: Mapping[str, int]
    why: str = ""

    @property
    def agrees(self) -> bool:
        return self.shadow == self.active

    def total(self, node: str) -> int | None:
        breakdown = self.scores.get(node)
        if breakdown is None:
            return None
        return sum(score * self.weights.get(plugin, 1) for plugin, score in breakdown.items())


def decide(key: str, active: str, scores: Mapping[str, Breakdown], weights: Mapping[str, int],
           why: str = "") -> Decision:
    """The shadow's choice among the feasible nodes of ``scores``: the highest weighted total;
    a tie with the active scheduler's node goes to it (a tie is no disagreement of the
    profiles), any other to the first by name. No node when ``scores`` is empty (``why``)."""
    undecided = Decision(key, active, None, scores, weights, why)
    if not scores:
        return undecided
    best = max(sorted(scores), key=lambda node: (undecided.total(node), node == active))
    return Decision(key, active, best, scores, weights)


def _breakdown(decision: Decision, node: str | None) -> str:
    """``NodeAffinity 100x2, NodeResourcesFit 61x10: 810``, or why there is none."""
    if node is None:
        return decision.why or "no feasible node"
    breakdown = decision.scores.get(node)
    if breakdown is None:
        return "rejected by the shadow's filters"
    terms = ", ".join(f"{plugin} {score}x{decision.weights.get(plugin, 1)}"
                      for plugin, score in sorted(breakdown.items()))
    return f"{terms}: {decision.total(node)}"


def message(decision: Decision, active_name: str, shadow_name: str) -> str:
    """The Event's message: both nodes, each with its breakdown under the shadow's weights."""
    return (f"{active_name} bound {decision.active} ({_breakdown(decision, decision.active)}); "
            f"{shadow_name} chose {decision.shadow or '<none>'} "
            f"({_breakdown(decision, decision.shadow)})")


_MESSAGE = re.compile(r"(?P<active_name>\S+) bound (?P<active>\S+) \((?P<active_scores>.*?)\); "
                      r"(?P<shadow_name>\S+) chose (?P<shadow>\S+) \((?P<shadow_scores>.*)\)")


def parse(text: str) -> dict[str, str] | None:
    """The parts of a :func:`message` (``active``, ``active_scores``, ``shadow``,
    ``shadow_scores``, and both names), or None when ``text`` is no such message."""
    found = _MESSAGE.fullmatch(text)
    return found.groupdict() if found else None


# -- the actor ---------------------------------------------------------------------------------


class ShadowScheduler(Scheduler):
    """See the module docstring."""

    def __init__(self, connection: Connection, client: Client, config: ShadowConfig,
                 instruments: Instruments | None = None) -> None:
        instruments = instruments or Instruments()
        super().__init__(connection, client, SchedulerConfig(name=config.name),
                         config.framework_profile(), instruments)
        self.shadow = config
        self.leading = False  # never: no cycle of its own, ever
        self._decisions = instruments.shadow_decisions
        self._pending: dict[str, Object] = {}
        """The active scheduler's pods waiting for a node, as last seen unbound."""

    def _plan_next(self) -> None:
        """Never a cycle (a shadow only watches; see :meth:`_on_pod`)."""

    def _on_pod(self, event: WatchEvent) -> None:
        """Keep the active scheduler's pending pods; at a binding of one, decide on the cache
        as it was before; then the cache follows the event as a scheduler's does."""
        pod, key = event.object, pod_key(event.object)
        node = pod.get("spec", {}).get("nodeName")
        if event.type == "DELETED":
            self._pending.pop(key, None)
        elif node and key in self._pending:
            self._observe(self._pending.pop(key), pod, node)
        elif (not node and not pod["metadata"].get("deletionTimestamp")
              and pod.get("spec", {}).get("schedulerName", DEFAULT_SCHEDULER)
              == self.shadow.follows):
            self._pending[key] = pod
        super()._on_pod(event)

    def _observe(self, pending: Object, bound: Object, node: str) -> None:
        decision = self._decide(pending, node)
        result = "agree" if decision.agrees else "differ"
        self._decisions.labels(result=result, profile=self.shadow.name).inc()
        if decision.agrees:
            return
        text = message(decision, self.shadow.follows, self.shadow.name)
        log.warning("shadow %s: pod %s: %s", self.shadow.name, decision.key, text)
        self.recorder.record(bound, "Normal", REASON, text)

    def _decide(self, pending: Object, active: str) -> Decision:
        """The shadow profile's choice for ``pending`` on the cache as it is now."""
        info, state = PodInfo.of(pending), CycleState()
        nodes = self.cache.node_list()
        weights = self.framework.weights
        result = self.framework.schedule(state, info, nodes)
        if result.node is None:
            return decide(info.key, active, {}, weights, result.message)
        feasible = [each for each in nodes
                    if self.framework.run_filters(state, info, each).ok]
        scores, failed = self.framework.scores_of(state, info, feasible)
        return decide(info.key, active, scores, weights, failed)
