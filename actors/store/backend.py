"""What a store backend is: the durable, revisioned log behind the store actor, and the plain
data that crosses the interface: the :class:`Change` s the store hands over in one commit,
their :class:`Outcome` s, the :class:`Record` s of the log it reads back, the
:class:`Undecodable` ones set aside, and :func:`decode`, the check every backend makes before
serving a stored value.

Neighbours: ``actors.store.store`` (the actor that calls a :class:`Backend`),
``bindings.backends.sqlite`` and ``bindings.backends.jetstream`` (the implementations).

Which thread: the store's own, except ``Backend.follow``'s ``notify`` and ``Backend.latest``
(any reader's thread).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from actors.api.objects import Object
from bus.errors import ApiError


@dataclass(frozen=True, slots=True)
class Change:
    """One write the store hands to its backend. Keys are distinct within one commit."""

    key: str
    object: Object | None
    """The new object (the backend may stamp its resourceVersion); None deletes the key."""
    expected: int
    """The key's revision as the store saw it when it checked the write (0: absent). A backend
    shared with other stores refuses the change when the key has moved on since."""


@dataclass(frozen=True, slots=True)
class Record:
    """One entry of the backend's log: since ``revision``, ``key`` holds ``object``."""

    key: str
    object: Object | None
    """With ``metadata.resourceVersion`` equal to ``revision``; None: the key was deleted."""
    revision: int


Outcome = int | ApiError
"""What became of one Change: the revision it was committed at, or why it was refused."""


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A record a backend met and could not read as an object: set aside, not served."""

    key: str
    """Its store key (as far as it could be read)."""
    revision: int
    """Its revision in the backend's log; 0 when the backend keeps none per key (SQLite)."""
    error: str
    """Why it could not be read."""


def decode(data: bytes | str) -> Object:
    """A stored value (JSON) as an object; ValueError when it is not a JSON object whose
    ``metadata``, if any, is an object (what every backend checks before serving a record)."""
    obj = json.loads(data)
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
        raise ValueError(f"not an object with object metadata: {type(obj).__name__}")
    return obj


class Backend(Protocol):
    """Durable storage behind the store actor (implementations live in ``bindings/``). Called
    on the store's thread only, except ``follow``'s ``notify``."""

    def load(self) -> tuple[int, dict[str, Object]]:
        """Return the last committed revision and every current object by key (each with its
        resourceVersion)."""
        ...

    def commit(self, changes: builtins.list[Change]) -> builtins.list[Outcome]:
        """Make ``changes`` durable, each at a revision of its own, and return each one's
        outcome; must not return before the committed ones would survive a crash. A change
        refused by the backend (Conflict, AlreadyExists) or lost with the commit
        (InternalError...) changed nothing."""
        ...

    def records(self, until: int) -> builtins.list[Record]:
        """Every record of the log not returned yet (since ``load``), in revision order,
        waiting until those up to ``until`` have arrived (a bounded wait)."""
        ...

    def follow(self, notify: Callable[[], None]) -> None:
        """Call ``notify`` (from any thread; it must not block) whenever records written by
        someone else are waiting to be read with :meth:`records`."""
        ...

    def latest(self) -> int | None:
        """The log's last revision now, every acknowledged write of every store included, for a
        consistent read (called from any thread; one bounded request; ServerTimeout or
        ServiceUnavailable when it gets no answer). None: this store is the log's only writer,
        so its view always holds every acknowledged write."""
        ...

    def close(self) -> None: ...

    @property
    def undecodable(self) -> builtins.list[Undecodable]:
        """Every record met so far that could not be decoded (set aside, in meeting order)."""
        ...
