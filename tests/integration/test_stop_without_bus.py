"""A process whose nats-server died ends promptly on SIGTERM, as a kubelet or a
kube-scheduler whose apiserver is gone does: what its stop still sends (a Lease released, each
informer's watch stopped) is not waited for on a bus that is gone. (It waited each request's
deadline: a standalone scheduler took 29 s, a control plane whose controllers were stepping
down more than a minute.)"""

from __future__ import annotations

import os
import queue
import signal
import time

import pytest

from tests.processes import UpProcess, start_joining, start_up

pytestmark = pytest.mark.integration

PROMPT = 15.0
"""Seconds a SIGTERM may take to end a process whose bus is gone (kubelet's default grace
period is 30 s; each request's deadline is 10 s)."""


def lost_the_bus(process: UpProcess) -> None:
    """Wait for ``process`` to say it lost its bus."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = process.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if "lost the bus" in line:
            return
    raise AssertionError("the process never said it lost the bus")


def test_a_sigterm_ends_a_scheduler_and_a_control_plane_whose_nats_server_died(tmp_path):
    server = start_up(tmp_path / "cp", "--disable-scheduler", verb="server")
    scheduler = start_joining(server, "scheduler")
    try:
        os.kill(int((server.data_dir / "nats" / "nats-server.pid").read_text()), signal.SIGKILL)
        for process in (scheduler, server):
            lost_the_bus(process)
        for process in (scheduler, server):
            started = time.monotonic()
            process.process.send_signal(signal.SIGTERM)
            assert process.process.wait(timeout=PROMPT + 30) == 0
            assert time.monotonic() - started < PROMPT
    finally:
        for process in (scheduler, server):
            process.process.kill()
            process.process.wait()
