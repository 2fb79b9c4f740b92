"""``bus.loop.awaited``: a coroutine of another event loop awaits work run on the bus loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bus import loop as bus_loop


async def _on_bus_loop(value: int) -> tuple[int, bool]:
    await asyncio.sleep(0)
    return value * 2, bus_loop.on_loop_thread()


async def _fails() -> None:
    raise KeyError("nope")


def test_the_coroutine_runs_on_the_bus_loop_and_its_result_comes_back():
    assert asyncio.run(asyncio.wait_for(bus_loop.awaited(_on_bus_loop(21)), 5)) == (42, True)


def test_its_exception_comes_back():
    with pytest.raises(KeyError, match="nope"):
        asyncio.run(asyncio.wait_for(bus_loop.awaited(_fails()), 5))


def test_cancelling_the_caller_cancels_the_coroutine_on_the_bus_loop():
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def caller() -> None:
        waiting = asyncio.ensure_future(bus_loop.awaited(forever()))
        await asyncio.to_thread(started.wait, 5)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(asyncio.wait_for(caller(), 5))
    assert cancelled.wait(5)


class _Loop:
    """The part of an event loop a Handover uses: what it was asked to run soon."""

    def __init__(self) -> None:
        self.scheduled: list = []

    def call_soon_threadsafe(self, callback) -> None:
        self.scheduled.append(callback)

    def call_exception_handler(self, context) -> None:
        self.failed = context["exception"]


def test_a_burst_of_handed_over_calls_wakes_the_loop_once_and_runs_in_order():
    target, ran = _Loop(), []
    handover = bus_loop.Handover(target)  # type: ignore[arg-type]
    for number in range(3):
        handover.call(lambda number=number: ran.append(number))
    assert len(target.scheduled) == 1
    target.scheduled.pop()()
    assert ran == [0, 1, 2]
    handover.call(lambda: ran.append(3))  # a new burst: a new wake-up
    assert len(target.scheduled) == 1


def test_a_failing_handed_over_call_is_reported_and_the_next_ones_still_run():
    target, ran = _Loop(), []
    handover = bus_loop.Handover(target)  # type: ignore[arg-type]
    handover.call(lambda: 1 / 0)
    handover.call(lambda: ran.append("after"))
    target.scheduled.pop()()
    assert isinstance(target.failed, ZeroDivisionError) and ran == ["after"]
