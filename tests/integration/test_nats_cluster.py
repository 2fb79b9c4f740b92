"""A NATS cluster that survives losing a node (issue 19, item 4): ``up --nats-cluster 3 --store
jetstream`` runs three routed nats-servers and keeps the store in a bucket of three replicas;
kill -9 any one while creates stream in from three clients: no acknowledged create is lost or
written twice, creates are acknowledged again within :data:`RESUMED` seconds of the kill (within
:data:`ELECTED` when the server lost led the bucket's stream), and the control plane carries on
(it schedules a new pod after each loss)."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
import time
from pathlib import Path
from typing import Any

from actors.client.client import Client, WatchEvent
from bindings.backends.jetstream import bucket_name
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection, NatsServer
from bus import loop as bus_loop
from bus.errors import AlreadyExists, ApiError, BusError
from bus.permissions import ADMIN, STORE
from tests.conftest import pod, wait_for
from tests.support import until

RESUMED = 5.0
"""Seconds within which writes resume after a server is lost (issue 19): the longest time
between two acknowledged creates around a kill."""
ELECTED = 10.0
"""The same when the server lost led the bucket's stream: the two others elect a new leader,
which nats-server's RAFT starts 4 to 9 s (random, not configurable) after the last word from
the old one."""
WRITERS = 3
"""Clients streaming creates, each on a connection of its own (to a server of its own, as may
be): one whose request went through the server lost waits out its deadline, the others go on."""


@dataclasses.dataclass(frozen=True, slots=True)
class Acknowledged:
    name: str
    at: float
    """When the create was acknowledged (monotonic)."""
    revision: str
    """The resourceVersion it was acknowledged with."""


class Creates:
    """Streams of ConfigMap creates from :data:`WRITERS` threads, each of a new name, noting the
    acknowledged ones, those whose outcome is unknown (an error: it may or may not be there)
    and those refused as existing (a create of a new name can only meet itself: a retry that
    did not know its first try was stored)."""

    def __init__(self, cluster: Cluster) -> None:
        self.acknowledged: list[Acknowledged] = []
        self.unknown: list[str] = []
        self.existing: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True, args=(
            cluster.admin_client(f"creates-{writer}"), writer)) for writer in range(WRITERS)]
        for thread in self._threads:
            thread.start()

    def _run(self, client: Client, writer: int) -> None:
        for number in itertools.count():
            if self._stop.is_set():
                return
            name = f"cm-{writer}-{number:05d}"
            try:
                stored = client.create("configmaps", {"metadata": {"name": name},
                                                      "data": {"n": str(number)}})
            except AlreadyExists:
                self.existing.append(name)
                continue
            except (BusError, ApiError):
                self.unknown.append(name)
                continue
            self.acknowledged.append(Acknowledged(name, time.monotonic(),
                                                  stored["metadata"]["resourceVersion"]))

    def since(self, moment: float) -> int:
        """How many creates were acknowledged after ``moment``."""
        return sum(1 for ack in list(self.acknowledged) if ack.at > moment)

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time without an acknowledged create from the last acknowledgement
        before ``start`` to ``end`` (monotonic)."""
        times = sorted(ack.at for ack in list(self.acknowledged))
        points = [max(t for t in times if t <= start)] + [t for t in times if start < t <= end]
        return max(later - earlier for earlier, later in itertools.pairwise(points))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


class Events:
    """The watch events of the ConfigMaps since ``revision``, by name (the apiserver replays
    them from its history): a create written twice shows as a MODIFIED after its ADDED."""

    def __init__(self, client: Client, revision: str) -> None:
        self.types: dict[str, list[str]] = {}
        self.watch = client.watch("configmaps", self._on_event, namespace="default",
                                  resource_version=revision)

    def _on_event(self, event: WatchEvent) -> None:
        name = event.object.get("metadata", {}).get("name")
        if name is not None and event.type != "BOOKMARK":
            self.types.setdefault(name, []).append(event.type)


