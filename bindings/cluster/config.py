"""What a cluster is asked to be (:class:`ClusterConfig`, what ``kubeactor up``, ``server``,
``agent``, ``scheduler`` and ``controller-manager`` fill from their flags) and how starting one
fails (:class:`ClusterError`).

Neighbours: ``bindings.cluster.launcher`` (starts what the config asks for),
``bindings.cluster.identities`` (who the components are), ``bindings.cli.daemons`` (the flags),
the components' own configs (``StoreConfig``, ``NodeLifecycleConfig``, ``LeaderElectionConfig``),
nested here rather than repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from actors.api import addresses
from actors.api.pods import DEFAULT_SCHEDULER
from actors.client.credentials import Credentials
from actors.client.leaderelection import LeaderElectionConfig
from actors.controllers.nodelifecycle import NodeLifecycleConfig
from actors.controllers.podautoscaler import AutoscalerConfig
from actors.scheduler import ProfileConfig
from actors.scheduler.shadowing import ShadowConfig
from actors.store import StoreConfig
from bindings.cluster import audit
from bus import BusConfig
from bus.errors import KubeactorError


@dataclass
class ClusterConfig:
    data_dir: Path | None = None
    """Where the control plane or the kubelets keep their state (locked: one process per
    dir); None only for a scheduler or controller manager that joins a cluster."""
    nodes: int = 1
    """Kubelets to start, named node-1 ... node-N."""
    node_names: tuple[str, ...] = ()
    """Names of the kubelets to start, instead of node-1 ... node-N (``kubeactor agent``)."""
    control_plane: bool = True
    """Start store and apiserver (and the scheduler and controller manager, unless turned
    off); False: join the cluster of ``nats_url`` with ``credentials`` (``kubeactor agent``,
    ``kubeactor scheduler``, ``kubeactor controller-manager``)."""
    runtime: str = "docker"
    """``docker`` (real containers) or ``sim`` (in memory, see ``bindings.runtimes.sim``)."""
    nats_url: str | None = None
    """Use this NATS instead of starting the embedded nats-server (required for an agent)."""
    nats_ca: bytes | None = None
    """PEM of the CA that signs the certificates of ``nats_url``'s servers (``--nats-ca``, for
    ``tls://`` URLs); None: the system's CAs. The embedded nats-server's is the cluster CA."""
    nats_host: str = "127.0.0.1"
    """Address the embedded nats-server listens on (agents on other hosts connect to it)."""
    nats_port: int = 0
    """Port of the embedded nats-server; 0 lets it pick a free one."""
    nats_cluster: int = 1
    """Embedded nats-servers, routed as one NATS cluster on this machine (``--nats-cluster``):
    1 alone; 3 keep the bus and a ``jetstream`` store (three replicas) through the loss of
    one."""
    prefix: str = "kubeactor"
    apiserver_workers: int = 2
    """Apiserver actors sharing the requests (and the store's group commits): one blocked on
    a durable write does not stop the others."""
    credentials: Credentials | None = None
    """Credentials of the kubelets when there is no control plane here (from a kubeconfig)."""
    node_credentials: dict[str, Credentials] = field(default_factory=dict)
    """User name -> credentials of each simulated node (and ``system:node-sim``) of an agent
    of many (``agent --runtime sim --nodes N``: one context each in its kubeconfig); a user
    not here shows ``credentials``."""
    node_lifecycle: NodeLifecycleConfig = field(default_factory=NodeLifecycleConfig)
    """When a node whose Lease goes unrenewed becomes Unknown, how often nodes are looked at,
    zones and the rate of NoExecute taints on lost nodes (--node-monitor-*,
    --node-eviction-rate...)."""
    ranges: addresses.Ranges = field(default_factory=addresses.Ranges)
    """Pods', nodes' and Services' addresses and NodePorts (--cluster-cidr,
    --service-cluster-ip-range...): inside 127.0.0.0/8 by default, local to one machine."""
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    """The HPA controller's sync period and default scale-down window
    (--horizontal-pod-autoscaler-*)."""
    node_lease_duration_seconds: int = 40
    """The kubelets' Lease duration; they renew every quarter of it."""
    node_cpu: str | None = None
    """CPU each node offers (Kubernetes quantity); None: the host's."""
    node_memory: str | None = None
    """Memory each node offers; None: the host's."""
    audit_log: Path | None = None
    """Where the apiserver appends its ``audit.k8s.io/v1`` Events, a JSON line each; None:
    ``DATA_DIR/audit.log``."""
    audit_policy_file: Path | None = None
    """An ``audit.k8s.io/v1`` Policy (YAML or JSON, ``--audit-policy-file``); None:
    ``actors.apiserver.auditing.DEFAULT_POLICY`` (every request at Metadata)."""
    audit_log_max_bytes: int = audit.MAX_BYTES
    """The size past which the audit log rotates (``--audit-log-maxsize``, in MB there); 0:
    never."""
    audit_log_max_backups: int = audit.MAX_BACKUPS
    """Rotated audit logs kept (``--audit-log-maxbackup``); 0: all."""
    max_pods: int = 110
    """Pods each node accepts (the kubelet's --max-pods)."""
    backoff_base: float = 10.0
    """The kubelets' restart and image pull back-off base in seconds (Kubernetes: 10 s);
    small in tests."""
    sim_events: bool = True
    """Simulated kubelets record Events as real ones do (so ``describe pod`` explains a
    restart); off for scale runs, where a thousand nodes' Events would measure the Event
    writes rather than the control plane (``benchmarks/sim_scale.py``)."""
    store: str = "sqlite"
    """``sqlite`` (``DATA_DIR/store.db``) or ``jetstream`` (a KV bucket on the NATS, which
    several apiserver processes may share)."""
    store_replicas: int | None = None
    """Replicas of the ``jetstream`` store's bucket when this process creates it
    (``--store-replicas``: 3 on a NATS cluster of three); None: one per embedded server."""
    storage: StoreConfig = field(default_factory=StoreConfig)
    """The store's compaction and size limit (``--quota-backend-bytes``)."""
    apiserver_only: bool = False
    """Start the store and the apiserver only, no scheduler or controllers: one more apiserver
    process of a cluster whose store is shared (``jetstream``, with ``nats_url``; the first
    process runs the scheduler and the controllers), or an apiserver alone (tests of the API,
    where nothing but the test writes)."""
    tokens_file: Path | None = None
    """The static token file; None: ``DATA_DIR/tokens.csv`` (made at first start). Apiservers
    of one cluster must share it: give the others the first one's."""
    namespace_retry_seconds: float = 2.0
    """How often the namespace controller looks again at a terminating namespace that still
    holds objects."""
    bus: BusConfig | None = None
    """NATS identity of the kubelets when there is no control plane here (from a kubeconfig:
    its certificate); its URL and prefix are ``nats_url`` and ``prefix``."""
    leader_election: LeaderElectionConfig = field(default_factory=LeaderElectionConfig)
    """The periods of the scheduler's and the controller manager's leader election (the
    ``--leader-elect-*`` flags); a template: its lease and identity are filled for each."""
    scheduler: bool = True
    """Run the scheduler in this process (False: ``server --disable-scheduler``, where a
    ``kubeactor scheduler`` process schedules; and for an agent)."""
    controller_manager: bool = True
    """Run the controller manager in this process (False: ``server
    --disable-controller-manager``, and for an agent)."""
    https_listen: str | None = "127.0.0.1:0"
    """``HOST:PORT`` where the control plane serves Kubernetes' HTTPS API (port 0: a free one;
    the CLI's ``--https-listen`` defaults to kube-apiserver's 127.0.0.1:6443); None: none."""
    metrics_listen: str | None = None
    """``HOST:PORT`` where this process serves ``/metrics`` over plain HTTP
    (``--metrics-listen``; port 0: a free one); None: only on the HTTPS port, if any."""
    disabled_admission: tuple[str, ...] = ()
    """Admission plugins the apiserver leaves out, by name (kube-apiserver's
    ``--disable-admission-plugins``): ``ServiceAccount`` where no controller makes accounts."""
    scheduler_name: str = DEFAULT_SCHEDULER
    """The scheduler's name (pods choose it by ``spec.schedulerName``). Its Lease is
    ``kube-scheduler`` for the default one, else its name, so that replicas of two
    schedulers never wait for each other."""
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    """The scheduler's plugins beyond the default ones, and their weights (``kubeactor
    scheduler --plugin module:Class --weight Name=N``); checked when made."""
    shadow: ShadowConfig | None = None
    """A shadow scheduler to run here (``kubeactor scheduler --shadow``): it binds nothing
    and holds no Lease."""


class ClusterError(KubeactorError):
    """The cluster could not start; the message says what to do."""
