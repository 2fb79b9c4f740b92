"""The trace as OpenTelemetry spans: ``kubeactor trace --otlp-endpoint URL`` exports what it
sees over OTLP/HTTP (protobuf), for Jaeger, Tempo or any collector.

A :class:`Spans` turns hops into :class:`Span` s, as the bus already draws them: a request
is a span from when it was sent to when its reply came (the reply's code its status), a store
commit, a container start or a watch event a span of its own. Ids are the envelope's: the
trace id (32 hex digits, W3C's 128 bits; an older 16-digit one reads as its left-padded
value), the span id (16 hex digits). A span's parent is the one its envelope names
(``parent``: a reply's request, a commit's request) when it was seen, or is the root's
(the caller's span of a ``traceparent`` on the HTTPS port); otherwise it is
inferred as the last message of the same trace that its sender received (the watch event
that made the scheduler bind, the binding that made the apiserver tell the kubelet), and
failing that the trace's first span, its root. One ``kubeactor run`` is thus one trace over
cli, apiserver, store, scheduler and kubelet, every span but the root with a parent.

:class:`Exporter` hands finished spans to the OpenTelemetry SDK's batch processor and OTLP
exporter, which ``pip install kubeactor[otel]`` brings (imported only when asked for).

Neighbours: ``bindings.cli.tracing`` (the hops, and the command that feeds them here).

Which thread: ``Spans`` and ``Exporter.add`` run on the trace command's thread; the SDK's batch
processor sends from a thread of its own.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bus.errors import UsageError

if TYPE_CHECKING:
    from bindings.cli.tracing import Hop

TRACES_KEPT = 10_000
"""Traces whose last messages are remembered for inferring parents (oldest forgotten first)."""
SPAN_EVENTS = ("commit", "start", "remove")
"""Verbs of the bus's own spans (``P.trace.*``): in-process steps, not calls."""


@dataclass(slots=True)
class Span:
    """One span as OTLP carries it."""

    trace_id: int
    span_id: int
    name: str
    """``create pods/binding``, ``commit pods/status``: verb and resource, never a name."""
    service: str
    """Who did the work: the sender; the store for a commit."""
    start: float
    """Seconds since the epoch, as the tracer saw the message."""
    end: float
    parent_id: int | None = None
    client: bool = False
    """A request (a call to the apiserver), not an in-process step or an event."""
    code: int | None = None
    attributes: dict[str, str | int] = field(default_factory=dict)


def _id(text: str | None) -> int | None:
    try:
        return int(text, 16) or None if text else None
    except ValueError:
        return None


def _name(line: Hop) -> str:
    what = line.what.split(" ")[0].split("/")  # resource, name, subresource (no "(rev 4)")
    return f"{line.verb} {'/'.join([what[0], *what[2:]])}"


def _span(line: Hop, message: dict[str, Any], trace_id: int, span_id: int) -> Span:
    attributes: dict[str, str | int] = {"kubeactor.from": line.sender,
                                        "kubeactor.to": line.target,
                                        "kubeactor.object": line.what}
    if isinstance(message.get("ns"), str):
        attributes["k8s.namespace.name"] = message["ns"]
    return Span(trace_id, span_id, _name(line),
                "store" if line.verb == "commit" else line.sender, line.time, line.time,
                client=line.verb not in SPAN_EVENTS and line.target == "apiserver",
                code=line.code, attributes=attributes)


class Spans:
    """Hops in, finished spans out: a request waits for its reply; the rest is done at once."""

    def __init__(self) -> None:
        self._waiting: dict[int, Span] = {}
        self._seen: OrderedDict[int, _Trace] = OrderedDict()

    def add(self, line: Hop, message: dict[str, Any]) -> list[Span]:
        """The spans ``line`` (and its envelope, ``message``) finishes."""
        trace_id = _id(line.trace_id)
        if trace_id is None:
            return []
        if line.reply:
            return self._answered(line)
        span_id = _id(line.span_id) or _id(message.get("id"))
        if span_id is None:
            return []
        span = _span(line, message, trace_id, span_id)
        span.parent_id = self._trace(trace_id).parent(line, span_id)
        if span.client:
            self._waiting[span_id] = span
            return []
        return [span]

    def rest(self) -> list[Span]:
        """The requests no reply finished (they end when they began)."""
        waiting, self._waiting = list(self._waiting.values()), {}
        return waiting

    def _answered(self, reply: Hop) -> list[Span]:
        span = self._waiting.pop(_id(reply.parent_id) or 0, None)
        if span is None:
            return []
        span.end, span.code = reply.time, reply.code
        return [span]

    def _trace(self, trace_id: int) -> _Trace:
        trace = self._seen.pop(trace_id, None) or _Trace()
        self._seen[trace_id] = trace
        while len(self._seen) > TRACES_KEPT:
            self._seen.popitem(last=False)
        return trace


@dataclass(slots=True)
class _Trace:
    """What one trace's parents are inferred from."""

    root: int | None = None
    spans: set[int] = field(default_factory=set)
    received: dict[str, int] = field(default_factory=dict)
    """Participant -> the span of the last message it received."""

    def parent(self, line: Hop, span_id: int) -> int | None:
        """``line``'s parent (for the root: the span its envelope names, which a
        ``traceparent`` on the HTTPS port sets to the caller's own, else None), and remember
        ``line``."""
        named = _id(line.parent_id)
        seen = named in self.spans or self.root is None
        parent = named if seen else self.received.get(line.sender, self.root)
        self.root = self.root or span_id
        self.spans.add(span_id)
        self.received[line.target] = span_id
        return parent


class Exporter:
    """Spans to an OTLP/HTTP endpoint through the OpenTelemetry SDK (``kubeactor[otel]``)."""

    def __init__(self, endpoint: str) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            raise UsageError("--otlp-endpoint needs OpenTelemetry: "
                             "pip install 'kubeactor[otel]'") from None
        url = endpoint.rstrip("/")
        url = url if url.endswith("/v1/traces") else f"{url}/v1/traces"
        self._processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=url))
        self._resources: dict[str, Any] = {}
        self._spans = Spans()

    def add(self, line: Hop, message: dict[str, Any]) -> None:
        """Export what ``line`` finishes (batched: the SDK sends every few seconds)."""
        self._send(self._spans.add(line, message))

    def close(self) -> None:
        """Send what is left and stop (blocks until sent or the SDK's timeout)."""
        self._send(self._spans.rest())
        self._processor.shutdown()

    def _send(self, spans: list[Span]) -> None:
        for span in spans:
            self._processor.on_end(self._readable(span))

    def _readable(self, span: Span) -> Any:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        def context(span_id: int) -> SpanContext:
            return SpanContext(span.trace_id, span_id, is_remote=False,
                               trace_flags=TraceFlags(TraceFlags.SAMPLED))

        resource = self._resources.setdefault(span.service, Resource.create(
            {"service.name": span.service, "service.namespace": "kubeactor"}))
        status = Status(StatusCode.UNSET) if span.code is None or span.code < 400 else Status(
            StatusCode.ERROR, f"code {span.code}")
        attributes = span.attributes | ({} if span.code is None else {"kubeactor.code": span.code})
        return ReadableSpan(
            name=span.name, context=context(span.span_id),
            parent=context(span.parent_id) if span.parent_id else None, resource=resource,
            attributes=attributes, kind=SpanKind.CLIENT if span.client else SpanKind.INTERNAL,
            status=status, start_time=int(span.start * 1e9), end_time=int(span.end * 1e9))
