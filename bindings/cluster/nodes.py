"""The kubelets a cluster process hosts: on Docker, one actor and one connection per node (and
one service proxy and local-path provisioner for the host); simulated, every node in one actor
on one connection (NATS user ``system:node-sim``). :class:`Nodes` is mixed into
``launcher.Cluster``.

Neighbours: ``bindings.cluster.launcher`` (the cluster that starts them),
``actors.kubelet`` (the kubelets), ``bindings.runtimes`` (Docker and the simulation),
``actors.proxy`` and ``actors.storage`` (what runs beside them).

Which thread: the launcher's caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pykka

from actors.client.client import Client
from actors.client.credentials import Credentials
from actors.instruments import Instruments
from actors.kubelet.config import KubeletConfig, host_cpu, host_memory
from actors.kubelet.kubelet import Kubelet, Node
from actors.kubelet.runtime import Runtime, RuntimeFailure
from actors.kubelet.timers import Timers
from actors.proxy.proxy import ServiceProxy
from actors.storage.localpath import LocalPathProvisioner
from bindings.cluster.config import ClusterConfig, ClusterError
from bindings.cluster.identities import node_identity
from bindings.cluster.monitoring import MeteredRuntime
from bindings.proxy import TcpForwarder
from bindings.runtimes.sim import SimRuntime
from bindings.storage import LocalDisk
from bus import Connection
from bus.errors import translated
from bus.permissions import NODE_SIM

SIM_POD_WORKERS = 64
"""Pod workers of a kubelet of simulated nodes (a real kubelet syncs each pod on a goroutine
of its own). A pod's start waits on two API round trips (its service account token, its
volume's ConfigMap) and little else here: with 8 workers, 1,000 nodes started 70-85 pods a
second at load 12 while the scheduler had bound thousands more (``benchmarks/RESULTS.md``,
sim_scale, 2026-12-07, s10)."""


class Nodes:
    """The kubelets of ``launcher.Cluster`` (mixed in: see the module docstring)."""

    config: ClusterConfig
    instruments: Instruments
    _actors: list[pykka.ActorRef[Any]]
    _runtimes: list[Runtime]
    _timers: list[Timers]

    _progress: Callable[[str], None]

    if TYPE_CHECKING:
        def _connect(self, user: str, name: str) -> Connection: ...
        def _own_credentials(self, identity: tuple[str, str]) -> Credentials: ...
        def _run(self, ref: pykka.ActorRef[Any], timeout: float | None = 60
                 ) -> pykka.ActorRef[Any]: ...

    def _start_docker_nodes(self, names: tuple[str, ...], data: Path, cluster_id: str) -> None:
        """A kubelet on Docker for each of ``names``, each on a connection as its own node;
        one service proxy and one local-path provisioner for the host, as the first node."""
        nodes = []
        for name in names:
            self._progress(f"kubelet {name}")
            runtime = self._runtime(name, cluster_id, data / "kubelet" / name / "pods")
            connection = self._connect(node_identity(name)[0], f"kubelet-{name}")
            nodes.append((connection, self._node(connection, name, runtime)))
            self._run(Kubelet.start(connection, [nodes[-1][1]]))
        self._progress("service proxy")
        connection, node = nodes[0]
        self._run(ServiceProxy.start(connection, node.client, TcpForwarder(),
                                     node.config.address))
        self._start_provisioner(connection, [each for _, each in nodes])

    def _node(self, connection: Connection, name: str, runtime: Runtime,
              **overrides: Any) -> Node:
        """One node for a kubelet, with its own identity on ``connection``."""
        config = self.config
        client = Client(connection, self._own_credentials(
            node_identity(name, simulated=connection.owner == NODE_SIM)),
            field_validation="Strict")  # a field it writes that the API lacks is its bug
        metered = cast(Runtime, MeteredRuntime(runtime, self.instruments, name))
        return Node(client, metered, KubeletConfig(
            node_name=name, cpu=config.node_cpu or host_cpu(),
            memory=config.node_memory or host_memory(),
            lease_duration_seconds=config.node_lease_duration_seconds,
            # Within one lease the kubelet puts back a Ready the controller took away on a
            # stale view of the Lease (a race when the kubelet comes back).
            node_status_seconds=min(60.0, config.node_lease_duration_seconds),
            max_pods=config.max_pods, backoff_base=config.backoff_base, **overrides))

    def _start_sim_nodes(self, names: tuple[str, ...]) -> None:
        """Every simulated node in one kubelet actor on one connection: no thread per node.
        Here the connection is NATS user ``system:node-sim``, a kubelet of every node; an
        agent's is its own node's."""
        self._progress(f"{len(names)} simulated kubelet(s)")
        connection = self._connect(NODE_SIM, "kubelet-sim")
        timers = Timers("sim-containers")
        self._timers.append(timers)
        lister = Client(connection, self._own_credentials((NODE_SIM, "")))
        nodes = [self._node(connection, name, SimRuntime(name, timers),
                            record_events=self.config.sim_events,
                            pod_workers=SIM_POD_WORKERS)
                 for name in names]
        self._run(Kubelet.start(connection, nodes, lister))
        self._start_provisioner(connection, nodes)

    def add_sim_nodes(self, *names: str) -> None:
        """Start simulated kubelets of more nodes, as machines joining a running cluster."""
        with translated(ClusterError):
            self._start_sim_nodes(names)

    def _start_provisioner(self, connection: Connection, nodes: list[Node]) -> None:
        """The local-path provisioner of this process's nodes, each writing as its own."""
        assert self.config.data_dir is not None, "nodes run with a data dir"
        kubelets = self.config.data_dir.expanduser().resolve() / "kubelet"
        self._run(LocalPathProvisioner.start(connection, nodes[0].client, LocalDisk(), {
            n.config.node_name: kubelets / n.config.node_name / "storage" for n in nodes},
            {n.config.node_name: n.client for n in nodes}))

    def _runtime(self, node_name: str, cluster_id: str, pods_dir: Path) -> Runtime:
        """A Docker runtime for ``node_name``, writing pods' volume files under ``pods_dir``."""
        runtime: Runtime
        if self.config.runtime != "docker":
            raise ClusterError(f"unknown runtime {self.config.runtime!r}: docker or sim")
        # imported here, not above: an agent of simulated nodes (and every process without
        # a kubelet) need not load the Docker SDK and requests
        from bindings.runtimes import docker
        try:
            runtime = docker.DockerRuntime(node_name, cluster_id, pods_dir=pods_dir)
        except RuntimeFailure as failure:
            raise ClusterError(
                "cannot reach the Docker engine (DOCKER_HOST, else /var/run/docker.sock): start "
                f"dockerd, e.g. with scripts/setup ({failure.message})") from None
        self._runtimes.append(runtime)
        return runtime

    def stop_kubelet(self, node: str) -> None:
        """Stop the kubelet of ``node`` as when its machine is lost: no heartbeat, no pod
        status, its Node object left behind (tests of node failure)."""
        for ref in self._actors:
            if ref.actor_class is Kubelet and ref.proxy().lose(node).get(timeout=30):
                return
        raise KeyError(f"no kubelet of node {node} runs here")
