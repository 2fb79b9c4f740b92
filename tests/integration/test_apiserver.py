"""The apiserver's pipeline on a real nats-server: authentication, RBAC, admission, store,
watches, and clear errors for bad input. The API contract: every test runs on each store
backend (SQLite, JetStream KV)."""

from __future__ import annotations

import threading

import pytest

from actors.client.client import Client, WatchEvent
from bindings.backends.sqlite import SqliteBackend
from bindings.cluster import Cluster, ClusterConfig
from bus import BusConfig, Envelope, decode, encode
from bus.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    ServerTimeout,
    Unauthorized,
)
from tests.conftest import NOBODY_TOKEN, STORES, pod

pytestmark = pytest.mark.integration


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def with_controllers() -> bool:
    return False  # the API alone: nothing but the test writes


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    return control_plane.admin_client()


def revision(admin: Client) -> int:
    return int(admin.list("namespaces")["metadata"]["resourceVersion"])


@pytest.fixture
def client_with(control_plane: Cluster, connect):
    """A client of ``token`` connected as NATS user ``user`` (the apiserver answers a user
    only in its own inbox); None: as an identity of its own (for a token that proves nobody)."""
    def make(token: str | None, user: str | None = None) -> Client:
        bus = control_plane.bus(user) if user in control_plane._passwords else BusConfig(
            url=control_plane.url, ca=control_plane.bus_ca, user=user, token=token
        ) if user else control_plane
        return Client(connect(bus, "test-client"), token)

    return make


def test_unauthenticated_request_gets_401_and_store_does_not_move(admin, client_with):
    before = revision(admin)
    for token in (None, "not-a-token"):
        with pytest.raises(Unauthorized):
            client_with(token).create("pods", pod("intruder"))
    assert revision(admin) == before
    with pytest.raises(NotFound):
        admin.get("pods", "intruder")


def test_identity_without_permission_gets_403_naming_it_and_store_does_not_move(
    control_plane, admin, client_with
):
    before = revision(admin)
    with pytest.raises(Forbidden) as denied:
        client_with(NOBODY_TOKEN, "nobody").create("pods", pod("sneaky"))
    assert denied.value.message == (
        'pods is forbidden: User "nobody" cannot create resource "pods" in API group '
        '"" in the namespace "default"'
    )
    scheduler = client_with(control_plane.token("system:kube-scheduler"), "system:kube-scheduler")
    with pytest.raises(Forbidden):
        scheduler.create("pods", pod("sneaky"))
    with pytest.raises(Forbidden):
        scheduler.delete("nodes", "node-1", None)
    assert revision(admin) == before


def test_scheduler_identity_may_do_its_job(control_plane, admin, client_with):
    admin.create("pods", pod("p"))
    scheduler = client_with(control_plane.token("system:kube-scheduler"), "system:kube-scheduler")
    assert [p["metadata"]["name"] for p in scheduler.list("pods")["items"]] == ["p"]


def test_malformed_message_gets_a_400_reply_and_the_apiserver_lives_on(
    control_plane, admin, connect
):
    connection = connect(control_plane, "raw")
    subject = connection.subjects.api("", "pods", "create")
    unauthenticated = connection.request(subject, Envelope()).result(5)
    assert unauthenticated.status is not None and unauthenticated.status["code"] == 401
    from bus import loop as bus_loop

    async def send_garbage() -> bytes:
        msg = await connection.nc.request(subject, b"\xc1 not msgpack", timeout=5)
        return bytes(msg.data)

    reply = decode(bus_loop.wait(send_garbage()))
    assert reply.status is not None and reply.status["code"] == 400
    assert admin.get("namespaces", "default", None)["metadata"]["name"] == "default"


def test_envelope_verb_that_contradicts_the_subject_is_rejected(control_plane, connect):
    connection = connect(control_plane, "raw")
    envelope = Envelope(verb="delete", resource="pods", namespace="default", name="x",
                        auth={"token": control_plane.token("admin")})
    reply = connection.request(connection.subjects.api("", "pods", "get"), envelope).result(5)
    with pytest.raises(BadRequest):
        reply.raise_for_status()
    assert encode(reply)  # the reply itself is a valid envelope


def test_create_get_list_and_duplicate(admin):
    created = admin.create("pods", pod("web", cpu="100m"))
    meta = created["metadata"]
    assert meta["namespace"] == "default" and meta["uid"] and meta["generation"] == 1
    assert created["status"]["phase"] == "Pending"
    assert admin.get("pods", "web")["metadata"]["uid"] == meta["uid"]
    assert [p["metadata"]["name"] for p in admin.list("pods", "default")["items"]] == ["web"]
    with pytest.raises(AlreadyExists, match='pods "web" already exists'):
        admin.create("pods", pod("web"))


