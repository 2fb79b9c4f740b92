"""The simulated runtime: containers that exist only in memory, as KWOK's do.

For scale runs and tests where Docker adds nothing. Every image is present, a container starts
at once and runs until deleted, unless the pod asks otherwise with annotations:

- ``sim.kubeactor.io/run-seconds``: the containers exit after that many seconds;
- ``sim.kubeactor.io/exit-code``: ...with this code (default 0);
- ``sim.kubeactor.io/pull-error``: any value makes the image pull fail (ErrImagePull).

Deaths are reported through ``watch`` like Docker's event stream, from timer threads.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from actors.objects import now_rfc3339
from actors.runtime import ContainerInfo, ExecResult, RuntimeEvent, RuntimeFailure

Object = dict[str, Any]

RUN_SECONDS = "sim.kubeactor.io/run-seconds"
EXIT_CODE = "sim.kubeactor.io/exit-code"
PULL_ERROR = "sim.kubeactor.io/pull-error"


class SimRuntime:
    """A :class:`actors.runtime.Runtime` without containers. Thread-safe."""

    def __init__(self, node_name: str) -> None:
        self.node_name = node_name
        self._containers: dict[str, ContainerInfo] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._on_event: Callable[[RuntimeEvent], None] = lambda event: None
        self._timers: dict[str, threading.Timer] = {}

    def version(self) -> str:
        return "sim://0.1.0"

    def ensure_image(self, image: str, policy: str) -> None:
        """Every image is present; a pod asks for a pull error with an annotation."""

    def start_container(self, pod: Object, container: Object, attempt: int) -> ContainerInfo:
        annotations = pod["metadata"].get("annotations") or {}
        if PULL_ERROR in annotations:
            raise RuntimeFailure("ErrImagePull",
                                 f'failed to pull image "{container["image"]}": simulated')
        try:
            run_for = float(annotations[RUN_SECONDS]) if RUN_SECONDS in annotations else None
            code = int(annotations.get(EXIT_CODE, "0"))
        except ValueError as error:
            raise RuntimeFailure("CreateContainerError",
                                 f"bad sim.kubeactor.io annotation: {error}") from None
        info = ContainerInfo(
            id=f"sim-{self.node_name}-{next(self._ids)}", pod_uid=pod["metadata"]["uid"],
            name=container["name"], attempt=attempt, image=container["image"],
            state="running", started_at=now_rfc3339())
        with self._lock:
            self._containers[info.id] = info
        if run_for is not None:
            timer = threading.Timer(run_for, self._exit, args=(info.id, code))
            timer.daemon = True
            self._timers[info.id] = timer
            timer.start()
        self._on_event(RuntimeEvent(info.pod_uid, info.name, "start"))
        return info

    def _exit(self, container_id: str, code: int) -> None:
        with self._lock:
            self._timers.pop(container_id, None)
            info = self._containers.get(container_id)
            if info is None or info.state != "running":
                return
            self._containers[container_id] = replace(
                info, state="exited", exit_code=code, finished_at=now_rfc3339())
        self._on_event(RuntimeEvent(info.pod_uid, info.name, "die"))

    def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        with self._lock:
            return [info for info in self._containers.values()
                    if pod_uid is None or info.pod_uid == pod_uid]

    def remove_container(self, container_id: str) -> None:
        with self._lock:
            self._containers.pop(container_id, None)
            timer = self._timers.pop(container_id, None)
        if timer is not None:
            timer.cancel()

    def stop_pod(self, pod_uid: str, grace_seconds: int) -> None:
        for info in self.list_containers(pod_uid):
            self._exit(info.id, 0)  # a simulated process honours SIGTERM at once

    def remove_pod(self, pod_uid: str) -> None:
        for info in self.list_containers(pod_uid):
            self.remove_container(info.id)

    def logs(self, pod_uid: str, container: str, tail_lines: int | None = None) -> str:
        if not any(i.name == container for i in self.list_containers(pod_uid)):
            raise RuntimeFailure("ContainerNotFound",
                                 f'container "{container}" has not been created yet')
        return ""  # a simulated container prints nothing

    def exec(self, pod_uid: str, container: str, command: list[str]) -> ExecResult:
        self.logs(pod_uid, container)
        return ExecResult(0, "", "")

    def watch(self, on_event: Callable[[RuntimeEvent], None]) -> None:
        self._on_event = on_event

    def close(self) -> None:
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()
