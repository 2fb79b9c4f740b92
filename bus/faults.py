"""Fault injection on the bus: plans that drop, duplicate, delay or reorder the messages
arriving on subjects that match a pattern, for testing that components converge anyway.

A :class:`FaultPlan` is plain data (``kubeactor chaos`` stores it as a FaultPlan object; an
actor of each process installs it here). :func:`fate` is the pure decision for one message,
drawn from a plan's seeded random generator. :class:`Faults` holds the plans installed in this
process (one instance, :data:`PROCESS`, as there is one bus loop): every ``Connection``
asks it what to do with each message its subscriptions receive, before the handler sees it.

The patterns are NATS wildcard patterns over the subjects as they travel (``*`` one token,
``>`` the rest), under the cluster prefix: ``kubeactor.api.*.pods.*`` matches
``kubeactor.api.core.pods.create``, not ``kubeactor.api.core.pods/binding.create`` (the
subresource is part of the resource token).

Exempt, whatever the pattern, so that a plan can never lock the admin out: messages about
fault plans themselves (their requests, replies and watch events, by the envelope's group and
resource), the certificate handshake (``<prefix>.authn.>``) and spans (``<prefix>.trace.>``).
The auth callout (``$SYS.``) and the JetStream store (``$JS.``, ``$KV.``) are out of reach: they
are not under the prefix, and are not served through ``Connection.subscribe``. Replies (the
requester's inbox) and the tracer's raw subscription are never faulted either.

Neighbours: ``bus.connection`` (applies the fate), ``actors.client.chaos`` (installs and removes
plans, reports each fault as a span), ``actors.api.faultplans`` (the object's checks).

Which thread: :meth:`Faults.fate` runs on the bus loop thread; ``install`` and ``remove`` from
any (a lock guards the plans).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bus.envelope import Envelope
from bus.subjects import Subjects

GROUP = "chaos.kubeactor.io"
"""The API group of the FaultPlan kind."""
RESOURCE = "faultplans"
"""Its resource: messages about it are never faulted."""
EXEMPT_FAMILIES = ("authn", "trace")
"""Subject families (the token after the prefix) never faulted: the handshake and spans."""
REORDER_WINDOW = 0.2
"""Seconds a reordered message is held back at most when the plan sets no delay: as netem's
``reorder``, the messages after it overtake it."""


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What to do to the messages on some subjects, until when."""

    name: str
    subjects: tuple[str, ...]
    """NATS wildcard patterns, each under the cluster prefix."""
    until: float
    """Seconds since the epoch when the plan ends (it then removes itself)."""
    drop: float = 0.0
    """Fraction of matching messages dropped, 0 to 1."""
    duplicate: float = 0.0
    """Fraction of matching messages delivered twice."""
    delay: float = 0.0
    """Seconds every matching message is held back before delivery."""
    reorder: float = 0.0
    """Fraction of matching messages held back a random time (up to ``delay``, or
    :data:`REORDER_WINDOW`), so the ones after them overtake them."""
    seed: int | None = None
    """Seeds the plan's random generator (tests); None: from the OS."""


@dataclass(frozen=True, slots=True)
class Fate:
    """What happens to one message: dropped, or delivered ``copies`` times after ``delay``."""

    plan: str
    fault: str
    """``drop``, ``duplicate``, ``delay`` or ``reorder``: what the tracer is told."""
    copies: int = 1
    delay: float = 0.0


def matches(pattern: str, subject: str) -> bool:
    """Whether NATS wildcard ``pattern`` matches ``subject``."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or token not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)


def fate(plan: FaultPlan, rng: random.Random, subject: str) -> Fate | None:
    """What ``plan`` does to a message on ``subject``: None when it leaves it alone."""
    if not any(matches(pattern, subject) for pattern in plan.subjects):
        return None
    if rng.random() < plan.drop:
        return Fate(plan.name, "drop", copies=0)
    copies = 2 if rng.random() < plan.duplicate else 1
    delay = plan.delay
    reordered = rng.random() < plan.reorder
    if reordered:
        delay = rng.uniform(0.0, plan.delay or REORDER_WINDOW)
    if reordered or copies > 1 or delay:
        fault = "reorder" if reordered else "duplicate" if copies > 1 else "delay"
        return Fate(plan.name, fault, copies=copies, delay=delay)
    return None


def exempt(family: str, group: str | None, resource: str | None) -> bool:
    """Whether a message is out of every plan's reach (see the module's docstring)."""
    return family in EXEMPT_FAMILIES or (group == GROUP and resource == RESOURCE)


Reporter = Callable[[Fate, str, Envelope, str], None]
"""Told of each fault: the fate, the message's subject and envelope, and the connection that
received it (loop thread: it must not block)."""


class Faults:
    """The fault plans installed in one process."""

    def __init__(self) -> None:
        self._plans: dict[str, tuple[FaultPlan, random.Random]] = {}
        self._lock = threading.Lock()
        self.reporter: Reporter | None = None
        """Told of each fault (``actors.client.chaos`` publishes it as a span)."""

    def install(self, plan: FaultPlan) -> None:
        """Install ``plan``, replacing one of its name (and restarting its generator)."""
        with self._lock:
            self._plans[plan.name] = (plan, random.Random(plan.seed))

    def remove(self, name: str) -> None:
        with self._lock:
            self._plans.pop(name, None)

    def installed(self) -> list[FaultPlan]:
        with self._lock:
            return [plan for plan, _ in self._plans.values()]

    def fate(self, subject: str, envelope: Envelope, receiver: str) -> Fate | None:
        """The fate of a message connection ``receiver`` got, from the first plan that faults
        it, reported; None for most (no plan, exempt, expired plans, or left alone). Loop
        thread."""
        if not self._plans or exempt(Subjects.family(subject), envelope.group,
                                     envelope.resource):
            return None
        now = time.time()
        with self._lock:
            plans = list(self._plans.values())
        for plan, rng in plans:
            chosen = fate(plan, rng, subject) if plan.until > now else None
            if chosen is not None:
                if self.reporter is not None:
                    self.reporter(chosen, subject, envelope, receiver)
                return chosen
        return None


PROCESS = Faults()
"""This process's plans: every connection consults it."""
