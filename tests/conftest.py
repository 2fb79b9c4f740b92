"""Fixtures shared by every tier: a real nats-server, an in-process control plane, helpers that
wait on watch events (never on sleeps)."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api.objects import Object
from actors.client.client import Client, WatchEvent
from actors.store import Backend
from bindings import kubeconfig
from bindings.backends.jetstream import JetStreamBackend
from bindings.backends.sqlite import SqliteBackend
from bindings.cluster import Cluster, ClusterConfig
from bus import BusConfig, Connection, NatsServer
from bus.errors import Conflict
from tests.processes import UpProcess

NOBODY_TOKEN = "nobody-token-0123456789"
"""A valid identity (user ``nobody``) bound to no role."""


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path / "nats") as server:
        yield server


STORES = ("sqlite", "jetstream")
"""The store backends; the contract tests run on each (``params=STORES``)."""


@pytest.fixture
def store_kind() -> str:
    """The backend of ``control_plane`` and ``open_backend``: SQLite, unless a test module
    overrides this fixture with ``params=STORES`` to run on every backend."""
    return "sqlite"


@pytest.fixture
def open_backend(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
                 ) -> Iterator[Callable[[], Backend]]:
    """Open a ``store_kind`` backend on this test's data; each call opens another one on the
    same data (a restart). JetStream's is a bucket on a real nats-server."""
    connections: list[Connection] = []

    def open_one() -> Backend:
        if store_kind == "sqlite":
            return SqliteBackend(tmp_path / "store.db")
        server: NatsServer = request.getfixturevalue("nats_server")
        connections.append(Connection(BusConfig(url=server.url), "store").connect())
        return JetStreamBackend(connections[-1])

    yield open_one
    for connection in connections:
        connection.close()


@pytest.fixture
def with_controllers() -> bool:
    """Whether ``control_plane`` runs the scheduler and the controllers: yes, unless a module
    testing the API alone overrides this fixture with False (then nothing but the test writes:
    no pod gets a scheduler's condition, no Lease is renewed)."""
    return True


@pytest.fixture
def control_plane(tmp_path: Path, store_kind: str, with_controllers: bool) -> Iterator[Cluster]:
    """Store, apiserver, scheduler and controllers on a real embedded nats-server; no
    kubelets."""
    data = tmp_path / "cluster"
    data.mkdir()
    with (data / "tokens.csv").open("w", newline="") as handle:
        csv.writer(handle).writerow([NOBODY_TOKEN, "nobody", "nobody", ""])
    cluster = Cluster.start(ClusterConfig(
        data_dir=data, nodes=0, store=store_kind, apiserver_only=not with_controllers,
        # no controller makes the default service accounts
        disabled_admission=() if with_controllers else ("ServiceAccount",)))
    yield cluster
    cluster.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., Connection]]:
    """Open test connections: ``connect(url, name)`` without credentials (an open bus),
    ``connect(cluster, name)`` as NATS identity ``test:<name>`` of a locked-down cluster (a
    certificate of its CA) or ``connect(cluster.bus(user), name)``; all are closed after the
    test."""
    opened: list[Connection] = []

    def open_one(url: str | BusConfig | Cluster, name: str, prefix: str = "kubeactor"
                 ) -> Connection:
        if isinstance(url, Cluster):
            bus = url.bus_of(url.credentials(f"test:{name}"))
        else:
            bus = url if isinstance(url, BusConfig) else BusConfig(url=url, prefix=prefix)
        opened.append(Connection(bus, name).connect())
        return opened[-1]

    yield open_one
    for connection in opened:
        connection.close()


@pytest.fixture
def admin_for() -> Iterator[Callable[[UpProcess], Client]]:
    """``admin_for(process)``: an admin client of that cluster (closed after the test)."""
    connections: list[Connection] = []

    def make(up: UpProcess) -> Client:
        config = kubeconfig.load(up.kubeconfig)
        connections.append(Connection(config.bus(), "e2e").connect())
        return Client(connections[-1], config.token)

    yield make
    for connection in connections:
        connection.close()


