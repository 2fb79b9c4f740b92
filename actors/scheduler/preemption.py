"""DefaultPreemption: a pod that fits nowhere may evict pods of lower priority to make room.

As kube-scheduler's DefaultPreemption PostFilter plugin:

1. A pod whose ``preemptionPolicy`` is ``Never``, or whose nominated node still has a
   lower-priority pod terminating (the room it preempted for is coming), preempts nothing
   (:func:`ineligible`).
2. On every node rejected for a reason preemption may fix (``Unschedulable``, not
   ``UnschedulableAndUnresolvable``), all pods of lower priority are taken away and the
   Filters run again; where the pod then fits, the taken pods are put back one by one, the
   most important first (higher priority, then the longer running), those whose eviction
   would break a PodDisruptionBudget before the others (:func:`violating`, kube-scheduler's
   filterPodsWithPDBViolation), keeping back each one without which the pod no longer fits:
   those are the victims, and the budget-breaking ones among them are counted
   (:func:`select_victims`).
3. Of the nodes with victims, the one with the fewest budget-breaking victims, then the one
   whose most important victim has the lowest priority,
   then the lowest sum of victim priorities, then the fewest victims, then the most recently
   started most important victims (:func:`pick_candidate`).
4. The pod is nominated to that node in the scheduler's cache at once (so no pod of lower
   priority takes the room being freed: this plugin's Filter counts nominated pods of equal
   or higher priority as already there), and, on a thread of its own, its
   ``status.nominatedNodeName`` is written, each victim gets the ``DisruptionTarget``
   condition, is deleted and gets a ``Preempted`` Event; pods of lower priority that were
   nominated to that node lose their nomination in the cache at once and then their
   ``status.nominatedNodeName`` too (set to "", as kube-scheduler's prepareCandidate). The
   pod itself goes back to the queue (as unschedulable) and is tried again when the victims'
   deletion frees the room.

Budgets are only preferred: a victim that breaks one is still evicted (deleted, as
kube-scheduler does) when nothing else makes room. Which thread: PreFilter, Filter
and PostFilter on the scheduler's actor thread; the API writes on a short-lived thread per
preemption. Neighbours: ``actors.scheduler.framework`` (``run_filters``, the cache),
``actors.scheduler.cache`` (nominations), ``actors.client.client``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from actors.api import disruptionbudgets
from actors.api.meta import parse_time, set_condition
from actors.api.objects import Object
from actors.api.pods import DEFAULT_SCHEDULER
from actors.api.selectors import selector_requirements
from actors.client.client import Client
from actors.client.events import EventRecorder
from actors.scheduler.framework import Diagnosis, Framework, fit_error_message
from actors.scheduler.interface import SKIP, SUCCESS, Code, CycleState, Status, unschedulable
from actors.scheduler.nodeinfo import NodeInfo, PodInfo
from actors.scheduler.status import update_status
from bus.errors import ApiError, NotFound

log = logging.getLogger(__name__)

Fits = Callable[[NodeInfo], Status]
"""Runs the Filters for the preemptor on a (changed) node."""

MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100
"""Enough nodes with victims are looked for, then the search stops (kube-scheduler's
defaults: 10% of the nodes, at least 100)."""
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
QUIET = {(NO_VICTIMS,), (NOT_HELPFUL,)}
"""When every node failed for one of these, the FailedScheduling message gets no preemption
hint: the issue's summary (``0/3 nodes are available: 2 Insufficient cpu, ...``) is kept
as it is for the common pod with nothing below it (kube-scheduler would append
``preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.``)."""
NEVER = "Never"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node where the pod fits once ``victims`` are gone."""

    node: str
    victims: tuple[PodInfo, ...]
    violations: int = 0
    """How many victims' eviction breaks a PodDisruptionBudget."""


# -- decisions --------------------------------------------------------------------------------


def ineligible(pod: PodInfo, nominated: NodeInfo | None) -> str:
    """Why ``pod`` may not preempt ("" when it may): kube-scheduler's
    PodEligibleToPreemptOthers."""
    if pod.spec.get("preemptionPolicy") == NEVER:
        return "not eligible due to preemptionPolicy=Never."
    if nominated is not None and any(
            other.priority < pod.priority and other.pod["metadata"].get("deletionTimestamp")
            for other in nominated.pods.values()):
        return "not eligible due to a terminating pod on the nominated node."
    return ""


