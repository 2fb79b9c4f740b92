"""The kubelet's Lease renewals (actors/kubelet/nodeagent.py NodeAgent): through the Lease writer,
stamped when they are sent, a missing Lease created by the next renewal; Ready put back when the
node lifecycle controller took it away."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest

from actors.api.meta import parse_time
from actors.api.objects import Object
from actors.kubelet.config import KubeletConfig
from actors.kubelet.nodeagent import NodeAgent, Writers
from actors.kubelet.podworkers import PodWorkers
from actors.kubelet.statuswriter import StatusWriter
from actors.kubelet.timers import Timers
from bindings.runtimes.sim import SimRuntime
from bus.errors import Conflict, NotFound
from tests.unit.held import HeldRequests


class Apiserver(HeldRequests):
    """Lease requests held open until answered; what was sent, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[Object] = []
        self.conflicts = 0

    def submit(self, verb: str, resource: str, *, body: Object, **_: Any) -> Future[Any]:
        return self.hold((verb, body))

    def write_options(self) -> dict[str, Any]:
        return {"fieldValidation": "Strict"}

    def update(self, resource: str, obj: Object, **_: Any) -> Object:
        self.updates.append(obj)
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict(f'nodes "{obj["metadata"]["name"]}" was modified')
        return obj


@pytest.fixture
def agent() -> Iterator[tuple[NodeAgent, Apiserver]]:
    api, timers = Apiserver(), Timers()
    writers = Writers(StatusWriter(1), StatusWriter(1))
    workers = PodWorkers(1)
    node = NodeAgent(api, SimRuntime("node-1", timers),  # type: ignore[arg-type]
                     config=KubeletConfig("node-1"), workers=workers, timers=timers,
                     writers=writers, publish=lambda subject, envelope: None, subjects=None)
    yield node, api
    writers.leases.stop()
    workers.stop()
    timers.stop()


def test_a_renewal_that_waited_in_line_carries_the_time_it_was_sent(agent):
    node, api = agent
    node.renew_lease(None)  # in flight
    node.renew_lease(None)  # waits for it
    asked = datetime.now(UTC)
    api.answer()
    api.wait_sent(2)
    verb, lease = api.sent[1]
    assert verb == "update"
    assert parse_time(lease["spec"]["renewTime"]) >= asked


def test_a_lease_found_missing_is_created_by_the_next_renewal(agent):
    node, api = agent
    node.renew_lease(None)
    api.answer(NotFound('leases.coordination.k8s.io "node-1" not found'))
    node.renew_lease(None)
    api.wait_sent(2)
    assert [verb for verb, _ in api.sent] == ["update", "create"]
    assert api.sent[1][1]["metadata"] == {"name": "node-1", "namespace": "kube-node-lease"}


def test_ready_taken_away_is_put_back_and_tried_again_after_a_conflict(agent):
    node, api = agent
    unknown: Object = {"metadata": {"name": "node-1", "resourceVersion": "7"}, "status": {
        "conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]}}
    api.conflicts = 1
    node.renew_lease(unknown)  # the controller changed the node again meanwhile
    node.renew_lease(unknown)  # at once, not a node_status_seconds later
    assert len(api.updates) == 2
    (ready,) = api.updates[-1]["status"]["conditions"]
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    assert unknown["status"]["conditions"][0]["status"] == "Unknown"  # the cache is untouched
    node.renew_lease(unknown)
    assert len(api.updates) == 2  # done: looked at again after node_status_seconds
