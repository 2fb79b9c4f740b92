"""Pod workers: a bounded pool of threads running each pod's work one piece at a time.

The kubelet hands every change of a pod (a watch event, a container's death, a back-off or
probe timer) to :meth:`PodWorkers.submit` under the pod's uid. Work for one pod runs in order
and never concurrently; work for different pods runs side by side on at most ``max_workers``
threads, so a container stopping for its 30 s grace period holds up only its own pod. Work
waiting for a busy pod is coalesced: pod syncs are level-based (they read the pod's latest
state), so running the last one submitted is enough.

Neighbours: ``actors.kubelet.kubelet`` (the only user), ``actors.kubelet.timers``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

Work = Callable[[], None]


class PodWorkers:
    """Serial work per key on a shared bounded pool. Thread-safe; :meth:`submit` never blocks."""

    def __init__(self, max_workers: int, name: str = "pod-worker") -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._waiting: dict[str, Work] = {}
        """Key -> the work to run once the key's current work ends (the latest submitted)."""
        self._stopped = False

    def submit(self, key: str, work: Work) -> None:
        """Run ``work`` for ``key`` after the key's current work; replaces work already
        waiting for that key. Dropped once stopped."""
        with self._lock:
            if self._stopped:
                return
            if key in self._busy:
                self._waiting[key] = work
                return
            self._busy.add(key)
        self._pool.submit(self._run, key, work)

    def busy(self) -> int:
        """Keys with work running or waiting (for tests and metrics)."""
        with self._lock:
            return len(self._busy)

    def stop(self) -> None:
        """Drop waiting work; running work finishes on its own (threads are not waited for)."""
        with self._lock:
            self._stopped = True
            self._waiting.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, key: str, work: Work) -> None:
        next_work: Work | None = work
        while next_work is not None:
            try:
                next_work()
            except Exception:
                log.exception("pod worker %s failed", key)
            with self._lock:
                next_work = None if self._stopped else self._waiting.pop(key, None)
                if next_work is None:
                    self._busy.discard(key)
