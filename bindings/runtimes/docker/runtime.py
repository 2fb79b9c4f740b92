"""The Docker runtime: the kubelet's :class:`~actors.kubelet.runtime.Runtime` on a real Docker
engine.

Talks to the engine through the Docker SDK (``DOCKER_HOST`` or /var/run/docker.sock). Every
container carries the labels of :mod:`actors.kubelet.runtime` so the kubelet finds it again after a
restart. Container starts, deaths and OOM kills come from Docker's event stream, read on a daemon
thread that only decodes and hands over (``events``).

Which thread: the methods block; the kubelet calls them from its own threads (pod workers,
the streaming server). Every method raises only RuntimeFailure (``failures``).

Neighbours: ``containers`` (what a container is asked and read as), ``events`` (the engine's
event stream), ``streams`` (logs, exec, attach), ``failures`` (Docker's exceptions translated),
``bindings.runtimes.atomicwriter`` (the files of volumes), ``bindings.cluster.nodes`` (makes one
per node).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.models.containers import Container

from actors.api.objects import Object
from actors.kubelet.runtime import (
    CLUSTER_ID,
    CONTAINER_NAME,
    NODE_NAME,
    POD_UID,
    ContainerInfo,
    ExecResult,
    ExecSession,
    RuntimeEvent,
    RuntimeFailure,
    Usage,
    VolumeFile,
    attempt,
)
from bindings.runtimes import atomicwriter
from bindings.runtimes.docker import containers, streams
from bindings.runtimes.docker.events import DockerEvents
from bindings.runtimes.docker.failures import explanation, translated

log = logging.getLogger(__name__)

CREATES_AT_ONCE = 8
"""Containers created at once beside their pod workers (threads made on demand)."""
STATS_AT_ONCE = 32
"""Containers whose stats are asked of the engine at once (each answer takes about a second)."""


def _log_arguments(tail_lines: int | None, timestamps: bool, since: float | None
                   ) -> dict[str, Any]:
    """The Docker SDK's ``logs`` arguments: both outputs, the last lines, the engine's own
    timestamps (RFC3339Nano, as the kubelet's CRI log), from when."""
    found: dict[str, Any] = {"stdout": True, "stderr": True, "timestamps": timestamps,
                             "tail": "all" if tail_lines is None else tail_lines}
    if since is not None:
        found["since"] = since
    return found


class DockerRuntime:
    """See the module docstring. Methods block; call them from the kubelet's thread. Every
    method raises only RuntimeFailure."""

    def __init__(self, node_name: str, cluster_id: str,
                 client: docker.DockerClient | None = None, pods_dir: Path | None = None
                 ) -> None:
        self.scope = {NODE_NAME: node_name, CLUSTER_ID: cluster_id}
        """Labels of every container this runtime makes; it sees no other container."""
        self.pods_dir = pods_dir or Path(tempfile.mkdtemp(prefix=f"kubeactor-{node_name}-"))
        """Where the files of pods' volumes are written (the kubelet's data dir, else a new
        temporary one); Docker's engine must see the same paths to bind-mount them."""
        with translated("RuntimeUnavailable"):
            self.client = client or docker.from_env()
            self.client.ping()
        self.events = DockerEvents(self.client, self._labels(None))
        """The engine's events of this runtime's containers (``watch``)."""
        self._creates = ThreadPoolExecutor(max_workers=CREATES_AT_ONCE,
                                           thread_name_prefix="docker-create")
        """Where containers are created while their pod worker writes their volumes' files."""

    def version(self) -> str:
        with translated("RuntimeUnavailable"):
            return f"docker://{self.client.version().get('Version', 'unknown')}"

    def image_present(self, image: str) -> bool:
        with translated("ErrImagePull"):
            try:
                self.client.images.get(image)
                return True
            except (docker.errors.ImageNotFound, docker.errors.APIError):
                return False  # not found, or not even a valid reference

    def pull_image(self, image: str) -> None:
        with translated("ErrImagePull"):
            try:
                self.client.images.pull(image)
            except docker.errors.DockerException as error:
                raise RuntimeFailure("ErrImagePull", explanation(error)) from error

    def start_container(self, pod: Object, container: Object, attempt: int,
                        prepare: Callable[[], None] | None = None,
                        created: Callable[[], None] | None = None) -> ContainerInfo:
        """Docker's create, then the start; ``prepare`` runs on this thread while another
        creates (its bind mounts' directories made first: the engine checks they exist)."""
        options = containers.run_options(pod, container, attempt, self.scope, self.pods_dir)
        if prepare is None:
            made = self._create(options)
        else:
            for source in containers.bind_sources(options, self.pods_dir):
                source.mkdir(parents=True, exist_ok=True)
            creating = self._creates.submit(self._create, options)
            try:
                prepare()
            except BaseException:
                self._discard(creating, options["name"])
                raise
            made = creating.result()
        if created is not None:
            created()
        with translated("RunContainerError"):
            made.start()
            made.reload()
        return containers.to_info(made)

    def _create(self, options: dict[str, Any]) -> Container:
        with translated("CreateContainerError"):
            try:
                return self.client.containers.create(**options)
            except docker.errors.APIError as error:
                if error.status_code != 409:
                    raise
                self._remove_named(options["name"])  # a leftover of a start cut short
                return self.client.containers.create(**options)

    def _discard(self, creating: Future[Container], created_name: str) -> None:
        """Remove the container being created, once it is (its start's files failed)."""
        try:
            created = creating.result()
        except RuntimeFailure:
            return  # nothing was made
        try:
            with translated("RuntimeUnavailable"), contextlib.suppress(docker.errors.NotFound):
                created.remove(force=True)  # never started: no death to tell
        except RuntimeFailure as failure:
            log.warning("container %s not removed: %s", created_name, failure)

    def write_volume(self, pod: Object, volume: str, files: dict[str, VolumeFile]) -> None:
        target = containers.volume_dir(self.pods_dir, pod["metadata"]["uid"], volume)
        try:
            atomicwriter.write(target, files)
        except (OSError, ValueError) as error:
            raise RuntimeFailure("ContainerCreating", f"MountVolume.SetUp failed for volume "
                                 f'"{volume}" : {error}') from error

    def _remove_named(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(name).remove(force=True)

    def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        with translated("RuntimeUnavailable"):
            found = self.client.containers.list(all=True, filters={"label": self._labels(pod_uid)})
            return [containers.to_info(container, self.events.oom_killed(str(container.id)))
                    for container in found]

    def _labels(self, pod_uid: str | None) -> list[str]:
        """Docker label filters (all must hold) for this runtime's containers, or one pod's."""
        pod = f"{POD_UID}={pod_uid}" if pod_uid else POD_UID
        return [pod, *(f"{key}={value}" for key, value in self.scope.items())]

    def remove_container(self, container_id: str) -> None:
        self.events.stopping(container_id)
        with translated("RuntimeUnavailable"), contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(container_id).remove(force=True)

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        self.events.stopping(container_id)
        with translated("RuntimeUnavailable"), contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(container_id).stop(timeout=max(grace_seconds, 0))

    def stop_pod(self, pod_uid: str, grace_seconds: int) -> None:
        """Stop the pod's containers together, each with SIGTERM then SIGKILL after grace."""
        with translated("RuntimeUnavailable"):
            running = self.client.containers.list(filters={"label": self._labels(pod_uid)})
        if not running:
            return

        def stop(container: Container) -> None:
            self.events.stopping(str(container.id))
            with translated("RuntimeUnavailable"), contextlib.suppress(docker.errors.NotFound):
                container.stop(timeout=max(grace_seconds, 0))

        with ThreadPoolExecutor(max_workers=len(running)) as pool:
            list(pool.map(stop, running))

    def remove_pod(self, pod_uid: str) -> None:
        for info in self.list_containers(pod_uid):
            self.remove_container(info.id)
        with translated("RuntimeUnavailable"):
            for volume in self.client.volumes.list(filters={"label": f"{POD_UID}={pod_uid}"}):
                with contextlib.suppress(docker.errors.NotFound):
                    volume.remove(force=True)
        shutil.rmtree(self.pods_dir / pod_uid, ignore_errors=True)

    def _latest(self, pod_uid: str, container: str, previous: bool = False) -> Container:
        """The latest attempt of ``container``, or when ``previous`` the one before it."""
        info = attempt(self.list_containers(pod_uid), container, previous)
        with translated("RuntimeUnavailable"):
            return self.client.containers.get(info.id)

    def _running(self, pod_uid: str, container: str) -> Container:
        """The latest attempt of ``container``; RuntimeFailure when it is not running."""
        found = self._latest(pod_uid, container)
        if found.status != "running":
            raise RuntimeFailure("ContainerNotRunning",
                                 f'container "{container}" is not running')
        return found

    def logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
             previous: bool = False, timestamps: bool = False, since: float | None = None
             ) -> str:
        found = self._latest(pod_uid, container, previous)
        with translated("RuntimeUnavailable"):
            data = found.logs(**_log_arguments(tail_lines, timestamps, since))
        return streams.text(data)

    def follow_logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
                    previous: bool = False, timestamps: bool = False,
                    since: float | None = None) -> streams.DockerLogStream:
        found = self._latest(pod_uid, container, previous)
        with translated("RuntimeUnavailable"):
            return streams.DockerLogStream(found.logs(stream=True, follow=True, **_log_arguments(
                tail_lines, timestamps, since)))

    def exec(self, pod_uid: str, container: str, command: list[str]) -> ExecResult:
        found = self._running(pod_uid, container)
        with translated("RunContainerError"):
            code, (out, err) = found.exec_run(command, demux=True)
        return ExecResult(int(code if code is not None else -1), streams.text(out),
                          streams.text(err))

    def exec_stream(self, pod_uid: str, container: str, command: list[str], *, stdin: bool,
                    tty: bool) -> ExecSession:
        found = self._running(pod_uid, container)
        api = self.client.api
        with translated("RunContainerError"):
            exec_id = api.exec_create(found.id, command, stdin=stdin, tty=tty)["Id"]
            attached = api.exec_start(exec_id, tty=tty, socket=True)
        return streams.DockerExec(api, exec_id, attached, tty)

    def usage(self, pods: list[Object]) -> dict[str, dict[str, Usage]]:
        """Docker's stats of this node's running containers of ``pods``: one ``stats`` call
        each, all at once (the engine takes two samples about a second apart); a container
        gone or failing meanwhile is left out."""
        uids = {pod["metadata"]["uid"] for pod in pods}
        with translated("RuntimeUnavailable"):
            running = [c for c in self.client.containers.list(
                filters={"label": self._labels(None)}) if c.labels.get(POD_UID) in uids]
        found: dict[str, dict[str, Usage]] = {}
        if not running:
            return found

        def sample(container: Container) -> Usage | None:
            try:
                stats: Any = container.stats(stream=False)  # one answer, two samples
            except (docker.errors.DockerException, requests.RequestException) as error:
                log.debug("no stats of %s: %s", container.name, error)
                return None
            return containers.usage(stats)

        with ThreadPoolExecutor(max_workers=min(len(running), STATS_AT_ONCE)) as pool:
            for container, used in zip(running, pool.map(sample, running), strict=True):
                if used is not None:
                    found.setdefault(container.labels[POD_UID], {})[
                        container.labels.get(CONTAINER_NAME, "")] = used
        return found

    def attach_stream(self, pod_uid: str, container: str, *, stdin: bool,
                      tty: bool) -> ExecSession:
        found = self._running(pod_uid, container)
        config, container_id = found.attrs.get("Config") or {}, str(found.id)
        with translated("RunContainerError"):
            attached = self.client.api.attach_socket(container_id, params={
                "stdin": int(stdin and bool(config.get("OpenStdin"))), "stdout": 1,
                "stderr": 1, "stream": 1})
        return streams.DockerAttach(self.client.api, container_id, attached,
                                    bool(config.get("Tty")))

    def watch(self, on_event: Callable[[RuntimeEvent], None]) -> None:
        self.events.watch(on_event)

    def close(self) -> None:
        self.events.close()
        self._creates.shutdown(wait=False)
        self.client.close()
