"""Calls into plugins that can never lose a pod: whatever a plugin does (raise, return None or
a bare int where a ``Status`` belongs), the framework gets a ``Status(Error)`` naming the
plugin, the extension point and the node, and the pod backs off with that message in its
FailedScheduling Event and its ``PodScheduled=False`` condition (kube-scheduler does the same
with a plugin's Error status; a panic there is recovered the same way).

:func:`call` guards the calls made once per cycle (PreFilter, PostFilter, PreScore,
NormalizeScore, Reserve, Permit, Bind, and the Filters preemption runs); the per-node hot loops
(Filter, Score in ``framework``) stay unguarded on the path that succeeds and build their
Error with :func:`failed`, :func:`raised` and :func:`returned` once something went wrong.

Which thread: the caller's. Neighbours: ``actors.scheduler.framework`` (the only caller),
``actors.scheduler.interface`` (``Status``).
"""

from __future__ import annotations

import logging
import reprlib
from collections.abc import Callable
from typing import Any

from actors.scheduler.interface import Code, Status

log = logging.getLogger(__name__)

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60


def failed(point: str, plugin: str, node: str, what: str) -> Status:
    """The Error of ``plugin`` at extension ``point`` (on ``node``, when per node):
    ``running Score plugin FewestPods on node n1: raised ZeroDivisionError: ...``."""
    where = f" on node {node}" if node else ""
    return Status(Code.ERROR, (f"running {point} plugin {plugin}{where}: {what}",), plugin)


def raised(failure: BaseException) -> str:
    return f"raised {type(failure).__name__}: {failure}"


def returned(value: object, wanted: str) -> str:
    return f"returned {_short.repr(value)}, not {wanted}"


def call(point: str, plugin: Any, method: Callable[..., Any], *args: Any,
         node: str = "", wanted: Callable[[Any], bool] | None = None,
         shape: str = "a Status") -> tuple[Any, Status]:
    """``method(*args)`` and Success, or None and the Error naming ``plugin``, ``point`` and
    ``node`` when it raised or returned what ``wanted`` refuses (by default: anything but a
    Status; ``shape`` says what was wanted). An exception is logged with its traceback."""
    try:
        value = method(*args)
    except Exception as failure:
        status = failed(point, plugin.name, node, raised(failure))
        log.error("%s", status.message, exc_info=failure)
        return None, status
    if not (wanted or _is_status)(value):
        return None, failed(point, plugin.name, node, returned(value, shape))
    return value, Status()


def call_status(point: str, plugin: Any, method: Callable[..., Status], *args: Any,
                node: str = "") -> Status:
    """The Status ``method(*args)`` returns, or the Error of :func:`call`; an Error the
    plugin returns itself is worded as :func:`failed` words it."""
    value, status = call(point, plugin, method, *args, node=node)
    return status if not status.ok else blamed(point, plugin, value, node)


def blamed(point: str, plugin: Any, status: Status, node: str = "") -> Status:
    """``status`` as ``plugin`` returned it at ``point``: an Error worded as :func:`failed`
    words it, anything else as it is."""
    if status.code is Code.ERROR:
        return failed(point, plugin.name, node, status.message)
    return status


def error_message(point: str, plugin: Any, status: Status, node: str = "") -> str:
    """The message of the Error that a status other than Success (or Skip) of
    :func:`call_status` fails the cycle with (a PreScore's Unschedulable is an Error too)."""
    if status.code is Code.ERROR:
        return status.message
    return failed(point, plugin.name, node, status.message).message


def anything(value: object) -> bool:
    """A ``wanted`` of :func:`call` that takes any value (Unreserve returns nothing)."""
    return True


def _is_status(value: object) -> bool:
    return isinstance(value, Status)


def is_pair(first: type | tuple[type, ...], second: type | tuple[type, ...]
            ) -> Callable[[object], bool]:
    """A ``wanted`` of :func:`call`: a 2-tuple of these types."""

    def pair(value: object) -> bool:
        return (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], first)
                and isinstance(value[1], second))

    return pair
