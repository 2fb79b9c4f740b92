"""What the apiserver tells its observers of each request it answered: an :class:`Outcome`.

The pipeline (``server``) makes one Outcome per answered request (and per message refused on
the bus loop before a worker saw it) and hands it to its :class:`Observer`: the audit
(``auditing.Auditor``) and the request metrics (``instrumenting.RequestMetrics``), fanned out by
:class:`Observers`. An Outcome is plain data, built from the decoded request and the reply,
never from the envelope's ``auth``: no token, key or signature reaches an observer.

:class:`Telling` is the apiserver's side (mixed into ``ApiServer``): each answer told to the
observer, each message refused before a worker saw it told too, and the span of a request a
front handed to the pipeline in its process (``bus.inprocess``: it crossed no subject, so
``kubeactor trace`` sees it only so, :func:`handed_span`) published, but only while a tracer
listens (:class:`Tracers`: nats-py cannot ask the server whether a subject has subscribers, so
tracers say so themselves on ``<prefix>.tracers``, every :data:`TRACER_REPEAT` seconds; a
request handed over when none did costs no span).

Neighbours: ``server`` (makes them), ``auditing`` and ``instrumenting`` (hear them).

Which thread: an apiserver worker's (or the bus loop's, for :meth:`Observer.answered` of a
message refused there); observers must not block.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from actors.api.resources import ResourceInfo
from actors.api.users import UserInfo
from actors.apiserver.requests import Pending
from bus.connection import Connection
from bus.envelope import Envelope, new_id
from bus.errors import ApiError
from bus.subjects import Subjects

TRACER_REPEAT = 2.0
"""Seconds between a tracer's announcements on ``<prefix>.tracers``."""
TRACER_HEARD_FOR = 3 * TRACER_REPEAT
"""Seconds a tracer counts as listening after its last announcement: two may be lost."""


@dataclass(slots=True)
class Outcome:
    """One answered request: who asked what, and the answer. Observers read it, never change
    it (not frozen: a frozen dataclass is built a call per field, and one is built for every
    request)."""

    subject: str
    """The bus subject the request came on."""
    received: float
    """When it came (wall clock, seconds since the epoch)."""
    code: int
    """The reply's HTTP-style code."""
    authorized: bool
    user: UserInfo | None = None
    """Who sent it, once authenticated (the impersonator when impersonating); None: nobody."""
    impersonated: UserInfo | None = None
    """Whom the request acted as, when its sender impersonated."""
    via: UserInfo | None = None
    """The front (HTTPS listener) that forwarded its client's credentials."""
    source_ip: str | None = None
    """The client's address, when a front forwarded it; the bus does not say."""
    verb: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    decoded: bool = False
    """The request was understood (a known resource and verb, its sender authenticated)."""
    dry_run: bool = False
    trace_id: str = ""
    reason: str = ""
    message: str = ""
    request_object: Any = None
    response_object: Any = None
    finished: float = field(default_factory=time.time)
    """When it was answered (wall clock)."""

    @property
    def latency(self) -> float:
        """Seconds from received to answered."""
        return max(0.0, self.finished - self.received)


class Observer(Protocol):
    """Hears of requests as the apiserver takes and answers them; never blocks."""

    def received(self, subject: str) -> None:
        """A request on ``subject`` reached a worker (it will be answered: :meth:`answered`
        follows)."""
        ...

    def answered(self, outcome: Outcome, counted: bool) -> None:
        """A request was answered; ``counted``: :meth:`received` was told of it first."""
        ...

    def watched(self, info: ResourceInfo) -> None:
        """A watch event of ``info``'s objects was pushed to a watcher."""
        ...