@pytest.mark.parametrize("name", [["a", "b"], {"a": 1}, 7])
def test_a_name_that_is_not_a_string_is_refused_and_audited_without_a_500(admin, name):
    """The request's name is taken from the body only when it is one (the audit's request URI
    joined a list once: a 500 after the refusal); Go's decoder refuses it (400, as
    kube-apiserver's: 'cannot unmarshal array into Go struct field ObjectMeta.metadata.name')."""
    with pytest.raises(BadRequest, match=r"metadata\.name"):
        admin.request("create", "replicasets", namespace="default", body={
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]}}}})


def test_create_in_missing_namespace_is_refused_by_namespace_lifecycle(admin):
    with pytest.raises(NotFound, match='namespaces "nowhere" not found'):
        admin.create("pods", pod("lost"), "nowhere")


def test_system_namespace_cannot_be_deleted(admin):
    with pytest.raises(Forbidden, match="may not be deleted"):
        admin.delete("namespaces", "default", None)


def test_unbound_pod_is_deleted_at_once(admin):
    admin.create("pods", pod("short"))
    admin.delete("pods", "short")
    with pytest.raises(NotFound):
        admin.get("pods", "short")


def record_events(admin: Client, count: int, **selectors):
    """Start a pods watch; return (events, done-after-``count`` event, watch)."""
    events: list[tuple[str, str]] = []
    done = threading.Event()

    def on_event(event: WatchEvent) -> None:
        events.append((event.type, event.object["metadata"]["name"]))
        if len(events) >= count:
            done.set()

    return events, done, admin.watch("pods", on_event, namespace="default", **selectors)


def test_watch_reports_a_pod_entering_and_leaving_field_selectors(admin):
    unbound, unbound_done, unbound_watch = record_events(admin, 2, field_selector="spec.nodeName=")
    on_n1, on_n1_done, on_n1_watch = record_events(admin, 1, field_selector="spec.nodeName=n1")
    try:
        admin.create("pods", pod("w"))
        admin.create("nodes", {"metadata": {"name": "n1"}}, None)
        admin.bind(admin.get("pods", "w"), "n1")
        assert unbound_done.wait(10) and on_n1_done.wait(10)
        assert unbound == [("ADDED", "w"), ("DELETED", "w")]
        assert on_n1 == [("ADDED", "w")]
    finally:
        unbound_watch.stop()
        on_n1_watch.stop()


def test_a_watch_cannot_be_stopped_by_another_user(control_plane, admin, client_with):
    events, done, watch = record_events(admin, 1)
    scheduler = client_with(control_plane.token("system:kube-scheduler"), "system:kube-scheduler")
    with pytest.raises(Forbidden, match="may not have watch events sent"):
        scheduler.request("watch", "pods", options={"watchId": watch.id, "stop": True})
    try:
        admin.create("pods", pod("still-watched"))
        assert done.wait(10)
        assert events == [("ADDED", "still-watched")]
    finally:
        watch.stop()


@pytest.mark.parametrize(("verb", "options"), [
    ("delete", {"gracePeriodSeconds": "soon"}),
    ("delete", {"gracePeriodSeconds": -1}),
    ("watch", {"watchId": "w1", "resourceVersion": "abc"}),
    ("watch", {"watchId": "w1", "leaseSeconds": float("nan")}),
    ("watch", {"watchId": "a.*"}),
    ("list", {"labelSelector": 5}),
])
def test_bad_options_get_400_and_change_nothing(admin, verb, options):
    before = admin.create("pods", pod("target"))
    with pytest.raises(BadRequest):
        admin.request(verb, "pods", namespace="default", name="target", options=options)
    assert admin.get("pods", "target") == before


def test_watch_resumes_from_a_resource_version(admin):
    first = admin.create("pods", pod("a"))
    admin.create("pods", pod("b"))
    seen = threading.Event()
    names: list[str] = []

    def on_event(event: WatchEvent) -> None:
        names.append(event.object["metadata"]["name"])
        seen.set()

    watch = admin.watch("pods", on_event, namespace="default",
                        resource_version=first["metadata"]["resourceVersion"])
    try:
        for name in ("c", "d"):
            assert seen.wait(10)
            seen.clear()
            admin.create("pods", pod(name))
        assert seen.wait(10)
        # b once (from history), c and d once (live), in order: no gap, no duplicate
        assert names == ["b", "c", "d"]
    finally:
        watch.stop()


