"""``kubeactor up``, ``server``, ``scheduler``, ``controller-manager``, ``agent``: the verbs
that run components in this process, until SIGINT or SIGTERM; and ``config view`` and
``node-kubeconfig``, which read or write kubeconfigs on this host without a session.

Each verb's parser is built here (the flags the daemons share, ``--leader-elect-*`` and the
like, by one function per set); each command turns its flags into a ``ClusterConfig`` and
serves it.

Neighbours: ``bindings.cluster`` (``Cluster`` starts what the config asks for; the
identities of nodes), ``bindings.kubeconfig`` (the files), ``bindings.cli.parsing`` (the flag
types), ``bindings.cli.main`` (puts these verbs in its tables and dispatches to them).

Which thread: the main thread; ``_serve`` blocks it until a signal.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actors.api import addresses, certs
from actors.api.pods import DEFAULT_SCHEDULER
from actors.api.resources import lookup
from actors.api.validation import validate
from actors.client.leaderelection import LeaderElectionConfig
from actors.controllers.disruption import DisruptionConfig
from actors.controllers.nodelifecycle import NodeLifecycleConfig
from actors.controllers.podautoscaler import AutoscalerConfig
from actors.store import StoreConfig
from bindings import https, kubeconfig
from bindings.cli import extending, parsing, spreading
from bindings.cli.session import stop_on_signals
from bindings.cluster import Cluster, ClusterConfig, ClusterError, audit, layout
from bindings.cluster.identities import (
    node_identity,
    node_kubeconfig,
    sim_kubeconfig,
    sim_node_names,
)
from bindings.cluster.supervising import Child, Supervisor
from bus.errors import Invalid, UsageError
from bus.permissions import NODE_SIM


def _add_up(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    up = verbs.add_parser("up", parents=[common], help="run a whole cluster in the foreground")
    up.add_argument("--data-dir", type=Path, default=Path("~/.kubeactor"))
    up.add_argument("--nodes", type=parsing.bounded(0, 1000), default=1)
    up.add_argument("--runtime", choices=["docker", "sim"], default="docker")
    up.add_argument("--nats", metavar="URL", help="use this NATS instead of an embedded one")
    up.add_argument("--port", type=parsing.bounded(0, 65535), default=0,
                    help="embedded nats-server port (0: a free one)")
    up.add_argument("--processes", type=layout.processes, default=None, metavar="auto|N",
                    help="processes the cluster spreads over besides nats-server: 1 all in "
                         "this one; from 2, simulated kubelets' agents, the scheduler and the "
                         "controller manager get processes of their own, supervised by this "
                         "one (auto, the default: 1 for Docker nodes or under "
                         f"{layout.AUTO_NODES} simulated ones, else {layout.AUTO_PROCESSES})")
    up.add_argument("--nats-cluster", type=parsing.bounded(1, 9), default=1, metavar="N",
                    help="start N nats-servers routed as one NATS cluster (3: the bus and a "
                         "--store jetstream survive losing one)")
    for flags in (_nats_ca_flag, _store_flags, _https_flags, _monitor_flags, _leader_flags,
                  _eviction_flags, _autoscaler_flags, _node_flags, _range_flags, _audit_flags,
                  _metrics_flags):
        flags(up)


def _add_server(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    server = verbs.add_parser("server", parents=[common],
                              help="run the control plane (store, apiserver, scheduler)")
    server.add_argument("--data-dir", type=Path, default=Path("~/.kubeactor"))
    server.add_argument("--nats", metavar="URL", help="use this NATS instead of an embedded one")
    server.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:0",
                        help="where the embedded nats-server listens (port 0: a free one)")
    server.add_argument("--apiserver-only", action="store_true",
                        help="run the store and apiserver only: one more apiserver of a cluster "
                             "on a shared store (needs --store jetstream --nats URL --tokens)")
    server.add_argument("--tokens", metavar="FILE", type=Path, default=None,
                        help="the static token file (default DATA_DIR/tokens.csv); give further "
                             "apiservers the first one's")
    server.add_argument("--disable-scheduler", action="store_true",
                        help="no scheduler here: `kubeactor scheduler` processes schedule, with "
                             "DATA_DIR/scheduler.kubeconfig")
    server.add_argument("--disable-controller-manager", action="store_true",
                        help="no controllers here: `kubeactor controller-manager` processes run "
                             "them, with DATA_DIR/controller-manager.kubeconfig")
    for flags in (_nats_ca_flag, _store_flags, _https_flags, _monitor_flags, _leader_flags,
                  _eviction_flags, _range_flags, _autoscaler_flags, _audit_flags,
                  _metrics_flags):
        flags(server)


def _add_scheduler(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    scheduler = verbs.add_parser(
        "scheduler", parents=[common],
        help="run a scheduler that joins the cluster of --kubeconfig (kube-scheduler)")
    scheduler.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER,
                           help="schedule the pods whose spec.schedulerName is this; its Lease "
                                "is kube-scheduler for the default, else this name")
    extending.scheduler_flags(scheduler)
    _leader_flags(scheduler)
    _metrics_flags(scheduler)


def _add_controller_manager(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    controller_manager = verbs.add_parser(
        "controller-manager", parents=[common],
        help="run the controllers, joining the cluster of --kubeconfig "
             "(kube-controller-manager)")
    for flags in (_monitor_flags, _leader_flags, _eviction_flags, _range_flags,
                  _autoscaler_flags, _metrics_flags):
        flags(controller_manager)


def _add_agent(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    agent = verbs.add_parser("agent", parents=[common],
                             help="run one kubelet (or, with --runtime sim --nodes N, the "
                                  "kubelets of N simulated nodes) that joins the cluster of "
                                  "--kubeconfig")
    _node_names_flags(agent, "the node's name")
    agent.add_argument("--runtime", choices=["docker", "sim"], default="docker")
    agent.add_argument("--nats", metavar="URL",
                       help="this NATS instead of the kubeconfig's (a server of the same "
                            "NATS cluster, e.g. the one on this machine)")
    agent.add_argument("--data-dir", type=Path, default=None,
                       help="the agent's own state (default ~/.kubeactor/agent-NODE, NODE "
                            "its first node)")
    _node_flags(agent)
    _metrics_flags(agent)


def _nats_ca_flag(command: argparse.ArgumentParser) -> None:
    """--nats-ca (up, server)."""
    command.add_argument("--nats-ca", metavar="FILE", type=Path,
                         help="the CA (PEM) that signs the certificates of --nats's tls:// "
                              "servers (default: the system's CAs)")


def _nats_ca(args: argparse.Namespace) -> bytes | None:
    """The PEM of ``--nats-ca`` (with ``--nats``), checked to be a certificate."""
    if args.nats_ca is None:
        return None
    if not args.nats:
        raise UsageError("--nats-ca is the CA of a NATS of your own: give --nats URL too")
    try:
        pem = args.nats_ca.expanduser().read_bytes()
        certs.load_cert(pem)
    except OSError as error:
        raise UsageError(f"--nats-ca {args.nats_ca}: {error.strerror}") from None
    except ValueError:
        raise UsageError(f"--nats-ca {args.nats_ca}: not a PEM certificate") from None
    return pem


def _nats_cluster(args: argparse.Namespace) -> int:
    """``--nats-cluster``, which starts embedded servers: not with a NATS of one's own."""
    if args.nats_cluster > 1 and args.nats:
        raise UsageError("--nats-cluster starts nats-servers here; --nats URL uses yours: "
                         "give one or the other")
    return int(args.nats_cluster)


