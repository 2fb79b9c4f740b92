"""The ``kubeactor`` command: ``up`` to run a cluster, kubectl's verbs to use it.

Client commands read a kubeconfig (``--kubeconfig``, else ``$KUBEACTOR_CONFIG``, else
``~/.kubeactor/kubeconfig``) and take ``-n/--namespace``; both may stand before or after the
verb, as with kubectl. Errors go to stderr in kubectl's words, with exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from cryptography import x509

from actors.api import certificates, certs
from actors.api.meta import controller_ref
from actors.api.pods import DEFAULT_SCHEDULER
from actors.api.quantity import parse_memory
from actors.api.resources import RESOURCES, ResourceInfo, in_category, lookup, resolve
from actors.api.users import UserInfo
from actors.api.validation import validate
from actors.apiserver import rbac
from actors.client.client import Client, LogStream, WatchEvent
from actors.controllers.deployment import without_hash
from actors.controllers.disruption import DisruptionConfig
from actors.store import StoreConfig
from bindings import kubeconfig
from bindings.cli import manifests, printers, rollout, tracing
from bindings.cluster.launcher import Cluster, ClusterConfig, node_identity, node_kubeconfig
from bus import Connection
from bus.errors import (
    ApiError,
    BadRequest,
    BusError,
    Conflict,
    Invalid,
    KubeactorError,
    NotFound,
    Unauthorized,
    UsageError,
    translated,
)

Object = dict[str, Any]


# -- parsing ------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An argument parser that, like kubectl, takes flags only whole (``--verb`` is an unknown
    flag, not ``--verbose``) and anywhere between the words of a command (``get leases -n
    kube-system kube-scheduler``). Its subcommands' parsers are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self._intermixing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """A command's own parser (one without subcommands) takes its words intermixed with
        its flags; argparse's intermixed parsing calls back here, hence the guard."""
        if self._subparsers is not None or self._intermixing:
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def _common() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--kubeconfig", default=argparse.SUPPRESS,
                        help="kubeconfig file (default $KUBEACTOR_CONFIG, ~/.kubeactor/kubeconfig)")
    common.add_argument("-n", "--namespace", default=argparse.SUPPRESS,
                        help="namespace of the request (default: the context's, else default)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log what the components do")
    return common


