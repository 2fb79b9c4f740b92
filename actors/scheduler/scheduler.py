"""The scheduler actor: picks a node for each pending pod and binds it (seed step 4).

It follows nodes, pods, PodDisruptionBudgets and the storage kinds (claims, volumes, classes:
VolumeBinding's) with informers (no polling) into a :class:`Cache` (nodes and what their pods
request, assumed pods included; the budgets; the storage objects) and a
:class:`SchedulingQueue` (pending pods whose ``spec.schedulerName`` is this scheduler's name).
One pod at a time goes through a scheduling cycle of the :class:`Framework` with this
scheduler's :class:`Profile` (default plugins unless given): filter and score nodes, assume the
pod on the best one, Reserve, Permit. Binding (``pods/binding`` through the DefaultBinder)
never holds the next cycle: a pod with nothing to do at PreBind (every PreBind plugin's
pre-flight says Skip, as VolumeBinding's for a pod without claims) is bound by a request sent
from the scheduling thread and answered on the bus loop, the bindings of cycles run back to
back sent as one batch once no cycle is planned next (``batching``); any other binds on a small
pool of binding threads (PreBind may block). The outcome comes back as a message. Events
(``Scheduled``, ``FailedScheduling``) go through an :class:`EventRecorder`: sent off the
scheduling path, at most 16 unanswered, aggregated, dropped past its queue as client-go's
broadcaster drops them, so they never hold back scheduling. A pod that fits nowhere gets a
``FailedScheduling`` Event with kube-scheduler's summary, the same message in its
``PodScheduled=False`` condition (reason Unschedulable), and waits in the queue until a cluster
event may help it; a cycle that raises (a plugin's bug, a pod no check foresaw) is said the
same way with reason SchedulerError, and the pod backs off; a plugin that raises or returns the
wrong type is caught by the framework's guards (``guarding``), which name the plugin, the
extension point and the node.

Several schedulers run side by side, each with its own name. With ``leader_election`` set,
replicas of one scheduler share a Lease and only the leader schedules; the others keep their
cache and queue up to date and take over when the Lease expires. Its :attr:`elector` answers
the process's ``leaderElection`` health check from any thread.

Hooks for a subclass (``actors.scheduler.shadowing``, the shadow scheduler): ``_on_pod`` (a
pod's watch event, which keeps the cache and the queue) and ``_plan_next`` (plans cycles).

Which thread: the actor's, for everything but binding (binding threads, or the bus loop
that answers a binding sent from the cycle). Neighbours:
``actors.scheduler`` (framework, plugins, queue, cache), ``actors.client.leaderelection``,
``actors.client.informer`` (events in), ``actors.client.client`` (bindings and events out).
"""

from __future__ import annotations

import collections
import concurrent.futures
import copy
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actors.api import disruptionbudgets, storage
from actors.api.meta import set_condition
from actors.api.objects import Object
from actors.api.pods import DEFAULT_SCHEDULER, scheduling_gates
from actors.client.client import Client, WatchEvent
from actors.client.events import EventRecorder
from actors.client.informer import Informer
from actors.client.leaderelection import ElectionTick, LeaderElectionConfig, LeaderElector
from actors.instruments import Attempts, Instruments
from actors.scheduler.cache import Cache
from actors.scheduler.framework import Framework, Profile
from actors.scheduler.interface import ClusterEvent, Code, CycleState, Status, events_of
from actors.scheduler.nodeinfo import PodInfo, pod_key
from actors.scheduler.plugins import default_profile
from actors.scheduler.podaffinity import InterPodAffinity
from actors.scheduler.queue import QueueConfig, QueuedPod, SchedulingQueue
from actors.scheduler.status import update_status
from bus.actor import BusActor
from bus.connection import Connection
from bus.errors import KubeactorError, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    name: str = DEFAULT_SCHEDULER
    """Pods whose ``spec.schedulerName`` equals this are ours; also the Events' source."""
    queue: QueueConfig = field(default_factory=QueueConfig)
    bind_workers: int = 16
    """Binding threads, for the pods with something to do at PreBind (kube-scheduler binds
    in a goroutine per pod); enough to keep the apiserver's group commits full."""
    bindings_in_flight: int = 256
    """Bindings sent and not answered yet, at most (on threads and from the cycle together):
    under what the apiserver queues for the scheduler's flow (a namespace's: 6 queues of 50
    at workload-high) before a 429. Fewer held the scheduler back on a loaded machine, where
    a binding's round trip reaches a second (benchmarks/RESULTS.md: 16 and 128)."""
    leader_election: LeaderElectionConfig | None = None
    """None: this scheduler is alone and schedules from the start."""


STORAGE_KINDS = storage.KINDS
"""What VolumeBinding reads, followed into the cache."""
NEXT = object()
"""Local message: run the next scheduling cycle."""
WAKE = object()
"""Local message: a backing-off pod is due."""


