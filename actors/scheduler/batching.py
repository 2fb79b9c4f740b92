"""The scheduler's bindings, sent together: what is ready in one turn goes as one message.

DefaultBinder's ``bind_soon`` hands each binding to a :class:`BindingBatch`, which holds it
until the scheduler says its turn is over (:meth:`BindingBatch.send`: no cycle planned next,
or a binding's answer handed the next pods over), :data:`~actors.api.bindingbatches.MAX_ITEMS`
are held, or a pod held comes again (deleted and made again under its name meanwhile: a batch
names a pod once), then sends them as one batch (``actors.api.bindingbatches``: one bus
message, each binding authorized, admitted, written and audited by the apiserver as its own
request, one Status each in the answer). One held alone goes as the single binding it is. A
batch refused as a whole by an apiserver that takes no batches (400, 404, 405) fails its
bindings (their pods back off and come back, as after any failed binding) and every later
binding goes alone; any other whole refusal (the bus's, a 401) fails its bindings too, and the
next batch is tried. A 429 is sent again after its pause, as a single binding's is.

Neighbours: ``plugins.DefaultBinder`` (hands bindings in), ``scheduler`` (ends the turns,
through ``Framework.send_bindings``), ``actors.client.client`` (sends).

Which thread: :meth:`BindingBatch.add` and :meth:`BindingBatch.send` on the scheduling thread;
the answers are settled on the bus loop.
"""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Any

from actors.api import bindingbatches
from actors.api.objects import Object
from actors.client.client import Client, binding_request
from actors.scheduler.nodeinfo import pod_key
from bus.errors import ApiError

log = logging.getLogger(__name__)

NOT_TAKEN = frozenset({400, 404, 405})
"""A whole batch refused with one of these: the apiserver takes no batches."""

Held = tuple[Object, str, str | None, concurrent.futures.Future[Any]]
"""A binding held: its pod, node and trace, and its answer to come."""


class BindingBatch:
    """See the module docstring."""

    def __init__(self, client: Client, most: int = bindingbatches.MAX_ITEMS) -> None:
        """``most``: bindings sent in one message at most."""
        self.client = client
        self.most = most
        self.batching = True
        """False once an apiserver refused a batch as such: each binding goes alone."""
        self._held: list[Held] = []
        self._pods: set[str] = set()
        """The key (``namespace/name``) of each pod held."""

    def add(self, pod: Object, node: str, trace_id: str | None
            ) -> concurrent.futures.Future[Any]:
        """Bind ``pod`` to ``node`` with the next batch; the future resolves as
        ``Client.bind_soon``'s does (the binding's Status, or its ApiError)."""
        if not self.batching:
            return self.client.bind_soon(pod, node, trace_id)
        if pod_key(pod) in self._pods:  # deleted and made again meanwhile: a batch names a
            self.send()                # pod once (else it is refused whole)
        answer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._held.append((pod, node, trace_id, answer))
        self._pods.add(pod_key(pod))
        if len(self._held) >= self.most:
            self.send()
        return answer

    def send(self) -> None:
        """Send what is held: one binding alone, more as one batch. What cannot be sent (the
        client raised: a certificate session's handshake refused, the bus closed) is each
        binding's answer, as a single binding's failure to send was."""
        held, self._held = self._held, []
        self._pods.clear()
        try:
            if len(held) == 1:
                pod, node, trace_id, answer = held[0]
                _chain(self.client.bind_soon(pod, node, trace_id), answer)
            elif held:
                body = bindingbatches.batch_body(
                    [binding_request(pod, node, None)["body"] for pod, node, _, _ in held],
                    [trace_id for _, _, trace_id, _ in held])
                sent = self.client.submit("create", "pods", subresource="binding", body=body,
                                          resend_throttled=True)
                sent.add_done_callback(lambda done: self._settle(held, done))
        except Exception as failure:  # not sent: nothing else will answer them
            for *_, answer in held:
                answer.set_exception(failure)

    def _settle(self, held: list[Held], done: concurrent.futures.Future[Any]) -> None:
        """Each held binding's answer from the batch's (the bus loop: never raises)."""
        try:
            outcomes: list[Any] = bindingbatches.outcomes(done.result(), len(held))
        except ApiError as refused:
            if refused.code in NOT_TAKEN and self.batching:
                self.batching = False
                log.warning("the apiserver takes no batch of bindings (%s): binding one by "
                            "one", refused.message)
            outcomes = [refused] * len(held)
        except BaseException as failure:  # cancelled, or a bug on the way
            outcomes = [failure] * len(held)
        for (*_, answer), outcome in zip(held, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)


def _chain(sent: concurrent.futures.Future[Any],
           answer: concurrent.futures.Future[Any]) -> None:
    """Resolve ``answer`` as ``sent`` resolves."""

    def settle(done: concurrent.futures.Future[Any]) -> None:
        try:
            answer.set_result(done.result())
        except BaseException as failure:  # the ApiError, or whatever ended it
            answer.set_exception(failure)

    sent.add_done_callback(settle)
