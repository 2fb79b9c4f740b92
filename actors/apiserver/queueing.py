"""Where classified requests wait for a worker, and which one it serves next (API Priority and
Fairness' queueing and dispatching).

Each priority level has seats: its part of the server's concurrency, ``ceil(concurrency *
shares / total shares)`` (Kubernetes' nominal concurrency limit). A request holds a seat from
the moment it is dispatched until it is answered (a write waiting for its commit still holds
one; a stream relayed to a kubelet gives it back once relayed, as kube-apiserver does not
count long-running requests). A level that queues deals each flow a hand of ``handSize`` of
its ``queues`` from a hash of the flow's key (shuffle sharding: two flows rarely share a whole
hand) and puts the request in the shortest queue of the hand; that queue holding
``queueLengthLimit`` already, the request is refused (429). A level that rejects has no queue:
a request that would wait beyond its seats is refused.

The flows of one debtor (``Flow.debtor``: every claim not authenticated yet) are dealt one
hand: a credential made up per request is a flow per request, and hands of their own would
spread them over every queue of the level, each queue's head then paced on their one account,
so that a known flow queued behind them would wait their pace (and be refused after
``max_wait``); one hand keeps them to ``handSize`` queues.

Dispatching: the exempt level first (it has no seats to run out of); otherwise the level with
waiting requests and a free seat that has been served least for its shares (each dispatch
advances the level's virtual time by ``width / shares``; a level that was idle starts from the
present, not from its unused past); within a level, the non-empty queue served least (each
dispatch advances its queue's virtual time by the request's ``width``; a queue that was empty
starts from the level's present; equal ones in turn, round robin). A request's ``width`` is
how many requests it counts as (a batch of bindings: one per binding,
``actors.api.bindingbatches``), so a batch costs its flow what its bindings would, one by one:
its level's and its queue's turns, and as many seats (at most the level's, taken once one is
free). A request that waited longer than
``max_wait`` is handed out marked expired: the worker refuses it (kube-apiserver's 429 for a
request that timed out in its queue), since its client has all but given up.

Pacing (not Kubernetes'): a flow of the levels :class:`Pacing` names may take only a part of
the worker's time (:class:`Duty`, told by :meth:`Dispatcher.served`); while it owes more than
its burst, its queues are passed over (the other flows of its level and the other levels go)
and :meth:`Dispatcher.pause` says when it may go again. A Duty is kept by the flow's debtor
(``Flow.debtor``: its key, or one account for every claim not authenticated yet), and never
forgotten while it owes: past :data:`MAX_DEBTORS`, newcomers share one account. A seat bounds
a multi-core kube-apiserver's cores; here a read holds its seat only while the one worker
thread runs it, so seats never bind and the worker's time has to (docs/DESIGN.md, "Priority
lanes and paced flows").

Which thread: any, one at a time (the apiserver's worker); a lock guards each call anyway,
held for O(1) work (a hand is dealt once per flow and kept).

Neighbours: ``classifying`` (the flows), ``fairness`` (the pipeline's side).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actors.apiserver.classifying import Flow, Level, remembered

MAX_HANDS = 4096
"""Hands a level keeps (by flow) before dealing afresh."""
MAX_DEBTORS = 4096
"""Accounts of paced flows kept (see :meth:`Dispatcher.served`); past it, a newcomer's time is
counted on :data:`OVERFLOW`, never on a forgotten account."""
EXPIRY_SLACK = 0.001
"""Seconds past ``max_wait`` a held-back request's refusal is looked at (it is then
expired)."""
OVERFLOW = "?overflow"
"""The one account of the paced flows that came while :data:`MAX_DEBTORS` others owed."""


@dataclass(slots=True)
class Ticket:
    """One request's place: waiting, then seated, then released."""

    flow: Flow
    item: Any
    """What waits (the bus message)."""
    arrived: float
    width: int = 1
    """How many requests it counts as (its seats, its turns)."""
    seats: int = 0
    """Seats held while seated: its width, at most its level's."""
    expired: bool = False
    """Waited beyond ``max_wait``: to be refused, not served (it holds no seat)."""
    seated: bool = False
    state: LevelState | None = None
    """Its level's state, once queued."""

    @property
    def retry_after(self) -> int:
        """Seconds a refused client should wait (``Retry-After``)."""
        return 1


def deal(hash_value: int, deck: int, hand: int) -> list[int]:
    """``hand`` distinct cards of ``deck`` chosen by ``hash_value`` (Kubernetes'
    shufflesharding.Dealer: each draw takes the hash modulo the cards left)."""
    chosen: list[int] = []
    for left in range(deck, deck - hand, -1):
        index, hash_value = hash_value % left, hash_value // left
        for card in sorted(chosen):
            if card <= index:
                index += 1
        chosen.append(index)
    return chosen


