"""Pod workers and timers (actors/kubelet/podworkers.py, actors/kubelet/timers.py): one pod's work
runs in order and alone, other pods' work runs beside it; timers fire on one thread."""

from __future__ import annotations

import threading

from actors.kubelet.podworkers import PodWorkers
from actors.kubelet.timers import Timers


def test_a_blocked_pod_does_not_hold_up_another_pod():
    workers = PodWorkers(max_workers=2)
    release, other_ran = threading.Event(), threading.Event()
    try:
        workers.submit("slow", lambda: release.wait(10))
        workers.submit("fast", other_ran.set)
        assert other_ran.wait(5)
    finally:
        release.set()
        workers.stop()


def test_work_for_one_pod_never_overlaps_and_the_latest_waiting_work_runs():
    workers = PodWorkers(max_workers=4)
    release, done = threading.Event(), threading.Event()
    ran: list[str] = []
    try:
        workers.submit("pod", lambda: (release.wait(10), ran.append("first")))
        workers.submit("pod", lambda: ran.append("replaced"))
        workers.submit("pod", lambda: (ran.append("latest"), done.set()))
        release.set()
        assert done.wait(5)
        assert ran == ["first", "latest"]
    finally:
        workers.stop()


def test_timers_fire_in_order_of_their_deadlines_and_cancelled_ones_never():
    timers = Timers()
    fired: list[str] = []
    done = threading.Event()
    try:
        timers.call_later(0.2, lambda: (fired.append("late"), done.set()))
        timers.call_later(0.05, lambda: fired.append("early"))
        timers.call_later(0.1, lambda: fired.append("cancelled")).cancel()
        assert done.wait(5)
        assert fired == ["early", "late"]
    finally:
        timers.stop()
