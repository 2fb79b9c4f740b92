"""The scheduling queue: which pod to schedule next, and when to try a failed one again.

Three parts, as kube-scheduler's PriorityQueue:

- active: pods ready to be tried, highest ``spec.priority`` first, then first in;
- backoff: pods that failed, each waiting ``initial * 2^(attempts-1)`` seconds (at most
  ``max``) before going back to active;
- unschedulable: pods no node fits; they move back (to backoff while their back-off runs,
  else to active) when a cluster event happens that one of the plugins that rejected them
  cares about (:meth:`SchedulingQueue.move`), or after ``max_unschedulable_seconds``.

A pod that was being scheduled while such an event happened goes to backoff, not
unschedulable, so the event is not missed (kube-scheduler's moveRequestCycle).

Pure data: time comes from the ``clock`` given at construction; nothing here blocks or
starts threads. Neighbours: ``actors.scheduler.scheduler`` (drives it),
``actors.scheduler.framework`` (the events plugins declare).
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from actors.scheduler.interface import ALL_EVENTS, ClusterEvent
from actors.scheduler.nodeinfo import PodInfo


@dataclass(frozen=True, slots=True)
class QueueConfig:
    initial_backoff_seconds: float = 1.0
    """First back-off of a failed pod (kube-scheduler's podInitialBackoffSeconds)."""
    max_backoff_seconds: float = 10.0
    """Back-off ceiling (podMaxBackoffSeconds)."""
    max_unschedulable_seconds: float = 300.0
    """An unschedulable pod is tried again after this long even without an event
    (podMaxInUnschedulablePodsDuration, 5 min)."""


@dataclass(slots=True)
class QueuedPod:
    """A pod in the queue and its history."""

    info: PodInfo
    attempts: int = 0
    """Scheduling cycles this pod went through."""
    timestamp: float = 0.0
    """When it last entered the queue (back-off and the unschedulable timeout count from
    here)."""
    cycle: int = 0
    """The scheduling cycle that popped it last."""
    rejected_by: frozenset[str] = frozenset()
    """Plugins that found it unschedulable last time (empty: any event may help)."""
    seq: int = field(default=0)

    @property
    def key(self) -> str:
        return self.info.key


class SchedulingQueue:
    """See the module docstring. ``interest`` maps plugin name to the events it cares for."""

    def __init__(self, config: QueueConfig | None = None,
                 interest: Mapping[str, frozenset[ClusterEvent]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or QueueConfig()
        self.interest = dict(interest or {})
        self.clock = clock
        self._active: dict[str, QueuedPod] = {}
        self._active_heap: list[tuple[int, int, str]] = []
        self._backoff: dict[str, QueuedPod] = {}
        self._backoff_heap: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPod] = {}
        self._in_flight: dict[str, QueuedPod] = {}
        self._seq = itertools.count()
        self.cycle = 0
        """Scheduling cycles started (pops)."""
        self._move_cycle = -1
        """The cycle during which the last move request happened."""
        self._leftovers_due = math.inf
        """When the longest-waiting unschedulable pod is due for a retry without an event."""

    # -- what is in it -------------------------------------------------------------------------

    def __contains__(self, key: str) -> bool:
        return any(key in part for part in (self._active, self._backoff, self._unschedulable,
                                            self._in_flight))

    def sizes(self) -> dict[tuple[str, ...], float]:
        """Pods waiting, by queue (kube-scheduler's ``scheduler_pending_pods``); read from any
        thread (a scrape): a length read while the scheduler changes the queue is a moment's."""
        return {("active",): len(self._active), ("backoff",): len(self._backoff),
                ("unschedulable",): len(self._unschedulable)}

    def has_active(self) -> bool:
        self._flush()
        return bool(self._active)

    def next_wakeup(self) -> float | None:
        """Seconds until a backing-off or unschedulable pod is due (None: none waits)."""
        due = [self._backoff_heap[0][0]] if self._backoff_heap else []
        if self._leftovers_due < math.inf:
            due.append(self._leftovers_due)
        return max(0.0, min(due) - self.clock()) if due else None

    # -- pods coming and going -----------------------------------------------------------------

    def add(self, info: PodInfo) -> None:
        """A new pending pod, or a new version of one already queued (which then moves to
        active if it was unschedulable: the change may make it fit)."""
        for part in (self._active, self._backoff, self._in_flight):
            if info.key in part:
                part[info.key].info = info
                return
        entry = self._unschedulable.get(info.key)
        if entry is not None and entry.info.spec == info.spec:
            entry.info = info  # only its status changed: still nowhere to go
            return
        entry = self._unschedulable.pop(info.key, None) or QueuedPod(info)
        entry.info = info
        if entry.attempts and self._backing_off(entry):
            self._push_backoff(entry)
        else:
            self._push_active(entry)

    def delete(self, key: str) -> None:
        """The pod is gone or bound: forget it wherever it is (heap entries go stale)."""
        for part in (self._active, self._backoff, self._unschedulable, self._in_flight):
            part.pop(key, None)

    def pop(self) -> QueuedPod | None:
        """The next pod to schedule (now in flight), or None when none is active."""
        self._flush()
        while self._active_heap:
            _, seq, key = heapq.heappop(self._active_heap)
            entry = self._active.get(key)
            if entry is None or entry.seq != seq:
                continue  # deleted or re-queued since
            del self._active[key]
            self.cycle += 1
            entry.attempts += 1
            entry.cycle = self.cycle
            self._in_flight[key] = entry
            return entry
        return None

    def done(self, key: str) -> None:
        """The pod's cycle ended well (assumed and bound, or dropped)."""
        self._in_flight.pop(key, None)

    def unschedulable(self, entry: QueuedPod, rejected_by: frozenset[str]) -> None:
        """No node fits ``entry``; it waits for an event (or for its back-off when one came
        while it was being scheduled)."""
        if self._in_flight.pop(entry.key, None) is None:
            return  # deleted or bound meanwhile
        entry.rejected_by = rejected_by
        entry.timestamp = self.clock()
        if self._move_cycle >= entry.cycle:
            self._push_backoff(entry)
        else:
            self._unschedulable[entry.key] = entry
            self._leftovers_due = min(self._leftovers_due,
                                      entry.timestamp + self.config.max_unschedulable_seconds)

    def backoff(self, entry: QueuedPod) -> None:
        """Scheduling or binding ``entry`` failed for a passing reason: try again after its
        back-off."""
        if self._in_flight.pop(entry.key, None) is None:
            return
        entry.timestamp = self.clock()
        self._push_backoff(entry)

    def move(self, event: ClusterEvent) -> int:
        """``event`` happened: unschedulable pods it may help go back (to backoff while
        their back-off runs). Returns how many moved."""
        self._move_cycle = self.cycle
        moved = [entry for entry in self._unschedulable.values() if self._helps(event, entry)]
        for entry in moved:
            del self._unschedulable[entry.key]
            if self._backing_off(entry):
                self._push_backoff(entry)
            else:
                self._push_active(entry)
        return len(moved)

    # -- internals -----------------------------------------------------------------------------

    def backoff_seconds(self, attempts: int) -> float:
        config = self.config
        if attempts <= 0:
            return 0.0
        return min(config.initial_backoff_seconds * 2 ** (attempts - 1),
                   config.max_backoff_seconds)

    def _expiry(self, entry: QueuedPod) -> float:
        return entry.timestamp + self.backoff_seconds(entry.attempts)

    def _backing_off(self, entry: QueuedPod) -> bool:
        return self._expiry(entry) > self.clock()

    def _helps(self, event: ClusterEvent, entry: QueuedPod) -> bool:
        return not entry.rejected_by or any(
            event in self.interest.get(name, ALL_EVENTS) for name in entry.rejected_by)

    def _push_active(self, entry: QueuedPod) -> None:
        entry.seq = next(self._seq)
        self._active[entry.key] = entry
        heapq.heappush(self._active_heap, (-entry.info.priority, entry.seq, entry.key))

    def _push_backoff(self, entry: QueuedPod) -> None:
        entry.seq = next(self._seq)
        self._backoff[entry.key] = entry
        heapq.heappush(self._backoff_heap, (self._expiry(entry), entry.seq, entry.key))

    def _flush(self) -> None:
        """Move backed-off pods whose time came, and pods unschedulable for too long, to
        active."""
        now = self.clock()
        while self._backoff_heap and self._backoff_heap[0][0] <= now:
            _, seq, key = heapq.heappop(self._backoff_heap)
            entry = self._backoff.get(key)
            if entry is not None and entry.seq == seq:
                del self._backoff[key]
                self._push_active(entry)
        while self._backoff_heap:  # drop stale heads so next_wakeup sees a live one
            _, seq, key = self._backoff_heap[0]
            entry = self._backoff.get(key)
            if entry is not None and entry.seq == seq:
                break
            heapq.heappop(self._backoff_heap)
        if now < self._leftovers_due:
            return
        limit = self.config.max_unschedulable_seconds
        stale = [entry for entry in self._unschedulable.values()
                 if now - entry.timestamp >= limit]
        for entry in stale:
            del self._unschedulable[entry.key]
            self._push_active(entry)
        self._leftovers_due = min((entry.timestamp + limit
                                   for entry in self._unschedulable.values()), default=math.inf)