def configmap(name: str, **extra) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **extra},
            "data": {"k": "v"}}


def test_removing_the_last_finalizer_completes_the_deletion(admin):
    admin.create("configmaps", configmap("held", finalizers=["example.com/hold"]))
    marked = admin.delete("configmaps", "held")
    assert marked["metadata"]["deletionTimestamp"]
    assert admin.get("configmaps", "held")["metadata"]["finalizers"] == ["example.com/hold"]
    marked["metadata"]["finalizers"] = []
    admin.update("configmaps", marked)
    with pytest.raises(NotFound):
        admin.get("configmaps", "held")


def test_a_stale_update_cannot_complete_a_deletion_past_a_newer_finalizer(admin):
    admin.create("configmaps", configmap("held", finalizers=["a"]))
    stale = admin.delete("configmaps", "held")
    fresh = admin.get("configmaps", "held")
    fresh["metadata"]["finalizers"] = ["a", "b"]
    admin.update("configmaps", fresh)
    stale["metadata"]["finalizers"] = []
    with pytest.raises(Conflict):
        admin.update("configmaps", stale)
    assert admin.get("configmaps", "held")["metadata"]["finalizers"] == ["a", "b"]


def test_an_object_too_large_for_the_bus_is_refused_before_it_is_stored(admin):
    before = revision(admin)
    big = configmap("big")
    big["data"] = {"blob": "x" * (300 * 1024)}
    with pytest.raises(RequestEntityTooLarge, match='configmaps "big" is too large'):
        admin.create("configmaps", big)
    huge = configmap("huge")
    huge["data"] = {"blob": "x" * (2 * 1024 * 1024)}
    with pytest.raises(RequestEntityTooLarge, match="request is too large"):
        admin.create("configmaps", huge)
    assert revision(admin) == before
    assert admin.list("configmaps", "default")["items"] == []


def test_rbac_changes_apply_to_the_very_next_request(admin, client_with):
    nobody = client_with(NOBODY_TOKEN, "nobody")
    with pytest.raises(Forbidden):
        nobody.list("configmaps", "default")
    rbac = "rbac.authorization.k8s.io"
    admin.create("roles", {"metadata": {"name": "cm-reader"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]})
    admin.create("rolebindings", {
        "metadata": {"name": "nobody-reads"},
        "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "cm-reader"},
        "subjects": [{"kind": "User", "name": "nobody"}]})
    assert nobody.list("configmaps", "default")["items"] == []
    with pytest.raises(Forbidden):
        nobody.list("configmaps", "kube-system")  # a RoleBinding grants only its namespace
    admin.delete("rolebindings", "nobody-reads")
    with pytest.raises(Forbidden):
        nobody.list("configmaps", "default")


def test_watch_from_a_future_revision_is_refused(admin):
    future = revision(admin) + 1000
    with pytest.raises(ServerTimeout, match="Too large resource version"):
        admin.watch("pods", lambda event: None, namespace="default",
                    resource_version=str(future))


def test_logs_of_a_pod_without_a_node_are_a_bad_request(admin):
    admin.create("pods", pod("nowhere"))
    with pytest.raises(BadRequest, match="does not have a host assigned"):
        admin.request("get", "pods", namespace="default", name="nowhere", subresource="log")


def test_list_pages_with_limit_and_continue(admin):
    for name in ("p1", "p2", "p3"):
        admin.create("configmaps", configmap(name))
    first = admin.list("configmaps", "default", limit=2)
    assert [c["metadata"]["name"] for c in first["items"]] == ["p1", "p2"]
    admin.create("configmaps", configmap("p4"))  # after the first page: not in this list
    rest = admin.list("configmaps", "default", limit=2,
                      continue_token=first["metadata"]["continue"])
    assert [c["metadata"]["name"] for c in rest["items"]] == ["p3"]
    assert "continue" not in rest["metadata"]
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    with pytest.raises(BadRequest, match="continue token"):
        admin.list("configmaps", "default", limit=2, continue_token="garbage")


@pytest.mark.parametrize(("verb", "subresource"), [
    ("list", "log"), ("delete", "log"), ("get", "exec"), ("update", "binding"),
    ("delete", "status"),
])
def test_a_subresource_answers_only_its_own_verbs(admin, verb, subresource):
    before = admin.create("pods", pod("guarded"))
    for _ in range(2):  # the same subject again: the worker remembers only what it serves
        with pytest.raises(MethodNotAllowed):
            admin.request(verb, "pods", namespace="default", name="guarded",
                          subresource=subresource, body=before)
    assert admin.get("pods", "guarded") == before


