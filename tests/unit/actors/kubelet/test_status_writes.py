"""A pod's status writes never write over what they did not read (actors/kubelet/statusmanager.py,
Kubernetes' status manager, which reads the pod, merges and writes with a uid precondition):
another writer's condition that lands while a kubelet write is on its way is kept; a pod deleted
and made again under the same name gets no status of the old one, nor is it deleted for it.

The apiserver here is one pod's store: a write lands when answered, with the checks the real
one makes then (a ``resourceVersion`` or ``uid`` sent must be the stored one's, 409 else:
``actors.apiserver.verbs``)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest

from actors.api.objects import Object
from actors.client.client import WatchEvent
from actors.kubelet import timers
from actors.kubelet.config import KubeletConfig
from actors.kubelet.nodeagent import NodeAgent, Writers
from actors.kubelet.podrecord import PodRecord
from actors.kubelet.statuswriter import StatusWriter
from bindings.runtimes.sim import SimRuntime
from bus.errors import Conflict, NotFound
from bus.subjects import Subjects
from tests.unit.actors.kubelet.test_status_reconcile import cond, running, without_ready

DISRUPTED = cond("DisruptionTarget")
"""Another writer's condition (the taint manager's, an eviction's)."""


def pod(uid: str, version: int, status: Object) -> Object:
    return {"metadata": {"name": "p", "namespace": "default", "uid": uid,
                         "resourceVersion": str(version)},
            "spec": {"nodeName": "node-1", "containers": [{"name": "main"}]},
            "status": status}


class Apiserver:
    """One pod as the API stores it; requests held open until :meth:`answer` lands them."""

    def __init__(self, stored: Object) -> None:
        self.stored: Object | None = stored
        self.version = int(stored["metadata"]["resourceVersion"])
        self.open: list[tuple[str, Any, Future[Any]]] = []
        self.asked = threading.Condition()

    def submit(self, verb: str, resource: str, *, body: Any = None, **_: Any) -> Future[Any]:
        with self.asked:
            self.open.append((verb, body, Future()))
            self.asked.notify()
            return self.open[-1][2]

    def write_options(self) -> dict[str, Any]:
        return {}

    def delete(self, resource: str, name: str, namespace: str, *,
               preconditions: dict[str, str] | None = None, **_: Any) -> Object:
        self._check(preconditions or {})
        gone, self.stored = self.stored, None
        assert gone is not None
        return gone

    def answer(self) -> None:
        """Land the first open request, as the apiserver would now."""
        with self.asked:
            verb, body, future = self.open.pop(0)
        try:
            future.set_result(self._get() if verb == "get" else self._write_status(body))
        except (Conflict, NotFound) as error:
            future.set_exception(error)

    def answer_all(self, writer: StatusWriter) -> None:
        """Answer every request, those the answers lead to too (a write that waited goes out
        on the writer's thread), until none is open and none waits."""
        while True:
            with self.asked:
                if not self.asked.wait_for(lambda: self.open or not writer.pending(), 10):
                    raise AssertionError("a status write never went out")
                if not self.open:
                    return
            self.answer()

    def _get(self) -> Object:
        if self.stored is None:
            raise NotFound('pods "p" not found')
        return copy.deepcopy(self.stored)

    def _write_status(self, body: Object) -> Object:
        stored = self._get()
        self._check({k: v for k, v in body["metadata"].items()
                     if k in ("uid", "resourceVersion")})
        return self.write(dict(stored, status=body["status"]))

    def _check(self, preconditions: dict[str, str]) -> None:
        stored = self._get()["metadata"]
        for key, asked in preconditions.items():
            if asked != stored[key]:
                raise Conflict(f"Precondition failed: {key} in precondition: {asked}, "
                               f"{key} in object meta: {stored[key]}")

    def write(self, obj: Object) -> Object:
        """Store ``obj`` at the next version (another writer's write, or a status write)."""
        self.version += 1
        self.stored = copy.deepcopy(obj)
        self.stored["metadata"]["resourceVersion"] = str(self.version)
        return copy.deepcopy(self.stored)


@pytest.fixture
def api() -> Apiserver:
    return Apiserver(pod("uid-1", 5, without_ready(running())))


