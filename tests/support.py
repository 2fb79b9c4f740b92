"""Helpers for tests that must wait on what no event announces (a file another thread writes,
a value another process sets): one polling loop, with a hard timeout, for all of them.

Prefer an event (a watch, a ``threading.Event``, ``conftest.wait_for``); poll only where there
is none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
