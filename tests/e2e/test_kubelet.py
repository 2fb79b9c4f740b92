"""The kubelet on real Docker (busybox:1.35): restarts and their back-off, probes, image pulls,
graceful deletion, init containers, env from ConfigMaps, volumes, limits (and OOMKilled),
workingDir, logs -f."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api.objects import Object
from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE, remove_containers
from tests.processes import UpProcess, start_up, stop_up

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_engine) -> Iterator[UpProcess]:
    """A cluster whose kubelet backs off 1 s (doubling) instead of Kubernetes' 10 s."""
    up = start_up(tmp_path_factory.mktemp("kubelet"), "--restart-backoff-base", "1")
    yield up
    if up.process.poll() is None:
        stop_up(up)
    remove_containers(docker_engine, up.data_dir)


def apply(cluster: UpProcess, tmp_path: Path, *objects: Object) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))
    cluster.cli("create", "-f", str(path))


def pod(name: str, *containers: Object, **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": list(containers), **spec}}


def shell(name: str, script: str, **fields: Any) -> Object:
    return {"name": name, "image": IMAGE, "command": ["sh", "-c", script], **fields}


def container_state(name: str = "", init: bool = False):
    """The state of container ``name`` (the first when empty) of a pod, or {}."""
    def of(obj: Object) -> Object:
        key = "initContainerStatuses" if init else "containerStatuses"
        for status in obj.get("status", {}).get(key) or []:
            if not name or status["name"] == name:
                return status
        return {}
    return of


def waiting_reason(obj: Object) -> str | None:
    return container_state()(obj).get("state", {}).get("waiting", {}).get("reason")


def ready(obj: Object) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in obj.get("status", {}).get("conditions") or [])


def events_of(cluster: UpProcess, name: str) -> list[Object]:
    listing = json.loads(cluster.cli("get", "events", "-o", "json").stdout)
    return [e for e in listing["items"] if e["involvedObject"]["name"] == name]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_crash_looping_pod_shows_crashloopbackoff_and_a_growing_restart_count(cluster, admin):
    cluster.cli("run", "crasher", "--image", IMAGE, "--", "sh", "-c", "exit 1")
    looping = wait_for(admin, "pods", "crasher", lambda p: waiting_reason(p) == "CrashLoopBackOff"
                       and container_state()(p)["restartCount"] >= 2)
    status = container_state()(looping)
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["state"]["waiting"]["message"].startswith("back-off ")
    assert looping["status"]["phase"] == "Running"
    assert "CrashLoopBackOff" in cluster.cli("get", "pod", "crasher").stdout
    backoffs = [e for e in events_of(cluster, "crasher") if e["reason"] == "BackOff"]
    assert backoffs and backoffs[0]["source"]["component"] == "kubelet"
    cluster.cli("delete", "pod", "crasher", "--grace-period", "0")


def test_failing_liveness_probe_restarts_the_container(cluster, admin, tmp_path):
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1,
             "failureThreshold": 1}
    apply(cluster, tmp_path, pod("sickly", shell(
        "app", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600",
        livenessProbe=probe)))
    wait_for(admin, "pods", "sickly", lambda p: container_state()(p).get("restartCount", 0) >= 1)
    messages = {e["message"] for e in events_of(cluster, "sickly")}
    assert "Container app failed liveness probe, will be restarted" in messages
    assert any(m.startswith("Liveness probe failed") for m in messages)
    cluster.cli("delete", "pod", "sickly", "--grace-period", "0")


def test_readiness_probe_drives_ready_http_on_the_host_network(cluster, admin, tmp_path):
    port = free_port()
    script = (f"mkdir /www; echo ok > /www/index.html; sleep 2; "
              f"exec httpd -f -p 127.0.0.1:{port} -h /www")
    probe = {"httpGet": {"path": "/index.html", "port": port}, "periodSeconds": 1}
    apply(cluster, tmp_path, pod("web", shell("httpd", script, readinessProbe=probe),
                                 hostNetwork=True))
    running = wait_for(admin, "pods", "web", lambda p: p["status"].get("phase") == "Running")
    assert not ready(running) or container_state()(running)["ready"]
    served = wait_for(admin, "pods", "web", ready)
    assert container_state()(served)["ready"] is True
    assert cluster.cli("get", "pod", "web").stdout.splitlines()[1].split()[1] == "1/1"
    cluster.cli("delete", "pod", "web", "--grace-period", "0")


