"""Child processes of ``kubeactor up`` (agents of simulated nodes, the scheduler, the
controller manager: ``bindings.cluster.layout``), each started until it says it is ready and
restarted whenever it exits while the cluster runs, as systemd restarts a kubelet
(``Restart=always``): after 1 s, doubling up to 30 s while it keeps failing within a minute of
its start. A restarted scheduler or controller manager leads again through its Lease once the
dead one's has expired; a restarted agent's kubelets renew their Leases and report their pods
again.

Each child dies with ``up``: Linux's parent-death signal SIGTERMs it, and it exits at once
when the pipe only ``up`` writes to reads end-of-file (``exit_with_parent``: also where there
is no prctl, or ``up`` died before the child asked for the signal; a child's graceful stop
would wait on the bus, which died with ``up``). ``stop`` ends them all with SIGTERM (SIGKILL
after a grace period), and so does a signal to ``up`` while it waits for them to be ready.
Their output goes to ``up``'s stderr, each line after the child's name.

Neighbours: ``bindings.cli.daemons`` (gives each child's command line), ``bus.server``
(``die_with_parent``), ``bindings.cli.main`` (calls ``exit_with_parent`` in every child).
Which thread: ``start`` and ``stop`` the caller's; one thread per child reads its output and
restarts it (it blocks on the pipe, then on the back-off); in a child, one thread waits for
the parent's end of the pipe to close.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bindings.cluster.config import ClusterError
from bus.server import die_with_parent

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
STEADY_SECONDS = 60.0
"""A child that ran this long before exiting is restarted after the first back-off again."""
STOP_GRACE_SECONDS = 30.0
READY_TIMEOUT_SECONDS = 300.0
"""How long a child may take to say ready at the first start (an agent of a thousand nodes
registers them all first)."""
READY_POLL_SECONDS = 0.2
"""How often ``start`` looks whether a signal asked it to give up waiting."""
PARENT_PIPE_VARIABLE = "KUBEACTOR_PARENT_PIPE"
"""In a child's environment: the descriptor of its end of the pipe only its parent writes
to."""


@dataclass
class Child:
    """One supervised process."""

    name: str
    """What its output lines start with, and what the log calls it."""
    argv: Sequence[str]
    process: subprocess.Popen[str] | None = None
    restarts: int = 0
    """How many times it was started again after exiting."""
    ready: threading.Event = field(default_factory=threading.Event)
    """Set when its first start said ready."""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


def backoff(previous: float, ran_seconds: float) -> float:
    """The pause before the next start of a child that ran ``ran_seconds`` and was paused
    ``previous`` before it (0: never)."""
    if ran_seconds >= STEADY_SECONDS or previous == 0:
        return FIRST_BACKOFF_SECONDS
    return min(MAX_BACKOFF_SECONDS, previous * 2)


class Supervisor:
    """Starts children, keeps them running, stops them."""

    def __init__(self) -> None:
        self.children: dict[str, Child] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        """Held to start a child again and to begin stopping: no start after stop's SIGTERMs."""
        self._lifeline, self._held = os.pipe()
        """The children's end (each inherits it) and ours, which only this process holds (a
        descriptor not passed is closed in a child): it closes when this process dies."""

    def start(self, children: Sequence[Child],
              stopped: Callable[[], bool] = lambda: False) -> bool:
        """Start every child at once, then wait until each has said ready: True; False once
        ``stopped()`` (a signal came: the children are stopped then); ClusterError naming one
        that exited or stayed silent (the others are stopped then)."""
        for child in children if not stopped() else ():
            self.children[child.name] = child
            self._spawn(child)
            threading.Thread(target=self._supervise, args=(child,), daemon=True,
                             name=f"supervise-{child.name}").start()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for child in children:
            while not child.ready.wait(min(READY_POLL_SECONDS,
                                           max(0.0, deadline - time.monotonic()))):
                if stopped():
                    self.stop()
                    return False
                if time.monotonic() >= deadline:
                    self.stop()
                    raise ClusterError(f"{child.name} did not start; see its output above")
        return not stopped()

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1",
                 PARENT_PIPE_VARIABLE: str(self._lifeline)},
            pass_fds=(self._lifeline,), preexec_fn=die_with_parent)

    def _supervise(self, child: Child) -> None:
        """The child's thread: relay its output, restart it when it exits (until stop)."""
        pause = 0.0
        while True:
            began = time.monotonic()
            self._relay(child)
            assert child.process is not None
            code = child.process.wait()
            if self._stopping.is_set():
                return
            pause = backoff(pause, time.monotonic() - began)
            log.warning("%s exited with code %s; starting it again in %.0f s", child.name, code,
                        pause)
            if self._stopping.wait(pause):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                child.restarts += 1
                self._spawn(child)

    def _relay(self, child: Child) -> None:
        """Copy the child's output to stderr until it closes; set ``ready`` when it says
        so."""
        assert child.process is not None and child.process.stdout is not None
        with child.process.stdout:
            for line in child.process.stdout:
                print(f"[{child.name}] {line}", end="", file=sys.stderr, flush=True)
                if "ready" in line:
                    child.ready.set()

    def stop(self) -> None:
        """SIGTERM every child, SIGKILL those still running after the grace period.
        Idempotent."""
        with self._lock:
            self._stopping.set()
            running = [c.process for c in self.children.values()
                       if c.process is not None and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def exit_with_parent() -> None:
    """In a child of a ``Supervisor`` (its environment names its end of the pipe): exit
    (143, as by SIGTERM) as soon as the parent is gone, from a thread that waits for the
    pipe's end-of-file. Nothing elsewhere."""
    lifeline = os.environ.pop(PARENT_PIPE_VARIABLE, None)
    if lifeline is not None:
        os.set_inheritable(int(lifeline), False)  # not held by the child's own children
        threading.Thread(target=_exit_at_end_of_file, args=(int(lifeline),), daemon=True,
                         name="parent-lifeline").start()


def _exit_at_end_of_file(lifeline: int) -> None:
    while os.read(lifeline, 1):  # nothing is ever written: only the end of the file comes
        pass
    log.warning("the supervising process is gone; exiting")
    os._exit(128 + signal.SIGTERM)
