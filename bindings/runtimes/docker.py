"""The Docker runtime: the kubelet's :class:`~actors.kubelet.runtime.Runtime` on a real Docker
engine.

Talks to the engine through the Docker SDK (``DOCKER_HOST`` or /var/run/docker.sock). Every
container carries the labels of :mod:`actors.kubelet.runtime` so the kubelet finds it again after a
restart. Container starts, deaths and OOM kills come from Docker's event stream, read on a daemon
thread that only decodes and hands over. Docker's exceptions become
:class:`~actors.kubelet.runtime.RuntimeFailure` (with the kubelet's waiting reason) here.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import select
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.utils.socket
import requests
from docker.models.containers import Container
from docker.types import Mount

from actors.api.objects import Object
from actors.api.quantity import parse_cpu, parse_memory
from actors.kubelet.runtime import (
    ATTEMPT,
    CLUSTER_ID,
    CONTAINER_NAME,
    NODE_NAME,
    POD_NAME,
    POD_NAMESPACE,
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
from actors.kubelet.volumes import file_volume
from bindings.runtimes import atomicwriter

log = logging.getLogger(__name__)


STATS_AT_ONCE = 32
"""Containers whose stats are asked of the engine at once (each answer takes about a second)."""
KILLED = 137
"""The exit code of a container killed by SIGKILL (the kernel's OOM killer's signal)."""
OOM_WAIT = 0.5
"""Seconds a container's death by SIGKILL waits for its ``oom`` event before it is told."""
MAX_OOM_EVENTS = 1024
"""Containers whose ``oom`` events are remembered."""


def container_name(pod: Object, container: Object, attempt: int) -> str:
    """Docker's name for one attempt, after the kubelet's ``k8s_`` convention."""
    meta = pod["metadata"]
    return (f"k8s_{container['name']}_{meta['name']}_{meta['namespace']}_"
            f"{meta['uid'][:8]}_{attempt}")


def run_options(pod: Object, container: Object, attempt: int,
                scope: dict[str, str] | None = None, pods_dir: Path | None = None
                ) -> dict[str, Any]:
    """Keyword arguments of ``containers.create`` for one container of a pod; ``scope`` adds
    the runtime's node and cluster labels, ``pods_dir`` is where volume files are."""
    meta, spec = pod["metadata"], pod["spec"]
    labels = {POD_NAME: meta["name"], POD_NAMESPACE: meta["namespace"], POD_UID: meta["uid"],
              CONTAINER_NAME: container["name"], ATTEMPT: str(attempt), **(scope or {})}
    env = {item["name"]: str(item.get("value", "")) for item in container.get("env") or []}
    limits = (container.get("resources") or {}).get("limits") or {}
    options: dict[str, Any] = {
        "image": container["image"], "name": container_name(pod, container, attempt),
        "labels": labels, "environment": env,
        # Docker's init (tini) as PID 1 forwards SIGTERM, so a process without handlers (a
        # shell, `sleep`) still stops within the grace period instead of waiting for SIGKILL.
        "init": True,
        "network_mode": "host" if spec.get("hostNetwork") else "none",
    }
    if not spec.get("hostNetwork"):  # Kubernetes' pod hostname: spec.hostname or the name
        options["hostname"] = str(spec.get("hostname") or meta["name"])[:63]
    if container.get("command"):
        options["entrypoint"] = container["command"]
    if container.get("args"):
        options["command"] = container["args"]
    if container.get("workingDir"):
        options["working_dir"] = container["workingDir"]
    if "memory" in limits:
        options["mem_limit"] = parse_memory(limits["memory"])
        options["memswap_limit"] = options["mem_limit"]  # no swap, as the kubelet sets it
    if "cpu" in limits:
        options["nano_cpus"] = parse_cpu(limits["cpu"]) * 1_000_000
    if mounts := volume_mounts(pod, container, pods_dir):
        options["mounts"] = mounts
    return {**options, **stdio_options(container)}


def stdio_options(container: Object) -> dict[str, Any]:
    """A container's ``stdin``, ``stdinOnce`` and ``tty`` as Docker's: stdin kept open, a
    terminal; the SDK sets ``StdinOnce`` (stdin closed when its first attach leaves) only for
    a container it does not detach, so ``detach`` is False then (nothing else changes: the
    container is started apart from its creation, never attached by ``start``)."""
    stdin = container.get("stdin") is True
    return {"stdin_open": stdin, "tty": container.get("tty") is True,
            "detach": not (stdin and container.get("stdinOnce") is True)}


def volume_name(pod: Object, volume: str) -> str:
    """The Docker volume holding one emptyDir of a pod."""
    return f"k8s_{pod['metadata']['uid']}_{volume}"


