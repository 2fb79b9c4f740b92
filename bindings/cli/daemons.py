"""``kubeactor up``, ``server``, ``scheduler``, ``controller-manager``, ``agent``: the verbs
that run components in this process, until SIGINT or SIGTERM; and ``config view`` and
``node-kubeconfig``, which read or write kubeconfigs on this host without a session.

Each verb's parser is built here (the flags the daemons share, ``--leader-elect-*`` and the
like, come from ``bindings.cli.flags``, one function per set); each command turns its flags
into a ``ClusterConfig`` and serves it.

Neighbours: ``bindings.cluster`` (``Cluster`` starts what the config asks for; the
identities of nodes), ``bindings.kubeconfig`` (the files), ``bindings.cli.parsing`` (the flag
types), ``bindings.cli.flags`` (the shared flags), ``bindings.cli.main`` (puts these verbs in
its tables and dispatches to them).

Which thread: the main thread; ``_serve`` blocks it until a signal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actors.api.pods import DEFAULT_SCHEDULER
from actors.api.resources import lookup
from actors.api.validation import validate
from actors.scheduler.shadowing import ShadowConfig
from bindings import kubeconfig
from bindings.cli import extending, flags, parsing, spreading
from bindings.cli.session import stop_on_signals
from bindings.cluster import Cluster, ClusterConfig, collector, layout
from bindings.cluster.identities import (
    node_identity,
    node_kubeconfig,
    sim_kubeconfig,
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
    up.add_argument("--apiservers", type=parsing.bounded(1, 8), default=1, metavar="N",
                    help="apiserver processes sharing the store (from 2: --store jetstream; "
                         "the others are `server --apiserver-only` children of this one, the "
                         "requests spread between all by NATS queue groups)")
    up.add_argument("--nats-cluster", type=parsing.bounded(1, 9), default=1, metavar="N",
                    help="start N nats-servers routed as one NATS cluster (3: the bus and a "
                         "--store jetstream survive losing one)")
    for add in (flags.nats_ca_flag, flags.store_flags, flags.https_flags, flags.monitor_flags,
                flags.leader_flags, flags.eviction_flags, flags.autoscaler_flags,
                flags.node_flags, flags.range_flags, flags.audit_flags, flags.metrics_flags):
        add(up)


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
    for add in (flags.nats_ca_flag, flags.store_flags, flags.https_flags, flags.monitor_flags,
                flags.leader_flags, flags.eviction_flags, flags.range_flags,
                flags.autoscaler_flags, flags.audit_flags, flags.metrics_flags):
        add(server)


def _add_scheduler(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    scheduler = verbs.add_parser(
        "scheduler", parents=[common],
        help="run a scheduler that joins the cluster of --kubeconfig (kube-scheduler)")
    scheduler.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER,
                           help="schedule the pods whose spec.schedulerName is this; its Lease "
                                "is kube-scheduler for the default, else this name")
    extending.scheduler_flags(scheduler)
    scheduler.add_argument("--shadow", action="store_true",
                           help="run the profile as a shadow of the --scheduler-name scheduler: "
                                "it binds nothing and takes no Lease, and reports where its "
                                "choices differ (Events; `kubeactor shadow report`)")
    scheduler.add_argument("--shadow-name", default=ShadowConfig.name, metavar="NAME",
                           help="the shadow's name, the source of its Events")
    flags.leader_flags(scheduler)
    flags.metrics_flags(scheduler)


def _add_controller_manager(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    controller_manager = verbs.add_parser(
        "controller-manager", parents=[common],
        help="run the controllers, joining the cluster of --kubeconfig "
             "(kube-controller-manager)")
    for add in (flags.monitor_flags, flags.leader_flags, flags.eviction_flags, flags.range_flags,
                flags.autoscaler_flags, flags.metrics_flags):
        add(controller_manager)


def _add_agent(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    agent = verbs.add_parser("agent", parents=[common],
                             help="run one kubelet (or, with --runtime sim --nodes N, the "
                                  "kubelets of N simulated nodes) that joins the cluster of "
                                  "--kubeconfig")
    flags.node_names_flags(agent, "the node's name")
    agent.add_argument("--runtime", choices=["docker", "sim"], default="docker")
    agent.add_argument("--nats", metavar="URL",
                       help="this NATS instead of the kubeconfig's (a server of the same "
                            "NATS cluster, e.g. the one on this machine)")
    agent.add_argument("--data-dir", type=Path, default=None,
                       help="the agent's own state (default ~/.kubeactor/agent-NODE, NODE "
                            "its first node)")
    flags.node_flags(agent)
    flags.metrics_flags(agent)


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
    flags.node_names_flags(node_config, "the node's name (--nodes: an agent's of simulated nodes, "
                                   "one context each)")
    node_config.add_argument("--data-dir", type=Path, default=Path("~/.kubeactor"),
                             help="the control plane's data dir (it holds the cluster CA)")
    node_config.add_argument("--kubeconfig-out", type=Path, required=True, metavar="FILE",
                             help="where to write it (mode 0600)")


def cmd_up(args: argparse.Namespace) -> int:
    """``up``: the whole cluster, in this process and the children ``--processes`` asks for
    (``bindings.cluster.layout``), which this one supervises."""
    if args.apiservers > 1 and args.store != "jetstream":
        raise UsageError("several apiserver processes share a JetStream store: give --store "
                         "jetstream with --apiservers (the SQLite file has one owner)")
    plan = layout.layout(args.processes, args.nodes, args.runtime, args.apiservers)
    return _serve(args, flags.elected(args, ClusterConfig(
        data_dir=args.data_dir, nodes=0 if plan.agents else args.nodes, runtime=args.runtime,
        nats_url=args.nats, nats_ca=flags.nats_ca(args), nats_port=args.port,
        nats_cluster=flags.nats_cluster(args), store=args.store, store_replicas=args.store_replicas,
        storage=flags.storage(args),
        node_lifecycle=flags.node_lifecycle(args), autoscaler=flags.autoscaler(args),
        node_lease_duration_seconds=args.node_lease_duration_seconds,
        backoff_base=args.restart_backoff_base, sim_events=args.sim_events,
        node_cpu=args.node_cpu, node_memory=args.node_memory, max_pods=args.max_pods,
        scheduler=not plan.scheduler, controller_manager=not plan.controller_manager,
        https_listen=args.https_listen, ranges=flags.ranges(args))),
        f"{args.nodes} node(s) in {plan.processes} process(es)",
        lambda cluster: spreading.children(args, plan, PARSERS, cluster.url))


def cmd_server(args: argparse.Namespace) -> int:
    """``server``: store, apiserver and scheduler; kubelets join with ``agent``."""
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: expected HOST:PORT")
    if args.apiserver_only and not (args.store == "jetstream" and args.nats):
        raise UsageError("an apiserver-only process shares the store of a running cluster: "
                         "it needs --store jetstream and --nats URL")
    return _serve(args, flags.elected(args, ClusterConfig(
        data_dir=args.data_dir, nodes=0, nats_url=args.nats, nats_ca=flags.nats_ca(args),
        nats_host=host, store_replicas=args.store_replicas,
        nats_port=int(port), store=args.store, storage=flags.storage(args),
        apiserver_only=args.apiserver_only,
        node_lifecycle=flags.node_lifecycle(args), autoscaler=flags.autoscaler(args),
        tokens_file=args.tokens,
        scheduler=not args.disable_scheduler,
        controller_manager=not args.disable_controller_manager,
        https_listen=args.https_listen, ranges=flags.ranges(args))),
        "apiserver" if args.apiserver_only else "control plane")


def cmd_scheduler(args: argparse.Namespace) -> int:
    """``scheduler``: kube-scheduler's process, joining the cluster of its kubeconfig (the
    control plane writes ``DATA_DIR/scheduler.kubeconfig`` for it), with the default plugins
    and those of ``--plugin`` (``bindings.cli.extending``); with ``--shadow``, a shadow
    scheduler (``actors.scheduler.shadowing``) of that profile instead."""
    if args.shadow:
        try:
            shadow = ShadowConfig(extending.profile(args), args.shadow_name, args.scheduler_name)
        except ValueError as refused:
            raise UsageError(str(refused)) from None
        return _join(args, f"shadow scheduler {args.shadow_name} of {args.scheduler_name}",
                     scheduler=False, controller_manager=False, shadow=shadow)
    return _join(args, f"scheduler {args.scheduler_name}", scheduler_name=args.scheduler_name,
                 profile=extending.profile(args), controller_manager=False)


def cmd_controller_manager(args: argparse.Namespace) -> int:
    """``controller-manager``: kube-controller-manager's process, joining the cluster of its
    kubeconfig (``DATA_DIR/controller-manager.kubeconfig``)."""
    return _join(args, "controller manager", scheduler=False,
                 node_lifecycle=flags.node_lifecycle(args), ranges=flags.ranges(args),
                 autoscaler=flags.autoscaler(args))


def _join(args: argparse.Namespace, what: str, **component: Any) -> int:
    """Run ``component`` (ClusterConfig fields) in a process of its own that joins the
    cluster of the kubeconfig with its credentials, leading through its Lease."""
    config = kubeconfig.load(
        Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser())
    return _serve(args, flags.elected(args, ClusterConfig(
        nodes=0, control_plane=False, nats_url=config.server, prefix=config.prefix,
        credentials=config.credentials(), bus=config.bus(), **component)), what)


def cmd_agent(args: argparse.Namespace) -> int:
    """``agent``: one kubelet, or (``--nodes``) many simulated ones, joining the cluster its
    kubeconfig names."""
    path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
    names = flags.node_names(args)
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
           children: Callable[[Cluster], list[Child]] = lambda cluster: []) -> int:
    """Start (with the metrics and audit flags of ``args``), then the ``children`` processes,
    say ``ready``, run until SIGINT or SIGTERM, stop everything; exit 0 (130 or 143, as the
    CLI's other commands, for a signal before the children were all ready)."""
    config = flags.observed(args, config)
    collector.tune()  # a daemon's heap grows with the cluster: see bindings.cluster.collector
    stop = stop_on_signals()
    cluster = Cluster.start(config, progress=lambda step: print(
        f"starting {step}...", file=sys.stderr, flush=True))
    supervisor = Supervisor()
    try:
        if not supervisor.start(children(cluster), stopped=stop.is_set):
            return 128 + stop.signum
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
    names = flags.node_names(args)
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
