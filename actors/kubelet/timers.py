"""One timer thread for many timers: what the kubelet's back-offs, probes and heartbeats use.

``threading.Timer`` costs a thread per timer; a node with a hundred probing pods, or a process
hosting a thousand simulated nodes, would hold thousands of threads. :class:`Timers` keeps a
heap of deadlines served by one daemon thread. Callbacks run on that thread and must not block:
they hand work over (``tell()`` an actor, submit to :class:`~actors.kubelet.podworkers.PodWorkers`).

Neighbours: ``actors.kubelet.kubelet``, ``actors.kubelet.podworkers`` and
``actors.controllers.controller`` (users), ``bindings.runtimes.sim`` (exits of simulated
containers).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(order=True, slots=True)
class Timer:
    """A pending call; :meth:`cancel` it before it is due to drop it."""

    due: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """A heap of timers served by one daemon thread (started on first use). Thread-safe."""

    def __init__(self, name: str = "timers") -> None:
        self.name = name
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` on the timer thread after ``delay`` seconds (at once when <= 0)."""
        timer = Timer(time.monotonic() + max(delay, 0.0), next(self._seq), callback)
        with self._changed:
            if self._stopped:
                timer.cancelled = True
                return timer
            heapq.heappush(self._heap, timer)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
            if self._heap[0] is timer:
                self._changed.notify()
        return timer

    def stop(self) -> None:
        """Drop every pending timer and end the thread."""
        with self._changed:
            self._stopped = True
            self._heap.clear()
            self._changed.notify()

    def _serve(self) -> None:
        while True:
            with self._changed:
                while not self._stopped and (not self._heap or
                                             self._heap[0].due > time.monotonic()):
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    self._changed.wait(wait)
                if self._stopped:
                    return
                timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                try:
                    timer.callback()
                except Exception:
                    log.exception("%s: timer callback failed", self.name)
