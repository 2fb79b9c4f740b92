"""One node's kubelet: :class:`NodeAgent`, without a thread of its own.

It registers the Node (capacity, allocatable, labels, conditions), renews the node's Lease,
keeps a :class:`~actors.kubelet.podrecord.PodRecord` per pod bound to the node and hands every
change of a pod (watch event, runtime event, timer) to the pod workers, where
:class:`~actors.kubelet.podsync.PodSync` acts on it; a pod whose status the API has otherwise
than last reported gets it written again (:meth:`NodeAgent.reconcile_statuses`, Kubernetes'
status manager's reconcile). It answers the apiserver's node calls
(``logs``, with ``follow`` streamed to the caller's subject, ``exec``, and ``stats``: what its
pods' containers use now, for ``metrics.k8s.io``) on a small call pool, a streamed one on a
thread of its own (at most ``streams_per_user`` at once per user). The :class:`Writers` it
writes through are shared by every agent of one :class:`~actors.kubelet.kubelet.Kubelet`.

Neighbours: ``actors.kubelet.kubelet`` (the actor hosting agents), ``actors.kubelet.podsync``
(what is done to a pod), ``actors.kubelet.statuswriter`` (the writers),
``actors.kubelet.objectcache`` (the watched objects, released when the agent stops).

Which thread: methods may be called from any thread; pod work runs on the pod workers (never
two at once for one pod), Lease renewals on the heartbeat pool, node calls on the call pool.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from actors.api import podlogs
from actors.api.meta import condition, now_micro, now_rfc3339, set_condition, trace_id_of
from actors.api.objects import Object
from actors.api.resources import NODE_LEASE_NAMESPACE
from actors.client.client import Client, WatchEvent
from actors.client.events import EventRecorder
from actors.kubelet.config import KubeletConfig, host_arch, node_conditions, system_info
from actors.kubelet.objectcache import ObjectCache
from actors.kubelet.podaddresses import PodAddresses
from actors.kubelet.podrecord import PodRecord, SyncConfig
from actors.kubelet.podstatus import needs_reconcile
from actors.kubelet.podsync import PodSync
from actors.kubelet.podworkers import PodWorkers
from actors.kubelet.runtime import ExecSession, Runtime, RuntimeEvent, RuntimeFailure, Usage
from actors.kubelet.statuswriter import StatusWriter
from actors.kubelet.streaming import ExecStreamer
from actors.kubelet.timers import Timers
from bus.actor import send_reply
from bus.connection import Connection, Incoming
from bus.envelope import Envelope, new_id
from bus.errors import AlreadyExists, ApiError, BadRequest, BusError, NotFound, TooManyRequests

log = logging.getLogger(__name__)


NODE_CALLS = ("logs", "exec", "stats")
"""What the apiserver may ask of a node (``<prefix>.node.<node>.<op>``)."""
MAX_LOG_CHARS = 256 * 1024
"""Logs longer than this are cut to their end (the bus carries messages of 1 MiB at most)."""

STREAM_ACK_SECONDS = 30.0
"""A followed log stops when its reader has not acknowledged a chunk for this long."""


# -- one node -------------------------------------------------------------------------------------


class NodeAgent:
    """One node's kubelet (see the module docstring). Methods may be called from any thread."""

    def __init__(self, client: Client, runtime: Runtime, *, config: KubeletConfig,
                 workers: PodWorkers, timers: Timers, writers: Writers,
                 publish: Callable[[str, Envelope], None], subjects: Any) -> None:
        self.client, self.runtime, self.config = client, runtime, config
        self.workers, self.timers, self.publish, self.subjects = workers, timers, publish, subjects
        self.leases = writers.leases
        self.name = config.node_name
        self.pods: dict[str, PodRecord] = {}
        self._node_checked = float("-inf")
        """When a renewal last looked at the Node (monotonic)."""
        self._lease_missing = False
        """The last renewal found no Lease: the next one creates it."""
        self.registered = False
        """The Node and its Lease exist: the heartbeat renews it."""
        self.recorder = EventRecorder(client, "kubelet", self.name, writer=writers.events) \
            if config.record_events else None
        self.addresses = PodAddresses(config.address)
        self.podsync = PodSync(
            client, runtime, config=SyncConfig(self.name, config.address, config.backoff_base,
                                               config.backoff_max, config.backoff_reset_seconds,
                                               {"cpu": config.cpu, "memory": config.memory}),
            timers=timers, resubmit=self.submit, forget=self._forget, recorder=self.recorder,
            statuses=writers.pods, addresses=self.addresses, objects=writers.objects)
        self.objects = writers.objects
        """The ConfigMaps and Secrets watched for every hosted node's pods (shared)."""
        self.objects.listen(self._remount)
        self.podsync.on_span = self._span
        self._streams: set[Any] = set()
        """The followed logs and exec streams being streamed: closed when the agent stops,
        since a quiet container's would otherwise hold its call-pool thread (and the
        process's exit)."""
        self._streams_lock = threading.Lock()
        self._stopping = False
        self._users: collections.Counter[str] = collections.Counter()
        """Streams open per user (``body.user``), under ``_streams_lock``."""

    # -- node ---------------------------------------------------------------------------------

    def register(self) -> None:
        """Create or update the Node with its capacity, labels and conditions; then the Lease."""
        resources = {"cpu": self.config.cpu, "memory": self.config.memory,
                     "pods": str(self.config.max_pods)}
        arch = host_arch()
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": arch}
        node: Object = {"apiVersion": "v1", "kind": "Node", "spec": {},
                        "metadata": {"name": self.name, "labels": labels}}
        status = {
            "capacity": resources, "allocatable": resources,
            "conditions": node_conditions(now_rfc3339()),
            "addresses": [{"type": "InternalIP", "address": self.config.address},
                          {"type": "Hostname", "address": self.name}],
            "nodeInfo": system_info(self.name, self.runtime.version()),
        }
        try:
            stored = self.client.create("nodes", dict(node, status=status), None)
        except AlreadyExists:
            stored = self.client.get("nodes", self.name, None)
            stored["metadata"].setdefault("labels", {}).update(labels)
            stored = self.client.update("nodes", stored)
        metadata = {k: v for k, v in stored["metadata"].items() if k != "resourceVersion"}
        self.client.update("nodes", dict(stored, metadata=metadata, status=status),
                           subresource="status")  # over whatever the node IPAM wrote since
        with contextlib.suppress(AlreadyExists):  # the heartbeat renews it from now on
            self.client.create("leases", self._lease(), NODE_LEASE_NAMESPACE)
        self.registered = True

    def renew_lease(self, node: Object | None) -> None:
        """Renew the node's Lease (the heartbeat the node lifecycle controller reads) through
        the Lease writer and, every ``node_status_seconds``, put the node's Ready condition
        back when the controller marked it Unknown; ``node`` is the Node as the kubelet's
        informer last saw it (heartbeat pool). A failure is logged; the next renewal tries
        again (and creates the Lease when it was missing)."""
        self.leases.put(self.name, self._send_lease, self._lease_written)
        if node is None or time.monotonic() < self._node_checked + \
                self.config.node_status_seconds:
            return
        self._node_checked = time.monotonic()
        if (condition(node, "Ready") or {}).get("status") != "True":
            node = copy.deepcopy(node)
            set_condition(node, "Ready", "True", "KubeletReady",
                          "kubelet is posting ready status")
            try:
                self.client.update("nodes", node, subresource="status")
            except ApiError as error:  # a Conflict: the informer brings the newer one
                log.warning("%s: Ready not put back: %s", self.name, error)
                self._node_checked = float("-inf")  # the next renewal tries again

    def _send_lease(self) -> Future[Any]:
        """The renewal, stamped when it is sent (a renewal that waited in line must not carry
        the time it was asked for: the node lifecycle controller reads ``renewTime``)."""
        return self.client.submit("create" if self._lease_missing else "update", "leases",
                                  namespace=NODE_LEASE_NAMESPACE, name=self.name,
                                  body=self._lease(), options=self.client.write_options())

    def _lease(self) -> Object:
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": NODE_LEASE_NAMESPACE},
                "spec": {"holderIdentity": self.name, "renewTime": now_micro(),
                         "leaseDurationSeconds": self.config.lease_duration_seconds}}

    def _lease_written(self, error: BaseException | None, _: Any) -> None:  # bus loop thread
        self._lease_missing = isinstance(error, NotFound)
        if error is not None:
            log.warning("%s: lease not renewed: %s", self.name, error)

    # -- pods ---------------------------------------------------------------------------------

    def adopt(self, bound: list[Object]) -> None:
        """At start: remove the containers of pods no longer bound here (deleted while the
        kubelet was down). Containers of bound pods are adopted by their labels."""
        found = {info.pod_uid for info in self.runtime.list_containers()}
        # Read after listing: a pod the informer delivered since (its container may already
        # be starting on a worker) is in self.pods, and is kept.
        known = {pod["metadata"]["uid"] for pod in bound} | set(self.pods)
        for uid in found - known:
            log.info("%s: removing containers of pod %s, deleted while away", self.name, uid)
            self.runtime.remove_pod(uid)

    def on_pod_event(self, event: WatchEvent) -> None:
        """An informer event about a pod bound here (any thread; never blocks); none is
        acted on once the agent stopped (one the kubelet handed over as it lost the node)."""
        if self._stopping:
            return
        pod = event.object
        uid = pod["metadata"]["uid"]
        record = self.pods.get(uid)
        unchanged = record is not None and event.type == "MODIFIED" and same_intent(
            record.pod, pod)
        if record is None:
            if event.type == "DELETED":
                record = PodRecord(pod)  # removed while unknown: still remove its containers
            else:
                record = self.pods.setdefault(uid, PodRecord(
                    pod, start_time=pod.get("status", {}).get("startTime") or now_rfc3339()))
        record.pod = pod
        record.gone = record.gone or event.type == "DELETED"
        if unchanged:  # mostly our own status writes coming back
            self._reconcile(record)
        else:
            self.workers.submit(uid, lambda: self.podsync.sync(record))

    def _remount(self, uids: list[str]) -> None:
        """A ConfigMap or Secret pods ``uids`` read changed (a watch's thread): those hosted
        here sync, writing their volumes' files again."""
        if self._stopping:
            return
        for uid in uids:
            record = self.pods.get(uid)
            if record is not None:
                record.remount = True
                self.workers.submit(uid, functools.partial(self.podsync.sync, record))

    def reconcile_statuses(self) -> None:
        """Write again each pod's status the API has otherwise than last reported (timer
        thread; Kubernetes' status manager's ``syncBatch``): a write lost unnoticed, an older
        one that landed after it, another writer's."""
        for record in list(self.pods.values()):
            self._reconcile(record)

    def _reconcile(self, record: PodRecord) -> None:
        if self._unreconciled(record):
            self.workers.submit(record.uid, lambda: self._write_again(record))

    def _write_again(self, record: PodRecord) -> None:  # pod worker
        if self._unreconciled(record) and record.reported is not None:
            record.reconciled = time.monotonic()
            self.podsync.write(record, record.reported)

    def _unreconciled(self, record: PodRecord) -> bool:
        """Whether the pod's status, as the API has it (``record.pod``), is to be written
        again: it differs from the one last reported (``needs_reconcile``) in a version newer
        than our last write stored (not its echo, nor a late echo of an older one), no write
        of it is in flight or waiting, and none was written again within
        ``status_sync_seconds`` (a writer that keeps changing it meets one write a period, as
        Kubernetes' kubelet's); never once the agent stopped hosting the node."""
        pod, reported = record.pod, record.reported
        return (reported is not None and not (record.done or record.gone or self._stopping)
                and not pod["metadata"].get("deletionTimestamp")
                and int(pod["metadata"].get("resourceVersion") or 0) > record.written
                and time.monotonic() >= record.reconciled + self.config.status_sync_seconds
                and not self.podsync.statuses.busy(record.uid)
                and needs_reconcile(pod.get("status") or {}, reported))

    def on_node(self, node: Object) -> None:
        """The Node as the API has it (any thread): when it gets its pod range, the pods
        that had no address yet are synced again to get one."""
        if self.addresses.set_range(node.get("spec", {}).get("podCIDR")):
            self.resync_all()

    def on_runtime_event(self, event: RuntimeEvent) -> None:
        """A container started or died (runtime thread; never blocks)."""
        if event.action == "relist":
            self.resync_all()
        else:
            self.submit(event.pod_uid)

    def submit(self, uid: str) -> None:
        """Sync one known pod on the pod workers (none once the agent stopped: its pods'
        reads were released)."""
        if not self._stopping and (record := self.pods.get(uid)) is not None:
            self.workers.submit(uid, lambda: self.podsync.sync(record))

    def resync_all(self) -> None:
        for uid in list(self.pods):
            self.submit(uid)

    def _forget(self, uid: str) -> None:
        self.pods.pop(uid, None)

    def stop(self) -> None:
        """Stop hosting the node: no more syncs, its pods' watched objects released (the
        shared cache's watches only they read stop), its streams closed."""
        with self._streams_lock:
            self._stopping = True
            streams = list(self._streams)
        self.podsync.close()
        if self.recorder is not None:
            self.recorder.close()
        for uid in list(self.pods):
            self.objects.release(uid)
        for stream in streams:
            stream.close()

    def _span(self, pod: Object, verb: str, body: Object) -> None:
        """Publish an in-process hop kubelet -> container runtime for tracers."""
        metadata = pod["metadata"]
        self.publish(self.subjects.trace("kubelet"), Envelope(
            trace_id=trace_id_of(pod), span_id=new_id(), sender=f"kubelet-{self.name}",
            target="runtime", verb=verb, resource="pods", subresource="containers",
            namespace=metadata["namespace"], name=metadata["name"], body=body,
            status={"code": 200, "reason": "OK", "message": ""}, timestamp=time.time(),
        ))

    # -- node calls -----------------------------------------------------------------------------

    def answer(self, incoming: Incoming, connection: Connection) -> None:
        """Answer a ``logs`` or ``exec`` call (call pool thread) and publish the reply; a
        followed log is streamed to ``body.stream`` chunk by chunk (see docs/PROTOCOL.md)."""
        envelope = incoming.envelope
        body = envelope.body if isinstance(envelope.body, dict) else {}
        uid, container = str(body.get("uid")), str(body.get("container"))
        try:
            if envelope.verb == "logs" and (waiting := self._no_log(
                    uid, container, bool(body.get("previous")), None)):
                raise waiting
            if body.get("stream"):
                self._streamed(incoming, connection)
                return
            if envelope.verb == "logs":
                text = "".join(podlogs.limited([self.runtime.logs(
                    uid, container, body.get("tailLines"), **_log_options(body))],
                    body.get("limitBytes")))
                if len(text) > MAX_LOG_CHARS:
                    text = (f"... (first {len(text) - MAX_LOG_CHARS} characters left out; use "
                            "--tail)\n" + text[-MAX_LOG_CHARS:])
                reply = envelope.reply(text, sender=connection.name)
            else:
                result = self.runtime.exec(uid, container, list(body.get("command") or []))
                reply = envelope.reply({"exitCode": result.exit_code, "stdout": result.stdout,
                                        "stderr": result.stderr}, sender=connection.name)
        except RuntimeFailure as failure:
            if envelope.verb == "logs":
                failure = self._no_log(uid, container, bool(body.get("previous")),
                                       failure) or failure
            reply = envelope.error_reply(BadRequest(failure.message), sender=connection.name)
        except TooManyRequests as refused:
            reply = envelope.error_reply(refused, sender=connection.name)
        send_reply(connection, incoming, reply)

    def _no_log(self, uid: str, container: str, previous: bool,
                failure: RuntimeFailure | None) -> RuntimeFailure | None:
        """Why a container of a pod here has no log to give, in the kubelet's words
        (``validateContainerLogStatus``): its status says it waits to start (and it has not
        run before), or ``failure`` says the runtime has no attempt of it. None: ask the
        runtime (``failure`` None) or tell ``failure`` as it is."""
        record = self.pods.get(uid)
        if record is None or (failure is not None and failure.reason != "ContainerNotFound"):
            return failure
        pod = record.pod
        named = f'container "{container}" in pod "{pod["metadata"]["name"]}"'
        if previous:
            return failure and RuntimeFailure(failure.reason,
                                              f"previous terminated {named} not found")
        status = record.reported or pod.get("status") or {}
        found = next((item for kind in ("initContainerStatuses", "containerStatuses",
                                        "ephemeralContainerStatuses")
                      for item in status.get(kind) or [] if item.get("name") == container), None)
        reason = (((found or {}).get("state") or {}).get("waiting") or {}).get("reason")
        if found is not None and (found.get("lastState") or {}).get("terminated"):
            reason = None  # it ran before: the runtime has its last attempt's log
        elif found is None and failure is not None:
            init = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
            reason = "PodInitializing" if init and container not in init else "ContainerCreating"
        if reason is None:
            return failure and RuntimeFailure(failure.reason,
                                              f"{named} is waiting to start - no logs yet")
        return RuntimeFailure("ContainerNotStarted", f"{named} is waiting to start: "
                                                     f"{_WAITING_WORDS.get(reason, reason)}")

    def stats(self, incoming: Incoming, connection: Connection) -> None:
        """Answer a ``stats`` call (call pool thread): what each running pod's containers use
        now, and the node's total (the sum of its pods'): see docs/PROTOCOL.md. What cannot be
        read is left out, as metrics-server leaves out what it cannot scrape."""
        live = [record.pod for record in list(self.pods.values()) if not record.gone]
        try:
            used = self.runtime.usage(live)
        except RuntimeFailure as failure:
            log.warning("no usage of node %s: %s", self.name, failure.message)
            used = {}
        pods = [pod_stats(pod, used[pod["metadata"]["uid"]]) for pod in live
                if pod["metadata"]["uid"] in used]
        node = {"cpu": sum(c["cpu"] for p in pods for c in p["containers"]),
                "memory": sum(c["memory"] for p in pods for c in p["containers"])}
        send_reply(connection, incoming, incoming.envelope.reply(
            {"timestamp": now_rfc3339(), "window": self.config.stats_window_seconds,
             "node": node, "pods": pods}, sender=connection.name))

    def _streamed(self, incoming: Incoming, connection: Connection) -> None:
        """Answer a call streamed to its caller's subject (a followed log, an exec) at once,
        then stream it (on its own thread: ``Kubelet.handle``, while it lasts); RuntimeFailure
        when it cannot start, TooManyRequests when its user has all their streams open here."""
        envelope = incoming.envelope
        body = envelope.body
        key = (envelope.auth or {}).get("streamKey")
        if not isinstance(key, bytes):
            raise RuntimeFailure("BadRequest", "a streamed call needs its stream key")
        uid, container, subject = str(body["uid"]), str(body["container"]), str(body["stream"])
        with self._slot(str(body.get("user") or "")):
            if envelope.verb == "logs":
                stream: Any = self.runtime.follow_logs(uid, container, body.get("tailLines"),
                                                       **_log_options(body))
            else:
                stream = ExecStreamer(self._session(body), subject, key, connection,
                                      bool(body.get("stdin")))
            send_reply(connection, incoming, envelope.reply({"stream": subject},
                                                            sender=connection.name))
            with self._held(stream):
                if envelope.verb == "logs":
                    self._stream(podlogs.limited(stream, body.get("limitBytes")), subject, key,
                                 connection)
                else:
                    stream.run()

    def _session(self, body: Object) -> ExecSession:
        """The exec stream's other end: a command started in the container, or (``attach``)
        the container's own stdio."""
        uid, container = str(body["uid"]), str(body["container"])
        stdin, tty = bool(body.get("stdin")), bool(body.get("tty"))
        if body.get("attach"):
            return self.runtime.attach_stream(uid, container, stdin=stdin, tty=tty)
        return self.runtime.exec_stream(uid, container, list(body.get("command") or []),
                                        stdin=stdin, tty=tty)

    @contextlib.contextmanager
    def _slot(self, user: str) -> Iterator[None]:
        """One of ``user``'s :attr:`KubeletConfig.streams_per_user` streams on this node, while
        the block runs; TooManyRequests when they are all taken."""
        with self._streams_lock:
            if self._users[user] >= self.config.streams_per_user:
                raise TooManyRequests(
                    f"{user or 'this user'} has {self._users[user]} log or exec streams open "
                    f"on node {self.name} already: close one first",
                    details={"retryAfterSeconds": 1})
            self._users[user] += 1
        try:
            yield
        finally:
            with self._streams_lock:
                self._users[user] -= 1
                if not self._users[user]:
                    del self._users[user]

    @contextlib.contextmanager
    def _held(self, stream: Any) -> Iterator[None]:
        """Keep ``stream`` (anything with ``close``) while it runs, for :meth:`stop` to close;
        closed at once when the agent is stopping, and at the end."""
        with self._streams_lock:
            self._streams.add(stream)
            if self._stopping:
                stream.close()
        try:
            yield
        finally:
            with self._streams_lock:
                self._streams.discard(stream)
            stream.close()

    def _stream(self, stream: Any, subject: str, key: bytes, connection: Connection) -> None:
        """Send each chunk as a request MACed with the reader's ``key`` and wait for its
        acknowledgement (flow control: one chunk in flight); end with ``{"end": true}``. A
        reader gone (no responders, no acknowledgement) stops the stream."""
        def send(body: Object) -> None:
            connection.request(subject, Envelope(sender=connection.name, verb="logs",
                                                 body=body),
                               STREAM_ACK_SECONDS, key).result(STREAM_ACK_SECONDS + 1)

        seq = 0
        try:
            for chunk in stream:
                seq += 1
                send({"seq": seq, "data": chunk})
            send({"seq": seq + 1, "end": True})
        except (BusError, TimeoutError) as error:
            log.info("%s: log stream to %s ended: %s", self.name, subject, error)