def _node_names_flags(command: argparse.ArgumentParser, node_help: str) -> None:
    """--node NAME, or --nodes N with --node-prefix and --first-node (agent,
    node-kubeconfig): one node, or simulated nodes PREFIX<FIRST> ... PREFIX<FIRST+N-1>."""
    which = command.add_mutually_exclusive_group(required=True)
    which.add_argument("--node", help=node_help)
    which.add_argument("--nodes", type=parsing.bounded(1, 100000), metavar="N",
                       help="N simulated nodes in one process (with --runtime sim), named "
                            "PREFIX<FIRST> ... PREFIX<FIRST+N-1>")
    command.add_argument("--node-prefix", default="node-", metavar="PREFIX",
                         help="the simulated nodes' names before their number (default node-)")
    command.add_argument("--first-node", type=parsing.bounded(0, 10**9), default=1,
                         metavar="FIRST", help="the first simulated node's number (default 1)")


def _node_names(args: argparse.Namespace) -> tuple[str, ...]:
    """The node names of ``_node_names_flags``."""
    if args.nodes is None:
        return (args.node,)
    return sim_node_names(args.nodes, args.node_prefix, args.first_node)


def _store_flags(command: argparse.ArgumentParser) -> None:
    """--store, --quota-backend-bytes (up, server)."""
    command.add_argument("--store", choices=["sqlite", "jetstream"], default="sqlite",
                         help="the store: SQLite in the data dir, or JetStream KV on the NATS")
    command.add_argument("--quota-backend-bytes", type=parsing.bounded(-1, 2**63 - 1),
                         default=StoreConfig().quota_backend_bytes, metavar="BYTES",
                         help="bytes the store may hold before writes that grow it are "
                              "refused (etcd's; 0: its default of 2 GiB, -1: no limit)")
    command.add_argument("--store-replicas", type=parsing.bounded(1, 5), metavar="N",
                         help="replicas of the jetstream store's bucket, made at first start "
                              "(3 on a NATS cluster of three; default: one per embedded "
                              "nats-server)")


