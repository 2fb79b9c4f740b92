"""Helpers for tests that must wait on what no event announces (a file another thread writes,
a value another process sets): one polling loop, with a hard timeout, for all of them.

Prefer an event (a watch, a ``threading.Event``, ``conftest.wait_for``); poll only where there
is none.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def until(check: Callable[[], T], timeout: float = 60.0, interval: float = 0.05,
          failure: str = "condition never held") -> T:
    """Call ``check`` every ``interval`` seconds until it returns something true; return it.
    AssertionError(``failure``) once ``timeout`` seconds have passed without."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, failure
        time.sleep(interval)
    return result


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie nobody reaped yet does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def shown_until(terminal: int, wanted: bytes, seconds: float = 30.0) -> bytes:
    """What the pseudo-terminal ``terminal`` (its main side) shows until ``wanted``;
    AssertionError after ``seconds`` without it."""
    seen, deadline = b"", time.monotonic() + seconds
    while wanted not in seen:
        ready, _, _ = select.select([terminal], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"{wanted!r} not shown; the terminal showed {seen!r}"
        seen += os.read(terminal, 4096)
    return seen


def shell_in_terminal(argv: list[str], typed: bytes, wanted: bytes, seconds: float = 60.0,
                      size: tuple[int, int] = (0, 0)) -> tuple[int, bytes]:
    """Run ``argv`` (a command giving a shell, as ``kubectl exec -it``) in a pseudo-terminal
    of ``size`` (rows, columns): wait for the shell's prompt, type ``typed``, wait for
    ``wanted``, then for the command's end; its exit code and what the terminal showed."""
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    process = subprocess.Popen(argv, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    try:
        seen = shown_until(main, b"# ")  # the prompt: a shell in a terminal
        os.write(main, typed)
        seen += shown_until(main, wanted)
        return process.wait(timeout=seconds), seen
    finally:
        process.kill()
        os.close(main)