def flow_hash(key: str) -> int:
    """A stable 64-bit hash of a flow's key (the same hand on every worker and restart)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def seats(level: Level, concurrency: int, total_shares: int) -> int:
    """A level's concurrency limit: its shares' part of ``concurrency``, at least one."""
    if level.exempt:  # never waits for a seat
        return concurrency
    return max(1, math.ceil(concurrency * level.shares / max(total_shares, 1)))


@dataclass(slots=True)
class LevelState:
    """One level's seats, queues and place in the dispatching order."""

    level: Level
    limit: int
    """Seats."""
    used: int = 0
    waiting: int = 0
    queues: list[deque[Ticket]] = field(default_factory=list)
    ring: deque[int] = field(default_factory=deque)
    """The non-empty queues, in the order they are served (among those served equally)."""
    hands: dict[str, list[int]] = field(default_factory=dict)
    vtime: float = 0.0
    served: list[float] = field(default_factory=list)
    """Each queue's virtual time: the widths of what it was served."""
    clock: float = 0.0
    """The virtual time of the queue served last, as it was served: where a queue that was
    empty starts."""

    def __post_init__(self) -> None:
        self.queues = [deque() for _ in range(max(self.level.queues, 1))]
        self.served = [0.0] * len(self.queues)

    def offer(self, ticket: Ticket) -> bool:
        """Queue ``ticket``; False (nothing queued) when its queue, or the level, is full."""
        if self.level.queues == 0:  # Reject: no waiting beyond the seats
            if not self.level.exempt and self.used + self.waiting >= self.limit:
                return False
            index = 0
        else:
            index = min(self._hand(ticket.flow.debtor or ticket.flow.key),
                        key=lambda i: len(self.queues[i]))
            if len(self.queues[index]) >= self.level.queue_length_limit:
                return False
        if not self.queues[index]:
            self.ring.append(index)
            self.served[index] = max(self.served[index], self.clock)
        ticket.state = self
        self.queues[index].append(ticket)
        self.waiting += 1
        return True

    def _hand(self, key: str) -> list[int]:
        return remembered(self.hands, key, MAX_HANDS, lambda: deal(
            flow_hash(key), self.level.queues, min(self.level.hand_size, self.level.queues)))

    @property
    def ready(self) -> bool:
        """Something waits and a seat is free."""
        return self.waiting > 0 and (self.level.exempt or self.used < self.limit)

    def take(self, free: Callable[[Ticket], bool]) -> Ticket | None:
        """The first ticket of the queue served least whose first is ``free`` to go (``ready``
        must hold); None when every queue's first must wait (each is then passed)."""
        chosen = min((index for index in self.ring if free(self.queues[index][0])),
                     key=self.served.__getitem__, default=None)
        if chosen is None:
            return None
        self.ring.remove(chosen)
        queue = self.queues[chosen]
        ticket = queue.popleft()
        if queue:
            self.ring.append(chosen)
        self.clock = self.served[chosen]
        self.served[chosen] += ticket.width
        self.waiting -= 1
        return ticket


@dataclass(frozen=True)
class Pacing:
    """Which flows may take only a part of a worker's time, and how much."""

    levels: frozenset[str] = frozenset()
    """The priority levels whose flows are paced (by name)."""
    share: float = 1.0
    """The part of a worker's time each of their flows may take."""
    burst: float = 0.02
    """Seconds of work a flow may owe before it waits: a burst is served at once."""
    shared_burst: float = 0.5
    """The same for an account shared by many flows (``Flow.debtor``: every claim not
    authenticated yet): at a cluster's start every component's handshake and first
    requests come at once on it, and a burst of 20 ms kept them past their clients'
    patience under load. A flood of made-up credentials still gets its share once past it."""


@dataclass(slots=True)
class Duty:
    """The worker's time one flow took, as a leaky bucket: each request served adds the
    seconds it held the worker, and ``share`` seconds drain per second of wall time; while
    more than ``burst`` is owed, the flow's requests wait."""

    share: float
    """The part of the worker's time the flow may take (1: all of it)."""
    burst: float = 0.02
    """Seconds of work owed before the flow waits: a burst is served at once."""
    owed: float = 0.0
    at: float = 0.0

    def spent(self, seconds: float, now: float) -> None:
        """A request of the flow held the worker ``seconds``, until ``now``."""
        self._drain(now)
        self.owed += seconds

    def wait(self, now: float) -> float:
        """Seconds until the flow may be served again (0: now)."""
        self._drain(now)
        return max(0.0, (self.owed - self.burst) / self.share)

    def owes(self, now: float) -> bool:
        """Whether any time is still owed (none: the Duty may be forgotten)."""
        self._drain(now)
        return self.owed > 0

    def _drain(self, now: float) -> None:
        self.owed, self.at = max(0.0, self.owed - (now - self.at) * self.share), now