def _audit_flags(command: argparse.ArgumentParser) -> None:
    """--audit-policy-file, --audit-log-maxsize, --audit-log-maxbackup (up, server), as
    kube-apiserver's."""
    command.add_argument("--audit-policy-file", type=Path, metavar="FILE",
                         help="an audit.k8s.io/v1 Policy (default: every request at Metadata)")
    command.add_argument("--audit-log-maxsize", type=parsing.bounded(0, 1 << 20),
                         default=audit.MAX_BYTES >> 20, metavar="MB",
                         help="rotate DATA_DIR/audit.log past this size (0: never)")
    command.add_argument("--audit-log-maxbackup", type=parsing.bounded(0, 1 << 20),
                         default=audit.MAX_BACKUPS, metavar="N",
                         help="rotated audit logs kept (0: all)")


def _metrics_flags(command: argparse.ArgumentParser) -> None:
    """--metrics-listen (every process)."""
    command.add_argument("--metrics-listen", metavar="HOST:PORT",
                         help="also serve /metrics over plain HTTP here, unauthenticated (keep "
                              "it on loopback; the HTTPS port serves it under RBAC)")


def _observed(args: argparse.Namespace, config: ClusterConfig) -> ClusterConfig:
    """``config`` with the metrics and audit flags its command has."""
    flags = vars(args)
    audit_flags = {} if "audit_policy_file" not in flags else dict(
        audit_policy_file=args.audit_policy_file,
        audit_log_max_bytes=args.audit_log_maxsize << 20,
        audit_log_max_backups=args.audit_log_maxbackup)
    return dataclasses.replace(config, metrics_listen=args.metrics_listen, **audit_flags)


def _https_flags(command: argparse.ArgumentParser) -> None:
    """--https-listen (up, server)."""
    command.add_argument("--https-listen", metavar="HOST:PORT", default=https.DEFAULT_LISTEN,
                         help="where Kubernetes' HTTPS API is served, for kubectl and other "
                              "Kubernetes clients (port 0: a free one)")


def _monitor_flags(command: argparse.ArgumentParser) -> None:
    """--node-monitor-* (up, server, controller-manager), defaults from
    ``NodeLifecycleConfig``."""
    defaults = NodeLifecycleConfig()
    command.add_argument("--node-monitor-grace-period", type=parsing.bounded(1, 86400),
                         default=defaults.grace_seconds, metavar="SECONDS",
                         help="a node whose lease goes unrenewed this long is Unknown")
    command.add_argument("--node-monitor-period", type=parsing.bounded(1, 3600),
                         default=defaults.monitor_seconds, metavar="SECONDS",
                         help="how often nodes are checked")


