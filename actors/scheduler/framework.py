"""The scheduling framework: statuses, profiles, and one scheduling cycle.

As in kube-scheduler, a pod goes through named extension points, each a Protocol of
``interface`` with one method returning a :class:`Status`::

    PreFilter -> Filter (per node) -> PostFilter (only when no node fits)
    -> PreScore -> Score (per node) -> NormalizeScore -> pick the best node
    -> Reserve (Unreserve on any later failure) -> Permit (may Wait) -> PreBind -> Bind

A :class:`Profile` is a list of plugins and their score weights. The :class:`Framework` files
each plugin under every extension point whose method it has, so adding a plugin never means
editing this module. A PreFilter or PreScore returning ``Skip`` turns that plugin's Filter or
Score off for the cycle (the cheap path for pods the plugin has nothing to say about).

Score returns ``(score, Status)`` as kube-scheduler's ``(int64, *Status)``: an integer, which
must lie in 0..MAX_NODE_SCORE once NormalizeScore (if the plugin has one) has run. A Score,
PreScore or NormalizeScore that returns neither Success nor (PreScore) Skip, or a score out of
range, fails the pod's cycle with Error (kube-scheduler's runScorePlugins). Plugins return the
shared :data:`SUCCESS` so that the per-node check is an identity test, not an allocation.

Misuse fails loudly when the :class:`Profile` is made (``interface.check_profile``, as
kube-scheduler's ``updatePluginList``): a plugin with no name, one whose methods match no
extension point (or only part of one: ``reserve`` without ``unreserve``), one with a public
method that looks like a misspelt extension point it lacks (``scores``: "did you mean
score()?"), two plugins of one name, a weight for a plugin that is not in the profile or does
not score.

A plugin that needs more than its arguments (preemption runs the Filters on nodes with pods
taken away, and reads the cache) has :class:`UsesFramework`'s ``use_framework``: it is handed
the framework once, as kube-scheduler's plugin factories get a framework Handle; from it,
:attr:`Framework.cache` and :meth:`Framework.run_filters`.

Which thread: the scheduling cycle (:meth:`Framework.schedule`, Reserve, Permit) runs on the
scheduler's actor thread; Bind runs on a binding worker thread (bind plugins must be
thread-safe); :meth:`WaitingPod.allow` / ``reject`` may be called from any thread.

Neighbours: ``actors.scheduler.interface`` (the extension points and the checks),
``actors.scheduler.feasible`` (the Filters' search for nodes that fit),
``actors.scheduler.plugins`` (the defaults), ``actors.scheduler.scheduler`` (the actor that
drives cycles), ``actors.scheduler.nodeinfo`` (what plugins read).
"""

from __future__ import annotations

import operator
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.scheduler import guarding, interface
from actors.scheduler.cache import Cache
from actors.scheduler.feasible import find_feasible, nodes_to_find
from actors.scheduler.interface import (
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    SUCCESS,
    Code,
    CycleState,
    Status,
    error,
)
from actors.scheduler.nodeinfo import NodeInfo, PodInfo

_VALID_SCORES = frozenset(range(MIN_NODE_SCORE, MAX_NODE_SCORE + 1))
SKIPPED_FILTERS = "Framework.skippedFilters"
"""CycleState key: the Filters this cycle's PreFilters turned off (kube-scheduler's
CycleState.SkipFilterPlugins), so that :meth:`Framework.run_filters` skips them too."""


@dataclass(frozen=True)
class Profile:
    """A scheduler's plugins (order matters within an extension point) and score weights;
    refused when made (TypeError, ValueError) if :func:`interface.check_profile` finds misuse."""

    plugins: tuple[interface.Plugin, ...]
    weights: Mapping[str, int] = field(default_factory=dict)
    """Score weight per plugin name (default 1)."""
    percentage_of_nodes_to_score: int = 0
    """Stop filtering once this share of the nodes fits; 0: kube-scheduler's adaptive share
    (50% minus 1% per 125 nodes, at least 5%, at least 100 nodes)."""

    def __post_init__(self) -> None:
        interface.check_profile(self.plugins, self.weights)


# -- the outcome of a cycle -------------------------------------------------------------------