class Observers:
    """Several observers as one, told in order."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def received(self, subject: str) -> None:
        for observer in self.observers:
            observer.received(subject)

    def answered(self, outcome: Outcome, counted: bool) -> None:
        for observer in self.observers:
            observer.answered(outcome, counted)

    def watched(self, info: ResourceInfo) -> None:
        for observer in self.observers:
            observer.watched(info)


def answered(pending: Pending, reply: Envelope, named: dict[str, str]) -> Outcome:
    """The outcome of ``pending`` answered by ``reply``; ``named``: what its subject says
    of it (verb, group, resource), read only for a request not understood."""
    status = reply.status or {}
    request = pending.request
    received = time.time() - (time.monotonic() - pending.started)
    code, reason = int(status.get("code", 200)), str(status.get("reason", ""))
    message = str(status.get("message", ""))
    # the request's trace: a binding of a batch is in its pod's, not the message's
    trace_id = (pending.incoming.envelope if request is None else request.envelope).trace_id or ""
    if request is None:
        return Outcome(pending.incoming.subject, received, code, pending.authorized,
                       pending.sender, reason=reason, message=message, trace_id=trace_id,
                       response_object=reply.body, **_named(named))
    forwarded = (request.envelope.auth or {}).get("forwarded")
    return Outcome(
        pending.incoming.subject, received, code, pending.authorized,
        user=request.impersonator or request.user,
        impersonated=request.user if request.impersonator else None, via=request.via,
        source_ip=str(forwarded.get("sourceIP", "")) if isinstance(forwarded, dict)
        and request.via is not None else None,
        verb=request.verb, group=request.info.group,
        version=request.options.version or request.info.version,
        resource=request.info.name, subresource=request.subresource or "",
        namespace=request.namespace or "", name=request.name or "", decoded=True,
        dry_run=request.options.dry_run, trace_id=trace_id, reason=reason, message=message,
        request_object=request.envelope.body, response_object=reply.body)


def refused(subject: str, code: int, named: dict[str, str]) -> Outcome:
    """The outcome of a message refused on the bus loop before a worker saw it."""
    return Outcome(subject=subject, received=time.time(), code=code, authorized=False,
                   **_named(named))


def _named(named: dict[str, str]) -> dict[str, Any]:
    """What a subject says of a request: its verb, group and resource (when it says)."""
    return {key: named.get(key, "") for key in ("verb", "group", "resource")}


def handed_span(request: Envelope, code: int, latency_ms: float, name: str | None) -> Envelope:
    """The hop of a request handed over in the process, as a span (published on
    ``<prefix>.trace.apiserver``): who sent what to the apiserver (``name``: the object's,
    a create's from its body), the answer's code and the latency, in the request's trace;
    nothing of its body, options or credentials."""
    return Envelope(trace_id=request.trace_id, parent_id=request.span_id, span_id=new_id(),
                    sender=request.sender, target="apiserver", verb=request.verb,
                    group=request.group, resource=request.resource,
                    subresource=request.subresource, namespace=request.namespace,
                    name=name or request.name, status={"code": code},
                    options={"latencyMs": round(latency_ms, 3)})


class Tracers:
    """Whether a tracer listens: one announced itself less than :data:`TRACER_HEARD_FOR`
    seconds ago. ``clock``: monotonic seconds. Any thread (one float, replaced whole)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = float("-inf")

    def heard(self, subject: str = "", data: bytes = b"") -> None:
        """A tracer announced itself (as a raw subscription hands it over: what it says is
        not read)."""
        self._until = self._clock() + TRACER_HEARD_FOR

    @property
    def listening(self) -> bool:
        return self._clock() < self._until


class Telling:
    """What ``ApiServer`` tells of its answers (mixed in: see the module docstring)."""

    observer: Observer | None
    subjects: Subjects
    tracers: Tracers
    connection: Connection
    _subscriptions: list[Any]

    if TYPE_CHECKING:
        def publish(self, subject: str, envelope: Envelope) -> None: ...

    def _hear_tracers(self) -> None:
        """Listen for tracers' announcements (on the bus loop: a float set); the
        subscription ends with the actor's others."""
        self._subscriptions.append(self.connection.subscribe_raw(self.subjects.tracers,
                                                                 self.tracers.heard))

    def _told(self, pending: Pending, reply: Envelope) -> Envelope:
        """Tell the observer of the answer to a request (and trace one handed over in the
        process), and return it."""
        if pending.incoming.answer is not None and self.tracers.listening:
            request = pending.request
            self.publish(self.subjects.trace("apiserver"), handed_span(
                pending.incoming.envelope if request is None else request.envelope,
                int((reply.status or {}).get("code", 200)),
                (time.monotonic() - pending.started) * 1000,
                request.name if request else None))
        if self.observer is not None:
            named = self._named_by(pending.incoming.subject) if pending.request is None else {}
            self.observer.answered(answered(pending, reply, named), counted=True)
        return reply

    def rejected(self, subject: str, error: ApiError) -> None:
        """Tell the observer of a message refused on the bus loop before a worker saw it (it
        did not decode, or the mailbox was full): nobody authenticated, denied, with its code."""
        if self.observer is not None:
            self.observer.answered(refused(subject, error.code, self._named_by(subject)),
                                   counted=False)

    def _named_by(self, subject: str) -> dict[str, str]:
        """What an audit record can say of a request from its subject alone."""
        if parsed := self.subjects.parse_api(subject):
            return {"verb": parsed.verb, "group": parsed.group, "resource": parsed.resource}
        return {"verb": "hello"} if self.subjects.is_hello(subject) else {}
