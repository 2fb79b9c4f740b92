"""Requests handed to a responder in this process instead of through NATS: :class:`Door`.

A requester in the same process as its responders (the HTTPS front beside the apiserver's
workers) may skip the NATS hop and nothing else: the request is the same bytes, under the same
subject, with the same reply subject and MAC (:meth:`bus.connection.Connection.handed`), handed
to a responder's :meth:`bus.actor.BusActor.offer` as the :class:`~bus.connection.Incoming` its
subscription would have delivered, so the responder runs what it runs for a bus message (the
apiserver: its whole pipeline, audit included). Only the reply takes another way back: the
responder's reply goes to ``Incoming.answer`` (``bus.actor.send_reply``) instead of being
published to the reply subject. A requester whose process has no responder open sends over the
bus as before.

Neighbours: ``bus.connection`` (the requester's side), ``bus.actor`` (the responder's side).

Which thread: any. Responders open and close the door on their own threads; requesters pick
one on theirs.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

from bus.connection import Incoming

Take = Callable[[Incoming], None]
"""A responder's way in (``BusActor.offer``): any thread, must not block."""


class Door:
    """The responders of one kind in this process that take requests handed over here (the
    apiserver's workers), each in turn, as a NATS queue group spreads them."""

    def __init__(self) -> None:
        self._takers: tuple[Take, ...] = ()
        self._turns = itertools.count()
        self._lock = threading.Lock()

    def open(self, take: Take) -> None:
        """``take`` serves from now on (a responder that has started)."""
        with self._lock:
            self._takers = (*self._takers, take)

    def close(self, take: Take) -> None:
        """``take`` serves no more (a responder stopping); the requests it holds it answers."""
        with self._lock:
            self._takers = tuple(each for each in self._takers if each != take)

    def taker(self) -> Take | None:
        """The responder whose turn it is, or None when none is open (then: the bus)."""
        takers = self._takers
        return takers[next(self._turns) % len(takers)] if takers else None
