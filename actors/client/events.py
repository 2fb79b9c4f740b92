"""Recording Kubernetes Events for the objects a component works on, with aggregation.

:class:`EventRecorder` creates ``Event`` objects (``source.component``, ``source.host``) and,
like Kubernetes' event correlator, does not create a new object when the same object gets the
same reason and message again: it bumps ``count`` and ``lastTimestamp`` of the one it made, so a
crash loop costs one Event, not one per restart. Which thread: :meth:`EventRecorder.record`
may be called from any thread and never blocks: the writes are made in order on the
recorder's own thread (started on first use), off the pod's critical path; a failure is
logged and dropped (events are best effort). Past ``max_queued`` events waiting to be written,
new ones are dropped, as client-go's broadcaster drops them when its queue of 1,000 is full:
under a burst (a scheduler binding hundreds of pods a second) events never hold back the work
they report, nor pile up without bound.

Neighbours: ``actors.kubelet.podsync`` (the kubelet's events), ``actors.client.client``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from actors.api.meta import now_rfc3339, trace_id_of
from actors.api.objects import Object
from actors.client.client import Client
from bus.errors import ApiError, NotFound

log = logging.getLogger(__name__)

REMEMBERED = 4096
"""Events kept for aggregation per recorder (the oldest are forgotten first)."""
MAX_QUEUED = 1000
"""Events waiting to be written before new ones are dropped (client-go's maxQueuedEvents)."""


class EventRecorder:
    """Events about pods from one component on one host. Thread-safe."""

    def __init__(self, client: Client, component: str, host: str = "",
                 max_queued: int = MAX_QUEUED) -> None:
        self.client = client
        self.source = {"component": component, **({"host": host} if host else {})}
        self.max_queued = max_queued
        self.dropped = 0
        """Events dropped because ``max_queued`` were waiting."""
        self._queued = 0
        self._made: OrderedDict[tuple[str, str, str], Object] = OrderedDict()
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="events")

    def record(self, pod: Object, kind: str, reason: str, message: str) -> None:
        """A ``Normal`` or ``Warning`` event ``reason`` about ``pod`` (written soon after, or
        dropped when ``max_queued`` wait)."""
        with self._lock:
            full = self._queued >= self.max_queued
            if full:
                self.dropped += 1
            else:
                self._queued += 1
        if full:
            log.debug("event %s for pod %s dropped: %d events waiting", reason,
                      pod["metadata"]["name"], self.max_queued)
            return
        try:
            self._writer.submit(self._record, pod, kind, reason, message)
        except RuntimeError:  # closed: dropped
            self._written()

    def _written(self) -> None:
        with self._lock:
            self._queued -= 1

    def close(self) -> None:
        """Drop events not yet written; later ones are ignored."""
        self._writer.shutdown(wait=False, cancel_futures=True)

    def _record(self, pod: Object, kind: str, reason: str, message: str) -> None:
        try:
            self._write(pod, kind, reason, message)
        finally:
            self._written()

    def _write(self, pod: Object, kind: str, reason: str, message: str) -> None:
        metadata = pod["metadata"]
        key = (str(metadata.get("uid")), reason, message)
        with self._lock:
            made = self._made.pop(key, None)
        try:
            stored = self._bump(made) if made else self._create(pod, kind, reason, message)
        except ApiError as error:
            log.warning("event %s for pod %s not recorded: %s", reason, metadata["name"], error)
            return
        with self._lock:
            self._made[key] = stored
            while len(self._made) > REMEMBERED:
                self._made.popitem(last=False)

    def forget(self, pod_uid: str) -> None:
        """Drop what was remembered about a pod that is gone (after its pending events)."""
        with contextlib.suppress(RuntimeError):
            self._writer.submit(self._forget, pod_uid)

    def _forget(self, pod_uid: str) -> None:
        with self._lock:
            for key in [key for key in self._made if key[0] == pod_uid]:
                del self._made[key]

    def _create(self, pod: Object, kind: str, reason: str, message: str) -> Object:
        metadata = pod["metadata"]
        now = now_rfc3339()
        event = {
            "metadata": {"generateName": f"{metadata['name']}.",
                         "namespace": metadata["namespace"]},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": metadata["name"],
                               "namespace": metadata["namespace"], "uid": metadata.get("uid")},
            "type": kind, "reason": reason, "message": message, "source": self.source,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        result: Object = self.client.create("events", event, metadata["namespace"],
                                            trace_id=trace_id_of(pod))
        return result

    def _bump(self, made: Object) -> Object:
        bumped = {**made, "count": int(made.get("count", 1)) + 1, "lastTimestamp": now_rfc3339()}
        try:
            result: Object = self.client.update("events", bumped)
        except NotFound:  # deleted meanwhile (a namespace went): start again
            fresh = {**bumped, "metadata": {k: v for k, v in made["metadata"].items()
                                            if k in ("generateName", "namespace")}}
            result = self.client.create("events", fresh, made["metadata"]["namespace"])
        return result
