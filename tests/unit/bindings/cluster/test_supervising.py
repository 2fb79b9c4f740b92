"""``up``'s children (bindings/cluster/supervising.py): started until ready, started again
after they exit with a growing pause, all ended by stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from bindings.cluster import supervising
from bindings.cluster.config import ClusterError
from bindings.cluster.supervising import Child, Supervisor, backoff
from tests.support import alive, until


def test_the_pause_doubles_while_a_child_keeps_failing_and_resets_once_it_ran_a_while():
    assert backoff(0, 0.5) == supervising.FIRST_BACKOFF_SECONDS
    assert backoff(4, 2) == 8
    assert backoff(20, 2) == supervising.MAX_BACKOFF_SECONDS
    assert backoff(20, supervising.STEADY_SECONDS) == supervising.FIRST_BACKOFF_SECONDS


def test_a_killed_child_is_started_again_and_stop_ends_it():
    supervisor = Supervisor()
    child = Child("sleeper", ["sh", "-c", "echo ready; exec sleep 60"])
    supervisor.start([child])
    try:
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        until(lambda: child.restarts == 1 and child.pid != first, timeout=30,
              failure="the child was not started again")
    finally:
        supervisor.stop()
    assert child.process is not None and child.process.poll() is not None


def test_a_child_that_never_says_ready_fails_the_start(monkeypatch):
    monkeypatch.setattr(supervising, "READY_TIMEOUT_SECONDS", 0.5)
    supervisor = Supervisor()
    silent = Child("silent", ["sh", "-c", "exec sleep 60"])
    with pytest.raises(ClusterError, match="silent did not start"):
        supervisor.start([silent])
    assert silent.process is not None and silent.process.poll() is not None


def test_a_signal_while_waiting_for_ready_stops_the_children_at_once():
    supervisor = Supervisor()
    silent = Child("silent", ["sh", "-c", "exec sleep 60"])
    asked = []  # the second look at ``stopped`` (the first is before the children start)
    assert supervisor.start([silent], stopped=lambda: asked.append(1) or len(asked) > 1) is False
    assert silent.process is not None and silent.process.poll() is not None


def test_a_signal_before_the_start_starts_no_child():
    silent = Child("silent", ["sh", "-c", "exec sleep 60"])
    assert Supervisor().start([silent], stopped=lambda: True) is False
    assert silent.process is None


def test_a_child_exits_once_its_supervisor_is_gone(tmp_path):
    """A supervisor (a Python child of this test) is SIGKILLed: its child, which called
    ``exit_with_parent`` and ignores SIGTERM (no parent-death signal would end it), exits."""
    pidfile = tmp_path / "pid"
    grandchild = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "from bindings.cluster.supervising import exit_with_parent; "
                  "exit_with_parent(); print('ready', flush=True); time.sleep(60)")
    parent = ("import sys; from bindings.cluster.supervising import Child, Supervisor; "
              f"s = Supervisor(); c = Child('g', [sys.executable, '-c', {grandchild!r}]); "
              f"s.start([c]); open({str(pidfile)!r}, 'w').write(str(c.pid)); "
              "import time; time.sleep(60)")
    supervisor = subprocess.Popen([sys.executable, "-c", parent], stderr=subprocess.DEVNULL)
    try:
        pid = int(until(lambda: pidfile.exists() and pidfile.read_text(), timeout=30,
                        failure="the supervisor never started its child"))
    finally:
        supervisor.kill()
        supervisor.wait()
    until(lambda: not alive(pid), timeout=5, failure="the child outlived its supervisor")
