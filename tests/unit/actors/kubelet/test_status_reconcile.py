"""The kubelet writes a pod's status again when the API's differs from the one it last reported
(Kubernetes' status manager's ``needsReconcile``/``syncBatch``): the decision
(actors/kubelet/podstatus.py) and the agent's use of it (actors/kubelet/nodeagent.py), without a
write loop (a write in flight, the late echo of an older write, another writer that keeps
changing it)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest

from actors.api.objects import Object
from actors.client.client import WatchEvent
from actors.kubelet.config import KubeletConfig
from actors.kubelet.nodeagent import NodeAgent, Writers
from actors.kubelet.podrecord import PodRecord
from actors.kubelet.podstatus import merged, needs_reconcile
from actors.kubelet.statuswriter import StatusWriter
from actors.kubelet.timers import Timers
from bindings.runtimes.sim import SimRuntime


def cond(kind: str, status: str = "True", since: str = "2026-12-07T10:00:00Z") -> Object:
    return {"type": kind, "status": status, "lastTransitionTime": since}


def running(**changes: Any) -> Object:
    """A status as the kubelet reports a running pod."""
    return {"phase": "Running", "hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}],
            "startTime": "2026-12-07T10:00:00Z", "podIP": "10.244.0.5",
            "podIPs": [{"ip": "10.244.0.5"}],
            "conditions": [cond("PodScheduled"), cond("Initialized"), cond("ContainersReady"),
                           cond("Ready")],
            "containerStatuses": [{"name": "main", "ready": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": "2026-12-07T10:00:01Z"}}}],
            **changes}


def without_ready(status: Object) -> Object:
    return {**status, "conditions": [c for c in status["conditions"] if c["type"] != "Ready"]}


# -- the decision ---------------------------------------------------------------------------


def test_the_same_status_in_another_form_needs_no_write():
    stored = running(conditions=[cond("Ready", since="2026-12-07T11:00:00Z"),
                                 cond("ContainersReady"), cond("Initialized"),
                                 cond("PodScheduled"), cond("DisruptionTarget", "False")],
                     qosClass="BestEffort", nominatedNodeName="node-2")
    assert not needs_reconcile(stored, running())


@pytest.mark.parametrize("stored", [
    without_ready(running()),
    running(conditions=[cond("PodScheduled"), cond("Initialized"), cond("ContainersReady"),
                        cond("Ready", "False")]),
    {k: v for k, v in running().items() if k not in ("podIP", "podIPs")},
    running(phase="Pending"),
    {},
], ids=["ready-dropped", "ready-false", "no-pod-ip", "pending", "empty"])
def test_a_status_another_writer_changed_needs_a_write(stored: Object):
    assert needs_reconcile(stored, running())


def test_a_write_keeps_the_conditions_of_other_writers_and_replaces_the_kubelets():
    stored = running(conditions=[cond("Ready", "False"), cond("DisruptionTarget"),
                                 cond("example.com/gate")])
    written = merged(stored, running())
    assert [(c["type"], c["status"]) for c in written["conditions"]] == [
        ("DisruptionTarget", "True"), ("example.com/gate", "True"), ("PodScheduled", "True"),
        ("Initialized", "True"), ("ContainersReady", "True"), ("Ready", "True")]
    assert merged(running(), running()) == running()


# -- the agent ------------------------------------------------------------------------------


class Apiserver:
    """Status writes held open until answered with the resourceVersion they stored."""

    def __init__(self) -> None:
        self.sent: list[Object] = []
        self.open: list[Future[Any]] = []

    def submit(self, verb: str, resource: str, *, body: Object, **_: Any) -> Future[Any]:
        assert (verb, resource, _.get("subresource")) == ("update", "pods", "status")
        self.sent.append(body["status"])
        self.open.append(Future())
        return self.open[-1]

    def write_options(self) -> dict[str, Any]:
        return {}

    def answer(self, version: int) -> None:
        self.open.pop(0).set_result({"metadata": {"resourceVersion": str(version)}})


@pytest.fixture
def api() -> Apiserver:
    return Apiserver()


@pytest.fixture
def node(api: Apiserver) -> Iterator[NodeAgent]:
    timers = Timers()
    writers = Writers(StatusWriter(4), StatusWriter(1))
    workers: Any = SimpleNamespace(submit=lambda uid, work: work())  # at once, in line
    agent = NodeAgent(api, SimRuntime("node-1", timers),  # type: ignore[arg-type]
                      config=KubeletConfig("node-1", record_events=False), workers=workers,
                      timers=timers, writers=writers, publish=lambda *_: None, subjects=None)
    agent.pods["uid-1"] = PodRecord(pod(running(), 5), reported=running(), written=5)
    yield agent
    agent.stop()
    writers.pods.stop()
    timers.stop()


def pod(status: Object, version: int) -> Object:
    return {"metadata": {"name": "p", "namespace": "default", "uid": "uid-1",
                         "resourceVersion": str(version)},
            "spec": {"nodeName": "node-1", "containers": [{"name": "main"}]},
            "status": status}


def modified(node: NodeAgent, status: Object, version: int) -> None:
    node.on_pod_event(WatchEvent("MODIFIED", pod(status, version)))


def test_a_status_another_writer_changed_is_written_back_once(node, api):
    changed = without_ready(running(conditions=[*running()["conditions"],
                                                cond("DisruptionTarget")]))
    modified(node, changed, 6)
    assert [[c["type"] for c in sent["conditions"]] for sent in api.sent] == [
        ["DisruptionTarget", "PodScheduled", "Initialized", "ContainersReady", "Ready"]]
    api.answer(7)
    modified(node, merged(changed, running()), 7)  # its echo
    node.reconcile_statuses()
    assert len(api.sent) == 1


def test_no_write_again_while_one_is_in_flight_or_for_a_late_echo_of_an_older_one(node, api):
    record = node.pods["uid-1"]
    record.reported = running(phase="Pending")  # handed over at 5's reply; not answered yet
    node.podsync.write(record, running())
    modified(node, running(phase="Pending"), 6)  # an older write's echo, while one flies
    assert len(api.sent) == 1
    api.answer(8)
    modified(node, running(phase="Pending"), 6)  # ... or after the answer: older than 8
    node.reconcile_statuses()
    assert len(api.sent) == 1


def test_a_writer_that_keeps_changing_it_meets_one_write_a_period(node, api):
    for version in range(6, 16):
        modified(node, without_ready(running()), version)
        node.reconcile_statuses()
        if api.open:
            api.answer(version)
    assert len(api.sent) == 1
    node.pods["uid-1"].reconciled -= node.config.status_sync_seconds  # a period later
    node.reconcile_statuses()
    assert len(api.sent) == 2


def test_the_periodic_look_writes_what_an_event_could_not(node, api):
    record = node.pods["uid-1"]
    node.podsync.write(record, running())  # in flight: the event below is left
    modified(node, without_ready(running()), 6)
    api.answer(5)  # the write landed before the other writer's
    assert len(api.sent) == 1
    node.reconcile_statuses()
    assert len(api.sent) == 2 and api.sent[-1] == running()


def test_an_agent_that_stopped_hosting_its_node_writes_no_status_again(node, api):
    """Kubelet.lose: an event or a periodic look already on its way when the agent stopped
    (the kubelet took it from its agents just before) neither syncs a pod nor writes a
    status of the lost node."""
    node.stop()
    modified(node, without_ready(running()), 6)
    node.reconcile_statuses()
    synced: list[str] = []
    node.podsync.sync = lambda record: synced.append(record.uid)
    changed = pod(running(), 7)
    changed["spec"]["activeDeadlineSeconds"] = 60  # news for a sync
    node.on_pod_event(WatchEvent("MODIFIED", changed))
    assert api.sent == [] and synced == []
