"""What the Docker runtime makes of its event stream: an ``oom`` event after a container's
``die`` (Docker's state then says OOMKilled false for good) still makes it OOMKilled, and the
death is told after it, so that a failed pod's one report says so."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from actors.kubelet.runtime import CONTAINER_NAME, POD_UID, RuntimeEvent
from bindings.runtimes.docker import DockerRuntime
from bindings.runtimes.docker.containers import to_info


def container(exit_code: int, oom_killed: bool = False, ident: str = "c1") -> Any:
    return SimpleNamespace(id=ident, attrs={
        "State": {"Status": "exited", "ExitCode": exit_code, "OOMKilled": oom_killed},
        "Config": {"Labels": {POD_UID: "uid-1", CONTAINER_NAME: "app"}}})


def test_a_killed_container_with_an_oom_event_is_oom_killed_whatever_dockers_state_says():
    assert to_info(container(137, oom_killed=True)).oom_killed
    assert not to_info(container(137)).oom_killed
    assert to_info(container(137), oom_event=True).oom_killed
    assert not to_info(container(0), oom_event=True).oom_killed  # a child killed, it went on


class Stream(list[dict[str, Any]]):
    def close(self) -> None:
        pass


def test_an_oom_event_after_the_die_is_told_and_remembered(tmp_path):
    labels = {POD_UID: "uid-1", CONTAINER_NAME: "app"}
    killed = {**labels, "exitCode": "137"}
    told = [{"Action": "start", "id": "c1", "Actor": {"Attributes": labels}},
            {"Action": "die", "id": "c1", "Actor": {"Attributes": killed}},
            {"Action": "oom", "Actor": {"ID": "c1", "Attributes": labels}}]  # API 1.52
    engine: Any = SimpleNamespace(ping=lambda: True, close=lambda: None,
                                  events=lambda **_: Stream(told),
                                  containers=SimpleNamespace(list=lambda **_: [container(137)]))
    runtime = DockerRuntime("node-1", "cluster", client=engine, pods_dir=tmp_path)
    heard: list[RuntimeEvent] = []
    done = threading.Event()

    def on_event(event: RuntimeEvent) -> None:
        heard.append(event)
        if event.action == "oom":
            runtime._closed.set()
        if event.action == "die":  # the death by SIGKILL is told after the oom
            assert runtime.list_containers("uid-1")[0].oom_killed
            done.set()

    runtime.watch(on_event)
    assert done.wait(5)
    assert [event.action for event in heard] == ["start", "oom", "die"]
    assert heard[-1] == RuntimeEvent("uid-1", "app", "die")
