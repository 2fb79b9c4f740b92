"""No confused deputy, on a real cluster and a real nats-server: a user with no RBAC binding
who names as the reply subject of her requests a subject she may not publish on herself (a
node's calls, another's inbox, a watch, a span, JetStream's API, the store's KV bucket) gets
nothing published there; the store is unchanged and each request is audited. The apiserver's
NATS user cannot publish on the store's subjects even as a response, and a kubelet answers only
into the apiserver's inbox."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgpack
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from actors.api import certs
from actors.client.credentials import CertificateCredentials
from bindings.backends.jetstream import bucket_name
from bindings.cluster import Cluster, ClusterConfig
from bus import loop as bus_loop
from bus.config import tls_options
from bus.connection import Connection
from bus.errors import Forbidden, NotFound
from bus.permissions import APISERVER
from bus.subjects import Subjects
from tests import auditlog
from tests.conftest import NOBODY_TOKEN, STORES

pytestmark = pytest.mark.integration

S = Subjects()
BUCKET = bucket_name(S.prefix)
ELSEWHERE = {
    "a node's exec": S.node("node-1", "exec"),
    "another user's inbox": f"{S.inbox('admin')}.stolen.1",
    "a watch": S.watch(S.watch_id("admin", "w1")),
    "a span": S.trace("store"),
    "JetStream's API": f"$JS.API.STREAM.PURGE.KV_{BUCKET}",
    "the store's bucket": f"$KV.{BUCKET}.=2Fnamespaces=2Fdefault",
}
"""Where nobody may have the apiserver publish (watched by the admin, who reads all)."""
FEED_CHECK = f"$JS.API.CONSUMER.INFO.KV_{BUCKET}."
"""What the JetStream store itself asks every second (is its feed's consumer still there?):
not the apiserver's doing, and never a subject of ``ELSEWHERE``."""


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def with_controllers() -> bool:
    """Nothing but the test writes: the store's subjects stay quiet but for it."""
    return False


class Watcher:
    """The admin's raw connection: hears every subject of ``ELSEWHERE`` and nobody's inbox."""

    def __init__(self, nc: NatsClient) -> None:
        self.nc, self.heard, self.answers = nc, [], asyncio.Queue()

    async def start(self) -> None:
        async def heard(msg: Msg) -> None:
            if not msg.subject.startswith(FEED_CHECK):
                self.heard.append(msg.subject)

        async def answered(msg: Msg) -> None:
            await self.answers.put(msg)

        for subject in (*ELSEWHERE.values(), "$JS.API.>", f"$KV.{BUCKET}.>"):
            await self.nc.subscribe(subject, cb=heard)
        await self.nc.subscribe(f"{S.inbox('nobody')}.>", cb=answered)
        await self.nc.flush()


def request(trace: str, verb: str, resource: str, group: str = "", auth: object = None,
            **fields: object) -> tuple[str, bytes]:
    """A request's subject and bytes (nobody's token unless ``auth``)."""
    wire = {"v": 1, "id": trace, "trace": trace, "auth": auth or {"token": NOBODY_TOKEN},
            **fields}
    return S.api(group, resource, verb), msgpack.packb(wire, use_bin_type=True)


def audited(cluster: Cluster, trace: str) -> dict[str, Any]:
    """The audit Event of the request of trace id ``trace`` (waits for it to be written)."""
    return auditlog.written(cluster.config.data_dir / "audit.log", lambda event: event[
        "annotations"].get("kubeactor.io/trace-id") == trace)[0]


async def connected(cluster: Cluster, user: str, password: str) -> NatsClient:
    return await nats.connect(cluster.url, user=user, password=password,
                              inbox_prefix=S.inbox(user).encode(),
                              **tls_options(cluster.url, cluster.bus_ca))


def revision(cluster: Cluster) -> str:
    return cluster.admin_client().list("namespaces")["metadata"]["resourceVersion"]


KINDS = {"allowed": ("nobody", 400), "forbidden": ("nobody", 400),
         "unauthenticated": ("", 401), "hello": ("alice", 400)}
"""What nobody sends to each subject of ELSEWHERE: the audit record's user and code."""


def hostile(where: str, alice: CertificateCredentials) -> Iterator[tuple[str, bytes]]:
    """Each kind of request: one RBAC allows, one it forbids, one of no identity, a
    certificate handshake (alice's)."""
    review = {"spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}}
    yield request(f"{where}-allowed", "create", "selfsubjectaccessreviews",
                  "authorization.k8s.io", body=review)
    yield request(f"{where}-forbidden", "list", "pods")
    yield request(f"{where}-unauthenticated", "list", "pods", auth={"token": "not-a-token"})
    yield S.hello, msgpack.packb({"v": 1, "id": "h", "trace": f"{where}-hello",
                                  "body": certs.hello(alice.cert, alice.key)[0]})


def test_nobody_has_the_apiserver_publish_where_she_may_not(control_plane: Cluster):
    before = revision(control_plane)
    alice = control_plane.credentials("alice")

    async def attack() -> tuple[NatsClient, NatsClient, Watcher]:
        admin = await connected(control_plane, "admin", control_plane._passwords["admin"])
        nobody = await connected(control_plane, "nobody", NOBODY_TOKEN)
        watcher = Watcher(admin)
        await watcher.start()
        for where, reply in ELSEWHERE.items():
            for subject, data in hostile(where, alice):
                await nobody.publish(subject, data, reply=reply)
        await nobody.flush()
        return admin, nobody, watcher

    async def settle(nobody: NatsClient, watcher: Watcher) -> list[str]:
        """Every hostile request was handled (audited) already: the apiserver publishes in
        order, so once this answer comes, nothing it published before is still coming."""
        subject, data = request("sentinel", "list", "pods")
        await nobody.publish(subject, data, reply=f"{S.inbox('nobody')}.own.1")
        sentinel = await asyncio.wait_for(watcher.answers.get(), 30)
        assert sentinel.subject == f"{S.inbox('nobody')}.own.1"
        return list(watcher.heard)

    admin, nobody, watcher = bus_loop.wait(attack(), timeout=60)
    try:
        records = {(where, kind): audited(control_plane, f"{where}-{kind}")
                   for where in ELSEWHERE for kind in KINDS}
        # Only the 401 went anywhere: before anyone is authenticated, an error is answered
        # into any identity's inbox (never elsewhere), where no request of its waits for it.
        assert bus_loop.wait(settle(nobody, watcher), timeout=60) == [
            ELSEWHERE["another user's inbox"]]
    finally:
        bus_loop.wait(nobody.close(), timeout=10)
        bus_loop.wait(admin.close(), timeout=10)
    for (where, kind), record in records.items():
        assert (auditlog.user(record), record["responseStatus"]["code"],
                record["annotations"]["authorization.k8s.io/decision"]) == (
            *KINDS[kind], "forbid"), (where, kind, record)
    assert revision(control_plane) == before


def test_the_apiservers_nats_user_cannot_publish_on_the_store_even_as_a_response(
        control_plane: Cluster):
    """nats-server lets a response go to any subject, a denied one included: the apiserver's
    user has no ``allow_responses``, so a request answered into ``$KV.`` reaches nobody."""

    async def answered_into_the_store() -> list[str]:
        admin = await connected(control_plane, "admin", control_plane._passwords["admin"])
        door = await connected(control_plane, APISERVER, control_plane._passwords[APISERVER])
        heard: list[str] = []

        async def hear(msg: Msg) -> None:
            heard.append(msg.subject)

        async def respond(msg: Msg) -> None:
            await msg.respond(b"not a stored object")
            await door.publish(f"{S.inbox('admin')}.probe.done", b"")

        done = await admin.subscribe(f"{S.inbox('admin')}.probe.done")
        await admin.subscribe(f"$KV.{BUCKET}.>", cb=hear)
        await door.subscribe(S.api("", "probes", "get"), cb=respond)
        await door.flush()
        await admin.flush()
        await admin.publish(S.api("", "probes", "get"), b"", reply=f"$KV.{BUCKET}.=2Fx")
        await done.next_msg(timeout=30)  # sent after the response, on the same connection
        await admin.flush()
        await door.close()
        await admin.close()
        return heard

    assert bus_loop.wait(answered_into_the_store(), timeout=60) == []


@pytest.fixture
def sim_cluster(tmp_path) -> Iterator[Cluster]:
    """A control plane with one simulated node, ``node-1``."""
    data = tmp_path / "cluster"
    data.mkdir()
    cluster = Cluster.start(ClusterConfig(data_dir=data, nodes=1, runtime="sim",
                                          apiserver_only=True,
                                          # no controller makes the default service accounts
                                          disabled_admission=("ServiceAccount",)))
    yield cluster
    cluster.stop()


def test_a_kubelet_answers_only_into_the_apiservers_inbox(sim_cluster: Cluster):
    """Even the admin, who may publish a node call, gets no answer in its own inbox: the
    kubelet's answers go to the apiserver, whose own calls it serves."""

    async def call(reply: str) -> Msg:
        admin = await connected(sim_cluster, "admin", sim_cluster._passwords["admin"])
        answers = await admin.subscribe(f"{S.inbox_prefix}.*.probe.*")
        await admin.flush()
        call = msgpack.packb({"v": 1, "id": "c", "verb": "exec", "body": {"uid": "none"}})
        await admin.publish(S.node("node-1", "exec"), call, reply=f"{S.inbox('admin')}.probe.1")
        await admin.publish(S.node("node-1", "exec"), call, reply=reply)
        try:  # answered in order: the first answer is the second call's if the first got none
            return await answers.next_msg(timeout=30)
        finally:
            await admin.close()

    answer = bus_loop.wait(call(f"{S.inbox(APISERVER)}.probe.2"), timeout=60)
    assert answer.subject == f"{S.inbox(APISERVER)}.probe.2"
    assert msgpack.unpackb(answer.data)["status"]["code"] == 404


def test_a_node_cannot_answer_the_apiservers_other_calls_through_it(sim_cluster: Cluster):
    """A kubelet sees the reply subjects of the apiserver's calls to it: knowing them must
    not let it have the apiserver answer (400, as to any undecodable request) into the
    apiserver's own inbox where another call waits. Here the call of a validating admission
    actor with failurePolicy Ignore, whose denial would else be skipped."""
    admin = sim_cluster.admin_client()
    admin.create("admissionregistrations", {"metadata": {"name": "gate"}, "spec": {
        "subject": "gate", "operations": ["CREATE"], "resources": ["configmaps"],
        "timeoutSeconds": 20, "failurePolicy": "Ignore"}}, None)
    admin.create("pods", {"metadata": {"name": "p"}, "spec": {
        "nodeName": "node-1", "containers": [{"name": "c", "image": "busybox:1.35"}]}})
    node = sim_cluster.bus_of(sim_cluster.credentials("system:node:node-1", "system:nodes"))

    async def listen() -> tuple[NatsClient, NatsClient, Any, Any, Any]:
        gate = await connected(sim_cluster, "admin", sim_cluster._passwords["admin"])
        reviews = await gate.subscribe(S.admission("gate"))
        mallory = await nats.connect(sim_cluster.url, **Connection(node, "n1")._credentials(),
                                     inbox_prefix=S.inbox("system:node:node-1").encode(),
                                     **tls_options(sim_cluster.url, sim_cluster.bus_ca))
        calls = await mallory.subscribe(S.node("node-1", "logs"))
        own = await mallory.subscribe(f"{S.inbox('system:node:node-1')}.probe.*")
        await gate.flush()
        await mallory.flush()
        return gate, mallory, reviews, calls, own

    gate, mallory, reviews, calls, own = bus_loop.wait(listen(), timeout=60)
    try:
        admin.request("get", "pods", namespace="default", name="p", subresource="log")
        seen = bus_loop.wait(calls.next_msg(timeout=30), timeout=60).reply
        created = admin.submit("create", "configmaps", namespace="default",
                               body={"metadata": {"name": "cm"}})
        review = bus_loop.wait(reviews.next_msg(timeout=30), timeout=60)
        head, _, token = seen.rpartition(".")
        base = 10 if token.isdigit() else 16  # the next tokens, were they a counter's
        guesses = [f"{head}.{int(token, base) + step:{'d' if base == 10 else 'x'}}"
                   for step in range(1, 5)]

        async def forge_then_deny() -> None:
            for guess in guesses:
                await mallory.publish(S.api("", "pods", "get"), b"\xc1", reply=guess)
            await mallory.publish(S.api("", "pods", "get"), b"\xc1",
                                  reply=f"{S.inbox('system:node:node-1')}.probe.1")
            await own.next_msg(timeout=30)  # the forged ones were answered before it
            uid = msgpack.unpackb(review.data)["body"]["request"]["uid"]
            await review.respond(msgpack.packb({"v": 1, "id": "r", "body": {
                "response": {"uid": uid, "allowed": False,
                             "status": {"code": 403, "message": "no"}}}}))

        bus_loop.wait(forge_then_deny(), timeout=60)
        with pytest.raises(Forbidden):
            created.result(30)
        with pytest.raises(NotFound):
            admin.get("configmaps", "cm", "default")
    finally:
        bus_loop.wait(mallory.close(), timeout=10)
        bus_loop.wait(gate.close(), timeout=10)