def parser() -> argparse.ArgumentParser:
    common = _common()
    top = _Parser(prog="kubeactor", parents=[common],
                  description="A Kubernetes-style control plane on Pykka and NATS")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    up = verbs.add_parser("up", parents=[common], help="run a whole cluster in the foreground")
    up.add_argument("--data-dir", type=Path, default=Path("~/.kubeactor"))
    up.add_argument("--nodes", type=_bounded(0, 1000), default=1)
    up.add_argument("--runtime", choices=["docker", "sim"], default="docker")
    up.add_argument("--nats", metavar="URL", help="use this NATS instead of an embedded one")
    up.add_argument("--port", type=_bounded(0, 65535), default=0,
                    help="embedded nats-server port (0: a free one)")

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

    scheduler = verbs.add_parser(
        "scheduler", parents=[common],
        help="run a scheduler that joins the cluster of --kubeconfig (kube-scheduler)")
    scheduler.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER,
                           help="schedule the pods whose spec.schedulerName is this; its Lease "
                                "is kube-scheduler for the default, else this name")
    controller_manager = verbs.add_parser(
        "controller-manager", parents=[common],
        help="run the controllers, joining the cluster of --kubeconfig "
             "(kube-controller-manager)")

    agent = verbs.add_parser("agent", parents=[common],
                             help="run one kubelet that joins the cluster of --kubeconfig")
    agent.add_argument("--node", required=True, help="the node's name")
    agent.add_argument("--runtime", choices=["docker", "sim"], default="docker")
    agent.add_argument("--nats", metavar="URL",
                       help="this NATS instead of the kubeconfig's (a server of the same "
                            "NATS cluster, e.g. the one on this machine)")
    agent.add_argument("--data-dir", type=Path, default=None,
                       help="the agent's own state (default ~/.kubeactor/agent-NODE)")
    for parser_ in (up, server):
        parser_.add_argument("--store", choices=["sqlite", "jetstream"], default="sqlite",
                             help="the store: SQLite in the data dir, or JetStream KV on the NATS")
        parser_.add_argument("--quota-backend-bytes", type=_bounded(-1, 2**63 - 1),
                             default=StoreConfig().quota_backend_bytes, metavar="BYTES",
                             help="bytes the store may hold before writes that grow it are "
                                  "refused (etcd's; 0: its default of 2 GiB, -1: no limit)")
    for parser_ in (up, server, controller_manager):
        parser_.add_argument("--node-monitor-grace-period", type=_bounded(1, 86400), default=40,
                             metavar="SECONDS",
                             help="a node whose lease goes unrenewed this long is Unknown")
        parser_.add_argument("--node-monitor-period", type=_bounded(1, 3600), default=5,
                             metavar="SECONDS", help="how often nodes are checked")
    for parser_ in (up, server, scheduler, controller_manager):
        parser_.add_argument("--leader-elect-lease-duration", type=_duration, default=15.0,
                             metavar="DURATION", help="how long standby schedulers and "
                             "controller managers wait after the leader's last renewal")
        parser_.add_argument("--leader-elect-renew-deadline", type=_duration, default=10.0,
                             metavar="DURATION",
                             help="how long a leader tries to renew before it stops leading")
        parser_.add_argument("--leader-elect-retry-period", type=_duration, default=2.0,
                             metavar="DURATION", help="time between attempts to lead or renew")
    for parser_ in (up, server, controller_manager):  # kube-controller-manager's, with its defaults
        parser_.add_argument("--node-eviction-rate", type=_real(0, 1e6), default=0.1,
                             metavar="RATE", help="nodes per second whose pods are evicted "
                             "when a zone is healthy (the NoExecute taint)")
        parser_.add_argument("--secondary-node-eviction-rate", type=_real(0, 1e6),
                             default=0.01, metavar="RATE", help="the same when a zone is "
                             "unhealthy; 0 unless the zone is larger than "
                             "--large-cluster-size-threshold")
        parser_.add_argument("--large-cluster-size-threshold", type=_bounded(0, 2**31 - 1),
                             default=50, metavar="NODES",
                             help="nodes from which a zone is large (eviction rates)")
        parser_.add_argument("--unhealthy-zone-threshold", type=_real(0, 1), default=0.55,
                             metavar="FRACTION", help="fraction of a zone's nodes (at least "
                             "3) not Ready from which the zone is unhealthy")
    for parser_ in (up, agent):
        parser_.add_argument("--node-lease-duration-seconds", type=_bounded(4, 3600),
                             default=40, metavar="SECONDS",
                             help="the node lease's duration; renewed every 10 s (or a "
                             "quarter of it)")
        parser_.add_argument("--node-cpu", type=_quantity, metavar="QUANTITY",
                             help="CPU each node offers to pods (default: the host's)")
        parser_.add_argument("--node-memory", type=_quantity, metavar="QUANTITY",
                             help="memory each node offers to pods (default: the host's)")
        parser_.add_argument("--max-pods", type=_bounded(1, 100000), default=110,
                             metavar="N", help="pods each node accepts (kubelet's --max-pods)")
        parser_.add_argument("--restart-backoff-base", type=_seconds, default=10.0,
                             metavar="SECONDS",
                             help="the kubelet's first restart and image pull back-off, "
                             "doubling up to 5 minutes (Kubernetes: 10)")

    run = verbs.add_parser("run", parents=[common], help="create a pod running one container")
    run.add_argument("name")
    run.add_argument("--image", required=True)
    run.add_argument("--restart", choices=["Always", "OnFailure", "Never"], default="Always")
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("-l", "--labels", default="", help="comma-separated KEY=VALUE labels")
    run.add_argument("--command", action="store_true",
                     help="the words after -- are the command, not the arguments")
    run.add_argument("--image-pull-policy", choices=["Always", "IfNotPresent", "Never"])

    get = verbs.add_parser("get", parents=[common], help="show resources")
    get.add_argument("resource")
    get.add_argument("names", nargs="*")
    get.add_argument("-o", "--output", metavar="FORMAT",
                     help=f"one of {printers.FORMATS} (jsonpath=TEMPLATE, custom-columns=SPEC)")
    get.add_argument("-l", "--selector")
    get.add_argument("--field-selector")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("--show-labels", action="store_true")
    get.add_argument("-w", "--watch", action="store_true",
                     help="after listing, print each change until Ctrl-C")

    for verb, text in (("create", "create objects from manifests"),
                       ("apply", "create or update objects from manifests")):
        manifests = verbs.add_parser(verb, parents=[common], help=text)
        manifests.add_argument("-f", "--filename", action="append", required=True,
                               metavar="FILE", help="a file, a directory, or - for stdin")

    describe = verbs.add_parser(
        "describe", parents=[common],
        help="show details of pods, nodes, replicasets or deployments, with their events")
    describe.add_argument("resource")
    describe.add_argument("names", nargs="*")

    logs = verbs.add_parser("logs", parents=[common], help="print a container's logs")
    logs.add_argument("pod")
    logs.add_argument("-c", "--container")
    logs.add_argument("--tail", type=int, default=-1, help="lines from the end (-1: all)")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="print new lines as the container writes them, until it stops")

    exec_ = verbs.add_parser("exec", parents=[common],
                             help="run a command in a container: exec POD [-c C] -- CMD ARGS...")
    exec_.add_argument("pod")
    exec_.add_argument("-c", "--container")

    verbs.add_parser("api-resources", parents=[common], help="list the resource types")
    auth = verbs.add_parser("auth", parents=[common], help="inspect authorization")
    actions = auth.add_subparsers(dest="auth_action", required=True, metavar="ACTION")
    can_i = actions.add_parser("can-i", parents=[common],
                               help="may I (or --as USER) do VERB on RESOURCE? yes/no, exit 0/1")
    who_can = actions.add_parser("who-can", parents=[common],
                                 help="the subjects, and the bindings, allowed VERB on RESOURCE")
    for action in (can_i, who_can):
        action.add_argument("auth_verb", metavar="VERB")
        action.add_argument("resource", metavar="RESOURCE", help="TYPE or TYPE/SUBRESOURCE")
        action.add_argument("name", nargs="?", metavar="NAME")
    can_i.add_argument("-A", "--all-namespaces", action="store_true")
    can_i.add_argument("--as", dest="as_user", metavar="USER", help="ask for this user")
    can_i.add_argument("--as-group", action="append", default=[], metavar="GROUP",
                       help="with --as: in this group (repeatable)")
    config = verbs.add_parser("config", parents=[common], help="show the kubeconfig")
    config.add_argument("action", choices=["view"])

    trace = verbs.add_parser("trace", parents=[common],
                             help="print the control plane's messages live, or replay a capture",
                             usage="kubeactor trace [replay FILE] [--object KIND/NAME] "
                                   "[--trace-id ID] [--mermaid FILE] [--record FILE]")
    trace.add_argument("replay", nargs="*", help=argparse.SUPPRESS)
    trace.add_argument("--object", metavar="KIND/NAME", help="only messages about this object")
    trace.add_argument("--trace-id", help="only messages of this trace")
    trace.add_argument("--mermaid", metavar="FILE", type=Path,
                       help="write a Mermaid sequenceDiagram of what was seen")
    trace.add_argument("--record", metavar="FILE", type=Path,
                       help="keep the capture (credentials removed) for `trace replay`")
    trace.add_argument("--timeout", type=float, help="stop after this many seconds")

    delete = verbs.add_parser("delete", parents=[common],
                              help="delete resources by name, label selector or manifest")
    delete.add_argument("resource", nargs="?")
    delete.add_argument("names", nargs="*")
    delete.add_argument("-l", "--selector", help="delete what matches these labels")
    delete.add_argument("-f", "--filename", action="append", metavar="FILE",
                        help="delete the objects of these manifests")
    delete.add_argument("--grace-period", type=int, default=None)
    delete.add_argument("--wait", type=_bool, default=True, metavar="true|false")
    delete.add_argument("--timeout", type=float, default=120.0, help="seconds --wait may take")
    delete.add_argument("--cascade", default="background", type=_cascade,
                        metavar="background|foreground|orphan",
                        help="what happens to the objects it owns (default background)")

    scale = verbs.add_parser("scale", parents=[common],
                             help="set the replicas of deployments or replicasets")
    scale.add_argument("resource")
    scale.add_argument("names", nargs="*")
    scale.add_argument("--replicas", type=_bounded(0, 1_000_000), required=True)

    rollout = verbs.add_parser("rollout", parents=[common],
                               help="follow, list, undo, pause or resume a rollout")
    rollout.add_argument("action", choices=["status", "history", "undo", "pause", "resume"])
    rollout.add_argument("resource")
    rollout.add_argument("names", nargs="*")
    rollout.add_argument("--timeout", type=_duration, default=0.0,
                         help="status: give up after this long (30s, 5m; 0: wait for ever)")
    rollout.add_argument("--revision", type=_bounded(0, 2**31), default=0,
                         help="history: the pod template of this revision")
    rollout.add_argument("--to-revision", type=_bounded(0, 2**31), default=0,
                         help="undo: back to this revision (0: the previous one)")

    certs_ = verbs.add_parser("certs", parents=[common], help="issue user certificates")
    certs_actions = certs_.add_subparsers(dest="certs_action", required=True, metavar="ACTION")
    issue = certs_actions.add_parser(
        "issue", parents=[common],
        help="a key made here, a certificate signed through a CertificateSigningRequest, and a "
             "kubeconfig that uses them")
    issue.add_argument("--user", required=True, help="the user the certificate names (CN)")
    issue.add_argument("--group", action="append", default=[], metavar="GROUP",
                       help="a group the certificate names (O; repeatable)")
    issue.add_argument("--kubeconfig-out", required=True, type=Path, metavar="FILE",
                       help="where to write the new user's kubeconfig (mode 0600)")
    certificate = verbs.add_parser("certificate", parents=[common],
                                   help="approve or deny certificate signing requests")
    certificate.add_argument("decision", choices=["approve", "deny"])
    certificate.add_argument("names", nargs="+", metavar="NAME")
    node_config = verbs.add_parser(
        "node-kubeconfig", parents=[common],
        help="write the kubeconfig of a new node's agent (on the control plane's host)")
    node_config.add_argument("--node", required=True, help="the node's name")
    node_config.add_argument("--data-dir", type=Path, default=Path("~/.kubeactor"),
                             help="the control plane's data dir (it holds the cluster CA)")
    node_config.add_argument("--kubeconfig-out", type=Path, required=True, metavar="FILE",
                             help="where to write it (mode 0600)")
    return top


