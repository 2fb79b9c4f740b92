"""The scheduler's pod status writes (``actors.scheduler.status.update_status``, shared by the
PodScheduled=False write of ``actors.scheduler.scheduler`` and by preemption): a 409 reads the pod
again and applies the change to the new version, as kube-scheduler's status update retries; for the
PodScheduled condition (``actors.scheduler.scheduler.while_waiting``) a pod that no longer waits for
a node is left alone."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.objects import Object
from actors.scheduler.scheduler import while_waiting
from actors.scheduler.status import STATUS_ATTEMPTS, update_status
from bus.errors import Conflict, NotFound


def version(rv: str, **spec: Any) -> Object:
    return {"metadata": {"name": "p", "namespace": "default", "resourceVersion": rv},
            "spec": spec, "status": {}}


def mark(pod: Object) -> Object:
    return dict(pod, status={"conditions": [{"type": "PodScheduled", "status": "False"}]})


class Api:
    """The pod as the apiserver holds it; an update over another version is a 409."""

    def __init__(self, stored: Object | None) -> None:
        self.stored, self.written, self.reads = stored, [], 0

    def read(self) -> Object:
        self.reads += 1
        if self.stored is None:
            raise NotFound("pods \"p\" not found")
        return self.stored

    def write(self, body: Object) -> None:
        if (self.stored is None or body["metadata"]["resourceVersion"]
                != self.stored["metadata"]["resourceVersion"]):
            raise Conflict("the object has been modified")
        self.written.append(body)


def test_a_conflict_reads_the_pod_again_and_writes_the_condition_over_the_new_version():
    api = Api(version("2", schedulerName="default-scheduler"))
    assert update_status(api.read, while_waiting(mark, lambda: True), api.write, seen=version("1"))
    assert [body["metadata"]["resourceVersion"] for body in api.written] == ["2"]
    assert api.written[0]["spec"] == {"schedulerName": "default-scheduler"}  # the new version's
    assert api.written[0]["status"]["conditions"][0]["status"] == "False"


def test_no_conflict_writes_once_without_reading():
    api = Api(version("1"))
    assert update_status(api.read, while_waiting(mark, lambda: True), api.write, seen=version("1"))
    assert (len(api.written), api.reads) == (1, 0)


@pytest.mark.parametrize("meanwhile", [
    version("2", nodeName="n1"),  # bound: the binding set PodScheduled=True
    dict(version("2"), metadata={**version("2")["metadata"], "deletionTimestamp": "now"}),
])
def test_a_pod_that_no_longer_waits_for_a_node_is_left_alone(meanwhile):
    api = Api(meanwhile)
    assert not update_status(api.read, while_waiting(mark, lambda: True), api.write,
                             seen=version("1"))
    assert api.written == []


def test_a_newer_failure_of_the_pod_ends_the_retry():
    api = Api(version("2"))
    assert not update_status(api.read, while_waiting(mark, lambda: False), api.write,
                             seen=version("1"))
    assert api.written == []


def test_a_pod_gone_meanwhile_is_not_found():
    api = Api(None)
    with pytest.raises(NotFound):
        update_status(api.read, while_waiting(mark, lambda: True), api.write, seen=version("1"))
    assert api.written == []


def test_a_pod_changing_at_every_write_is_given_up_after_the_attempts():
    api = Api(version("2"))
    tried = []

    def read() -> Object:  # someone else writes it between each read and write
        api.stored = version(str(int(api.stored["metadata"]["resourceVersion"]) + 1))
        return version(str(int(api.stored["metadata"]["resourceVersion"]) - 1))

    def write(body: Object) -> None:
        tried.append(body)
        api.write(body)

    with pytest.raises(Conflict):
        update_status(read, while_waiting(mark, lambda: True), write, seen=version("1"))
    assert api.written == [] and len(tried) == STATUS_ATTEMPTS


def test_without_a_version_at_hand_the_pod_is_read_first():
    api = Api(version("3"))
    assert update_status(api.read, mark, api.write)
    assert (api.reads, [body["metadata"]["resourceVersion"] for body in api.written]) == (
        1, ["3"])


def test_a_change_with_nothing_to_write_writes_nothing():
    api = Api(version("1"))
    assert not update_status(api.read, lambda pod: None, api.write)
    assert api.written == []
