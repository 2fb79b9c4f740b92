"""The kubelet actor: runs the pods bound to its node and reports their status (seed steps 5-7).

It registers its Node, follows the pods bound to it with an informer (``spec.nodeName=<node>``)
and keeps each pod's containers as declared, through the :class:`~actors.runtime.Runtime` it
was given: start what is missing, restart what died when ``restartPolicy`` says so (with
Kubernetes' doubling back-off), stop and remove everything of a pod being deleted, then
confirm the deletion. Status comes from runtime events (a container started or died), not from
polling; :func:`pod_status` derives it as a pure function and it is sent through
``pods/status`` only when it changed.

Which thread: everything runs on the kubelet's actor thread, one pod at a time; runtime calls
block that thread (not the bus loop).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actors.client import Client, WatchEvent
from actors.informer import Informer
from actors.objects import (
    NODE_LEASE_NAMESPACE,
    condition,
    now_micro,
    now_rfc3339,
    parse_time,
    set_condition,
    trace_id_of,
)
from actors.runtime import ContainerInfo, Runtime, RuntimeEvent, RuntimeFailure
from bus.actor import BusActor
from bus.connection import Connection, Incoming
from bus.envelope import Envelope, new_id
from bus.errors import AlreadyExists, ApiError, BadRequest, NotFound

log = logging.getLogger(__name__)

TERMINAL_PHASES = ("Succeeded", "Failed")
"""A pod in one of these phases never runs again (Kubernetes)."""

Object = dict[str, Any]


def host_cpu() -> str:
    """This machine's CPU count, as a quantity."""
    return str(os.cpu_count() or 1)


def host_memory() -> str:
    """This machine's memory, as a quantity in Ki."""
    return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 1024}Ki"


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
    """The node Lease's duration (kubelet's --node-lease-duration-seconds); it is renewed
    every quarter of it, as the kubelet does."""
    backoff_base: float = 10.0
    """Seconds before the first restart of a dead container; doubles per restart."""
    backoff_max: float = 300.0
    """Ceiling of the restart back-off (Kubernetes: five minutes)."""


MAX_LOG_CHARS = 256 * 1024
"""Logs longer than this are cut to their end (the bus carries messages of 1 MiB at most)."""


@dataclass(frozen=True, slots=True)
class Resync:
    """Look at one pod again (a back-off ended)."""

    pod_uid: str


# -- status, as pure functions ------------------------------------------------------------------


def should_restart(policy: str, exit_code: int | None) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def backoff_seconds(attempt: int, base: float, ceiling: float) -> float:
    """Delay before restart number ``attempt + 1``, as the kubelet does it: the first restart
    at once, then base, 2*base, 4*base... up to ceiling."""
    if attempt <= 0:
        return 0.0
    return float(min(base * 2 ** min(attempt - 1, 32), ceiling))