@pytest.fixture
def kube_api() -> Iterator[Callable[[Path | str], Any]]:
    """``kube_api(kubeconfig)``: the official ``kubernetes`` client's ApiClient for that
    kubeconfig (its connection pool closed after the test)."""
    from kubernetes import config as k8s_config

    made: list[Any] = []

    def make(path: Path | str) -> Any:
        made.append(k8s_config.new_client_from_config(str(path)))
        return made[-1]

    yield make
    for api in made:
        api.close()


def wait_for(client: Client, resource: str, name: str | None,
             predicate: Callable[[Object], bool], namespace: str | None = "default",
             timeout: float = 60.0) -> Object:
    """Block until object ``name`` (any object when None) satisfies ``predicate``, checked on
    every watch event (the watch starts with the current objects as ADDED)."""
    seen: list[Object] = []
    done = threading.Event()

    def check(obj: Object) -> None:
        if predicate(obj):
            seen.append(obj)
            done.set()

    def on_event(event: WatchEvent) -> None:
        if event.type in ("ADDED", "MODIFIED"):
            check(event.object)

    watch = client.watch(resource, on_event, namespace=namespace,
                         field_selector=f"metadata.name={name}" if name else None)
    try:
        if not done.wait(timeout):
            current = client.get(resource, name, namespace) if name else {}
            raise AssertionError(f"{resource}/{name} never satisfied the condition; last: "
                                 f"{current.get('status')}")
        return seen[0]
    finally:
        watch.stop()


def pod(name: str, *, cpu: str | None = None, memory: str | None = None,
        command: list[str] | None = None, restart: str = "Always") -> Object:
    container: Object = {"name": name, "image": "busybox:1.35"}
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if requests:
        container["resources"] = {"requests": requests}
    if command:
        container["command"] = command
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], "restartPolicy": restart}}


def claimed_set(name: str, template: Object, replicas: int = 1) -> Object:
    """A StatefulSet of ``template`` (labels ``app: <name>``) whose pods each get a 1Gi claim
    ``data-<name>-<ordinal>`` of the default class."""
    template = {"metadata": {"labels": {"app": name}}, **template}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": name, "template": template,
                     "selector": {"matchLabels": {"app": name}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}]}}


def node(name: str, *, cpu: str = "2", memory: str = "4Gi", ready: bool = True) -> Object:
    resources = {"cpu": cpu, "memory": memory, "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"capacity": resources, "allocatable": resources,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def edit(client: Client, resource: str, name: str, change: Callable[[Object], Any],
         namespace: str | None = "default") -> Object:
    """``change(obj)`` on the current object, read again when a controller wrote it
    meanwhile; the stored result."""
    for _ in range(20):
        current = client.get(resource, name, namespace)
        change(current)
        try:
            return client.update(resource, current)
        except Conflict:
            continue
    raise AssertionError(f"{resource}/{name} kept changing")


def wait_none_left(client: Client, resource: str, label_selector: str | None,
                   namespace: str | None = "default", timeout: float = 60.0, *,
                   field_selector: str | None = None) -> None:
    """Block until no object of ``resource`` matches ``label_selector`` and
    ``field_selector`` (listed, then followed by a watch from the listing's revision)."""
    listing = client.list(resource, namespace, label_selector=label_selector,
                          field_selector=field_selector)
    left = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in listing["items"]}
    empty = threading.Event()

    def on_event(event: WatchEvent) -> None:
        key = (event.object["metadata"].get("namespace"), event.object["metadata"]["name"])
        if event.type == "DELETED":
            left.discard(key)
        elif event.type in ("ADDED", "MODIFIED"):
            left.add(key)
        if not left:
            empty.set()

    watch = client.watch(resource, on_event, namespace=namespace, label_selector=label_selector,
                         field_selector=field_selector,
                         resource_version=listing["metadata"]["resourceVersion"])
    try:
        assert not left or empty.wait(timeout), f"{resource} left: {sorted(left)}"
    finally:
        watch.stop()
