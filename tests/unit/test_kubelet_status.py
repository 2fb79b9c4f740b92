"""The kubelet's decisions (actors/kubelet.py pure functions): pod status from what the runtime
reports, whether to restart a container, and the restart back-off."""

from __future__ import annotations

from typing import Any

import pytest

from actors.kubelet import backoff_seconds, pod_status, should_restart
from actors.objects import condition
from actors.runtime import ContainerInfo
from tests.conftest import pod

Object = dict[str, Any]
STARTED, FINISHED = "2030-01-01T00:00:00Z", "2030-01-01T00:00:05Z"


def container(state: str, exit_code: int | None = None, attempt: int = 0) -> ContainerInfo:
    """The runtime's view of the ``app`` container."""
    return ContainerInfo(
        id="c0ffee", pod_uid="uid-1", name="app", attempt=attempt, image="busybox:1.36",
        state=state, exit_code=exit_code, started_at=STARTED,
        finished_at=FINISHED if state == "exited" else None,
    )


def status_of(info: ContainerInfo | None, restart: str = "Always",
              waiting: dict[str, str] | None = None) -> Object:
    app = pod("app", restart=restart)
    containers = {"app": info} if info else {}
    return pod_status(app, containers, waiting or {}, "127.0.0.1", STARTED)


def state_of(status: Object) -> Object:
    return status["containerStatuses"][0]["state"]


def ready(status: Object) -> str | None:
    return (condition({"status": status}, "Ready") or {}).get("status")


def test_pod_without_a_container_yet_is_pending_creating():
    status = status_of(None)
    assert status["phase"] == "Pending"
    assert state_of(status) == {"waiting": {"reason": "ContainerCreating"}}
    assert ready(status) == "False"


def test_pod_whose_image_cannot_be_pulled_is_pending_with_that_reason():
    status = status_of(None, waiting={"app": "ErrImagePull"})
    assert status["phase"] == "Pending"
    assert state_of(status) == {"waiting": {"reason": "ErrImagePull"}}


def test_running_container_makes_the_pod_running_and_ready():
    status = status_of(container("running"))
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["ready"] is True
    assert status["containerStatuses"][0]["containerID"] == "docker://c0ffee"
    assert state_of(status) == {"running": {"startedAt": STARTED}}
    assert ready(status) == "True"


@pytest.mark.parametrize("restart", ["Never", "OnFailure"])
def test_container_exiting_zero_without_restart_completes_the_pod(restart: str):
    status = status_of(container("exited", exit_code=0), restart)
    assert status["phase"] == "Succeeded"
    assert state_of(status)["terminated"]["reason"] == "Completed"
    assert ready(status) == "False"


def test_container_exiting_non_zero_under_never_fails_the_pod():
    status = status_of(container("exited", exit_code=3), "Never")
    assert status["phase"] == "Failed"
    terminated = state_of(status)["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    assert terminated["finishedAt"] == FINISHED


def test_container_exiting_under_always_is_crash_looping_in_a_running_pod():
    status = status_of(container("exited", exit_code=1, attempt=4), "Always")
    entry = status["containerStatuses"][0]
    assert status["phase"] == "Running"
    assert entry["state"] == {"waiting": {"reason": "CrashLoopBackOff"}}
    assert entry["lastState"]["terminated"]["exitCode"] == 1
    assert entry["restartCount"] == 4
    assert entry["ready"] is False


def test_oom_killed_container_says_so():
    info = ContainerInfo(id="c0ffee", pod_uid="uid-1", name="app", attempt=0, image="busybox",
                         state="exited", exit_code=137, oom_killed=True)
    assert state_of(status_of(info, "Never"))["terminated"]["reason"] == "OOMKilled"


def test_condition_keeps_its_transition_time_while_its_status_holds():
    app = pod("app")
    app["status"] = {"conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": STARTED},
        {"type": "ContainersReady", "status": "False", "lastTransitionTime": STARTED}]}
    status = pod_status(app, {"app": container("running")}, {}, "127.0.0.1", STARTED)
    times = {c["type"]: c["lastTransitionTime"] for c in status["conditions"]}
    assert times["Ready"] == STARTED
    assert times["ContainersReady"] != STARTED


@pytest.mark.parametrize(
    ("policy", "exit_code", "restart"),
    [("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 2, True),
     ("Never", 0, False), ("Never", 2, False)],
)
def test_should_restart_follows_the_restart_policy(policy: str, exit_code: int, restart: bool):
    assert should_restart(policy, exit_code) is restart


def test_backoff_doubles_from_the_base_up_to_the_ceiling():
    assert [backoff_seconds(n, 10.0, 300.0) for n in range(8)] == [0, 10, 20, 40, 80, 160, 300, 300]


def test_backoff_stays_at_the_ceiling_after_very_many_restarts():
    # A crash-looping container reaches attempt 1024 after about 3.5 days at the 300 s ceiling.
    assert backoff_seconds(1024, 10.0, 300.0) == 300.0
