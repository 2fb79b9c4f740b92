"""The flags the daemon verbs share (``--leader-elect-*``, ``--metrics-listen``, the store's,
the kubelet's...), one function per set that adds them to a verb's parser, and the functions
that read them back into the components' configs (``LeaderElectionConfig``, ``Ranges``...).
Defaults are read from the components' config dataclasses, never restated here.

Neighbours: ``bindings.cli.daemons`` (the verbs that take them), ``bindings.cli.parsing``
(the flag types), ``bindings.cluster`` (``ClusterConfig``, what they fill).

Which thread: the main thread.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from actors.api import addresses, certs
from actors.client.leaderelection import LeaderElectionConfig
from actors.controllers.disruption import DisruptionConfig
from actors.controllers.nodelifecycle import NodeLifecycleConfig
from actors.controllers.podautoscaler import AutoscalerConfig
from actors.store import StoreConfig
from bindings import https
from bindings.cli import parsing
from bindings.cluster import ClusterConfig, ClusterError, audit
from bindings.cluster.identities import sim_node_names
from bus.errors import UsageError


def nats_ca_flag(command: argparse.ArgumentParser) -> None:
    """--nats-ca (up, server)."""
    command.add_argument("--nats-ca", metavar="FILE", type=Path,
                         help="the CA (PEM) that signs the certificates of --nats's tls:// "
                              "servers (default: the system's CAs)")


def nats_ca(args: argparse.Namespace) -> bytes | None:
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


def nats_cluster(args: argparse.Namespace) -> int:
    """``--nats-cluster``, which starts embedded servers: not with a NATS of one's own."""
    if args.nats_cluster > 1 and args.nats:
        raise UsageError("--nats-cluster starts nats-servers here; --nats URL uses yours: "
                         "give one or the other")
    return int(args.nats_cluster)


def node_names_flags(command: argparse.ArgumentParser, node_help: str) -> None:
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


def node_names(args: argparse.Namespace) -> tuple[str, ...]:
    """The node names of ``node_names_flags``."""
    if args.nodes is None:
        return (args.node,)
    return sim_node_names(args.nodes, args.node_prefix, args.first_node)


def store_flags(command: argparse.ArgumentParser) -> None:
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


def audit_flags(command: argparse.ArgumentParser) -> None:
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


def metrics_flags(command: argparse.ArgumentParser) -> None:
    """--metrics-listen (every process)."""
    command.add_argument("--metrics-listen", metavar="HOST:PORT",
                         help="also serve /metrics over plain HTTP here, unauthenticated (keep "
                              "it on loopback; the HTTPS port serves it under RBAC)")


def observed(args: argparse.Namespace, config: ClusterConfig) -> ClusterConfig:
    """``config`` with the metrics and audit flags its command has."""
    flags = vars(args)
    audit_flags = {} if "audit_policy_file" not in flags else dict(
        audit_policy_file=args.audit_policy_file,
        audit_log_max_bytes=args.audit_log_maxsize << 20,
        audit_log_max_backups=args.audit_log_maxbackup)
    return dataclasses.replace(config, metrics_listen=args.metrics_listen, **audit_flags)


def https_flags(command: argparse.ArgumentParser) -> None:
    """--https-listen (up, server)."""
    command.add_argument("--https-listen", metavar="HOST:PORT", default=https.DEFAULT_LISTEN,
                         help="where Kubernetes' HTTPS API is served, for kubectl and other "
                              "Kubernetes clients (port 0: a free one)")


def monitor_flags(command: argparse.ArgumentParser) -> None:
    """--node-monitor-* (up, server, controller-manager), defaults from
    ``NodeLifecycleConfig``."""
    defaults = NodeLifecycleConfig()
    command.add_argument("--node-monitor-grace-period", type=parsing.bounded(1, 86400),
                         default=defaults.grace_seconds, metavar="SECONDS",
                         help="a node whose lease goes unrenewed this long is Unknown")
    command.add_argument("--node-monitor-period", type=parsing.bounded(1, 3600),
                         default=defaults.monitor_seconds, metavar="SECONDS",
                         help="how often nodes are checked")


def autoscaler_flags(command: argparse.ArgumentParser) -> None:
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


def autoscaler(args: argparse.Namespace) -> AutoscalerConfig:
    return AutoscalerConfig(
        sync_seconds=args.horizontal_pod_autoscaler_sync_period,
        downscale_stabilization_seconds=args.horizontal_pod_autoscaler_downscale_stabilization)


def leader_flags(command: argparse.ArgumentParser) -> None:
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


def eviction_flags(command: argparse.ArgumentParser) -> None:
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


def range_flags(command: argparse.ArgumentParser) -> None:
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


def ranges(args: argparse.Namespace) -> addresses.Ranges:
    try:
        return addresses.Ranges(args.cluster_cidr, args.node_cidr_mask_size,
                                args.service_cluster_ip_range, args.service_node_port_range)
    except ValueError as error:
        raise UsageError(str(error)) from None


def node_flags(command: argparse.ArgumentParser) -> None:
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


def storage(args: argparse.Namespace) -> StoreConfig:
    return StoreConfig(quota_backend_bytes=args.quota_backend_bytes)


def node_lifecycle(args: argparse.Namespace) -> NodeLifecycleConfig:
    """The node lifecycle controller's monitor, zone and eviction rate flags."""
    return NodeLifecycleConfig(
        grace_seconds=args.node_monitor_grace_period, monitor_seconds=args.node_monitor_period,
        disruption=DisruptionConfig(
            eviction_rate=args.node_eviction_rate,
            secondary_eviction_rate=args.secondary_node_eviction_rate,
            large_cluster_size_threshold=args.large_cluster_size_threshold,
            unhealthy_zone_threshold=args.unhealthy_zone_threshold))


def elected(args: argparse.Namespace, config: ClusterConfig) -> ClusterConfig:
    """``config`` with the periods of the ``--leader-elect-*`` flags; ClusterError when they
    do not fit together."""
    try:
        election = LeaderElectionConfig(lease_duration=args.leader_elect_lease_duration,
                                        renew_deadline=args.leader_elect_renew_deadline,
                                        retry_period=args.leader_elect_retry_period)
    except ValueError as error:
        raise ClusterError(str(error)) from None
    return dataclasses.replace(config, leader_election=election)