def created(client: Any, obj: dict[str, Any]) -> bool | None:
    """Whether ``obj`` was created (None: not yet, the error says to try again)."""
    try:
        client.create("pods", obj)
    except AlreadyExists:
        return True  # an earlier try was stored, its answer lost
    except ApiError as error:
        if error.retryable:
            return None
        raise
    return True


def leader(connection: Connection, prefix: str) -> str | None:
    """The name of the nats-server leading the store's stream (None: none now)."""
    async def look() -> Any:
        return (await connection.nc.jetstream().stream_info(f"KV_{bucket_name(prefix)}")).cluster
    with contextlib.suppress(Exception):  # no leader: none
        return bus_loop.wait(look(), timeout=10).leader
    return None


def name_of(server: NatsServer) -> str:
    """The name a nats-server of the cluster goes by (``bus.server``)."""
    return f"kubeactor-{server.host}-{server.cluster_port}"


def replicas_current(connection: Connection, prefix: str) -> bool:
    """Whether the store's stream has a leader and both other replicas are caught up."""
    async def look() -> Any:
        return (await connection.nc.jetstream().stream_info(f"KV_{bucket_name(prefix)}")).cluster
    try:
        cluster = bus_loop.wait(look(), timeout=10)
    except Exception:  # no leader yet: asked again
        return False
    return bool(cluster.leader and len(cluster.replicas or []) == 2 and all(
        replica.current and not replica.offline for replica in cluster.replicas))


def test_killing_each_nats_server_in_turn_loses_no_acknowledged_create(tmp_path: Path):
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path, nodes=1, runtime="sim",
                                          store="jetstream", nats_cluster=3,
                                          https_listen=None))
    observer = Connection(cluster.bus(STORE), "observer").connect()
    # The pod after each loss is created again after 1 s without an answer, not 10.
    quick = Connection(dataclasses.replace(cluster.bus(ADMIN), request_timeout=1.0),
                       "quick").connect()
    gaps: list[tuple[bool, float, float]] = []
    try:
        assert len(cluster.url.split(",")) == 3
        admin = cluster.admin_client()
        impatient = Client(quick, cluster.credentials("impatient", "system:masters"))
        start = admin.list("configmaps", "default")["metadata"]["resourceVersion"]
        creates = Creates(cluster)
        for number, server in enumerate(cluster.nats_servers):
            until(lambda: creates.since(time.monotonic() - 1) > 10 or None,
                  failure="creates are not acknowledged")
            led = leader(observer, cluster.config.prefix) == name_of(server)
            killed = time.monotonic()
            server.kill()
            until(lambda killed=killed: creates.since(killed) > 10 or None, timeout=30,
                  failure="creates did not resume")
            resumed = creates.longest_gap(killed, time.monotonic())
            until(lambda number=number: created(impatient, pod(f"after-{number}")),
                  failure="the pod after the loss was never created")
            wait_for(admin, "pods", f"after-{number}", lambda p: bool(p["spec"].get("nodeName")))
            server.start()
            until(lambda: replicas_current(observer, cluster.config.prefix) or None,
                  failure=f"nats-server {number + 1} never caught up")
            gaps.append((led, resumed, creates.longest_gap(killed, time.monotonic())))
        creates.stop()
        print("(led the stream, longest gap after the kill, until caught up again) (s):", gaps)
        stored = {item["metadata"]["name"]: item["metadata"]["resourceVersion"]
                  for item in admin.list("configmaps")["items"]
                  if item["metadata"]["name"].startswith("cm-")}
        assert len(creates.acknowledged) > 60
        assert {ack.name: ack.revision for ack in creates.acknowledged}.items() <= stored.items()
        assert set(stored) <= {ack.name for ack in creates.acknowledged} | set(creates.unknown)
        assert creates.existing == []
        events = Events(admin, start)
        until(lambda: set(stored) <= set(events.types) or None,
              failure="the apiserver did not replay every create")
        assert {name: types for name, types in events.types.items() if types != ["ADDED"]} == {}
        assert all(resumed < (ELECTED if led else RESUMED) for led, resumed, _ in gaps), gaps
    finally:
        quick.close()
        observer.close()
        cluster.stop()
