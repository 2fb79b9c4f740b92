"""The kubelet's decisions as pure functions (actors/kubelet/podstatus.py,
actors/kubelet/probing.py): pod status from what the runtime reports, restarts and their back-off,
probe verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.meta import condition
from actors.api.objects import Object
from actors.kubelet.podstatus import (
    ContainerView,
    backoff_seconds,
    crash_count,
    pod_status,
    should_restart,
)
from actors.kubelet.probing import failed_for_good, initial, record
from actors.kubelet.runtime import ContainerInfo
from tests.conftest import pod

STARTED, FINISHED = "2030-01-01T00:00:00Z", "2030-01-01T00:00:05Z"


def container(state: str, exit_code: int | None = None, attempt: int = 0,
              name: str = "app") -> ContainerInfo:
    """The runtime's view of one container."""
    return ContainerInfo(
        id=f"c0ffee{attempt}", pod_uid="uid-1", name=name, attempt=attempt,
        image="busybox:1.35", state=state, exit_code=exit_code, started_at=STARTED,
        finished_at=FINISHED if state == "exited" else None,
    )


def status_of(info: ContainerInfo | None, restart: str = "Always",
              waiting: tuple[str, str] | None = None, **view: Any) -> Object:
    app = pod("app", restart=restart)
    spec = app["spec"]["containers"][0]
    return pod_status(app, [], [ContainerView(spec, info, waiting=waiting, **view)],
                      "127.0.0.1", STARTED)


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
    status = status_of(None, waiting=("ErrImagePull", "not found"))
    assert status["phase"] == "Pending"
    assert state_of(status) == {"waiting": {"reason": "ErrImagePull", "message": "not found"}}


def test_running_container_makes_the_pod_running_and_ready():
    status = status_of(container("running"))
    entry = status["containerStatuses"][0]
    assert status["phase"] == "Running"
    assert (entry["ready"], entry["started"]) == (True, True)
    assert entry["containerID"] == "docker://c0ffee0"
    assert state_of(status) == {"running": {"startedAt": STARTED}}
    assert ready(status) == "True"


def test_readiness_probe_failing_keeps_a_running_container_unready():
    status = status_of(container("running"), ready=False)
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["ready"] is False
    assert ready(status) == "False"
    reason = condition({"status": status}, "Ready") or {}
    assert reason["reason"] == "ContainersNotReady"
    assert reason["message"] == "containers with unready status: [app]"


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


def test_container_waiting_to_restart_is_crash_looping_in_a_running_pod():
    status = status_of(container("exited", exit_code=1, attempt=4), "Always",
                       waiting=("CrashLoopBackOff", "back-off 40s"))
    entry = status["containerStatuses"][0]
    assert status["phase"] == "Running"
    assert entry["state"] == {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": "back-off 40s"}}
    assert entry["lastState"]["terminated"]["exitCode"] == 1
    assert entry["restartCount"] == 4
    assert entry["ready"] is False


def test_running_restart_shows_the_previous_attempt_as_last_state():
    app = pod("app")
    spec = app["spec"]["containers"][0]
    status = pod_status(app, [], [ContainerView(spec, container("running", attempt=1),
                                                container("exited", 2, attempt=0))],
                        "127.0.0.1", STARTED)
    entry = status["containerStatuses"][0]
    assert entry["restartCount"] == 1
    assert entry["lastState"]["terminated"]["exitCode"] == 2


def test_oom_killed_container_says_so():
    info = ContainerInfo(id="c0ffee", pod_uid="uid-1", name="app", attempt=0, image="busybox",
                         state="exited", exit_code=137, oom_killed=True)
    assert state_of(status_of(info, "Never"))["terminated"]["reason"] == "OOMKilled"


def test_one_container_still_creating_keeps_a_two_container_pod_pending():
    app = pod("app")
    first = app["spec"]["containers"][0]
    second = {**first, "name": "side"}
    status = pod_status(app, [], [ContainerView(first, container("running")),
                                  ContainerView(second)], "127.0.0.1", STARTED)
    assert status["phase"] == "Pending"


def test_pod_with_an_init_container_running_is_pending_and_not_initialized():
    app = pod("app")
    init = {"name": "setup", "image": "busybox:1.35"}
    app["spec"]["initContainers"] = [init]
    status = pod_status(app, [ContainerView(init, container("running", name="setup"))],
                        [ContainerView(app["spec"]["containers"][0],
                                       waiting=("PodInitializing", ""))], "127.0.0.1", STARTED)
    assert status["phase"] == "Pending"
    initialized = condition({"status": status}, "Initialized") or {}
    assert (initialized["status"], initialized["message"]) == (
        "False", "containers with incomplete status: [setup]")
    assert status["initContainerStatuses"][0]["state"] == {"running": {"startedAt": STARTED}}
    assert state_of(status) == {"waiting": {"reason": "PodInitializing"}}


def test_failed_init_container_fails_a_never_restarting_pod():
    app = pod("app", restart="Never")
    init = {"name": "setup", "image": "busybox:1.35"}
    status = pod_status(app, [ContainerView(init, container("exited", 1, name="setup"))],
                        [ContainerView(app["spec"]["containers"][0])], "127.0.0.1", STARTED)
    assert status["phase"] == "Failed"


def test_condition_keeps_its_transition_time_while_its_status_holds():
    app = pod("app")
    app["status"] = {"conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": STARTED},
        {"type": "ContainersReady", "status": "False", "lastTransitionTime": STARTED}]}
    spec = app["spec"]["containers"][0]
    status = pod_status(app, [], [ContainerView(spec, container("running"))], "127.0.0.1",
                        STARTED)
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


def test_init_containers_restart_until_they_succeed_unless_never():
    assert should_restart("Always", 1, init=True) is True
    assert should_restart("Always", 0, init=True) is False
    assert should_restart("Never", 1, init=True) is False


def test_backoff_doubles_from_the_base_up_to_the_ceiling():
    assert [backoff_seconds(n, 10.0, 300.0) for n in range(8)] == [0, 10, 20, 40, 80, 160, 300, 300]


def test_backoff_stays_at_the_ceiling_after_very_many_restarts():
    # A crash-looping container reaches attempt 1024 after about 3.5 days at the 300 s ceiling.
    assert backoff_seconds(1024, 10.0, 300.0) == 300.0


def test_ten_minutes_of_clean_running_resets_the_crash_count():
    assert crash_count(5, ran_seconds=3.0, reset_seconds=600) == 6
    assert crash_count(5, ran_seconds=600.0, reset_seconds=600) == 1


def test_probe_verdict_flips_only_at_its_thresholds():
    spec = {"failureThreshold": 2, "successThreshold": 2}
    live = initial("livenessProbe")
    assert live.result is True
    once = record(live, False, spec)
    assert once.result is True and not failed_for_good("livenessProbe", once, spec)
    twice = record(once, False, spec)
    assert twice.result is False and failed_for_good("livenessProbe", twice, spec)
    healed = record(record(twice, True, spec), True, spec)
    assert healed.result is True
    ready_probe = record(initial("readinessProbe"), True, spec)
    assert ready_probe.result is False  # one success of two
    assert record(ready_probe, True, spec).result is True


def test_startup_probe_fails_for_good_only_after_its_threshold():
    spec = {"failureThreshold": 3}
    state = initial("startupProbe")
    for _ in range(2):
        state = record(state, False, spec)
        assert not failed_for_good("startupProbe", state, spec)
    assert failed_for_good("startupProbe", record(state, False, spec), spec)
