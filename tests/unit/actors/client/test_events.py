"""EventRecorder: writes off the caller's path, and drops past its queue (client-go's
broadcaster) instead of piling up. A plain fake client stands in for the apiserver."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from actors.api.objects import Object
from actors.client.events import COMBINED, EventRecorder, Similar, SpamFilter
from tests.support import until


class SlowClient:
    """Creates Events (``submit``, as the recorder sends them); each answer waits until
    ``go`` is set."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.sent: list[Object] = []
        self.created: list[Object] = []
        self.answering: list[threading.Thread] = []

    def submit(self, verb: str, resource: str, *, namespace: str | None, body: Object,
               trace_id: str | None = None, resend_throttled: bool = False) -> Future[Object]:
        assert (verb, resource) == ("create", "events")
        self.sent.append(body)
        self.peak = max(getattr(self, "peak", 0), len(self.sent) - len(self.created))
        answer: Future[Object] = Future()
        thread = threading.Thread(target=self._answer, args=(body, answer))
        self.answering.append(thread)
        thread.start()
        return answer

    def _answer(self, body: Object, answer: Future[Object]) -> None:
        assert self.go.wait(30)
        self.created.append(body)
        answer.set_result({**body, "metadata": {**body["metadata"],
                                                "name": f"e{len(self.created)}"}})

    def finish(self, recorder: EventRecorder) -> None:
        """Answers every create and waits until the recorder heard each."""
        self.go.set()
        recorder._writer.shutdown(wait=True)
        for thread in self.answering:
            thread.join(30)


def pod(name: str) -> Object:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}}


def test_recorder_drops_events_past_its_queue_and_writes_the_rest() -> None:
    client = SlowClient()
    recorder = EventRecorder(client, "default-scheduler", max_queued=2)  # type: ignore[arg-type]
    for name in ("a", "b", "c", "d"):  # a and b sent, not answered: both still count
        recorder.record(pod(name), "Normal", "Scheduled", name)
    client.finish(recorder)
    assert sorted(event["message"] for event in client.created) == ["a", "b"]
    assert recorder.dropped == 2
    first = next(event for event in client.created if event["message"] == "a")
    assert first["source"] == {"component": "default-scheduler"}
    assert first["involvedObject"] == {  # what kubectl events --for selects by
        "apiVersion": "v1", "kind": "Pod", "name": "a", "namespace": "default", "uid": "uid-a"}


def test_the_writer_sends_the_next_create_without_waiting_for_the_answer() -> None:
    client = SlowClient()
    recorder = EventRecorder(client, "default-scheduler")  # type: ignore[arg-type]
    for name in ("a", "b", "c"):
        recorder.record(pod(name), "Normal", "Scheduled", name)
    recorder._writer.submit(lambda: None).result(30)  # the writer is done with all three
    assert [event["message"] for event in client.sent] == ["a", "b", "c"]
    assert client.created == []  # none answered yet
    client.finish(recorder)
    assert recorder._queued == 0 and len(client.created) == 3


class Store:
    """Creates and updates Events at once, keeping the latest of each."""

    def __init__(self) -> None:
        self.events: dict[str, Object] = {}

    def submit(self, verb: str, resource: str, *, namespace: str | None, body: Object,
               trace_id: str | None = None, resend_throttled: bool = False) -> Future[Object]:
        made = {**body, "metadata": {**body["metadata"], "name": f"e{len(self.events)}"}}
        self.events[made["metadata"]["name"]] = made
        answer: Future[Object] = Future()
        answer.set_result(made)
        return answer

    def update(self, resource: str, obj: Object) -> Object:
        self.events[obj["metadata"]["name"]] = obj
        return obj


def recorded(*messages: tuple[str, str], clock: list[float]) -> list[Object]:
    """The Events a recorder leaves for pod ``web`` after ``(reason, message)`` each."""
    store = Store()
    recorder = EventRecorder(store, "kubelet", "node-1",  # type: ignore[arg-type]
                             clock=lambda: clock[0])
    for reason, message in messages:
        recorder.record(pod("web"), "Warning", reason, message)
    recorder._writer.shutdown(wait=True)
    return list(store.events.values())


def test_the_same_event_again_is_counted_on_one_event():
    [backoff] = recorded(*[("BackOff", "Back-off restarting failed container c")] * 3,
                         clock=[0.0])
    assert backoff["count"] == 3 and backoff["reason"] == "BackOff"


