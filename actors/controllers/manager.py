"""The controller manager: kube-controller-manager's loops, started and stopped together.

One :class:`ControllerManager` owns the controller actors (node lifecycle, taint eviction,
pod GC, ReplicaSet, ReplicationController, Deployment, DaemonSet, StatefulSet, disruption budgets,
garbage collector, namespace, service accounts, Job, CronJob, TTL after finished,
EndpointSlices, node IPAM, horizontal pod autoscaler, persistent volume binder, volume
protection and, given the cluster CA, the root CA publisher), all under one identity
(``system:kube-controller-manager``) on one connection.
:meth:`ControllerManager.start` and :meth:`ControllerManager.stop` may be called again and
again: they are what a leader elector calls when this replica starts or stops leading, so
that only one replica's controllers act.

Neighbours: ``actors.controllers.controller`` (the shared base), ``bindings.cluster.launcher``
(which builds it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pykka

from actors.api import addresses
from actors.client.client import Client
from actors.controllers.controller import ControllerConfig
from actors.controllers.cronjob import CronJobController
from actors.controllers.daemonset import DaemonSetController
from actors.controllers.deployment import DeploymentController
from actors.controllers.disruptionbudget import DisruptionBudgetController
from actors.controllers.endpointslice import EndpointSliceController
from actors.controllers.garbagecollector import GarbageCollector
from actors.controllers.job import JobController
from actors.controllers.namespace import NamespaceController
from actors.controllers.nodeipam import NodeIpamController
from actors.controllers.nodelifecycle import NodeLifecycleConfig, NodeLifecycleController
from actors.controllers.persistentvolume import PersistentVolumeController
from actors.controllers.podautoscaler import AutoscalerConfig, PodAutoscalerController
from actors.controllers.podgc import PodGCController
from actors.controllers.replicaset import ReplicaSetController, ReplicationManager
from actors.controllers.serviceaccounts import RootCAPublisher, ServiceAccountsController
from actors.controllers.statefulset import StatefulSetController
from actors.controllers.tainteviction import TaintEvictionController
from actors.controllers.ttlafterfinished import TTLAfterFinishedController
from actors.controllers.volumeprotection import VolumeProtectionController
from bus.connection import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ControllerManagerConfig:
    node_lifecycle: NodeLifecycleConfig = field(default_factory=NodeLifecycleConfig)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    """Retry backoff shared by every controller."""
    namespace_retry_seconds: float = 2.0
    """How often a terminating namespace that still holds objects is looked at again."""
    start_timeout_seconds: float = 60.0
    """How long each controller may take to list what it follows at start."""
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    """The HPA controller's sync period and default scale-down window."""
    root_ca: str | None = None
    """The cluster CA (PEM) published in every namespace as ``kube-root-ca.crt``; None: not
    published (no CA known)."""
    ranges: addresses.Ranges = field(default_factory=addresses.Ranges)
    """The cluster's address ranges: nodes' pod ranges come from its ``cluster_cidr``."""


class ControllerManager:
    """Starts and stops the controllers; thread-safe."""

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerManagerConfig | None = None) -> None:
        self.connection, self.client = connection, client
        self.config = config or ControllerManagerConfig()
        self._refs: list[pykka.ActorRef[Any]] = []
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return bool(self._refs)

    def start(self) -> None:
        """Start every controller (when not running) and wait until each has listed what it
        follows. Blocks the calling thread; a controller that fails to start stops the rest
        and raises."""
        with self._lock:
            if self._refs:
                return
            config, conn, client = self.config, self.connection, self.client
            starters: list[Callable[[], pykka.ActorRef[Any]]] = [
                lambda: NodeLifecycleController.start(conn, client, config.node_lifecycle),
                lambda: TaintEvictionController.start(conn, client, config.controller),
                lambda: PodGCController.start(conn, client, config.controller),
                lambda: ReplicaSetController.start(conn, client, config.controller),
                lambda: ReplicationManager.start(conn, client, config.controller),
                lambda: DeploymentController.start(conn, client, config.controller),
                lambda: DaemonSetController.start(conn, client, config.controller),
                lambda: StatefulSetController.start(conn, client, config.controller),
                lambda: DisruptionBudgetController.start(conn, client, config.controller),
                lambda: GarbageCollector.start(conn, client, config.controller),
                lambda: NamespaceController.start(conn, client, config.controller,
                                                  config.namespace_retry_seconds),
                lambda: ServiceAccountsController.start(conn, client, config.controller),
                lambda: JobController.start(conn, client, config.controller),
                lambda: CronJobController.start(conn, client, config.controller),
                lambda: TTLAfterFinishedController.start(conn, client, config.controller),
                lambda: EndpointSliceController.start(conn, client, config.controller),
                lambda: NodeIpamController.start(conn, client, config.controller,
                                                 config.ranges),
                lambda: PodAutoscalerController.start(conn, client, config.controller,
                                                      config.autoscaler),
                lambda: PersistentVolumeController.start(conn, client, config.controller),
                lambda: VolumeProtectionController.start(conn, client, config.controller),
            ]
            if config.root_ca is not None:
                root_ca = config.root_ca
                starters.append(lambda: RootCAPublisher.start(conn, client, root_ca,
                                                              config.controller))
            try:
                for start in starters:
                    ref = start()
                    self._refs.append(ref)
                    ref.proxy().use_daemon_thread.get(  # waits for on_start
                        timeout=config.start_timeout_seconds)
            except BaseException:
                self._stop_all()
                raise
            log.info("controller manager: %d controllers running", len(self._refs))

    def stop(self) -> None:
        """Stop every controller (newest first); nothing happens when none runs."""
        with self._lock:
            self._stop_all()

    def _stop_all(self) -> None:
        for ref in reversed(self._refs):
            try:
                ref.stop(timeout=30)
            except (pykka.ActorDeadError, pykka.Timeout):
                log.warning("controller %s did not stop cleanly", ref.actor_class.__name__)
        self._refs.clear()
