"""Docker's container events as the kubelet's :class:`~actors.kubelet.runtime.RuntimeEvent`:
starts, deaths and OOM kills of this runtime's containers.

Docker may tell a container's ``oom`` event after its ``die``, and a pod that failed is
reported once: so a death by SIGKILL that no ``oom`` event explains yet is held, on one queue
for all containers, until its ``oom`` event comes or :data:`OOM_WAIT` has passed. A death the
runtime caused itself (a stop's SIGKILL after the grace period, a forced removal) is told at
once: the runtime marks the container (:meth:`DockerEvents.stopping`) before it acts.

Which thread: one daemon thread reads the engine's event stream and only decodes and hands
over; one more tells the held deaths that came due. ``on_event`` is called from both;
:meth:`DockerEvents.stopping` and :meth:`DockerEvents.oom_killed` from any thread.

Neighbours: ``bindings.runtimes.docker.runtime`` (owns one), ``bindings.runtimes.docker.containers``
(``KILLED``, and ``to_info`` reads :meth:`DockerEvents.oom_killed`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from actors.kubelet.runtime import CONTAINER_NAME, POD_UID, RuntimeEvent
from bindings.runtimes.docker.containers import KILLED

log = logging.getLogger(__name__)

OOM_WAIT = 0.5
"""Seconds a container's death by SIGKILL waits for its ``oom`` event before it is told."""
REMEMBERED = 1024
"""Containers whose ``oom`` events (and stops by the runtime) are remembered."""
ACTIONS = ("start", "die", "oom")
"""The engine's container actions the kubelet is told of."""

OnEvent = Callable[[RuntimeEvent], None]


def decode(event: dict[str, Any]) -> tuple[str, str | None, RuntimeEvent] | None:
    """(container id, exit code, what the kubelet is told) of one engine event; None for an
    action the kubelet is not told of."""
    action = event.get("Action") or event.get("status")
    if action not in ACTIONS:
        return None
    actor = event.get("Actor", {})  # Engine 29 (API 1.52) no longer sends "id"
    ident, attributes = actor.get("ID") or event.get("id", ""), actor.get("Attributes", {})
    told = RuntimeEvent(attributes.get(POD_UID, ""), attributes.get(CONTAINER_NAME, ""), action)
    return ident, attributes.get("exitCode"), told


def waits_for_oom(action: str, exit_code: str | None, explained: bool) -> bool:
    """Whether a death is held for its ``oom`` event: one by SIGKILL that nothing explains yet
    (no ``oom`` event seen, not a kill of the runtime's own)."""
    return action == "die" and exit_code == str(KILLED) and not explained


class Remembered:
    """The ``size`` container ids added last; safe from several threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, ident: str) -> None:
        with self._lock:
            self._ids[ident] = True
            self._ids.move_to_end(ident)
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)

    def __contains__(self, ident: object) -> bool:
        return ident in self._ids

    def take(self, ident: str) -> bool:
        """Whether ``ident`` was remembered; it is not any more."""
        with self._lock:
            return self._ids.pop(ident, False)


class HeldDeaths:
    """Deaths waiting for their ``oom`` event: each told on :meth:`release` or ``wait``
    seconds after :meth:`hold`, whichever comes first, and only once. One queue (the waits
    are equal, so the order held is the order due) and one thread for all containers."""

    def __init__(self, tell: OnEvent, wait: float) -> None:
        self._tell, self._wait = tell, wait
        self._held: OrderedDict[str, tuple[float, RuntimeEvent]] = OrderedDict()
        self._changed = threading.Condition()
        self._closed = False
        threading.Thread(target=self._run, name="docker-oom-wait", daemon=True).start()

    def hold(self, ident: str, event: RuntimeEvent) -> None:
        with self._changed:
            self._held.pop(ident, None)
            self._held[ident] = (time.monotonic() + self._wait, event)
            self._changed.notify()

    def release(self, ident: str) -> None:
        """Tell the death of ``ident`` now, if it is held."""
        with self._changed:
            held = self._held.pop(ident, None)
        if held is not None:
            self._tell(held[1])

    def close(self) -> None:
        """Stop; the deaths still held are never told."""
        with self._changed:
            self._closed = True
            self._changed.notify()

    def _run(self) -> None:
        while (event := self._next_due()) is not None:
            self._tell(event)

    def _next_due(self) -> RuntimeEvent | None:
        """The first held death once it is due (taken off the queue); None once closed."""
        with self._changed:
            while not self._closed:
                if not self._held:
                    self._changed.wait()
                    continue
                ident, (due, event) = next(iter(self._held.items()))
                if due <= time.monotonic():
                    del self._held[ident]
                    return event
                self._changed.wait(due - time.monotonic())
            return None


class DockerEvents:
    """The engine's container events of this runtime's containers (``labels``), handed to
    ``on_event`` from :meth:`watch` until :meth:`close`."""

    def __init__(self, client: Any, labels: list[str]) -> None:
        self.client, self.labels = client, labels
        self._oom_killed = Remembered(REMEMBERED)
        """The containers Docker told an ``oom`` event of."""
        self._stopping = Remembered(REMEMBERED)
        """The containers the runtime is stopping or removing (their SIGKILL is its own)."""
        self._stream: Any = None
        self._held: HeldDeaths | None = None
        self._closed = threading.Event()
        self._closing = threading.Lock()
        """Held to close, and to keep a new stream: one opened as close() runs is closed."""

    def oom_killed(self, ident: str) -> bool:
        """Whether Docker told an ``oom`` event of the container ``ident``."""
        return ident in self._oom_killed

    def stopping(self, ident: str) -> None:
        """Mark a container the runtime is about to stop or remove: its death is told at once."""
        self._stopping.add(ident)

    def watch(self, on_event: OnEvent) -> None:
        self._held = HeldDeaths(on_event, OOM_WAIT)
        threading.Thread(target=self._pump, args=(on_event, self._held), name="docker-events",
                         daemon=True).start()

    def close(self) -> None:
        with self._closing:
            self._closed.set()
            stream = self._stream
        if self._held is not None:
            self._held.close()
        if stream is not None:
            stream.close()

    def _pump(self, on_event: OnEvent, held: HeldDeaths) -> None:
        """Read Docker's event stream until close(); reopen it when the engine drops it, and
        then ask for a relist, since events of the gap are lost."""
        reopened = False
        while not self._closed.is_set():
            try:
                stream = self.client.events(
                    decode=True, filters={"type": "container", "label": self.labels})
                with self._closing:
                    closed = self._closed.is_set()
                    self._stream = None if closed else stream
                if closed:  # while it opened: close() had no stream to close
                    stream.close()
                    return
                if reopened:
                    on_event(RuntimeEvent("", "", "relist"))
                for event in stream:
                    self._hand_over(event, on_event, held)
            except Exception as error:  # a closed or broken stream
                if not self._closed.is_set():
                    log.warning("docker event stream broke (%s); reopening", error)
            reopened = True
            self._closed.wait(1.0)

    def _hand_over(self, event: dict[str, Any], on_event: OnEvent, held: HeldDeaths) -> None:
        """Tell ``on_event`` of a start, a death or an OOM kill; an ``oom`` event releases the
        death it explains, if that is held."""
        decoded = decode(event)
        if decoded is None:
            return
        ident, exit_code, told = decoded
        if told.action == "oom":
            self._oom_killed.add(ident)
            on_event(told)
            held.release(ident)
            return
        stopped = told.action == "die" and self._stopping.take(ident)
        if waits_for_oom(told.action, exit_code, stopped or ident in self._oom_killed):
            held.hold(ident, told)
        else:
            on_event(told)
