"""The SQLite store backend: the durable log behind the store actor (k3s's kine precedent).

One table of current objects plus one row holding the revision, written in one transaction
per commit. WAL journal with ``synchronous=FULL``: a commit returns only after it is on disk.
sqlite3's exceptions are translated into :class:`~bus.errors.InternalError` here.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from bus.errors import InternalError

Object = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 0), revision INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (id, revision) VALUES (0, 0);
"""


class SqliteBackend:
    """A :class:`actors.store.Backend` in one SQLite file. Used from the store thread only."""

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

    def load(self) -> tuple[int, dict[str, Object]]:
        (revision,) = self._db.execute("SELECT revision FROM meta WHERE id = 0").fetchone()
        rows = self._db.execute("SELECT key, value FROM objects")
        return int(revision), {key: json.loads(value) for key, value in rows}

    def commit(self, revision: int, changes: list[tuple[str, Object | None]]) -> None:
        try:  # serialise first: nothing can fail half-way through the transaction but SQLite
            rows = [(key, None if obj is None else json.dumps(obj, separators=(",", ":")))
                    for key, obj in changes]
        except (TypeError, ValueError) as error:
            raise InternalError(f"store commit failed: object is not JSON: {error}") from error
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for key, value in rows:
                if value is None:
                    self._db.execute("DELETE FROM objects WHERE key = ?", (key,))
                else:
                    self._db.execute(
                        "INSERT OR REPLACE INTO objects (key, value) VALUES (?, ?)", (key, value)
                    )
            self._db.execute("UPDATE meta SET revision = ? WHERE id = 0", (revision,))
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise InternalError(f"store commit failed: {error}") from error
        finally:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()