def _seconds(value: str) -> float:
    """A positive number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 < seconds < 86400:
        raise argparse.ArgumentTypeError("must be more than 0 and less than a day")
    return seconds


def _quantity(value: str) -> str:
    """A Kubernetes quantity (``4``, ``500m``, ``8Gi``), checked."""
    try:
        parse_memory(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


_N = TypeVar("_N", int, float)


def _real(low: float, high: float) -> Callable[[str], float]:
    return _ranged(float, "a number", low, high)


def _disruption(args: argparse.Namespace) -> DisruptionConfig:
    """The node lifecycle controller's zone and eviction rate flags."""
    return DisruptionConfig(
        eviction_rate=args.node_eviction_rate,
        secondary_eviction_rate=args.secondary_node_eviction_rate,
        large_cluster_size_threshold=args.large_cluster_size_threshold,
        unhealthy_zone_threshold=args.unhealthy_zone_threshold)


def _bounded(low: int, high: int) -> Callable[[str], int]:
    return _ranged(int, "a whole number", low, high)


def _ranged(kind: Callable[[str], _N], what: str, low: _N, high: _N) -> Callable[[str], _N]:
    """An argparse type: ``kind`` of the flag's value, between ``low`` and ``high``."""
    def parse(value: str) -> _N:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None
        if not low <= number <= high:  # NaN fails too
            low_, high_ = (f"{bound}" if isinstance(bound, int) else f"{bound:g}"
                           for bound in (low, high))
            raise argparse.ArgumentTypeError(f"must be between {low_} and {high_}")
        return number

    return parse


CASCADES = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
            "true": "Background", "false": "Orphan"}
"""kubectl's --cascade values (true and false are its deprecated spellings) -> the delete's
propagationPolicy."""


def _cascade(value: str) -> str:
    if value.lower() not in CASCADES:
        raise argparse.ArgumentTypeError(
            f'invalid cascade value ({value}). Must be "background", "foreground", or "orphan"')
    return value.lower()


def _duration(value: str) -> float:
    """kubectl's durations: ``90s``, ``5m``, ``1h``, ``1m30s``, or plain seconds."""
    if value.replace(".", "", 1).isdigit():
        return float(value)
    total, number = 0.0, ""
    for char in value:
        if char.isdigit() or char == ".":
            number += char
        elif char in "hms" and number:
            total += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
        else:
            raise argparse.ArgumentTypeError(f"invalid duration {value!r} (e.g. 30s, 5m)")
    if number:
        raise argparse.ArgumentTypeError(f"invalid duration {value!r}: missing unit")
    return total