def _autoscaler_flags(command: argparse.ArgumentParser) -> None:
    """--horizontal-pod-autoscaler-* (up, server, controller-manager), defaults from
    ``AutoscalerConfig``."""
    defaults = AutoscalerConfig()
    command.add_argument("--horizontal-pod-autoscaler-sync-period", type=parsing.seconds,
                         default=defaults.sync_seconds, metavar="SECONDS",
                         help="how often each HorizontalPodAutoscaler is looked at")
    command.add_argument("--horizontal-pod-autoscaler-downscale-stabilization",
                         type=parsing.bounded(0, 3600), metavar="SECONDS",
                         default=defaults.downscale_stabilization_seconds,
                         help="an HPA scales down to the highest recommendation of this window "
                              "(unless its behavior says otherwise)")


def _autoscaler(args: argparse.Namespace) -> AutoscalerConfig:
    return AutoscalerConfig(
        sync_seconds=args.horizontal_pod_autoscaler_sync_period,
        downscale_stabilization_seconds=args.horizontal_pod_autoscaler_downscale_stabilization)


def _leader_flags(command: argparse.ArgumentParser) -> None:
    """--leader-elect-* (up, server, scheduler, controller-manager), defaults from
    ``LeaderElectionConfig``."""
    defaults = LeaderElectionConfig()
    command.add_argument("--leader-elect-lease-duration", type=parsing.duration,
                         default=defaults.lease_duration, metavar="DURATION",
                         help="how long standby schedulers and controller managers wait after "
                         "the leader's last renewal")
    command.add_argument("--leader-elect-renew-deadline", type=parsing.duration,
                         default=defaults.renew_deadline, metavar="DURATION",
                         help="how long a leader tries to renew before it stops leading")
    command.add_argument("--leader-elect-retry-period", type=parsing.duration,
                         default=defaults.retry_period, metavar="DURATION",
                         help="time between attempts to lead or renew")


def _eviction_flags(command: argparse.ArgumentParser) -> None:
    """kube-controller-manager's eviction flags, with its defaults (``DisruptionConfig``'s)."""
    defaults = DisruptionConfig()
    command.add_argument("--node-eviction-rate", type=parsing.real(0, 1e6),
                         default=defaults.eviction_rate, metavar="RATE",
                         help="nodes per second whose pods are evicted when a zone is healthy "
                         "(the NoExecute taint)")
    command.add_argument("--secondary-node-eviction-rate", type=parsing.real(0, 1e6),
                         default=defaults.secondary_eviction_rate, metavar="RATE",
                         help="the same when a zone is unhealthy; 0 unless the zone is larger "
                         "than --large-cluster-size-threshold")
    command.add_argument("--large-cluster-size-threshold", type=parsing.bounded(0, 2**31 - 1),
                         default=defaults.large_cluster_size_threshold, metavar="NODES",
                         help="nodes from which a zone is large (eviction rates)")
    command.add_argument("--unhealthy-zone-threshold", type=parsing.real(0, 1),
                         default=defaults.unhealthy_zone_threshold, metavar="FRACTION",
                         help="fraction of a zone's nodes (at least 3) not Ready from which "
                         "the zone is unhealthy")


def _range_flags(command: argparse.ArgumentParser) -> None:
    """The address ranges (up, server, controller-manager), defaults from ``Ranges``."""
    defaults = addresses.Ranges()
    command.add_argument("--cluster-cidr", default=defaults.cluster_cidr, metavar="CIDR",
                         help="pods' addresses, cut into one range per node")
    command.add_argument("--node-cidr-mask-size", type=parsing.bounded(8, 30),
                         default=defaults.node_cidr_mask, metavar="BITS",
                         help="the prefix length of each node's pod range")
    command.add_argument("--service-cluster-ip-range", default=defaults.service_cidr,
                         metavar="CIDR", help="Services' ClusterIPs")
    command.add_argument("--service-node-port-range", default=defaults.node_ports,
                         metavar="FIRST-LAST", help="Services' NodePorts")


