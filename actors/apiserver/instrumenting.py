"""The apiserver's request metrics: an ``outcomes.Observer`` updating ``actors.instruments``.

Each answered request counts once in ``apiserver_request_total`` and is timed in
``apiserver_request_duration_seconds``, with kube-apiserver's labels: ``verb`` as it names them
(``GET``, ``LIST``, ``WATCH``, ``POST``, ``PUT``, ``PATCH``, ``DELETE``, ``CONNECT`` for exec
and attach), ``group``, ``version``, ``resource``, ``subresource``, ``scope`` (``resource``
for a named object, ``namespace``, ``cluster``), ``dry_run``, ``component`` (``apiserver``)
and ``code``; ``apiserver_current_inflight_requests`` counts requests taken and not yet
answered, ``readOnly`` or ``mutating`` as the verb of their subject says. A request the
apiserver did not understand (it did not decode or authenticate, or names what is not served)
is counted with no group, resource or subresource and its verb as kube-apiserver's
``CleanVerb`` names an unknown one (``other``): a subject is anyone's to write, and each
made-up name would be a series of its own, without bound.

Neighbours: ``outcomes`` (what it hears), ``actors.instruments`` (the metrics), ``server``.

Which thread: the apiserver workers' (and the bus loop's); the metrics lock for themselves.
"""

from __future__ import annotations

from typing import Any

from actors.api.resources import ResourceInfo
from actors.apiserver.outcomes import Outcome
from actors.instruments import Instruments
from bus.subjects import Subjects

VERBS = {"get": "GET", "list": "LIST", "watch": "WATCH", "create": "POST", "update": "PUT",
         "patch": "PATCH", "delete": "DELETE", "deletecollection": "DELETE"}
"""kube-apiserver's metric verb of each request verb."""
READ_ONLY = frozenset({"get", "list", "watch"})
CONNECT = frozenset({"exec", "attach", "portforward"})


LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope")
"""The labels of a request's metrics, but ``component`` and ``code``."""
MAX_CHILDREN = 4096
"""Metric children kept by their label values (and gauges by subject) before starting afresh:
a made-up subject is anyone's to send."""
OTHER = "other"
"""kube-apiserver's metric verb of a request whose verb it does not know."""


def metric_verb(outcome: Outcome) -> str:
    if outcome.subresource in CONNECT:
        return "CONNECT"
    return VERBS.get(outcome.verb, outcome.verb.upper() if outcome.decoded else OTHER)


def scope(outcome: Outcome) -> str:
    """kube-apiserver's: a named object (a create's is its collection's, as its URL says)."""
    if not outcome.resource:
        return ""
    if outcome.name and (outcome.verb != "create" or outcome.subresource):
        return "resource"
    return "namespace" if outcome.namespace else "cluster"


class RequestMetrics:
    """See the module docstring; ``subjects`` names the requests' subjects. The metrics'
    children are kept by their label values (``labels()`` checks and locks on every call, a
    tenth of a get's CPU): bounded, as the labels of a request not understood are few."""

    def __init__(self, instruments: Instruments, subjects: Subjects) -> None:
        self.instruments, self.subjects = instruments, subjects
        self._inflight: dict[str, Any] = {}
        self._children: dict[tuple[str, ...], tuple[Any, Any]] = {}

    def _kind(self, subject: str) -> Any:
        """The inflight gauge of ``subject``'s kind of request."""
        gauge = self._inflight.get(subject)
        if gauge is None:
            parsed = self.subjects.parse_api(subject)
            kind = "readOnly" if parsed is not None and parsed.verb in READ_ONLY else "mutating"
            if len(self._inflight) >= MAX_CHILDREN:
                self._inflight.clear()
            gauge = self._inflight[subject] = self.instruments.inflight.labels(
                request_kind=kind)
        return gauge

    def received(self, subject: str) -> None:
        self._kind(subject).inc()

    def answered(self, outcome: Outcome, counted: bool) -> None:
        if counted:
            self._kind(outcome.subject).dec()
        understood = outcome.decoded
        values = (metric_verb(outcome), "All" if outcome.dry_run else "",
                  outcome.group if understood else "", outcome.version,
                  outcome.resource if understood else "",
                  outcome.subresource if understood else "",
                  scope(outcome) if understood else "", str(outcome.code))
        children = self._children.get(values)
        if children is None:
            if len(self._children) >= MAX_CHILDREN:
                self._children.clear()
            labels = dict(zip(LABELS, values[:-1], strict=True), component="apiserver")
            children = self._children[values] = (
                self.instruments.requests.labels(**labels, code=values[-1]),
                self.instruments.request_duration.labels(**labels))
        children[0].inc()
        children[1].observe(outcome.latency)

    def watched(self, info: ResourceInfo) -> None:
        self.instruments.watch_events.labels(group=info.group, version=info.version,
                                             kind=info.kind).inc()
