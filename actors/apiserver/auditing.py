"""Audit: one record per request the apiserver answers (step 6 of the seed's security).

:func:`record` builds the record, a flat map of plain values: time, user, groups (and the
impersonating user, when there is one; the front that forwarded it, ``via``, when it came over
HTTPS), verb, resource, subresource, namespace, name, the authorization decision
(``allow``/``deny``), the reply's code, the latency and the trace id; ``dryRun`` when the
request asked for one (nothing was written).
It is built from the decoded request and the reply's status, never from the envelope's
``auth``: no token, key or signature can reach the log. An :class:`AuditSink` takes records
without blocking (``bindings.cluster.audit`` writes them as JSON lines on a thread of its own).

:func:`handed_span` is what ``kubeactor trace`` sees of a request a front handed to the
pipeline in its process (``bus.inprocess``), which crossed no subject. :class:`Auditing` is the
apiserver's side (mixed into ``ApiServer``): each answer audited (and a handed request's span
published), each message refused before a worker saw it audited.

Neighbours: ``actors.apiserver.server`` (the pipeline that calls it), ``bindings.cluster.audit``
(the sink).

Which thread: :meth:`Auditing._finish` on a worker's thread (or the bus loop's, for relayed
replies); :meth:`Auditing.rejected` on the bus loop's.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from actors.api.users import UserInfo
from actors.apiserver.requests import Pending
from bus.envelope import Envelope, new_id
from bus.errors import ApiError
from bus.subjects import Subjects

Record = dict[str, Any]


class AuditSink(Protocol):
    def __call__(self, record: Record) -> None:
        """Take one record; called on an apiserver worker's thread (or the bus loop's, for
        relayed replies): must not block."""
        ...


def record(*, authorized: bool, code: int, latency_ms: float, trace_id: str | None,
           user: UserInfo | None = None, impersonator: UserInfo | None = None,
           via: UserInfo | None = None,
           verb: str | None = None, group: str | None = None, resource: str | None = None,
           subresource: str | None = None, namespace: str | None = None,
           name: str | None = None, dry_run: bool = False) -> Record:
    """One audit record (see the module docstring); what a request that was refused before
    it was understood does not say is left empty."""
    entry: Record = {
        "time": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "user": user.name if user else "", "groups": list(user.groups) if user else [],
        "verb": verb or "", "group": group or "", "resource": resource or "",
        "subresource": subresource or "", "namespace": namespace or "", "name": name or "",
        "decision": "allow" if authorized else "deny", "code": code,
        "latency_ms": round(latency_ms, 3), "trace_id": trace_id or "",
    }
    if impersonator is not None:
        entry["impersonatedBy"] = impersonator.name
    if via is not None:
        entry["via"] = via.name
    if dry_run:
        entry["dryRun"] = True
    return entry


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


class Auditing:
    """The audit of ``ApiServer``'s answers (mixed in: see the module docstring)."""

    audit: AuditSink | None
    subjects: Subjects

    if TYPE_CHECKING:
        def publish(self, subject: str, envelope: Envelope) -> None: ...

    def _finish(self, pending: Pending, reply: Envelope) -> Envelope:
        """Audit the answer to a request (and trace one handed over in the process: it
        crossed no subject), and return it."""
        code = int((reply.status or {}).get("code", 200))
        latency_ms = (time.monotonic() - pending.started) * 1000
        request = pending.request
        if pending.incoming.answer is not None:
            self.publish(self.subjects.trace("apiserver"), handed_span(
                pending.incoming.envelope, code, latency_ms, request.name if request else None))
        if self.audit is None:
            return reply
        what = {**self._named_by(pending.incoming.subject), "user": pending.sender} \
            if request is None else {
            "user": request.user, "impersonator": request.impersonator, "via": request.via,
            "verb": request.verb,
            "group": request.info.group, "resource": request.info.name,
            "subresource": request.subresource, "namespace": request.namespace,
            "name": request.name}
        self.audit(record(**what, authorized=pending.authorized, code=code,
                          latency_ms=latency_ms,
                          trace_id=pending.incoming.envelope.trace_id,
                          dry_run=request is not None and request.options.dry_run))
        return reply

    def rejected(self, subject: str, error: ApiError) -> None:
        """Audit a message refused on the bus loop before a worker saw it (it did not
        decode, or the mailbox was full): nobody authenticated, denied, with its code."""
        if self.audit is not None:
            self.audit(record(**self._named_by(subject), authorized=False, code=error.code,
                              latency_ms=0.0, trace_id=None))

    def _named_by(self, subject: str) -> dict[str, Any]:
        """What an audit record can say of a request from its subject alone."""
        if parsed := self.subjects.parse_api(subject):
            return {"verb": parsed.verb, "group": parsed.group, "resource": parsed.resource}
        return {"verb": "hello"} if subject == self.subjects.hello else {}

