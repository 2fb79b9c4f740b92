"""One pod's sync (actors/kubelet/podsync.py) against an in-memory runtime and API: image pulls and
their back-off, pull policies, env from ConfigMaps, init containers one at a time, an image
update whose pull fails, restarts through the back-off."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from actors.api.meta import now_rfc3339
from actors.api.objects import Object
from actors.kubelet.podaddresses import PodAddresses
from actors.kubelet.podrecord import PodRecord, SyncConfig
from actors.kubelet.podstatus import pod_phase
from actors.kubelet.podsync import PodSync
from actors.kubelet.runtime import ContainerInfo, ExecResult, RuntimeFailure
from actors.kubelet.statuswriter import StatusWriter
from actors.kubelet.timers import Timers
from bus.errors import Forbidden


class FakeRuntime:
    """Containers in a dict; images present are a set; pulls of other images fail."""

    def __init__(self, images: set[str]) -> None:
        self.images = images
        self.containers: dict[str, ContainerInfo] = {}
        self.ids = itertools.count(1)
        self.pulls: list[str] = []
        self.started: list[Object] = []
        self.volumes: dict[str, dict[str, Any]] = {}
        self.created = 0

    def image_present(self, image: str) -> bool:
        return image in self.images

    def pull_image(self, image: str) -> None:
        self.pulls.append(image)
        raise RuntimeFailure("ErrImagePull", "manifest unknown")

    def start_container(self, pod: Object, container: Object, attempt: int,
                        prepare: Callable[[], None] | None = None,
                        created: Callable[[], None] | None = None) -> ContainerInfo:
        if prepare is not None:
            prepare()
        self.created += 1
        if created is not None:
            created()
        self.started.append(container)
        info = ContainerInfo(f"c{next(self.ids)}", pod["metadata"]["uid"], name=container["name"],
                             attempt=attempt, image=container["image"], state="running",
                             started_at=now_rfc3339())
        self.containers[info.id] = info
        return info

    def exit(self, name: str, code: int) -> None:
        for key, info in self.containers.items():
            if info.name == name and info.state == "running":
                self.containers[key] = replace(info, state="exited", exit_code=code,
                                               finished_at=now_rfc3339())

    def backdate(self, attempt: int, started: float = 0.0, finished: float = 0.0) -> None:
        """Make an attempt look started and finished that many seconds ago."""
        for key, info in self.containers.items():
            if info.attempt == attempt:
                self.containers[key] = replace(
                    info, started_at=_ago(started) if started else info.started_at,
                    finished_at=_ago(finished) if finished else info.finished_at)

    def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        return [i for i in self.containers.values() if pod_uid in (None, i.pod_uid)]

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        info = self.containers[container_id]
        self.containers[container_id] = replace(info, state="exited", exit_code=143,
                                                finished_at=now_rfc3339())

    def remove_container(self, container_id: str) -> None:
        self.containers.pop(container_id, None)

    def write_volume(self, pod: Object, volume: str, files: dict[str, Any]) -> None:
        self.volumes[volume] = files

    def exec(self, pod_uid: str, container: str, command: list[str]) -> ExecResult:
        return ExecResult(0, "", "")


def _ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


class FakeClient:
    """ConfigMaps to read; status writes (sent with the client's write options) recorded."""

    def __init__(self, configmaps: dict[str, Object] | None = None) -> None:
        self.configmaps = configmaps or {}
        self.statuses: list[Object] = []

    def list(self, resource: str, namespace: str | None = None, *,
             field_selector: str = "", **_: Any) -> Object:
        """One object by name (``metadata.name=``), as the kubelet's watch lists it."""
        name = field_selector.removeprefix("metadata.name=")
        if not name:  # as the node authorizer answers a kubelet
            raise Forbidden(f'{resource} is forbidden: User "system:node:node-1" cannot list '
                            f'resource "{resource}": No Object name found')
        found = [{"metadata": {"name": name, "namespace": namespace}, **self.configmaps[name]}
                 ] if name in self.configmaps else []
        return {"items": found, "metadata": {"resourceVersion": "1"}}

    def watch(self, resource: str, on_event: Any, **_: Any) -> Any:
        return SimpleNamespace(stop=lambda: None)

    def get(self, resource: str, name: str, namespace: str | None = None) -> Object:
        raise AssertionError(f"{resource} {name} read by a get: the kubelet watches them")

    def write_options(self) -> dict[str, Any]:
        return {"fieldValidation": "Strict"}

    def submit(self, verb: str, resource: str, *, body: Object,
               options: dict[str, Any] | None = None, **_: Any) -> Future[Object]:
        assert options == self.write_options()  # a field the API lacks is refused
        self.statuses.append(body["status"])
        written: Future[Object] = Future()
        written.set_result(body)
        return written


@pytest.fixture
def timers():
    timers = Timers()
    yield timers
    timers.stop()


class Events:
    """A recorder keeping (reason, message) of each event."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, str]] = []

    def record(self, pod: Object, kind: str, reason: str, message: str) -> None:
        self.recorded.append((reason, message))


def syncer(runtime: FakeRuntime, client: FakeClient, timers: Timers,
           recorder: Events | None = None) -> PodSync:
    config = SyncConfig("node-1", "127.0.0.1", backoff_base=10.0, backoff_max=300.0,
                        backoff_reset=600.0)
    return PodSync(client, runtime, config=config, timers=timers,  # type: ignore[arg-type]
                   resubmit=lambda uid: None, forget=lambda uid: None,
                   recorder=recorder, statuses=StatusWriter(4),  # type: ignore[arg-type]
                   addresses=PodAddresses(config.address))


def pod(*containers: Object, **spec: Any) -> Object:
    return {"metadata": {"name": "p", "namespace": "default", "uid": "uid-1"},
            "spec": {"containers": list(containers), "restartPolicy": "Always", **spec},
            "status": {"phase": "Pending"}}


def app(image: str = "busybox:1.35", **fields: Any) -> Object:
    return {"name": "app", "image": image, "imagePullPolicy": "IfNotPresent", **fields}


def waiting(client: FakeClient, key: str = "containerStatuses") -> Object:
    return client.statuses[-1][key][0]["state"].get("waiting", {})


def test_a_failed_pull_is_errimagepull_then_imagepullbackoff_without_pulling_again(timers):
    runtime, client = FakeRuntime(set()), FakeClient()
    sync, record = syncer(runtime, client, timers), PodRecord(pod(app("ghost:1")))
    sync.sync(record)
    first = client.statuses[0]["containerStatuses"][0]["state"]["waiting"]["reason"]
    assert first == "ContainerCreating"  # said before the (slow) pull
    assert waiting(client)["reason"] == "ErrImagePull"
    assert waiting(client)["message"] == 'Failed to pull image "ghost:1": manifest unknown'
    sync.sync(record)
    assert waiting(client) == {"reason": "ImagePullBackOff",
                               "message": 'Back-off pulling image "ghost:1"'}
    assert runtime.pulls == ["ghost:1"]  # not pulled again inside the back-off
    assert client.statuses[-1]["phase"] == "Pending"


def test_pull_policy_never_with_a_missing_image_is_errimageneverpull(timers):
    runtime, client = FakeRuntime(set()), FakeClient()
    syncer(runtime, client, timers).sync(PodRecord(pod(app("ghost:1",
                                                           imagePullPolicy="Never"))))
    assert waiting(client)["reason"] == "ErrImageNeverPull"
    assert runtime.pulls == []


def test_pull_policy_always_pulls_a_present_image(timers):
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    syncer(runtime, client, timers).sync(PodRecord(pod(app(imagePullPolicy="Always"))))
    assert runtime.pulls == ["busybox:1.35"]


def test_env_comes_from_configmaps_and_a_missing_one_is_a_config_error(timers):
    runtime = FakeRuntime({"busybox:1.35"})
    client = FakeClient({"cfg": {"data": {"A": "1", "b": "2"}}})
    env = [{"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "b"}}},
           {"name": "C", "value": "3"}]
    syncer(runtime, client, timers).sync(PodRecord(pod(app(
        env=env, envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "X_"}]))))
    assert runtime.started[0]["env"] == [{"name": "X_A", "value": "1"},
                                         {"name": "X_b", "value": "2"},
                                         {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
    missing = FakeClient()
    syncer(FakeRuntime({"busybox:1.35"}), missing, timers).sync(PodRecord(pod(app(
        env=[{"name": "B", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "b"}}}]))))
    assert waiting(missing) == {"reason": "CreateContainerConfigError",
                                "message": 'configmap "gone" not found'}


def test_a_volume_that_cannot_be_set_up_is_told_before_a_missing_env_source(timers):
    """The kubelet mounts a pod's volumes before it makes a container's config: with both
    missing the pod waits in ContainerCreating (FailedMount), not CreateContainerConfigError;
    with the volume there its files are written all the same."""
    env = [{"name": "B", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "b"}}}]
    mounts = [{"name": "conf", "mountPath": "/conf"}]
    both = FakeClient()
    events = Events()
    runtime = FakeRuntime({"busybox:1.35"})
    syncer(runtime, both, timers, events).sync(PodRecord(pod(
        app(env=env, volumeMounts=mounts), volumes=[{"name": "conf",
                                                     "configMap": {"name": "absent"}}])))
    assert waiting(both)["reason"] == "ContainerCreating"
    assert events.recorded[-1][0] == "FailedMount"
    assert runtime.started == []
    env_only = FakeClient({"cfg": {"data": {"greeting": "hello"}}})
    runtime = FakeRuntime({"busybox:1.35"})
    syncer(runtime, env_only, timers).sync(PodRecord(pod(
        app(env=env, volumeMounts=mounts), volumes=[{"name": "conf",
                                                     "configMap": {"name": "cfg"}}])))
    assert waiting(env_only)["reason"] == "CreateContainerConfigError"
    assert runtime.volumes["conf"]["greeting"].content == b"hello"


def test_a_start_is_told_pulled_created_started_and_started_after_the_status_is_handed_over(
        timers):
    """Pulled (of a present image) is held while the container is created, then told with
    Created before its start (the kubelet's order); Started, and any event after it in the
    sync, once the pod's Running status went to the status writer."""
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    told: list[tuple[str, int, int, int]] = []

    class Counting(Events):
        def record(self, pod: Object, kind: str, reason: str, message: str) -> None:
            told.append((reason, runtime.created, len(runtime.started), len(client.statuses)))

    syncer(runtime, client, timers, Counting()).sync(PodRecord(pod(app())))

    assert told == [("Pulled", 1, 0, 0), ("Created", 1, 0, 0), ("Started", 1, 1, 1)]
    assert client.statuses[0]["phase"] == "Running"


def test_a_pull_is_told_as_it_goes_and_a_failed_start_keeps_its_events_in_order(timers):
    runtime, client, events = FakeRuntime(set()), FakeClient(), Events()
    syncer(runtime, client, timers, events).sync(PodRecord(pod(app("ghost:1"))))
    assert [reason for reason, _ in events.recorded] == ["Pulling", "Failed"]
    runtime, client, events = FakeRuntime({"busybox:1.35"}), FakeClient(), Events()
    syncer(runtime, client, timers, events).sync(PodRecord(pod(
        app(volumeMounts=[{"name": "conf", "mountPath": "/conf"}]),
        volumes=[{"name": "conf", "configMap": {"name": "absent"}}])))
    assert [reason for reason, _ in events.recorded] == ["Pulled", "FailedMount"]


def test_a_reference_without_a_name_is_a_config_error_with_the_apiservers_refusal(timers):
    client = FakeClient()  # found by the cluster fuzz: a secretKeyRef whose name was removed
    syncer(FakeRuntime({"busybox:1.35"}), client, timers).sync(PodRecord(pod(app(
        env=[{"name": "T", "valueFrom": {"secretKeyRef": {"key": "token"}}}]))))
    assert waiting(client)["reason"] == "CreateContainerConfigError"
    assert "No Object name found" in waiting(client)["message"]


def test_a_surprise_in_a_sync_is_a_failed_event_logged_once_not_an_exception(timers, caplog):
    runtime, client, events = FakeRuntime({"busybox:1.35"}), FakeClient(), Events()

    def broken(pod: Object, container: Object, attempt: int, prepare: Any = None,
               created: Any = None) -> ContainerInfo:
        raise KeyError("ports")

    runtime.start_container = broken  # type: ignore[method-assign]
    sync, record = syncer(runtime, client, timers, events), PodRecord(pod(app()))
    sync.sync(record)
    sync.sync(record)  # the same surprise again: said once
    assert [e for e in events.recorded if e[0] == "Failed"] == [
        ("Failed", "Error: KeyError: 'ports'")]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "default/p" in errors[0].getMessage() and errors[0].exc_info


def test_init_containers_run_one_at_a_time_before_the_app(timers):
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    first = {"name": "first", "image": "busybox:1.35"}
    second = {"name": "second", "image": "busybox:1.35"}
    sync, record = syncer(runtime, client, timers), PodRecord(pod(
        app(), initContainers=[first, second]))
    sync.sync(record)
    assert [c["name"] for c in runtime.started] == ["first"]
    assert waiting(client, "initContainerStatuses") == {}
    assert client.statuses[-1]["initContainerStatuses"][1]["state"]["waiting"]["reason"] == (
        "PodInitializing")
    runtime.exit("first", 0)
    sync.sync(record)
    runtime.exit("second", 0)
    sync.sync(record)
    assert [c["name"] for c in runtime.started] == ["first", "second", "app"]
    assert client.statuses[-1]["phase"] == "Running"


def test_a_sidecar_crashing_after_the_pod_started_keeps_it_running_and_initialized(timers):
    """A sidecar (an init container with restartPolicy Always) that started once holds back
    nothing more: its crash loop leaves the pod Running and Initialized, the app running and
    looked after (a sidecar required to run now threw the pod back to Pending, its apps
    reported PodInitializing)."""
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    sidecar = {"name": "logger", "image": "busybox:1.35", "restartPolicy": "Always"}
    sync, record = syncer(runtime, client, timers), PodRecord(pod(app(), initContainers=[sidecar]))
    sync.sync(record)
    sync.sync(record)
    assert [c["name"] for c in runtime.started] == ["logger", "app"]
    for _ in range(2):  # restarted at once, then in back-off
        runtime.exit("logger", 1)
        sync.sync(record)
    status = client.statuses[-1]
    assert status["initContainerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["phase"] == "Running"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Initialized"] == "True"
    assert "running" in status["containerStatuses"][0]["state"]
    runtime.exit("app", 1)
    sync.sync(record)
    assert [c["name"] for c in runtime.started].count("app") == 2  # the app is still restarted


def test_a_job_pods_sidecars_are_stopped_last_first_once_its_app_ended_and_the_pod_ends(timers):
    """concepts/workloads/pods/sidecar-containers (job-sidecar.yaml): with restartPolicy Never,
    the app's exit leaves the pod Running while its sidecars run; the kubelet then stops them,
    the last one first, restarts none, and the pod Succeeded as its app did."""
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    sidecars = [{"name": name, "image": "busybox:1.35", "restartPolicy": "Always"}
                for name in ("logshipper", "proxy")]
    record = PodRecord(pod(app(), initContainers=sidecars, restartPolicy="Never"))
    sync = syncer(runtime, client, timers)
    for _ in range(3):
        sync.sync(record)
    assert [c["name"] for c in runtime.started] == ["logshipper", "proxy", "app"]
    stopped: list[str] = []
    stop = runtime.stop_container
    runtime.stop_container = lambda cid, grace: (  # type: ignore[method-assign]
        stopped.append(runtime.containers[cid].name), stop(cid, grace))
    runtime.exit("app", 0)
    sync.sync(record)
    assert stopped == ["proxy", "logshipper"]
    status = client.statuses[-1]
    assert status["phase"] == "Succeeded"
    assert [list(s["state"]) for s in status["initContainerStatuses"]] == [["terminated"]] * 2
    sync.sync(record)
    assert len(runtime.started) == 3  # nothing restarted


def test_a_pod_whose_app_ended_is_running_while_its_sidecar_runs():
    ran = {"state": {"terminated": {"exitCode": 0}}}
    assert pod_phase("Never", [], [ran], sidecars_running=True) == "Running"
    assert pod_phase("Never", [], [ran]) == "Succeeded"


def test_an_image_update_whose_pull_fails_keeps_the_pod_running(timers):
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    sync, record = syncer(runtime, client, timers), PodRecord(pod(app()))
    sync.sync(record)
    record.pod = pod(app("busybox:9.99"))
    sync.sync(record)
    status = client.statuses[-1]
    assert status["phase"] == "Running"
    entry = status["containerStatuses"][0]
    assert entry["state"]["waiting"]["reason"] == "ErrImagePull"
    assert entry["lastState"]["terminated"]["exitCode"] == 143


def test_the_first_restart_is_at_once_and_the_second_waits_for_the_backoff(timers):
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    sync, record = syncer(runtime, client, timers), PodRecord(pod(app()))
    sync.sync(record)
    runtime.exit("app", 1)
    sync.sync(record)
    assert len(runtime.started) == 2
    assert client.statuses[-1]["containerStatuses"][0]["restartCount"] == 1
    runtime.exit("app", 1)
    sync.sync(record)
    assert len(runtime.started) == 2
    assert waiting(client)["reason"] == "CrashLoopBackOff"
    assert waiting(client)["message"] == "back-off 10s restarting failed container=app " \
        "pod=p_default(uid-1)"
    assert record.timer is not None and not record.timer.cancelled  # woken after the back-off


def test_ten_minutes_of_clean_running_resets_the_restart_backoff(timers):
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    sync, record = syncer(runtime, client, timers), PodRecord(pod(app()))
    sync.sync(record)
    runtime.exit("app", 1)
    sync.sync(record)  # the first restart: at once
    runtime.exit("app", 1)
    sync.sync(record)
    assert waiting(client)["reason"] == "CrashLoopBackOff"  # the second waits 10 s
    runtime.backdate(1, finished=11)
    sync.sync(record)  # ... which have passed
    assert len(runtime.started) == 3
    runtime.backdate(2, started=11 * 60)  # this attempt ran for 11 minutes before dying
    runtime.exit("app", 1)
    sync.sync(record)
    assert len(runtime.started) == 4  # restarted at once: the back-off started again
    assert client.statuses[-1]["containerStatuses"][0]["restartCount"] == 3


def test_an_image_update_replaces_the_container_whatever_the_restart_policy(timers):
    runtime, client = FakeRuntime({"busybox:1.35", "busybox:1.36"}), FakeClient()
    sync, record = syncer(runtime, client, timers), PodRecord(pod(app(), restartPolicy="Never"))
    sync.sync(record)
    record.pod = pod(app("busybox:1.36"), restartPolicy="Never")
    sync.sync(record)
    assert [c["image"] for c in runtime.started] == ["busybox:1.35", "busybox:1.36"]
    entry = client.statuses[-1]["containerStatuses"][0]
    assert (client.statuses[-1]["phase"], entry["restartCount"]) == ("Running", 1)


def test_an_exec_probe_that_hangs_fails_after_its_timeout(timers):
    runtime, client = FakeRuntime({"busybox:1.35"}), FakeClient()
    release = threading.Event()
    runtime.exec = lambda *args: (release.wait(10), ExecResult(0, "", ""))[1]  # type: ignore
    probe = {"exec": {"command": ["true"]}, "timeoutSeconds": 0.2, "periodSeconds": 1}
    sync = syncer(runtime, client, timers)
    record = PodRecord(pod(app(readinessProbe=probe)))
    try:
        began = time.monotonic()
        sync.sync(record)
        assert time.monotonic() - began < 5
        assert record.probes[("app", "readinessProbe")].state.failures == 1
        assert client.statuses[-1]["containerStatuses"][0]["ready"] is False
    finally:
        release.set()
        sync.close()