def test_exec_readiness_probe_keeps_a_pod_unready_until_it_passes(cluster, admin, tmp_path):
    probe = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}
    apply(cluster, tmp_path, pod("gate", shell("app", "sleep 3600", readinessProbe=probe)))
    unready = wait_for(admin, "pods", "gate", lambda p: p["status"].get("phase") == "Running")
    assert not ready(unready)
    assert cluster.cli("get", "pod", "gate").stdout.splitlines()[1].split()[1] == "0/1"
    cluster.cli("exec", "gate", "--", "touch", "/tmp/ready")
    wait_for(admin, "pods", "gate", ready)
    cluster.cli("delete", "pod", "gate", "--grace-period", "0")


def test_missing_image_shows_errimagepull_then_imagepullbackoff(cluster, admin):
    image = "127.0.0.1:9/ghost:1.0"  # no registry there: the pull fails at once
    cluster.cli("run", "ghost", "--image", image)
    seen: list[str] = []

    def pulled_then_backed_off(obj: Object) -> bool:
        if (reason := waiting_reason(obj)) and reason != (seen or [None])[-1]:
            seen.append(reason)
        return seen[-2:] == ["ErrImagePull", "ImagePullBackOff"]

    backed_off = wait_for(admin, "pods", "ghost", pulled_then_backed_off)
    assert container_state()(backed_off)["state"]["waiting"]["message"] == (
        f'Back-off pulling image "{image}"')
    reasons = {e["reason"] for e in events_of(cluster, "ghost")}
    assert {"Pulling", "Failed", "BackOff"} <= reasons
    cluster.cli("delete", "pod", "ghost", "--grace-period", "0")


def test_deleted_pod_gets_sigterm_before_the_grace_period_ends(cluster, admin, tmp_path):
    host = tmp_path / "out"
    host.mkdir()
    script = "trap 'echo TERM > /out/signal; exit 0' TERM; while true; do sleep 0.1; done"
    apply(cluster, tmp_path, pod(
        "graceful", shell("app", script, volumeMounts=[{"name": "out", "mountPath": "/out"}]),
        volumes=[{"name": "out", "hostPath": {"path": str(host)}}]))
    wait_for(admin, "pods", "graceful", lambda p: p["status"].get("phase") == "Running")
    started = time.monotonic()
    cluster.cli("delete", "pod", "graceful", "--grace-period", "30")
    assert (host / "signal").read_text() == "TERM\n"
    assert time.monotonic() - started < 25  # it left on SIGTERM, not on SIGKILL after 30 s