def _bool(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError("must be true or false")
    return value.lower() == "true"


def _split_dash_dash(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    argv = list(argv)
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1:]
    return argv, []


# -- client commands ----------------------------------------------------------------------------


class Session:
    """A connection and client built from the kubeconfig, closed at the end of a command."""

    def __init__(self, args: argparse.Namespace, name: str = "cli") -> None:
        path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
        self.config = kubeconfig.load(path)
        self.namespace = getattr(args, "namespace", None) or self.config.namespace
        self.connection = Connection(self.config.bus(), name).connect()
        self.client = Client(self.connection, self.config.credentials())

    def close(self) -> None:
        self.connection.close()


def cmd_run(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    container: Object = {"name": args.name, "image": args.image}
    if words:
        container["command" if args.command else "args"] = words
    if args.env:
        container["env"] = [{"name": key, "value": value}
                            for key, value in _pairs(args.env, "--env")]
    if args.image_pull_policy:
        container["imagePullPolicy"] = args.image_pull_policy
    labels = dict(_pairs([item for item in args.labels.split(",") if item], "--labels"))
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": args.name, "labels": labels or {"run": args.name}},
           "spec": {"containers": [container], "restartPolicy": args.restart}}
    session.client.create("pods", pod, session.namespace)
    print(f"pod/{args.name} created")
    return 0


def _pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` words as pairs; UsageError naming the flag for a word without ``=``."""
    pairs = []
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UsageError(f"invalid {flag} {item!r}: expected KEY=VALUE")
        pairs.append((key, value))
    return pairs


def _resource_and_names(words: list[str]) -> tuple[ResourceInfo, list[str]]:
    """Like :func:`_targets`, for verbs that take one type at a time."""
    targets = _targets(words)
    if len(targets) != 1:
        raise UsageError("only one resource type may be given here")
    return targets[0]


def _resolve(word: str) -> ResourceInfo:
    try:
        return resolve(word)
    except BadRequest as error:  # kubectl says this itself, it is not the server's answer
        raise UsageError(error.message) from None


def _targets(words: list[str]) -> list[tuple[ResourceInfo, list[str]]]:
    """kubectl's ``TYPE[,TYPE...] [NAME...]`` (``all`` is a category) or ``TYPE/NAME...``:
    each type with the names asked of it (none: all of them), in the order given."""
    if "/" in words[0]:
        if any(not word.partition("/")[2] for word in words):
            raise UsageError("arguments in resource/name form must have a single resource and "
                             "name")
        targets: dict[str, tuple[ResourceInfo, list[str]]] = {}
        for word in words:
            kind, _, name = word.partition("/")
            info = _resolve(kind)
            targets.setdefault(info.name, (info, []))[1].append(name)
        return list(targets.values())
    infos: dict[str, ResourceInfo] = {}
    for word in words[0].split(","):
        for info in in_category(word) or [_resolve(word)]:
            infos.setdefault(info.name, info)
    return [(info, words[1:]) for info in infos.values()]


def cmd_get(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    printers.check_format(args.output)
    targets = _targets([args.resource, *args.names])
    if args.watch:
        if len(targets) > 1:
            raise UsageError("you may only specify a single resource type")
        return _get_and_watch(args, session, *targets[0])
    shown, failed = [], 0
    for info, names in targets:
        namespace = None if args.all_namespaces or not info.namespaced else session.namespace
        if names:
            objects, missing = _get_each(session, info, namespace, names)
            failed |= missing
        else:
            objects = session.client.list(info.name, namespace, label_selector=args.selector,
                                          field_selector=args.field_selector)["items"]
        shown.append((info, objects))
    single = len(targets) == 1 and len(targets[0][1]) == 1
    _print_objects(args, session, shown, single, asked_names=any(names for _, names in targets))
    return failed


def _print_objects(args: argparse.Namespace, session: Session,
                   shown: list[tuple[ResourceInfo, list[Object]]], single: bool,
                   asked_names: bool) -> None:
    """A table (or names) per type, written ``pod/NAME`` when there are several types; the
    other formats get everything in one List, as kubectl prints them."""
    items = [obj for _, objects in shown for obj in objects]
    kind = (args.output or "").partition("=")[0]
    if not items:
        if kind in ("", "wide") and not asked_names:
            namespaced = not args.all_namespaces and any(info.namespaced for info, _ in shown)
            where = f" in {session.namespace} namespace" if namespaced else ""
            print(f"No resources found{where}.", file=sys.stderr)
        return
    if kind not in ("", "wide", "name"):
        result = items[0] if single else {"apiVersion": "v1", "kind": "List", "items": items,
                                          "metadata": {"resourceVersion": ""}}
        print(printers.render(shown[0][0], result, args.output, single=single),
              end="" if kind == "jsonpath" else "\n", flush=True)  # kubectl adds no newline
        return
    several = len(shown) > 1
    print(("\n" if kind == "name" else "\n\n").join(
        printers.render(info, {"items": objects}, args.output, single=False,
                        all_namespaces=args.all_namespaces and info.namespaced,
                        show_labels=args.show_labels, with_kind=several)
        for info, objects in shown if objects), flush=True)


def _get_and_watch(args: argparse.Namespace, session: Session, info: ResourceInfo,
                   names: list[str]) -> int:
    """``get -w``: the listing, then each change in the listing's format."""
    namespace = None if args.all_namespaces or not info.namespaced else session.namespace
    if len(names) > 1:
        raise UsageError("watch is only supported on individual resources and resource "
                         "collections, but 2 or more resources were found")
    if names:
        args.field_selector = f"metadata.name={names[0]}"
    listing = session.client.list(info.name, namespace, label_selector=args.selector,
                                  field_selector=args.field_selector)
    _print_objects(args, session, [(info, listing["items"])], single=False, asked_names=False)
    _watch_rows(session, info, namespace, listing["metadata"]["resourceVersion"], args)
    return 0


def _get_each(session: Session, info: ResourceInfo, namespace: str | None,
              names: list[str]) -> tuple[list[Object], int]:
    """The objects that exist, in order, and 1 when any was missing (each missing one is
    reported on stderr, as kubectl does, while the others are still shown)."""
    found, failed = [], 0
    for name in names:
        try:
            found.append(session.client.get(info.name, name, namespace))
        except NotFound as error:
            _print_error(error)
            failed = 1
    return found, failed


def _watch_rows(session: Session, info: ResourceInfo, namespace: str | None, since: str,
                args: argparse.Namespace) -> None:
    """``get -w``: print each change after the listing, in the listing's format, until
    Ctrl-C or SIGTERM."""
    changes: queue.Queue[WatchEvent] = queue.Queue()
    stop = _stop_on_signals()
    watch = session.client.watch(info.name, changes.put, namespace=namespace,
                                 label_selector=args.selector,
                                 field_selector=args.field_selector, resource_version=since)
    try:
        while not stop.is_set():
            try:
                event = changes.get(timeout=0.2)
            except queue.Empty:
                continue
            if event.type == "ERROR":
                raise UsageError(f"the watch ended: {event.object.get('message')}")
            if event.type == "BOOKMARK":
                continue
            print(printers.render(info, event.object, args.output, single=True,
                                  all_namespaces=args.all_namespaces and info.namespaced,
                                  show_labels=args.show_labels, header=False), flush=True)
    finally:
        watch.stop()


class StopFlag:
    """Set by SIGINT or SIGTERM. The handler only flips a bool: taking a lock there (as
    ``threading.Event.set`` does) deadlocks when a second signal lands inside the first."""

    def __init__(self) -> None:
        self.raised = False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._raise)

    def _raise(self, *_: object) -> None:
        self.raised = True

    def is_set(self) -> bool:
        return self.raised

    def wait(self) -> None:
        """Block until a signal came (the main thread wakes for signals within 0.2 s)."""
        while not self.raised:
            time.sleep(0.2)


def _stop_on_signals() -> StopFlag:
    return StopFlag()


def cmd_create(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``create -f``: create every object of the manifests."""
    return _each_manifest(args, session, manifests.create)


def cmd_apply(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``apply -f``: create or update every object of the manifests."""
    return _each_manifest(args, session, manifests.apply)


def _each_manifest(args: argparse.Namespace, session: Session,
                   action: Callable[[Client, ResourceInfo, str | None, Object], str]) -> int:
    """Run ``action`` on every object of ``-f``; print ``kind/name OUTCOME`` as each is
    acknowledged, and go on after a failure (exit 1 at the end, as kubectl does)."""
    failed, seen = 0, 0
    explicit = getattr(args, "namespace", None) is not None
    for where, obj in manifests.read(args.filename):
        seen += 1
        try:
            info, namespace = manifests.target(obj, session.namespace, explicit)
            outcome = action(session.client, info, namespace, obj)
            print(f"{manifests.describe(info, obj)} {outcome}", flush=True)
        except ApiError as error:
            _print_error(error)
            failed = 1
        except manifests.ManifestError as error:
            print(f'error: {error} (in "{where}")', file=sys.stderr)
            failed = 1
    if not seen:
        raise UsageError(f"no objects passed to {args.verb}")
    return failed


def cmd_describe(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    info, names = _resource_and_names([args.resource, *args.names])
    if info.name not in ("pods", "nodes", "replicasets", "deployments"):
        raise UsageError("describe knows pods, nodes, replicasets and deployments in this "
                         f"release, not {info.name}")
    namespace = session.namespace if info.namespaced else None
    if names:
        objects, failed = _get_each(session, info, namespace, names)
    else:
        objects, failed = session.client.list(info.name, namespace)["items"], 0
    texts = []
    for obj in objects:
        uid = obj["metadata"]["uid"]
        events = [e for e in session.client.list("events", namespace or "default")["items"]
                  if (e.get("involvedObject") or {}).get("uid") == uid]
        texts.append(_describe(session, info, obj, events))
    if texts:
        print("\n\n".join(texts))
    return failed


def _describe(session: Session, info: ResourceInfo, obj: Object, events: list[Object]) -> str:
    if info.name == "pods":
        return printers.describe_pod(obj, events)
    if info.name == "nodes":
        pods = session.client.list(
            "pods", None, field_selector=f"spec.nodeName={obj['metadata']['name']}")
        return printers.describe_node(obj, pods["items"], events)
    uid, namespace = obj["metadata"]["uid"], obj["metadata"]["namespace"]
    owned = [o for o in session.client.list(
        "pods" if info.name == "replicasets" else "replicasets", namespace)["items"]
        if (controller_ref(o) or {}).get("uid") == uid]
    if info.name == "replicasets":
        return printers.describe_replicaset(obj, owned, events)
    template = without_hash(obj["spec"]["template"])
    new = next((rs for rs in owned if without_hash(rs["spec"]["template"]) == template), None)
    olds = [rs for rs in owned if rs is not new and rs.get("spec", {}).get("replicas")]
    return printers.describe_deployment(obj, new, olds, events)


def _pod_name(word: str) -> str:
    kind, slash, name = word.partition("/")
    if slash and _resolve(kind).name != "pods":
        raise UsageError(f"{word}: only pods have logs and exec")
    return name if slash else word


def cmd_logs(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    options: dict[str, Any] = {"container": args.container} if args.container else {}
    if args.tail >= 0:
        options["tailLines"] = args.tail
    if args.follow:
        return _follow_logs(session, _pod_name(args.pod), options)
    text = session.client.request("get", "pods", namespace=session.namespace,
                                  name=_pod_name(args.pod), subresource="log",
                                  options=options or None, timeout=300)
    sys.stdout.write(str(text))
    return 0


def _follow_logs(session: Session, pod: str, options: dict[str, Any]) -> int:
    """``logs -f``: print each chunk the pod's kubelet streams to us, acknowledging it once
    printed (flow control), until the container stops or Ctrl-C (docs/PROTOCOL.md, followed
    logs)."""
    stream = LogStream(session.client, pod, session.namespace, options)
    stop = _stop_on_signals()
    try:
        while not stop.is_set():
            chunk = stream.take(timeout=0.2)
            if chunk is None:
                continue
            sys.stdout.write(chunk.data)
            sys.stdout.flush()
            stream.acknowledge(chunk)
            if chunk.end:
                break
    finally:
        stream.close()
    return 0


def cmd_exec(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``exec POD -- CMD``: print what the command printed; exit with its exit code."""
    if not words:
        raise UsageError("you must specify at least one command for the container")
    body: Object = {"command": words}
    if args.container:
        body["container"] = args.container
    result = session.client.request("create", "pods", namespace=session.namespace,
                                    name=_pod_name(args.pod), subresource="exec", body=body,
                                    timeout=300)
    sys.stdout.write(result.get("stdout", ""))
    sys.stderr.write(result.get("stderr", ""))
    code = int(result.get("exitCode", 1))
    if code:
        print(f"command terminated with exit code {code}", file=sys.stderr)
    return code


def cmd_api_resources(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    rows = [[info.name, ",".join(info.short_names), info.api_version, str(info.namespaced).lower(),
             info.kind] for info in sorted(RESOURCES, key=lambda i: (i.group, i.name))]
    print(printers.columns(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], rows))
    return 0


def _asked(args: argparse.Namespace, session: Session) -> Object:
    """``VERB RESOURCE[/SUBRESOURCE] [NAME]`` as a review's resourceAttributes. A resource
    the server does not know is asked about anyway, with kubectl's warning."""
    word, _, subresource = args.resource.partition("/")
    try:
        info: ResourceInfo | None = resolve(word)
    except BadRequest:
        print(f"Warning: the server doesn't have a resource type '{word}'", file=sys.stderr)
        info = None
    namespaced = info is None or info.namespaced
    namespace = "" if getattr(args, "all_namespaces", False) or not namespaced \
        else session.namespace
    return {"verb": args.auth_verb, "group": info.group if info else "",
            "resource": info.name if info else word, "subresource": subresource,
            "namespace": namespace or "", "name": args.name or ""}


def cmd_auth(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``auth can-i`` (a SelfSubjectAccessReview, as the user or whom ``--as`` names) and
    ``auth who-can`` (computed here from the RBAC objects, as kubectl-who-can does)."""
    asked = _asked(args, session)
    if args.auth_action == "can-i":
        if args.as_group and not args.as_user:
            raise UsageError("requesting groups without impersonating a user: add --as USER")
        client = Client(session.connection, session.client.credentials, impersonate=args.as_user,
                        impersonate_groups=tuple(args.as_group)) if args.as_user else \
            session.client
        review = client.request("create", "selfsubjectaccessreviews", body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": asked}})
        allowed = bool(review.get("status", {}).get("allowed"))
        print("yes" if allowed else "no")
        return 0 if allowed else 1
    objects = [obj for resource, namespace in (
        ("clusterroles", None), ("clusterrolebindings", None),
        ("roles", asked["namespace"] or None), ("rolebindings", asked["namespace"] or None))
        for obj in session.client.list(resource, namespace)["items"]]
    found = rbac.grants(objects, rbac.Attributes(
        UserInfo(""), asked["verb"], asked["group"], asked["resource"],
        asked["subresource"] or None, asked["namespace"] or None, asked["name"] or None))
    what = f"{args.auth_verb} {args.resource}"
    for kind, top in (("RoleBinding", ["ROLEBINDING", "NAMESPACE", "SUBJECT", "TYPE",
                                       "SA-NAMESPACE"]),
                      ("ClusterRoleBinding", ["CLUSTERROLEBINDING", "SUBJECT", "TYPE",
                                              "SA-NAMESPACE"])):
        rows = [[g.binding, *([g.namespace] if kind == "RoleBinding" else []), g.subject,
                 g.subject_kind, g.subject_namespace] for g in found if g.binding_kind == kind]
        print(printers.columns(top, rows) if rows else
              f"No subjects found with permissions to {what} assigned through {kind}s")
        if kind == "RoleBinding":
            print()
    return 0


def cmd_delete(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    # kubectl: a negative grace period means "the object's default".
    grace = None if args.grace_period is None or args.grace_period < 0 else args.grace_period
    if args.cascade in ("true", "false"):
        better = "orphan" if args.cascade == "false" else "background"
        print(f"warning: --cascade={args.cascade} is deprecated (boolean value) and can be "
              f"replaced with --cascade={better}.", file=sys.stderr)
    failed = 0
    for info, namespace, name in _deletion_targets(args, session):
        try:
            _delete(session.client, info, namespace, name, grace,
                    args.timeout if args.wait else None, CASCADES[args.cascade])
        except ApiError as error:
            _print_error(error)
            failed = 1
    return failed


def _deletion_targets(args: argparse.Namespace, session: Session
                      ) -> list[tuple[ResourceInfo, str | None, str]]:
    """(resource, namespace, name) to delete: from manifests, a selector, or names."""
    if args.filename:
        targets = []
        for _, obj in manifests.read(args.filename):
            info, namespace = manifests.target(obj, session.namespace,
                                               getattr(args, "namespace", None) is not None)
            targets.append((info, namespace, str(obj.get("metadata", {}).get("name", ""))))
        return targets
    if not args.resource:
        raise UsageError("you must provide one or more resources by argument or filename")
    info, names = _resource_and_names([args.resource, *args.names])
    namespace = session.namespace if info.namespaced else None
    if args.selector:
        if names:
            raise UsageError("name cannot be provided when a selector is specified")
        found = session.client.list(info.name, namespace, label_selector=args.selector)
        if not found["items"]:
            print(f"No resources found{f' in {namespace} namespace' if namespace else ''}.",
                  file=sys.stderr)
        return [(info, namespace, obj["metadata"]["name"]) for obj in found["items"]]
    if not names:
        raise UsageError("resource(s) were provided, but no name was specified")
    return [(info, namespace, name) for name in names]


def _delete(client: Client, info: ResourceInfo, namespace: str | None, name: str,
            grace: int | None, wait: float | None, policy: str) -> None:
    """Delete, say so, then (as ``kubectl delete --wait``) wait until the object is gone
    (with ``Foreground``, after what it owns)."""
    gone = threading.Event()

    def on_event(event: WatchEvent) -> None:  # bus loop thread
        if event.type == "DELETED":
            gone.set()

    watch = client.watch(info.name, on_event, namespace=namespace,
                         field_selector=f"metadata.name={name}") if wait else None
    try:
        client.delete(info.name, name, namespace, grace_period=grace, propagation_policy=policy)
        print(f'{_qualified(info)} "{name}" deleted', flush=True)
        if watch is None:
            return
        try:
            client.get(info.name, name, namespace)
        except NotFound:
            return
        if not gone.wait(wait):
            raise UsageError(f'timed out waiting for the deletion of {info.singular} "{name}"')
    finally:
        if watch is not None:
            watch.stop()


def _qualified(info: ResourceInfo) -> str:
    """kubectl's ``kind[.group]``: ``pod``, ``deployment.apps``."""
    return f"{info.singular}.{info.group}" if info.group else info.singular


def cmd_scale(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``scale TYPE NAME --replicas N``: set ``spec.replicas`` through the scale
    subresource; prints ``deployment.apps/NAME scaled``."""
    info, names = _resource_and_names([args.resource, *args.names])
    if not names:
        raise UsageError("resource(s) were provided, but no name was specified")
    failed = 0
    for name in names:
        try:
            scale = session.client.request("get", info.name, namespace=session.namespace,
                                           name=name, subresource="scale")
            scale["spec"]["replicas"] = args.replicas
            scale["metadata"].pop("resourceVersion", None)  # kubectl: no precondition
            session.client.request("update", info.name, namespace=session.namespace,
                                   name=name, subresource="scale", body=scale)
            print(f"{_qualified(info)}/{name} scaled", flush=True)
        except ApiError as error:
            _print_error(error)
            failed = 1
    return failed


ROLLOUT_UNSUPPORTED = {"status": "no status viewer has been implemented for {kind}",
                       "history": "no history viewer has been implemented for {kind}",
                       "undo": "no rollbacker has been implemented for {kind}",
                       "pause": "pausing is not supported", "resume": "resuming is not supported"}
"""kubectl's words for a rollout action on a type that has none (all but Deployments here)."""


def cmd_rollout(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``rollout status|history|undo|pause|resume deployment/NAME``, as kubectl's."""
    info, names = _resource_and_names([args.resource, *args.names])
    if info.name != "deployments":
        raise UsageError(ROLLOUT_UNSUPPORTED[args.action].format(kind=info.kind))
    if len(names) != 1:
        raise UsageError(f"rollout {args.action} takes exactly one deployment")
    if args.action == "status":
        return _rollout_status(args, session, info, names[0])
    deployment = session.client.get(info.name, names[0], session.namespace)
    replicasets = session.client.list("replicasets", session.namespace)["items"]
    if args.action == "history":
        print(rollout.history(deployment, replicasets, args.revision))
        return 0
    if args.action == "undo":
        rev, rs = rollout.rollback_target(deployment, replicasets, args.to_revision)
        if rollout.rolled_back(deployment, rs) is None:
            print(f"deployment.apps/{names[0]} skipped rollback (current template already "
                  f"matches revision {rev})")
            return 0
        _update_again(session, info, names[0], lambda current: rollout.rolled_back(current, rs))
        print(f"deployment.apps/{names[0]} rolled back")
        return 0
    pause = args.action == "pause"
    _update_again(session, info, names[0], lambda current: rollout.paused(current, pause))
    print(f"deployment.apps/{names[0]} {'paused' if pause else 'resumed'}")
    return 0


def _update_again(session: Session, info: ResourceInfo, name: str,
                  change: Callable[[Object], Object | None]) -> None:
    """Write ``change(current)`` (nothing when None), reading the object again when a
    controller wrote it meanwhile (a 409), as kubectl's patch does not need to."""
    for _ in range(10):
        current = session.client.get(info.name, name, session.namespace)
        changed = change(current)
        if changed is None:
            return
        try:
            session.client.update(info.name, changed)
            return
        except Conflict:
            continue
    raise UsageError(f"{_qualified(info)}/{name} kept changing; try again")


def _rollout_status(args: argparse.Namespace, session: Session, info: ResourceInfo,
                    name: str) -> int:
    """Print kubectl's progress lines as the watch brings changes, until the rollout is done
    (exit 0), past its deadline or ``--timeout`` (1)."""
    changes: queue.Queue[WatchEvent] = queue.Queue()
    watch = session.client.watch(info.name, changes.put, namespace=session.namespace,
                                 field_selector=f"metadata.name={name}")
    deadline = time.monotonic() + args.timeout if args.timeout else None
    try:
        session.client.get(info.name, name, session.namespace)  # NotFound, as kubectl
        last = ""
        while deadline is None or time.monotonic() < deadline:
            try:
                event = changes.get(timeout=0.2)
            except queue.Empty:
                continue
            if event.type not in ("ADDED", "MODIFIED"):
                continue
            text, done = printers.rollout_status(event.object)
            if text != last:
                print(text, flush=True)
                last = text
            if done:
                return 0
        raise UsageError("timed out waiting for the condition")
    finally:
        watch.stop()


def cmd_trace(args: argparse.Namespace) -> int:
    """``trace``: live from the bus until Ctrl-C (or --timeout), or ``trace replay FILE``."""
    info, name = None, None
    if args.object:
        kind, _, name = args.object.partition("/")
        info = _resolve(kind)
    if args.replay:
        if args.replay[0] != "replay" or len(args.replay) != 2:
            raise UsageError("usage: kubeactor trace replay FILE")
        records: Iterable[tracing.Record] = tracing.read_capture(Path(args.replay[1]))
        hops = _show(records, info, name, args.trace_id)
    else:
        hops = _trace_live(args, info, name)
    if args.mermaid:
        with translated(UsageError):
            args.mermaid.write_text(tracing.mermaid(hops))
    return 0


def _show(records: Iterable[tracing.Record], info: ResourceInfo | None, name: str | None,
          trace_id: str | None, record_to: BinaryIO | None = None) -> list[tracing.Hop]:
    hops = []
    for record in records:
        if not tracing.matches(record, info, name, trace_id):
            continue
        if record_to is not None:
            tracing.write_record(record_to, record)
        hops.append(tracing.hop(record))
        print(tracing.render(hops[-1]), flush=True)
    return hops


def _trace_live(args: argparse.Namespace, info: ResourceInfo | None,
                name: str | None) -> list[tracing.Hop]:
    stop = _stop_on_signals()
    seen: queue.Queue[tracing.Record] = queue.Queue()

    def on_message(subject: str, data: bytes) -> None:  # bus loop thread
        if (record := tracing.Record.capture(subject, data)) is not None:
            seen.put(record)

    def drain() -> Iterator[tracing.Record]:
        deadline = time.monotonic() + args.timeout if args.timeout else None
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            with contextlib.suppress(queue.Empty):
                yield seen.get(timeout=0.1)
        while not seen.empty():
            yield seen.get()

    session = Session(args, name="tracer")
    try:
        session.connection.subscribe_raw(session.connection.subjects.all, on_message)
        print(f"tracing {session.connection.subjects.all} on {session.config.server} "
              "(Ctrl-C to stop)", file=sys.stderr, flush=True)
        with contextlib.ExitStack() as files:
            with translated(UsageError):
                out = files.enter_context(args.record.open("wb")) if args.record else None
            return _show(drain(), info, name, args.trace_id, out)
    finally:
        session.close()


# -- certificates -------------------------------------------------------------------------------

CSR = certificates.RESOURCE
DECISIONS = {
    "approve": (certificates.APPROVED, certificates.DENIED, "KubectlApprove",
                "This CSR was approved by kubectl certificate approve."),
    "deny": (certificates.DENIED, certificates.APPROVED, "KubectlDeny",
             "This CSR was denied by kubectl certificate deny."),
}
"""kubectl certificate's decisions: (condition, the one that excludes it, reason, message)."""
ISSUE_TIMEOUT = 60.0
"""Seconds ``certs issue`` waits for the signer."""


def cmd_certificate(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``certificate approve|deny NAME...``: add the decision through the ``approval``
    subresource; prints ``certificatesigningrequest.certificates.k8s.io/NAME approved``."""
    failed = 0
    for name in args.names:
        try:
            _decide(session.client, name, args.decision)
            print(f"certificatesigningrequest.certificates.k8s.io/{name} "
                  f"{'approved' if args.decision == 'approve' else 'denied'}", flush=True)
        except ApiError as error:
            _print_error(error)
            failed = 1
    return failed


def _decide(client: Client, name: str, decision: str) -> None:
    """Approve or deny ``name`` unless it is already (as kubectl: nothing to send), re-reading
    it after a concurrent change."""
    kind, opposite, reason, message = DECISIONS[decision]
    for _ in range(5):
        csr = client.get(CSR, name, None)
        if certificates.has_condition(csr, opposite):
            raise UsageError(f'certificate signing request "{name}" is already {opposite}')
        if certificates.has_condition(csr, kind):
            return
        with contextlib.suppress(Conflict):
            client.request("update", CSR, name=name, subresource="approval",
                           body=certificates.decided(csr, kind, reason, message))
            return
    raise UsageError(f'certificate signing request "{name}" keeps changing; try again')


def cmd_certs(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``certs issue --user NAME [--group G]... --kubeconfig-out FILE``: make a key pair
    here, send only its signing request (a CertificateSigningRequest, created and approved
    as this kubeconfig's user may), wait for the apiserver's signer, check the certificate,
    and write a kubeconfig with it (the key never leaves this process but into that file)."""
    if session.config.ca is None:
        raise UsageError("the kubeconfig has no certificate-authority-data: use the one "
                         "`kubeactor up` wrote")
    key, identity = certs.new_key(), certs.Identity(args.user, tuple(args.group))
    request = certificates.signing_request("csr-", certs.make_csr(key, identity))
    name = session.client.create(CSR, request, None)["metadata"]["name"]
    print(f"certificatesigningrequest.certificates.k8s.io/{name} created", flush=True)
    changes: queue.Queue[WatchEvent] = queue.Queue()
    watch = session.client.watch(CSR, changes.put, field_selector=f"metadata.name={name}")
    try:
        _decide(session.client, name, "approve")
        print(f"certificatesigningrequest.certificates.k8s.io/{name} approved", flush=True)
        cert = _issued(changes, name)
    finally:
        watch.stop()
    ca = certs.load_cert(session.config.ca)
    if cert.public_key() != key.public_key() or certs.verify(
            cert, ca, datetime.now(UTC)) != identity:
        raise UsageError(f"the certificate of {name} is not for this key and identity")
    kubeconfig.write(args.kubeconfig_out.expanduser(), kubeconfig.KubeConfig(
        server=session.config.server, prefix=session.config.prefix, token=None,
        user=args.user, client_cert=certs.cert_pem(cert), client_key=certs.key_pem(key),
        ca=session.config.ca))
    print(f'kubeconfig of user "{args.user}" written to {args.kubeconfig_out}', flush=True)
    return 0


def _issued(changes: queue.Queue[WatchEvent], name: str) -> x509.Certificate:
    """The certificate the signer writes into ``name``; UsageError when it is denied, fails
    or takes longer than ISSUE_TIMEOUT."""
    deadline = time.monotonic() + ISSUE_TIMEOUT
    while time.monotonic() < deadline:
        try:
            csr = changes.get(timeout=0.2).object
        except queue.Empty:
            continue
        issued = (csr.get("status") or {}).get("certificate")
        if issued:
            return certs.load_cert(certificates.decode(issued))
        for cond in certificates.conditions(csr):
            if cond.get("type") in (certificates.DENIED, certificates.FAILED):
                raise UsageError(f"certificatesigningrequest {name} {cond['type'].lower()}: "
                                 f"{cond.get('message', '')}")
    raise UsageError(f"timed out waiting for the certificate of {name}: is the signer "
                     "running?")


# -- up -----------------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    """``up``: the whole cluster in this process."""
    return _serve(_elected(args, ClusterConfig(
        data_dir=args.data_dir, nodes=args.nodes, runtime=args.runtime,
        nats_url=args.nats, nats_port=args.port, store=args.store, storage=_storage(args),
        node_disruption=_disruption(args),
        node_monitor_grace_seconds=args.node_monitor_grace_period,
        node_monitor_seconds=args.node_monitor_period,
        node_lease_duration_seconds=args.node_lease_duration_seconds,
        backoff_base=args.restart_backoff_base, node_cpu=args.node_cpu,
        node_memory=args.node_memory, max_pods=args.max_pods)), f"{args.nodes} node(s)")


def _storage(args: argparse.Namespace) -> StoreConfig:
    return StoreConfig(quota_backend_bytes=args.quota_backend_bytes)


def cmd_server(args: argparse.Namespace) -> int:
    """``server``: store, apiserver and scheduler; kubelets join with ``agent``."""
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: expected HOST:PORT")
    if args.apiserver_only and not (args.store == "jetstream" and args.nats):
        raise UsageError("an apiserver-only process shares the store of a running cluster: "
                         "it needs --store jetstream and --nats URL")
    return _serve(_elected(args, ClusterConfig(
        data_dir=args.data_dir, nodes=0, nats_url=args.nats, nats_host=host,
        nats_port=int(port), store=args.store, storage=_storage(args),
        apiserver_only=args.apiserver_only,
        node_disruption=_disruption(args),
        tokens_file=args.tokens, node_monitor_grace_seconds=args.node_monitor_grace_period,
        node_monitor_seconds=args.node_monitor_period, scheduler=not args.disable_scheduler,
        controller_manager=not args.disable_controller_manager)),
        "apiserver" if args.apiserver_only else "control plane")


def cmd_scheduler(args: argparse.Namespace) -> int:
    """``scheduler``: kube-scheduler's process, joining the cluster of its kubeconfig (the
    control plane writes ``DATA_DIR/scheduler.kubeconfig`` for it)."""
    return _join(args, f"scheduler {args.scheduler_name}", scheduler_name=args.scheduler_name,
                 controller_manager=False)


def cmd_controller_manager(args: argparse.Namespace) -> int:
    """``controller-manager``: kube-controller-manager's process, joining the cluster of its
    kubeconfig (``DATA_DIR/controller-manager.kubeconfig``)."""
    return _join(args, "controller manager", scheduler=False,
                 node_monitor_grace_seconds=args.node_monitor_grace_period,
                 node_monitor_seconds=args.node_monitor_period,
                 node_disruption=_disruption(args))


def _join(args: argparse.Namespace, what: str, **component: Any) -> int:
    """Run ``component`` (ClusterConfig fields) in a process of its own that joins the
    cluster of the kubeconfig with its credentials, leading through its Lease."""
    config = kubeconfig.load(
        Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser())
    return _serve(_elected(args, ClusterConfig(
        nodes=0, control_plane=False, nats_url=config.server, prefix=config.prefix,
        credentials=config.credentials(), bus=config.bus(), **component)), what)


def _elected(args: argparse.Namespace, config: ClusterConfig) -> ClusterConfig:
    """``config`` with the periods of the ``--leader-elect-*`` flags."""
    return dataclasses.replace(
        config, leader_elect_lease_seconds=args.leader_elect_lease_duration,
        leader_elect_renew_seconds=args.leader_elect_renew_deadline,
        leader_elect_retry_seconds=args.leader_elect_retry_period)


def cmd_agent(args: argparse.Namespace) -> int:
    """``agent``: one kubelet, joining the cluster its kubeconfig names."""
    path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
    config = kubeconfig.load(path)
    user, bus = node_identity(args.node)[0], config.bus()
    if bus.user != user:
        raise UsageError(
            f"kubeconfig {path} is not node {args.node}'s (its NATS identity is "
            f"{bus.user or 'nobody'!r}, not {user!r}): make one on the control plane's host "
            f"with `kubeactor node-kubeconfig --node {args.node} --data-dir DIR "
            "--kubeconfig-out FILE`")
    data_dir = args.data_dir or Path(f"~/.kubeactor/agent-{args.node}")
    return _serve(ClusterConfig(
        data_dir=data_dir, node_names=(args.node,), control_plane=False, scheduler=False,
        controller_manager=False,
        runtime=args.runtime, nats_url=args.nats or config.server, prefix=config.prefix,
        credentials=config.credentials(), bus=bus,
        node_lease_duration_seconds=args.node_lease_duration_seconds,
        backoff_base=args.restart_backoff_base, node_cpu=args.node_cpu,
        node_memory=args.node_memory, max_pods=args.max_pods), f"node {args.node}")


