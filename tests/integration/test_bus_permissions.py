"""The locked-down bus on real nats-servers (bus/permissions.py, bus/server.py): each identity
publishes and subscribes only where the table lets it, alone or in a routed NATS cluster, and a
user added to a running server can connect at once."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import nats.errors
import pytest

from bindings import kubeconfig
from bindings.cluster import Cluster, ClusterConfig, bususers
from bus import BusConfig, Connection, NatsServer
from bus.errors import BusError, PermissionViolation
from bus.permissions import ADMIN, APISERVER, authorization
from bus.server import CLUSTER_FILE
from bus.subjects import Subjects
from tests.support import until

pytestmark = pytest.mark.integration

S = Subjects()
PASSWORDS = {user: f"pw-{i}" for i, user in enumerate(
    (ADMIN, APISERVER, "system:node:n1", "system:node:n2", "system:kube-scheduler"))}
USERS = authorization(PASSWORDS, S)
ROUTE_PASSWORD = "route-secret/01@23:x"  # URL-reserved characters


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path / "nats", authorization=USERS) as server:
        yield server


@pytest.fixture
def connect_as(locked: NatsServer) -> Iterator:
    """``connect_as(user)``: a kubeactor Connection of that NATS user (None: no
    credentials, which the locked-down bus refuses)."""
    opened: list[Connection] = []

    def open_one(user: str | None, server: NatsServer = locked) -> Connection:
        bus = BusConfig(url=server.url, user=user, password=PASSWORDS.get(user or ""))
        opened.append(Connection(bus, f"as-{user}").connect())
        return opened[-1]

    yield open_one
    for connection in opened:
        connection.close()


class Raw:
    """A plain nats-py connection that keeps the errors the server sent it."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        """The server's errors, lower-cased (as nats-py passes them on)."""
        self.nc: nats.NATS

    async def connect(self, server: NatsServer, user: str | None) -> Raw:
        async def keep(error: Exception) -> None:
            self.errors.append(str(error).lower())

        self.nc = await nats.connect(
            server.url, user=user, password=PASSWORDS.get(user or ""), error_cb=keep,
            inbox_prefix=S.inbox(user or "nobody").encode())
        return self

    async def refused(self, text: str) -> bool:
        """Whether the server sent an error holding ``text`` (lower case), waiting for it a
        few round trips (it may come just after the reply to a ping)."""
        for _ in range(100):
            if any(text in error for error in self.errors):
                return True
            await self.nc.flush()
        return False


@pytest.fixture
async def raw(locked: NatsServer) -> AsyncIterator:
    opened: list[Raw] = []

    async def open_one(user: str | None, server: NatsServer = locked) -> Raw:
        opened.append(await Raw().connect(server, user))
        return opened[-1]

    yield open_one
    for connection in opened:
        await connection.nc.close()


def test_a_node_cannot_subscribe_to_another_nodes_watches_or_calls_nor_to_the_api(connect_as):
    node = connect_as("system:node:n1")
    for forbidden in (S.watch(S.watch_id("system:node:n2", "w1")), S.watches("system:node:n2"),
                      S.node_calls("n2"), S.api_all, S.api("", "pods", "create"), S.hello,
                      f"{S.inbox('system:node:n2')}.>", S.all, ">"):
        with pytest.raises(PermissionViolation, match="may not subscribe"):
            node.subscribe(forbidden, lambda incoming: None)
    node.subscribe(S.watch(S.watch_id("system:node:n1", "w1")), lambda incoming: None)
    node.subscribe(S.node("n1", "logs"), lambda incoming: None)


def test_a_refused_subscription_is_the_subscribers_error_not_a_warning_in_the_log(
        connect_as, caplog):
    node = connect_as("system:node:n1")
    with (caplog.at_level(logging.WARNING, logger="bus.connection"),
          pytest.raises(PermissionViolation, match="may not subscribe")):
        node.subscribe(S.all, lambda incoming: None)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_apiserver_serves_the_api_and_only_the_admin_reads_everything(connect_as):
    connect_as(APISERVER).subscribe(S.api_all, lambda incoming: None, queue="apiserver")
    connect_as(APISERVER).subscribe(S.hello, lambda incoming: None, queue="apiserver")
    connect_as(ADMIN).subscribe(S.all, lambda incoming: None)
    connect_as(ADMIN).subscribe(">", lambda incoming: None)
    for user in ("system:kube-scheduler", "system:node:n1", APISERVER):
        with pytest.raises(PermissionViolation):
            connect_as(user).subscribe(S.all, lambda incoming: None)


async def served(requester: Raw, subject: str, data: bytes):
    """The reply to a request, sent again while nobody serves ``subject`` yet (a subscription
    just made on another connection, or routed from another server, may take a moment)."""
    for _ in range(200):
        try:
            return await requester.nc.request(subject, data, timeout=0.5)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            await requester.nc.flush()
    raise AssertionError(f"nobody ever served {subject}")


async def until_delivered(subscription, count: int) -> list:
    return [await subscription.next_msg(timeout=10) for _ in range(count)]


async def test_a_node_cannot_publish_a_watch_event_that_the_apiserver_can(raw):
    admin, node, apiserver = await raw(ADMIN), await raw("system:node:n1"), await raw(APISERVER)
    watcher = await raw("system:node:n2")
    watch = S.watch(S.watch_id("system:node:n2", "w1"))
    heard = await watcher.nc.subscribe(watch)
    seen = await admin.nc.subscribe(S.all)
    await watcher.nc.flush()
    await admin.nc.flush()
    await node.nc.publish(watch, b"forged")
    await node.nc.publish(S.api("", "pods", "get"), b"after")  # allowed: orders the two
    assert [msg.data for msg in await until_delivered(seen, 1)] == [b"after"]
    assert await node.refused(f'permissions violation for publish to "{watch}"')
    await apiserver.nc.publish(watch, b"event")
    assert [msg.data for msg in await until_delivered(heard, 1)] == [b"event"]
    assert [msg.data for msg in await until_delivered(seen, 1)] == [b"event"]