def test_init_containers_run_to_completion_before_the_app(cluster, admin, tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    work = {"name": "work", "mountPath": "/work"}
    apply(cluster, tmp_path, pod(
        "initialized",
        shell("app", "cat /work/message; sleep 3600", volumeMounts=[work]),
        initContainers=[
            shell("wait", "until [ -f /gate/open ]; do sleep 0.1; done",
                  volumeMounts=[{"name": "gate", "mountPath": "/gate"}]),
            shell("write", "echo written by init > /work/message", volumeMounts=[work])],
        volumes=[{"name": "work", "emptyDir": {}},
                 {"name": "gate", "hostPath": {"path": str(gate)}}]))
    waiting = wait_for(admin, "pods", "initialized",
                       lambda p: "running" in container_state("wait", init=True)(p).get(
                           "state", {}))
    assert waiting["status"]["phase"] == "Pending"
    assert cluster.cli("get", "pod", "initialized").stdout.splitlines()[1].split()[2] == (
        "Init:0/2")
    (gate / "open").touch()
    done = wait_for(admin, "pods", "initialized", lambda p: p["status"].get("phase") == "Running")
    assert [c["status"] for c in done["status"]["conditions"] if c["type"] == "Initialized"] \
        == ["True"]
    wait_for(admin, "pods", "initialized", lambda p: cluster.cli(
        "logs", "initialized").stdout == "written by init\n", timeout=30)
    cluster.cli("delete", "pod", "initialized", "--grace-period", "0")


def test_env_from_a_configmap_and_a_missing_one(cluster, admin, tmp_path):
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
              "data": {"COLOR": "blue", "size": "7"}}
    env = [{"name": "SIZE", "valueFrom": {"configMapKeyRef": {"name": "settings",
                                                               "key": "size"}}},
           {"name": "PLAIN", "value": "yes"}]
    apply(cluster, tmp_path, config, pod(
        "configured", shell("app", "echo $COLOR $SIZE $PLAIN; sleep 3600", env=env,
                            envFrom=[{"configMapRef": {"name": "settings"}}])))
    wait_for(admin, "pods", "configured", lambda p: p["status"].get("phase") == "Running")
    wait_for(admin, "pods", "configured", lambda p: cluster.cli(
        "logs", "configured").stdout == "blue 7 yes\n", timeout=30)
    apply(cluster, tmp_path, pod("unconfigured", shell(
        "app", "sleep 3600", envFrom=[{"configMapRef": {"name": "absent"}}])))
    broken = wait_for(admin, "pods", "unconfigured",
                      lambda p: waiting_reason(p) == "CreateContainerConfigError")
    assert container_state()(broken)["state"]["waiting"]["message"] == (
        'configmap "absent" not found')
    cluster.cli("delete", "pod", "configured", "unconfigured", "--grace-period", "0")


def test_empty_dir_is_shared_between_two_containers_and_removed_with_the_pod(
        cluster, admin, tmp_path, docker_engine):
    data = {"name": "data", "mountPath": "/data"}
    apply(cluster, tmp_path, pod(
        "sharing",
        shell("writer", "echo shared > /data/file; sleep 3600", volumeMounts=[data]),
        shell("reader", "until [ -f /data/file ]; do sleep 0.1; done; cat /data/file; "
              "sleep 3600", volumeMounts=[data]),
        volumes=[{"name": "data", "emptyDir": {}}]))
    running = wait_for(admin, "pods", "sharing", lambda p: p["status"].get("phase") == "Running")
    uid = running["metadata"]["uid"]
    assert cluster.cli("get", "pod", "sharing").stdout.splitlines()[1].split()[1] == "2/2"
    wait_for(admin, "pods", "sharing", lambda p: cluster.cli(
        "logs", "sharing", "-c", "reader").stdout == "shared\n", timeout=30)
    label = f"io.kubeactor.pod.uid={uid}"
    assert len(docker_engine.volumes.list(filters={"label": label})) == 1
    cluster.cli("delete", "pod", "sharing", "--grace-period", "1")  # the kubelet confirms
    assert docker_engine.volumes.list(filters={"label": label}) == []


def test_limits_become_docker_memory_and_cpu_limits(cluster, admin, tmp_path, docker_engine):
    limits = {"memory": "64Mi", "cpu": "500m"}
    apply(cluster, tmp_path, pod("limited", shell("app", "sleep 3600",
                                                 resources={"limits": limits})))
    running = wait_for(admin, "pods", "limited", lambda p: p["status"].get("phase") == "Running")
    container_id = container_state()(running)["containerID"].removeprefix("docker://")
    host_config = docker_engine.containers.get(container_id).attrs["HostConfig"]
    assert (host_config["Memory"], host_config["NanoCpus"]) == (64 * 1024 * 1024, 500_000_000)
    cluster.cli("delete", "pod", "limited", "--grace-period", "0")