def start_time(pod: PodInfo) -> float:
    """When the pod started (``status.startTime``, else its creation; now when neither)."""
    stamp = (pod.pod.get("status") or {}).get("startTime") or pod.pod["metadata"].get(
        "creationTimestamp")
    try:
        return parse_time(str(stamp)).timestamp() if stamp else datetime.now(UTC).timestamp()
    except ValueError:
        return datetime.now(UTC).timestamp()


def importance(pod: PodInfo) -> tuple[int, float]:
    """Sort key, most important first: higher priority, then started earlier
    (kube-scheduler's MoreImportantPod)."""
    return -pod.priority, start_time(pod)


def changed_node(node: NodeInfo, add: Sequence[PodInfo] = (),
                 remove: Sequence[PodInfo] = ()) -> NodeInfo:
    """A copy of ``node`` with pods added and taken away (``node`` is left as it is)."""
    trial = dataclasses.replace(node, pods=dict(node.pods))
    for pod in remove:
        trial.remove_pod(pod.key)
    for pod in add:
        trial.add_pod(pod)
    return trial


def violating(pods: Sequence[PodInfo], budgets: Sequence[Object]) -> set[str]:
    """The keys of the pods (in order) whose eviction would break a budget: each budget
    that selects a pod (same namespace, a non-empty selector that matches; a pod already in
    its ``disruptedPods`` is counted there) gives up one of its ``disruptionsAllowed``, and a
    pod that takes one below zero breaks it (kube-scheduler's filterPodsWithPDBViolation)."""
    allowed = [int((budget.get("status") or {}).get("disruptionsAllowed", 0))
               for budget in budgets]
    found = set()
    for pod in pods:
        metadata = pod.pod["metadata"]
        for i, budget in enumerate(budgets):
            if (not _guards(budget, pod.pod) or metadata["name"] in (
                    (budget.get("status") or {}).get("disruptedPods") or {})):
                continue
            allowed[i] -= 1
            if allowed[i] < 0:
                found.add(pod.key)
    return found


def _guards(budget: Object, pod: Object) -> bool:
    """The budget selects the pod, its selector not empty (an empty one: none, here)."""
    selector = (budget.get("spec") or {}).get("selector")
    try:
        return bool(selector_requirements(selector or {})) and disruptionbudgets.selects(
            budget, pod)
    except (ValueError, TypeError, AttributeError):
        return False


def select_victims(pod: PodInfo, node: NodeInfo, fits: Fits,
                   budgets: Sequence[Object] = ()) -> tuple[list[PodInfo], int, Status]:
    """The fewest, least important pods of lower priority whose removal lets ``pod`` fit on
    ``node``, those breaking a budget reprieved first, and how many of the victims break
    one (kube-scheduler's SelectVictimsOnNode); no victims and why when there are none."""
    lower = [other for other in node.pods.values() if other.priority < pod.priority]
    if not lower:
        return [], 0, unschedulable(NO_VICTIMS, resolvable=False)
    trial = changed_node(node, remove=lower)
    status = fits(trial)
    if not status.ok:
        return [], 0, status
    ordered = sorted(lower, key=importance)  # reprieve the most important first
    breaking = violating(ordered, budgets)
    victims, violations = [], 0
    for other in [p for p in ordered if p.key in breaking] + [
            p for p in ordered if p.key not in breaking]:
        trial.add_pod(other)
        if not fits(trial).ok:
            trial.remove_pod(other.key)
            victims.append(other)
            violations += other.key in breaking
    return sorted(victims, key=importance), violations, SUCCESS


