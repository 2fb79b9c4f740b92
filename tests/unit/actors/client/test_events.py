"""EventRecorder: writes off the caller's path, and drops past its queue (client-go's
broadcaster) instead of piling up. A plain fake client stands in for the apiserver."""

from __future__ import annotations

import threading

from actors.api.objects import Object
from actors.client.events import EventRecorder


class SlowClient:
    """Creates Events; each create waits until ``go`` is set."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.created: list[Object] = []
        self.first_started = threading.Event()

    def create(self, resource: str, obj: Object, namespace: str | None,
               trace_id: str | None = None) -> Object:
        self.first_started.set()
        assert self.go.wait(30)
        self.created.append(obj)
        return {**obj, "metadata": {**obj["metadata"], "name": f"e{len(self.created)}"}}


def pod(name: str) -> Object:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}}


def test_recorder_drops_events_past_its_queue_and_writes_the_rest() -> None:
    client = SlowClient()
    recorder = EventRecorder(client, "default-scheduler", max_queued=2)  # type: ignore[arg-type]
    recorder.record(pod("a"), "Normal", "Scheduled", "a")
    assert client.first_started.wait(30)  # being written: still counts as queued
    for name in ("b", "c", "d"):
        recorder.record(pod(name), "Normal", "Scheduled", name)
    client.go.set()
    recorder._writer.shutdown(wait=True)
    assert [event["message"] for event in client.created] == ["a", "b"]
    assert recorder.dropped == 2
    assert client.created[0]["source"] == {"component": "default-scheduler"}
    assert client.created[0]["involvedObject"] == {  # what kubectl events --for selects by
        "apiVersion": "v1", "kind": "Pod", "name": "a", "namespace": "default", "uid": "uid-a"}
