"""A NATS cluster that survives losing a node (issue 19, item 4): ``up --nats-cluster 3 --store
jetstream`` runs three routed nats-servers and keeps the store in a bucket of three replicas;
kill -9 any one while creates stream in and no acknowledged create is lost, and the control
plane carries on (it schedules a new pod after each loss)."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from pathlib import Path
from typing import Any

from actors.client.client import Client
from bindings.backends.jetstream import bucket_name
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection
from bus import loop as bus_loop
from bus.errors import AlreadyExists, ApiError, BusError
from bus.permissions import ADMIN, STORE
from tests.conftest import pod, wait_for
from tests.support import until

RESUMED = 20.0
"""Seconds within which writes resume after a server is lost: JetStream elects a new leader
of the bucket's stream, and a write in flight to the lost leader waits out its 10 s before it
fails (issue 19 asks for 5 s: not met yet, see benchmarks/RESULTS.md, One-off)."""


class Creates:
    """A stream of ConfigMap creates from a thread of its own, noting those acknowledged."""

    def __init__(self, cluster: Cluster) -> None:
        self.client = cluster.admin_client("creates")
        self.acknowledged: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for number in itertools.count():
            if self._stop.is_set():
                return
            name = f"cm-{number:05d}"
            try:
                self.client.create("configmaps", {"metadata": {"name": name}, "data": {}})
            except (BusError, ApiError):
                continue  # not acknowledged: it may or may not be there
            self.acknowledged.append(name)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(60)
        return self.acknowledged


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
    # A request lost with the server it went through is tried again after 1 s, not 10.
    quick = Connection(dataclasses.replace(cluster.bus(ADMIN), request_timeout=1.0),
                       "quick").connect()
    try:
        assert len(cluster.url.split(",")) == 3
        admin = cluster.admin_client()
        impatient = Client(quick, cluster.credentials("impatient", "system:masters"))
        creates = Creates(cluster)
        for number, server in enumerate(cluster.nats_servers):
            wanted = 20 * (number + 1)
            until(lambda wanted=wanted: len(creates.acknowledged) > wanted or None,
                  failure="creates are not acknowledged")
            server.kill()
            until(lambda number=number: created(impatient, pod(f"after-{number}")), timeout=RESUMED,
                  failure=f"writes did not resume within {RESUMED:g} s")
            wait_for(admin, "pods", f"after-{number}", lambda p: bool(p["spec"].get("nodeName")))
            server.start()
            until(lambda: replicas_current(observer, cluster.config.prefix) or None,
                  failure=f"nats-server {number + 1} never caught up")
        acknowledged = creates.stop()
        stored = {item["metadata"]["name"] for item in admin.list("configmaps")["items"]}
        assert len(acknowledged) > 60 and set(acknowledged) <= stored
    finally:
        quick.close()
        observer.close()
        cluster.stop()