def volume_dir(pods_dir: Path, pod_uid: str, volume: str) -> Path:
    """Where the files of one ConfigMap, Secret, downward API or projected volume are (the
    kubelet's ``pods/<uid>/volumes/<name>``)."""
    return pods_dir / pod_uid / "volumes" / volume


def volume_mounts(pod: Object, container: Object, pods_dir: Path | None = None) -> list[Mount]:
    """Docker mounts for the container's volumeMounts: an emptyDir is a Docker volume of the
    pod (made on first use, removed with the pod), a hostPath a bind mount, the files of a
    ConfigMap, Secret, downward API or projected volume a read-only bind mount of their
    directory under ``pods_dir``."""
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    mounts = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            raise RuntimeFailure("CreateContainerConfigError",
                                 f'volume "{mount["name"]}" is not declared by the pod')
        read_only = bool(mount.get("readOnly"))
        if "hostPath" in volume:
            mounts.append(Mount(mount["mountPath"], volume["hostPath"]["path"], type="bind",
                                read_only=read_only))
        elif "emptyDir" in volume:
            mounts.append(Mount(mount["mountPath"], volume_name(pod, volume["name"]),
                                type="volume", read_only=read_only,
                                labels={POD_UID: pod["metadata"]["uid"]}))
        elif file_volume(volume) and pods_dir is not None:
            source = volume_dir(pods_dir, pod["metadata"]["uid"], volume["name"])
            mounts.append(Mount(mount["mountPath"], str(source), type="bind", read_only=True))
        else:
            raise RuntimeFailure("CreateContainerConfigError",
                                 f'volume "{volume["name"]}": only emptyDir, hostPath, '
                                 "configMap, secret, downwardAPI and projected are supported")
    return mounts


def to_info(container: Container, oom_event: bool = False) -> ContainerInfo:
    """What the kubelet reads of ``container``. ``oom_event``: Docker told an ``oom`` event
    of it. A container killed (137) whose ``oom`` event came after its exit has OOMKilled
    false for good in Docker's state (1 in 30 here): it was killed for its memory all the
    same (containerd's CRI sets the reason from that event too)."""
    attrs = container.attrs
    state = attrs.get("State", {})
    labels = attrs.get("Config", {}).get("Labels") or {}
    status = state.get("Status", "created")
    exit_code = state.get("ExitCode") if status in ("exited", "dead") else None
    return ContainerInfo(
        id=container.id or "", pod_uid=labels.get(POD_UID, ""),
        name=labels.get(CONTAINER_NAME, ""), attempt=int(labels.get(ATTEMPT, "0")),
        image=attrs.get("Config", {}).get("Image", ""),
        state={"running": "running", "exited": "exited", "dead": "exited"}.get(status, status),
        exit_code=exit_code,
        started_at=_timestamp(state.get("StartedAt")),
        finished_at=_timestamp(state.get("FinishedAt")) if status in ("exited", "dead") else None,
        oom_killed=bool(state.get("OOMKilled")) or (oom_event and exit_code == KILLED),
        runtime="docker",
        image_id=f"docker-pullable://{attrs.get('Image', '')}",
    )


def usage(stats: dict[str, Any]) -> Usage:
    """A container's :class:`Usage` from one answer of Docker's stats (which holds two
    samples): the CPU time used between them over the time between them, in nanocores; the
    memory used less the inactive page cache (cgroup v1 ``total_inactive_file``, v2
    ``inactive_file``), as cAdvisor's working set."""
    now, before = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    used = (now.get("cpu_usage") or {}).get("total_usage", 0) - (
        before.get("cpu_usage") or {}).get("total_usage", 0)
    elapsed = _seconds(stats.get("read")) - _seconds(stats.get("preread"))
    memory = stats.get("memory_stats") or {}
    cache = memory.get("stats") or {}
    inactive = cache.get("total_inactive_file", cache.get("inactive_file", 0))
    return Usage(int(used / elapsed) if used > 0 and elapsed > 0 else 0,
                 max(int(memory.get("usage", 0)) - int(inactive), 0))


def _seconds(stamp: str | None) -> float:
    """Seconds since the epoch of Docker's RFC 3339 timestamp with nanoseconds; 0 for none
    (or Docker's zero time, which a first sample's ``preread`` is)."""
    if not stamp or stamp.startswith("0001-"):
        return 0.0
    day, _, rest = stamp.rstrip("Z").partition("T")
    clock, _, fraction = rest.partition(".")
    whole = datetime.datetime.fromisoformat(f"{day}T{clock}+00:00").timestamp()
    return whole + float(f"0.{fraction or 0}")