_WAITING_WORDS = {"ErrImagePull": "image can't be pulled",
                  "ImagePullBackOff": "trying and failing to pull image"}
"""The kubelet's words for the waiting reasons a log is most often asked for in."""


def _log_options(body: Object) -> dict[str, Any]:
    """A log call's ``previous``, ``timestamps`` and start (``since``: ``sinceSeconds`` back
    from now, as Kubernetes' kubelet counts it, or ``sinceTime``) as the runtime's arguments."""
    return {"previous": bool(body.get("previous")), "timestamps": bool(body.get("timestamps")),
            "since": podlogs.since(body.get("sinceSeconds"), body.get("sinceTime"),
                                   time.time())}


def pod_stats(pod: Object, used: dict[str, Usage]) -> Object:
    """One pod's entry of a ``stats`` answer."""
    meta = pod["metadata"]
    return {"namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
            "containers": [{"name": name, "cpu": u.cpu, "memory": u.memory}
                           for name, u in sorted(used.items())]}


def same_intent(old: Object, new: Object) -> bool:
    """Whether two versions of a pod ask the same of the kubelet (only status differs; new
    labels or annotations ask for the downward API's files again)."""
    before, after = old["metadata"], new["metadata"]
    return old.get("spec") == new.get("spec") and all(
        before.get(key) == after.get(key)
        for key in ("deletionTimestamp", "labels", "annotations"))


@dataclass(frozen=True, slots=True)
class Writers:
    """The writers a :class:`Kubelet` shares between its nodes, and the cache of the
    ConfigMaps and Secrets their pods read."""

    pods: StatusWriter
    leases: StatusWriter
    events: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        1, thread_name_prefix="kubelet-events"))
    """One thread writing every hosted node's Events (a thousand simulated nodes: not a
    thousand threads); started by the first Event."""
    objects: ObjectCache = field(default_factory=ObjectCache)
    """One watch per object read, for every hosted node (``actors.kubelet.objectcache``)."""
