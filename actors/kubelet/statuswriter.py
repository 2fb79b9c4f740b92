"""Status writes off the kubelet's workers: the latest write per key, a bounded number in flight.

As the kubelet's status manager does, a pod worker hands the pod's new status over and goes on;
the write reaches the apiserver without the worker waiting for its answer. Writes are keyed (a
pod's uid, a node's name): while one write of a key is in flight, a newer one waits and replaces
any older one still waiting (statuses are level-based: the latest is the only one worth
sending), so a key's writes arrive in order and a burst of changes to one pod costs one or two
writes. At most ``window`` writes are in flight at once, so a thousand simulated nodes starting
ten thousand pods keep the apiserver's queue (and its store's group commits) full without
flooding it, and with no thread per pod or node.

A write goes out on the caller's thread when its key is idle and the window has room (no hop on
the path of a single pod); otherwise one sender thread sends it when room is made. Outcomes are
told to ``done`` on the bus loop thread (or the caller's, when the request failed at once)
before the key's next write goes out: ``done`` must not block.

Neighbours: ``actors.kubelet.statusmanager`` (pod statuses) and ``actors.kubelet.kubelet`` (node
Leases) use it; requests are ``actors.client.client.Client.submit`` futures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Any

log = logging.getLogger(__name__)

Send = Callable[[], "Future[Any]"]
"""Starts one request (``Client.submit``) and returns its future."""

Done = Callable[[BaseException | None, Any], None]
"""Told the outcome of a write: None and the reply's body, or the error it ended with and
None."""


class StatusWriter:
    """Coalescing, windowed writes (see the module docstring). Thread-safe; :meth:`put` never
    waits for the apiserver."""

    def __init__(self, window: int, name: str = "status-writer") -> None:
        if window < 1:
            raise ValueError(f"a status writer needs a window of at least 1, not {window}")
        self.window, self.name = window, name
        self._lock = threading.Condition()
        self._flying: set[str] = set()
        self._waiting: dict[str, tuple[Send, Done]] = {}
        """Key -> its latest write not sent yet (dict order: first come, first sent)."""
        self._thread: threading.Thread | None = None
        self._stopped = False

    def put(self, key: str, send: Send, done: Done) -> None:
        """Send ``send()`` once ``key``'s write in flight has its answer and the window has
        room, replacing a write of ``key`` still waiting. Dropped once stopped."""
        with self._lock:
            if self._stopped:
                return
            if key in self._flying or key in self._waiting or len(self._flying) >= self.window:
                # A newer write keeps the older one's place in line: a key written more often
                # than the apiserver answers (a Lease under load) is not pushed back forever;
                # and it replaces the one waiting even when there is room now, else that older
                # one would go out after it.
                self._waiting[key] = (send, done)
                self._wake_sender()
                return
            self._flying.add(key)
        self._launch(key, send, done)

    def drop(self, key: str) -> None:
        """Forget ``key``'s write still waiting (its pod is gone: a status written now could
        land on a new pod of the same name). A write in flight goes on."""
        with self._lock:
            self._waiting.pop(key, None)

    def busy(self, key: str) -> bool:
        """Whether a write of ``key`` is in flight or waiting (what the API has of it may not
        be what was last put yet)."""
        with self._lock:
            return key in self._flying or key in self._waiting

    def pending(self) -> int:
        """Writes in flight or waiting (for tests and metrics)."""
        with self._lock:
            return len(self._flying) + len(self._waiting)

    def stop(self) -> None:
        """Drop waiting writes and end the sender thread (writes in flight end on their own)."""
        with self._lock:
            self._stopped = True
            self._waiting.clear()
            self._lock.notify_all()

    def _wake_sender(self) -> None:  # under the lock
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()
        self._lock.notify()

    def _launch(self, key: str, send: Send, done: Done) -> None:
        try:
            future = send()
        except Exception as error:  # the request could not even start
            self._finish(key, done, error)
            return
        future.add_done_callback(lambda sent: self._finish(key, done, *outcome(sent)))

    def _finish(self, key: str, done: Done, error: BaseException | None,
                reply: Any = None) -> None:
        """Tell ``done``, then let ``key``'s next write go: it is made knowing this one's
        outcome (the version it stored)."""
        try:
            done(error, reply)
        except Exception:
            log.exception("%s: write of %s: outcome not handled", self.name, key)
        with self._lock:
            self._flying.discard(key)
            if self._waiting:
                self._lock.notify()

    def _next(self) -> tuple[str, Send, Done] | None:
        """The first waiting write whose key is idle, taken and marked in flight; None once
        stopped. Waits for one (sender thread)."""
        with self._lock:
            while True:
                if self._stopped:
                    return None
                if len(self._flying) < self.window:
                    key = next((k for k in self._waiting if k not in self._flying), None)
                    if key is not None:
                        send, done = self._waiting.pop(key)
                        self._flying.add(key)
                        return key, send, done
                self._lock.wait()

    def _serve(self) -> None:
        while (write := self._next()) is not None:
            self._launch(*write)


def outcome(sent: Future[Any]) -> tuple[BaseException | None, Any]:
    """A finished write's error, or None and its reply's body (a cancelled one's error is
    its CancelledError: ``exception()`` would raise it, and the key's writes stall)."""
    if sent.cancelled():
        return CancelledError(), None
    error = sent.exception()
    return error, None if error is not None else sent.result()
