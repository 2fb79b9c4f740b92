"""What the Docker runtime makes of its event stream (bindings/runtimes/docker/events.py): an
``oom`` event after a container's ``die`` (Docker's state then says OOMKilled false for good)
still makes it OOMKilled, and the death is told right after it, so that a failed pod's one
report says so; a death by SIGKILL the runtime caused itself is told at once; the deaths that
wait for their ``oom`` event share one thread."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from actors.kubelet.runtime import CONTAINER_NAME, POD_UID, RuntimeEvent
from bindings.runtimes.docker import DockerRuntime, events
from bindings.runtimes.docker.containers import to_info

LABELS = {POD_UID: "uid-1", CONTAINER_NAME: "app"}
KILLED = {**LABELS, "exitCode": "137"}


def container(exit_code: int, oom_killed: bool = False, ident: str = "c1") -> Any:
    return SimpleNamespace(id=ident, attrs={
        "State": {"Status": "exited", "ExitCode": exit_code, "OOMKilled": oom_killed},
        "Config": {"Labels": {POD_UID: "uid-1", CONTAINER_NAME: "app"}}},
        stop=lambda **_: None)


def test_a_killed_container_with_an_oom_event_is_oom_killed_whatever_dockers_state_says():
    assert to_info(container(137, oom_killed=True)).oom_killed
    assert not to_info(container(137)).oom_killed
    assert to_info(container(137), oom_event=True).oom_killed
    assert not to_info(container(0), oom_event=True).oom_killed  # a child killed, it went on


def test_only_a_death_by_sigkill_that_nothing_explains_waits_for_its_oom_event():
    assert events.waits_for_oom("die", "137", explained=False)
    assert not events.waits_for_oom("die", "137", explained=True)
    assert not events.waits_for_oom("die", "143", explained=False)
    assert not events.waits_for_oom("start", None, explained=False)


class Stream:
    """The engine's event stream: the events, then nothing until it is closed."""

    def __init__(self, told: list[dict[str, Any]]) -> None:
        self.told, self.closed = told, threading.Event()

    def __iter__(self) -> Any:
        yield from self.told
        self.closed.wait(10)

    def close(self) -> None:
        self.closed.set()


def runtime_telling(told: list[dict[str, Any]], tmp_path: Any) -> DockerRuntime:
    engine: Any = SimpleNamespace(
        ping=lambda: True, close=lambda: None, events=lambda **_: Stream(told),
        containers=SimpleNamespace(list=lambda **_: [container(137)],
                                   get=lambda ident: container(137, ident=ident)))
    return DockerRuntime("node-1", "cluster", client=engine, pods_dir=tmp_path)


def die(ident: str = "c1") -> dict[str, Any]:
    return {"Action": "die", "id": ident, "Actor": {"Attributes": KILLED}}


@pytest.fixture
def long_oom_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wait no test outlasts: what is told in time was not waited for."""
    monkeypatch.setattr(events, "OOM_WAIT", 60.0)


def test_an_oom_event_after_the_die_releases_the_death_at_once(tmp_path, long_oom_wait):
    told = [{"Action": "start", "id": "c1", "Actor": {"Attributes": LABELS}}, die(),
            {"Action": "oom", "Actor": {"ID": "c1", "Attributes": LABELS}}]  # API 1.52
    runtime = runtime_telling(told, tmp_path)
    heard: list[RuntimeEvent] = []
    done = threading.Event()

    def on_event(event: RuntimeEvent) -> None:
        heard.append(event)
        if event.action == "die":  # the death by SIGKILL is told after the oom
            assert runtime.list_containers("uid-1")[0].oom_killed
            done.set()

    runtime.watch(on_event)
    assert done.wait(5)
    runtime.close()
    assert [event.action for event in heard] == ["start", "oom", "die"]
    assert heard[-1] == RuntimeEvent("uid-1", "app", "die")


def test_a_death_by_sigkill_the_runtime_stopped_is_told_at_once(tmp_path, long_oom_wait):
    runtime = runtime_telling([die("c1")], tmp_path)
    runtime.stop_container("c1", 0)
    heard = threading.Event()
    runtime.watch(lambda event: heard.set())
    assert heard.wait(5)
    runtime.close()


def test_a_death_nothing_explains_is_told_after_the_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "OOM_WAIT", 0.05)
    runtime = runtime_telling([die("c1")], tmp_path)
    heard: list[RuntimeEvent] = []
    done = threading.Event()
    runtime.watch(lambda event: (heard.append(event), done.set()))
    assert done.wait(5)
    runtime.close()
    assert heard == [RuntimeEvent("uid-1", "app", "die")]
    assert not runtime.list_containers("uid-1")[0].oom_killed


def test_the_deaths_waiting_for_their_oom_event_share_one_thread(tmp_path, long_oom_wait):
    last = {"Action": "start", "id": "other", "Actor": {"Attributes": LABELS}}
    runtime = runtime_telling([*(die(f"c{n}") for n in range(50)), last], tmp_path)
    before = threading.active_count()
    all_held = threading.Event()
    runtime.watch(lambda event: all_held.set() if event.action == "start" else None)
    assert all_held.wait(5)
    assert threading.active_count() <= before + 2  # the stream's reader and the queue's
    runtime.close()


def test_a_close_while_the_stream_opens_ends_the_reader_with_that_stream():
    """close() while the engine has not answered the events request yet (no stream to close
    then): the stream that arrives after is closed at once and nothing read from it is told,
    so the reader thread does not outlive its runtime."""
    opening, answered = threading.Event(), threading.Event()
    stream = Stream([{"Action": "start", "id": "c1", "Actor": {"Attributes": LABELS}}])

    def open_events(**_: Any) -> Stream:
        opening.set()
        answered.wait(10)
        return stream

    watcher = events.DockerEvents(SimpleNamespace(events=open_events), ["label"])
    heard: list[RuntimeEvent] = []
    watcher.watch(heard.append)
    assert opening.wait(5)
    watcher.close()
    answered.set()
    assert stream.closed.wait(5)
    assert heard == []