@dataclass(slots=True)
class Diagnosis:
    """Why no node was chosen."""

    node_statuses: dict[str, Status] = field(default_factory=dict)
    pre_filter_message: str = ""
    post_filter_message: str = ""
    plugins: set[str] = field(default_factory=set)
    """Plugins that rejected the pod somewhere (what cluster events may help it)."""
    error: str = ""
    """Set when a plugin failed with Error rather than rejecting the pod."""


@dataclass(slots=True)
class ScheduleResult:
    node: str | None
    """The chosen node, or None (see ``diagnosis``)."""
    nodes: int = 0
    """Nodes in the cluster when the cycle ran."""
    evaluated: int = 0
    feasible: int = 0
    diagnosis: Diagnosis = field(default_factory=Diagnosis)

    @property
    def message(self) -> str:
        """kube-scheduler's FitError message when no node was chosen."""
        if self.diagnosis.error:
            return self.diagnosis.error
        return fit_error_message(self.nodes, self.diagnosis)


def fit_error_message(total: int, diagnosis: Diagnosis) -> str:
    """``0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint
    {k: v}.``: each reason once with the number of nodes that gave it, the ``count reason``
    strings sorted as strings (kube-scheduler's FitError.Error)."""
    if total == 0:
        return "0/0 nodes are available: no nodes registered."
    message = f"0/{total} nodes are available:"
    if diagnosis.pre_filter_message:
        message += f" {diagnosis.pre_filter_message}."
    else:
        counts: Counter[str] = Counter()
        for status in diagnosis.node_statuses.values():
            counts.update(status.reasons)
        message += " " + ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items())) + "."
    if diagnosis.post_filter_message:  # one period at the end, even when it brings its own
        message += f" {diagnosis.post_filter_message.removesuffix('.')}."
    return message


def normalize(scores: dict[str, int], reverse: bool = False) -> None:
    """Scale ``scores`` so the highest is MAX_NODE_SCORE (reversed: the lowest is), in place,
    in integers (kube-scheduler's DefaultNormalizeScore)."""
    highest = max(scores.values(), default=0)
    for node, value in scores.items():
        if highest == 0:
            scores[node] = MAX_NODE_SCORE if reverse else 0
        else:
            scaled = MAX_NODE_SCORE * value // highest
            scores[node] = MAX_NODE_SCORE - scaled if reverse else scaled


# -- waiting at Permit ------------------------------------------------------------------------


class WaitingPod:
    """A pod held at Permit until every waiting plugin allows it, one rejects it, or the
    timeout passes; ``on_done`` hears the outcome once (from the thread that decided)."""

    def __init__(self, pod: PodInfo, node: str, plugins: Iterable[str],
                 on_done: Callable[[Status], None]) -> None:
        self.pod, self.node = pod, node
        self._pending = set(plugins)
        self._on_done = on_done
        self._lock = threading.Lock()
        self._done = False

    def allow(self, plugin: str) -> None:
        with self._lock:
            self._pending.discard(plugin)
            finished = not self._pending and not self._done
            self._done = self._done or finished
        if finished:
            self._on_done(SUCCESS)

    def reject(self, plugin: str, message: str) -> None:
        with self._lock:
            first, self._done = not self._done, True
        if first:
            self._on_done(Status(Code.UNSCHEDULABLE, (message,), plugin))


# -- the framework ----------------------------------------------------------------------------


_PERMIT_PAIR = guarding.is_pair(Status, (int, float))
class _ScoreFailed(Exception):
    """A PreScore, Score or NormalizeScore failed: the cycle ends with this Error."""


def _checked_score(plugin: Any, node: NodeInfo, result: Any) -> Any:
    """The score of ``result`` (``plugin``'s on ``node``), or _ScoreFailed naming them when
    it is no ``(score, Status)`` pair or its status is not Success."""
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Status)):
        raise _ScoreFailed(guarding.failed("Score", plugin.name, node.name, guarding.returned(
            result, "(score, Status)")).message)
    value, status = result
    if not status.ok:
        raise _ScoreFailed(guarding.failed("Score", plugin.name, node.name,
                                           status.message).message)
    return value


