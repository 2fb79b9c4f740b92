"""Leader election through a Lease (``coordination.k8s.io``), as client-go's leaderelection.

Replicas of a component (schedulers, controller-managers) each own a :class:`LeaderElector`
for one Lease. Every ``retry_period`` the elector reads the Lease and:

- creates it when there is none (the first replica leads at once);
- renews it when it holds it (``renewTime``);
- takes it over when the holder has not renewed it for ``leaseDurationSeconds``, counted on
  this replica's own clock from when it *saw* the record last change (clocks of replicas need
  not agree), bumping ``leaseTransitions`` and setting ``acquireTime``;
- otherwise waits.

A leader that cannot renew for ``renew_deadline`` stops leading (before its lease can expire
for the others, since renew_deadline < lease_duration). On stop, a leader releases the Lease
(empty holder) so a successor need not wait, unless ``release_on_stop`` is off.

The elector is not an actor and has no thread: its owner (an actor) gives it a ``schedule``
function (``BusActor.tell_later``) and hands every :class:`ElectionTick` it receives to
:meth:`LeaderElector.tick`, so all of it runs on the owner's thread; ``on_started_leading`` and
``on_stopped_leading`` are called there too (one that raises is called again at the next
attempt). The decisions are the pure functions :func:`decide` and :func:`next_spec`.
:class:`LeaderGate` is such an owner for a component that is not an actor itself: it starts and
stops it as this replica gains and loses the Lease.

Neighbours: ``actors.client.client`` (get/create/update leases), ``actors.scheduler.scheduler``
(owns its elector), ``actors.controllers.manager`` (gated by a :class:`LeaderGate`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from actors.api.meta import now_micro
from actors.api.objects import Object
from actors.client.client import Client
from bus.actor import BusActor
from bus.connection import Connection
from bus.errors import AlreadyExists, ApiError, Conflict, Forbidden, NotFound

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-system"


@dataclass(frozen=True, slots=True)
class LeaderElectionConfig:
    """One replica's election; the periods' defaults are Kubernetes' own (kube-scheduler's and
    kube-controller-manager's ``--leader-elect-*``), which the CLI's flags take from here. With
    ``lease_name`` and ``identity`` empty it is a template (``ClusterConfig.leader_election``):
    the launcher fills them for each component and replica."""

    lease_name: str = ""
    """The Lease all replicas compete for (kube-scheduler's is ``kube-scheduler``)."""
    identity: str = ""
    """This replica's name in ``holderIdentity``; unique per replica, stable across restarts
    of one replica (it then resumes leading at once)."""
    namespace: str = LEASE_NAMESPACE
    lease_duration: float = 15.0
    """Seconds a non-leader waits after the last renewal it saw before taking over
    (--leader-elect-lease-duration). 15: a dead leader is replaced within a quarter minute,
    while a leader slowed down for a few retries keeps its Lease."""
    renew_deadline: float = 10.0
    """Seconds a leader keeps trying to renew before it gives up leading
    (--leader-elect-renew-deadline); must be below lease_duration. 10: it stops leading 5 s
    before the others may take over, so that two never lead at once."""
    retry_period: float = 2.0
    """Seconds between two attempts to acquire or renew (--leader-elect-retry-period). 2: five
    attempts fit in the renew deadline, at one small request per replica every 2 s."""
    release_on_stop: bool = True
    """Hand the Lease back when stopped, so a successor takes over at once."""

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError("leader election needs 0 < retry_period < renew_deadline < "
                             f"lease_duration, got {self.retry_period}, {self.renew_deadline}, "
                             f"{self.lease_duration}")


@dataclass(frozen=True, slots=True)
class ElectionTick:
    """Local message: time for ``elector`` to try again (hand it to ``elector.tick()``)."""

    elector: LeaderElector


# -- decisions, as pure functions ---------------------------------------------------------------


def decide(spec: Object | None, observed_at: float, identity: str, now: float) -> str:
    """What to do with the Lease ``spec`` (None: there is no Lease), which this replica saw
    change last at ``observed_at`` (its clock, like ``now``): ``create``, ``renew`` (ours),
    ``acquire`` (free or expired) or ``wait`` (someone else holds it)."""
    if spec is None:
        return "create"
    holder = spec.get("holderIdentity") or ""
    if holder == identity:
        return "renew"
    duration = float(spec.get("leaseDurationSeconds") or 0)
    if holder and observed_at + duration > now:
        return "wait"
    return "acquire"


def next_spec(spec: Object | None, identity: str, duration: float, stamp: str) -> Object:
    """The Lease spec this replica writes to hold the Lease at time ``stamp`` (MicroTime):
    ``acquireTime`` and ``leaseTransitions`` change only when the holder does; as client-go,
    taking a released Lease (no holder) is a transition too."""
    spec = spec or {}
    ours = spec.get("holderIdentity") == identity
    transitions = int(spec.get("leaseTransitions") or 0)
    if spec and not ours:
        transitions += 1
    return {"holderIdentity": identity, "leaseDurationSeconds": max(1, round(duration)),
            "acquireTime": spec.get("acquireTime", stamp) if ours else stamp,
            "renewTime": stamp, "leaseTransitions": transitions}


def released_spec(spec: Object, stamp: str) -> Object:
    """The spec a leader writes when it lets go: no holder, expiring in a second."""
    return {"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": stamp,
            "renewTime": stamp, "leaseTransitions": int(spec.get("leaseTransitions") or 0)}


def lost(last_renewal: float, now: float, renew_deadline: float) -> bool:
    """Whether a leader whose last successful renewal was at ``last_renewal`` must stop."""
    return now - last_renewal >= renew_deadline


# -- the elector --------------------------------------------------------------------------------


class LeaderElector:
    """See the module docstring. Not thread-safe: every method but :meth:`check` runs on the
    owner's thread."""

    def __init__(self, client: Client, config: LeaderElectionConfig, *,
                 schedule: Callable[[float, Any], concurrent.futures.Future[None]],
                 on_started_leading: Callable[[], None],
                 on_stopped_leading: Callable[[], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not config.lease_name or not config.identity:
            raise ValueError("leader election needs a lease_name and an identity (a config "
                             "without them is a template: fill them with dataclasses.replace)")
        self.client, self.config = client, config
        self._schedule = schedule
        self._on_started, self._on_stopped = on_started_leading, on_stopped_leading
        self._clock = clock
        self.leading = False
        self._lease: Object | None = None
        """The Lease as last read or written."""
        self._observed_at = 0.0
        self._renewed_at = 0.0
        self._timer: concurrent.futures.Future[None] | None = None
        self._stopped = False

    def start(self) -> None:
        """Try at once (a fresh Lease is taken on the spot), then every retry_period."""
        self.tick()

    def stop(self) -> None:
        """Stop trying; a leader stops leading, then releases the Lease (``release_on_stop``),
        so a successor starts only once this replica has stopped."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        if self.leading:
            self._step_down()
            if self.config.release_on_stop and self._lease is not None:
                self._release(self._lease)

    def check(self) -> str | None:
        """The ``leaderElection`` health check, as client-go's HealthzAdaptor: None while
        this replica is not leading (it is not required to hold the Lease) or renewed it
        within ``renew_deadline``; else why not (its renewals are failing, or its thread is
        stuck). Any thread may call it: it only reads."""
        renewed, now = self._renewed_at, self._clock()
        if self.leading and lost(renewed, now, self.config.renew_deadline):
            return (f"failed election to renew leadership on lease {self.config.lease_name}: "
                    f"not renewed for {now - renewed:.1f}s")
        return None

    def tick(self) -> None:
        """One attempt to acquire or renew, then the next one is planned (also when the
        attempt raised something unexpected: the election never stops by accident)."""
        if self._stopped:
            return
        try:
            self._attempt()
        finally:
            if not self._stopped:
                self._timer = self._schedule(self.config.retry_period, ElectionTick(self))

    def _attempt(self) -> None:
        try:
            held = self._try()
        except ApiError as failure:  # refused (Forbidden: a wrong identity) is worth a warning
            log.log(logging.WARNING if isinstance(failure, Forbidden) else logging.INFO,
                    "leader election %s: %s", self.config.lease_name, failure.message)
            held = False
        now = self._clock()
        if held:
            self._renewed_at = now
            if not self.leading:
                self._start_leading()
        elif self.leading and lost(self._renewed_at, now, self.config.renew_deadline):
            log.warning("%s lost the lease %s (no renewal for %.1fs)", self.config.identity,
                        self.config.lease_name, now - self._renewed_at)
            self._step_down()

    def _start_leading(self) -> None:
        """Lead: call ``on_started_leading``. When it raises, this replica is not leading yet
        (it keeps the Lease): the next attempt renews and calls it again."""
        log.info("%s became the leader of %s", self.config.identity, self.config.lease_name)
        self.leading = True
        try:
            self._on_started()
        except Exception:
            log.exception("%s could not start leading %s; trying again in %.1fs",
                          self.config.identity, self.config.lease_name,
                          self.config.retry_period)
            self.leading = False

    def _try(self) -> bool:
        """Read the Lease and act on :func:`decide`; True when this replica holds it now."""
        config = self.config
        try:
            lease: Object | None = self.client.get("leases", config.lease_name,
                                                   config.namespace)
        except NotFound:
            lease = None
        spec = (lease or {}).get("spec") or {}
        if lease is not None and (self._lease or {}).get("spec") != lease.get("spec"):
            self._observed_at = self._clock()  # the record changed: the holder is alive
        self._lease = lease
        action = decide(None if lease is None else spec, self._observed_at, config.identity,
                        self._clock())
        if action == "wait":
            return False
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {**(lease or {}).get("metadata", {}), "name": config.lease_name,
                             "namespace": config.namespace},
                "spec": next_spec(spec, config.identity, config.lease_duration, now_micro())}
        try:
            if lease is None:
                self._lease = self.client.create("leases", body, config.namespace)
            else:
                self._lease = self.client.update("leases", body)
        except (AlreadyExists, Conflict):
            return False  # another replica was quicker; look again next time
        self._observed_at = self._clock()
        return True

    def _release(self, lease: Object) -> None:
        body = dict(lease, spec=released_spec(lease.get("spec") or {}, now_micro()))
        try:
            self.client.update("leases", body)
        except ApiError as failure:
            log.info("leader election %s: release failed: %s", self.config.lease_name,
                     failure.message)

    def _step_down(self) -> None:
        self.leading = False
        self._on_stopped()


def failing(electors: Sequence[LeaderElector]) -> str | None:
    """A process's ``leaderElection`` health check over all its electors (a scheduler's and
    a controller manager's in one ``kubeactor up``): the first failure, or None."""
    return next((why for elector in list(electors) if (why := elector.check())), None)


class LeaderGate(BusActor):
    """Runs a component only while this replica leads its Lease, as kube-controller-manager
    runs its controllers: ``start`` when this replica becomes the leader, ``stop`` when it
    stops leading and when the gate stops (before the Lease is released).

    Both run on the gate's thread and may block it (a start waits for the controllers to list
    what they follow); the next attempt to renew waits meanwhile, so a start should take well
    under ``renew_deadline``. A ``start`` that raises is called again at the next attempt.
    """

    def __init__(self, connection: Connection, client: Client, config: LeaderElectionConfig,
                 start: Callable[[], None], stop: Callable[[], None]) -> None:
        super().__init__(connection)
        self.elector = LeaderElector(client, config, schedule=self.tell_later,
                                     on_started_leading=start, on_stopped_leading=stop)

    @property
    def leading(self) -> bool:
        return self.elector.leading

    def on_start(self) -> None:
        super().on_start()
        self.elector.start()

    def on_stop(self) -> None:
        self.elector.stop()
        super().on_stop()

    def on_local(self, message: Any) -> Any:
        if isinstance(message, ElectionTick):
            message.elector.tick()
            return None
        return super().on_local(message)
