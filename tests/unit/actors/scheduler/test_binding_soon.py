"""Binding without a binding thread (actors/scheduler/framework.py ``bind_soon``,
DefaultBinder's ``bind_soon``, VolumeBinding's pre-flight): taken only when every PreBind
plugin's pre-flight says Skip and the first binder binds without blocking; its Status is the
one ``run_bind`` would give, guarded the same way, told once; no more bindings in flight
than ``bindings_in_flight``."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actors.scheduler.framework import Framework, Profile
from actors.scheduler.interface import SKIP, SUCCESS, Code, CycleState, Status, error
from actors.scheduler.nodeinfo import PodInfo
from actors.scheduler.plugins import DefaultBinder
from actors.scheduler.scheduler import BindingDone, PermitDone, Scheduler, SchedulerConfig
from actors.scheduler.volumebinding import VolumeBinding
from bus import Subjects
from bus.errors import Conflict
from tests.conftest import pod

WEB = PodInfo.of(pod("web"))


@dataclass
class SoonBinder:
    """Bind and bind_soon: answers ``done`` with each of ``answers`` (or raises ``broken``)."""

    answers: tuple[Any, ...] = (SUCCESS,)
    broken: Exception | None = None
    name: str = "Soon"
    bound: list[str] = field(default_factory=list)

    def bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        self.bound.append(f"bind {node}")
        return SUCCESS

    def bind_soon(self, state: CycleState, pod: PodInfo, node: str,
                  done: Callable[[Status], None]) -> None:
        self.bound.append(f"bind_soon {node}")
        if self.broken is not None:
            raise self.broken
        for answer in self.answers:
            done(answer)


@dataclass
class PreBinder:
    """PreBind without a pre-flight: it may always have work."""

    name: str = "Volumes"

    def pre_bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        return SUCCESS


@dataclass
class FlyingPreBinder(PreBinder):
    """PreBind whose pre-flight answers ``flight``."""

    flight: Status = SKIP

    def pre_bind_pre_flight(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        return self.flight


def bound_soon(*plugins: Any) -> tuple[bool, list[Status]]:
    told: list[Status] = []
    taken = Framework(Profile(plugins)).bind_soon({}, WEB, "n1", told.append)
    return taken, told


def test_a_pod_with_nothing_to_pre_bind_is_bound_without_a_thread():
    binder = SoonBinder()
    taken, told = bound_soon(FlyingPreBinder(), binder)
    assert taken and binder.bound == ["bind_soon n1"]
    assert [(s.code, s.plugin) for s in told] == [(Code.SUCCESS, "Soon")]


def test_a_pre_bind_with_work_or_without_a_pre_flight_keeps_the_binding_thread():
    for pre in (FlyingPreBinder(flight=SUCCESS), PreBinder(),
                FlyingPreBinder(flight=error("broken flight"))):
        binder = SoonBinder()
        assert bound_soon(pre, binder) == (False, [])
        assert binder.bound == []


def test_a_binder_that_only_blocks_keeps_the_binding_thread():
    @dataclass
    class Blocking:
        name: str = "Blocking"

        def bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
            return SUCCESS

    assert bound_soon(Blocking()) == (False, [])


def test_a_broken_binder_is_an_error_naming_it_told_once():
    raising = SoonBinder(broken=RuntimeError("boom"))
    _, told = bound_soon(raising)
    assert [s.code for s in told] == [Code.ERROR]
    assert told[0].message == "running Bind plugin Soon on node n1: raised RuntimeError: boom"
    for answers in ((SKIP,), ("yes",)):
        _, told = bound_soon(SoonBinder(answers=answers))
        assert [s.code for s in told] == [Code.ERROR]
        assert "not a Status other than Skip" in told[0].message
    _, told = bound_soon(SoonBinder(answers=(error("refused"), SUCCESS)))
    assert [(s.code, s.message) for s in told] == [
        (Code.ERROR, "running Bind plugin Soon on node n1: refused")]


class FakeClient:
    """bind_soon's future, resolved by the test."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None]] = []
        self.answer: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def bind_soon(self, pod: Any, node: str, trace_id: str | None = None
                  ) -> concurrent.futures.Future[Any]:
        self.sent.append((node, trace_id))
        return self.answer


def test_default_binder_tells_the_answer_as_bind_would_say_it():
    for outcome, expected in ((None, (Code.SUCCESS, "")),
                              (Conflict("pod web is already assigned"),
                               (Code.ERROR, "binding rejected: pod web is already assigned")),
                              (concurrent.futures.CancelledError(),
                               (Code.ERROR, "binding failed: CancelledError: "))):
        client, told = FakeClient(), list[Status]()
        binder = DefaultBinder(client)  # type: ignore[arg-type]
        binder.bind_soon({}, WEB, "n1", told.append)
        assert client.sent == [] and told == []  # held for the turn's others
        binder.send_bindings()
        assert client.sent == [("n1", None)] and told == []
        if outcome is None:
            client.answer.set_result({})
        else:
            client.answer.set_exception(outcome)
        assert [(s.code, s.message) for s in told] == [expected]


def test_volume_binding_has_nothing_to_pre_bind_only_without_claims():
    plugin = VolumeBinding(client=None)  # type: ignore[arg-type]
    assert plugin.pre_bind_pre_flight({}, WEB, "n1").code is Code.SKIP
    claim = {"metadata": {"name": "data"}, "spec": {}}
    state: dict[str, Any] = {"VolumeBinding": ([claim], {})}
    assert plugin.pre_bind_pre_flight(state, WEB, "n1").ok


@dataclass
class HeldBinder:
    """bind_soon that holds every binding's ``done`` (the answer not come yet)."""

    name: str = "Held"
    held: list[str] = field(default_factory=list)

    def bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        return SUCCESS

    def bind_soon(self, state: CycleState, pod: PodInfo, node: str,
                  done: Callable[[Status], None]) -> None:
        self.held.append(pod.key)


def test_no_more_bindings_are_in_flight_than_bindings_in_flight():
    binder = HeldBinder()
    scheduler = Scheduler(FakeConnection(), None,  # type: ignore[arg-type]
                          SchedulerConfig(bindings_in_flight=2), Profile((binder,)))
    for name in ("a", "b", "c"):
        scheduler.queue.add(PodInfo.of(pod(name)))
    entries = [scheduler.queue.pop() for _ in range(3)]
    for entry in entries:
        assert entry is not None
        scheduler._permit_done(PermitDone(entry, "n1", {}, SUCCESS))
    assert binder.held == ["/a", "/b"]
    scheduler._binding_done(BindingDone(entries[0], "n1", {}, SUCCESS))  # type: ignore[arg-type]
    assert binder.held == ["/a", "/b", "/c"]
    scheduler.recorder.close()


class FakeConnection:
    subjects = Subjects("kubeactor")


@dataclass
class TurnBinder(HeldBinder):
    """HeldBinder that counts the turns it was told were over."""

    sent: int = 0

    def send_bindings(self) -> None:
        self.sent += 1


def test_bindings_are_sent_together_once_no_cycle_is_planned_next():
    binder = TurnBinder()
    scheduler = Scheduler(FakeConnection(), None,  # type: ignore[arg-type]
                          SchedulerConfig(), Profile((binder,)))
    scheduler._next_planned = True  # a cycle comes next: its binding joins the others
    scheduler._turn_over()
    assert binder.sent == 0
    scheduler._next_planned = False
    scheduler._turn_over()
    assert binder.sent == 1
    scheduler.recorder.close()
