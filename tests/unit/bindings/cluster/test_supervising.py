"""``up``'s children (bindings/cluster/supervising.py): started until ready, started again
after they exit with a growing pause, all ended by stop."""

from __future__ import annotations

import os
import signal

import pytest

from bindings.cluster import supervising
from bindings.cluster.config import ClusterError
from bindings.cluster.supervising import Child, Supervisor, backoff
from tests.support import until


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
