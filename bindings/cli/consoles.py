"""``kubeactor exec -i``'s terminal: our stdin to the command as it comes, its output to our
stdout and stderr, over the bus's exec stream through the relay the HTTPS front uses for a
WebSocket (``bindings.https.execing``), in the channels' framing. Apart from ``pods`` so that
``run``, ``logs`` and ``exec`` without ``-i`` do not load the relay, aiohttp and the
apiserver's package.

Neighbours: ``bindings.cli.pods`` (``exec``), ``bindings.https.execing`` (the relay),
``actors.apiserver.http.channels`` (the framing).

Which thread: the main thread runs an event loop of its own (the relay's); our stdin is read
by a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
from collections.abc import AsyncIterator
from concurrent.futures import CancelledError

from actors.api.objects import Object
from actors.apiserver.http import channels
from bindings.cli.session import Session
from bindings.https import execing
from bus.errors import ApiError


def exec_streamed(session: Session, pod: str, body: Object) -> int:
    """``exec -i``: our stdin to the command as it comes, its output to our stdout and stderr,
    over the bus's exec stream (the relay of the HTTPS front, ``bindings.https.execing``),
    until it ends; its exit code (ApiError when it could not run)."""
    console = _Console()

    async def relayed() -> None:  # the relay is made on its loop
        await execing.ExecRelay(console.send, console.frames(), ALL_OUTPUT).run(
            session.client, pod, session.namespace, body)

    asyncio.run(relayed())
    return console.exit_code()


ALL_OUTPUT = {"stdout": "true", "stderr": "true"}
"""The exec's output this console takes (a WebSocket client's query says so)."""


class _Console:
    """Our stdin, stdout and stderr as an exec's client, in the channels' messages. The
    relay's loop only (the stdin on a daemon thread of its own: a read blocks)."""

    def __init__(self) -> None:
        self.status: Object | None = None

    async def send(self, message: bytes) -> None:
        channel, data = message[0], message[1:]
        if channel == channels.STATUS:
            self.status = json.loads(data)
            return
        written = sys.stdout.buffer if channel == channels.STDOUT else sys.stderr.buffer
        written.write(data)
        written.flush()

    async def frames(self) -> AsyncIterator[bytes]:
        """Our stdin, then its close; then nothing more, while the command goes on."""
        loop = asyncio.get_running_loop()
        read: asyncio.Queue[bytes] = asyncio.Queue(execing.INPUT_BACKLOG)
        threading.Thread(target=_read_stdin, args=(loop, read), name="exec-stdin",
                         daemon=True).start()
        while data := await read.get():
            yield bytes([channels.STDIN]) + data
        yield bytes([channels.CLOSE, channels.STDIN])
        await asyncio.Event().wait()

    def exit_code(self) -> int:
        """The command's exit code from its status; ApiError when it could not run."""
        status = self.status or {"status": "Failure", "message": "the exec ended early"}
        if status.get("status") == "Success":
            return 0
        if status.get("reason") == "NonZeroExitCode":
            return int(status["details"]["causes"][0]["message"])
        raise ApiError.from_status(status)


def _read_stdin(loop: asyncio.AbstractEventLoop, read: asyncio.Queue[bytes]) -> None:
    """Hand our stdin to ``loop`` as it comes, waiting while ``read`` is full; b"" at its
    end (a daemon thread: a read blocks). It stops when the loop is gone or, as the exec
    ends, cancelled the hand-over it was waiting on."""
    with contextlib.suppress(RuntimeError, OSError, ValueError, CancelledError):
        while True:
            data = os.read(sys.stdin.fileno(), execing.INPUT_PIECE)
            asyncio.run_coroutine_threadsafe(read.put(data), loop).result()
            if not data:
                return
