"""A pod whose binding failed, or whose Permit failed after waiting, is scheduled again after
its back-off, even when nothing else happens (actors/scheduler/scheduler.py ``_binding_done``,
``_permit_done``): the failure plans the wake-up for it.
A lost binding request (``bus.faults`` drops) failed this way twice in a row leaves no status
write the second time (the same FailedScheduling message), so no pod event plans one."""

from __future__ import annotations

from typing import Any

from actors.scheduler.framework import Profile
from actors.scheduler.interface import SUCCESS, Code, Status, error
from actors.scheduler.nodeinfo import PodInfo
from actors.scheduler.scheduler import WAKE, BindingDone, PermitDone, Scheduler, SchedulerConfig
from tests.conftest import pod
from tests.unit.actors.scheduler.test_binding_soon import FakeConnection, HeldBinder

LOST = "running Bind plugin Held on node n1: binding rejected: no reply within 10.0s"


def popped(name: str) -> tuple[Scheduler, Any, list[tuple[float, Any]]]:
    """A leading scheduler whose later messages are recorded, and ``name``'s pod popped from
    its queue (in flight)."""
    scheduler = Scheduler(FakeConnection(), None,  # type: ignore[arg-type]
                          SchedulerConfig(), Profile((HeldBinder(),)))
    planned: list[tuple[float, Any]] = []
    scheduler.tell_later = lambda delay, message: planned.append((delay, message))  # type: ignore[method-assign,assignment,return-value]
    scheduler.leading = True
    scheduler.queue.add(PodInfo.of(pod(name)))
    entry = scheduler.queue.pop()
    assert entry is not None
    return scheduler, entry, planned


def test_a_binding_failed_again_with_the_same_message_plans_its_retry():
    scheduler, entry, planned = popped("lost")
    scheduler._failures[entry.key] = LOST  # the first failure's, said and written
    scheduler._permit_done(PermitDone(entry, "n1", {}, SUCCESS))
    scheduler._binding_done(BindingDone(entry, "n1", {}, error(LOST)))
    assert [message for _, message in planned] == [WAKE]
    assert 0 < planned[0][0] <= scheduler.queue.backoff_seconds(entry.attempts)
    scheduler.recorder.close()


def test_a_permit_that_failed_later_with_the_same_message_plans_its_retry():
    scheduler, entry, planned = popped("waited")
    refused = "running Permit plugin Gate: the gate broke"
    scheduler._failures[entry.key] = refused  # said and written before
    scheduler.on_local(PermitDone(entry, "n1", {}, Status(Code.ERROR, (refused,), "Gate")))
    assert [message for _, message in planned] == [WAKE]
    scheduler.recorder.close()
