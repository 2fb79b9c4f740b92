"""The audit log file: ``DATA_DIR/audit.log``, one JSON line per apiserver request.

:class:`AuditLog` is an :class:`~actors.apiserver.auditing.AuditSink`: calling it only appends the
record to a list in memory (never blocks the apiserver); a thread of its own is woken by the
first record of a batch, lets records gather for ``flush_seconds``, then writes and flushes the
batch at once, so under load it wakes a few times a second instead of once per request (as
kube-apiserver's batching audit backend), and a request costs no thread wake-up. When
``max_queued`` records wait (the disk cannot keep up) new records are dropped and counted, and
the count is written as a record of its own once there is room again: the request path never
waits for the disk.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

Record = dict[str, Any]
_JSON = json.JSONEncoder(separators=(",", ":"))
"""One compact encoder for every line (``json.dumps`` with options builds one per call)."""


class AuditLog:
    """Appends audit records to ``path`` (created 0600) from a writer thread."""

    def __init__(self, path: Path, max_queued: int = 100_000, flush_seconds: float = 0.2
                 ) -> None:
        """``flush_seconds``: how long a record may wait in memory before it is written."""
        self.path = path
        self.flush_seconds = flush_seconds
        self._max_queued = max_queued
        self._waiting: list[Record] = []
        self._dropped = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        """Set by the first record of a batch (and by close)."""
        self._closing = threading.Event()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        self._thread = threading.Thread(target=self._write_forever, name="audit-log",
                                        daemon=True)
        self._thread.start()

    def __call__(self, record: Record) -> None:
        with self._lock:
            if len(self._waiting) >= self._max_queued:
                self._dropped += 1
                return
            self._waiting.append(record)
            first = len(self._waiting) == 1
        if first:
            self._wake.set()

    def _write_forever(self) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            while not self._closing.is_set() or self._waiting or self._dropped:
                self._wake.wait()
                self._closing.wait(self.flush_seconds)  # let the batch gather
                with self._lock:
                    self._wake.clear()
                    batch, self._waiting = self._waiting, []
                    dropped, self._dropped = self._dropped, 0
                if dropped:
                    batch.append({"dropped": dropped, "reason": "audit queue full"})
                self._write(out, batch)

    def _write(self, out: TextIO, batch: list[Record]) -> None:
        try:
            out.writelines(_JSON.encode(r) + "\n" for r in batch)
            out.flush()
        except (OSError, TypeError, ValueError) as error:
            log.error("audit log %s: %d records lost: %s", self.path, len(batch), error)

    def close(self) -> None:
        """Write what is queued, then stop the thread; safe to call twice."""
        if self._thread.is_alive():
            self._closing.set()
            self._wake.set()
            self._thread.join(timeout=10)
