"""What the kubelet needs from a container runtime: the :class:`Runtime` protocol.

Implementations live in ``bindings/`` (``bindings.runtimes.docker`` drives a real Docker engine);
the kubelet receives one at start and never imports a runtime library itself. Containers are
found again by their labels (:data:`LABELS`), which are a public contract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import KW_ONLY, dataclass
from typing import Protocol

from actors.api.objects import Object
from bus.errors import KubeactorError

POD_NAME = "io.kubeactor.pod.name"
POD_NAMESPACE = "io.kubeactor.pod.namespace"
POD_UID = "io.kubeactor.pod.uid"
CONTAINER_NAME = "io.kubeactor.container.name"
ATTEMPT = "io.kubeactor.container.attempt"
NODE_NAME = "io.kubeactor.node.name"
CLUSTER_ID = "io.kubeactor.cluster.id"
LABELS = (POD_NAME, POD_NAMESPACE, POD_UID, CONTAINER_NAME, ATTEMPT, NODE_NAME, CLUSTER_ID)
"""Labels on every container kubeactor creates (the first four are a public contract). The
node and cluster labels scope a runtime: several nodes, and several clusters, may share one
Docker engine without ever touching each other's containers."""


class RuntimeFailure(KubeactorError):
    """A container could not be made to run; ``reason`` is the kubelet's waiting reason
    (``ErrImagePull``, ``ErrImageNeverPull``, ``CreateContainerError``, ``RunContainerError``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """One runtime container of a pod, as the runtime last saw it."""

    id: str
    pod_uid: str
    _: KW_ONLY
    name: str
    """The pod's container name (not the runtime's container name)."""
    attempt: int
    """0 for the first start; the restart count of the latest attempt."""
    image: str
    state: str
    """``created``, ``running`` or ``exited``."""
    exit_code: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    oom_killed: bool = False
    runtime: str = "docker"
    """The scheme of ``containerID`` in the pod's status (``docker://<id>``)."""
    image_id: str = ""
    """The image's digest or id (``imageID`` in the pod's status)."""


def attempt(infos: Iterable[ContainerInfo], container: str,
            previous: bool = False) -> ContainerInfo:
    """The latest attempt of ``container`` among ``infos`` or, when ``previous``, the one
    before it (the kubelet keeps both, for ``logs --previous``); RuntimeFailure when there is
    none, in the kubelet's words."""
    attempts = sorted((i for i in infos if i.name == container), key=lambda i: i.attempt)
    if not attempts:
        raise RuntimeFailure("ContainerNotFound",
                             f'container "{container}" has not been created yet')
    if previous and len(attempts) < 2:
        raise RuntimeFailure("ContainerNotFound",
                             f'previous terminated container "{container}" not found')
    return attempts[-2] if previous else attempts[-1]