def _serve(config: ClusterConfig, what: str) -> int:
    """Start, say ``ready``, run until SIGINT or SIGTERM, stop everything; exit 0."""
    stop = _stop_on_signals()
    cluster = Cluster.start(config, progress=lambda step: print(
        f"starting {step}...", file=sys.stderr, flush=True))
    try:
        where = (f", kubeconfig at {cluster.kubeconfig_path}" if config.control_plane else "")
        print(f"kubeactor is ready: {what}, NATS at {cluster.url}{where}", flush=True)
        if config.control_plane:
            print(f"  try: kubeactor --kubeconfig {cluster.kubeconfig_path} get nodes",
                  flush=True)
        stop.wait()
    finally:
        cluster.stop()
    print("kubeactor stopped", flush=True)
    return 0


# -- entry point --------------------------------------------------------------------------------

def cmd_config(args: argparse.Namespace) -> int:
    """``config view``: the kubeconfig in use, credentials redacted as kubectl does."""
    path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
    config = kubeconfig.load(path)
    print(kubeconfig.render(config, redact=True), end="")
    return 0


def cmd_node_kubeconfig(args: argparse.Namespace) -> int:
    """``node-kubeconfig``: a node's own identity and certificate (its NATS identity too),
    for its agent. A name no Node may have is refused before anything is written."""
    try:
        validate(lookup("", "nodes"), {"kind": "Node", "metadata": {"name": args.node}})
    except Invalid as error:
        raise UsageError(error.message) from None
    kubeconfig.write(args.kubeconfig_out.expanduser(),
                     node_kubeconfig(args.data_dir, args.node))
    print(f"kubeconfig of node {args.node} written to {args.kubeconfig_out}; start it with: "
          f"kubeactor agent --node {args.node} --kubeconfig {args.kubeconfig_out}")
    return 0