class Timers(timers.Timers):
    """What is due at once runs at once, on the caller's thread: an answer's hand-over to the
    timer thread is over when the answer is."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> timers.Timer:
        if delay > 0:
            return super().call_later(delay, callback)
        callback()
        return timers.Timer(0.0, 0, callback)


@pytest.fixture
def node(api: Apiserver) -> Iterator[NodeAgent]:
    clock = Timers()
    writers = Writers(StatusWriter(4), StatusWriter(1))
    workers: Any = SimpleNamespace(submit=lambda uid, work: work())  # at once, in line
    agent = NodeAgent(api, SimRuntime("node-1", clock),  # type: ignore[arg-type]
                      config=KubeletConfig("node-1", record_events=False), workers=workers,
                      timers=clock, writers=writers, publish=lambda *_: None,
                      subjects=Subjects("kubeactor"))
    assert api.stored is not None
    agent.pods["uid-1"] = PodRecord(copy.deepcopy(api.stored), reported=without_ready(running()),
                                    written=5)
    yield agent
    agent.stop()
    writers.pods.stop()
    clock.stop()


def conditions(status: Object) -> list[tuple[str, str]]:
    return sorted((c["type"], c["status"]) for c in status["conditions"])


def test_another_writers_condition_landing_while_a_status_write_flies_is_kept(node, api):
    record = node.pods["uid-1"]
    node.podsync.write(record, running())  # Ready: on its way, made from version 5
    assert api.stored is not None
    others = copy.deepcopy(api.stored)
    others["status"]["conditions"].append(DISRUPTED)
    node.on_pod_event(WatchEvent("MODIFIED", api.write(others)))  # 6, told to the kubelet
    api.answer_all(node.podsync.statuses)
    assert api.stored is not None
    assert conditions(api.stored["status"]) == conditions(
        {"conditions": [*running()["conditions"], DISRUPTED]})


def test_a_status_write_waiting_behind_another_is_made_from_the_pod_as_then_read(node, api):
    record = node.pods["uid-1"]
    node.podsync.write(record, running(phase="Pending"))
    node.podsync.write(record, running())  # waits for the first one's answer
    assert api.stored is not None
    others = copy.deepcopy(api.stored)
    others["status"]["conditions"].append(DISRUPTED)
    api.write(others)  # not told to the kubelet yet: the write's answer says it is stale
    api.answer_all(node.podsync.statuses)
    assert api.stored is not None
    assert api.stored["status"]["phase"] == "Running"
    assert ("DisruptionTarget", "True") in conditions(api.stored["status"])


def test_a_pod_made_again_under_its_name_gets_no_status_of_the_old_one(node, api):
    record = node.pods["uid-1"]
    node.podsync.write(record, running())  # on its way when the pod is deleted and made again
    api.stored = None
    api.write(pod("uid-2", 0, {"phase": "Pending"}))
    api.answer_all(node.podsync.statuses)
    assert api.stored is not None
    assert api.stored["metadata"]["uid"] == "uid-2"
    assert api.stored["status"] == {"phase": "Pending"}


def test_the_deletion_of_a_pod_made_again_under_its_name_is_not_confirmed_for_the_old_one(
        node, api):
    """The kubelet confirms a deletion (grace 0) with the uid of the pod it stopped."""
    record = node.pods["uid-1"]
    api.stored = None
    api.write(pod("uid-2", 0, {"phase": "Pending"}))  # deleted and made again meanwhile
    record.pod = dict(record.pod, metadata=dict(record.pod["metadata"],
                                                deletionTimestamp="2026-12-07T12:00:00Z"))
    node.podsync.sync(record)
    assert api.stored is not None and api.stored["metadata"]["uid"] == "uid-2"
    assert record.done


def test_a_conflict_that_comes_again_after_the_read_waits_for_the_back_off(node, api):
    """A 409 is read again and written once more at once; a second one goes to the back-off
    (the pod synced again after it), not round again: a Conflict that keeps coming (not the
    version's) makes no storm of reads and writes."""
    def conflicting(body: Object) -> Object:
        raise Conflict("Operation cannot be fulfilled: try again")

    api._write_status = conflicting  # type: ignore[method-assign]
    node.podsync.write(node.pods["uid-1"], running())
    asked = []
    for _ in range(10):  # at most: without the back-off, this goes round for ever
        with api.asked:
            if not api.asked.wait_for(lambda: bool(api.open), 1):
                break
            asked.append(api.open[0][0])
        api.answer()
    assert asked == ["update", "get", "update"]
