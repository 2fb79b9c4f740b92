"""A fake apiserver's request side for unit tests: each request is a Future held open until
the test answers it, and what was sent is recorded in order."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any


class HeldRequests:
    """Requests held open until :meth:`answer`; ``sent`` in order."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.open: list[Future[Any]] = []
        self.changed = threading.Condition()

    def hold(self, sent: Any) -> Future[Any]:
        """Record ``sent`` and return its open request."""
        future: Future[Any] = Future()
        with self.changed:
            self.sent.append(sent)
            self.open.append(future)
            self.changed.notify_all()
        return future

    def answer(self, error: Exception | None = None) -> None:
        """Answer the oldest open request (with ``error``: fail it)."""
        with self.changed:
            future = self.open.pop(0)
        if error is None:
            future.set_result({})
        else:
            future.set_exception(error)

    def wait_sent(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.sent) >= count, timeout=10), self.sent
