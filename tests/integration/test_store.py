"""The store actor (actors/store.py) over each real backend (SQLite, JetStream KV on a real
nats-server): revisions, optimistic concurrency, ordered history and its compaction,
durability across a restart, and commit events. The last tests are SQLite's own."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pykka
import pytest

from actors.api.objects import Object
from actors.store import Backend, Change, HistoryWindow, Store, StoreConfig, StoreEvent, size_of
from bindings.backends.jetstream import kv_key
from bindings.backends.sqlite import SqliteBackend
from bus import loop as bus_loop
from bus.errors import AlreadyExists, Conflict, Gone, InternalError, NotFound, SpaceExceeded
from tests.conftest import STORES
from tests.support import until

OpenStore = Callable[..., Any]


def obj(name: str, image: str = "busybox:1.36") -> Object:
    return {"metadata": {"name": name}, "spec": {"image": image}}


def rv(stored: Object) -> int:
    return int(stored["metadata"]["resourceVersion"])


pytestmark = pytest.mark.integration


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(open_backend: Callable[[], Backend]) -> Iterator[OpenStore]:
    """Open a store on this test's data; each call stops the previous store first (a
    restart)."""
    refs: list[pykka.ActorRef[Store]] = []

    def open_one(history: int = 10_000, quota_backend_bytes: int = 0, **window: Any) -> Any:
        for ref in refs:
            ref.stop()
        refs.append(Store.start(open_backend(), StoreConfig(HistoryWindow(history, **window),
                                                            quota_backend_bytes)))
        return refs[-1].proxy()

    yield open_one
    for ref in refs:
        ref.stop()


@pytest.fixture
def store(open_store: OpenStore) -> Any:
    return open_store()


def test_every_write_bumps_the_revision_and_stamps_it_as_resource_version(store):
    created = store.create("/pods/default/a", obj("a")).get()
    updated = store.update("/pods/default/a", obj("a", "nginx")).get()
    deleted = store.delete("/pods/default/a").get()
    assert [rv(created), rv(updated), rv(deleted)] == [1, 2, 3]
    assert store.revision().get() == 3


def test_create_of_an_existing_key_is_already_exists_and_keeps_the_first(store):
    store.create("/pods/default/a", obj("a")).get()
    with pytest.raises(AlreadyExists):
        store.create("/pods/default/a", obj("a", "nginx")).get()
    assert store.get("/pods/default/a").get()["spec"]["image"] == "busybox:1.36"
    assert store.revision().get() == 1


def test_update_with_stale_resource_version_conflicts_and_changes_nothing(store):
    first = store.create("/pods/default/a", obj("a")).get()
    current = store.update("/pods/default/a", obj("a", "nginx"), rv(first)).get()
    with pytest.raises(Conflict):
        store.update("/pods/default/a", obj("a", "redis"), rv(first)).get()
    assert store.get("/pods/default/a").get() == current
    assert store.revision().get() == rv(current)


def test_delete_with_stale_resource_version_conflicts_and_keeps_the_object(store):
    first = store.create("/pods/default/a", obj("a")).get()
    current = store.update("/pods/default/a", obj("a", "nginx")).get()
    with pytest.raises(Conflict):
        store.delete("/pods/default/a", rv(first)).get()
    assert store.get("/pods/default/a").get() == current


@pytest.mark.parametrize("write", ["update", "delete"])
def test_write_to_a_missing_key_is_not_found(store, write: str):
    args = ("/pods/default/ghost", obj("ghost")) if write == "update" else ("/pods/default/ghost",)
    with pytest.raises(NotFound):
        getattr(store, write)(*args).get()
    assert store.revision().get() == 0


def test_list_returns_objects_under_the_prefix_sorted_by_key_that_match(store):
    for key in ("/pods/web/b", "/pods/db/a", "/pods/web/a", "/nodes/n1", "/podsx/web/z"):
        store.create(key, obj(key.rsplit("/", 1)[-1])).get()
    everything, revision = store.list("/pods/").get()
    named_a, _ = store.list("/pods/", lambda o: o["metadata"]["name"] == "a").get()
    assert [o["metadata"]["resourceVersion"] for o in everything] == ["2", "3", "1"]
    assert [o["metadata"]["resourceVersion"] for o in named_a] == ["2", "3"]
    assert revision == 5


def test_objects_read_out_are_copies_the_caller_cannot_change(store):
    sent = obj("a")
    store.create("/pods/default/a", sent).get()
    sent["spec"]["image"] = "changed-after-create"
    store.get("/pods/default/a").get()["spec"]["image"] = "changed-after-get"
    assert store.get("/pods/default/a").get()["spec"]["image"] == "busybox:1.36"


def test_events_since_returns_only_later_events_in_order(store):
    store.create("/pods/default/a", obj("a")).get()
    store.create("/pods/default/b", obj("b")).get()
    store.update("/pods/default/a", obj("a", "nginx")).get()
    store.delete("/pods/default/b").get()
    events = store.events_since(1).get()
    assert [(e.type, e.key, e.revision) for e in events] == [
        ("ADDED", "/pods/default/b", 2),
        ("MODIFIED", "/pods/default/a", 3),
        ("DELETED", "/pods/default/b", 4),
    ]
    assert store.events_since(4).get() == []


def test_events_since_a_revision_before_a_restart_is_gone(open_store):
    store = open_store()
    store.create("/pods/default/a", obj("a")).get()
    store.create("/pods/default/b", obj("b")).get()
    reopened = open_store()
    with pytest.raises(Gone):
        reopened.events_since(1).get()
    assert reopened.events_since(2).get() == []


def test_events_since_a_revision_pushed_out_of_the_history_is_gone(open_store):
    store = open_store(history=2)
    for name in ("a", "b", "c"):
        store.create(f"/pods/default/{name}", obj(name)).get()
    with pytest.raises(Gone):
        store.events_since(0).get()
    assert [e.revision for e in store.events_since(1).get()] == [2, 3]


def test_objects_and_revision_survive_a_restart_on_the_same_file(open_store):
    store = open_store()
    store.create("/pods/default/a", obj("a")).get()
    kept = store.update("/pods/default/a", obj("a", "nginx")).get()
    store.create("/pods/default/b", obj("b")).get()
    store.delete("/pods/default/b").get()
    reopened = open_store()
    assert reopened.revision().get() == 4
    assert reopened.list("/").get() == ([kept], 4)
    assert rv(reopened.create("/pods/default/c", obj("c")).get()) == 5


def test_listeners_receive_every_commit_with_the_object_before_it(store):
    events: list[StoreEvent] = []
    assert store.add_listener(events.append).get() == 0
    created = store.create("/pods/default/a", obj("a")).get()
    updated = store.update("/pods/default/a", obj("a", "nginx")).get()
    deleted = store.delete("/pods/default/a").get()
    assert [(e.type, e.object, e.old, e.revision) for e in events] == [
        ("ADDED", created, None, 1),
        ("MODIFIED", updated, created, 2),
        ("DELETED", deleted, updated, 3),
    ]


def fail_commit_of_revision(backend: SqliteBackend, revision: int) -> None:
    """Make SQLite itself abort the transaction that would reach ``revision``, after its rows
    are written (a trigger on the revision row): the real rollback path runs."""
    backend._db.execute(
        f"CREATE TEMP TRIGGER fail_{revision} BEFORE UPDATE ON meta WHEN NEW.revision = "
        f"{revision} BEGIN SELECT RAISE(ABORT, 'disk full'); END")


def test_a_failed_commit_changes_nothing_in_memory_or_on_disk(tmp_path):
    backend = SqliteBackend(tmp_path / "store.db")
    ref = Store.start(backend)
    store = ref.proxy()
    try:
        kept = store.create("/things/a", obj("a")).get()
        fail_commit_of_revision(backend, rv(kept) + 1)
        with pytest.raises(InternalError, match="disk full"):
            store.update("/things/a", obj("a", image="changed")).get()
        with pytest.raises(InternalError, match="disk full"):
            store.create("/things/b", obj("b")).get()
        backend._db.execute(f"DROP TRIGGER fail_{rv(kept) + 1}")
        assert store.revision().get() == rv(kept)
        assert store.get("/things/a").get() == kept
        assert store.get_or_none("/things/b").get() is None
        after = store.create("/things/c", obj("c")).get()
        assert rv(after) == rv(kept) + 1
    finally:
        ref.stop()
    reopened = Store.start(SqliteBackend(tmp_path / "store.db"))
    try:
        items, revision = reopened.proxy().list("/things/").get()
        assert revision == rv(after)
        assert [i["metadata"]["name"] for i in items] == ["a", "c"]
        assert items[0]["spec"]["image"] == "busybox:1.36"
    finally:
        reopened.stop()


def test_pages_of_a_list_stay_consistent_at_the_first_pages_revision(store):
    for name in ("a", "b", "c", "d"):
        store.create(f"/things/{name}", obj(name)).get()
    first, revision, last = store.page("/things/", None, 2).get()
    assert [o["metadata"]["name"] for o in first] == ["a", "b"] and last == "/things/b"
    store.delete("/things/c").get()                        # gone after the snapshot
    store.create("/things/bb", obj("bb")).get()            # new after the snapshot
    store.update("/things/d", obj("d", image="new")).get()  # changed after the snapshot
    rest, same, more = store.page("/things/", None, 2, last, revision).get()
    assert same == revision and more is None
    assert [(o["metadata"]["name"], o["spec"]["image"]) for o in rest] == [
        ("c", "busybox:1.36"), ("d", "busybox:1.36")]


def test_a_page_at_a_compacted_revision_is_gone(open_store):
    store = open_store(history=2)
    first = store.create("/things/a", obj("a")).get()
    for name in ("b", "c", "d"):
        store.create(f"/things/{name}", obj(name)).get()
    with pytest.raises(Gone):
        store.page("/things/", None, 1, "", rv(first)).get()


class GatedBackend(SqliteBackend):
    """Counts commits; its first commit holds until ``waiting()`` reports ``hold_for`` writes
    queued behind it (as a slow disk would), so they must share the next one."""

    def __init__(self, path, hold_for: int, waiting) -> None:
        super().__init__(path)
        self.commits: list[int] = []
        self.hold_for, self.waiting = hold_for, waiting
        self.holding = threading.Event()

    def commit(self, changes):
        if not self.commits:
            self.holding.set()
            deadline = time.monotonic() + 10
            while self.waiting() < self.hold_for and time.monotonic() < deadline:
                time.sleep(0.001)
        self.commits.append(len(changes))
        return super().commit(changes)


def test_writes_waiting_behind_a_commit_share_the_next_one(tmp_path):
    writers: list[Any] = []
    backend = GatedBackend(tmp_path / "store.db", 10,
                           lambda: len(writers[0]._waiting) if writers else 0)
    ref = Store.start(backend)
    try:
        writer = ref.proxy().writer().get()
        writers.append(writer)
        with ThreadPoolExecutor(max_workers=11) as pool:
            first = pool.submit(writer.write, "create", "/things/first", obj("first"))
            assert backend.holding.wait(10)  # the first write alone is being committed
            rest = [pool.submit(writer.write, "create", f"/things/{i}", obj(str(i)))
                    for i in range(10)]
            stored = [first.result(10)] + [f.result(10) for f in rest]
        assert backend.commits == [1, 10]  # one transaction for the ten that waited
        assert sorted(rv(s) for s in stored) == list(range(1, 12))
        duplicate = writer.write
        with pytest.raises(AlreadyExists):
            duplicate("create", "/things/first", obj("first"))
    finally:
        ref.stop()


def test_history_older_than_the_window_seconds_is_compacted_and_gone(open_backend):
    now = [1000.0]
    ref = Store.start(open_backend(), StoreConfig(HistoryWindow(seconds=60)), clock=lambda: now[0])
    store = ref.proxy()
    try:
        old = store.create("/things/old", obj("old")).get()
        now[0] += 61
        new = store.create("/things/new", obj("new")).get()
        with pytest.raises(Gone):
            store.events_since(rv(old) - 1).get()
        assert [e.revision for e in store.events_since(rv(old)).get()] == [rv(new)]
        with pytest.raises(Gone):
            store.page("/things/", None, 1, "", rv(old) - 1).get()
    finally:
        ref.stop()


@pytest.fixture
def two_stores(open_backend) -> Iterator[tuple[Any, Any, list[StoreEvent]]]:
    """Two store actors on one JetStream bucket (two apiserver processes' stores); the second
    one's listener events."""
    first = Store.start(open_backend())
    second = Store.start(open_backend())
    heard: list[StoreEvent] = []
    second.proxy().add_listener(heard.append).get()
    yield first.proxy(), second.proxy(), heard
    first.stop()
    second.stop()


@pytest.mark.parametrize("store_kind", ["jetstream"])
def test_a_store_sharing_the_bucket_applies_the_others_writes_in_order(two_stores):
    first, second, heard = two_stores
    created = first.create("/pods/default/a", obj("a")).get()
    updated = first.update("/pods/default/a", obj("a", "nginx")).get()
    until(lambda: len(heard) == 2)
    assert [(e.type, e.object, e.revision) for e in heard] == [
        ("ADDED", created, rv(created)), ("MODIFIED", updated, rv(updated))]
    assert second.get("/pods/default/a").get() == updated
    mine = second.create("/pods/default/b", obj("b")).get()
    assert rv(mine) == rv(updated) + 1  # one revision counter for both
    until(lambda: first.revision().get() == rv(mine))


@pytest.mark.parametrize("store_kind", ["jetstream"])
def test_the_bucket_refuses_a_write_over_a_change_its_writer_has_not_seen(open_backend):
    first, second = open_backend(), open_backend()
    try:
        assert first.load() == (0, {}) and second.load() == (0, {})
        [created] = first.commit([Change("/pods/default/a", obj("a"), 0)])
        [updated] = first.commit([Change("/pods/default/a", obj("a", "nginx"), created)])
        assert isinstance(created, int) and isinstance(updated, int)
        stale_update, stale_create = second.commit([      # as if it had not seen them yet
            Change("/pods/default/a", obj("a", "redis"), created),
            Change("/pods/default/b", obj("b"), 0)])
        assert isinstance(stale_update, Conflict) and stale_create == updated + 1
        [duplicate] = second.commit([Change("/pods/default/b", obj("b"), 0)])
        assert isinstance(duplicate, AlreadyExists)
        records = second.records(stale_create)
        assert [(r.key, r.revision) for r in records] == [
            ("/pods/default/a", created), ("/pods/default/a", updated),
            ("/pods/default/b", stale_create)]
        assert records[1].object == {**obj("a", "nginx"), "metadata": {
            "name": "a", "resourceVersion": str(updated)}}
    finally:
        first.close()
        second.close()


def bucket_messages(backend: Any) -> int:
    """How many records the JetStream bucket holds (one per key at most: history 1)."""
    from bus import loop as bus_loop
    return int(bus_loop.wait(backend._js.stream_info(backend._stream), 10).state.messages)


@pytest.mark.parametrize("store_kind", ["jetstream"])
def test_a_purged_delete_marker_leaves_nothing_and_the_key_can_be_created_again(open_backend):
    first, second = open_backend(), open_backend()
    try:
        first.load(), second.load()
        [created] = first.commit([Change("/pods/default/a", obj("a"), 0)])
        [deleted] = first.commit([Change("/pods/default/a", None, created)])
        assert isinstance(deleted, int)
        second.records(deleted)  # the second store has seen the marker too
        assert bucket_messages(first) == 1  # the marker
        assert first.purge_deleted() == 1
        assert bucket_messages(first) == 0
        [again] = second.commit([Change("/pods/default/a", obj("a"), 0)])  # names the marker
        assert isinstance(again, int) and again > deleted
        [duplicate] = first.commit([Change("/pods/default/a", obj("a"), 0)])
        assert isinstance(duplicate, AlreadyExists)
        restarted = open_backend()
        revision, objects = restarted.load()
        assert revision == again and list(objects) == ["/pods/default/a"]
        restarted.close()
    finally:
        first.close()
        second.close()


def test_delete_markers_are_purged_once_older_than_keep_deleted(nats_server, connect):
    from bindings.backends.jetstream import JetStreamBackend
    backend = JetStreamBackend(connect(nats_server.url, "store"), keep_deleted=0.5)
    try:
        backend.load()
        [kept] = backend.commit([Change("/pods/default/kept", obj("kept"), 0)])
        [created] = backend.commit([Change("/pods/default/gone", obj("gone"), 0)])
        backend.commit([Change("/pods/default/gone", None, created)])
        assert bucket_messages(backend) == 2
        until(lambda: bucket_messages(backend) == 1)  # the marker went, the object stays
        restarted = JetStreamBackend(connect(nats_server.url, "again"))
        assert restarted.load() == (kept + 2, {"/pods/default/kept": {
            **obj("kept"), "metadata": {"name": "kept", "resourceVersion": str(kept)}}})
        restarted.close()
    finally:
        backend.close()


def test_the_read_view_shows_each_acknowledged_write_and_lists_at_one_revision(store):
    view = store.view().get()
    writer = store.writer().get()
    created = writer.write("create", "/things/a", obj("a"))
    assert view.get("/things/a") is created  # shared, not copied; visible once acknowledged
    updated = writer.write("update", "/things/a", obj("a", "busybox:1.37"), rv(created))
    assert view.get("/things/a")["spec"]["image"] == "busybox:1.37"
    assert created["spec"]["image"] == "busybox:1.36"  # a write replaces, never changes
    writer.write("create", "/things/b", obj("b"))
    items, revision, more = view.page("/things/", limit=1)
    assert ([i["metadata"]["name"] for i in items], more) == (["a"], "/things/a")
    assert revision == store.revision().get() == rv(updated) + 1
    writer.write("delete", "/things/a")
    assert view.get("/things/a") is None
    assert store.get_or_none("/things/a").get() is None


def big(name: str) -> Object:
    return {"metadata": {"name": name}, "data": {"blob": "x" * 300}}


def test_a_write_past_the_quota_is_refused_and_deletes_make_room_again(open_store):
    room = 2 * size_of("/things/a", big("a")) + 50  # two fit, not three
    store = open_store(quota_backend_bytes=room)
    first = store.create("/things/a", big("a")).get()
    store.create("/things/b", big("b")).get()
    before = store.revision().get()
    with pytest.raises(SpaceExceeded) as refused:
        store.create("/things/c", big("c")).get()
    assert refused.value.to_status()["message"] == "etcdserver: mvcc: database space exceeded"
    assert refused.value.to_status()["code"] == 500
    with pytest.raises(SpaceExceeded):  # an update that grows it too
        store.update("/things/a", {**big("a"), "more": "y" * 100}).get()
    assert store.revision().get() == before and store.get_or_none("/things/c").get() is None
    assert store.get("/things/a").get() == first  # reads and lists are served
    assert [i["metadata"]["name"] for i in store.list("/things/").get()[0]] == ["a", "b"]
    store.update("/things/a", obj("a")).get()  # one that shrinks it is not refused
    store.delete("/things/b").get()
    store.create("/things/c", big("c")).get()
    assert 0 < store.size().get() <= room
    store.delete("/things/a").get()
    store.delete("/things/c").get()
    assert store.size().get() == 0


GARBAGE = b"\xff\xfe{not json"


@pytest.fixture
def write_garbage(store_kind: str, tmp_path, open_backend) -> Callable[[str], None]:
    """Put a value no store wrote straight into the backend's storage, as its admin can."""
    def write(key: str) -> None:
        if store_kind == "sqlite":
            with contextlib.closing(sqlite3.connect(tmp_path / "store.db")) as db, db:
                db.execute("INSERT INTO objects (key, value) VALUES (?, ?)", (key, GARBAGE))
            return
        backend: Any = open_backend()
        try:
            bus_loop.wait(backend._js.publish(backend._subjects + kv_key(key), GARBAGE), 10)
        finally:
            backend.close()
    return write


def test_a_record_that_cannot_be_decoded_is_set_aside_and_the_rest_loads(
        open_store, write_garbage, caplog):
    store = open_store()
    kept = store.create("/things/kept", obj("kept")).get()
    write_garbage("/things/garbage")
    store = open_store()  # the restart that used to fail
    assert store.get("/things/kept").get() == kept
    [aside] = store.undecodable().get()
    assert aside.key == "/things/garbage" and "/things/garbage" in caplog.text
    assert [i["metadata"]["name"] for i in store.list("/things/").get()[0]] == ["kept"]
    store.create("/things/after", obj("after")).get()


@pytest.mark.parametrize("store_kind", ["jetstream"])
def test_a_record_in_the_feed_that_cannot_be_decoded_is_set_aside(open_store, write_garbage):
    store = open_store()
    write_garbage("/things/garbage")  # as another store's record would arrive
    after = store.create("/things/after", obj("after")).get()
    [aside] = store.undecodable().get()
    assert (aside.key, aside.revision) == ("/things/garbage", rv(after) - 1)
    assert store.get("/things/after").get() == after


@pytest.mark.parametrize("store_kind", ["jetstream"])
def test_a_record_set_aside_at_the_end_of_the_stream_does_not_hold_consistent_reads(
        open_store, write_garbage):
    """The view never applies a record it set aside: a consistent read must not wait for it
    (every get would be a 504 after 3 s until the next write)."""
    store = open_store()
    store.create("/things/before", obj("before")).get()
    write_garbage("/things/garbage")
    until(lambda: store.undecodable().get(), timeout=5)
    assert store.view().get().catch_up(1) is None


@pytest.mark.parametrize("store_kind", ["jetstream"])
def test_a_caught_up_view_holds_what_the_other_store_just_committed(two_stores):
    """A consistent read (an apiserver's get without resourceVersion): the second store's view,
    once caught up with the stream's last sequence, holds the write the first one was just
    acknowledged for, every time."""
    first, second, _ = two_stores
    view = second.view().get()
    for i in range(50):
        created = first.create(f"/pods/default/p{i}", obj(f"p{i}")).get()
        assert view.catch_up(3) is None
        assert view.get(f"/pods/default/p{i}") == created


def test_a_view_of_the_only_writer_is_caught_up_at_once(tmp_path):
    ref = Store.start(SqliteBackend(tmp_path / "store.db"))
    try:
        ref.proxy().create("/things/a", obj("a")).get()
        assert ref.proxy().view().get().catch_up(0) is None
    finally:
        ref.stop()
