"""The fault injector: installs the cluster's FaultPlans into this process's bus
(``bus.faults``) while they last, and tells the tracer what they do.

One runs in every process that hosts components (``kubeactor up``, ``server``, ``agent``,
``scheduler``, ``controller-manager``): it follows FaultPlans with an informer, installs each
one until its ``spec.expires`` (a timer of the bus loop), and removes it when it expires or is
deleted. Where it may (``deletes_expired``: the control plane's, whose identity RBAC lets
delete them), it also deletes an expired plan, so that ``get faultplans`` shows only those at
work. Expiry needs no bus: a plan ends in each process at its time even if its deletion is
lost.

Visible in ``kubeactor trace``: each start and end of a plan, and each message a plan dropped,
duplicated, delayed or reordered, is a span on ``<prefix>.trace.chaos`` (verb ``start``,
``end`` or the fault; ``opts.chaos`` the plan; a faulted message's span keeps its trace id,
sender, receiver, verb and object).

Neighbours: ``bus.faults`` (the plans, the fate of each message), ``actors.api.faultplans`` (the
object), ``actors.client.informer`` (the following), ``bindings.cluster.launcher`` (starts it).

Which thread: plan events and expiries on the actor's thread; faults are reported on the bus
loop thread (:meth:`FaultInjector.report` only publishes).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from dataclasses import dataclass
from typing import Any

from actors.api import faultplans
from actors.client.client import Client, WatchEvent
from actors.client.informer import Informer
from bus import faults
from bus.actor import BusActor
from bus.connection import Connection
from bus.envelope import Envelope
from bus.errors import ApiError

log = logging.getLogger(__name__)

SPANS = "chaos"
"""The component token of the spans (``<prefix>.trace.chaos``)."""


@dataclass(frozen=True, slots=True)
class Expired:
    """Timer message: plan ``name`` reached its ``spec.expires``."""

    name: str


class FaultInjector(BusActor):
    """Follows FaultPlans and keeps ``installed`` (by default this process's plans) in step."""

    def __init__(self, connection: Connection, client: Client, *,
                 deletes_expired: bool = False, installed: faults.Faults = faults.PROCESS
                 ) -> None:
        super().__init__(connection)
        self.client, self.deletes_expired, self.installed = client, deletes_expired, installed
        self._timers: dict[str, concurrent.futures.Future[None]] = {}
        self._informer: Informer | None = None

    def on_start(self) -> None:
        super().on_start()
        self.installed.reporter = self.report
        self._informer = Informer(self.client, faultplans.RESOURCE, self.tell_soon).start()

    def on_stop(self) -> None:
        if self._informer is not None:
            self._informer.stop()
        for name in list(self._timers):
            self._end(name, "stopped")
        self.installed.reporter = None
        super().on_stop()

    def on_local(self, message: Any) -> Any:
        if isinstance(message, WatchEvent):
            self._on_plan(message)
        elif isinstance(message, Expired):
            self._expire(message.name)
        else:
            super().on_local(message)

    def _on_plan(self, event: WatchEvent) -> None:
        name = event.object["metadata"]["name"]
        if event.type == "DELETED":
            self._end(name, "deleted")
            return
        plan = faultplans.plan(event.object)
        left = plan.until - time.time()
        if left <= 0:
            self._expire(name)
            return
        self._end(name, "replaced")
        self.installed.install(plan)
        self._timers[name] = self.tell_later(left, Expired(name))
        self._span("start", name, options={"subjects": list(plan.subjects),
                                           "until": plan.until})

    def _expire(self, name: str) -> None:
        self._end(name, "expired")
        if self.deletes_expired:
            try:
                self.client.delete(faultplans.RESOURCE, name, namespace=None)
            except ApiError as error:  # NotFound: another process deleted it first
                log.debug("fault plan %s: delete at expiry: %s", name, error)

    def _end(self, name: str, why: str) -> None:
        """Remove plan ``name`` (when installed here), and say so."""
        timer = self._timers.pop(name, None)
        if timer is None:
            return
        timer.cancel()
        self.installed.remove(name)
        self._span("end", name, options={"reason": why})

    def _span(self, verb: str, plan: str, options: dict[str, Any]) -> None:
        self.publish(self.subjects.trace(SPANS), Envelope(
            sender=self.connection.name, target=SPANS, verb=verb, group=faultplans.GROUP,
            resource=faultplans.RESOURCE, name=plan, options={"chaos": plan, **options}))

    def report(self, fate: faults.Fate, subject: str, envelope: Envelope,
               receiver: str) -> None:
        """A fault done to a message ``receiver`` got: a span (bus loop thread)."""
        self.connection.publish(self.subjects.trace(SPANS), Envelope(
            trace_id=envelope.trace_id, parent_id=envelope.span_id,
            sender=envelope.sender or "?", target=receiver, verb=fate.fault,
            group=envelope.group, resource=envelope.resource,
            subresource=envelope.subresource, namespace=envelope.namespace,
            name=envelope.name, options={"chaos": fate.plan, "subject": subject,
                                         "faulted": envelope.verb or "?"}))