class Framework:
    """Runs a profile's plugins at each extension point. One per scheduler; not thread-safe
    but for :meth:`run_bind` and the waiting pods."""

    def __init__(self, profile: Profile, cache: Cache | None = None) -> None:
        """``cache``: the scheduler's, for plugins that read it (a fresh one when none)."""
        self.profile = profile
        self.cache = cache if cache is not None else Cache()
        points: dict[type, list[Any]] = {point: [] for point in interface.EXTENSION_POINTS}
        for plugin in profile.plugins:
            for point in interface.EXTENSION_POINTS:
                if isinstance(plugin, point):
                    points[point].append(plugin)
        self.pre_filters = points[interface.PreFilterPlugin]
        self.filters = points[interface.FilterPlugin]
        self.post_filters = points[interface.PostFilterPlugin]
        self.pre_scores = points[interface.PreScorePlugin]
        self.scores = points[interface.ScorePlugin]
        self.reserves = points[interface.ReservePlugin]
        self.permits = points[interface.PermitPlugin]
        self.pre_binds = points[interface.PreBindPlugin]
        self.binders = points[interface.BindPlugin]
        self.weights = {plugin.name: profile.weights.get(plugin.name, 1)
                        for plugin in self.scores}
        self._normalizers = {plugin.name for plugin in points[interface.NormalizeScorePlugin]}
        self._binds_soon = bool(self.binders) and isinstance(self.binders[0],
                                                              interface.BindsSoon)
        self._pre_flights = all(isinstance(plugin, interface.PreBindPreFlight)
                                for plugin in self.pre_binds)
        """What :meth:`bind_soon` asks of the plugins, asked once here: a Protocol's
        ``isinstance`` walks its members (tens of µs a pod, asked each time)."""
        self._holding = [plugin for plugin in self.binders[:1]
                         if isinstance(plugin, interface.HoldsBindings)]
        """The binder :meth:`bind_soon` uses, when it holds bindings to send together."""
        self.waiting: dict[str, WaitingPod] = {}
        self._next_start = 0
        """Where the next cycle starts looking, so every node gets its turn (as
        kube-scheduler's nextStartNodeIndex)."""
        for plugin in profile.plugins:
            if isinstance(plugin, interface.UsesFramework):
                plugin.use_framework(self)

    # -- the scheduling cycle ----------------------------------------------------------------

    def schedule(self, state: CycleState, pod: PodInfo,
                 nodes: Sequence[NodeInfo]) -> ScheduleResult:
        """Choose a node for ``pod`` among ``nodes``: PreFilter, Filter, then PostFilter when
        none fits, else PreScore, Score, NormalizeScore and the highest total."""
        result = ScheduleResult(None, len(nodes))
        filters = self._pre_filter(state, pod, nodes, result.diagnosis)
        if filters is None:
            return result
        feasible = self._find_feasible(state, pod, nodes, filters, result)
        if result.diagnosis.error:
            return result
        if not feasible:
            self._post_filter(state, pod, result.diagnosis)
            return result
        if len(feasible) == 1:
            result.node = feasible[0].name
        else:
            result.node, result.diagnosis.error = self._best(state, pod, feasible)
        return result

    def _pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo],
                    diagnosis: Diagnosis) -> list[Any] | None:
        """The filters this pod needs, or None when a PreFilter rejected it."""
        skipped = set()
        for plugin in self.pre_filters:
            status = guarding.call_status("PreFilter", plugin, plugin.pre_filter, state, pod,
                                          nodes)
            if status.code is Code.SKIP:
                skipped.add(plugin.name)
            elif status.code is Code.ERROR:
                diagnosis.error = status.message
                return None
            elif not status.ok:
                diagnosis.pre_filter_message = status.message
                diagnosis.plugins.add(plugin.name)
                return None
        state[SKIPPED_FILTERS] = skipped
        return [plugin for plugin in self.filters if plugin.name not in skipped]

    def _find_feasible(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo],
                       filters: list[Any], result: ScheduleResult) -> list[NodeInfo]:
        """Run the filters over the nodes, from where the last cycle stopped, until enough
        fit (``feasible.find_feasible``)."""
        total = len(nodes)
        wanted = nodes_to_find(total, self.profile.percentage_of_nodes_to_score)
        start = self._next_start % total if total else 0
        diagnosis = result.diagnosis
        search = find_feasible(state, pod, [*nodes[start:], *nodes[:start]],
                               filters, wanted, diagnosis.node_statuses, diagnosis.plugins)
        if search.error:
            diagnosis.error = search.error
            return []
        self._next_start = start + search.evaluated
        result.evaluated, result.feasible = search.evaluated, len(search.feasible)
        return search.feasible

    def run_filters(self, state: CycleState, pod: PodInfo, node: NodeInfo,
                    without: str = "") -> Status:
        """The cycle's Filters (not those its PreFilters skipped, nor ``without``) on one
        node, in order: the first rejection (naming its plugin), or Success
        (kube-scheduler's RunFilterPlugins; preemption asks it of nodes with pods taken
        away)."""
        skipped = state.get(SKIPPED_FILTERS, ())
        for plugin in self.filters:
            if plugin.name in skipped or plugin.name == without:
                continue
            status = guarding.call_status("Filter", plugin, plugin.filter, state, pod, node,
                                          node=node.name)
            if not status.ok:
                return Status(status.code, status.reasons, plugin.name)
        return SUCCESS

    def _post_filter(self, state: CycleState, pod: PodInfo, diagnosis: Diagnosis) -> None:
        for plugin in self.post_filters:
            status = guarding.call_status("PostFilter", plugin, plugin.post_filter, state, pod,
                                          diagnosis.node_statuses)
            if status.ok:
                return
            if status.code is Code.ERROR:
                diagnosis.error = status.message
                return
            if status.message:
                diagnosis.post_filter_message = status.message

    def _best(self, state: CycleState, pod: PodInfo,
              nodes: list[NodeInfo]) -> tuple[str | None, str]:
        """The node with the highest weighted sum of scores, or None and why a PreScore,
        Score or NormalizeScore failed. Ties (common: scores are integers) go to the first
        in this cycle's order, by name from where the last cycle stopped looking: reproducible,
        yet spread over the nodes as kube-scheduler's random pick among the best."""
        totals: list[int] | None = None
        try:
            for plugin in self._scorers(state, pod, nodes):
                scores = self._scores(state, pod, plugin, nodes)
                weight = self.weights[plugin.name]
                if weight != 1:
                    scores = [value * weight for value in scores]
                totals = scores if totals is None else list(map(operator.add, totals, scores))
        except _ScoreFailed as failed:
            return None, str(failed)
        if totals is None:  # every Score plugin skipped: all tie
            return nodes[0].name, ""
        return nodes[totals.index(max(totals))].name, ""

    def scores_of(self, state: CycleState, pod: PodInfo,
                  nodes: list[NodeInfo]) -> tuple[dict[str, dict[str, int]], str]:
        """Each Score plugin's score of each of ``nodes``, normalized, unweighted, by node
        then plugin (what :meth:`_best` weighs and sums: the shadow scheduler's breakdown);
        or nothing and why a PreScore, Score or NormalizeScore failed. Run after
        :meth:`schedule` on the same ``state``."""
        by_node: dict[str, dict[str, int]] = {node.name: {} for node in nodes}
        try:
            for plugin in self._scorers(state, pod, nodes):
                for node, value in zip(nodes, self._scores(state, pod, plugin, nodes),
                                       strict=True):
                    by_node[node.name][plugin.name] = value
        except _ScoreFailed as failed:
            return {}, str(failed)
        return by_node, ""

    def _scorers(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> list[Any]:
        """The Score plugins whose PreScore did not Skip."""
        skipped = set()
        for plugin in self.pre_scores:
            status = guarding.call_status("PreScore", plugin, plugin.pre_score, state, pod,
                                          nodes)
            if status.code is Code.SKIP:
                skipped.add(plugin.name)
            elif not status.ok:
                raise _ScoreFailed(guarding.error_message("PreScore", plugin, status))
        return [plugin for plugin in self.scores if plugin.name not in skipped]

    def _scores(self, state: CycleState, pod: PodInfo, plugin: Any,
                nodes: list[NodeInfo]) -> list[int]:
        """``plugin``'s scores of ``nodes``, normalized if it can, each checked to be an
        integer in MIN_NODE_SCORE..MAX_NODE_SCORE: a float is refused even when whole (50.0);
        a bool, an int in Python, passes as 0 or 1 (weighted sums come out right). The
        scheduler's hottest loop: the statuses are checked in the same pass that takes the
        scores, by identity with :data:`SUCCESS`; the sum costs about what the set's pass
        does, a type check of every score (which would refuse bools too) three times that."""
        scores = self._raw_scores(state, pod, plugin, nodes)
        if plugin.name in self._normalizers:
            named = dict(zip([node.name for node in nodes], scores, strict=True))
            status = guarding.call_status("NormalizeScore", plugin, plugin.normalize_score,
                                          state, pod, named)
            if not status.ok:
                raise _ScoreFailed(guarding.error_message("NormalizeScore", plugin, status))
            scores = list(named.values())
        # Two C passes: the values (rejects 101, -1, 2.5, None); then the sum, a float when
        # any score is one (rejects 50.0, which the set takes: 50.0 == 50)
        if not _VALID_SCORES.issuperset(scores) or type(sum(scores)) is not int:
            at = next(i for i, value in enumerate(scores)
                      if value not in _VALID_SCORES or isinstance(value, float))
            raise _ScoreFailed(guarding.failed(
                "Score", plugin.name, nodes[at].name,
                f"invalid score {scores[at]!r}, it should be an integer in the range of "
                f"[{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing").message)
        return scores

    def _raw_scores(self, state: CycleState, pod: PodInfo, plugin: Any,
                    nodes: list[NodeInfo]) -> list[Any]:
        """``plugin``'s scores of ``nodes`` before NormalizeScore: from its ``score_nodes``
        when it has one, else ``score`` node by node; a failure (raised, no pair, a status
        but SUCCESS) is looked at node by node to say where."""
        batch = getattr(plugin, "score_nodes", None)
        try:
            if batch is not None:
                scores: list[Any] = batch(state, pod, nodes)
                if isinstance(scores, list) and len(scores) == len(nodes):
                    return scores
                raise _ScoreFailed(guarding.failed("Score", plugin.name, "", guarding.returned(
                    scores, f"a list of {len(nodes)} scores")).message)
            score = plugin.score
            results = [score(state, pod, node) for node in nodes]
            scores = [value for value, status in results if status is SUCCESS]
        except _ScoreFailed:
            raise
        except Exception:  # raised, or returned no pair: again node by node, to say where
            results, scores = [self._score_on(state, pod, plugin, node) for node in nodes], []
        if len(scores) != len(results):  # a status other than the shared SUCCESS: look
            scores = [_checked_score(plugin, node, result)
                      for node, result in zip(nodes, results, strict=True)]
        return scores

    @staticmethod
    def _score_on(state: CycleState, pod: PodInfo, plugin: Any, node: NodeInfo) -> Any:
        """``plugin``'s score of ``node``, guarded: _ScoreFailed naming them when it raises."""
        value, status = guarding.call("Score", plugin, plugin.score, state, pod, node,
                                      node=node.name, wanted=guarding.anything)
        if not status.ok:
            raise _ScoreFailed(status.message)
        return value

    # -- after a node is chosen ----------------------------------------------------------------

    def run_reserve(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        """Reserve in order; on the first failure every Reserve plugin is unreserved."""
        for plugin in self.reserves:
            status = guarding.call_status("Reserve", plugin, plugin.reserve, state, pod, node,
                                          node=node)
            if not status.ok:
                self.run_unreserve(state, pod, node)
                return Status(status.code, status.reasons, plugin.name)
        return SUCCESS

    def run_unreserve(self, state: CycleState, pod: PodInfo, node: str) -> None:
        """Unreserve in reverse order (Kubernetes' contract); one that fails is logged and
        the others still run."""
        for plugin in reversed(self.reserves):
            guarding.call("Unreserve", plugin, plugin.unreserve, state, pod, node, node=node,
                          wanted=guarding.anything)

    def run_permit(self, state: CycleState, pod: PodInfo, node: str,
                   on_done: Callable[[Status], None]) -> tuple[Status, float]:
        """Success, a rejection, or Wait with the shortest timeout asked: the pod is then in
        :attr:`waiting` and ``on_done`` hears once whether it was allowed or rejected
        (:meth:`expire` rejects it at the timeout)."""
        waiting: dict[str, float] = {}
        for plugin in self.permits:
            pair, status = guarding.call("Permit", plugin, plugin.permit, state, pod, node,
                                         node=node, wanted=_PERMIT_PAIR,
                                         shape="(Status, timeout)")
            if status.ok:
                status, timeout = pair
                status = guarding.blamed("Permit", plugin, status, node)
            if status.code is Code.WAIT:
                waiting[plugin.name] = timeout
            elif not status.ok:
                return Status(status.code, status.reasons, plugin.name), 0.0
        if not waiting:
            return SUCCESS, 0.0

        def finished(status: Status) -> None:
            self.waiting.pop(pod.key, None)
            on_done(status)

        self.waiting[pod.key] = WaitingPod(pod, node, waiting, finished)
        return Status(Code.WAIT), min(waiting.values())

    def expire(self, key: str) -> None:
        """Reject the pod waiting at Permit, if it still waits (its timeout passed)."""
        waiting = self.waiting.get(key)
        if waiting is not None:
            waiting.reject("", f"pod {key} rejected at Permit: timed out waiting")

    def run_bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        """PreBind in order, then the first bind plugin that does not Skip binds (a binding
        worker thread)."""
        for pre in self.pre_binds:
            status = guarding.call_status("PreBind", pre, pre.pre_bind, state, pod, node,
                                          node=node)
            if not status.ok:
                return Status(status.code, status.reasons, pre.name)
        for plugin in self.binders:
            status = guarding.call_status("Bind", plugin, plugin.bind, state, pod, node,
                                          node=node)
            if status.code is not Code.SKIP:
                return Status(status.code, status.reasons, plugin.name)
        return error(f"no bind plugin bound pod {pod.key}")

    def bind_soon(self, state: CycleState, pod: PodInfo, node: str,
                  done: Callable[[Status], None]) -> bool:
        """:meth:`run_bind` without a binding thread, when it needs none: every PreBind
        plugin's pre-flight says Skip and the first bind plugin binds without blocking (the
        default profile's plain pods). Then True, and ``done`` gets the Status :meth:`run_bind`
        would give (guarded as it is), on the thread the answer comes; else False, nothing
        done."""
        if not self._binds_soon or not self._pre_flights or not all(
                self._nothing_to_pre_bind(pre, state, pod, node) for pre in self.pre_binds):
            return False
        binder = self.binders[0]

        told = threading.Event()

        def settle(status: Status) -> None:
            if not told.is_set():  # else a broken plugin's second answer
                told.set()
                done(Status(status.code, status.reasons, binder.name))

        def bound(status: Any) -> None:
            settle(guarding.blamed("Bind", binder, status, node)
                   if isinstance(status, Status) and status.code is not Code.SKIP
                   else guarding.failed("Bind", binder.name, node, guarding.returned(
                       status, "a Status other than Skip")))

        _, status = guarding.call("Bind", binder, binder.bind_soon, state, pod, node, bound,
                                  node=node, wanted=guarding.anything)
        if not status.ok:
            settle(status)
        return True

    def send_bindings(self) -> None:
        """The scheduler's turn is over: the binder sends what :meth:`bind_soon` held (a
        binder that raises is logged, and its held bindings' answers say what came of
        them)."""
        for plugin in self._holding:
            guarding.call("Bind", plugin, plugin.send_bindings, wanted=guarding.anything)

    @staticmethod
    def _nothing_to_pre_bind(plugin: Any, state: CycleState, pod: PodInfo, node: str) -> bool:
        """Whether ``plugin``'s PreBind (which has a pre-flight) has nothing to do for ``pod``
        (its pre-flight says Skip; one whose pre-flight breaks may have)."""
        value, status = guarding.call("PreBindPreFlight", plugin, plugin.pre_bind_pre_flight,
                                      state, pod, node, node=node)
        return status.ok and value.code is Code.SKIP
