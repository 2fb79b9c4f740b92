"""Leader election (actors/client/leaderelection.py): the pure decisions, and the elector against an
in-memory stand-in for the apiserver's leases (resourceVersion checks included) on a fake
clock."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from actors.api.objects import Object
from actors.client.leaderelection import (
    ElectionTick,
    LeaderElectionConfig,
    LeaderElector,
    decide,
    failing,
    lost,
    next_spec,
    released_spec,
)
from bus.errors import AlreadyExists, Conflict, Forbidden, NotFound, ServiceUnavailable


def held_by(holder: str, duration: int = 15) -> Object:
    return {"holderIdentity": holder, "leaseDurationSeconds": duration,
            "acquireTime": "2026-01-01T00:00:00.000000Z",
            "renewTime": "2026-01-01T00:00:05.000000Z", "leaseTransitions": 3}


def test_decide_creates_renews_waits_and_acquires():
    assert decide(None, 0, "me", 100) == "create"
    assert decide(held_by("me"), 0, "me", 100) == "renew"
    assert decide(held_by("other"), 90, "me", 100) == "wait"  # seen 10 s ago, lasts 15
    assert decide(held_by("other"), 80, "me", 100) == "acquire"  # seen 20 s ago
    assert decide(held_by(""), 99, "me", 100) == "acquire"  # released


def test_next_spec_keeps_acquire_time_while_renewing_and_counts_transitions():
    renewed = next_spec(held_by("me"), "me", 15, "2026-01-01T00:01:00.000000Z")
    assert renewed == {"holderIdentity": "me", "leaseDurationSeconds": 15,
                       "acquireTime": "2026-01-01T00:00:00.000000Z",
                       "renewTime": "2026-01-01T00:01:00.000000Z", "leaseTransitions": 3}
    taken = next_spec(held_by("other"), "me", 15, "2026-01-01T00:01:00.000000Z")
    assert taken["acquireTime"] == taken["renewTime"] == "2026-01-01T00:01:00.000000Z"
    assert taken["leaseTransitions"] == 4
    assert next_spec(None, "me", 15, "t")["leaseTransitions"] == 0
    assert next_spec(released_spec(held_by("x"), "t"), "me", 15, "t2")["leaseTransitions"] == 4


def test_a_leader_gives_up_once_the_renew_deadline_passed():
    assert not lost(100, 109.9, 10)
    assert lost(100, 110, 10)


def test_periods_must_nest():
    with pytest.raises(ValueError, match="retry_period < renew_deadline < lease_duration"):
        LeaderElectionConfig("l", "me", lease_duration=10, renew_deadline=10, retry_period=2)


def test_an_elector_refuses_a_template_without_lease_or_identity():
    with pytest.raises(ValueError, match="needs a lease_name and an identity"):
        LeaderElector(None, LeaderElectionConfig(identity="me"),  # type: ignore[arg-type]
                      schedule=None, on_started_leading=None,  # type: ignore[arg-type]
                      on_stopped_leading=None)  # type: ignore[arg-type]


# -- the elector --------------------------------------------------------------------------------


class Leases:
    """Leases as the apiserver keeps them: create 409 when present, update 409 on a stale
    resourceVersion; ``down`` makes every call fail as an unreachable apiserver does."""

    def __init__(self) -> None:
        self.objects: dict[str, Object] = {}
        self.version = 0
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ServiceUnavailable("the apiserver cannot be reached")

    def get(self, resource: str, name: str, namespace: str | None = "default") -> Object:
        self._check()
        if name not in self.objects:
            raise NotFound(f'leases "{name}" not found')
        return copy.deepcopy(self.objects[name])

    def create(self, resource: str, obj: Object, namespace: str | None = "default") -> Object:
        self._check()
        name = obj["metadata"]["name"]
        if name in self.objects:
            raise AlreadyExists(f'leases "{name}" already exists')
        return self._store(obj)

    def update(self, resource: str, obj: Object) -> Object:
        self._check()
        stored = self.objects[obj["metadata"]["name"]]
        if obj["metadata"].get("resourceVersion") != stored["metadata"]["resourceVersion"]:
            raise Conflict("the object has been modified")
        return self._store(obj)

    def _store(self, obj: Object) -> Object:
        self.version += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.objects[obj["metadata"]["name"]] = obj
        return copy.deepcopy(obj)

    def holder(self) -> str:
        return str(self.objects["sched"]["spec"]["holderIdentity"])


class Replica:
    """An elector with the owner's side faked: planned ticks are kept, not timed."""

    def __init__(self, leases: Leases, identity: str, clock: Any, release: bool = True) -> None:
        self.events: list[str] = []
        self.planned: list[tuple[float, ElectionTick]] = []
        config = LeaderElectionConfig("sched", identity, lease_duration=15, renew_deadline=10,
                                      retry_period=2, release_on_stop=release)
        self.elector = LeaderElector(
            leases, config, schedule=self._plan,  # type: ignore[arg-type]
            on_started_leading=lambda: self.events.append("started"),
            on_stopped_leading=lambda: self.events.append("stopped"), clock=clock)

    def _plan(self, delay: float, message: ElectionTick) -> Any:
        self.planned.append((delay, message))
        return _Cancellable()