def _ranges(args: argparse.Namespace) -> addresses.Ranges:
    try:
        return addresses.Ranges(args.cluster_cidr, args.node_cidr_mask_size,
                                args.service_cluster_ip_range, args.service_node_port_range)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _node_flags(command: argparse.ArgumentParser) -> None:
    """The kubelet's flags (up, agent)."""
    command.add_argument("--node-lease-duration-seconds", type=parsing.bounded(4, 3600),
                         default=40, metavar="SECONDS",
                         help="the node lease's duration; renewed every 10 s (or a "
                         "quarter of it)")
    command.add_argument("--node-cpu", type=parsing.quantity, metavar="QUANTITY",
                         help="CPU each node offers to pods (default: the host's)")
    command.add_argument("--node-memory", type=parsing.quantity, metavar="QUANTITY",
                         help="memory each node offers to pods (default: the host's)")
    command.add_argument("--max-pods", type=parsing.bounded(1, 100000), default=110,
                         metavar="N", help="pods each node accepts (kubelet's --max-pods)")
    command.add_argument("--restart-backoff-base", type=parsing.seconds, default=10.0,
                         metavar="SECONDS",
                         help="the kubelet's first restart and image pull back-off, "
                         "doubling up to 5 minutes (Kubernetes: 10)")
    command.add_argument("--sim-events", action=argparse.BooleanOptionalAction, default=True,
                         help="simulated kubelets record Events as real ones (Pulled, "
                         "Started, BackOff...); --no-sim-events for scale runs")