@dataclass(frozen=True, slots=True)
class BindingDone:
    """Local message from a binding thread or the bus loop: how binding ``entry`` to
    ``node`` went."""

    entry: QueuedPod
    node: str
    state: CycleState
    status: Status


@dataclass(frozen=True, slots=True)
class PermitDone:
    """Local message: the pod waiting at Permit was allowed or rejected."""

    entry: QueuedPod
    node: str
    state: CycleState
    status: Status


@dataclass(frozen=True, slots=True)
class PermitTimeout:
    key: str


class Scheduler(BusActor):
    """See the module docstring."""

    def __init__(self, connection: Connection, client: Client,
                 config: SchedulerConfig | None = None, profile: Profile | None = None,
                 instruments: Instruments | None = None) -> None:
        """``instruments``: where its metrics go (a registry of its own when None)."""
        super().__init__(connection)
        self.client = client
        self.config = config or SchedulerConfig()
        profile = profile or default_profile(client)
        self.cache = Cache()
        self.framework = Framework(profile, self.cache)
        self.queue = SchedulingQueue(self.config.queue, {
            plugin.name: events_of(plugin) for plugin in profile.plugins})
        self.recorder = EventRecorder(client, self.config.name)
        instruments = instruments or Instruments()
        self.attempts = Attempts(instruments, self.config.name)
        instruments.gauge_from("scheduler_pending_pods", "Number of pending pods, by the queue "
                               "type.", ("queue",), self.config.name, self.queue.sizes)
        self.leading = self.config.leader_election is None
        self._failures: dict[str, str] = {}
        """Last FailedScheduling message per pod (the same one is not recorded twice)."""
        self._affinity_used = False
        """A pod waited for pods it has affinity to: from then on every binding may let it
        in; until then bindings move nothing, so a busy queue is not scanned per binding."""
        self._informers: list[Informer] = []
        self._binding: concurrent.futures.ThreadPoolExecutor | None = None
        self._in_flight = 0
        """Bindings handed over (sent from the cycle, or to the binding threads) and not
        answered yet."""
        self._to_bind: collections.deque[tuple[QueuedPod, str, CycleState]] = \
            collections.deque()
        """Pods through Permit waiting for a binding to end (``bindings_in_flight``)."""
        self.elector = None if self.config.leader_election is None else LeaderElector(
            client, self.config.leader_election, schedule=self.tell_later,
            on_started_leading=self._started_leading, on_stopped_leading=self._stopped_leading)
        """This replica's election (started with the actor); None when alone."""
        self._next_planned = False
        self._wake: concurrent.futures.Future[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def on_start(self) -> None:
        super().on_start()
        self._binding = concurrent.futures.ThreadPoolExecutor(
            self.config.bind_workers, thread_name_prefix=f"{self.config.name}-bind")
        self._informers = [Informer(self.client, "nodes", self.tell_soon).start(),
                           Informer(self.client, "pods", self.tell_soon).start(),
                           Informer(self.client, disruptionbudgets.RESOURCE,
                                    self.tell_soon).start(),
                           *(Informer(self.client, resource, self.tell_soon).start()
                             for resource in STORAGE_KINDS.values())]
        if self.elector is not None:
            self.elector.start()

    def on_stop(self) -> None:
        if self.elector is not None:
            self.elector.stop()
        for informer in self._informers:
            informer.stop()
        if self._wake is not None:
            self._wake.cancel()
        if self._binding is not None:
            self._binding.shutdown(wait=False, cancel_futures=True)
        self.recorder.close()
        super().on_stop()

    def _started_leading(self) -> None:
        self.leading = True
        self._plan_next()

    def _stopped_leading(self) -> None:
        self.leading = False

    # -- messages ------------------------------------------------------------------------------

    def on_local(self, message: Any) -> Any:
        if message is NEXT:
            self._next_planned = False
            self._schedule_next()
            self._turn_over()
        elif message is WAKE:
            self._plan_next()
        elif isinstance(message, WatchEvent):
            if message.object.get("kind") == "Node":
                self._on_node(message)
            elif message.object.get("kind") == "PodDisruptionBudget":
                self.cache.set_budget(message.object, deleted=message.type == "DELETED")
            elif message.object.get("kind") in STORAGE_KINDS:
                self.cache.set_storage(STORAGE_KINDS[message.object["kind"]], message.object,
                                       deleted=message.type == "DELETED")
                self._moved(ClusterEvent.STORAGE_CHANGE)
            else:
                self._on_pod(message)
        elif isinstance(message, BindingDone):
            self._binding_done(message)
            self._turn_over()
        elif isinstance(message, PermitDone):
            self._permit_done(message)
            self._turn_over()
        elif isinstance(message, PermitTimeout):
            self.framework.expire(message.key)
        elif isinstance(message, ElectionTick):
            message.elector.tick()
        else:
            return super().on_local(message)
        return None

    def _on_node(self, event: WatchEvent) -> None:
        if event.type == "DELETED":
            self.cache.remove_node(event.object["metadata"]["name"])
            return
        new = self.cache.set_node(event.object)
        self._moved(ClusterEvent.NODE_ADD if new else ClusterEvent.NODE_UPDATE)

    def _on_pod(self, event: WatchEvent) -> None:
        pod, key = event.object, pod_key(event.object)
        if event.type == "DELETED":
            self._forget_pending(key)
            if self.cache.pod_deleted(key):
                self._moved(ClusterEvent.ASSIGNED_POD_DELETE)
        elif pod.get("spec", {}).get("nodeName"):
            self._forget_pending(key)
            if self.cache.pod_changed(pod):
                self._moved(ClusterEvent.ASSIGNED_POD_DELETE)  # it finished: room again
        elif not self._is_mine(pod):
            self._forget_pending(key)
        elif not self.cache.is_assumed(key):
            self.queue.add(PodInfo.of(pod))
            self._plan_next()

    def _is_mine(self, pod: Object) -> bool:
        return (not pod["metadata"].get("deletionTimestamp") and not scheduling_gates(pod)
                and pod.get("spec", {}).get("schedulerName", DEFAULT_SCHEDULER)
                == self.config.name)

    def _forget_pending(self, key: str) -> None:
        self.queue.delete(key)
        self._failures.pop(key, None)

    def _moved(self, event: ClusterEvent) -> None:
        if self.queue.move(event):
            self._plan_next()

    # -- the scheduling cycle ------------------------------------------------------------------

    def _plan_next(self) -> None:
        """Plan one cycle (a message, so watch events interleave with cycles), or a wake-up
        for when the next backing-off pod is due."""
        if not self.leading or self._next_planned:
            return
        if self.queue.has_active():
            self._next_planned = True
            self.tell_self(NEXT)
            return
        if self._wake is not None:
            self._wake.cancel()
        delay = self.queue.next_wakeup()
        self._wake = None if delay is None else self.tell_later(delay, WAKE)

    def _schedule_next(self) -> None:
        if not self.leading:
            return
        entry = self.queue.pop()
        if entry is not None:
            self.attempts.started(entry.key)
            try:
                self._cycle(entry)
            except Exception as surprise:  # a plugin's bug, or a pod no check foresaw
                self._surprised(entry, surprise)
        self._plan_next()

    def _surprised(self, entry: QueuedPod, surprise: Exception) -> None:
        """A cycle that raised: the pod is forgotten where it was assumed and backs off with
        a FailedScheduling Event and condition (SchedulerError) naming the error, logged with
        its traceback once per message."""
        message = f"running the scheduling cycle: {type(surprise).__name__}: {surprise}"
        if self._failures.get(entry.key) != message:
            log.error("scheduling %s failed", entry.key, exc_info=surprise)
        self.cache.forget(entry.key)
        self._failed(entry, message, frozenset(), passing=True)

    def _cycle(self, entry: QueuedPod) -> None:
        info, state = entry.info, CycleState()
        result = self.framework.schedule(state, info, self.cache.node_list())
        if result.node is None:
            self._failed(entry, result.message, frozenset(result.diagnosis.plugins),
                         passing=bool(result.diagnosis.error))
            return
        node = result.node
        self.cache.assume(info, node)
        status = self.framework.run_reserve(state, info, node)
        if not status.ok:
            self.cache.forget(info.key)
            self._failed(entry, status.message, frozenset({status.plugin}),
                         passing=status.code is Code.ERROR)
            return
        status, timeout = self.framework.run_permit(
            state, info, node,
            lambda outcome: self.tell_self(PermitDone(entry, node, state, outcome)))
        if status.code is Code.WAIT:
            self.tell_later(timeout, PermitTimeout(info.key))
        else:
            self._permit_done(PermitDone(entry, node, state, status))

    def _permit_done(self, message: PermitDone) -> None:
        entry, node, state, status = message.entry, message.node, message.state, message.status
        if status.ok:
            self._to_bind.append((entry, node, state))
            self._bind_next()
            return
        self.framework.run_unreserve(state, entry.info, node)
        self.cache.forget(entry.key)
        self._failed(entry, status.message, frozenset({status.plugin}),
                     passing=status.code is Code.ERROR)
        self._plan_next()  # a Permit answered later (or timed out): as a binding's failure

    def _turn_over(self) -> None:
        """Unless a cycle is planned next, send the bindings the binder holds to send
        together (``batching``): the bindings of cycles run back to back go as one."""
        if not self._next_planned:
            self.framework.send_bindings()

    def _bind_next(self) -> None:
        """Hand the pods waiting to be bound over while fewer than ``bindings_in_flight``
        are: sent from here (with the turn's others: :meth:`_turn_over`) when they need no
        binding thread, else to one."""
        while self._to_bind and self._in_flight < self.config.bindings_in_flight:
            entry, node, state = self._to_bind.popleft()
            self._in_flight += 1
            bound = functools.partial(self._bound, entry, node, state, time.time_ns())
            if not self.framework.bind_soon(state, entry.info, node, bound):
                assert self._binding is not None
                self._binding.submit(self._bind, entry, node, state, bound)

    def _bind(self, entry: QueuedPod, node: str, state: CycleState,
              bound: Callable[[Status], None]) -> None:
        """On a binding thread: PreBind and Bind (guarded: a broken plugin is an Error, and
        the pod backs off), then :meth:`_bound`."""
        bound(self.framework.run_bind(state, entry.info, node))

    def _bound(self, entry: QueuedPod, node: str, state: CycleState, sent: int,
               status: Status) -> None:
        """How binding went (a binding thread, or the bus loop for a binding that needed
        none): the Scheduled Event (of when the binding was sent: before the kubelet hears
        of it, whatever answers first), and the actor hears it."""
        if status.ok:
            self.recorder.record(entry.info.pod, "Normal", "Scheduled",
                                 f"Successfully assigned {entry.key} to {node}", at=sent)
        self.tell_self(BindingDone(entry, node, state, status))

    def _binding_done(self, message: BindingDone) -> None:
        entry, node = message.entry, message.node
        self._in_flight -= 1
        self._bind_next()
        if message.status.ok:
            self.queue.done(entry.key)
            self._failures.pop(entry.key, None)
            self.attempts.ended(entry.key, "scheduled")
            if self._affinity_used:
                self._moved(ClusterEvent.ASSIGNED_POD_ADD)
            return
        log.info("binding %s to %s failed: %s", entry.key, node, message.status.message)
        self.framework.run_unreserve(message.state, entry.info, node)
        self.cache.forget(entry.key)
        self._failed(entry, message.status.message, frozenset(), passing=True)
        self._plan_next()  # its back-off's wake: no event need come (a failure said before)

    def _failed(self, entry: QueuedPod, message: str, rejected_by: frozenset[str], *,
                passing: bool) -> None:
        """Back to the queue (``passing``: after a back-off; else until an event may help)
        and a FailedScheduling Event when the reason is new. A pod deleted or bound
        meanwhile is left alone."""
        if entry.key not in self.queue:
            return
        self.attempts.ended(entry.key, "error" if passing else "unschedulable")
        if passing:
            self.queue.backoff(entry)
        else:
            self.queue.unschedulable(entry, rejected_by)
            self._affinity_used |= InterPodAffinity.name in rejected_by
        if self._failures.get(entry.key) != message:
            self._failures[entry.key] = message
            self.recorder.record(entry.info.pod, "Warning", "FailedScheduling", message)
            self._mark_unscheduled(entry.info.pod, message, passing)

    def _mark_unscheduled(self, pod: Object, message: str, passing: bool) -> None:
        """Set the pod's PodScheduled condition False, as kube-scheduler does: reason
        Unschedulable (SchedulerError for a passing failure), the FailedScheduling message.
        Written on a binding thread, over the version the cycle saw; a 409 (the pod changed)
        re-reads and re-applies it while the pod still waits and this failure is its latest."""
        metadata, key = pod["metadata"], pod_key(pod)

        def mark(current: Object) -> Object:
            marked = dict(current, status=copy.deepcopy(current.get("status") or {}))
            set_condition(marked, "PodScheduled", "False",
                          "SchedulerError" if passing else "Unschedulable", message)
            return marked

        def write() -> None:
            try:
                update_status(
                    lambda: self.client.get("pods", metadata["name"], metadata["namespace"]),
                    while_waiting(mark, lambda: self._failures.get(key) == message),
                    lambda body: self.client.request(
                        "update", "pods", namespace=metadata["namespace"],
                        name=metadata["name"], body=body, subresource="status"),
                    seen=pod)
            except NotFound:
                pass  # gone: nothing to say
            except KubeactorError as failure:  # said; left to the next failure
                log.warning("cannot write PodScheduled for pod %s: %s", key, failure)

        assert self._binding is not None
        self._binding.submit(write)


def while_waiting(mark: Callable[[Object], Object],
                  current: Callable[[], bool]) -> Callable[[Object], Object | None]:
    """``mark`` as the change of :func:`update_status`: made while the pod still waits for a
    node (unbound, not being deleted) and ``current()`` (the change is still the one to
    make); else nothing."""

    def change(pod: Object) -> Object | None:
        if (pod.get("spec", {}).get("nodeName") or pod["metadata"].get("deletionTimestamp")
                or not current()):
            return None
        return mark(pod)

    return change