class _Cancellable:
    def cancel(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_first_replica_leads_at_once_and_plans_its_next_renewal():
    leases, clock = Leases(), Clock()
    first = Replica(leases, "one", clock)
    first.elector.start()
    assert first.events == ["started"] and leases.holder() == "one"
    assert first.planned[0][0] == 2
    assert first.planned[0][1].elector is first.elector


def test_a_second_replica_waits_while_the_leader_renews():
    leases, clock = Leases(), Clock()
    one, two = Replica(leases, "one", clock), Replica(leases, "two", clock)
    one.elector.start()
    two.elector.start()
    for _ in range(20):
        clock.now += 2
        one.elector.tick()
        two.elector.tick()
    assert (one.events, two.events, leases.holder()) == (["started"], [], "one")


def test_a_silent_leader_is_replaced_after_the_lease_duration_and_steps_down_itself():
    leases, clock = Leases(), Clock()
    one, two = Replica(leases, "one", clock), Replica(leases, "two", clock)
    one.elector.start()
    two.elector.start()  # sees the lease now (t=0)
    clock.now = 14
    two.elector.tick()
    assert two.events == []
    clock.now = 15.5
    two.elector.tick()
    assert two.events == ["started"] and leases.holder() == "two"
    assert leases.objects["sched"]["spec"]["leaseTransitions"] == 1
    one.elector.tick()  # its renewal is refused: the lease is two's now
    assert one.events == ["started", "stopped"]


def test_a_leader_cut_off_from_the_apiserver_stops_leading_after_the_renew_deadline():
    leases, clock = Leases(), Clock()
    one = Replica(leases, "one", clock)
    one.elector.start()
    leases.down = True
    clock.now = 8
    one.elector.tick()
    assert one.events == ["started"]
    clock.now = 10
    one.elector.tick()
    assert one.events == ["started", "stopped"]
    leases.down = False
    clock.now = 12
    one.elector.tick()  # still its own lease: it leads again at once
    assert one.events == ["started", "stopped", "started"]


def test_stopping_a_leader_releases_the_lease_so_the_next_takes_over_at_once():
    leases, clock = Leases(), Clock()
    one, two = Replica(leases, "one", clock), Replica(leases, "two", clock)
    one.elector.start()
    two.elector.start()
    one.elector.stop()
    assert one.events == ["started", "stopped"] and leases.holder() == ""
    clock.now = 2
    two.elector.tick()
    assert two.events == ["started"] and leases.holder() == "two"


def test_a_restarted_replica_with_the_same_identity_resumes_at_once():
    leases, clock = Leases(), Clock()
    Replica(leases, "one", clock, release=False).elector.start()
    again = Replica(leases, "one", clock)
    again.elector.start()
    assert again.events == ["started"]


def test_an_unexpected_failure_still_plans_the_next_attempt():
    leases, clock = Leases(), Clock()
    one = Replica(leases, "one", clock)

    def broken(*args: Any, **kwargs: Any) -> Object:
        raise RuntimeError("a bug somewhere below")

    leases.get = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        one.elector.start()
    assert [delay for delay, _ in one.planned] == [2]


def test_a_start_that_fails_is_tried_again_while_the_lease_is_held():
    leases, clock = Leases(), Clock()
    one = Replica(leases, "one", clock)
    attempts: list[float] = []

    def flaky_start() -> None:
        attempts.append(clock.now)
        if len(attempts) == 1:
            raise RuntimeError("a controller could not list what it follows")
        one.events.append("started")

    one.elector._on_started = flaky_start
    one.elector.start()
    assert (one.elector.leading, one.events, leases.holder()) == (False, [], "one")
    clock.now = 2
    one.elector.tick()
    assert attempts == [0, 2] and one.elector.leading and one.events == ["started"]


def test_a_stopping_leader_stops_its_work_before_it_releases_the_lease():
    leases, clock = Leases(), Clock()
    one = Replica(leases, "one", clock)
    one.elector._on_stopped = lambda: one.events.append(f"stopped, held by {leases.holder()}")
    one.elector.start()
    one.elector.stop()
    assert one.events == ["started", "stopped, held by one"] and leases.holder() == ""


class RefusedLeases(Leases):
    """The leases of an identity that may not write them (a node's kubeconfig)."""

    def _check(self) -> None:
        raise Forbidden('leases.coordination.k8s.io "sched" is forbidden: node "n1" can only '
                        'access leases in the "kube-node-lease" system namespace')


def test_a_replica_refused_the_lease_says_so_in_a_warning_and_keeps_trying(caplog):
    replica = Replica(RefusedLeases(), "one", Clock())
    with caplog.at_level(logging.WARNING, logger="actors.client.leaderelection"):
        replica.elector.start()
    assert replica.events == [] and len(replica.planned) == 1
    assert [r.getMessage() for r in caplog.records] == [
        'leader election sched: leases.coordination.k8s.io "sched" is forbidden: node "n1" can '
        'only access leases in the "kube-node-lease" system namespace']


def test_the_health_check_fails_while_a_leader_has_not_renewed_within_the_deadline():
    leases, clock = Leases(), Clock()
    one, two = Replica(leases, "one", clock), Replica(leases, "two", clock)
    one.elector.start()
    two.elector.start()
    assert one.elector.check() is None and two.elector.check() is None
    leases.down = True
    clock.now = 8
    one.elector.tick()  # renewal failed, still within the deadline
    assert one.elector.check() is None
    clock.now = 11  # its thread is stuck: no tick has stepped it down yet
    assert one.elector.check() == ("failed election to renew leadership on lease sched: not "
                                   "renewed for 11.0s")
    assert two.elector.check() is None  # not leading: not required to hold the lease
    assert failing([two.elector, one.elector]) == one.elector.check()
    leases.down = False
    one.elector.tick()  # renewed: healthy again
    assert one.elector.check() is None and failing([two.elector, one.elector]) is None