class Dispatcher:
    """The levels' states of one worker; see the module docstring."""

    def __init__(self, concurrency: int, max_wait: float, paced: Pacing | None = None) -> None:
        """``paced``: the levels whose flows may each take only a part of the worker's time
        (none: every flow may take all of it)."""
        self.concurrency, self.max_wait = concurrency, max_wait
        self.paced = paced or Pacing()
        self._duties: dict[str, Duty] = {}
        """The paced flows' time owed, by debtor (those owing nothing are dropped)."""
        self._levels: dict[tuple[Level, int], LevelState] = {}
        self._clock = 0.0
        """The virtual time of the last dispatch."""
        self._lock = threading.Lock()

    def offer(self, flow: Flow, item: Any, now: float, total_shares: int, width: int = 1
              ) -> Ticket | None:
        """Queue ``item`` for ``flow``, counting as ``width`` requests; None when its level
        refuses it (429)."""
        ticket = Ticket(flow, item, now, width)
        with self._lock:
            state = self._state(flow.level, total_shares)
            idle = state.waiting == 0
            if not state.offer(ticket):
                return None
            if idle:
                state.vtime = max(state.vtime, self._clock)
        return ticket

    def _state(self, level: Level, total_shares: int) -> LevelState:
        key = (level, total_shares)
        state = self._levels.get(key)
        if state is None:  # a new level, or a changed one: the old drains, then goes
            self._levels = {k: s for k, s in self._levels.items() if s.waiting or s.used}
            state = self._levels[key] = LevelState(
                level, seats(level, self.concurrency, total_shares))
        return state

    def next(self, now: float) -> Ticket | None:
        """The request to serve now, seated (or marked expired); None when none may go."""
        with self._lock:
            ready = sorted((s for s in self._levels.values() if s.ready),
                           key=lambda s: (not s.level.exempt, s.vtime))
            for state in ready:  # the exempt level first, then the least served
                if (ticket := state.take(lambda t: self._free(t, now))) is not None:
                    break
            else:
                return None
            if now - ticket.arrived > self.max_wait:
                ticket.expired = True
                return ticket
            if not state.level.exempt:
                self._clock = state.vtime
                state.vtime += ticket.width / max(state.level.shares, 1)
            ticket.seats = min(ticket.width, state.limit)
            state.used += ticket.seats
            ticket.seated = True
            return ticket

    def _free(self, ticket: Ticket, now: float) -> bool:
        """Whether ``ticket`` may go now: its flow is not paced or owes no more than its
        burst, or it waited too long (its refusal is not held back past its client's
        patience)."""
        debtor = self._debtor(ticket.flow)
        duty = None if debtor is None else self._duties.get(debtor)
        return duty is None or duty.wait(now) == 0 or now - ticket.arrived > self.max_wait

    def _debtor(self, flow: Flow) -> str | None:
        """The account ``flow``'s time is counted on: None when its level is not paced; its
        debtor's, or :data:`OVERFLOW` when that has none and :data:`MAX_DEBTORS` others owe."""
        if flow.level.name not in self.paced.levels:
            return None
        debtor = flow.debtor or flow.key
        return debtor if debtor in self._duties or len(self._duties) < MAX_DEBTORS else OVERFLOW

    def served(self, ticket: Ticket, seconds: float, now: float) -> None:
        """``ticket``'s request held the worker ``seconds``: owed by its debtor, if paced."""
        with self._lock:
            if (debtor := self._debtor(ticket.flow)) == OVERFLOW:
                self._forget_paid(now)  # room, if some paid meanwhile
                debtor = self._debtor(ticket.flow)
            if debtor is None:
                return
            duty = self._duties.get(debtor)
            if duty is None:
                shared = debtor == ticket.flow.debtor
                duty = self._duties[debtor] = Duty(
                    self.paced.share, self.paced.shared_burst if shared else self.paced.burst,
                    at=now)
            duty.spent(seconds, now)

    def pause(self, now: float) -> float:
        """Seconds until the first paced flow may go again, or until the first request held
        back has waited too long (its refusal is due then, not at its flow's turn); 0: none
        owes its burst. The debtors that owe nothing are forgotten."""
        with self._lock:
            self._forget_paid(now)
            wait = min((wait for duty in self._duties.values() if (wait := duty.wait(now)) > 0),
                       default=0.0)
            return min(wait, self._first_expiry(now)) if wait > 0 else 0.0

    def _first_expiry(self, now: float) -> float:
        """Seconds until the oldest request that may not go yet waits beyond ``max_wait``
        (each queue's first is its oldest; a level with no free seat is called again when
        one is given back)."""
        oldest = min((state.queues[index][0].arrived for state in self._levels.values()
                      if state.ready for index in state.ring), default=math.inf)
        return oldest + self.max_wait - now + EXPIRY_SLACK

    def _forget_paid(self, now: float) -> None:
        self._duties = {key: duty for key, duty in self._duties.items() if duty.owes(now)}

    def release(self, ticket: Ticket) -> bool:
        """Give back ``ticket``'s seat (once; a ticket never seated holds none). True when a
        request of its level waited for that seat: it may go now."""
        with self._lock:
            state = ticket.state
            if not ticket.seated or state is None:
                return False
            ticket.seated = False
            state.used -= ticket.seats
            return state.waiting > 0 and state.used < state.limit <= state.used + ticket.seats

    @property
    def waiting(self) -> int:
        return sum(state.waiting for state in self._levels.values())
