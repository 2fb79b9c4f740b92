"""The audit log file: ``DATA_DIR/audit.log``, one JSON line per apiserver request.

:class:`AuditLog` is an :class:`~actors.apiserver.auditing.AuditSink`: calling it only puts the
record on a queue (never blocks the apiserver); a thread of its own collects what comes for up
to ``flush_seconds`` after the first record of a batch, then writes and flushes the batch at
once, so under load it wakes a few times a second instead of once per request (as
kube-apiserver's batching audit backend). When the queue is full (the disk cannot keep up) new
records are dropped and counted, and the count is written as a record of its own once there
is room again: the request path never waits for the disk.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

Record = dict[str, Any]
_STOP = object()
MAX_BATCH = 1000


class AuditLog:
    """Appends audit records to ``path`` (created 0600) from a writer thread."""

    def __init__(self, path: Path, max_queued: int = 100_000, flush_seconds: float = 0.2
                 ) -> None:
        """``flush_seconds``: how long a record may wait in memory before it is written."""
        self.path = path
        self.flush_seconds = flush_seconds
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queued)
        self._dropped = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        self._thread = threading.Thread(target=self._write_forever, name="audit-log",
                                        daemon=True)
        self._thread.start()

    def __call__(self, record: Record) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._dropped += 1

    def _write_forever(self) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            while True:
                batch = self._collect()
                stop = _STOP in batch
                self._write(out, [r for r in batch if r is not _STOP])
                if stop:
                    return

    def _collect(self) -> list[Any]:
        """The next batch: what arrives within ``flush_seconds`` of its first record (at most
        MAX_BATCH records; at once when the log is closing)."""
        batch = [self._queue.get()]
        deadline = time.monotonic() + self.flush_seconds
        while len(batch) < MAX_BATCH and batch[-1] is not _STOP:
            try:
                batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _write(self, out: TextIO, batch: list[Record]) -> None:
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            batch.append({"dropped": dropped, "reason": "audit queue full"})
        try:
            out.writelines(json.dumps(r, separators=(",", ":")) + "\n" for r in batch)
            out.flush()
        except (OSError, TypeError, ValueError) as error:
            log.error("audit log %s: %d records lost: %s", self.path, len(batch), error)

    def close(self) -> None:
        """Write what is queued, then stop the thread; safe to call twice."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
