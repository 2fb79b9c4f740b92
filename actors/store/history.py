"""The store's recent past: each committed change as an event, kept for a window of revisions
and seconds (etcd's compaction), for watches that resume from a revision and list pages
read at one.

The window keeps each event's objects packed (:mod:`actors.store.view`), the same bytes the
current state holds and the event before it on that key kept: an event costs its references
and what its key held before, once.

Neighbours: ``actors.store.store`` (the one owner, which adds every event and reads the past
through it), ``actors.store.view`` (the packed form, and decoding it again).

Which thread: the store's own only.
"""

from __future__ import annotations

import builtins
from collections import deque
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

from actors.api.objects import Object
from actors.store.view import Packed
from bus.errors import Gone


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """How far back watches and list pages may go: etcd's compaction. An event leaves the
    window when it is ``revisions`` revisions old or ``seconds`` seconds old, whichever comes
    first; resuming from before the window is 410 Gone (the client relists)."""

    revisions: int = 10_000
    """Revisions kept (etcd ``--auto-compaction-mode=revision``); bounds the memory."""
    seconds: float = 300.0
    """Seconds kept (etcd's periodic mode; kube-apiserver compacts every 5 minutes)."""


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """One committed change."""

    type: str
    """``ADDED``, ``MODIFIED`` or ``DELETED``."""
    key: str
    _: KW_ONLY
    object: Object
    """The object after the change (for DELETED: its last state). Shared: read-only."""
    old: Object | None
    """The object before the change; None for ADDED."""
    revision: int
    note: Any = None
    """What the writer attached to the write (the apiserver: the span to publish, in commit
    order, before any watcher hears of it). The store never reads it."""


@dataclass(frozen=True, slots=True)
class Kept:
    """One event as the window keeps it: its objects packed, and when it was added."""

    at: float
    type: str
    key: str
    object: Packed
    old: Packed | None
    revision: int
    note: Any


Load = Callable[[str, Packed], Object]
"""Decodes a key's packed object (``StoreView.load``)."""


class History:
    """The events of the window, oldest first, and the oldest revision it answers for."""

    def __init__(self, window: HistoryWindow, floor: int, clock: Callable[[], float]) -> None:
        """``floor``: the revision the store starts at; ``clock`` (seconds) dates the events."""
        self._window = window
        self._clock = clock
        self._events: deque[Kept] = deque()
        self.floor = floor
        """Oldest revision a watch may resume from: every later event is in the window."""

    def add(self, event: StoreEvent, packed: Packed, old: Packed | None) -> None:
        """Keep ``event``, whose objects are ``packed`` and ``old`` as held."""
        self._events.append(Kept(self._clock(), event.type, event.key, packed, old,
                                 event.revision, event.note))
        self.compact(event.revision)

    def compact(self, newest: int) -> None:
        """Drop the events that left the window at revision ``newest``; the floor follows."""
        oldest_revision = newest - self._window.revisions
        oldest_time = self._clock() - self._window.seconds
        events = self._events
        while events and (events[0].revision <= oldest_revision or events[0].at < oldest_time):
            self.floor = events.popleft().revision

    def since(self, revision: int, newest: int, load: Load) -> builtins.list[StoreEvent]:
        """The events after ``revision``, decoded; Gone when the window no longer reaches
        back that far."""
        self.compact(newest)
        if revision < self.floor:
            raise Gone(f"too old resource version: {revision} ({self.floor})",
                       details={"revision": self.floor})
        return [StoreEvent(kept.type, kept.key, object=load(kept.key, kept.object),
                           old=None if kept.old is None else load(kept.key, kept.old),
                           revision=kept.revision, note=kept.note)
                for kept in self._events if kept.revision > revision]

    def state_at(self, revision: int, now: dict[str, Packed], newest: int
                 ) -> dict[str, Packed]:
        """Every object as it was right after ``revision``, from ``now`` (the state at
        ``newest``) with later events undone; Gone when the window does not reach it."""
        self.compact(newest)
        if revision < self.floor or revision > newest:
            raise Gone(f"the requested revision {revision} is no longer available "
                       f"(oldest {self.floor}, newest {newest}); list again")
        state = dict(now)
        for kept in reversed(self._events):
            if kept.revision <= revision:
                break
            if kept.old is None:
                state.pop(kept.key, None)
            else:
                state[kept.key] = kept.old
        return state