def _timestamp(value: str | None) -> str | None:
    """Docker's nanosecond RFC 3339 as Kubernetes' seconds RFC 3339."""
    if not value or value.startswith("0001-"):
        return None
    return value[:19] + "Z"


def _text(data: object) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else ""


@contextlib.contextmanager
def translated(reason: str) -> Iterator[None]:
    """Turn the Docker SDK's and its HTTP layer's exceptions into RuntimeFailure(reason)."""
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise RuntimeFailure(reason, str(error)) from error


def _explanation(error: docker.errors.DockerException) -> str:
    """The engine's own words for a failure (what Kubernetes shows as the message)."""
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)


def _log_arguments(tail_lines: int | None, timestamps: bool, since: float | None
                   ) -> dict[str, Any]:
    """The Docker SDK's ``logs`` arguments: both outputs, the last lines, the engine's own
    timestamps (RFC3339Nano, as the kubelet's CRI log), from when."""
    found: dict[str, Any] = {"stdout": True, "stderr": True, "timestamps": timestamps,
                             "tail": "all" if tail_lines is None else tail_lines}
    if since is not None:
        found["since"] = since
    return found


class DockerLogStream:
    """A followed container log (``docker logs -f``); ends when the container stops."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[str]:
        try:
            for chunk in self._chunks:
                yield _text(chunk)
        except (docker.errors.DockerException, requests.exceptions.RequestException,
                OSError, ValueError):
            return  # closed from another thread, or the engine went away

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._chunks.close()


OUTPUT_BYTES = 64 * 1024
"""Most output of an exec handed over at once (a bus message stays small)."""
EXIT_WAITS = 40
"""Looks (50 ms apart) at an exec whose output has ended for its exit code: the engine may
report it a moment after the stream closes."""


class DockerExec:
    """A ``docker exec`` with its input and output attached (the engine's hijacked
    connection, ``exec_start(socket=True)``): output read as the engine frames it (raw with a
    terminal), input written to the socket, its end a half-close."""

    def __init__(self, api: Any, exec_id: str, attached: Any, tty: bool) -> None:
        self._api, self._id, self._tty = api, exec_id, tty
        self._attached = attached
        self._socket: socket.socket = getattr(attached, "_sock", attached)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """The output, frames of one stream that are already there joined (up to
        :data:`OUTPUT_BYTES`): busybox writes 4 KiB at a time, and each chunk is a message
        the reader answers."""
        held_channel, held = 0, b""
        try:
            for channel, data in docker.utils.socket.frames_iter(self._attached, self._tty):
                if held and channel != held_channel:
                    yield held_channel, held
                    held = b""
                held_channel, held = channel, held + data
                if held and (len(held) >= OUTPUT_BYTES or not self._readable()):
                    yield held_channel, held
                    held = b""
        except (OSError, ValueError):
            return  # closed from another thread
        if held:
            yield held_channel, held

    def _readable(self) -> bool:
        """Whether more output is already there (read without waiting)."""
        return bool(select.select([self._socket], [], [], 0)[0])

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self._socket.sendall(data)

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_WR)

    def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(docker.errors.DockerException,
                                 requests.exceptions.RequestException):
            self._api.exec_resize(self._id, height=height, width=width)

    def exit_code(self) -> int:
        with translated("RuntimeUnavailable"):
            for _ in range(EXIT_WAITS):
                found = self._api.exec_inspect(self._id)
                if not found.get("Running"):
                    break
                time.sleep(0.05)
        return int(found.get("ExitCode") if found.get("ExitCode") is not None else -1)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._attached.close()


class DockerAttach(DockerExec):
    """A ``docker attach`` to a container's own stdio: as an exec's, but a resize goes to the
    container's terminal and the end is the container's (reported 0, as Kubernetes' kubelet
    does: ``Runtime.attach_stream``)."""

    def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(docker.errors.DockerException,
                                 requests.exceptions.RequestException):
            self._api.resize(self._id, height=height, width=width)

    def exit_code(self) -> int:
        return 0


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
        self._events: Any = None
        self._closed = threading.Event()
        self._oom_events: deque[str] = deque(maxlen=MAX_OOM_EVENTS)
        """The containers Docker told an ``oom`` event of (``to_info``), newest last."""

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
                raise RuntimeFailure("ErrImagePull", _explanation(error)) from error

    def start_container(self, pod: Object, container: Object, attempt: int) -> ContainerInfo:
        options = run_options(pod, container, attempt, self.scope, self.pods_dir)
        with translated("CreateContainerError"):
            try:
                created = self.client.containers.create(**options)
            except docker.errors.APIError as error:
                if error.status_code != 409:
                    raise
                self._remove_named(options["name"])  # a leftover of a start cut short
                created = self.client.containers.create(**options)
        with translated("RunContainerError"):
            created.start()
            created.reload()
        return to_info(created)

    def write_volume(self, pod: Object, volume: str, files: dict[str, VolumeFile]) -> None:
        target = volume_dir(self.pods_dir, pod["metadata"]["uid"], volume)
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
            return [to_info(container, container.id in self._oom_events)
                    for container in found]

    def _labels(self, pod_uid: str | None) -> list[str]:
        """Docker label filters (all must hold) for this runtime's containers, or one pod's."""
        pod = f"{POD_UID}={pod_uid}" if pod_uid else POD_UID
        return [pod, *(f"{key}={value}" for key, value in self.scope.items())]

    def remove_container(self, container_id: str) -> None:
        with translated("RuntimeUnavailable"), contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(container_id).remove(force=True)

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        with translated("RuntimeUnavailable"), contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(container_id).stop(timeout=max(grace_seconds, 0))

    def stop_pod(self, pod_uid: str, grace_seconds: int) -> None:
        """Stop the pod's containers together, each with SIGTERM then SIGKILL after grace."""
        with translated("RuntimeUnavailable"):
            running = self.client.containers.list(filters={"label": self._labels(pod_uid)})
        if not running:
            return

        def stop(container: Container) -> None:
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
        return _text(data)

    def follow_logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
                    previous: bool = False, timestamps: bool = False,
                    since: float | None = None) -> DockerLogStream:
        found = self._latest(pod_uid, container, previous)
        with translated("RuntimeUnavailable"):
            return DockerLogStream(found.logs(stream=True, follow=True, **_log_arguments(
                tail_lines, timestamps, since)))

    def exec(self, pod_uid: str, container: str, command: list[str]) -> ExecResult:
        found = self._running(pod_uid, container)
        with translated("RunContainerError"):
            code, (out, err) = found.exec_run(command, demux=True)
        return ExecResult(int(code if code is not None else -1), _text(out), _text(err))

    def exec_stream(self, pod_uid: str, container: str, command: list[str], *, stdin: bool,
                    tty: bool) -> ExecSession:
        found = self._running(pod_uid, container)
        api = self.client.api
        with translated("RunContainerError"):
            exec_id = api.exec_create(found.id, command, stdin=stdin, tty=tty)["Id"]
            attached = api.exec_start(exec_id, tty=tty, socket=True)
        return DockerExec(api, exec_id, attached, tty)

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
            return usage(stats)

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
        return DockerAttach(self.client.api, container_id, attached, bool(config.get("Tty")))

    def watch(self, on_event: Callable[[RuntimeEvent], None]) -> None:
        threading.Thread(target=self._pump, args=(on_event,), name="docker-events",
                         daemon=True).start()

    def _pump(self, on_event: Callable[[RuntimeEvent], None]) -> None:
        """Read Docker's event stream until close(); reopen it when the engine drops it, and
        then ask for a relist, since events of the gap are lost."""
        reopened = False
        while not self._closed.is_set():
            try:
                self._events = self.client.events(
                    decode=True, filters={"type": "container", "label": self._labels(None)})
                if reopened:
                    on_event(RuntimeEvent("", "", "relist"))
                for event in self._events:
                    self._hand_over(event, on_event)
            except Exception as error:  # a closed or broken stream
                if not self._closed.is_set():
                    log.warning("docker event stream broke (%s); reopening", error)
            reopened = True
            self._closed.wait(1.0)

    def _hand_over(self, event: dict[str, Any], on_event: Callable[[RuntimeEvent], None]
                   ) -> None:
        """Tell ``on_event`` of a start, a death or an OOM kill. A death by SIGKILL with no
        ``oom`` event yet is told :data:`OOM_WAIT` later: Docker may tell the ``oom`` after
        the ``die``, and a pod that failed is reported once."""
        action = event.get("Action") or event.get("status")
        if action not in ("start", "die", "oom"):
            return
        actor = event.get("Actor", {})  # Engine 29 (API 1.52) no longer sends "id"
        ident, attributes = actor.get("ID") or event.get("id", ""), actor.get("Attributes", {})
        told = RuntimeEvent(attributes.get(POD_UID, ""), attributes.get(CONTAINER_NAME, ""),
                            action)
        if action == "oom":
            self._oom_events.append(ident)
        if action == "die" and attributes.get("exitCode") == str(KILLED) and \
                ident not in self._oom_events:
            later = threading.Timer(OOM_WAIT, on_event, (told,))
            later.daemon = True
            later.start()
        else:
            on_event(told)

    def close(self) -> None:
        self._closed.set()
        if self._events is not None:
            self._events.close()
        self.client.close()
