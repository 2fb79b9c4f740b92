"""The Docker runtime: the kubelet's :class:`~actors.runtime.Runtime` on a real Docker engine.

Talks to the engine through the Docker SDK (``DOCKER_HOST`` or /var/run/docker.sock). Every
container carries the labels of :mod:`actors.runtime` so the kubelet finds it again after a
restart. Container starts and deaths come from Docker's event stream, read on a daemon thread
that only decodes and hands over. Docker's exceptions become
:class:`~actors.runtime.RuntimeFailure` (with the kubelet's waiting reason) here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from actors.runtime import (
    ATTEMPT,
    CLUSTER_ID,
    CONTAINER_NAME,
    NODE_NAME,
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
    ContainerInfo,
    RuntimeEvent,
    RuntimeFailure,
)

log = logging.getLogger(__name__)

Object = dict[str, Any]


def container_name(pod: Object, container: Object, attempt: int) -> str:
    """Docker's name for one attempt, after the kubelet's ``k8s_`` convention."""
    meta = pod["metadata"]
    return (f"k8s_{container['name']}_{meta['name']}_{meta['namespace']}_"
            f"{meta['uid'][:8]}_{attempt}")


def run_options(pod: Object, container: Object, attempt: int,
                scope: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments of ``containers.create`` for one container of a pod; ``scope`` adds
    the runtime's node and cluster labels."""
    meta, spec = pod["metadata"], pod["spec"]
    labels = {POD_NAME: meta["name"], POD_NAMESPACE: meta["namespace"], POD_UID: meta["uid"],
              CONTAINER_NAME: container["name"], ATTEMPT: str(attempt), **(scope or {})}
    env = {item["name"]: str(item.get("value", "")) for item in container.get("env") or []}
    options: dict[str, Any] = {
        "image": container["image"], "name": container_name(pod, container, attempt),
        "labels": labels, "environment": env, "detach": True,
        # Docker's init (tini) as PID 1 forwards SIGTERM, so a process without handlers (a
        # shell, `sleep`) still stops within the grace period instead of waiting for SIGKILL.
        "init": True,
        "network_mode": "host" if spec.get("hostNetwork") else "none",
    }
    if container.get("command"):
        options["entrypoint"] = container["command"]
    if container.get("args"):
        options["command"] = container["args"]
    if container.get("workingDir"):
        options["working_dir"] = container["workingDir"]
    return options


def to_info(container: Container) -> ContainerInfo:
    attrs = container.attrs
    state = attrs.get("State", {})
    labels = attrs.get("Config", {}).get("Labels") or {}
    status = state.get("Status", "created")
    return ContainerInfo(
        id=container.id or "", pod_uid=labels.get(POD_UID, ""),
        name=labels.get(CONTAINER_NAME, ""), attempt=int(labels.get(ATTEMPT, "0")),
        image=attrs.get("Config", {}).get("Image", ""),
        state={"running": "running", "exited": "exited", "dead": "exited"}.get(status, status),
        exit_code=state.get("ExitCode") if status in ("exited", "dead") else None,
        started_at=_timestamp(state.get("StartedAt")),
        finished_at=_timestamp(state.get("FinishedAt")) if status in ("exited", "dead") else None,
        oom_killed=bool(state.get("OOMKilled")),
    )


def _timestamp(value: str | None) -> str | None:
    """Docker's nanosecond RFC 3339 as Kubernetes' seconds RFC 3339."""
    if not value or value.startswith("0001-"):
        return None
    return value[:19] + "Z"


class DockerRuntime:
    """See the module docstring. Methods block; call them from the kubelet's thread."""

    def __init__(self, node_name: str, cluster_id: str,
                 client: docker.DockerClient | None = None) -> None:
        self.scope = {NODE_NAME: node_name, CLUSTER_ID: cluster_id}
        """Labels of every container this runtime makes; it sees no other container."""
        try:
            self.client = client or docker.from_env()
            self.client.ping()
        except docker.errors.DockerException as error:
            raise RuntimeFailure("RuntimeUnavailable",
                                 f"cannot reach the Docker engine: {error}") from error
        self._events: Any = None

    def version(self) -> str:
        return f"docker://{self.client.version().get('Version', 'unknown')}"

    def ensure_image(self, image: str, policy: str) -> None:
        present = self._has_image(image)
        if policy == "Never" and not present:
            raise RuntimeFailure("ErrImageNeverPull",
                                 f'image "{image}" is not present with pull policy of Never')
        if policy == "Always" or not present:
            try:
                self.client.images.pull(image)
            except docker.errors.DockerException as error:
                if policy == "Always" and present:
                    log.warning("pull of %s failed, using the local copy: %s", image, error)
                    return
                raise RuntimeFailure("ErrImagePull",
                                     f'failed to pull image "{image}": {error}') from error

    def _has_image(self, image: str) -> bool:
        try:
            self.client.images.get(image)
            return True
        except docker.errors.ImageNotFound:
            return False

    def start_container(self, pod: Object, container: Object, attempt: int) -> ContainerInfo:
        options = run_options(pod, container, attempt, self.scope)
        try:
            self._remove_named(options["name"])
            created = self.client.containers.create(**options)
        except docker.errors.DockerException as error:
            raise RuntimeFailure("CreateContainerError", str(error)) from error
        try:
            created.start()
            created.reload()
        except docker.errors.DockerException as error:
            raise RuntimeFailure("RunContainerError", str(error)) from error
        return to_info(created)

    def _remove_named(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(name).remove(force=True)

    def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        try:
            found = self.client.containers.list(all=True, filters={"label": self._labels(pod_uid)})
        except docker.errors.DockerException as error:
            raise RuntimeFailure("RuntimeUnavailable", str(error)) from error
        return [to_info(container) for container in found]

    def _labels(self, pod_uid: str | None) -> list[str]:
        """Docker label filters (all must hold) for this runtime's containers, or one pod's."""
        pod = f"{POD_UID}={pod_uid}" if pod_uid else POD_UID
        return [pod, *(f"{key}={value}" for key, value in self.scope.items())]

    def remove_container(self, container_id: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(container_id).remove(force=True)

    def stop_pod(self, pod_uid: str, grace_seconds: int) -> None:
        for container in self.client.containers.list(filters={"label": self._labels(pod_uid)}):
            with contextlib.suppress(docker.errors.NotFound):
                container.stop(timeout=grace_seconds)

    def remove_pod(self, pod_uid: str) -> None:
        for info in self.list_containers(pod_uid):
            self.remove_container(info.id)

    def watch(self, on_event: Callable[[RuntimeEvent], None]) -> None:
        self._events = self.client.events(
            decode=True, filters={"type": "container", "label": self._labels(None)}
        )
        threading.Thread(target=self._pump, args=(self._events, on_event),
                         name="docker-events", daemon=True).start()

    @staticmethod
    def _pump(stream: Any, on_event: Callable[[RuntimeEvent], None]) -> None:
        try:
            for event in stream:
                action = event.get("Action") or event.get("status")
                if action not in ("start", "die"):
                    continue
                labels = event.get("Actor", {}).get("Attributes", {})
                on_event(RuntimeEvent(labels.get(POD_UID, ""), labels.get(CONTAINER_NAME, ""),
                                      action))
        except Exception as error:  # the stream ends with an error when closed
            log.debug("docker event stream ended: %s", error)

    def close(self) -> None:
        if self._events is not None:
            self._events.close()
        self.client.close()
