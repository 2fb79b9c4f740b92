"""What a kubelet is told at start (:class:`KubeletConfig`, one per node), what it reads of
its host for the defaults (CPU count, memory, architecture) and the conditions a healthy node
reports of itself.

Neighbours: ``actors.kubelet.kubelet`` (the node agent and the actor that take it),
``bindings.cluster.launcher`` (which fills it from ``up``'s and ``agent``'s flags).

Which thread: any; a frozen dataclass and pure functions.
"""

from __future__ import annotations

import os
import platform
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from actors.api.objects import Object


def host_cpu() -> str:
    """This machine's CPU count, as a quantity."""
    return str(os.cpu_count() or 1)


def host_memory() -> str:
    """This machine's memory, as a quantity in Ki."""
    return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 1024}Ki"


def host_arch() -> str:
    """Kubernetes' name for this machine's architecture (``amd64``, ``arm64``)."""
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _os_image() -> str:
    """The host's ``PRETTY_NAME`` (``Debian GNU/Linux 12 (bookworm)``), as the kubelet
    reads it from os-release."""
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    return ""


def system_info(node: str, runtime_version: str) -> Object:
    """A Node's ``status.nodeInfo`` with every field kube's NodeSystemInfo always has (the
    official clients refuse a Node without them): the host's kernel, OS image and boot id;
    a machine id and system UUID of its own for each node (several share one host)."""
    machine = uuid.uuid5(uuid.NAMESPACE_OID, f"{_read('/etc/machine-id')}/{node}")
    return {"machineID": machine.hex, "systemUUID": str(machine),
            "bootID": _read("/proc/sys/kernel/random/boot_id"),
            "kernelVersion": platform.release(), "osImage": _os_image(),
            "containerRuntimeVersion": runtime_version, "kubeletVersion": "kubeactor-0.1.0",
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": host_arch()}


@dataclass(frozen=True, slots=True)
class KubeletConfig:
    node_name: str
    cpu: str = field(default_factory=host_cpu)
    """Allocatable CPU the node offers to pods (Kubernetes quantity); the host's by default."""
    memory: str = field(default_factory=host_memory)
    """Allocatable memory the node offers to pods; the host's by default."""
    max_pods: int = 110
    """Kubernetes' default pod limit per node."""
    address: str = "127.0.0.1"
    """The node's InternalIP (here only loopback is allowed)."""
    lease_duration_seconds: int = 40
    """The node Lease's duration (kubelet's --node-lease-duration-seconds)."""
    lease_renew_seconds: float = 10.0
    """How often the Lease is renewed (the kubelet's 10 s); at most a quarter of the duration
    is used when the duration is shorter."""
    node_status_seconds: float = 60.0
    """How often a renewal also looks at the Node and puts Ready back when the node lifecycle
    controller marked it Unknown (a lease write alone every 10 s keeps a thousand nodes
    cheap)."""
    backoff_base: float = 10.0
    """Seconds before the second restart of a dead container (the first is at once); doubles
    per restart. Also the image pull back-off's base. Small in tests."""
    backoff_max: float = 300.0
    """Ceiling of the restart and pull back-offs (Kubernetes: five minutes)."""
    backoff_reset_seconds: float = 600.0
    """A container that ran this long cleanly starts its back-off again (Kubernetes: 10 min)."""
    pod_workers: int = 16
    """Threads running pod syncs (each pod one at a time): a pod stopping for its grace
    period holds one of them."""
    call_workers: int = 16
    """Threads answering ``logs``/``exec`` calls that are not streamed. A followed log or an
    exec stream runs on a thread of its own while it lasts (its input on another), so that
    streams held open never keep anyone's call waiting."""
    streams_per_user: int = 64
    """Followed logs and exec streams one user (``body.user``) may have open on this node at
    once; one more is refused (429). Each holds a thread or two and a runtime exec."""
    stats_window_seconds: float = 1.0
    """The window a CPU figure of ``stats`` is averaged over (Docker's two samples, a
    second apart; PodMetrics' ``window``)."""
    relist_seconds: float = 60.0
    """Every pod is synced again this often: the safety net under the runtime's events."""
    status_sync_seconds: float = 10.0
    """A pod whose status the API has differs from the one last reported is written again at
    most this often, and every pod is looked at this often (Kubernetes' status manager's
    ``syncPeriod``)."""
    record_events: bool = True
    """Emit Events (Pulled, Created, Started, Killing, BackOff...); off for scale runs."""
    writes_in_flight: int = 32
    """Pod status writes sent without waiting for the answers of the ones before: enough to
    keep the apiserver's workers and its store's group commits busy when a thousand simulated
    nodes start ten thousand pods."""
    lease_writes_in_flight: int = 64
    """The same for Lease renewals, apart and more: the apiserver serves requests in the
    order they come, so this is the heartbeats' share of a busy apiserver, and a Lease left
    stale for the node monitor grace period gets its node's pods evicted."""


def node_conditions(now: str) -> list[Object]:
    """A healthy node's conditions, as the kubelet reports them."""
    def cond(kind: str, status: str, reason: str, message: str) -> Object:
        return {"type": kind, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": now}

    return [cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                 "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                 "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID",
                 "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")]
