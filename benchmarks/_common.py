"""What the benchmarks share: starting the processes they measure, timing concurrent calls,
and sampling a process with py-spy.

Neighbours: ``api_throughput.py`` and ``scheduler_throughput.py`` (each imports this module
as ``_common``: a benchmark runs as a script, its own directory first on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO


def start(args: list[str]) -> subprocess.Popen[str]:
    """Start ``args`` and return once it printed a line holding ``ready`` of its own (not one
    of the lines of ``up``'s children, which it relays after ``[NAME]``). What it prints
    after is read and dropped on a thread of its own: a full pipe would stop the process
    at its next log line (a scheduler's bus loop stalled so, logging its 429s)."""
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    stdout = process.stdout
    assert stdout is not None
    for line in stdout:
        if "ready" in line and not line.startswith("["):
            threading.Thread(target=_drain, args=(stdout,), name="drain", daemon=True).start()
            return process
    raise RuntimeError(f"{args[:4]} did not start")


def _drain(stream: IO[str]) -> None:
    for _ in stream:  # line by line, nothing kept
        pass


@dataclass(frozen=True, slots=True)
class Measured:
    """``total`` calls made by ``concurrency`` workers."""

    seconds: float
    """From the first call's start to the last call's end."""
    rps: float
    p50_ms: float
    p99_ms: float


async def measure(call: Callable[[int], Awaitable[None]], total: int,
                  concurrency: int) -> Measured:
    """Run ``call(0..total-1)`` with ``concurrency`` workers, timing each call."""
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            began = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return Measured(elapsed, total / elapsed, percentile(latencies, 0.5) * 1000,
                    percentile(latencies, 0.99) * 1000)


def percentile(ordered: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the (sorted) values lie."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far (Linux ``/proc``): what a
    request costs the server, which a shared machine's noise disturbs less than throughput."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profiler(pid: int, output: Path | None) -> subprocess.Popen[bytes] | None:
    """py-spy sampling process ``pid`` until sent SIGINT (only the thread holding the GIL:
    where the CPU of a one-process cluster goes; raw format, one line per stack), or None
    without ``output``."""
    if output is None:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--threads", "--format",
                             "raw", "--gil", "--nonblocking", "-o", str(output)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
