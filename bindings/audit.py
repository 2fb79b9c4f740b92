"""The audit log file: ``DATA_DIR/audit.log``, one JSON line per apiserver request.

:class:`AuditLog` is an :class:`~actors.apiserver.auditing.AuditSink`: calling it only puts the
record on a queue (never blocks the apiserver); a thread of its own writes what has queued up
in batches and flushes after each batch. When the queue is full (the disk cannot keep up) new
records are dropped and counted, and the count is written as a record of its own once there
is room again: the request path never waits for the disk.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

Record = dict[str, Any]
_STOP = object()


class AuditLog:
    """Appends audit records to ``path`` (created 0600) from a writer thread."""

    def __init__(self, path: Path, max_queued: int = 100_000) -> None:
        self.path = path
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
                batch = [self._queue.get()]
                while not self._queue.empty() and len(batch) < 1000:
                    batch.append(self._queue.get_nowait())
                stop = _STOP in batch
                self._write(out, [r for r in batch if r is not _STOP])
                if stop:
                    return

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