def candidates_wanted(nodes: int) -> int:
    """How many candidate nodes are enough (kube-scheduler's calculateNumCandidates)."""
    wanted = max(nodes * MIN_CANDIDATE_NODES_PERCENTAGE // 100, MIN_CANDIDATE_NODES_ABSOLUTE)
    return min(wanted, nodes)


def find_candidates(pod: PodInfo, nodes: Sequence[NodeInfo], statuses: Mapping[str, Status],
                    fits: Fits, budgets: Sequence[Object] = ()
                    ) -> tuple[list[Candidate], dict[str, Status]]:
    """The nodes where preempting helps ``pod``, and why each other node does not."""
    found: list[Candidate] = []
    failures: dict[str, Status] = {}
    wanted = candidates_wanted(len(nodes))
    for node in nodes:
        status = statuses.get(node.name)
        if status is None or status.code is not Code.UNSCHEDULABLE:
            failures[node.name] = unschedulable(NOT_HELPFUL, resolvable=False)
            continue
        victims, violations, why = select_victims(pod, node, fits, budgets)
        if not victims:
            failures[node.name] = why
            continue
        found.append(Candidate(node.name, tuple(victims), violations))
        if len(found) >= wanted:
            break
    return found, failures


def pick_candidate(candidates: Sequence[Candidate]) -> Candidate:
    """kube-scheduler's pickOneNodeForPreemption: the fewest victims breaking a budget, then
    the lowest highest victim priority, then the lowest sum of priorities, then the fewest
    victims, then the latest start among the highest-priority victims; ties: the first."""

    def rank(candidate: Candidate) -> tuple[int, int, int, int, float]:
        victims = candidate.victims
        top = max(victim.priority for victim in victims)
        earliest = min(start_time(victim) for victim in victims if victim.priority == top)
        return (candidate.violations, top, sum(victim.priority + 2**31 for victim in victims),
                len(victims), -earliest)

    return min(candidates, key=rank)


# -- the plugin -------------------------------------------------------------------------------


class DefaultPreemption:
    """PostFilter: preempt (see the module docstring). PreFilter and Filter: nominated pods
    of equal or higher priority keep their room (kube-scheduler counts them in
    RunFilterPluginsWithNominatedPods); skipped while nobody is nominated."""

    name: ClassVar[str] = "DefaultPreemption"

    def __init__(self, client: Client,
                 spawn: Callable[[Callable[[], None], str], None] | None = None) -> None:
        """``spawn(work, name)`` runs a preemption's API writes (default: on a new daemon
        thread; tests run them in place)."""
        self.client = client
        self.spawn = spawn or _thread
        self._framework: Framework | None = None
        self._recorders: dict[str, EventRecorder] = {}
        """By scheduler name (the Events' source), made on first use."""
        self._lock = threading.Lock()

    def use_framework(self, framework: Framework) -> None:
        self._framework = framework

    @property
    def framework(self) -> Framework:
        if self._framework is None:
            raise RuntimeError(f"{self.name} needs its framework: put it in a Profile given "
                               "to Framework()")
        return self._framework

    # -- nominated pods keep their room ------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        return SUCCESS if self.framework.cache.has_nominations() else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        ahead = [other for other in self.framework.cache.nominated(node.name)
                 if other.priority >= pod.priority and other.key != pod.key]
        if not ahead:
            return SUCCESS
        return self.framework.run_filters(state, pod, changed_node(node, add=ahead),
                                          without=self.name)

    # -- preemption --------------------------------------------------------------------------

    def post_filter(self, state: CycleState, pod: PodInfo,
                    statuses: Mapping[str, Status]) -> Status:
        cache = self.framework.cache
        nominated = cache.nominated_node(pod.key) or (pod.pod.get("status") or {}).get(
            "nominatedNodeName")
        why = ineligible(pod, cache.node(nominated) if nominated else None)
        if why:
            return unschedulable(f"preemption: {why}")
        nodes = cache.node_list()
        found, failures = find_candidates(  # Filter included: nominated pods count
            pod, nodes, statuses, lambda node: self.framework.run_filters(state, pod, node),
            cache.budgets())
        if not found:
            cache.unnominate(pod.key)
            if all(status.reasons in QUIET for status in failures.values()):
                return unschedulable()  # nothing of lower priority in the way: say nothing
            message = fit_error_message(len(nodes), Diagnosis(node_statuses=failures))
            return unschedulable(f"preemption: {message}")
        chosen = pick_candidate(found)
        displaced = cache.nominate(pod, chosen.node)
        condition = fit_error_message(len(nodes), Diagnosis(node_statuses=dict(statuses)))
        self.spawn(lambda: self._preempt(pod, chosen, condition, displaced),
                   f"preempt-{pod.key}")
        return SUCCESS

    def _preempt(self, pod: PodInfo, chosen: Candidate, message: str,
                 displaced: Sequence[PodInfo]) -> None:
        """On its own thread: nominate the pod through the API, evict the victims, then clear
        the nomination of the ``displaced`` pods (of lower priority, nominated to the chosen
        node: kube-scheduler's prepareCandidate). A failure is logged (the pod is tried again
        anyway)."""
        try:
            self._write_nomination(pod, chosen.node, message)
        except ApiError as error:
            log.warning("cannot nominate %s to %s: %s", pod.key, chosen.node, error)
        scheduler = str(pod.spec.get("schedulerName") or DEFAULT_SCHEDULER)
        recorder = self._recorder(scheduler)
        for victim in chosen.victims:
            try:
                self._evict(victim, scheduler)
            except NotFound:
                continue  # gone already
            except ApiError as error:
                log.warning("cannot preempt %s for %s: %s", victim.key, pod.key, error)
                continue
            recorder.record(victim.pod, "Normal", "Preempted",
                            f"Preempted by pod {pod.pod['metadata'].get('uid')} on node "
                            f"{chosen.node}")
        for other in displaced:
            try:
                self._clear_nomination(other, chosen.node)
            except NotFound:
                continue  # gone already
            except ApiError as error:
                log.warning("cannot clear the nomination of %s to %s: %s", other.key,
                            chosen.node, error)

    def _recorder(self, scheduler: str) -> EventRecorder:
        with self._lock:
            if scheduler not in self._recorders:
                self._recorders[scheduler] = EventRecorder(self.client, scheduler)
            return self._recorders[scheduler]

    def _write_nomination(self, pod: PodInfo, node: str, message: str) -> None:
        """``status.nominatedNodeName``, with the PodScheduled=False condition the scheduler
        writes too (whichever of the two writes comes second keeps both)."""

        def nominate(current: Object) -> bool:
            if current.get("spec", {}).get("nodeName"):
                return False  # bound meanwhile
            current.setdefault("status", {})["nominatedNodeName"] = node
            set_condition(current, "PodScheduled", "False", "Unschedulable", message)
            return True

        self._update_status(pod, nominate)

    def _clear_nomination(self, pod: PodInfo, node: str) -> None:
        """``status.nominatedNodeName`` set to "" while it still names ``node`` (the pod may
        have been nominated elsewhere meanwhile)."""

        def clear(current: Object) -> bool:
            status = current.setdefault("status", {})
            if status.get("nominatedNodeName") != node:
                return False
            status["nominatedNodeName"] = ""
            return True

        self._update_status(pod, clear)

    def _evict(self, victim: PodInfo, scheduler: str) -> None:
        """The DisruptionTarget condition, then the delete."""

        def mark(current: Object) -> bool:
            set_condition(current, "DisruptionTarget", "True", "PreemptionByScheduler",
                          f"{scheduler}: preempting to accommodate a higher priority pod")
            return True

        self._update_status(victim, mark)
        metadata = victim.pod["metadata"]
        self.client.delete("pods", metadata["name"], metadata["namespace"])

    def _update_status(self, pod: PodInfo, change: Callable[[Object], bool]) -> bool:
        """Read the pod, ``change`` it in place (False: leave it), write its status; again on
        a 409 (:func:`update_status`). NotFound when it is gone or was replaced (another
        uid). True when written."""
        metadata = pod.pod["metadata"]

        def read() -> Object:
            current = self.client.get("pods", metadata["name"], metadata["namespace"])
            if current["metadata"].get("uid") != metadata.get("uid"):
                raise NotFound(f'pods "{metadata["name"]}" not found (replaced)')
            return current

        return update_status(
            read, lambda current: current if change(current) else None,
            lambda body: self.client.update("pods", body, subresource="status"))


def _thread(work: Callable[[], None], name: str) -> None:
    threading.Thread(target=work, name=name, daemon=True).start()
