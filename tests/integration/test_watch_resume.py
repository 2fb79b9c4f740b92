"""A watch that missed events resumes from the last revision it took (client-go's reflector
re-establishing a broken watch), on real nats-servers: an informer whose nats-server is gone
while objects are created through another one of the NATS cluster has every one of them once
its connection is back, and goes on hearing of new ones; an informer whose connection never
drops but whose watch events are dropped, duplicated and reordered on the way notices by their
numbers and ends up with every object as stored."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from actors.client.client import Client
from actors.client.informer import Informer
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection, faults
from bus import loop as bus_loop
from bus.permissions import ADMIN
from tests.conftest import pod
from tests.integration.test_nats_cluster import created
from tests.support import until

CREATED_MEANWHILE = 20
CREATED_LOSSY = 40


@pytest.fixture
def with_controllers() -> bool:
    """Nothing but the tests write (``control_plane``)."""
    return False


def configmap(name: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "data": {"k": name}}


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
                                          disabled_admission=("ServiceAccount",),
                                          https_listen=None))  # nothing makes accounts
    lone = cluster.nats_servers[1]
    connection = Connection(dataclasses.replace(cluster.bus(ADMIN), url=lone.url),
                            "informer").connect()
    client = Client(connection, cluster.credentials("informer", "system:masters"))
    resumed = threading.Event()
    informer = Informer(client, "pods", lambda event: None, namespace="default").start()
    try:
        writer = cluster.admin_client("writer")
        writer.create("pods", pod("before"))
        until(lambda: informer.get("before", "default"), failure="no event before the loss")
        only_its_own_server(connection)
        connection.when_reconnected(resumed.set)
        lone.stop()
        until(lambda: connection.down, failure="the informer's connection never noticed")
        meanwhile = [f"meanwhile-{n}" for n in range(CREATED_MEANWHILE)]
        for name in meanwhile:  # through the other server (the writer reconnects there)
            until(lambda name=name: created(writer, pod(name)), failure=f"{name} not created")
        assert connection.down and not resumed.is_set()  # all while the informer was cut off
        lone.start()  # on the same port
        back = time.monotonic()
        until(lambda: all(informer.get(name, "default") for name in meanwhile), timeout=20,
              failure="the informer missed objects created while its server was gone")
        print(f"every object created meanwhile {time.monotonic() - back:.2f}s after its "
              "server was back")
        writer.create("pods", pod("after"))
        until(lambda: informer.get("after", "default"), failure="no event after resuming")
    finally:
        informer.stop()
        connection.close()
        cluster.stop()


def test_an_informer_whose_watch_events_are_lost_on_the_way_keeps_every_object(
        control_plane: Cluster):
    connection = Connection(control_plane.bus(ADMIN), "informer").connect()
    client = Client(connection, control_plane.credentials("informer", "system:masters"))
    informer = Informer(client, "configmaps", lambda event: None, namespace="default",
                        lease_seconds=1.5).start()  # a lost tail is noticed at a renewal
    plan = faults.FaultPlan(
        "lossy-watch", (f"{control_plane.config.prefix}.watch.{connection.owner}.>",),
        until=time.time() + 120, drop=0.2, duplicate=0.2, reorder=0.2, seed=7)
    faults.PROCESS.install(plan)
    try:
        writer = control_plane.admin_client("writer")
        for number in range(CREATED_LOSSY):
            writer.create("configmaps", configmap(f"lossy-{number}"))
        writer.delete("configmaps", "lossy-0")
        writer.update("configmaps", {**writer.get("configmaps", "lossy-1"), "data": {"k": "v2"}})
        stored = {obj["metadata"]["name"]: obj["metadata"]["resourceVersion"]
                  for obj in writer.list("configmaps", "default")["items"]}
        until(lambda: {obj["metadata"]["name"]: obj["metadata"]["resourceVersion"]
                       for obj in informer.items()} == stored, timeout=30,
              failure="the informer's objects are not those stored")
    finally:
        faults.PROCESS.remove(plan.name)
        informer.stop()
        connection.close()
