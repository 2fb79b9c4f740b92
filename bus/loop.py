"""The asyncio loop threads where everything NATS happens: the process's bus loop, and a
loop of its own for a connection that must not wait behind the others (:class:`Loop`: the
apiserver's exempt lane, docs/DESIGN.md "Priority lanes").

Actor threads never touch nats-py objects directly: they submit coroutines with
:func:`submit`, which returns a ``concurrent.futures.Future`` they may wait on (on their own
thread, never on the loop's); a coroutine of another event loop awaits :func:`awaited`. Each
thread is a daemon started on first use. The module's functions are the bus loop's
(:data:`BUS`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

class Loop:
    """One asyncio loop on a daemon thread of its own, named ``name``, started on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop, started on first call."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name=self.name,
                                                daemon=True)
                self._thread.start()
            return self._loop

    def on_loop_thread(self) -> bool:
        """True when called from this loop's thread (where blocking is forbidden)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on this loop from any thread; return its future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop())

    def wait(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on this loop and block this (other) thread for its result.

        Raises RuntimeError when called on the loop's thread, where it would deadlock.
        """
        if self.on_loop_thread():
            coro.close()
            raise RuntimeError(f"wait() called on the {self.name} thread; use 'await' there, "
                               "or tell an actor")
        return self.submit(coro).result(timeout)


BUS = Loop("kubeactor-bus-loop")
"""The process's bus loop: every connection's but a lane's."""


def loop() -> asyncio.AbstractEventLoop:
    """The shared bus loop, started on first call."""
    return BUS.loop()


def on_loop_thread() -> bool:
    """True when called from the bus loop thread (where blocking is forbidden)."""
    return BUS.on_loop_thread()


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on the bus loop from any thread; return its future."""
    return BUS.submit(coro)


def wait(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the bus loop and block this (non-loop) thread for its result.

    Raises RuntimeError when called on the loop thread, where it would deadlock.
    """
    return BUS.wait(coro, timeout)


def call_later(delay: float, callback: Callable[[], None]) -> concurrent.futures.Future[None]:
    """Run ``callback`` on the loop thread after ``delay`` seconds (it must not block: tell an
    actor). Cancel with the returned future's ``cancel()`` from any thread. A timer, not a
    thread: many may be pending at little cost."""

    async def later() -> None:
        await asyncio.sleep(delay)
        callback()

    return submit(later())


async def awaited(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the bus loop and await its outcome on the calling event loop, which
    runs on another thread (the HTTPS listener's): one hand-over each way, batched
    (:class:`Handover`), and none of the ``concurrent.futures.Future`` objects that
    :func:`submit` with ``asyncio.wrap_future`` make (two, each with its lock and condition).
    Cancelling the caller cancels ``coro``."""
    here, bus = asyncio.get_running_loop(), loop()
    back = handover(here)
    outcome: asyncio.Future[T] = here.create_future()
    started: list[asyncio.Task[T]] = []

    def begin() -> None:  # bus loop thread
        task = bus.create_task(coro)
        task.add_done_callback(functools.partial(_hand_back, back, outcome))
        started.append(task)

    to_bus = handover(bus)
    to_bus.call(begin)
    try:
        return await outcome
    except asyncio.CancelledError:
        to_bus.call(lambda: [task.cancel() for task in started])
        raise


class Handover:
    """Calls to run on ``loop``'s thread, made from other threads; a burst of them costs one
    wake-up of the loop. ``call_soon_threadsafe`` writes to the loop's self-pipe on every call,
    a system call that gives up the GIL: a fifth of the HTTPS front's time when each request
    made two. The first call of a burst schedules the run of all; the others only queue (as
    ``BusActor.tell_soon``). Nothing runs once ``loop`` is closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._calls: list[Callable[[], object]] = []
        self._lock = threading.Lock()

    def call(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the loop's thread soon, after those queued before (any
        thread); it must not block."""
        with self._lock:
            self._calls.append(callback)
            if len(self._calls) > 1:  # the loop already holds the run for them
                return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self.loop.call_soon_threadsafe(self._run)

    def _run(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for callback in calls:
            try:
                callback()
            except Exception as error:  # as asyncio's own handles report theirs
                self.loop.call_exception_handler({"message": "a handed-over call failed",
                                                  "exception": error})


_handovers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Handover] = (
    weakref.WeakKeyDictionary())
_handovers_lock = threading.Lock()


def handover(target: asyncio.AbstractEventLoop) -> Handover:
    """The one :class:`Handover` of ``target`` (made on first use)."""
    with _handovers_lock:
        found = _handovers.get(target)
        if found is None:
            found = _handovers[target] = Handover(target)
        return found


def _hand_back(back: Handover, outcome: asyncio.Future[T], done: asyncio.Task[T]) -> None:
    """Copy ``done``'s outcome to ``outcome`` on ``back``'s loop (bus loop thread: queues
    it)."""
    if not done.cancelled():
        done.exception()  # retrieved: never logged as lost when nobody waits for it
    back.call(functools.partial(_copy, done, outcome))


def _copy(done: asyncio.Task[T], outcome: asyncio.Future[T]) -> None:
    if outcome.done():
        return
    if done.cancelled():
        outcome.cancel()
    elif (error := done.exception()) is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(done.result())
