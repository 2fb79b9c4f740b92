"""``pods/exec`` and ``pods/attach`` over WebSocket, relayed to the bus's exec stream: the front
opens the stream for its client (authorized as ``create pods/exec`` or ``create pods/attach``
for the client, not the front), writes the
kubelet's output to the socket and answers the kubelet's calls for input with what the client
sent (``channels`` frames both ways), then writes the exit status on channel 3.

Flow control, both ways: the kubelet sends the next output only once the front has written the
last one to the socket (and the socket has drained); the front holds at most
:data:`INPUT_BACKLOG` pieces of the client's input and stops reading the socket until the
kubelet has taken one, so a fast client waits on TCP, not in memory. A client that leaves
gets the kubelet's call for input answered ``hangup`` (or, between calls, the next message
meets no responders): the kubelet lets go of the command and frees its worker.

The relay knows its client only as a way to send it messages and the messages it sends: a
WebSocket (:func:`websocket`) for the front, the terminal for ``kubeactor exec -i``
(``bindings.cli.consoles``).

Neighbours: ``front`` (routes an exec here; a followed log opens through :func:`opened` too),
``bindings.cli.consoles`` (``exec -i``), ``actors.apiserver.http.channels`` (the framing),
``actors.client.streams`` (the stream, its MAC and answers).

Which thread: the listener's loop thread (the CLI's own loop for ``exec -i``); the stream
opens and closes on the executor it is given (the loop's by default); the kubelet's messages
come on the bus loop and are handed over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import Executor
from typing import TypeVar

from aiohttp import WSMsgType, web

from actors.api.objects import Object
from actors.apiserver.http import channels
from actors.client.client import Client
from actors.client.streams import ExecMessage, ExecStream
from bus.errors import ApiError

log = logging.getLogger(__name__)

INPUT_BACKLOG = 16
"""Pieces of a client's input held for the kubelet; past it the socket is not read."""
INPUT_PIECE = 64 * 1024
"""Largest piece of input held (a client's bigger message is cut)."""
INPUT_BYTES = 256 * 1024
"""Input in one answer to the kubelet, at most about (bus messages stay well under 1 MiB):
pieces already here are joined, since each answer is a round trip the kubelet waits for."""
IDLE_SECONDS = 10.0
"""How long a call for input waits for the client before it is answered ``{}`` (the kubelet
waits 40 s: ``actors.kubelet.streaming``)."""


T = TypeVar("T")

Send = Callable[[bytes], Awaitable[None]]
"""Writes one message (channel byte first) to the one who runs the command; ConnectionError
once they have left."""


