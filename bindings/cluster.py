"""Launch a whole kubeactor cluster inside this process: what ``kubeactor up`` runs.

Starts, in order: the embedded nats-server (unless a URL is given), the store on SQLite, the
apiserver, the scheduler, the controller manager and N kubelets (``node-1`` ... ``node-N``),
each component with its own NATS connection and identity (a bearer token from
``DATA_DIR/tokens.csv``). It then writes ``DATA_DIR/kubeconfig`` with the admin's credentials.
:meth:`Cluster.stop` stops everything it started, in reverse order.

This is the one place that wires bindings (SQLite, Docker) into actors.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pykka

from actors.apiserver import ApiServer, ApiServerConfig, Authorizer, TokenAuthenticator
from actors.client import Client
from actors.controllermanager import ControllerManager, ControllerManagerConfig
from actors.kubelet import Kubelet, KubeletConfig, host_cpu, host_memory
from actors.nodelifecycle import NodeLifecycleConfig
from actors.runtime import Runtime, RuntimeFailure
from actors.scheduler import Scheduler
from actors.store import Store
from bindings import kubeconfig
from bindings.docker import DockerRuntime
from bindings.sim import SimRuntime
from bindings.sqlite import SqliteBackend
from bus import BusConfig, Connection, NatsServer
from bus.errors import KubeactorError
from bus.server import port_is_free

log = logging.getLogger(__name__)

ADMIN = ("admin", "system:masters")
SCHEDULER = ("system:kube-scheduler", "")
CONTROLLER_MANAGER = ("system:kube-controller-manager", "")


@dataclass
class ClusterConfig:
    data_dir: Path
    nodes: int = 1
    """Kubelets to start, named node-1 ... node-N."""
    node_names: tuple[str, ...] = ()
    """Names of the kubelets to start, instead of node-1 ... node-N (``kubeactor agent``)."""
    control_plane: bool = True
    """Start store, apiserver and scheduler; False for kubelets only (``kubeactor agent``)."""
    runtime: str = "docker"
    """``docker`` (real containers) or ``sim`` (in memory, see ``bindings.sim``)."""
    nats_url: str | None = None
    """Use this NATS instead of starting the embedded nats-server (required for an agent)."""
    nats_host: str = "127.0.0.1"
    """Address the embedded nats-server listens on (agents on other hosts connect to it)."""
    nats_port: int = 0
    """Port of the embedded nats-server; 0 lets it pick a free one."""
    prefix: str = "kubeactor"
    apiserver_workers: int = 4
    """Apiserver actors sharing the requests (and the store's group commits): one blocked on
    a durable write does not stop the others."""
    token: str | None = None
    """Credentials of the kubelets when there is no control plane here (from a kubeconfig)."""
    node_monitor_grace_seconds: float = 40.0
    """A node whose Lease goes unrenewed this long becomes Unknown."""
    node_monitor_seconds: float = 5.0
    """How often the node lifecycle controller looks at the nodes."""
    node_lease_duration_seconds: int = 40
    """The kubelets' Lease duration; they renew every quarter of it."""
    node_cpu: str | None = None
    """CPU each node offers (Kubernetes quantity); None: the host's."""
    node_memory: str | None = None
    """Memory each node offers; None: the host's."""
    namespace_retry_seconds: float = 2.0
    """How often the namespace controller looks again at a terminating namespace that still
    holds objects."""


class ClusterError(KubeactorError):
    """The cluster could not start; the message says what to do."""


def node_identity(name: str) -> tuple[str, str]:
    return f"system:node:{name}", "system:nodes"


def ensure_tokens(path: Path, identities: list[tuple[str, str]]) -> dict[str, str]:
    """The token of each identity (user name -> token), adding missing ones to the file."""
    tokens: dict[str, str] = {}
    rows: list[list[str]] = []
    if path.exists():
        with path.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
        tokens = {row[1]: row[0] for row in rows}
    for user, groups in identities:
        if user not in tokens:
            tokens[user] = secrets.token_hex(16)
            rows.append([tokens[user], user, user, groups])
    path.parent.mkdir(parents=True, exist_ok=True)
    with private_file(path) as handle:
        csv.writer(handle).writerows(rows)
    return tokens


def private_file(path: Path) -> TextIO:
    """Open ``path`` for writing, created with mode 0600 (it holds credentials)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", newline="")


def _previous_port(path: Path, host: str) -> int:
    """The port the embedded nats-server had last time, when it is free again (else 0)."""
    try:
        port = int(path.read_text())
    except (OSError, ValueError):
        return 0
    return port if port_is_free(host, port) else 0


def _cluster_id(path: Path) -> str:
    """This data dir's cluster id, made on first start; it scopes the cluster's containers."""
    if not path.exists():
        path.write_text(secrets.token_hex(8))
    return path.read_text().strip()


@dataclass
class Cluster:
    """A running cluster; build with :meth:`start`, end with :meth:`stop`."""

    config: ClusterConfig
    nats: NatsServer | None = None
    url: str = ""
    kubeconfig_path: Path = field(default_factory=Path)
    _actors: list[pykka.ActorRef[Any]] = field(default_factory=list)
    _connections: list[Connection] = field(default_factory=list)
    _runtimes: list[Runtime] = field(default_factory=list)
    controller_manager: ControllerManager | None = None
    _tokens: dict[str, str] = field(default_factory=dict)
    _lock: TextIO | None = None
    _progress: Callable[[str], None] = field(default=lambda step: None)

    @classmethod
    def start(cls, config: ClusterConfig,
              progress: Callable[[str], None] | None = None) -> Cluster:
        """Start what ``config`` asks for; ``progress`` hears each step as it begins."""
        cluster = cls(config)
        cluster._progress = progress or (lambda step: None)
        try:
            cluster._start()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start(self) -> None:
        config, say = self.config, self._progress
        data = config.data_dir.expanduser().resolve()
        try:
            data.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._lock_data_dir(data)
        except FileExistsError:
            raise ClusterError(f"data dir {data} is a file, not a directory") from None
        except OSError as error:
            raise ClusterError(f"data dir {data} cannot be used: {error.strerror}") from None
        names = config.node_names or tuple(f"node-{i}" for i in range(1, config.nodes + 1))
        if config.control_plane:
            bus = self._start_control_plane(data, names)
        elif not (config.nats_url and config.token):
            raise ClusterError("kubelets without a control plane need a NATS URL and a token "
                               "(from --kubeconfig)")
        else:
            self.url = config.nats_url
            bus = BusConfig(url=self.url, prefix=config.prefix)
        cluster_id = _cluster_id(data / "cluster-id")
        for name in names:
            say(f"kubelet {name}")
            runtime = self._runtime(name, cluster_id)
            user = node_identity(name)[0]
            connection = self._connect(bus, f"kubelet-{name}")
            client = Client(connection, self._tokens.get(user, config.token))
            self._run(Kubelet.start(connection, client, runtime, KubeletConfig(
                node_name=name, cpu=config.node_cpu or host_cpu(),
                memory=config.node_memory or host_memory(),
                lease_duration_seconds=config.node_lease_duration_seconds)))

    def _start_control_plane(self, data: Path, names: tuple[str, ...]) -> BusConfig:
        """nats-server (unless given), store, apiserver, scheduler; then the kubeconfig."""
        config, say = self.config, self._progress
        tokens_path = data / "tokens.csv"
        self._tokens = ensure_tokens(tokens_path, [ADMIN, SCHEDULER, CONTROLLER_MANAGER] + [
            node_identity(name) for name in names])
        if config.nats_url:
            self.url = config.nats_url
        else:
            say("nats-server")
            remembered = data / "nats" / "port"
            port = config.nats_port or _previous_port(remembered, config.nats_host)
            self.nats = NatsServer(data / "nats", host=config.nats_host, port=port).start()
            remembered.write_text(str(self.nats.port))  # agents find it again after a restart
            self.url = self.nats.url
        bus = BusConfig(url=self.url, prefix=config.prefix)
        say("store")
        store = self._run(Store.start(SqliteBackend(data / "store.db")))
        say("apiserver")
        connection = self._connect(bus, "apiserver")
        authenticator = TokenAuthenticator.from_file(tokens_path)
        authorizer = Authorizer()  # one policy for all workers
        for worker in range(config.apiserver_workers):
            first = worker == 0  # holds the watchers and bootstraps the policy
            self._run(ApiServer.start(
                connection, store.proxy(), authenticator, None,
                ApiServerConfig(serves_watches=first, bootstrap=first), authorizer))
        say("scheduler")
        self._run(Scheduler.start(*self._component(bus, "scheduler", SCHEDULER[0])))
        say("controllers")
        self.controller_manager = ControllerManager(
            *self._component(bus, "controller-manager", CONTROLLER_MANAGER[0]),
            ControllerManagerConfig(
                node_lifecycle=NodeLifecycleConfig(
                    grace_seconds=config.node_monitor_grace_seconds,
                    monitor_seconds=config.node_monitor_seconds),
                namespace_retry_seconds=config.namespace_retry_seconds))
        self.controller_manager.start()
        self.kubeconfig_path = data / "kubeconfig"
        kubeconfig.write(self.kubeconfig_path, kubeconfig.KubeConfig(
            server=self.url, prefix=config.prefix, token=self._tokens[ADMIN[0]]))
        return bus

    def _lock_data_dir(self, data: Path) -> None:
        """One cluster per data dir: a second start fails instead of sharing the store."""
        self._lock = (data / "lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise ClusterError(f"another kubeactor is already running on {data}; stop it or "
                               "pick another --data-dir") from None

    def _connect(self, bus: BusConfig, name: str) -> Connection:
        connection = Connection(bus, name).connect()
        self._connections.append(connection)
        return connection

    def _component(self, bus: BusConfig, name: str, user: str) -> tuple[Connection, Client]:
        connection = self._connect(bus, name)
        return connection, Client(connection, self._tokens[user])

    def _runtime(self, node_name: str, cluster_id: str) -> Runtime:
        runtime: Runtime
        if self.config.runtime == "sim":
            runtime = SimRuntime(node_name)
            self._runtimes.append(runtime)
            return runtime
        if self.config.runtime != "docker":
            raise ClusterError(f"unknown runtime {self.config.runtime!r}: docker or sim")
        try:
            runtime = DockerRuntime(node_name, cluster_id)
        except RuntimeFailure as failure:
            raise ClusterError(
                "cannot reach the Docker engine (DOCKER_HOST, else /var/run/docker.sock): start "
                f"dockerd, e.g. with scripts/setup ({failure.message})") from None
        self._runtimes.append(runtime)
        return runtime

    def _run(self, ref: pykka.ActorRef[Any]) -> pykka.ActorRef[Any]:
        """Keep ``ref`` for stop() and wait until its on_start has finished (or failed)."""
        self._actors.append(ref)
        try:
            proxy: Any = ref.proxy()
            proxy.use_daemon_thread.get(timeout=60)  # any attribute read waits for on_start
        except pykka.ActorDeadError:
            raise ClusterError(f"{ref.actor_class.__name__} failed to start; see the log above"
                               ) from None
        return ref

    def admin_client(self, name: str = "admin") -> Client:
        """A client with the admin's credentials on a new connection (closed by stop())."""
        bus = BusConfig(url=self.url, prefix=self.config.prefix)
        return self._component(bus, name, ADMIN[0])[1]

    def stop_kubelet(self, node: str) -> None:
        """Stop the kubelet of ``node`` as when its machine is lost: no heartbeat, no pod
        status, its Node object left behind (tests of node failure)."""
        for ref in self._actors:
            if ref.actor_class is Kubelet and ref.proxy().config.get().node_name == node:
                ref.stop(timeout=30)
                self._actors.remove(ref)
                return
        raise KeyError(f"no kubelet of node {node} runs here")

    def token(self, user: str) -> str:
        return self._tokens[user]

    def stop(self) -> None:
        """Stop actors (newest first), connections, runtimes and nats-server. Idempotent."""
        if self.controller_manager is not None:
            self.controller_manager.stop()
        for ref in reversed(self._actors):
            with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
                ref.stop(timeout=30)
        self._actors.clear()
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        for runtime in self._runtimes:
            runtime.close()
        self._runtimes.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None
