"""What the Docker engine is asked for a container of a pod, and what the kubelet reads back:
``containers.create``'s arguments (labels, limits, mounts, stdio), a container's
:class:`~actors.kubelet.runtime.ContainerInfo` and its :class:`~actors.kubelet.runtime.Usage`.

Pure functions over the pod's dicts and the engine's answers (no calls to the engine).

Neighbours: ``bindings.runtimes.docker.runtime`` (the caller), ``actors.kubelet.runtime`` (the
labels and the types), ``actors.kubelet.volumes`` (which volumes are files).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from docker.models.containers import Container
from docker.types import Mount

from actors.api.objects import Object
from actors.api.quantity import parse_cpu, parse_memory
from actors.kubelet.runtime import (
    ATTEMPT,
    CONTAINER_NAME,
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
    ContainerInfo,
    RuntimeFailure,
    Usage,
)
from actors.kubelet.volumes import file_volume

KILLED = 137
"""The exit code of a container killed by SIGKILL (the kernel's OOM killer's signal)."""


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


def bind_sources(options: dict[str, Any], pods_dir: Path) -> list[Path]:
    """The directories under ``pods_dir`` that ``options`` bind-mount (the files of volumes)."""
    return [Path(mount["Source"]) for mount in options.get("mounts") or []
            if mount["Type"] == "bind" and Path(mount["Source"]).is_relative_to(pods_dir)]


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