COMMANDS = {"run": cmd_run, "get": cmd_get, "delete": cmd_delete, "create": cmd_create,
            "apply": cmd_apply, "describe": cmd_describe, "api-resources": cmd_api_resources,
            "logs": cmd_logs, "exec": cmd_exec, "auth": cmd_auth, "scale": cmd_scale,
            "rollout": cmd_rollout, "certs": cmd_certs, "certificate": cmd_certificate}
"""Commands that talk to the apiserver through one Session."""
LOCAL_COMMANDS = {"up": cmd_up, "server": cmd_server, "agent": cmd_agent, "trace": cmd_trace,
                  "config": cmd_config, "node-kubeconfig": cmd_node_kubeconfig,
                  "scheduler": cmd_scheduler, "controller-manager": cmd_controller_manager}
"""Commands that run components here, or connect on their own terms."""


def _print_error(error: ApiError) -> None:
    """Print a server error as kubectl does."""
    if isinstance(error, Invalid):
        print(f"The {error.message}", file=sys.stderr)
    elif isinstance(error, Unauthorized):
        print("error: You must be logged in to the server (Unauthorized)", file=sys.stderr)
    else:
        print(f"Error from server ({error.reason}): {error.message}", file=sys.stderr)


class _BriefFormatter(logging.Formatter):
    """Log lines without Python tracebacks: an exception shows as its type and message (as
    ``Forbidden: nodes is forbidden: ...``). The CLI uses it unless ``-v``."""

    def formatException(self, ei: Any) -> str:
        return f"{ei[0].__name__}: {ei[1]}"


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    format_ = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(format_) if verbose else _BriefFormatter(format_))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code. Errors of kubeactor's tree (``bus.errors``) print as
    kubectl prints them, exit 1; anything else is a bug and shows its traceback. A reader that
    closed its end of stdout (``get pods | head``) ends the command quietly, as it ends kubectl."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # what is still buffered fails here, not at the interpreter's exit
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 1


def _run(argv: Sequence[str] | None) -> int:
    head, words = _split_dash_dash(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(head)
    _configure_logging(getattr(args, "verbose", False))
    if args.verb in LOCAL_COMMANDS:
        try:
            return LOCAL_COMMANDS[args.verb](args)
        except KubeactorError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    try:
        session = Session(args)
        try:
            return COMMANDS[args.verb](args, session, words)
        finally:
            session.close()
    except ApiError as error:
        _print_error(error)
    except BusError as error:
        print(f"Unable to connect to the server: {error}", file=sys.stderr)
    except KubeactorError as error:
        print(f"error: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