@dataclass(frozen=True, slots=True)
class RuntimeEvent:
    """A container of a pod started, died or was OOM-killed."""

    pod_uid: str
    container: str
    action: str
    """``start``, ``die`` or ``oom`` (a process of it was killed for its memory);
    ``relist`` (no pod) when events may have been missed."""


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a command run in a container printed, and how it ended."""

    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True, slots=True)
class VolumeFile:
    """One file of a ConfigMap, Secret, downward API or projected volume."""

    content: bytes
    mode: int
    """Permission bits, as the item's ``mode`` or the volume's ``defaultMode`` say."""


@dataclass(frozen=True, slots=True)
class Usage:
    """What one running container uses now (``metrics.k8s.io``'s figures)."""

    cpu: int
    """CPU in nanocores: the CPU time used between two samples over the time between them."""
    memory: int
    """Memory working set in bytes (usage less the inactive page cache, as cAdvisor counts)."""


class LogStream(Protocol):
    """Chunks of a container's output as they come; iteration ends when the container stops."""

    def __iter__(self) -> Iterator[str]: ...

    def close(self) -> None:
        """Stop following (from any thread); the iteration ends soon after."""
        ...


class ExecSession(Protocol):
    """A command started in a container with its input and output attached (``docker exec
    -i``): its output comes by iteration, its input goes by :meth:`write`. Iteration and
    :meth:`exit_code` on one thread, the input on another; :meth:`close` from any."""

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """The output as it comes, ``(1, bytes)`` for stdout, ``(2, bytes)`` for stderr (a
        terminal's all on 1); ends when the command has ended (or the session was closed)."""
        ...

    def write(self, data: bytes) -> None:
        """Send ``data`` to the command's stdin; blocks while the command does not read."""
        ...

    def close_stdin(self) -> None:
        """End of input: the command reads end-of-file."""
        ...

    def resize(self, width: int, height: int) -> None:
        """A terminal's new size, in characters."""
        ...

    def exit_code(self) -> int:
        """How the command ended (once the iteration is over)."""
        ...

    def close(self) -> None:
        """Let go of the command's input and output (its caller left): the iteration ends."""
        ...


class Runtime(Protocol):
    """A container runtime as the kubelet uses it. Methods block; call them off the bus loop."""

    def version(self) -> str:
        """``docker://28.2.2`` and the like, for the Node's nodeInfo."""
        ...

    def image_present(self, image: str) -> bool:
        """Whether ``image`` is on this node."""
        ...

    def pull_image(self, image: str) -> None:
        """Pull ``image``; RuntimeFailure(ErrImagePull) with the registry's answer."""
        ...

    def start_container(self, pod: Object, container: Object, attempt: int,
                        prepare: Callable[[], None] | None = None,
                        created: Callable[[], None] | None = None) -> ContainerInfo:
        """Create and start one container of ``pod``, labelled; RuntimeFailure on failure.
        ``prepare`` (the files of its volumes) is run on the caller's thread before the start,
        while the container is being created; when it raises, its exception is raised as it
        is, the container is not started and nothing of it is left (a failure of the create
        then is not told: ``prepare``'s is). ``created`` is called once the container is
        created and ``prepare`` done, before the start (the kubelet's Created event)."""
        ...

    def write_volume(self, pod: Object, volume: str, files: dict[str, VolumeFile]) -> None:
        """Make the files of ``pod``'s ``volume`` exactly ``files`` (by relative path), as the
        kubelet's atomic writer does: a container that mounts it sees the old set or the new
        one, never a mix. Its containers mount it read-only; it goes with the pod."""
        ...

    def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        """Every container this runtime's node made (of one pod when ``pod_uid`` is given)."""
        ...

    def remove_container(self, container_id: str) -> None: ...

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        """SIGTERM, then SIGKILL after the grace period (a liveness failure, an update)."""
        ...

    def stop_pod(self, pod_uid: str, grace_seconds: int) -> None:
        """Stop the pod's running containers: SIGTERM, then SIGKILL after the grace period."""
        ...

    def remove_pod(self, pod_uid: str) -> None:
        """Remove every container of the pod (stopping any still running), its emptyDir
        volumes and the files of its other volumes."""
        ...

    def logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
             previous: bool = False, timestamps: bool = False, since: float | None = None
             ) -> str:
        """What the latest attempt of ``container`` wrote (stdout and stderr), or when
        ``previous`` the attempt before it, the last ``tail_lines`` lines when given, from
        ``since`` (Unix seconds) on, each line prefixed with its RFC3339Nano time when
        ``timestamps``; RuntimeFailure when it does not exist."""
        ...

    def follow_logs(self, pod_uid: str, container: str, tail_lines: int | None = None,
                    previous: bool = False, timestamps: bool = False,
                    since: float | None = None) -> LogStream:
        """The logs of :meth:`logs`, then what the container writes until it stops; close the
        stream to stop early."""
        ...

    def exec(self, pod_uid: str, container: str, command: list[str]) -> ExecResult:
        """Run ``command`` in the running ``container`` and wait for it to finish."""
        ...

    def exec_stream(self, pod_uid: str, container: str, command: list[str], *, stdin: bool,
                    tty: bool) -> ExecSession:
        """Start ``command`` in the running ``container`` with its input (when ``stdin``) and
        output attached, in a terminal when ``tty``; RuntimeFailure when it cannot start."""
        ...

    def usage(self, pods: list[Object]) -> dict[str, dict[str, Usage]]:
        """What each running container of ``pods`` uses now: pod uid -> container name ->
        usage (a container not running, or whose figures cannot be read, is left out).
        Blocks about a second: Docker samples every container twice, all at once."""
        ...

    def attach_stream(self, pod_uid: str, container: str, *, stdin: bool,
                      tty: bool) -> ExecSession:
        """Attach to the running ``container``'s own output and (when ``stdin`` and the
        container keeps its stdin open) input, as ``docker attach``: resizes go to its
        terminal; the session ends when the container does (its exit code is 0: the attach
        went well, as Kubernetes' kubelet reports it; the pod's status tells how the container
        ended) or when closed, which leaves the container running (one with ``stdinOnce``
        reads end-of-file); RuntimeFailure when it is not running."""
        ...

    def watch(self, on_event: Callable[[RuntimeEvent], None]) -> None:
        """Start reporting container starts and deaths to ``on_event`` (must not block)."""
        ...

    def close(self) -> None: ...
