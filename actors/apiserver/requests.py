"""What travels through the apiserver's pipeline: its configuration, one decoded request, a
request on its way (:class:`Pending`, which may wait for a step) and a step's answer coming back
(:class:`Resumed`).

Plain data. Neighbours: ``server`` (the pipeline that makes and finishes them), ``verbs`` and
``relay`` (what runs a request), ``admission.chain`` (the external calls a verb waits for),
``actors.store`` (the writes).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from actors.api import addresses
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.users import UserInfo
from actors.apiserver.admission.chain import Answer, Delay, ExternalCall
from actors.apiserver.options import Options
from actors.apiserver.queueing import Pacing, Ticket
from actors.store import Write
from bus.connection import Incoming
from bus.envelope import Envelope
from bus.errors import BadRequest, NotFound
from bus.subjects import EXEMPT_LANE

Step = ExternalCall | Delay | Write
"""What a verb waits for without holding its worker: an external admission call, a pause or a
store write. It resumes (a :class:`Resumed` message) with the call's :data:`Result`."""
Result = Answer | Object | BaseException
"""An external call's answer, or a store write's stored object or error."""


@dataclass(frozen=True, slots=True)
class ApiServerConfig:
    name: str = "apiserver"
    """Component name on the bus (envelope ``sender``)."""
    queue: str = "apiserver"
    """NATS queue group: replicas in one group share the requests."""
    lanes: tuple[str, ...] = ("api", EXEMPT_LANE)
    """The request lanes this worker serves (``Subjects.api``): everyone's (``api``) and the
    exempt lane, which only the admin may publish on. The launcher gives the exempt lane a
    worker of its own, on a connection and loop thread of their own, so that the admin's
    requests never wait behind a flood's (docs/DESIGN.md, "Priority lanes"); a worker made
    alone serves both."""
    serves_watches: bool = True
    """This worker holds the watchers (one per apiserver; the others serve every other verb)."""
    server: str | None = None
    """This apiserver process's id among several sharing one store: its watch worker also
    serves every request addressed to it (``P.api.<g>.<r>.<verb>.<server>``), so that a
    watch's renewals reach the process that holds the watch. None: the only apiserver."""
    bootstrap: bool = True
    """This worker loads the RBAC policy and creates the bootstrap objects at start."""
    max_watches: int = 256
    """Open watches one user may hold; each costs work on every commit."""
    max_watch_initial_bytes: int = 16 * 1024 * 1024
    """Bytes (packed) a new watch's initial list may send (its ADDED events): a watch of
    everything in a big cluster is refused (413) rather than flooding the watch worker and
    the bus; an informer lists in pages and watches from the list's resourceVersion."""
    node_call_seconds: float = 300.0
    """How long a ``pods/log`` or ``pods/exec`` call may wait for the kubelet."""
    metrics_call_seconds: float = 5.0
    """How long a ``metrics.k8s.io`` read waits for each node's ``stats``; a node that does not
    answer is left out of it."""
    metrics_cache_seconds: float = 5.0
    """A node's ``stats`` answer serves the metrics reads of this long (each worker its own):
    readers poll (the HPA controller every 15 s, ``kubectl top``), Docker's figures take a
    second to sample."""
    disabled_admission: tuple[str, ...] = ()
    """Admission plugins left out, by name (kube-apiserver's ``--disable-admission-plugins``):
    ``ServiceAccount`` for an API tested without the controllers that make accounts."""
    ranges: addresses.Ranges = field(default_factory=addresses.Ranges)
    """Where Services' ClusterIPs and NodePorts come from."""
    concurrency: int = 600
    """Requests a worker serves at once, shared by the priority levels by their
    ``nominalConcurrencyShares`` (kube-apiserver's ``--max-requests-inflight`` 400 plus
    ``--max-mutating-requests-inflight`` 200). A read holds its seat only while the worker runs
    it; a write until its commit, an external admission call until its answer."""
    pacing: Pacing = field(default_factory=lambda: Pacing(
        frozenset(("global-default", "workload-low", "catch-all")), 0.05))
    """Flows that may each take only a part of a worker's time (``queueing.Duty``): beyond
    it their requests wait in their queues, and are refused (429) when those are full. The
    levels where users' and service accounts' requests land by Kubernetes' default
    FlowSchemas; not those of the cluster's own components (nodes, controllers, scheduler,
    leader election), whose flows are few and known. Without it, one user's flood of cheap
    reads keeps every core of a small machine busy, and everyone waits for a core, the admin
    on its own lane too (docs/DESIGN.md, "Priority lanes")."""
    max_queue_wait: float = 5.0
    """Seconds a request may wait in its priority level's queue before it is refused (429):
    half the clients' 10 s timeout, so that what is served is still awaited (kube-apiserver
    waits a quarter of its 60 s request timeout)."""
    max_object_bytes: int = 256 * 1024
    """Largest object stored (packed). Well under NATS's 1 MiB max payload, so that the object,
    its reply and its watch events always fit (etcd's own limit is 1.5 MiB per request)."""
    max_page_bytes: int = 768 * 1024
    """Most bytes (packed) of the items of one list page asked for with ``limit``: a page of
    large objects shrinks to fit the bus's 1 MiB with room for the envelope."""


@dataclass(slots=True)
class Request:
    """One decoded, authenticated request."""

    verb: str
    info: ResourceInfo
    _: KW_ONLY
    subresource: str | None
    namespace: str | None
    name: str | None
    user: UserInfo
    envelope: Envelope
    options: Options
    impersonator: UserInfo | None = None
    """Who sent the request, when it acts as ``user`` (impersonation)."""
    via: UserInfo | None = None
    """The front (the HTTPS listener) that forwarded the credentials of its client, the
    request's ``user`` (or impersonator): ``authn.Forwarding``."""
    warnings: list[str] = field(default_factory=list)
    """What the reply warns of (``status.warnings``): unknown fields dropped."""

    @property
    def sender(self) -> UserInfo:
        """Whose NATS identity sent the request: events and followed logs go only to its
        subjects (``busauth.check_owner``)."""
        return self.via or self.impersonator or self.user

    @property
    def key(self) -> str:
        if not self.name:
            raise BadRequest(f"{self.verb} {self.info.name} needs a name")
        return self.info.key(self.namespace, self.name)

    def not_found(self) -> NotFound:
        return NotFound(f'{self.info.qualified} "{self.name}" not found',
                        details={"name": self.name, "kind": self.info.name})


@dataclass(slots=True)
class Pending:
    """A request on its way through the pipeline; it may wait for external admission."""

    incoming: Incoming
    started: float = field(default_factory=time.monotonic)
    """When it left the worker's mailbox: its latency (``opts.latencyMs``, the audit's)
    counts its wait in its priority level's queue, as kube-apiserver's does."""
    sender: UserInfo | None = None
    """Who sent it, once authenticated (the impersonator when impersonating): its answer goes
    only into an inbox of an identity it owns (``busauth.may_answer``)."""
    request: Request | None = None
    authorized: bool = False
    steps: Generator[Step, Result, object] | None = None
    ticket: Ticket | None = None
    """Its place in flow control (``fairness``): its flow, and the seat it holds."""
    batch: tuple[Any, int] | None = None
    """For one binding of a batch (``batching``): the batch, and the item's place in it."""


@dataclass(frozen=True, slots=True)
class Resumed:
    """A step the verb waited for came back: an external admission call answered, a store
    write done (told to the worker that made it)."""

    pending: Pending
    answer: Result
