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
pipeline in its process (``bus.inprocess``), which crossed no subject.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from actors.api.users import UserInfo
from bus.envelope import Envelope, new_id

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
