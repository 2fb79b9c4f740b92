"""The scheduler's bindings sent together (actors/scheduler/batching.py, the shape in
actors/api/bindingbatches.py): held until the turn is over or the batch is full, one message
for several, each binding told its own answer; an apiserver that takes no batch makes every
later binding go alone; a batch counts as its items for flow control."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from actors.api import bindingbatches
from actors.scheduler.batching import BindingBatch
from bus.envelope import Envelope
from bus.errors import BadRequest, Conflict, MethodNotAllowed, ServiceUnavailable
from tests.conftest import pod


class FakeClient:
    """Records what is sent; each send's answer is resolved by the test."""

    def __init__(self) -> None:
        self.batches: list[tuple[Any, concurrent.futures.Future[Any]]] = []
        self.singles: list[tuple[str, str, concurrent.futures.Future[Any]]] = []

    def submit(self, verb: str, resource: str, *, subresource: str, body: Any,
               resend_throttled: bool) -> concurrent.futures.Future[Any]:
        assert (verb, resource, subresource, resend_throttled) == (
            "create", "pods", "binding", True)
        self.batches.append((body, concurrent.futures.Future()))
        return self.batches[-1][1]

    def bind_soon(self, obj: Any, node: str, trace_id: str | None = None
                  ) -> concurrent.futures.Future[Any]:
        self.singles.append((obj["metadata"]["name"], node, concurrent.futures.Future()))
        return self.singles[-1][2]


def placed(name: str) -> Any:
    obj = pod(name)
    obj["metadata"]["namespace"] = "default"
    return obj


def outcome(answer: concurrent.futures.Future[Any]) -> Any:
    error = answer.exception(timeout=0)
    return type(error).__name__ if error is not None else answer.result(timeout=0)["code"]


SUCCESS = {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}


def test_the_bindings_held_go_as_one_batch_and_each_is_told_its_own_answer():
    client = FakeClient()
    batch = BindingBatch(client)  # type: ignore[arg-type]
    answers = [batch.add(placed(name), "n1", f"tr-{name}") for name in ("a", "b", "c")]
    assert client.batches == [] and client.singles == []  # held for the turn
    batch.send()
    body, sent = client.batches[0]
    assert [(item["metadata"]["name"], item["target"]["name"]) for item in body["items"]] == [
        ("a", "n1"), ("b", "n1"), ("c", "n1")]
    assert body["traceIds"] == ["tr-a", "tr-b", "tr-c"] and body["kind"] == "BindingList"
    sent.set_result(bindingbatches.answer([SUCCESS, Conflict("taken").to_status(), SUCCESS]))
    assert [outcome(answer) for answer in answers] == [201, "Conflict", 201]
    batch.send()
    assert len(client.batches) == 1  # nothing held, nothing sent


def test_one_binding_held_goes_alone_and_a_full_batch_goes_at_once():
    client = FakeClient()
    batch = BindingBatch(client, most=2)  # type: ignore[arg-type]
    alone = batch.add(placed("a"), "n1", None)
    batch.send()
    assert [name for name, _, _ in client.singles] == ["a"] and client.batches == []
    client.singles[0][2].set_result(SUCCESS)
    assert outcome(alone) == 201
    batch.add(placed("b"), "n1", None)
    batch.add(placed("c"), "n2", None)
    assert len(client.batches) == 1  # full: sent without waiting for the turn's end


@pytest.mark.parametrize("refusal, alone_after", [
    (MethodNotAllowed("no batches"), True), (BadRequest("a binding names its pod"), True),
    (ServiceUnavailable("the apiserver cannot be reached"), False)])
def test_a_batch_refused_whole_fails_its_bindings_and_no_batches_are_sent_to_who_takes_none(
        refusal, alone_after):
    client = FakeClient()
    batch = BindingBatch(client)  # type: ignore[arg-type]
    answers = [batch.add(placed(name), "n1", None) for name in ("a", "b")]
    batch.send()
    client.batches[0][1].set_exception(refusal)
    assert [outcome(answer) for answer in answers] == [type(refusal).__name__] * 2
    batch.add(placed("a"), "n1", None)
    assert bool(client.singles) is alone_after and batch.batching is not alone_after


def test_an_answer_not_one_status_per_binding_fails_them_all():
    client = FakeClient()
    batch = BindingBatch(client)  # type: ignore[arg-type]
    answers = [batch.add(placed(name), "n1", None) for name in ("a", "b")]
    batch.send()
    client.batches[0][1].set_result(bindingbatches.answer([SUCCESS]))
    assert [outcome(answer) for answer in answers] == ["BadRequest"] * 2


def test_a_batch_counts_as_its_items_for_flow_control_and_a_single_binding_as_one():
    body = bindingbatches.batch_body([{"kind": "Binding"}] * 5, [None] * 5)
    assert bindingbatches.width(Envelope(subresource="binding", body=body)) == 5
    assert bindingbatches.width(Envelope(subresource="binding", namespace="default",
                                         name="a", body=body)) == 1
    huge = bindingbatches.batch_body([{}] * 1000, [None] * 1000)
    assert bindingbatches.width(Envelope(subresource="binding", body=huge)) == \
        bindingbatches.MAX_ITEMS + 1
    assert bindingbatches.width(Envelope(subresource="binding", body={"items": []})) == 1


class UnsendingClient(FakeClient):
    """A client whose requests cannot be sent: each raises at once (a certificate session's
    handshake left unanswered, the bus closed)."""

    def submit(self, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        raise ServiceUnavailable("the apiserver cannot be reached")

    def bind_soon(self, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        raise ServiceUnavailable("the apiserver cannot be reached")


@pytest.mark.parametrize("held", [1, 3])
def test_bindings_that_cannot_be_sent_are_each_told_so(held):
    batch = BindingBatch(UnsendingClient())  # type: ignore[arg-type]
    answers = [batch.add(placed(f"p{index}"), "n1", None) for index in range(held)]
    batch.send()
    assert [outcome(answer) for answer in answers] == ["ServiceUnavailable"] * held


def test_a_pod_held_again_goes_in_the_next_batch_not_twice_in_one():
    """A pod deleted and made again under its name while its binding is held is scheduled
    again: an apiserver refuses a batch naming a pod twice whole (400)."""
    client = FakeClient()
    batch = BindingBatch(client)  # type: ignore[arg-type]
    batch.add(placed("a"), "n1", None)
    batch.add(placed("b"), "n1", None)
    batch.add(placed("a"), "n2", None)
    batch.send()
    for body, _ in client.batches:
        bindingbatches.items(body)  # a batch the apiserver takes
    assert [name for name, _, _ in client.singles] == ["a"] and len(client.batches) == 1