def test_ten_similar_messages_are_combined_into_one_event_as_client_go_does():
    messages = [("Unhealthy", f"Readiness probe failed: attempt {i}") for i in range(14)]
    events = recorded(*messages, clock=[0.0])
    assert len(events) == 10  # nine as they came, then one for the rest
    combined = events[-1]
    assert combined["message"] == f"{COMBINED}Readiness probe failed: attempt 13"
    assert combined["count"] == 5


def test_similar_messages_further_apart_than_the_window_are_not_combined():
    similar, clock = Similar(limit=3, window=10.0), 0.0
    for index in range(5):
        clock += 11.0
        assert similar.message("uid", "Warning", "Unhealthy", f"m{index}", clock) == f"m{index}"
    assert similar.message("uid", "Warning", "Unhealthy", "m5", clock + 1) == "m5"
    assert similar.message("uid", "Warning", "Unhealthy", "m6", clock + 2).startswith(COMBINED)


def test_an_objects_events_of_one_reason_pass_25_then_one_every_five_minutes():
    spam, now = SpamFilter(), 1000.0
    assert all(spam.allows("uid", "Normal", "SuccessfulCreate", now) for _ in range(25))
    assert not spam.allows("uid", "Normal", "SuccessfulCreate", now)
    assert spam.allows("uid", "Normal", "Scheduled", now)  # another reason: its own bucket
    assert spam.allows("other", "Normal", "SuccessfulCreate", now)  # another object
    assert not spam.allows("uid", "Normal", "SuccessfulCreate", now + 299.0)
    assert spam.allows("uid", "Normal", "SuccessfulCreate", now + 300.5)
    assert not spam.allows("uid", "Normal", "SuccessfulCreate", now + 301.0)


def test_a_replicaset_creating_many_pods_writes_25_event_writes_not_one_per_pod():
    store = Store()
    recorder = EventRecorder(store, "replicaset-controller")  # type: ignore[arg-type]
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": "web", "namespace": "default", "uid": "uid-web"}}
    for index in range(200):
        recorder.record(owner, "Normal", "SuccessfulCreate", f"Created pod: web-{index}")
    recorder._writer.shutdown(wait=True)
    *first, combined = store.events.values()  # nine as they came, then one combined
    assert len(first) == 9 and combined["message"].startswith(COMBINED)
    assert sum(event["count"] for event in store.events.values()) == 25  # 25 writes of 200
    assert first[0]["involvedObject"] == {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "namespace": "default",
        "uid": "uid-web"}


class LateAnswer(Future[Object]):
    """A create's answer that comes only once someone waits for it."""

    def __init__(self, made: Object) -> None:
        super().__init__()
        self.made, self.waited = made, False

    def result(self, timeout: float | None = None) -> Object:
        if not self.done():
            self.waited = True
            self.set_result(self.made)
        return super().result(timeout)


class LateStore(Store):
    def submit(self, verb: str, resource: str, *, namespace: str | None, body: Object,
               trace_id: str | None = None, resend_throttled: bool = False) -> Future[Object]:
        self.answer = LateAnswer(super().submit(verb, resource, namespace=namespace, body=body,
                                                trace_id=trace_id).result())
        return self.answer


def test_the_same_event_before_its_create_was_answered_is_counted_on_it() -> None:
    store = LateStore()
    recorder = EventRecorder(store, "kubelet", "node-1")  # type: ignore[arg-type]
    for _ in range(2):
        recorder.record(pod("web"), "Warning", "BackOff", "Back-off restarting c")
    recorder._writer.shutdown(wait=True)
    [backoff] = store.events.values()
    assert backoff["count"] == 2 and store.answer.waited


def test_at_most_in_flight_creates_go_unanswered() -> None:
    client = SlowClient()
    recorder = EventRecorder(client, "default-scheduler", in_flight=2)  # type: ignore[arg-type]
    for name in ("a", "b", "c", "d"):
        recorder.record(pod(name), "Normal", "Scheduled", name)
    until(lambda: len(client.sent) == 2)
    assert not recorder._in_flight.acquire(blocking=False)  # c waits for an answer
    client.finish(recorder)
    assert sorted(event["message"] for event in client.created) == ["a", "b", "c", "d"]
    assert client.peak == 2
