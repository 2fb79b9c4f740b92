"""What the kubelet keeps about one pod between its syncs (:class:`PodRecord`), and the parts of
its configuration a sync reads (:class:`SyncConfig`).

Neighbours: ``actors.kubelet.podsync`` (the sync, on the pod's worker, owns a record's state),
``actors.kubelet.nodeagent`` (makes the records from the informer's events and replaces their
``pod`` from any thread).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.api.meta import now_rfc3339
from actors.api.objects import Object
from actors.kubelet.probing import ProbeState
from actors.kubelet.timers import Timer


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """The parts of the kubelet's configuration a pod sync reads."""

    node_name: str
    address: str
    backoff_base: float
    backoff_max: float
    backoff_reset: float
    allocatable: Object = field(default_factory=dict)
    """The node's allocatable ``cpu`` and ``memory``: a container's limit when it sets none
    (the downward API's ``resourceFieldRef``)."""


@dataclass(slots=True)
class Probe:
    """One probe of one container attempt."""

    container_id: str
    state: ProbeState
    due: float
    """``time.monotonic()`` of the next run."""


@dataclass(slots=True)
class PodRecord:
    """What the kubelet keeps about one of its pods. ``pod`` is replaced from any thread;
    the rest belongs to the pod's worker."""

    pod: Object
    start_time: str = field(default_factory=now_rfc3339)
    gone: bool = False
    """The pod was deleted from the API: remove its containers, forget it."""
    done: bool = False
    """Removed and forgotten (a later event about the pod is stale)."""
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Container name -> (waiting reason, message) of its last failed start."""
    pulls: dict[str, tuple[int, float]] = field(default_factory=dict)
    """Container name -> (failed pulls in a row, monotonic time the next pull may start)."""
    crashes: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Container name -> (id of the last dead attempt counted, deaths counted)."""
    probes: dict[tuple[str, str], Probe] = field(default_factory=dict)
    """(container name, probe kind) -> its state for the running attempt."""
    announced: set[str] = field(default_factory=set)
    """Runtime ids whose death was already announced (BackOff events once per death)."""
    reported: Object | None = None
    written: int = 0
    """The resourceVersion our last status write stored: an event of an older version is a
    late echo, not news about the status."""
    known: tuple[int, Object] | None = None
    """(resourceVersion, other writers' conditions) of the pod as our last status write stored
    it, or as read after a conflict: newer than ``pod`` until the informer catches up
    (``actors.kubelet.statusmanager``)."""
    reconciled: float = float("-inf")
    """When (monotonic) the status was last written again because the API's differed."""
    surprise: str | None = None
    """The message of the last unexpected failure of the pod's sync (each one said once)."""
    timer: Timer | None = None
    wake_at: float = 0.0
    meta: tuple[Object, Object] | None = None
    """The pod's labels and annotations its running containers' volumes were last written
    with: the downward API's files follow a change (the kubelet's remount at its next sync)."""
    remount: bool = False
    """A ConfigMap or Secret it read changed: its volumes' files are written again."""
    held: list[tuple[str, str, str]] | None = None
    """Events (type, reason, message) of this sync held since a container started, recorded
    once its status is handed over (:meth:`PodSync.sync`); None when none are held."""

    @property
    def uid(self) -> str:
        return str(self.pod["metadata"]["uid"])

    @property
    def name(self) -> str:
        return f"{self.pod['metadata']['namespace']}/{self.pod['metadata']['name']}"
