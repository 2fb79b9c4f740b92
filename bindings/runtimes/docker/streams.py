"""A container's streams on the Docker engine: a followed log, an exec and an attach with
their input and output (the engine's hijacked connection).

Which thread: each stream is read by the one thread that serves it (the kubelet's streaming
server) and may be closed from another, which ends the reading quietly.

Neighbours: ``bindings.runtimes.docker.runtime`` (makes them), ``actors.kubelet.runtime``
(``ExecSession``, what the kubelet asks of them).
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import docker.errors
import docker.utils.socket
import requests

from bindings.runtimes.docker.failures import translated


def text(data: object) -> str:
    """Bytes of the engine as text (undecodable bytes replaced); "" for anything else."""
    return data.decode(errors="replace") if isinstance(data, bytes) else ""


class DockerLogStream:
    """A followed container log (``docker logs -f``); ends when the container stops."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[str]:
        try:
            for chunk in self._chunks:
                yield text(chunk)
        except (docker.errors.DockerException, requests.exceptions.RequestException,
                OSError, ValueError):
            return  # closed from another thread, or the engine went away

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._chunks.close()


OUTPUT_BYTES = 64 * 1024
"""Most output of an exec handed over at once (a bus message stays small)."""
EXIT_WAITS = 40
"""Looks (50 ms apart) at an exec whose output has ended for its exit code: the engine may
report it a moment after the stream closes."""


class DockerExec:
    """A ``docker exec`` with its input and output attached (the engine's hijacked
    connection, ``exec_start(socket=True)``): output read as the engine frames it (raw with a
    terminal), input written to the socket, its end a half-close."""

    def __init__(self, api: Any, exec_id: str, attached: Any, tty: bool) -> None:
        self._api, self._id, self._tty = api, exec_id, tty
        self._attached = attached
        self._socket: socket.socket = getattr(attached, "_sock", attached)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """The output, frames of one stream that are already there joined (up to
        :data:`OUTPUT_BYTES`): busybox writes 4 KiB at a time, and each chunk is a message
        the reader answers."""
        held_channel, held = 0, b""
        try:
            for channel, data in docker.utils.socket.frames_iter(self._attached, self._tty):
                if held and channel != held_channel:
                    yield held_channel, held
                    held = b""
                held_channel, held = channel, held + data
                if held and (len(held) >= OUTPUT_BYTES or not self._readable()):
                    yield held_channel, held
                    held = b""
        except (OSError, ValueError):
            return  # closed from another thread
        if held:
            yield held_channel, held

    def _readable(self) -> bool:
        """Whether more output is already there (read without waiting)."""
        return bool(select.select([self._socket], [], [], 0)[0])

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self._socket.sendall(data)

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_WR)

    def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(docker.errors.DockerException,
                                 requests.exceptions.RequestException):
            self._api.exec_resize(self._id, height=height, width=width)

    def exit_code(self) -> int:
        with translated("RuntimeUnavailable"):
            for _ in range(EXIT_WAITS):
                found = self._api.exec_inspect(self._id)
                if not found.get("Running"):
                    break
                time.sleep(0.05)
        return int(found.get("ExitCode") if found.get("ExitCode") is not None else -1)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._attached.close()


class DockerAttach(DockerExec):
    """A ``docker attach`` to a container's own stdio: as an exec's, but a resize goes to the
    container's terminal and the end is the container's (reported 0, as Kubernetes' kubelet
    does: ``Runtime.attach_stream``)."""

    def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(docker.errors.DockerException,
                                 requests.exceptions.RequestException):
            self._api.resize(self._id, height=height, width=width)

    def exit_code(self) -> int:
        return 0