class ExecRelay:
    """One exec between a client (``send`` writes its messages, ``frames`` are its messages
    until it leaves: a prepared WebSocket's, see :func:`websocket`, or a terminal's) and the
    bus (see the module docstring)."""

    def __init__(self, send: Send, frames: AsyncIterator[bytes],
                 query: Mapping[str, str], executor: Executor | None = None) -> None:
        """``executor``: where the stream opens and closes (None: the loop's)."""
        self.send, self.frames, self.query = send, frames, query
        self.executor = executor
        self.loop = asyncio.get_running_loop()
        self.said: asyncio.Queue[ExecMessage | None] = asyncio.Queue()
        """The kubelet's messages; None once the client has left."""
        self.inputs: asyncio.Queue[Object] = asyncio.Queue(INPUT_BACKLOG)
        self.asking: ExecMessage | None = None
        """The kubelet's call for input not answered yet."""
        self.held: Object | None = None
        """A client's message taken from ``inputs`` for the next answer."""
        self.stream: ExecStream | None = None
        self.abandoned = False
        """The client left before the relay ran: the kubelet's messages are let go of."""

    async def open(self, client: Client, pod: str, namespace: str | None,
                   body: Object, subresource: str = "exec") -> None:
        """Open the stream (an ``exec``, or an ``attach``); ApiError when it cannot start (the
        pod is not there, the client may not): kube-apiserver's answer before the upgrade.
        What the kubelet says meanwhile waits for :meth:`run`. Cancelled (the client left),
        the stream is :meth:`abandon`-ed once it has opened."""
        self.stream = await opened(self.loop, self.executor, functools.partial(
            ExecStream, client, pod, namespace, body, self._arrived, subresource),
            self._opened_late)

    def _opened_late(self, stream: ExecStream) -> None:
        self.stream = stream
        self.abandon()

    def abandon(self) -> None:
        """Let go of a stream opened and never run (the client left before its upgrade, or
        while it opened): the kubelet's calls for input are answered ``hangup``, so it lets
        go of the command at once, and the stream is closed."""
        if (stream := self.stream) is None:
            return
        self.abandoned = True
        while not self.said.empty():
            if (said := self.said.get_nowait()) is not None:
                self._let_go(stream, said)
        self.loop.run_in_executor(self.executor, stream.close)

    @staticmethod
    def _let_go(stream: ExecStream, said: ExecMessage) -> None:
        """Answer a message of an abandoned stream: output and end taken, input ``hangup``."""
        stream.answer(said, {"hangup": True} if said.kind == "input" else None)

    async def run(self, client: Client, pod: str, namespace: str | None,
                  body: Object, subresource: str = "exec") -> None:
        """Open the stream unless :meth:`open` did, and relay it until the command or
        container ends or the client leaves; what stops it from starting is told on the
        status channel."""
        if self.stream is None:
            try:
                await self.open(client, pod, namespace, body, subresource)
            except ApiError as error:
                await self.send(channels.failure(error))
                return
        assert self.stream is not None
        reading = asyncio.create_task(self._read())
        try:
            await self._relay(self.stream)
        except ConnectionError:
            log.debug("exec stream %s: the client left", self.stream.subject)
        finally:
            reading.cancel()
            if self.asking is not None:
                self.stream.answer(self.asking, {"hangup": True})
            self.loop.run_in_executor(self.executor, self.stream.close)

    def _arrived(self, said: ExecMessage) -> None:  # bus loop thread
        self.loop.call_soon_threadsafe(self._take, said)

    def _take(self, said: ExecMessage) -> None:
        """A message of the kubelet, for :meth:`run`, or let go of once abandoned."""
        if self.abandoned and self.stream is not None:
            self._let_go(self.stream, said)
        else:
            self.said.put_nowait(said)

    async def _relay(self, stream: ExecStream) -> None:
        """The kubelet's messages, in order, until the end (or the client left)."""
        giving: set[asyncio.Task[None]] = set()
        try:
            while (said := await self.said.get()) is not None:
                if said.kind == "output":
                    if (frame := channels.output(said.channel, said.data, self.query)):
                        await self.send(frame)
                    stream.answer(said)
                elif said.kind == "input":
                    self.asking = said
                    task = asyncio.create_task(self._give(stream, said))
                    giving.add(task)
                    task.add_done_callback(giving.discard)
                else:
                    await self.send(channels.status(said.exit_code))
                    stream.answer(said)
                    return
        finally:
            for task in list(giving):
                task.cancel()

    async def _give(self, stream: ExecStream, said: ExecMessage) -> None:
        """Answer a call for input with the client's next message (its input joined with the
        input that follows it already here, up to :data:`INPUT_BYTES`), or ``{}`` after
        :data:`IDLE_SECONDS` without one."""
        given, self.held = self.held, None
        if given is None:
            try:
                given = await asyncio.wait_for(self.inputs.get(), IDLE_SECONDS)
            except TimeoutError:
                given = {}
        while "stdin" in given and len(given["stdin"]) < INPUT_BYTES and \
                not self.inputs.empty():
            more = self.inputs.get_nowait()
            if "stdin" not in more:
                self.held = more  # a resize or the close: the next answer's
                break
            given = {"stdin": given["stdin"] + more["stdin"]}
        if self.asking is said:
            self.asking = None
            stream.answer(said, given)

    async def _read(self) -> None:
        """The client's messages, as input for the kubelet, until it leaves."""
        with contextlib.suppress(ConnectionError):
            async for data in self.frames:
                for piece in pieces(channels.given(data)):
                    await self.inputs.put(piece)
        self.said.put_nowait(None)


async def opened(loop: asyncio.AbstractEventLoop, executor: Executor | None,
                 make: Callable[[], T], left: Callable[[T], object]) -> T:
    """What ``make`` opens (a stream: it blocks for the apiserver's answer), made on
    ``executor``. Cancelled meanwhile (the client left: the listener cancels its handler),
    ``left`` is given it once made (on the loop), to close it: else it stayed subscribed."""
    making = loop.run_in_executor(executor, make)
    try:
        return await asyncio.shield(making)
    except asyncio.CancelledError:
        making.add_done_callback(
            lambda done: None if done.cancelled() or done.exception() else left(done.result()))
        raise


async def websocket(socket: web.WebSocketResponse) -> AsyncIterator[bytes]:
    """A WebSocket client's messages as bytes (binary from kubectl, text from the Python
    client), until it closes."""
    async for received in socket:
        if received.type == WSMsgType.BINARY:
            yield received.data
        elif received.type == WSMsgType.TEXT:
            yield received.data.encode()


def pieces(given: Object | None) -> list[Object]:
    """``given`` as answers of at most :data:`INPUT_PIECE` bytes of input each."""
    if given is None:
        return []
    data = given.get("stdin")
    if not isinstance(data, bytes):
        return [given]
    return [{"stdin": data[at:at + INPUT_PIECE]} for at in range(0, len(data), INPUT_PIECE)]