def _add_config(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    config = verbs.add_parser("config", parents=[common], help="show the kubeconfig")
    config.add_argument("action", choices=["view"])
    config.add_argument("--raw", action="store_true",
                        help="show the credentials too (certificate data, token, NATS "
                             "password), as kubectl config view --raw does")


def _add_node_kubeconfig(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    node_config = verbs.add_parser(
        "node-kubeconfig", parents=[common],
        help="write the kubeconfig of a new node's agent (on the control plane's host)")
    _node_names_flags(node_config, "the node's name (--nodes: an agent's of simulated nodes, "
                                   "one context each)")
    node_config.add_argument("--data-dir", type=Path, default=Path("~/.kubeactor"),
                             help="the control plane's data dir (it holds the cluster CA)")
    node_config.add_argument("--kubeconfig-out", type=Path, required=True, metavar="FILE",
                             help="where to write it (mode 0600)")


def cmd_up(args: argparse.Namespace) -> int:
    """``up``: the whole cluster, in this process and the children ``--processes`` asks for
    (``bindings.cluster.layout``), which this one supervises."""
    plan = layout.layout(args.processes, args.nodes, args.runtime)
    return _serve(args, _elected(args, ClusterConfig(
        data_dir=args.data_dir, nodes=0 if plan.agents else args.nodes, runtime=args.runtime,
        nats_url=args.nats, nats_ca=_nats_ca(args), nats_port=args.port,
        nats_cluster=_nats_cluster(args), store=args.store, store_replicas=args.store_replicas,
        storage=_storage(args),
        node_lifecycle=_node_lifecycle(args), autoscaler=_autoscaler(args),
        node_lease_duration_seconds=args.node_lease_duration_seconds,
        backoff_base=args.restart_backoff_base, sim_events=args.sim_events,
        node_cpu=args.node_cpu, node_memory=args.node_memory, max_pods=args.max_pods,
        scheduler=not plan.scheduler, controller_manager=not plan.controller_manager,
        https_listen=args.https_listen, ranges=_ranges(args))),
        f"{args.nodes} node(s) in {plan.processes} process(es)",
        lambda: spreading.children(args, plan, PARSERS))


def _storage(args: argparse.Namespace) -> StoreConfig:
    return StoreConfig(quota_backend_bytes=args.quota_backend_bytes)


def _node_lifecycle(args: argparse.Namespace) -> NodeLifecycleConfig:
    """The node lifecycle controller's monitor, zone and eviction rate flags."""
    return NodeLifecycleConfig(
        grace_seconds=args.node_monitor_grace_period, monitor_seconds=args.node_monitor_period,
        disruption=DisruptionConfig(
            eviction_rate=args.node_eviction_rate,
            secondary_eviction_rate=args.secondary_node_eviction_rate,
            large_cluster_size_threshold=args.large_cluster_size_threshold,
            unhealthy_zone_threshold=args.unhealthy_zone_threshold))


def cmd_server(args: argparse.Namespace) -> int:
    """``server``: store, apiserver and scheduler; kubelets join with ``agent``."""
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: expected HOST:PORT")
    if args.apiserver_only and not (args.store == "jetstream" and args.nats):
        raise UsageError("an apiserver-only process shares the store of a running cluster: "
                         "it needs --store jetstream and --nats URL")
    return _serve(args, _elected(args, ClusterConfig(
        data_dir=args.data_dir, nodes=0, nats_url=args.nats, nats_ca=_nats_ca(args),
        nats_host=host, store_replicas=args.store_replicas,
        nats_port=int(port), store=args.store, storage=_storage(args),
        apiserver_only=args.apiserver_only,
        node_lifecycle=_node_lifecycle(args), autoscaler=_autoscaler(args), tokens_file=args.tokens,
        scheduler=not args.disable_scheduler,
        controller_manager=not args.disable_controller_manager,
        https_listen=args.https_listen, ranges=_ranges(args))),
        "apiserver" if args.apiserver_only else "control plane")


def cmd_scheduler(args: argparse.Namespace) -> int:
    """``scheduler``: kube-scheduler's process, joining the cluster of its kubeconfig (the
    control plane writes ``DATA_DIR/scheduler.kubeconfig`` for it), with the default plugins
    and those of ``--plugin`` (``bindings.cli.extending``)."""
    return _join(args, f"scheduler {args.scheduler_name}", scheduler_name=args.scheduler_name,
                 profile=extending.profile(args), controller_manager=False)


def cmd_controller_manager(args: argparse.Namespace) -> int:
    """``controller-manager``: kube-controller-manager's process, joining the cluster of its
    kubeconfig (``DATA_DIR/controller-manager.kubeconfig``)."""
    return _join(args, "controller manager", scheduler=False,
                 node_lifecycle=_node_lifecycle(args), ranges=_ranges(args),
                 autoscaler=_autoscaler(args))


def _join(args: argparse.Namespace, what: str, **component: Any) -> int:
    """Run ``component`` (ClusterConfig fields) in a process of its own that joins the
    cluster of the kubeconfig with its credentials, leading through its Lease."""
    config = kubeconfig.load(
        Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser())
    return _serve(args, _elected(args, ClusterConfig(
        nodes=0, control_plane=False, nats_url=config.server, prefix=config.prefix,
        credentials=config.credentials(), bus=config.bus(), **component)), what)


def _elected(args: argparse.Namespace, config: ClusterConfig) -> ClusterConfig:
    """``config`` with the periods of the ``--leader-elect-*`` flags; ClusterError when they
    do not fit together."""
    try:
        election = LeaderElectionConfig(lease_duration=args.leader_elect_lease_duration,
                                        renew_deadline=args.leader_elect_renew_deadline,
                                        retry_period=args.leader_elect_retry_period)
    except ValueError as error:
        raise ClusterError(str(error)) from None
    return dataclasses.replace(config, leader_election=election)


def cmd_agent(args: argparse.Namespace) -> int:
    """``agent``: one kubelet, or (``--nodes``) many simulated ones, joining the cluster its
    kubeconfig names."""
    path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
    names = _node_names(args)
    if args.nodes is not None and args.runtime != "sim":
        raise UsageError("--nodes N hosts simulated nodes: give --runtime sim (a kubelet of "
                         "Docker containers is one node: --node NAME)")
    contexts = kubeconfig.load_contexts(path)
    own = next(iter(contexts.values()))
    user = node_identity(args.node)[0] if args.nodes is None else NODE_SIM
    missing = [name for name in names if name not in contexts and args.nodes is not None]
    if own.bus().user != user or missing:
        make = (f"--node {args.node}" if args.nodes is None else
                f"--nodes {args.nodes} --node-prefix {args.node_prefix} --first-node "
                f"{args.first_node}")
        why = (f"it has no context of node {missing[0]}" if missing else
               f"its NATS identity is {own.bus().user or 'nobody'!r}, not {user!r}")
        whose = (f"node {args.node}'s" if args.nodes is None else
                 f"that of simulated nodes {names[0]} ... {names[-1]}")
        raise UsageError(
            f"kubeconfig {path} is not {whose} ({why}): make one on the control plane's host "
            f"with `kubeactor node-kubeconfig {make} --data-dir DIR --kubeconfig-out FILE`")
    return _serve(args, ClusterConfig(
        data_dir=args.data_dir or Path(f"~/.kubeactor/agent-{names[0]}"), node_names=names,
        control_plane=False, scheduler=False, controller_manager=False,
        runtime=args.runtime, nats_url=args.nats or own.server, prefix=own.prefix,
        credentials=own.credentials(), bus=own.bus(), node_credentials={
            contexts[name].user: contexts[name].credentials()
            for name in names if args.nodes is not None},
        node_lease_duration_seconds=args.node_lease_duration_seconds,
        backoff_base=args.restart_backoff_base, sim_events=args.sim_events,
        node_cpu=args.node_cpu, node_memory=args.node_memory, max_pods=args.max_pods),
        f"node {args.node}" if args.nodes is None else f"{len(names)} simulated node(s)")


def _serve(args: argparse.Namespace, config: ClusterConfig, what: str,
           children: Callable[[], list[Child]] = list) -> int:
    """Start (with the metrics and audit flags of ``args``), then the ``children`` processes,
    say ``ready``, run until SIGINT or SIGTERM, stop everything; exit 0."""
    config = _observed(args, config)
    stop = stop_on_signals()
    cluster = Cluster.start(config, progress=lambda step: print(
        f"starting {step}...", file=sys.stderr, flush=True))
    supervisor = Supervisor()
    try:
        supervisor.start(children())
        where = (f", kubeconfig at {cluster.kubeconfig_path}" if config.control_plane else "")
        if cluster.https is not None:
            where += f", Kubernetes API at {cluster.https.url}"
        if cluster.metrics is not None:
            where += f", metrics at {cluster.metrics.url}"
        print(f"kubeactor is ready: {what}, NATS at {cluster.url}{where}", flush=True)
        if config.control_plane:
            print(f"  try: kubeactor --kubeconfig {cluster.kubeconfig_path} get nodes",
                  flush=True)
        stop.wait()
    finally:
        supervisor.stop()
        cluster.stop()
    print("kubeactor stopped", flush=True)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """``config view``: the kubeconfig in use, credentials redacted as kubectl does unless
    ``--raw`` (what a tracer of the bus needs: NATS URL, subject prefix, NATS user and
    password)."""
    path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
    config = kubeconfig.load(path)
    print(kubeconfig.render(config, redact=not args.raw), end="")
    return 0


def cmd_node_kubeconfig(args: argparse.Namespace) -> int:
    """``node-kubeconfig``: a node's own identity and certificate (its NATS identity too),
    for its agent. A name no Node may have is refused before anything is written."""
    names = _node_names(args)
    for name in names:
        try:
            validate(lookup("", "nodes"), {"kind": "Node", "metadata": {"name": name}})
        except Invalid as error:
            raise UsageError(error.message) from None
    out = args.kubeconfig_out.expanduser()
    if args.nodes is None:
        kubeconfig.write(out, node_kubeconfig(args.data_dir, args.node))
        print(f"kubeconfig of node {args.node} written to {args.kubeconfig_out}; start it "
              f"with: kubeactor agent --node {args.node} --kubeconfig {args.kubeconfig_out}")
        return 0
    kubeconfig.write_contexts(out, sim_kubeconfig(args.data_dir, names))
    print(f"kubeconfig of simulated nodes {names[0]} ... {names[-1]} written to "
          f"{args.kubeconfig_out}; start them with: kubeactor agent --runtime sim --nodes "
          f"{args.nodes} --node-prefix {args.node_prefix} --first-node {args.first_node} "
          f"--kubeconfig {args.kubeconfig_out}")
    return 0


PARSERS: dict[str, parsing.Builder] = {
    "up": _add_up, "server": _add_server, "scheduler": _add_scheduler,
    "controller-manager": _add_controller_manager, "agent": _add_agent, "config": _add_config,
    "node-kubeconfig": _add_node_kubeconfig}
"""Each verb's parser-builder (``bindings.cli.main`` calls them in the order of its help)."""
COMMANDS = {
    "up": cmd_up, "server": cmd_server, "scheduler": cmd_scheduler,
    "controller-manager": cmd_controller_manager, "agent": cmd_agent, "config": cmd_config,
    "node-kubeconfig": cmd_node_kubeconfig}
"""Each verb's command: they run components here, or read and write files, without a
session."""