def container_status(spec: Object, info: ContainerInfo | None, policy: str,
                     waiting: str | None, message: str = "") -> Object:
    """One entry of ``status.containerStatuses``; ``waiting``/``message`` explain a container
    that could not be started (ErrImagePull...)."""
    status: Object = {"name": spec["name"], "image": info.image if info else spec["image"],
                      "ready": False, "restartCount": info.attempt if info else 0}
    if info is None:
        status["state"] = {"waiting": {"reason": waiting or "ContainerCreating"}}
        if message:
            status["state"]["waiting"]["message"] = message
        return status
    status["containerID"] = f"docker://{info.id}"
    if info.state == "running":
        status["state"] = {"running": {"startedAt": info.started_at}}
        status["ready"] = True
    elif info.state == "exited":
        terminated = {
            "exitCode": info.exit_code,
            "reason": "OOMKilled" if info.oom_killed else (
                "Completed" if info.exit_code == 0 else "Error"),
            "startedAt": info.started_at, "finishedAt": info.finished_at,
            "containerID": f"docker://{info.id}",
        }
        if should_restart(policy, info.exit_code):
            status["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
            status["lastState"] = {"terminated": terminated}
        else:
            status["state"] = {"terminated": terminated}
    else:
        status["state"] = {"waiting": {"reason": waiting or "ContainerCreating"}}
    return status


def pod_phase(statuses: list[Object]) -> str:
    states = [next(iter(s["state"])) for s in statuses]
    if all(state == "terminated" for state in states):
        failed = any(s["state"]["terminated"]["exitCode"] != 0 for s in statuses)
        return "Failed" if failed else "Succeeded"
    if any(state == "running" for state in states) or any("lastState" in s for s in statuses):
        return "Running"
    return "Pending"


def pod_status(pod: Object, containers: dict[str, ContainerInfo], waiting: dict[str, str],
               host_ip: str, start_time: str, messages: dict[str, str] | None = None) -> Object:
    """The pod's status from its latest containers (name -> info), the waiting reasons of
    containers that could not start and their messages."""
    policy = pod["spec"].get("restartPolicy", "Always")
    statuses = [container_status(spec, containers.get(spec["name"]), policy,
                                 waiting.get(spec["name"]), (messages or {}).get(spec["name"], ""))
                for spec in pod["spec"]["containers"]]
    phase = pod_phase(statuses)
    ready = "True" if all(s["ready"] for s in statuses) else "False"
    old = {c["type"]: c for c in pod.get("status", {}).get("conditions") or []}

    def cond(kind: str, value: str) -> Object:
        previous = old.get(kind, {})
        since = previous.get("lastTransitionTime") if previous.get("status") == value else None
        return {"type": kind, "status": value, "lastTransitionTime": since or now_rfc3339()}

    return {
        "phase": phase, "hostIP": host_ip, "startTime": start_time,
        "conditions": [cond("PodScheduled", "True"), cond("Initialized", "True"),
                       cond("ContainersReady", ready), cond("Ready", ready)],
        "containerStatuses": statuses,
    }


def comparable(status: Object) -> Object:
    """A status without the timestamps that change on every computation."""
    return {**status, "conditions": [(c["type"], c["status"]) for c in status["conditions"]]}


# -- the actor ----------------------------------------------------------------------------------


@dataclass(slots=True)
class PodRecord:
    pod: Object
    start_time: str = field(default_factory=now_rfc3339)
    waiting: dict[str, str] = field(default_factory=dict)
    """Container name -> waiting reason set by a failure (ErrImagePull...)."""
    messages: dict[str, str] = field(default_factory=dict)
    """Container name -> what that failure said."""
    reported: Object | None = None
    timer: threading.Timer | None = None


class Kubelet(BusActor):
    """See the module docstring."""

    def __init__(self, connection: Connection, client: Client, runtime: Runtime,
                 config: KubeletConfig) -> None:
        super().__init__(connection)
        self.client, self.runtime, self.config = client, runtime, config
        self.name = connection.name
        self.pods: dict[str, PodRecord] = {}
        self._informer: Informer | None = None
        self._heartbeat = threading.Event()
        """Set when the kubelet stops: ends the heartbeat thread."""
        self._calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"{self.name}-call")

    def subscriptions(self) -> list[tuple[str, str]]:
        """The apiserver's calls for this node: ``pods/log`` and ``pods/exec``."""
        node = self.config.node_name
        return [(self.subjects.node(node, "logs"), ""), (self.subjects.node(node, "exec"), "")]

    def handle(self, incoming: Incoming) -> Envelope | None:
        """Take a ``logs`` or ``exec`` call for a pod of this node and answer it from a worker
        thread, so that a long command never holds up the pods or the node's heartbeat."""
        envelope = incoming.envelope
        body = envelope.body if isinstance(envelope.body, dict) else {}
        if body.get("uid") not in self.pods:
            raise NotFound(f'pod "{envelope.name}" is not running on node '
                           f"{self.config.node_name}")
        if envelope.verb not in ("logs", "exec"):
            raise BadRequest(f"unknown node call {envelope.verb!r}")
        self._calls.submit(self._answer_call, incoming, body)
        return None

    def _answer_call(self, incoming: Incoming, body: Object) -> None:
        """Worker thread: run the call on the runtime and publish the reply."""
        envelope = incoming.envelope
        try:
            if envelope.verb == "logs":
                text = self.runtime.logs(body["uid"], str(body.get("container")),
                                         body.get("tailLines"))
                if len(text) > MAX_LOG_CHARS:
                    text = (f"... (first {len(text) - MAX_LOG_CHARS} characters left out; use "
                            "--tail)\n" + text[-MAX_LOG_CHARS:])
                reply = envelope.reply(text, sender=self.name)
            else:
                result = self.runtime.exec(body["uid"], str(body.get("container")),
                                           list(body.get("command") or []))
                reply = envelope.reply({"exitCode": result.exit_code, "stdout": result.stdout,
                                        "stderr": result.stderr}, sender=self.name)
        except RuntimeFailure as failure:
            reply = envelope.error_reply(BadRequest(failure.message), sender=self.name)
        if incoming.reply_to:
            self.publish(incoming.reply_to, reply)

    def on_start(self) -> None:
        super().on_start()
        self._register_node()
        self._renew_lease()
        threading.Thread(target=self._beat, name=f"{self.name}-lease", daemon=True).start()
        self.runtime.watch(self.tell_self)
        self._informer = Informer(self.client, "pods", self.tell_self,
                                  field_selector=f"spec.nodeName={self.config.node_name}").start()
        bound = {pod["metadata"]["uid"] for pod in self._informer.items()}
        for info in self.runtime.list_containers():
            if info.pod_uid not in bound:
                self.runtime.remove_container(info.id)

    def on_stop(self) -> None:
        self._heartbeat.set()
        self._calls.shutdown(wait=False, cancel_futures=True)
        if self._informer is not None:
            self._informer.stop()
        for record in self.pods.values():
            if record.timer is not None:
                record.timer.cancel()
        super().on_stop()

    def on_local(self, message: Any) -> Any:
        if isinstance(message, WatchEvent):
            self._on_pod_event(message)
        elif isinstance(message, RuntimeEvent | Resync):
            relist = isinstance(message, RuntimeEvent) and message.action == "relist"
            # A relist follows a gap in the runtime's events: look at every pod again.
            for uid in list(self.pods) if relist else [message.pod_uid]:
                if (record := self.pods.get(uid)) is not None:
                    self._sync(record)
        else:
            return super().on_local(message)
        return None

    # -- node ----------------------------------------------------------------------------------

    def _register_node(self) -> None:
        name = self.config.node_name
        resources = {"cpu": self.config.cpu, "memory": self.config.memory,
                     "pods": str(self.config.max_pods)}
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch}},
            "spec": {},
        }
        status = {
            "capacity": resources, "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": now_rfc3339(),
                            "lastTransitionTime": now_rfc3339()}],
            "addresses": [{"type": "InternalIP", "address": self.config.address},
                          {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "kubeactor-0.1.0",
                         "containerRuntimeVersion": self.runtime.version(),
                         "operatingSystem": "linux", "architecture": arch},
        }
        try:
            stored = self.client.create("nodes", dict(node, status=status), None)
        except AlreadyExists:
            stored = self.client.get("nodes", name, None)
        self.client.update("nodes", dict(stored, status=status), subresource="status")

    def _beat(self) -> None:
        """Heartbeat thread: renew the Lease every quarter of its duration until stopped. It
        runs apart from the actor thread, so slow runtime calls never stop the heartbeat."""
        while not self._heartbeat.wait(self.config.lease_duration_seconds / 4):
            self._renew_lease()

    def _renew_lease(self) -> None:
        """Renew the node's Lease (the heartbeat the node lifecycle controller reads) and put
        the node's Ready condition back when the controller marked it Unknown. Uses only the
        client (thread-safe). A failure is logged; the next renewal tries again."""
        name = self.config.node_name
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": name, "namespace": NODE_LEASE_NAMESPACE},
                 "spec": {"holderIdentity": name, "renewTime": now_micro(),
                          "leaseDurationSeconds": self.config.lease_duration_seconds}}
        try:
            try:
                self.client.update("leases", lease)
            except NotFound:
                self.client.create("leases", lease, NODE_LEASE_NAMESPACE)
            node = self.client.get("nodes", name, None)
            if (condition(node, "Ready") or {}).get("status") != "True":
                set_condition(node, "Ready", "True", "KubeletReady",
                              "kubelet is posting ready status")
                self.client.update("nodes", node, subresource="status")
        except ApiError as error:
            log.warning("%s: lease not renewed: %s", self.name, error)

    # -- pods ----------------------------------------------------------------------------------

    def _on_pod_event(self, event: WatchEvent) -> None:
        uid = event.object["metadata"]["uid"]
        if event.type == "DELETED":
            record = self.pods.pop(uid, None)
            if record and record.timer:
                record.timer.cancel()
            try:
                self.runtime.remove_pod(uid)
            except RuntimeFailure as failure:
                log.warning("%s: containers of deleted pod %s not removed: %s", self.name,
                            event.object["metadata"]["name"], failure)
            return
        record = self.pods.setdefault(uid, PodRecord(
            event.object, start_time=event.object.get("status", {}).get("startTime")
            or now_rfc3339()))
        record.pod = event.object
        self._sync(record)

    def _sync(self, record: PodRecord) -> None:
        """Make the pod's containers what its spec asks, then report its status. A runtime
        failure is logged and the pod looked at again after the back-off base."""
        try:
            if record.pod["metadata"].get("deletionTimestamp"):
                self._terminate(record)
            elif record.pod.get("status", {}).get("phase") not in TERMINAL_PHASES:
                self._converge(record)
        except (RuntimeFailure, ApiError) as failure:
            log.warning("%s: pod %s: %s; retrying", self.name,
                        record.pod["metadata"]["name"], failure)
            self._resync_later(record, self.config.backoff_base)

    def _converge(self, record: PodRecord) -> None:
        pod = record.pod
        latest = self._latest_containers(pod["metadata"]["uid"])
        policy = pod["spec"].get("restartPolicy", "Always")
        for spec in pod["spec"]["containers"]:
            info = latest.get(spec["name"])
            if info is None:
                self._report(record, latest)  # ContainerCreating before the slow part
                if (started := self._start(record, spec, 0)) is not None:
                    latest[spec["name"]] = started
            elif info.image != spec["image"] and info.state != "exited":
                # An update changed the image: replace the container, as the kubelet does.
                self.runtime.remove_container(info.id)
                latest[spec["name"]] = self._start(record, spec, info.attempt + 1) or info
            elif info.state == "exited" and should_restart(policy, info.exit_code):
                delay = self._restart_delay(info)
                if delay <= 0:
                    latest[spec["name"]] = self._start(record, spec, info.attempt + 1) or info
                else:
                    self._resync_later(record, delay)
        self._report(record, latest)

    def _latest_containers(self, uid: str) -> dict[str, ContainerInfo]:
        latest: dict[str, ContainerInfo] = {}
        for info in self.runtime.list_containers(uid):
            if info.name not in latest or info.attempt > latest[info.name].attempt:
                latest[info.name] = info
        return latest

    def _start(self, record: PodRecord, spec: Object, attempt: int) -> ContainerInfo | None:
        pod = record.pod
        try:
            self.runtime.ensure_image(spec["image"], spec.get("imagePullPolicy", "IfNotPresent"))
            info = self.runtime.start_container(pod, spec, attempt)
        except RuntimeFailure as failure:
            log.warning("%s: pod %s container %s: %s", self.name, pod["metadata"]["name"],
                        spec["name"], failure)
            record.waiting[spec["name"]] = failure.reason
            record.messages[spec["name"]] = failure.message
            self._resync_later(record, self.config.backoff_base)
            return None
        record.waiting.pop(spec["name"], None)
        record.messages.pop(spec["name"], None)
        for old in self.runtime.list_containers(pod["metadata"]["uid"]):
            if old.name == spec["name"] and old.attempt < attempt - 1:
                self.runtime.remove_container(old.id)  # keep the latest and the one before
        self._span(pod, "start", {"container": spec["name"], "containerID": info.id,
                                  "image": spec["image"], "attempt": attempt})
        return info

    def _restart_delay(self, info: ContainerInfo) -> float:
        wait = backoff_seconds(info.attempt, self.config.backoff_base, self.config.backoff_max)
        if not info.finished_at:
            return wait
        finished = parse_time(info.finished_at[:19] + "Z").timestamp()
        return finished + wait - datetime.now(UTC).timestamp()

    def _resync_later(self, record: PodRecord, delay: float) -> None:
        if record.timer is not None and record.timer.is_alive():
            return
        uid = record.pod["metadata"]["uid"]
        record.timer = threading.Timer(delay, self.tell_self, args=(Resync(uid),))
        record.timer.daemon = True
        record.timer.start()

    def _terminate(self, record: PodRecord) -> None:
        """Stop and remove a deleted pod's containers, then confirm with a grace-0 delete."""
        pod = record.pod
        metadata = pod["metadata"]
        if record.timer is not None:
            record.timer.cancel()
        grace = int(metadata.get("deletionGracePeriodSeconds") or 0)
        self.runtime.stop_pod(metadata["uid"], grace)
        self.runtime.remove_pod(metadata["uid"])
        self._span(pod, "remove", {"gracePeriodSeconds": grace})
        with contextlib.suppress(NotFound):
            self.client.delete("pods", metadata["name"], metadata["namespace"], grace_period=0,
                               trace_id=trace_id_of(pod))
        self.pods.pop(metadata["uid"], None)

    def _report(self, record: PodRecord, latest: dict[str, ContainerInfo]) -> None:
        pod = record.pod
        status = pod_status(pod, latest, record.waiting, self.config.address, record.start_time,
                            record.messages)
        if record.reported is not None and comparable(record.reported) == comparable(status):
            return
        body = {"apiVersion": "v1", "kind": "Pod", "status": status,
                "metadata": {"name": pod["metadata"]["name"],
                             "namespace": pod["metadata"]["namespace"]}}
        try:
            self.client.update("pods", body, subresource="status", trace_id=trace_id_of(pod))
            record.reported = status
        except NotFound:
            pass
        except ApiError as error:  # nothing else will report it: try again after a pause
            log.warning("%s: status of %s not stored: %s", self.name, pod["metadata"]["name"],
                        error)
            self._resync_later(record, self.config.backoff_base)

    def _span(self, pod: Object, verb: str, body: Object) -> None:
        """Publish an in-process hop (kubelet -> container runtime) for tracers."""
        metadata = pod["metadata"]
        self.publish(self.subjects.trace("kubelet"), Envelope(
            trace_id=trace_id_of(pod), span_id=new_id(), sender=self.name, target="runtime",
            verb=verb, resource="pods", subresource="containers",
            namespace=metadata["namespace"], name=metadata["name"], body=body,
            status={"code": 200, "reason": "OK", "message": ""}, timestamp=time.time(),
        ))
