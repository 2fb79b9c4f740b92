"""The CLI against a server that dies or freezes (issue 19, clients fail fast): ``kubeactor up
--runtime sim`` in a subprocess, killed with SIGKILL (its nats-server goes with it) or stopped
with SIGSTOP; the CLI as a subprocess, timed from the kill."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import UpProcess, start_up, stop_up

pytestmark = pytest.mark.integration


@pytest.fixture
def doomed(tmp_path: Path) -> Iterator[UpProcess]:
    """A cluster of its own, for one test to kill (stopped after, if still alive)."""
    up = start_up(tmp_path / "up", "--runtime", "sim", "--nodes", "0")
    yield up
    if up.process.poll() is None:
        up.process.send_signal(signal.SIGCONT)
        stop_up(up)


def _configmaps(path: Path, count: int) -> Path:
    path.write_text("".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n"
                            f"data:\n  n: \"{i}\"\n" for i in range(count)))
    return path


def _cli(up: UpProcess, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(up.kubeconfig), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill(up: UpProcess) -> float:
    """SIGKILL the cluster and wait for it; when it was killed (monotonic)."""
    killed = time.monotonic()
    up.process.kill()
    up.process.wait(10)
    return killed


def _read_lines(command: subprocess.Popen[str], count: int) -> list[str]:
    assert command.stdout is not None
    return [command.stdout.readline() for _ in range(count)]


def test_get_pods_fails_within_5s_with_the_server_killed(doomed):
    _kill(doomed)
    started = time.monotonic()
    result = doomed.cli("get", "pods", check=False)
    assert time.monotonic() - started < 5
    assert result.returncode == 1
    assert "Unable to connect to the server" in result.stderr


def test_apply_stops_at_the_first_connection_failure(doomed, tmp_path):
    """200 objects, the server killed after the first 20 (the apply held still meanwhile):
    it exits within 10 s of the kill, once, saying why, not with an error per object."""
    apply = _cli(doomed, "apply", "-f", str(_configmaps(tmp_path / "cms.yaml", 200)))
    assert all("created" in line for line in _read_lines(apply, 20))
    apply.send_signal(signal.SIGSTOP)
    killed = _kill(doomed)
    apply.send_signal(signal.SIGCONT)
    out, err = apply.communicate(timeout=30)
    assert time.monotonic() - killed < 10
    assert apply.returncode == 1
    assert "Unable to connect to the server" in err
    assert len(err.splitlines()) == 1, err
    assert out.count("created") < 180


def test_get_watch_says_the_connection_was_lost_when_the_server_dies(doomed, tmp_path):
    watch = _cli(doomed, "get", "configmaps", "-w")
    doomed.cli("apply", "-f", str(_configmaps(tmp_path / "cm.yaml", 1)))
    assert watch.stdout is not None
    while "cm-0" not in watch.stdout.readline():  # the watch is live
        pass
    killed = _kill(doomed)
    _, err = watch.communicate(timeout=30)
    print("TOOK", time.monotonic() - killed)
    assert time.monotonic() - killed < 10
    assert watch.returncode == 1
    assert "Unable to connect to the server: the connection to the bus" in err
    assert "was lost" in err


def test_sigterm_ends_an_apply_waiting_on_a_frozen_server(doomed, tmp_path):
    """The server stopped (SIGSTOP) after the first objects: each next one would wait out its
    10 s timeout. SIGTERM ends the apply at once, as Ctrl-C does: exit 143, as a shell shows
    kubectl's."""
    apply = _cli(doomed, "apply", "-f", str(_configmaps(tmp_path / "cms.yaml", 200)))
    _read_lines(apply, 5)
    doomed.process.send_signal(signal.SIGSTOP)
    apply.send_signal(signal.SIGTERM)
    terminated = time.monotonic()
    apply.communicate(timeout=30)
    assert time.monotonic() - terminated < 7
    assert apply.returncode == 128 + signal.SIGTERM