def test_apply_puts_back_what_was_changed_behind_its_back(admin):
    from bindings.cli import manifests

    info = manifests.target(configmap("tidy"), "default")[0]
    desired = configmap("tidy", labels={"app": "tidy"})
    assert manifests.apply(admin, info, "default", desired) == "created"
    live = admin.get("configmaps", "tidy")
    live["metadata"]["labels"] = {"app": "hacked"}
    admin.update("configmaps", live)
    assert manifests.apply(admin, info, "default", desired) == "configured"
    assert admin.get("configmaps", "tidy")["metadata"]["labels"] == {"app": "tidy"}
    assert manifests.apply(admin, info, "default", desired) == "unchanged"


def test_a_quiet_watch_gets_bookmarks_that_move_its_revision(admin):
    bookmarks: list[int] = []
    moved = threading.Event()
    cm = {}

    def on_event(event: WatchEvent) -> None:
        if event.type == "BOOKMARK" and cm:
            bookmarks.append(int(event.object["metadata"]["resourceVersion"]))
            if bookmarks[-1] >= int(cm["metadata"]["resourceVersion"]):
                moved.set()

    watch = admin.watch("pods", on_event, namespace="default", lease_seconds=1.5)
    try:
        cm.update(admin.create("configmaps", configmap("elsewhere")))  # not a pod
        assert moved.wait(10)
        assert int(watch.revision) >= int(cm["metadata"]["resourceVersion"])
    finally:
        watch.stop()


def test_updates_without_a_resource_version_never_lose_a_concurrent_write(admin):
    """The kubelet writes status without a resourceVersion while a controller changes the
    pod's metadata with one: every change of both must be kept (GuaranteedUpdate)."""
    admin.create("pods", pod("busy"))
    stop = threading.Event()

    def status_writer() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            admin.update("pods", {"metadata": {"name": "busy", "namespace": "default"},
                                  "status": {"phase": "Pending", "message": str(count)}},
                         subresource="status")

    writer = threading.Thread(target=status_writer)
    writer.start()
    try:
        for n in range(15):
            while True:
                current = admin.get("pods", "busy")
                current["metadata"].setdefault("labels", {})[f"l{n}"] = "x"
                try:
                    admin.update("pods", current)
                    break
                except Conflict:
                    continue
    finally:
        stop.set()
        writer.join(30)
    labels = admin.get("pods", "busy")["metadata"]["labels"]
    assert {f"l{n}" for n in range(15)} <= set(labels)


class HeldSqlite(SqliteBackend):
    """Holds every commit while ``hold`` is clear (a slow disk); counts the writes of each."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.hold, self.holding = threading.Event(), threading.Event()
        self.hold.set()
        self.commits: list[int] = []

    def commit(self, changes):
        if not self.hold.is_set():
            self.holding.set()
            self.hold.wait(30)
        self.commits.append(len(changes))
        return super().commit(changes)


class HeldCluster(Cluster):
    def _backend(self, data):
        self.backend = HeldSqlite(data / "store.db")
        return self.backend


def test_writes_wait_for_their_commit_without_holding_a_worker_and_reads_go_on(tmp_path):
    cluster = HeldCluster.start(ClusterConfig(data_dir=tmp_path, nodes=0))
    try:
        admin = cluster.admin_client()
        admin.create("configmaps", {"metadata": {"name": "before"}, "data": {"k": "v"}})
        backend = cluster.backend
        backend.hold.clear()
        first = admin.submit("create", "configmaps", namespace="default",
                             body={"metadata": {"name": "first"}})
        assert backend.holding.wait(10)  # the first create's commit is on the (slow) disk
        behind = [admin.submit("create", "configmaps", namespace="default",
                               body={"metadata": {"name": f"behind-{i}"}}) for i in range(6)]
        # More writes wait than the apiserver has workers, and reads are still answered,
        # the namespace lookup of admission included.
        assert admin.get("configmaps", "before")["data"] == {"k": "v"}
        with pytest.raises(NotFound):
            admin.get("configmaps", "first")  # not acknowledged: not visible either
        commits_before = len(backend.commits)
        backend.hold.set()
        assert first.result(10)["metadata"]["name"] == "first"
        assert sorted(f.result(10)["metadata"]["name"] for f in behind) == [
            f"behind-{i}" for i in range(6)]
        assert backend.commits[commits_before:] == [1, 6]  # all six in the next commit
        assert admin.get("configmaps", "behind-5")["metadata"]["name"] == "behind-5"
    finally:
        cluster.stop()
