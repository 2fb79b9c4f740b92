"""What the process's metrics gather from outside the actors (bindings/cluster/monitoring.py):
the kubelet's runtime, the store's keys."""

from __future__ import annotations

from typing import Any

from actors.apiserver.http.health import answer
from actors.instruments import Instruments
from bindings.cluster.monitoring import MeteredRuntime, bus_checks, parse_time, resource_of


class FakeRuntime:
    """Starts and stops nothing; says which calls it had."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pull_image(self, image: str) -> None:
        self.calls.append(f"pull {image}")

    def start_container(self, pod: Any, container: Any, attempt: int, prepare: Any = None,
                        created: Any = None) -> str:
        self.calls.append(f"start {container['name']}")
        return container["name"]

    def stop_pod(self, pod_uid: str, grace_seconds: int) -> None:
        self.calls.append(f"stop {pod_uid}")

    def remove_pod(self, pod_uid: str) -> None:
        self.calls.append(f"remove {pod_uid}")

    def version(self) -> str:
        return "fake://1"


POD = {"metadata": {"uid": "u1", "creationTimestamp": "2026-12-07T00:00:00Z"},
       "spec": {"containers": [{"name": "a", "image": "busybox"}, {"name": "b"}]}}


def test_running_pods_and_the_start_sli_come_from_the_runtime_calls():
    instruments, fake = Instruments(), FakeRuntime()
    runtime = MeteredRuntime(fake, instruments, "node-1")  # type: ignore[arg-type]
    sample = instruments.registry.get_sample_value
    assert runtime.version() == "fake://1"  # anything else passes through
    runtime.pull_image("busybox")
    runtime.start_container(POD, POD["spec"]["containers"][0], 0)
    assert sample("kubelet_running_pods") == 1
    assert sample("kubelet_pod_start_sli_duration_seconds_count") == 0  # b not started
    runtime.start_container(POD, POD["spec"]["containers"][1], 0)
    runtime.start_container(POD, POD["spec"]["containers"][1], 1)  # a restart: no new start
    assert sample("kubelet_pod_start_sli_duration_seconds_count") == 1
    assert sample("kubelet_pod_start_sli_duration_seconds_sum") > 0
    runtime.stop_pod("u1", 30)
    assert sample("kubelet_running_pods") == 0
    assert fake.calls == ["pull busybox", "start a", "start b", "start b", "stop u1"]


def test_store_keys_name_their_resource_as_kube_apiserver_does():
    assert resource_of("/pods/default/web") == "pods"
    assert resource_of("/apps/deployments/default/web") == "deployments.apps"
    assert resource_of("/namespaces/default") == "namespaces"
    assert resource_of("/example.com/widgets/default/w") == "widgets.example.com"
    assert parse_time("2026-12-07T00:00:00Z") == 1796601600.0
    assert parse_time("yesterday") is None


class FakeConnection:
    def __init__(self, name: str) -> None:
        self.name, self.down = name, None


def test_a_process_without_an_apiserver_is_ready_while_its_bus_connections_are_up():
    kubelet, scheduler = FakeConnection("kubelet-sim"), FakeConnection("scheduler")
    checks = bus_checks([kubelet, scheduler])  # type: ignore[list-item]
    assert answer("/readyz", checks["/readyz"]) == (200, "ok")
    scheduler.down = "reconnecting to nats://127.0.0.1:4222 for 1.0s"  # type: ignore[assignment]
    assert answer("/readyz/bus", checks["/readyz"]) == (
        500, "internal server error: scheduler: reconnecting to nats://127.0.0.1:4222 for "
             "1.0s\n")
    assert answer("/livez", checks["/livez"]) == (200, "ok")
