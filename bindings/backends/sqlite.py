"""The SQLite store backend: the durable log behind the store actor (k3s's kine precedent).

One table of current objects plus one row holding the revision, written in one transaction
per commit. WAL journal with ``synchronous=FULL``: a commit returns only after it is on disk.
The store is the file's only writer (``kubeactor`` locks the data dir), so the revisions are
assigned here, one per change, and nothing but its own commits ever shows in :meth:`records`.
sqlite3's exceptions are translated into :class:`~bus.errors.InternalError` here. A row whose
value is not a JSON object (written by hand, or damaged) is set aside at load (logged, listed
by ``undecodable``) and the rest is served.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from actors.api import jsontext
from actors.api.objects import Object
from actors.store.backend import Change, Outcome, Record, Undecodable, decode
from bus.errors import ApiError, InternalError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 0), revision INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (id, revision) VALUES (0, 0);
"""


class SqliteBackend:
    """A :class:`actors.store.backend.Backend` in one SQLite file. Used from the store thread
    only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise InternalError(f"cannot open store {path}: {error}") from error
        self._revision = 0
        self._records: list[Record] = []
        self.undecodable: list[Undecodable] = []

    def load(self) -> tuple[int, dict[str, Object]]:
        """The revision and every row that decodes; the others are set aside. Read as bytes:
        a value that is not even UTF-8 is one more undecodable row, not a failed load."""
        (revision,) = self._db.execute("SELECT revision FROM meta WHERE id = 0").fetchone()
        rows = self._db.execute("SELECT CAST(key AS BLOB), CAST(value AS BLOB) FROM objects")
        self._revision = int(revision)
        objects = {}
        for raw_key, value in rows:
            key = raw_key.decode(errors="backslashreplace")
            try:
                objects[raw_key.decode()] = decode(value)
            except ValueError as error:  # UnicodeDecodeError and JSONDecodeError too
                log.warning("SQLite store %s: row %s set aside, it cannot be decoded: %s",
                            self.path, key, error)
                self.undecodable.append(Undecodable(key, 0, str(error)))
        return self._revision, objects

    def commit(self, changes: list[Change]) -> list[Outcome]:
        """All ``changes`` in one transaction, at the next revisions in order; if it fails,
        every change has its error and nothing was written."""
        revisions = range(self._revision + 1, self._revision + 1 + len(changes))
        numbered = list(zip(changes, revisions, strict=True))
        try:
            self._write(revisions[-1], [(change.key, _stamp(change.object, revision))
                                        for change, revision in numbered])
        except ApiError as error:
            return [error] * len(changes)
        self._revision = revisions[-1]
        self._records += [Record(change.key, change.object, revision)
                          for change, revision in numbered]
        return list(revisions)

    def records(self, until: int) -> list[Record]:
        records, self._records = self._records, []
        return records

    def follow(self, notify: Callable[[], None]) -> None:
        """Nobody else writes this file: there is never anything to be told."""

    def _write(self, revision: int, changes: list[tuple[str, Object | None]]) -> None:
        try:  # serialise first: nothing can fail half-way through the transaction but SQLite
            rows = [(key, None if obj is None else jsontext.dumps(obj).decode())
                    for key, obj in changes]
        except (TypeError, ValueError) as error:
            raise InternalError(f"store commit failed: object is not JSON: {error}") from error
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for deleting, group in itertools.groupby(rows, key=lambda row: row[1] is None):
                if deleting:
                    self._db.executemany("DELETE FROM objects WHERE key = ?",
                                         [(key,) for key, _ in group])
                else:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO objects (key, value) VALUES (?, ?)", group)
            self._db.execute("UPDATE meta SET revision = ? WHERE id = 0", (revision,))
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise InternalError(f"store commit failed: {error}") from error
        finally:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def latest(self) -> None:
        """The only writer: the store's view holds every acknowledged write already."""
        return None

    def close(self) -> None:
        self._db.close()


def _stamp(obj: Object | None, revision: int) -> Object | None:
    """``obj`` with its resourceVersion set to ``revision`` (in place: the store gave it)."""
    if obj is not None:
        obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj
