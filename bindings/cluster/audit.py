"""The audit log file: ``DATA_DIR/audit.log``, one ``audit.k8s.io/v1`` Event a JSON line.

:class:`AuditLog` is an :class:`~actors.apiserver.auditing.AuditSink`: calling it only appends the
event to a list in memory (never blocks the apiserver); a thread of its own is woken by the
first record of a batch, lets records gather for ``flush_seconds``, then writes and flushes the
batch at once, so under load it wakes a few times a second instead of once per request (as
kube-apiserver's batching audit backend), and a request costs no thread wake-up. When
``max_queued`` events wait (the disk cannot keep up) new ones are dropped and counted, and the
count is logged (an error) once there is room again, so that every line of the file stays an
Event: the request path never waits for the disk.

Rotation, as kube-apiserver's (``--audit-log-maxsize``, ``--audit-log-maxbackup``): a batch that
would take the file past ``max_bytes`` first renames it ``audit-<UTC time>.log`` beside it (its
name sorts by age) and starts a new one; only the newest ``max_backups`` of those are kept.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from actors.api import jsontext
from actors.apiserver import auditing
from bus.errors import UsageError

log = logging.getLogger(__name__)

Record = dict[str, Any]


MAX_BYTES = 100 * 1024 * 1024
"""The size past which the file rotates (kube-apiserver's log library's default, 100 MB)."""
MAX_BACKUPS = 10
"""Rotated files kept: a cluster left running never fills its disk with audit."""


class AuditLog:
    """Appends audit Events to ``path`` (created 0600) from a writer thread, rotating it."""

    def __init__(self, path: Path, max_queued: int = 100_000, flush_seconds: float = 0.2,
                 max_bytes: int = MAX_BYTES, max_backups: int = MAX_BACKUPS) -> None:
        """``flush_seconds``: how long an event may wait in memory before it is written;
        ``max_bytes`` (0: never rotate) and ``max_backups`` (0: keep every rotated file)."""
        self.path = path
        self.max_bytes, self.max_backups = max_bytes, max_backups
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
        self._size = path.stat().st_size
        """Bytes in the file now (the writer thread's)."""
        self._thread = threading.Thread(target=self._write_forever, name="audit-log",
                                        daemon=True)
        self._thread.start()

    def __call__(self, record: Record, /) -> None:
        with self._lock:
            if len(self._waiting) >= self._max_queued:
                self._dropped += 1
                return
            self._waiting.append(record)
            first = len(self._waiting) == 1
        if first:
            self._wake.set()

    def _write_forever(self) -> None:
        out: BinaryIO = self.path.open("ab")
        try:
            while not self._closing.is_set() or self._waiting:
                self._wake.wait()
                self._closing.wait(self.flush_seconds)  # let the batch gather
                with self._lock:
                    self._wake.clear()
                    batch, self._waiting = self._waiting, []
                    dropped, self._dropped = self._dropped, 0
                if dropped:
                    log.error("audit log %s: %d events dropped: the queue was full",
                              self.path, dropped)
                out = self._write(out, batch)
        finally:
            out.close()

    def _write(self, out: BinaryIO, batch: list[Record]) -> BinaryIO:
        """Write ``batch``, rotating first where a line would take the file past its size
        (lines are ASCII: the rest escaped); return the file written to."""
        try:
            for line in (jsontext.dumps(r, ascii=True) + b"\n" for r in batch):
                if self.max_bytes and self._size and self._size + len(line) > self.max_bytes:
                    out = self._rotate(out)
                out.write(line)
                self._size += len(line)
            out.flush()
        except (OSError, TypeError, ValueError) as error:
            log.error("audit log %s: %d events lost: %s", self.path, len(batch), error)
        return out

    def _rotate(self, out: BinaryIO) -> BinaryIO:
        """Rename the file to its backup name, drop the oldest backups, open a new one."""
        out.flush()
        out.close()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%f")[:-3]
        self.path.rename(self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}"))
        for old in backups(self.path)[:-self.max_backups or None] if self.max_backups else ():
            old.unlink(missing_ok=True)
        self.path.touch(mode=0o600)
        self._size = 0
        return self.path.open("ab")

    def close(self) -> None:
        """Write what is queued, then stop the thread; safe to call twice."""
        if self._thread.is_alive():
            self._closing.set()
            self._wake.set()
            self._thread.join(timeout=10)


def backups(path: Path) -> list[Path]:
    """The rotated files of the log at ``path``, oldest first."""
    return sorted(path.parent.glob(f"{path.stem}-*{path.suffix}"))


def audit_policy(path: Path | None) -> auditing.Policy:
    """The Policy of the file at ``path`` (YAML or JSON); the default one when None.
    UsageError naming the file when it cannot be read or is not a Policy."""
    if path is None:
        return auditing.DEFAULT_POLICY
    try:
        document = yaml.safe_load(path.expanduser().read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"--audit-policy-file {path}: {error}") from None
    try:
        return auditing.Policy.of(document)
    except UsageError as error:
        raise UsageError(f"--audit-policy-file {path}: {error}") from None
