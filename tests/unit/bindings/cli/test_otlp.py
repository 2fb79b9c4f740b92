"""How ``trace --otlp-endpoint`` turns hops into spans: a request lasts until its reply, and
every span but a trace's root has a parent, named by its envelope or inferred."""

from __future__ import annotations

from bindings.cli.otlp import Spans
from bindings.cli.tracing import Hop

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def line(time: float, sender: str, target: str, verb: str, span: str, *,
         parent: str | None = None, reply: bool = False, code: int | None = None) -> Hop:
    return Hop(time, sender, target=target, verb=verb, what="pods/web", code=code,
               reply=reply, trace_id=TRACE, span_id=span, parent_id=parent)


def test_a_request_ends_with_its_reply_and_takes_its_code():
    spans = Spans()
    assert spans.add(line(1.0, "cli", "apiserver", "create", "a1"), {}) == []
    [request] = spans.add(line(1.5, "apiserver", "cli", "create", "b2", parent="a1",
                               reply=True, code=409), {})
    assert (request.start, request.end, request.code) == (1.0, 1.5, 409)
    assert request.trace_id == int(TRACE, 16) and request.parent_id is None  # the root
    assert request.client and request.service == "cli" and request.name == "create pods"


def test_parents_are_the_named_span_else_what_the_sender_last_received_else_the_root():
    spans = Spans()
    spans.add(line(1.0, "cli", "apiserver", "create", "a1"), {})
    [commit] = spans.add(line(1.1, "apiserver", "store", "commit", "c3", parent="a1"), {})
    [event] = spans.add(line(1.2, "apiserver", "scheduler", "ADDED", "d4", parent="c3"), {})
    spans.add(line(1.3, "scheduler", "apiserver", "create", "e5"), {})  # the binding
    [stray] = spans.add(line(1.4, "kubelet-node-9", "runtime", "start", "f6",
                             parent="ffff"), {})  # names a span never seen
    [_, binding] = spans.rest()  # the create and the binding: no reply came
    assert commit.parent_id == 0xa1 and commit.service == "store" and not commit.client
    assert event.parent_id == 0xc3
    assert binding.parent_id == 0xd4  # the event the scheduler received
    assert stray.parent_id == 0xa1  # the trace's root
    assert (binding.start, binding.end) == (1.3, 1.3)  # no reply: ends as it began


def test_a_message_of_no_trace_is_no_span():
    untraced = Hop(1.0, "cli", target="apiserver", verb="get", what="pods", span_id="a1")
    assert Spans().add(untraced, {}) == []


def test_the_root_takes_the_parent_its_envelope_names_the_callers_span_of_a_traceparent():
    spans = Spans()
    [commit] = spans.add(line(1.0, "apiserver", "store", "commit", "c3", parent="b7ad"), {})
    [event] = spans.add(line(1.1, "apiserver", "scheduler", "ADDED", "d4", parent="ffff"), {})
    assert commit.parent_id == 0xb7ad  # the caller's span, outside the bus
    assert event.parent_id == 0xc3  # past the root, an unseen parent is inferred as before
