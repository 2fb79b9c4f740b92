"""The kubelet's side of an exec stream: a command's output (or, for an attach, the container's
own) pushed to the one who opened the exec, its input pulled from them, over the bus
(docs/PROTOCOL.md, Exec streams).

Every message goes to the opener's stream subject (``<prefix>.inbox.<owner>.exec.<id>``) as a
request MACed with the stream's key, which only this kubelet was given: ``{"seq", "channel",
"data"}`` for output, answered once written (one chunk in flight: a slow reader slows the
command, never the kubelet's memory); ``{"seq", "input": true}`` for input, answered with
``{"stdin": bytes}``, ``{"resize": {"width", "height"}}`` (a size that is not one is
ignored), ``{"close": true}`` (end of input), ``{"hangup": true}`` (the opener left) or
``{}`` (nothing yet: ask again); ``{"seq", "end": true, "exitCode"}`` once the command has
ended. The answers come back into this kubelet's own inbox, at a reply subject only the opener
saw: nobody else can inject input. An opener that is gone (no responders, no answer in time, a
hangup), or input that stopped for any reason, ends the stream and lets go of the command.

Neighbours: ``kubelet`` (starts a :class:`ExecStreamer` for an ``exec`` call with a stream),
``runtime`` (the :class:`~actors.kubelet.runtime.ExecSession` it drives: ``exec_stream``'s or
``attach_stream``'s),
``actors.client.streams`` (the other end).

Which thread: :meth:`ExecStreamer.run` on a call-pool thread (the output, until the command
ends), the input on a thread of its own for the stream's life. Neither blocks the bus loop.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import threading
from typing import Any

from actors.api.objects import Object
from actors.client import streams
from actors.kubelet.runtime import ExecSession
from bus.connection import Connection
from bus.envelope import Envelope
from bus.errors import BusError

log = logging.getLogger(__name__)

ACK_SECONDS = 30.0
"""A stream ends when its opener has not answered a message for this long."""
INPUT_SECONDS = 10.0
"""How long the opener holds a call for input before answering ``{}`` (it then comes again):
also how soon a silent command notices an opener that left without a word."""


class ExecStreamer:
    """One exec stream: ``session``'s output to ``subject``, input from there, MACed with
    ``key``. :meth:`run` returns once the command has ended or the opener has gone."""

    def __init__(self, session: ExecSession, subject: str, key: bytes,
                 connection: Connection, stdin: bool) -> None:
        self.session, self.subject, self.key = session, subject, key
        self.connection, self.stdin = connection, stdin
        self._seq = itertools.count(1)
        self._over = threading.Event()
        self._asking: concurrent.futures.Future[Envelope] | None = None

    def run(self) -> None:
        """Stream the output, then the exit code; the input meanwhile (call-pool thread)."""
        threading.Thread(target=self._input, name=f"exec-input-{self.subject}",
                         daemon=True).start()
        try:
            for channel, data in self.session:
                self._send({"channel": channel, "data": data})
            if not self._over.is_set():
                self._send({"end": True, "exitCode": self.session.exit_code()})
        except (BusError, TimeoutError, concurrent.futures.CancelledError) as error:
            log.info("exec stream %s ended: %s", self.subject, error)
        finally:
            self.close()

    def close(self) -> None:
        """End the stream: the input stops asking, the command's streams are let go."""
        self._over.set()
        if (asking := self._asking) is not None:
            asking.cancel()
        self.session.close()

    def _input(self) -> None:
        """Ask the opener for input until the stream is over, and hand it to the command."""
        try:
            while not self._over.is_set():
                self._asking = self._request({"input": True}, INPUT_SECONDS + ACK_SECONDS)
                if self._over.is_set():  # ended while asking: close() may not have seen it
                    self._asking.cancel()
                answer = self._asking.result(INPUT_SECONDS + ACK_SECONDS + 1)
                if not self._take(answer.body if isinstance(answer.body, dict) else {}):
                    break
        except (BusError, TimeoutError, concurrent.futures.CancelledError) as error:
            log.info("exec stream %s: no more input: %s", self.subject, error)
        finally:  # whatever stopped the input, the command is let go of: its worker is freed
            self.close()

    def _take(self, given: Object) -> bool:
        """Do what one answer for input says; False when the opener has gone."""
        if given.get("hangup"):
            return False
        if isinstance(given.get("stdin"), bytes) and self.stdin:
            self.session.write(given["stdin"])
        elif (size := streams.terminal_size(given.get("resize"))) is not None:
            self.session.resize(size["width"], size["height"])
        elif given.get("close"):
            self.session.close_stdin()
        return True

    def _send(self, body: Object) -> None:
        """One output message, waited for until the opener has taken it."""
        self._request(body, ACK_SECONDS).result(ACK_SECONDS + 1)

    def _request(self, body: Object, seconds: float) -> concurrent.futures.Future[Envelope]:
        message: dict[str, Any] = {"seq": next(self._seq), **body}
        return self.connection.request(
            self.subject, Envelope(sender=self.connection.name, verb="exec", body=message),
            seconds, self.key)
