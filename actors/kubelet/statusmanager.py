"""A pod's status writes, as Kubernetes' status manager makes them: never over what they did not
read.

:meth:`StatusManager.write` hands a pod's status to the :class:`StatusWriter` (the latest per
pod, windowed, nobody waiting). Its body is made when it is sent, not when it is handed over:
the status merged into the pod's status as the API last had it (``podstatus.merged``: other
writers' conditions kept), whichever is newer of the informer's pod and the pod as the
kubelet's last write stored it (or a read after a conflict, below), with that version's
``resourceVersion`` and the pod's ``uid`` as preconditions. A write that meets a newer version
(409: another writer's condition landed meanwhile) reads the pod again and is made again from
it; one that meets another pod of the same name (deleted and made again: another ``uid``) is
dropped, and the new pod never gets the old one's status. Kubernetes' status manager gets the
pod, merges, and patches it with the uid as a precondition: the same guarantees, at the cost
of a read per write, where here only a conflict costs one.

Which thread: :meth:`StatusManager.write` on any but the bus loop's (pod workers, the periodic
reconcile); answers come on the bus loop thread and hand any request over to the timer thread.

Neighbours: ``actors.kubelet.podsync`` and ``actors.kubelet.nodeagent`` (hand statuses over),
``actors.kubelet.statuswriter`` (sends them), ``actors.kubelet.podrecord`` (``known``,
``written``, ``reported``), ``actors.apiserver.verbs`` (checks the preconditions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from actors.api.meta import trace_id_of
from actors.api.objects import Object
from actors.client.client import Client
from actors.kubelet.podrecord import PodRecord, SyncConfig
from actors.kubelet.podstatus import KUBELET_CONDITIONS, merged
from actors.kubelet.statuswriter import StatusWriter, outcome
from actors.kubelet.timers import Timers
from bus.errors import Conflict, NotFound

log = logging.getLogger(__name__)


def version_of(obj: Object) -> int:
    return int(obj["metadata"].get("resourceVersion") or 0)


def others(status: Object) -> Object:
    """What a write made over ``status`` needs of it (:func:`merged` keeps only these): the
    conditions of other writers, so a pod's record holds little more than its version."""
    return {"conditions": [c for c in status.get("conditions") or []
                           if c.get("type") not in KUBELET_CONDITIONS]}


def base(record: PodRecord) -> tuple[int, Object]:
    """(resourceVersion, status) of the newest version of the pod the kubelet knows: the
    informer's, or what its last write stored (or a read after a conflict) while the informer
    has not caught up."""
    informed = version_of(record.pod)
    if record.known is not None and record.known[0] > informed:
        return record.known
    return informed, record.pod.get("status") or {}


def status_body(record: PodRecord, status: Object) -> Object:
    """The ``pods/status`` update that writes ``status`` over the pod as :func:`base` has it,
    only if the API still has that version of that pod."""
    metadata = record.pod["metadata"]
    version, stored = base(record)
    return {"apiVersion": "v1", "kind": "Pod", "status": merged(stored, status),
            "metadata": {"name": metadata["name"], "namespace": metadata["namespace"],
                         "uid": record.uid, "resourceVersion": str(version)}}


class StatusManager:
    """The status writes of one node's pods (see the module docstring)."""

    def __init__(self, client: Client, statuses: StatusWriter, timers: Timers,
                 config: SyncConfig, resubmit: Callable[[str], None]) -> None:
        self.client, self.statuses, self.timers = client, statuses, timers
        self.config, self.resubmit = config, resubmit

    def write(self, record: PodRecord, status: Object, *, again: bool = False) -> None:
        """Hand ``status`` over as the pod's (its ``reported`` from now on); ``again``: the
        write made after a conflict, which a second conflict sends to the back-off instead
        of reading once more (a Conflict that keeps coming is not a request storm)."""
        record.reported = status
        self.statuses.put(record.uid, lambda: self._send(record, status),
                          lambda error, stored: self._written(record, status, error, stored,
                                                              again))

    def _send(self, record: PodRecord, status: Object) -> Future[Any]:
        metadata = record.pod["metadata"]
        return self.client.submit(
            "update", "pods", namespace=metadata["namespace"], name=metadata["name"],
            body=status_body(record, status), subresource="status",
            options=self.client.write_options(), trace_id=trace_id_of(record.pod))

    def _written(self, record: PodRecord, status: Object, error: BaseException | None,
                 stored: Any, again: bool) -> None:  # bus loop thread: hand over
        if error is None:
            record.written = version_of(stored)
            record.known = (record.written, others(stored.get("status") or {}))
            return
        if isinstance(error, NotFound) or record.done:
            return
        if isinstance(error, Conflict) and not again:  # another version, or pod of that name
            self.timers.call_later(0, lambda: self._read_again(record, status))
            return
        self._failed(record, status, error)

    def _failed(self, record: PodRecord, status: Object, error: BaseException) -> None:
        """Sync the pod again after the back-off base, which writes its status again."""
        log.warning("%s: status of pod %s not written: %s; retrying",
                    self.config.node_name, record.name, error)
        if record.reported is status:
            record.reported = None
        self.timers.call_later(self.config.backoff_base, lambda: self.resubmit(record.uid))

    def _read_again(self, record: PodRecord, status: Object) -> None:  # timer thread
        metadata = record.pod["metadata"]
        self.client.submit("get", "pods", namespace=metadata["namespace"],
                           name=metadata["name"]).add_done_callback(
            lambda read: self._read(record, status, read))

    def _read(self, record: PodRecord, status: Object, read: Future[Any]) -> None:  # bus loop
        """Write ``status`` again over the pod as just read, unless it is another pod now (or
        none)."""
        error, pod = outcome(read)
        if isinstance(error, NotFound) or record.done:
            return
        if error is not None:
            self._failed(record, status, error)
            return
        if pod["metadata"].get("uid") != record.uid:
            return  # made again under that name: the informer tells this one's deletion
        record.known = (version_of(pod), others(pod.get("status") or {}))
        self.timers.call_later(0, lambda: self._again(record, status))

    def _again(self, record: PodRecord, status: Object) -> None:  # timer thread
        """:meth:`write` ``status`` again, unless a newer one was handed over meanwhile (that
        one goes on its own, made from the newest version too)."""
        if record.reported is status and not record.done:
            self.write(record, status, again=True)