async def test_a_node_answers_the_apiservers_calls_to_it_and_nothing_else(raw):
    apiserver, node = await raw(APISERVER), await raw("system:node:n1")

    async def answer(msg) -> None:
        await msg.respond(b"logs of " + msg.data)

    await node.nc.subscribe(S.node_calls("n1"), cb=answer)
    await node.nc.flush()
    reply = await served(apiserver, S.node("n1", "logs"), b"web")
    assert reply.data == b"logs of web"
    await node.nc.publish(f"{S.inbox(APISERVER)}.stolen", b"unasked")  # not a reply it owes
    assert await node.refused(f'permissions violation for publish to "{S.inbox(APISERVER)}')


def test_a_connection_without_credentials_is_refused(locked):
    with pytest.raises(BusError, match="no connection without credentials"):
        Connection(BusConfig(url=locked.url), "nobody").connect()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def routed(tmp_path: Path) -> Iterator[tuple[NatsServer, NatsServer]]:
    ports = (free_port(), free_port())
    routes = tuple(f"nats://127.0.0.1:{port}" for port in ports)
    with NatsServer(tmp_path / "a", cluster_port=ports[0], routes=routes,
                    authorization=USERS, route_password=ROUTE_PASSWORD) as a, \
            NatsServer(tmp_path / "b", cluster_port=ports[1], routes=routes,
                       authorization=USERS, route_password=ROUTE_PASSWORD) as b:
        yield a, b


async def test_two_routed_servers_apply_the_same_users(routed, raw):
    a, b = routed
    apiserver, node = await raw(APISERVER, a), await raw("system:node:n1", b)

    async def answer(msg) -> None:
        await msg.respond(b"done")

    await node.nc.subscribe(S.node_calls("n1"), cb=answer)
    await node.nc.flush()
    assert (await served(apiserver, S.node("n1", "exec"), b"ls")).data == b"done"
    await node.nc.subscribe(S.api_all)
    assert await node.refused(f'permissions violation for subscription to "{S.api_all}"')


def test_a_server_without_the_route_password_cannot_join_the_cluster(routed, tmp_path):
    a, _ = routed
    assert ROUTE_PASSWORD not in " ".join(Path(f"/proc/{a._proc.pid}/cmdline").read_text(
    ).split("\0")) and (a.data_dir / CLUSTER_FILE).stat().st_mode & 0o777 == 0o600
    log = a.data_dir / "nats.log"
    seen = log.read_text().count("authentication error")
    with NatsServer(tmp_path / "intruder", cluster_port=free_port(),
                    routes=(f"nats://127.0.0.1:{a.cluster_port}",), authorization=USERS):
        # until a refuses the intruder's route (it retries every second)
        until(lambda: log.read_text().count("authentication error") > seen,
              failure="the intruder's route was never refused")


def test_a_user_added_to_a_running_server_connects_at_once(locked):
    newcomer = BusConfig(url=locked.url, user="system:node:n3", password="pw-new")
    with pytest.raises(BusError, match="cannot connect"):
        Connection(newcomer, "too-early").connect()
    locked.reload(authorization({**PASSWORDS, "system:node:n3": "pw-new"}, S))
    for _ in range(200):  # the server reloads its configuration on its own time
        try:
            joined = Connection(newcomer, "n3").connect()
            break
        except BusError:
            continue
    else:
        raise AssertionError("the reloaded server never accepted the new node")
    try:
        joined.subscribe(S.node_calls("n3"), lambda incoming: None)
        with pytest.raises(PermissionViolation):
            joined.subscribe(S.node_calls("n1"), lambda incoming: None)
    finally:
        joined.close()


def test_a_cluster_runs_its_bus_locked_down_with_a_user_per_component(control_plane, connect):
    pki = control_plane.config.data_dir / "pki"
    passwords = bususers.ensure_users(pki / bususers.FILE, [])
    assert {ADMIN, APISERVER, "system:kube-scheduler",
            "system:kube-controller-manager"} <= set(passwords)
    assert (pki / bususers.FILE).stat().st_mode & 0o777 == 0o600
    admin = kubeconfig.load(control_plane.kubeconfig_path)
    assert (admin.nats_user, admin.nats_password) == (ADMIN, passwords[ADMIN])
    for snoop in (connect(control_plane.bus_of(control_plane.credentials("snoop")), "snoop"),
                  connect(control_plane.bus("system:kube-scheduler"), "curious-scheduler")):
        with pytest.raises(PermissionViolation):
            snoop.subscribe(S.api_all, lambda incoming: None)
    connect(control_plane.bus(), "tracer").subscribe(S.all, lambda incoming: None)


def test_passwords_an_older_cluster_left_in_the_file_no_longer_open_the_bus(tmp_path):
    """A data dir from before the auth callout holds ``anonymous`` and per-node password
    users: a restarted control plane gives the bus only the users it has today."""
    pki = tmp_path / "pki"
    pki.mkdir(mode=0o700)
    stale = bususers.ensure_users(pki / bususers.FILE, ["anonymous", "system:node:old"])
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path, nodes=0, apiserver_only=True))
    try:
        for user, password in stale.items():
            with pytest.raises(BusError, match="Authorization Violation"):
                Connection(BusConfig(url=cluster.url, ca=cluster.bus_ca, user=user,
                                     password=password), "stale").connect()
        Connection(cluster.bus("system:kube-scheduler"), "current").connect().close()
    finally:
        cluster.stop()
