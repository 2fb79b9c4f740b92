"""A watch that missed events resumes from the last revision it took (client-go's reflector
re-establishing a broken watch), on a real NATS cluster of two: an informer whose nats-server
is gone while objects are created through the other one has every one of them once its
connection is back, and goes on hearing of new ones."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from actors.client.client import Client
from actors.client.informer import Informer
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection
from bus import loop as bus_loop
from bus.errors import AlreadyExists, ApiError
from bus.permissions import ADMIN
from tests.support import until

CREATED_MEANWHILE = 20


def configmap(name: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "data": {"k": name}}


def created(client: Client, name: str) -> bool | None:
    """Whether ConfigMap ``name`` was created (None: not yet, the apiserver's subscriptions
    are still on their way to the server the writer moved to)."""
    try:
        client.create("configmaps", configmap(name))
    except AlreadyExists:
        return True  # an earlier try was stored, its answer lost
    except ApiError as error:
        if error.retryable:
            return None
        raise
    return True


def only_its_own_server(connection: Connection) -> None:
    """Keep ``connection`` from reconnecting to the servers of the cluster it heard of (nats-py
    adds them): it stays down until its own is back, so the objects are created while it is."""

    async def forget() -> None:
        pool = connection.nc._server_pool
        pool[:] = [server for server in pool if not server.discovered]

    bus_loop.wait(forget(), timeout=5)


def test_an_informer_keeps_every_object_created_while_its_nats_server_was_gone(tmp_path: Path):
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path, nodes=0, runtime="sim",
                                          nats_cluster=2, apiserver_only=True,
                                          https_listen=None))
    lone = cluster.nats_servers[1]
    connection = Connection(dataclasses.replace(cluster.bus(ADMIN), url=lone.url),
                            "informer").connect()
    client = Client(connection, cluster.credentials("informer", "system:masters"))
    resumed = threading.Event()
    informer = Informer(client, "configmaps", lambda event: None, namespace="default").start()
    try:
        writer = cluster.admin_client("writer")
        writer.create("configmaps", configmap("before"))
        until(lambda: informer.get("before", "default"), failure="no event before the loss")
        only_its_own_server(connection)
        connection.when_reconnected(resumed.set)
        lone.stop()
        until(lambda: connection.down, failure="the informer's connection never noticed")
        meanwhile = [f"meanwhile-{n}" for n in range(CREATED_MEANWHILE)]
        for name in meanwhile:  # through the other server (the writer reconnects there)
            until(lambda name=name: created(writer, name), failure=f"{name} not created")
        assert connection.down and not resumed.is_set()  # all while the informer was cut off
        lone.start()  # on the same port
        until(lambda: all(informer.get(name, "default") for name in meanwhile), timeout=20,
              failure="the informer missed objects created while its server was gone")
        writer.create("configmaps", configmap("after"))
        until(lambda: informer.get("after", "default"), failure="no event after resuming")
    finally:
        informer.stop()
        connection.close()
        cluster.stop()
