"""The simulated runtime: containers that exist only in memory, as KWOK's do.

For scale runs and tests where Docker adds nothing. Every image is present, a container starts
at once and runs until deleted, unless the pod asks otherwise with annotations:

- ``sim.kubeactor.io/start-seconds``: containers stay created (ContainerCreating) that long
  before they run;
- ``sim.kubeactor.io/run-seconds``: the containers exit after running that many seconds;
- ``sim.kubeactor.io/exit-code``: ...with this code (default 0);
- ``sim.kubeactor.io/pull-error``: any value makes the image pull fail (ErrImagePull);
- ``sim.kubeactor.io/cpu-usage``, ``sim.kubeactor.io/memory-usage``: what each running container
  uses (quantities: ``500m``, ``64Mi``; 0 when absent), read from the pod as the kubelet has it
  now, so annotating a running pod changes its metrics.

The files of a pod's ConfigMap, Secret, downward API and projected volumes are kept in memory:
``exec`` answers ``cat PATH`` with one of them (at the container's ``volumeMounts``) and
``printenv [NAME]`` with the container's resolved env, as a shell in a real container would;
``sh -c 'exit N'`` exits with N (an exec probe that fails: ``Unhealthy``, then a restart);
any other command succeeds and prints nothing. A streamed exec (``exec_stream``) runs those
the same way; besides, ``cat`` without a path echoes its input until it ends. An attach
(``attach_stream``) to a container with ``stdin`` echoes its input the same way; to one
without, it shows nothing until closed.

Starts and deaths are reported through ``watch`` like Docker's event stream, from the one
timer thread shared by every simulated node of the process (:class:`actors.kubelet.timers.Timers`),
so a thousand nodes and ten thousand containers need no thread of their own.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from actors.api.meta import now_rfc3339
from actors.api.objects import Object
from actors.api.quantity import parse_quantity
from actors.kubelet.runtime import (
    ContainerInfo,
    ExecResult,
    RuntimeEvent,
    RuntimeFailure,
    Usage,
    VolumeFile,
    attempt,
)
from actors.kubelet.timers import Timer, Timers

START_SECONDS = "sim.kubeactor.io/start-seconds"
RUN_SECONDS = "sim.kubeactor.io/run-seconds"
EXIT_CODE = "sim.kubeactor.io/exit-code"
PULL_ERROR = "sim.kubeactor.io/pull-error"
CPU_USAGE = "sim.kubeactor.io/cpu-usage"
MEMORY_USAGE = "sim.kubeactor.io/memory-usage"

_IDS = itertools.count(1)


class _NoLogs:
    """A followed log of a simulated container: nothing, then the end."""

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def close(self) -> None:
        pass


_EXIT = re.compile(r"^\s*exit\s+(\d+)\s*$")
PIPE_CHUNKS = 16
"""Chunks a simulated exec holds for its reader before its writer waits (backpressure)."""


class SimExec:
    """A streamed exec of a simulated container: its output is what it was given to print,
    and, when it echoes (``cat``), what it is written, until its input ends (or, when it
    ``lasts``, an attach, until closed). At most :data:`PIPE_CHUNKS` chunks wait to be read: a
    writer beyond that waits."""

    def __init__(self, result: ExecResult, echoes: bool, lasts: bool = False) -> None:
        self._code, self._echoes = result.exit_code, echoes
        self._chunks: deque[tuple[int, bytes]] = deque(
            (channel, text.encode()) for channel, text in ((1, result.stdout),
                                                          (2, result.stderr)) if text)
        self._ended = not (echoes or lasts)
        self._changed = threading.Condition()

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._chunks or self._ended)
                if not self._chunks:
                    return
                chunk = self._chunks.popleft()
                self._changed.notify_all()
            yield chunk

    def write(self, data: bytes) -> None:
        with self._changed:
            self._changed.wait_for(lambda: len(self._chunks) < PIPE_CHUNKS or self._ended)
            if self._echoes and not self._ended:
                self._chunks.append((1, data))
                self._changed.notify_all()

    def close_stdin(self) -> None:
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def resize(self, width: int, height: int) -> None:
        pass

    def exit_code(self) -> int:
        return self._code

    def close(self) -> None:
        with self._changed:
            self._chunks.clear()
            self.close_stdin()


class SimRuntime:
    """A :class:`actors.kubelet.runtime.Runtime` without containers. Thread-safe."""

    def __init__(self, node_name: str, timers: Timers | None = None) -> None:
        self.node_name = node_name
        self.timers = timers or Timers(f"sim-{node_name}")
        self._own_timers = timers is None
        self._containers: dict[str, ContainerInfo] = {}
        self._by_pod: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._on_event: Callable[[RuntimeEvent], None] = lambda event: None
        self._timers: dict[str, Timer] = {}
        self._specs: dict[str, Object] = {}
        """Container id -> the container as started (env resolved, volumeMounts)."""
        self._volumes: dict[str, dict[str, dict[str, VolumeFile]]] = {}
        """Pod uid -> volume name -> the files of that volume."""
        self._last_files: dict[str, VolumeFile] = {}
        """Path in a volume -> the file last written at it, in any volume: the next pod's equal
        one (the same ``ca.crt`` in every pod's service account volume) is kept as this one."""

    def version(self) -> str:
        return "sim://0.1.0"

    def image_present(self, image: str) -> bool:
        return True

    def pull_image(self, image: str) -> None:
        """Every image pulls; a pod asks for a pull error with an annotation (at start)."""

    def start_container(self, pod: Object, container: Object, attempt: int,
                        prepare: Callable[[], None] | None = None,
                        created: Callable[[], None] | None = None) -> ContainerInfo:
        if prepare is not None:  # nothing to create meanwhile: first, as a failure wins
            prepare()
        annotations = pod["metadata"].get("annotations") or {}
        if PULL_ERROR in annotations:
            raise RuntimeFailure("ErrImagePull",
                                 f'failed to pull image "{container["image"]}": simulated')
        try:
            delay = float(annotations.get(START_SECONDS, "0"))
            run_for = float(annotations[RUN_SECONDS]) if RUN_SECONDS in annotations else None
            code = int(annotations.get(EXIT_CODE, "0"))
        except ValueError as error:
            raise RuntimeFailure("CreateContainerError",
                                 f"bad sim.kubeactor.io annotation: {error}") from None
        info = ContainerInfo(
            id=f"{self.node_name}-{next(_IDS)}", pod_uid=pod["metadata"]["uid"],
            name=container["name"], attempt=attempt, image=container["image"],
            state="created", runtime="sim", image_id=f"sim://{container['image']}")
        with self._lock:
            self._containers[info.id] = info
            self._specs[info.id] = container
            self._by_pod.setdefault(info.pod_uid, set()).add(info.id)
        if created is not None:
            created()
        if delay > 0:
            self._later(info.id, delay, lambda: self._run(info.id, run_for, code))
            return info
        return self._run(info.id, run_for, code) or info

    def _later(self, container_id: str, delay: float, action: Callable[[], Any]) -> None:
        with self._lock:
            self._timers[container_id] = self.timers.call_later(delay, action)

    def _run(self, container_id: str, run_for: float | None, code: int) -> ContainerInfo | None:
        with self._lock:
            info = self._containers.get(container_id)
            if info is None or info.state != "created":
                return None
            info = self._containers[container_id] = replace(info, state="running",
                                                            started_at=now_rfc3339())
        if run_for is not None:
            self._later(container_id, run_for, lambda: self._exit(container_id, code))
        self._on_event(RuntimeEvent(info.pod_uid, info.name, "start"))
        return info

    def _exit(self, container_id: str, code: int) -> None:
        with self._lock:
            self._timers.pop(container_id, None)
            info = self._containers.get(container_id)
            if info is None or info.state == "exited":
                return
            self._containers[container_id] = replace(
                info, state="exited", exit_code=code, finished_at=now_rfc3339(),
                started_at=info.started_at or now_rfc3339())
        self._on_event(RuntimeEvent(info.pod_uid, info.name, "die"))

    def write_volume(self, pod: Object, volume: str, files: dict[str, VolumeFile]) -> None:
        with self._lock:
            self._volumes.setdefault(pod["metadata"]["uid"], {})[volume] = {
                path: self._shared(path, file) for path, file in files.items()}

    def _shared(self, path: str, file: VolumeFile) -> VolumeFile:
        """``file`` as kept at ``path``: the one last written at that path when equal."""
        last = self._last_files.setdefault(path, file)
        if last == file:
            return last
        self._last_files[path] = file
        return file

    def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        with self._lock:
            if pod_uid is None:
                return list(self._containers.values())
            return [self._containers[i] for i in self._by_pod.get(pod_uid, ())]

    def remove_container(self, container_id: str) -> None:
        with self._lock:
            info = self._containers.pop(container_id, None)
            self._specs.pop(container_id, None)
            timer = self._timers.pop(container_id, None)
            if info is not None:
                ids = self._by_pod.get(info.pod_uid, set())
                ids.discard(container_id)
                if not ids:
                    self._by_pod.pop(info.pod_uid, None)
        if timer is not None:
            timer.cancel()

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        self._exit(container_id, 143)  # a simulated process honours SIGTERM at once

    def stop_pod(self, pod_uid: str, grace_seconds: int) -> None:
        for info in self.list_containers(pod_uid):
            self._exit(info.id, 0)

    def remove_pod(self, pod_uid: str) -> None:
        for info in self.list_containers(pod_uid):
            self.remove_container(info.id)
        with self._lock:
            self._volumes.pop(pod_uid, None)

    def logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
             previous: bool = False, timestamps: bool = False, since: float | None = None
             ) -> str:
        attempt(self.list_containers(pod_uid), container, previous)
        return ""  # a simulated container prints nothing (no line to stamp)

    def follow_logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
                    previous: bool = False, timestamps: bool = False,
                    since: float | None = None) -> _NoLogs:
        self.logs(pod_uid, container, previous=previous)
        return _NoLogs()

    def _spec(self, pod_uid: str, container: str) -> Object:
        """The latest attempt of ``container`` as started; RuntimeFailure when there is none."""
        self.logs(pod_uid, container)
        latest = max((i for i in self.list_containers(pod_uid) if i.name == container),
                     key=lambda info: info.attempt)
        with self._lock:
            return self._specs.get(latest.id, {})

    def exec(self, pod_uid: str, container: str, command: list[str]) -> ExecResult:
        spec = self._spec(pod_uid, container)
        with self._lock:
            volumes = self._volumes.get(pod_uid, {})
        if command[:1] == ["cat"] and len(command) == 2:
            return _cat(spec, volumes, command[1])
        if command[:2] == ["sh", "-c"] and len(command) == 3 and (
                code := _EXIT.match(command[2])):
            return ExecResult(int(code.group(1)), "", "")
        if command[:1] == ["printenv"]:
            env = {item["name"]: str(item.get("value", "")) for item in spec.get("env") or []}
            wanted = command[1:] or list(env)
            lines = [env[name] if command[1:] else f"{name}={env[name]}" for name in wanted
                     if name in env]
            return ExecResult(0 if lines or not command[1:] else 1,
                              "".join(f"{line}\n" for line in lines), "")
        return ExecResult(0, "", "")

    def exec_stream(self, pod_uid: str, container: str, command: list[str], *, stdin: bool,
                    tty: bool) -> SimExec:
        if command == ["cat"] and stdin:
            self.logs(pod_uid, container)
            return SimExec(ExecResult(0, "", ""), echoes=True)
        return SimExec(self.exec(pod_uid, container, command), echoes=False)

    def usage(self, pods: list[Object]) -> dict[str, dict[str, Usage]]:
        """Each running container's usage as its pod's annotations say (see the module
        docstring); a pod whose annotation is not a quantity has none."""
        found = {}
        for pod in pods:
            uid = pod["metadata"]["uid"]
            running = sorted(i.name for i in self.list_containers(uid) if i.state == "running")
            each = _annotated_usage(pod)
            if running and each is not None:
                found[uid] = dict.fromkeys(running, each)
        return found

    def attach_stream(self, pod_uid: str, container: str, *, stdin: bool,
                      tty: bool) -> SimExec:
        keeps_stdin = self._spec(pod_uid, container).get("stdin") is True
        return SimExec(ExecResult(0, "", ""), echoes=stdin and keeps_stdin, lasts=True)

    def watch(self, on_event: Callable[[RuntimeEvent], None]) -> None:
        self._on_event = on_event

    def close(self) -> None:
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()
        if self._own_timers:
            self.timers.stop()


def _annotated_usage(pod: Object) -> Usage | None:
    """What each container of ``pod`` uses by its annotations; None when one is not a
    quantity."""
    annotations = pod["metadata"].get("annotations") or {}
    try:
        return Usage(int(parse_quantity(annotations.get(CPU_USAGE, "0")) * 10**9),
                     int(parse_quantity(annotations.get(MEMORY_USAGE, "0"))))
    except ValueError:
        return None


def _cat(container: Object, volumes: dict[str, dict[str, VolumeFile]], path: str) -> ExecResult:
    """``cat PATH`` in a simulated container: a file of a volume it mounts, or busybox's
    complaint."""
    for mount in container.get("volumeMounts") or []:
        root = mount["mountPath"].rstrip("/") + "/"
        files = volumes.get(mount["name"], {})
        if path.startswith(root) and path[len(root):] in files:
            return ExecResult(0, files[path[len(root):]].content.decode(errors="replace"), "")
    return ExecResult(1, "", f"cat: can't open '{path}': No such file or directory\n")
