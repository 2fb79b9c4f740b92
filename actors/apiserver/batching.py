"""A batch of bindings through the pipeline: each binding the request it stands for.

:class:`Batching` (mixed into :class:`~actors.apiserver.server.ApiServer`) takes a
``create pods/binding`` naming no pod (``actors.api.bindingbatches``), authenticated once (one
message, one sender, one user), and runs each of its items as a request of its own: a
:class:`~actors.apiserver.requests.Request` for that pod's ``create pods/binding`` (its
namespace, its name, its Binding as body, its trace), authorized by itself (RBAC in its
namespace, the node authorizer's rules), then the binding verb as a single binding runs it
(admission, the write, waiting for its commit without holding the worker), and told to the
observers as a request of its own (an audit record, a metric each). When every item has its
answer, the batch is answered with them in order. A batch that is not one is refused whole
(400), nothing run. Flow control charged the message as many requests as it holds
(``fairness``, ``queueing.Ticket.width``); it holds its seats until its last item is answered.

Neighbours: ``server`` (the pipeline: ``_advance`` runs each item, ``_finish`` answers it),
``decoding`` (a batch needs no namespace), ``actors.api.bindingbatches`` (its shape).

Which thread: the worker's actor thread, as the rest of the pipeline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.api import bindingbatches
from actors.api.objects import Object
from actors.apiserver import decoding
from actors.apiserver.rbac import Authorizer
from actors.apiserver.requests import ApiServerConfig, Pending, Request, Result, Step
from bus.connection import Incoming
from bus.envelope import Envelope
from bus.errors import ApiError


@dataclass(slots=True)
class Batch:
    """A batch on its way: the message's own :class:`Pending` (its seat, its reply inbox) and
    each item's answer as it comes."""

    pending: Pending
    answers: list[Any]
    """Each item's answer (None until it has one): its Status."""
    left: int

    def settled(self, index: int, reply: Envelope) -> bool:
        """Item ``index`` is answered by ``reply``; True once every item is."""
        status = reply.status or {}
        self.answers[index] = reply.body if int(status.get("code", 200)) < 300 else status
        self.left -= 1
        return self.left == 0


class Batching:
    """See the module docstring. What it uses of the pipeline is declared here."""

    config: ApiServerConfig
    authorizer: Authorizer
    observer: Any

    if TYPE_CHECKING:
        def _refused(self, pending: Pending, error: ApiError) -> Envelope | None: ...

        def _run_verb(self, request: Request) -> Generator[Step, Result, Object]: ...

        def _advance(self, pending: Pending, answer: Result | None) -> Envelope | None: ...

        def _finish(self, pending: Pending, reply: Envelope) -> Envelope: ...

        def _told(self, pending: Pending, reply: Envelope) -> Envelope: ...

        def _unseat(self, pending: Pending, reply: Envelope | None) -> None: ...

        def _reply(self, message: Incoming, reply: Envelope) -> None: ...

    def _batch(self, pending: Pending, request: Request) -> Envelope | None:
        """Run each binding of the batch ``request``; its answer once every item has one
        (None meanwhile: :meth:`_answered` sends it)."""
        try:
            found = bindingbatches.items(request.envelope.body)
        except ApiError as error:
            return self._refused(pending, error)
        batch = Batch(pending, [None] * len(found), len(found))
        for index, (binding, trace_id) in enumerate(found):
            item = Pending(pending.incoming, started=pending.started, sender=pending.sender,
                           batch=(batch, index))
            if index and self.observer is not None:  # the message was counted as the first
                self.observer.received(pending.incoming.subject)
            reply = self._item(item, _item_request(request, binding, trace_id))
            if reply is not None and batch.settled(index, reply):
                return self._batch_reply(batch)
        return None

    def _item(self, item: Pending, request: Request) -> Envelope | None:
        """Authorize and run one item, as :meth:`ApiServer.handle` a request."""
        item.request = request
        try:
            self.authorizer.authorize(decoding.attributes(request))
        except ApiError as error:
            return self._told(item, request.envelope.error_reply(error,
                                                                 sender=self.config.name))
        item.authorized = True
        item.steps = self._run_verb(request)
        return self._advance(item, None)

    def _answered(self, pending: Pending, reply: Envelope) -> None:
        """``pending`` (resumed after a step) is answered by ``reply``: into its inbox, or,
        for an item of a batch, into the batch, answered once it is whole."""
        if pending.batch is None:
            if pending.incoming.reply_to:
                self._reply(pending.incoming, reply)
            return
        batch, index = pending.batch
        if batch.settled(index, reply):
            answer = self._batch_reply(batch)
            if batch.pending.incoming.reply_to:
                self._reply(batch.pending.incoming, answer)

    def _batch_reply(self, batch: Batch) -> Envelope:
        """The batch's answer; its seats given back (its items were each told already)."""
        pending = batch.pending
        assert pending.request is not None
        reply = pending.request.envelope.reply(
            bindingbatches.answer(batch.answers), code=200,
            sender=self.config.name)
        self._unseat(pending, reply)
        return reply


def _item_request(batch: Request, binding: Object, trace_id: str | None) -> Request:
    """The ``create pods/binding`` of one item of ``batch``: its pod's, by the batch's user."""
    metadata = binding["metadata"]
    envelope = dataclasses.replace(
        batch.envelope, namespace=metadata["namespace"], name=metadata["name"], body=binding,
        trace_id=trace_id or batch.envelope.trace_id)
    return dataclasses.replace(batch, namespace=metadata["namespace"], name=metadata["name"],
                               envelope=envelope, warnings=[])
