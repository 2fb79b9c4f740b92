"""An exec stream as its opener sees it: a command run in a container with its input and output
carried over the bus (docs/PROTOCOL.md, Exec streams).

The opener subscribes to a subject of its own (``<prefix>.inbox.<owner>.exec.<id>``), makes a
random key, and asks for ``create pods/exec`` (or ``pods/attach``) with ``options.followTo`` and
the key in ``auth.streamKey`` (so it is in no trace or audit record); the apiserver authorizes
it and gives the key to the pod's kubelet alone. The kubelet then sends, as requests MACed with
the key, the command's output, its calls for input and its end; a message without that MAC is
dropped unanswered. The opener answers each (:meth:`ExecStream.answer`): the output once
written, a call for input with the input (or ``{}`` after a while without any), the end once
taken. Only the opener subscribes there, so only the opener sees where the answers go: nobody
else can feed the command input.

Neighbours: ``client`` (the request, the MAC check ``keyed``, ``answer_stream``),
``bindings.https.execing`` (the WebSocket front's relay), ``actors.kubelet.streaming`` (the
other end).

Which thread: the constructor blocks for the apiserver's answer (not on the bus loop);
``arrived`` is called on the bus loop thread and must not block; :meth:`answer` and
:meth:`close` from any thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors.api.objects import Object
from actors.client.client import STREAM_KEY_BYTES, Client, answer_stream, keyed
from bus.connection import Incoming
from bus.envelope import new_id
from bus.errors import ApiError

TERMINAL_SIDE = 65535
"""A terminal's largest width or height, in characters (Kubernetes' TerminalSize: uint16)."""


@dataclass(frozen=True, slots=True)
class ExecMessage:
    """One message of the kubelet (its MAC checked)."""

    kind: str
    """``output``, ``input`` (it asks for input) or ``end``."""
    incoming: Incoming
    channel: int = 1
    """Output: 1 stdout, 2 stderr."""
    data: bytes = b""
    exit_code: int = 0
    """End: how the command ended."""


def message(incoming: Incoming) -> ExecMessage | None:
    """What a (MAC-checked) message of the kubelet says; None when it says nothing known."""
    body = incoming.envelope.body if isinstance(incoming.envelope.body, dict) else {}
    if body.get("end"):
        return ExecMessage("end", incoming, exit_code=int(body.get("exitCode") or 0))
    if body.get("input"):
        return ExecMessage("input", incoming)
    if isinstance(body.get("data"), bytes) and body.get("channel") in (1, 2):
        return ExecMessage("output", incoming, channel=body["channel"], data=body["data"])
    return None


def terminal_size(size: Any) -> Object | None:
    """The ``resize`` an answer for input may carry: ``{"width", "height"}``, each a whole
    number from 0 to :data:`TERMINAL_SIDE`; None for anything else (the kubelet ignores it)."""
    if not isinstance(size, dict):
        return None
    sides = {side: size.get(side) for side in ("width", "height")}
    if not all(type(value) is int and 0 <= value <= TERMINAL_SIDE for value in sides.values()):
        return None
    return sides


class ExecStream:
    """``exec`` as its opener (see the module docstring): :meth:`answer` each message
    ``arrived`` is given, :meth:`close` at the end."""

    def __init__(self, client: Client, pod: str, namespace: str | None, body: Object,
                 arrived: Callable[[ExecMessage], None], subresource: str = "exec") -> None:
        """Subscribe, then ask the apiserver for the exec (``body``: ``command``,
        ``container``, ``stdin``, ``tty``), or the attach (``subresource``, no command),
        streamed to us; ApiError when it refuses or the command cannot start (nothing is
        left subscribed)."""
        connection = self.connection = client.connection
        self.key = secrets.token_bytes(STREAM_KEY_BYTES)
        self.subject = connection.subjects.stream(connection.owner, new_id(), "exec")
        self._arrived_message = arrived
        self._subscription = connection.subscribe(self.subject, self._arrived)
        try:
            client.request("create", "pods", namespace=namespace, name=pod,
                           subresource=subresource, body=body, options={"followTo": self.subject},
                           keys={"streamKey": self.key})
        except ApiError:
            self.close()
            raise

    def _arrived(self, incoming: Incoming) -> None:  # bus loop thread
        if keyed(self.key, incoming) and (said := message(incoming)) is not None:
            self._arrived_message(said)

    def answer(self, said: ExecMessage, body: dict[str, Any] | None = None) -> None:
        """Answer the kubelet's message: output or end taken (no ``body``), or the input it
        asked for (``{"stdin": bytes}``, ``{"resize": {...}}``, ``{"close": true}``,
        ``{"hangup": true}``, ``{}``)."""
        answer_stream(self.connection, said.incoming, body or {})

    def close(self) -> None:
        """Stop listening (the kubelet ends the stream at its next message)."""
        self.connection.unsubscribe(self._subscription)
