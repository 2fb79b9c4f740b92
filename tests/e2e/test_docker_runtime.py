"""The Docker runtime on the real engine (busybox:1.35): a container's volume files, written by
``start_container``'s ``prepare`` while the engine creates it, are there when it starts; a
``prepare`` that fails leaves no container behind and its exception is the one raised."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from actors.api.objects import Object
from actors.kubelet.runtime import RuntimeFailure, VolumeFile
from bindings.runtimes.docker.runtime import DockerRuntime
from tests.e2e.conftest import IMAGE

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime(tmp_path: Path, docker_engine: docker.DockerClient) -> Iterator[DockerRuntime]:
    made = DockerRuntime("node-1", f"test-{uuid.uuid4().hex[:8]}", pods_dir=tmp_path)
    yield made
    for info in made.list_containers():
        made.remove_container(info.id)
    made.close()


def pod_with_files(command: list[str]) -> tuple[Object, Object]:
    pod = {"metadata": {"name": "files", "namespace": "default", "uid": uuid.uuid4().hex},
           "spec": {"volumes": [{"name": "conf", "configMap": {"name": "conf"}}],
                    "containers": []}}
    container = {"name": "app", "image": IMAGE, "command": command,
                 "volumeMounts": [{"name": "conf", "mountPath": "/conf"}]}
    pod["spec"]["containers"].append(container)
    return pod, container


def test_files_written_while_the_container_is_created_are_there_when_it_starts(runtime):
    pod, container = pod_with_files(["cat", "/conf/greeting"])

    def prepare() -> None:
        runtime.write_volume(pod, "conf", {"greeting": VolumeFile(b"hello", 0o644)})

    info = runtime.start_container(pod, container, 0, prepare=prepare)

    assert info.name == "app"
    assert runtime.client.containers.get(info.id).wait(timeout=30)["StatusCode"] == 0
    assert runtime.logs(pod["metadata"]["uid"], "app") == "hello"


def test_a_failed_prepare_leaves_no_container_and_is_what_is_raised(runtime):
    pod, container = pod_with_files(["sleep", "3600"])

    def prepare() -> None:
        raise RuntimeFailure("ContainerCreating", 'MountVolume.SetUp failed for volume "conf"')

    with pytest.raises(RuntimeFailure) as raised:
        runtime.start_container(pod, container, 0, prepare=prepare)

    assert raised.value.reason == "ContainerCreating"
    assert runtime.list_containers(pod["metadata"]["uid"]) == []
    again = runtime.start_container(pod, container, 0, prepare=lambda: runtime.write_volume(
        pod, "conf", {"greeting": VolumeFile(b"hello", 0o644)}))  # the name is free again
    assert again.state == "running"
