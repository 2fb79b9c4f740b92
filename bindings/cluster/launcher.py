"""Launch a whole kubeactor cluster inside this process: what ``kubeactor up`` runs.

Starts, in order: the embedded nats-server (unless a URL is given), the store (on SQLite in
the data dir, or on a JetStream KV bucket of the NATS), the apiserver, the scheduler, the
controller manager, the HTTPS listener of Kubernetes' API (``bindings.https``) and N
kubelets (``node-1`` ... ``node-N``), each component with its own NATS
connection and identity (a client certificate of the cluster CA in ``DATA_DIR/pki``, and its
own NATS user on the locked-down bus: ``bindings.cluster.bususers``, ``bus.permissions``). It then
writes ``DATA_DIR/kubeconfig`` with the admin's credentials, and the scheduler's and the
controller manager's own (``DATA_DIR/scheduler.kubeconfig``, ``controller-manager.kubeconfig``,
as kubeadm writes ``scheduler.conf``) for ``kubeactor scheduler`` and ``kubeactor
controller-manager`` processes. Without a control plane it joins one with a kubeconfig's
credentials: kubelets (``kubeactor agent``), or a scheduler or a controller manager of its own.
:meth:`Cluster.stop` stops everything it started, in reverse order. On a running cluster,
:meth:`Cluster.start_scheduler` and :meth:`Cluster.start_admission` add a scheduler with
plugins of its own or an admission actor, each with its own certificate identity
(``bindings.cluster.extensions``).

This is the one place that wires bindings (SQLite, JetStream, Docker) into actors.

Neighbours: ``bindings.cluster.config`` (what it is asked to start),
``bindings.cluster.identities`` (who each component is), ``bindings.cluster.pki``,
``bindings.cluster.datadir``, ``bindings.cluster.bususers`` and ``bindings.cluster.audit``
(what it keeps in the data dir), ``bindings.cluster.nodes`` (the kubelets it hosts, mixed
in), ``bindings.cluster.monitoring`` (the metrics and health of the
process), ``bindings.cli.daemons`` (the verbs that run it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pykka

from actors.admission_actor import AdmissionActor
from actors.api import addresses, certs, storage
from actors.api.pods import DEFAULT_SCHEDULER
from actors.apiserver import (
    ApiServer,
    ApiServerConfig,
    Authorizer,
    EitherAuthenticator,
    Forwarding,
    NodeAuthorizer,
    SessionAuthenticator,
    TokenAuthenticator,
    busauth,
)
from actors.apiserver.admission.external import Registrations
from actors.apiserver.auditing import Auditor
from actors.apiserver.authn import BearerAuthenticator, ServiceAccountAuthenticator, store_lookup
from actors.apiserver.classifying import FlowControl
from actors.apiserver.customresources import CustomResources
from actors.apiserver.http import health
from actors.apiserver.instrumenting import RequestMetrics
from actors.apiserver.mirror import Mirror
from actors.apiserver.outcomes import Observers
from actors.apiserver.server import ADMISSION_KINDS
from actors.apiserver.tokens import TokenIssuer
from actors.client import leaderelection
from actors.client.client import Client
from actors.client.credentials import CertificateCredentials, Credentials
from actors.client.faultinjection import FaultInjector
from actors.client.leaderelection import LeaderElectionConfig, LeaderGate
from actors.controllers.controller import ControllerConfig
from actors.controllers.csrsigning import CSRSigningController, SignerConfig
from actors.controllers.manager import ControllerManager, ControllerManagerConfig
from actors.instruments import Instruments
from actors.kubelet.runtime import Runtime
from actors.kubelet.timers import Timers
from actors.scheduler import Plugin, ProfileConfig
from actors.scheduler.scheduler import Scheduler, SchedulerConfig
from actors.scheduler.shadowing import ShadowConfig, ShadowScheduler
from actors.store import Backend, Store
from bindings import kubeconfig
from bindings.backends.jetstream import JetStreamBackend
from bindings.backends.sqlite import SqliteBackend
from bindings.cluster import bususers, datadir, natsservers
from bindings.cluster.audit import AuditLog, audit_policy
from bindings.cluster.config import ClusterConfig, ClusterError
from bindings.cluster.extensions import Started
from bindings.cluster.identities import (
    ADMIN,
    CONTROL_PLANE_USERS,
    CONTROLLER_MANAGER,
    CSR_SIGNER,
    FAULT_INJECTOR,
    HTTPS_FRONT,
    SCHEDULER,
    ensure_tokens,
    node_identity,
)
from bindings.cluster.monitoring import (
    BusCollector,
    MetricsListener,
    TimedBackend,
    bus_checks,
    health_checks,
    storage_counts,
)
from bindings.cluster.nodes import Nodes
from bindings.cluster.pki import Pki, ensure_pki
from bindings.https import Front, HttpsListener, parse_listen, tls_context
from bus import BusConfig, Connection, NatsServer
from bus import loop as bus_loop
from bus.envelope import new_id
from bus.errors import AlreadyExists, UsageError, translated
from bus.inprocess import Door
from bus.permissions import ADMIN as BUS_ADMIN
from bus.permissions import APISERVER as BUS_APISERVER
from bus.permissions import STORE as BUS_STORE
from bus.permissions import authorization
from bus.subjects import EXEMPT_LANE, Subjects

log = logging.getLogger(__name__)



@dataclass
class Cluster(Nodes):
    """A running cluster; build with :meth:`start`, end with :meth:`stop`."""

    config: ClusterConfig
    nats_servers: list[NatsServer] = field(default_factory=list)
    """The embedded nats-servers (none when the cluster uses a NATS of its own)."""
    url: str = ""
    bus_ca: bytes | None = None
    """PEM of the CA the bus's servers are checked against (``tls://`` URLs): the cluster CA
    for the embedded nats-server, ``--nats-ca`` for a NATS of one's own."""
    kubeconfig_path: Path = field(default_factory=Path)
    _actors: list[pykka.ActorRef[Any]] = field(default_factory=list)
    _connections: list[Connection] = field(default_factory=list)
    _runtimes: list[Runtime] = field(default_factory=list)
    _timers: list[Timers] = field(default_factory=list)
    controller_manager: ControllerManager | None = None
    _tokens: dict[str, str] = field(default_factory=dict)
    _passwords: dict[str, str] = field(default_factory=dict)
    """NATS user -> password of the control plane's identities (``bindings.cluster.bususers``)."""
    _audit: AuditLog | None = None
    instruments: Instruments = field(default_factory=Instruments)
    """This process's metrics (``/metrics`` on the HTTPS port and on ``metrics_listen``)."""
    metrics: MetricsListener | None = None
    """The plain-HTTP ``/metrics`` listener, when ``metrics_listen`` asks for one."""
    checks: dict[str, list[health.Check]] = field(default_factory=dict)
    """This process's health checks by endpoint (the HTTPS port's and ``metrics``')."""
    _electors: list[leaderelection.LeaderElector] = field(default_factory=list)
    """The leader elections of this process's components (its ``leaderElection`` check)."""
    _lock: TextIO | None = None
    _pki: Pki | None = None
    https: HttpsListener | None = None
    """The HTTPS listener of Kubernetes' API (its ``url``), when the control plane runs here."""
    _progress: Callable[[str], None] = field(default=lambda step: None)

    @classmethod
    def start(cls, config: ClusterConfig,
              progress: Callable[[str], None] | None = None) -> Cluster:
        """Start what ``config`` asks for; ``progress`` hears each step as it begins.
        ClusterError (a file or a port it cannot use among them) stops what had started."""
        cluster = cls(config)
        cluster._progress = progress or (lambda step: None)
        try:
            with translated(ClusterError):
                cluster._start()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start(self) -> None:
        config = self.config
        self._start_metrics()
        names = config.node_names or tuple(f"node-{i}" for i in range(1, config.nodes + 1))
        if config.data_dir is None:  # a scheduler or a controller manager, nothing kept here
            if config.control_plane or names:
                raise ClusterError("a control plane or a kubelet needs a data dir")
            self._join()
            return
        data, self._lock = datadir.open_locked(config.data_dir)
        if config.control_plane:
            self._start_control_plane(data, names)
        else:
            self._join()
        cluster_id = datadir.cluster_id(data / "cluster-id")
        if names and config.runtime == "sim":
            self._start_sim_nodes(names)
        elif names:
            self._start_docker_nodes(names, data, cluster_id)

    def _start_metrics(self) -> None:
        """The bus's figures in this process's registry, and ``metrics_listen``'s listener."""
        self.instruments.registry.register(BusCollector(self._connections))
        self.checks.update(bus_checks(self._connections))  # an apiserver's replace these
        if self.config.metrics_listen is None:
            return
        try:
            self.metrics = MetricsListener(self.config.metrics_listen, self.instruments,
                                           self.checks)
        except UsageError as error:
            raise ClusterError(f"--metrics-listen {error}") from None
        except OSError as error:
            raise ClusterError(f"cannot serve metrics on {self.config.metrics_listen}: "
                               f"{error.strerror}") from None

    def _join(self) -> None:
        """Join the cluster of ``nats_url`` with ``credentials``: the scheduler and the
        controller manager when asked for (the kubelets follow in ``_start``)."""
        config = self.config
        if not (config.nats_url and config.credentials):
            raise ClusterError("components without a control plane need a NATS URL and "
                               "credentials (from --kubeconfig)")
        self.url = config.nats_url
        self._start_fault_injector()
        # Like kube-scheduler's <hostname>_<uuid>: a new replica at each start.
        self._start_controllers(f"{socket.gethostname()}_{new_id()}")

    def _start_control_plane(self, data: Path, names: tuple[str, ...]) -> None:
        """nats-server (unless given), store, apiserver, scheduler; then the kubeconfig."""
        config, say = self.config, self._progress
        tokens_path = (config.tokens_file or data / "tokens.csv").expanduser()
        self._tokens = ensure_tokens(tokens_path, [ADMIN, SCHEDULER, CONTROLLER_MANAGER] + [
            node_identity(name) for name in names])
        # Apiservers sharing a store share the first one's CA and ticket key (beside its tokens).
        pki = (config.tokens_file.expanduser().parent if config.tokens_file else data) / "pki"
        self._pki = ensure_pki(pki)
        nodes = [node_identity(name)[0] for name in names if config.runtime != "sim"]
        # Only today's users: a password the file still holds from an older cluster (its
        # ``anonymous``, a node's from before the callout) must not bypass the callout.
        users = [*CONTROL_PLANE_USERS, *nodes]
        kept = bususers.ensure_users(pki / bususers.FILE, users)
        self._passwords = {user: kept[user] for user in users}
        issuer = bususers.ensure_issuer(pki)
        if config.nats_url:
            self.url, self.bus_ca = config.nats_url, config.nats_ca
        else:
            say("nats-server" if config.nats_cluster == 1 else
                f"a NATS cluster of {config.nats_cluster} nats-servers")
            self.nats_servers = natsservers.start(data, pki, self._pki, natsservers.EmbeddedNats(
                config.nats_host, config.nats_port, config.nats_cluster,
                sync_always=config.store == "jetstream"), authorization(
                    self._passwords, Subjects(config.prefix), issuer.public))
            self.url = ",".join(server.url for server in self.nats_servers)
            self.bus_ca = certs.cert_pem(self._pki.ca)
        say(f"store ({config.store})")
        store = self._run(Store.start(TimedBackend(self._backend(data), self.instruments),
                                      config.storage))
        self.instruments.gauge_from(
            "apiserver_storage_objects", "Number of stored objects at the time of last check "
            "split by kind.", ("resource",), "store",
            storage_counts(store.proxy().view().get().state))
        say("apiserver")
        connection = self._connect(BUS_APISERVER, "apiserver")
        handshaker = self._pki.handshaker()
        service_accounts = ServiceAccountAuthenticator(
            self._pki.service_account_key.public_key(), store_lookup(store.proxy().view().get()))
        tokens = BearerAuthenticator(TokenAuthenticator.from_file(tokens_path), service_accounts)
        token_issuer = TokenIssuer(self._pki.service_account_key, tokens, service_accounts)
        busauth.serve(connection, issuer, self._pki.ca, tokens)  # who connects to the bus
        authenticator = EitherAuthenticator(  # one policy, one nonce cache for all workers
            tokens, SessionAuthenticator(self._pki.ticket_key, handshaker.window))
        # Shared by all workers: a change committed by one applies to the next request of any.
        authorizer, registrations = Authorizer(NodeAuthorizer()), Registrations()
        admission_objects, custom_resources = Mirror(ADMISSION_KINDS), CustomResources()
        flow_control = FlowControl()
        self._audit = AuditLog(config.audit_log or data / "audit.log",
                               max_bytes=config.audit_log_max_bytes,
                               max_backups=config.audit_log_max_backups)
        observer = Observers(Auditor(self._audit, audit_policy(config.audit_policy_file)),
                             RequestMetrics(self.instruments, Subjects(config.prefix)))
        # On a shared store, other apiserver processes may serve the same requests.
        server = new_id()[:8] if config.store == "jetstream" else None
        door = Door()  # the front hands its requests to the workers here
        forwarding = Forwarding(self._pki.ca, tokens, frozenset((HTTPS_FRONT[0],)))

        def worker(bus: Connection, served: Door | None, **options: Any) -> pykka.ActorRef[Any]:
            return self._run(ApiServer.start(
                bus, store=store.proxy(), authenticator=authenticator,
                config=ApiServerConfig(server=server, disabled_admission=config.disabled_admission,
                                       ranges=config.ranges, **options),
                token_issuer=token_issuer,
                authorizer=authorizer, handshaker=handshaker, registrations=registrations,
                observer=observer, admission_objects=admission_objects,
                custom_resources=custom_resources, door=served, flow_control=flow_control,
                forwarding=forwarding))

        # The first holds the watchers and bootstraps the policy.
        workers = [worker(connection, door, serves_watches=index == 0, bootstrap=index == 0,
                          lanes=("api",)) for index in range(config.apiserver_workers)]
        bootstrapper = workers[0]
        # The admin's lane: a worker, a connection and a loop thread of its own.
        lane = self._connect(BUS_APISERVER, "apiserver-exempt", bus_loop.Loop("kubeactor-exempt"))
        workers.append(worker(lane, None, serves_watches=False, bootstrap=False,
                              lanes=(EXEMPT_LANE,)))
        self._start_fault_injector()
        say("csr signer")  # where the CA's key is: every apiserver process
        self._run(CSRSigningController.start(*self._component("csr-signer", CSR_SIGNER),
                                             SignerConfig(self._pki.ca_key, self._pki.ca)))
        self.checks.update(health_checks(store, connection, workers, self._connections))
        deploy, client = self._component("deploy", ADMIN)  # what k3s deploys beside the API
        with contextlib.suppress(AlreadyExists):
            client.create(storage.CLASSES, storage.local_path_class(), None)
        deploy.close()  # (closing twice, at stop, is safe)
        if config.https_listen is not None:
            self._start_https(config.https_listen, pki, custom_resources, door)
            assert self.https is not None and bootstrapper is not None
            bootstrapper.proxy().publish_kubernetes_service(
                natsservers.local_address(self.https.host), self.https.port).get(timeout=60)
        if not config.apiserver_only:
            # Stable across restarts of this data dir: a restarted replica leads again at once.
            replica = datadir.cluster_id(data / "cluster-id")
            self._start_controllers(f"{socket.gethostname()}_{replica}")
        self.kubeconfig_path = data / "kubeconfig"
        self._write_kubeconfig(self.kubeconfig_path, pki / "admin", ADMIN, BUS_ADMIN)
        self._write_kubeconfig(data / "scheduler.kubeconfig", pki / "scheduler", SCHEDULER)
        self._write_kubeconfig(data / "controller-manager.kubeconfig",
                               pki / "controller-manager", CONTROLLER_MANAGER)

    def _start_https(self, listen: str, pki: Path, resources: CustomResources,
                     door: Door) -> None:
        """The HTTPS listener on ``listen``, with a serving certificate made now for its
        address, and its own identity on the bus; it serves what ``resources`` (the
        apiserver workers' own) says is served, and hands its requests to the workers through
        ``door``."""
        assert self._pki is not None
        self._progress("https listener")
        try:
            host, port = parse_listen(listen)
        except UsageError as error:
            raise ClusterError(f"--https-listen {error}") from None
        cert, key = self._pki.serving(pki / "apiserver-https", (
            host, "localhost", "127.0.0.1",  # and the kubernetes Service's, as kube-apiserver
            addresses.host(self.config.ranges.service_cidr, 0)))
        connection, _ = self._component("https", HTTPS_FRONT)
        front = Front(connection, self._credentials(HTTPS_FRONT), lambda: resources.served,
                      door=door, metrics=self.instruments.registry, checks=self.checks)
        listener = HttpsListener(front, tls_context(cert, key, certs.cert_pem(self._pki.ca)),
                                 host, port)
        try:
            self.https = listener.start()
        except OSError as error:
            raise ClusterError(f"cannot serve the HTTPS API on {listen}: {error.strerror}; give "
                               "--https-listen HOST:PORT (port 0: a free one)") from None

    def _write_kubeconfig(self, path: Path, keys: Path, identity: tuple[str, str],
                          bus_user: str | None = None) -> None:
        """The kubeconfig of ``identity`` at ``path``: its certificate (kept at ``keys``, so
        the file stays the same across restarts), token and NATS user (its user name unless
        ``bus_user``)."""
        assert self._pki is not None
        key, cert = self._pki.kept(keys, *identity)
        bus_user = bus_user or identity[0]
        kubeconfig.write(path, kubeconfig.KubeConfig(
            server=self.url, prefix=self.config.prefix, token=self._tokens[identity[0]],
            user=identity[0], client_cert=certs.cert_pem(cert), client_key=certs.key_pem(key),
            ca=certs.cert_pem(self._pki.ca), nats_ca=self.config.nats_ca, nats_user=bus_user,
            nats_password=self._passwords[bus_user],
            https=self.https.url.replace("0.0.0.0", "127.0.0.1") if self.https else None))

    def _start_fault_injector(self) -> None:
        """Every process hosting components follows the FaultPlans before its components
        start: the control plane's as its own identity, which deletes expired plans; any other
        as its kubeconfig's (``_component`` then reads no identity)."""
        connection, client = self._component("fault-injector", FAULT_INJECTOR)
        self._run(FaultInjector.start(connection, client,
                                      deletes_expired=self.config.control_plane))

    def _start_controllers(self, replica: str) -> None:
        """The scheduler and the controller manager (each unless turned off), each leading
        through its own Lease as ``replica`` (a replica in another process takes over when
        this one stops or dies)."""
        config, say = self.config, self._progress
        if config.scheduler:
            say("scheduler")
            lease = ("kube-scheduler" if config.scheduler_name == DEFAULT_SCHEDULER
                     else config.scheduler_name)
            connection, client = self._component("scheduler", SCHEDULER)
            self._checked(self._run(Scheduler.start(connection, client, SchedulerConfig(
                name=config.scheduler_name, leader_election=self._election(lease, replica)),
                config.profile.profile(client), instruments=self.instruments)))
        if config.shadow is not None:
            say("shadow scheduler")
            self.start_shadow(config.shadow)
        if config.controller_manager:
            self._start_controller_manager(replica)

    def _start_controller_manager(self, replica: str) -> None:
        config, say = self.config, self._progress
        say("controllers")
        connection, client = self._component("controller-manager", CONTROLLER_MANAGER)
        manager = self.controller_manager = ControllerManager(
            connection, client, ControllerManagerConfig(
                node_lifecycle=config.node_lifecycle, autoscaler=config.autoscaler,
                namespace_retry_seconds=config.namespace_retry_seconds,
                root_ca=self._root_ca(), ranges=config.ranges,
                controller=ControllerConfig(instruments=self.instruments)))
        gate = LeaderGate.start(connection, client, self._election(
            "kube-controller-manager", replica), manager.start, manager.stop)
        # Leading at once, its on_start starts every controller, each within its own
        # start_timeout_seconds: no limit on the whole here.
        self._checked(self._run(gate, timeout=None))

    def _checked(self, ref: pykka.ActorRef[Any]) -> None:
        """Add the elector of ``ref`` (a scheduler or a leader gate) to the process's
        ``leaderElection`` check of /healthz and /readyz, made with the first one."""
        elector = ref.proxy().elector.get(timeout=60)
        if elector is None:  # alone: not required to lead
            return
        if not self._electors:
            check = ("leaderElection", lambda: leaderelection.failing(self._electors))
            for checks in {id(c): c for c in (self.checks["/healthz"],
                                              self.checks["/readyz"])}.values():
                checks.append(check)
        self._electors.append(elector)

    def _root_ca(self) -> str | None:
        """The cluster CA (PEM) to publish in every namespace: the control plane's, else the
        one the credentials this process joins with trust."""
        ca = self._pki.ca if self._pki is not None else getattr(self.config.credentials, "ca",
                                                                 None)
        return certs.cert_pem(ca).decode() if ca is not None else None

    def _election(self, lease: str, replica: str) -> LeaderElectionConfig:
        """Leader election on ``lease`` as ``replica`` with the configured periods."""
        return dataclasses.replace(self.config.leader_election, lease_name=lease,
                                   identity=replica)

    def _backend(self, data: Path) -> Backend:
        if self.config.store == "sqlite":
            return SqliteBackend(data / "store.db")
        if self.config.store == "jetstream":
            return JetStreamBackend(self._connect(BUS_STORE, "store"), replicas=(
                self.config.store_replicas or self.config.nats_cluster))
        raise ClusterError(f"unknown store {self.config.store!r}: sqlite or jetstream")

    def _connect(self, user: str, name: str, loop: bus_loop.Loop = bus_loop.BUS) -> Connection:
        """A connection named ``name`` as NATS user ``user`` (an agent's: its kubeconfig's),
        read and written on ``loop``'s thread."""
        if self.config.control_plane:
            if user not in self._passwords:
                raise ClusterError(f"no NATS user {user} in the cluster's {bususers.FILE}")
            bus = self.bus(user)
        else:
            bus = dataclasses.replace(self.config.bus or BusConfig(), url=self.url,
                                      prefix=self.config.prefix)
        connection = Connection(bus, name, loop).connect()
        self._connections.append(connection)
        return connection

    def _component(self, name: str, identity: tuple[str, str]) -> tuple[Connection, Client]:
        """A connection and client of ``identity``, whose NATS user is its user name (without
        a control plane here: the kubeconfig's)."""
        connection = self._connect(identity[0], name)
        return connection, Client(connection, self._own_credentials(identity))

    def _own_credentials(self, identity: tuple[str, str]) -> Credentials:
        """What a component of ``identity`` shows the apiserver: a certificate made now by
        the control plane here, else its kubeconfig's (its context's: ``node_credentials``)."""
        if self.config.control_plane:
            return self._credentials(identity)
        credentials = self.config.node_credentials.get(identity[0], self.config.credentials)
        assert credentials is not None
        return credentials

    def _credentials(self, identity: tuple[str, str]) -> CertificateCredentials:
        """A certificate of this cluster's CA for ``(user, groups)``, made now."""
        assert self._pki is not None, "certificates come from the control plane's CA"
        key, cert = self._pki.issue(*identity)
        return CertificateCredentials(cert, key, self._pki.ca)

    def _run(self, ref: pykka.ActorRef[Any], timeout: float | None = 60
             ) -> pykka.ActorRef[Any]:
        """Keep ``ref`` for stop() and wait until its on_start has finished (or failed), at
        most ``timeout`` seconds (None: as long as it takes)."""
        self._actors.append(ref)
        try:
            proxy: Any = ref.proxy()
            proxy.use_daemon_thread.get(timeout=timeout)  # any attribute read waits for on_start
        except pykka.ActorDeadError:
            raise ClusterError(f"{ref.actor_class.__name__} failed to start; see the log above"
                               ) from None
        return ref

    def start_scheduler(self, name: str, plugins: tuple[Plugin, ...] | list[Plugin] = (),
                        weights: dict[str, int] | None = None) -> Started:
        """A scheduler ``name`` (pods choose it by ``spec.schedulerName``) with the default
        plugins followed by ``plugins``, the default weights updated by ``weights`` (keyed by
        plugin name), as the scheduler's identity; refused (TypeError, ValueError) before
        anything starts when the profile is (``ProfileConfig``)."""
        profile = ProfileConfig(tuple(plugins), dict(weights or {}))
        connection, client = self._component(f"scheduler-{name}", SCHEDULER)
        return Started(name, self._run(Scheduler.start(
            connection, client, SchedulerConfig(name=name), profile.profile(client),
            instruments=self.instruments)), connection)

    def start_shadow(self, config: ShadowConfig) -> Started:
        """A shadow scheduler (``actors.scheduler.shadowing``) as the scheduler's identity."""
        connection, client = self._component(config.name, SCHEDULER)
        return Started(config.name, self._run(ShadowScheduler.start(
            connection, client, config, instruments=self.instruments)), connection)

    def start_admission(self, actor_class: type[AdmissionActor], name: str, *args: Any,
                        user: str | None = None, **kwargs: Any) -> Started:
        """An admission actor of ``actor_class`` (``args``, ``kwargs``: its own) as user
        ``user`` (default ``name``), a new certificate of this cluster's CA: it serves
        ``<user>.<name>``, the returned handle's ``subject``, which an AdmissionRegistration
        then names."""
        with translated(ClusterError):
            credentials = self._credentials((user or name, ""))
            connection = Connection(self.bus_of(credentials), f"admission-{name}").connect()
        self._connections.append(connection)
        subject = f"{connection.owner}.{name}"
        return Started(name, self._run(actor_class.start(connection, subject, *args, **kwargs)),
                       connection, subject)

    def admin_client(self, name: str = "admin") -> Client:
        """A client with the admin's credentials on a new connection (closed by stop())."""
        return self._component(name, ADMIN)[1]

    def bus(self, user: str = BUS_ADMIN) -> BusConfig:
        """Where and as NATS user ``user`` (one of this cluster's) to connect to its bus."""
        return BusConfig(url=self.url, prefix=self.config.prefix, ca=self.bus_ca, user=user,
                         password=self._passwords.get(user))

    def bus_of(self, credentials: CertificateCredentials) -> BusConfig:
        """Where and as the NATS identity of ``credentials`` to connect to this cluster's bus
        (the auth callout admits it)."""
        return credentials.bus(BusConfig(url=self.url, prefix=self.config.prefix,
                                         ca=self.bus_ca))

    def credentials(self, user: str, groups: str = "") -> CertificateCredentials:
        """A new certificate of this cluster's CA for ``user`` in comma-separated ``groups``."""
        return self._credentials((user, groups))

    def token(self, user: str) -> str:
        return self._tokens[user]

    def stop(self) -> None:
        """Stop the HTTPS listener, actors (newest first), connections, runtimes and
        nats-server. Idempotent."""
        for connection in self._connections:  # a bus that is gone is not waited for
            connection.stopping()
        if self.https is not None:
            self.https.stop()
            self.https = None
        if self.metrics is not None:
            self.metrics.stop()
            self.metrics = None
        if self.controller_manager is not None:
            self.controller_manager.stop()
        for ref in reversed(self._actors):
            with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
                ref.stop(timeout=30)
        self._actors.clear()
        if self._audit is not None:
            self._audit.close()
            self._audit = None
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        for runtime in self._runtimes:
            runtime.close()
        self._runtimes.clear()
        for timers in self._timers:
            timers.stop()
        self._timers.clear()
        for server in self.nats_servers:
            server.stop()
        self.nats_servers.clear()
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None