def test_a_container_over_its_memory_limit_is_oomkilled(cluster, admin, tmp_path):
    # tail holds 64 MiB; after a second, as containerd watches a container's OOMs only once it
    # runs: one killed in its first instant is told as plain exit 137 (containerd#8180, which
    # kubelet's own node e2e test met), with no `oom` event for the runtime to go by
    hungry = shell("app", "sleep 1; head -c 64m /dev/zero | tail > /dev/null",
                   resources={"limits": {"memory": "16Mi"}})
    apply(cluster, tmp_path, pod("hungry", hungry, restartPolicy="Never"))
    # Docker's oom event may come after the container's die: the status is told again then
    failed = wait_for(admin, "pods", "hungry", lambda p: p["status"].get("phase") == "Failed"
                      and container_state()(p).get("state", {}).get("terminated", {}).get(
                          "reason") != "Error")
    terminated = container_state()(failed)["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
    assert "OOMKilled" in cluster.cli("get", "pod", "hungry").stdout
    cluster.cli("delete", "pod", "hungry", "--grace-period", "0")


def test_working_dir_is_where_the_command_runs(cluster, admin, tmp_path):
    apply(cluster, tmp_path, pod("placed", shell("app", "pwd; sleep 3600", workingDir="/etc")))
    wait_for(admin, "pods", "placed", lambda p: p["status"].get("phase") == "Running")
    wait_for(admin, "pods", "placed", lambda p: cluster.cli(
        "logs", "placed").stdout == "/etc\n", timeout=30)
    cluster.cli("delete", "pod", "placed", "--grace-period", "0")


def test_logs_follow_prints_lines_as_they_come_and_ends_with_the_container(cluster, admin):
    cluster.cli("run", "ticker", "--image", IMAGE, "--restart", "Never", "--", "sh", "-c",
                "echo first; until [ -e /tmp/go ]; do sleep 0.1; done; echo second")
    wait_for(admin, "pods", "ticker", lambda p: p["status"].get("phase") == "Running")
    with subprocess.Popen(
            [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
             "logs", "-f", "ticker"], stdout=subprocess.PIPE, text=True) as follow:
        assert follow.stdout is not None
        assert follow.stdout.readline() == "first\n"
        phase = admin.get("pods", "ticker")["status"]["phase"]
        cluster.cli("exec", "ticker", "--", "touch", "/tmp/go")  # now, not after a sleep
        assert follow.stdout.readline() == "second\n"
        assert follow.wait(timeout=30) == 0  # the container stopped: the stream ended
    assert phase == "Running"  # "first" came while the container still ran
    assert cluster.cli("logs", "ticker", "--tail", "1").stdout == "second\n"
    cluster.cli("delete", "pod", "ticker", "--grace-period", "0")


def test_logs_follow_stops_on_ctrl_c(cluster, admin):
    cluster.cli("run", "chatty", "--image", IMAGE, "--", "sh", "-c",
                "while true; do echo tick; sleep 0.2; done")
    wait_for(admin, "pods", "chatty", lambda p: p["status"].get("phase") == "Running")
    with subprocess.Popen(
            [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
             "logs", "-f", "chatty", "--tail", "1"], stdout=subprocess.PIPE, text=True) as follow:
        assert follow.stdout is not None
        assert follow.stdout.readline() == "tick\n"
        assert follow.stdout.readline() == "tick\n"  # more came while following
        follow.send_signal(signal.SIGINT)
        assert follow.wait(timeout=30) == 0
    cluster.cli("delete", "pod", "chatty", "--grace-period", "0")


def test_a_pod_stopping_slowly_does_not_hold_up_other_pods(cluster, admin, tmp_path):
    stubborn = "trap '' TERM; while true; do sleep 0.1; done"  # ignores SIGTERM: waits for KILL
    apply(cluster, tmp_path, pod("stubborn", shell("app", stubborn)))
    wait_for(admin, "pods", "stubborn", lambda p: p["status"].get("phase") == "Running")
    admin.delete("pods", "stubborn", grace_period=20)  # a worker waits 20 s for this one
    cluster.cli("run", "nimble", "--image", IMAGE, "--", "sleep", "3600")
    wait_for(admin, "pods", "nimble", lambda p: p["status"].get("phase") == "Running")
    assert admin.get("pods", "stubborn")["metadata"]["deletionTimestamp"]  # still stopping
    cluster.cli("delete", "pod", "nimble", "--grace-period", "0")
