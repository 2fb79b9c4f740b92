"""The API contract Kubernetes clients rely on (issue 3, sections 3 and 4), through the whole
pipeline on a real nats-server, on each store backend: server-owned metadata, the status
split, bindings, selectors, the small resources, watch event types, compaction's 410, watch
leases and the informer's relist. (More of the contract is in test_apiserver.py, which runs
on both backends too.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.api.objects import Object
from actors.api.serviceaccounts import ROOT_CA_CONFIGMAP as ROOT_CA
from actors.client.client import Client, WatchEvent
from actors.client.informer import Informer
from actors.store import HistoryWindow, StoreConfig
from bindings.cluster import Cluster, ClusterConfig
from bus import Envelope
from bus.errors import Conflict, Gone
from tests.conftest import STORES, node, pod
from tests.support import until

pytestmark = pytest.mark.integration


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    return control_plane.admin_client()


@pytest.fixture
def short_history(tmp_path: Path, store_kind: str) -> Iterator[Cluster]:
    """A control plane whose history window keeps only 5 revisions."""
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path / "short", nodes=0,
                                          store=store_kind, storage=StoreConfig(HistoryWindow(5))))
    yield cluster
    cluster.stop()


def unscheduled(name: str) -> Object:
    """A pod no scheduler here serves: only the test writes it."""
    obj = pod(name)
    obj["spec"]["schedulerName"] = "nobody-runs-this"
    return obj


def names(listing: Object) -> list[str]:
    return [item["metadata"]["name"] for item in listing["items"]]


def rv(obj: Object) -> int:
    return int(obj["metadata"]["resourceVersion"])


def test_server_owned_metadata_and_generation_bumped_by_spec_changes_only(admin):
    created = admin.create("pods", unscheduled("p"))
    metadata = created["metadata"]
    assert metadata["uid"] and metadata["creationTimestamp"] and metadata["generation"] == 1
    relabelled = admin.update("pods", {**created, "metadata": {**metadata, "labels": {"a": "b"}}})
    assert relabelled["metadata"]["generation"] == 1 and rv(relabelled) > rv(created)
    spec = {**relabelled["spec"], "containers": [
        {**relabelled["spec"]["containers"][0], "image": "busybox:1.36"}]}
    changed = admin.update("pods", {**relabelled, "spec": spec})
    assert changed["metadata"]["generation"] == 2
    assert changed["metadata"]["uid"] == metadata["uid"]
    assert changed["metadata"]["creationTimestamp"] == metadata["creationTimestamp"]


def test_the_status_split_and_a_second_binding_is_409(admin):
    created = admin.create("pods", unscheduled("p"))
    ignored = admin.update("pods", {**created, "status": {"phase": "Running"}})
    assert ignored["status"].get("phase") != "Running"
    spec = {**ignored["spec"], "containers": [
        {**ignored["spec"]["containers"][0], "image": "other:1"}]}
    status = admin.update("pods", {**ignored, "spec": spec, "status": {"phase": "Running"}},
                          subresource="status")
    assert status["status"]["phase"] == "Running"
    assert status["spec"]["containers"][0]["image"] == "busybox:1.35"
    admin.bind(status, "node-1")
    assert admin.get("pods", "p")["spec"]["nodeName"] == "node-1"
    with pytest.raises(Conflict):
        admin.bind(status, "node-2")
    assert admin.get("pods", "p")["spec"]["nodeName"] == "node-1"


def test_label_and_field_selectors(admin):
    for name, labels in (("web", {"app": "web"}), ("db", {"app": "db"}), ("bare", {})):
        admin.create("pods", {**pod(name), "metadata": {"name": name, "labels": labels}})
    admin.bind(admin.get("pods", "web"), "node-1")
    cases = {"app=web": ["web"], "app!=web": ["bare", "db"], "app in (web,db)": ["db", "web"],
             "app notin (web)": ["bare", "db"], "app": ["db", "web"], "!app": ["bare"]}
    for selector, expected in cases.items():
        assert names(admin.list("pods", "default", label_selector=selector)) == expected
    assert names(admin.list("pods", None, field_selector="spec.nodeName=node-1")) == ["web"]
    assert names(admin.list("pods", None, field_selector="metadata.name=db")) == ["db"]
    assert names(admin.list("pods", None, field_selector="status.phase=Pending,"
                                                        "metadata.namespace=default")) == [
        "bare", "db", "web"]


@pytest.mark.parametrize("resource,obj,namespace", [
    ("namespaces", {"metadata": {"name": "team-a"}}, None),
    ("configmaps", {"metadata": {"name": "cm"}, "data": {"k": "v"}}, "default"),
    ("leases", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "l"}, "spec": {"holderIdentity": "me",
                                                   "leaseDurationSeconds": 10}}, "default"),
    ("events", {"metadata": {"name": "e"}, "reason": "Tested", "message": "m",
                "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}},
     "default"),
])
def test_namespaces_configmaps_leases_and_events(admin, resource, obj, namespace):
    created = admin.create(resource, obj, namespace)
    name = obj["metadata"]["name"]
    assert admin.get(resource, name, namespace) == created
    assert name in names(admin.list(resource, namespace))
    admin.delete(resource, name, namespace)
    until(lambda: name not in names(admin.list(resource, namespace)))


def test_a_watch_from_a_revision_sees_added_modified_deleted_in_order(admin):
    start = rv(admin.create("configmaps", {"metadata": {"name": "before"}}))
    cm = admin.create("configmaps", {"metadata": {"name": "cm"}, "data": {"k": "1"}})
    admin.update("configmaps", {**cm, "data": {"k": "2"}})
    admin.delete("configmaps", "cm")
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def on_event(event: WatchEvent) -> None:
        seen.append((event.type, event.object["metadata"]["name"]))
        if event.type == "DELETED":
            done.set()

    watch = admin.watch("configmaps", on_event, namespace="default",
                        resource_version=str(start))
    try:
        assert done.wait(30)
    finally:
        watch.stop()
    assert seen == [("ADDED", "cm"), ("MODIFIED", "cm"), ("DELETED", "cm")]


def test_compacted_revisions_are_gone_for_watches_and_list_pages(short_history):
    admin = short_history.admin_client()
    first = admin.list("configmaps", "default", limit=1)
    for i in range(8):
        admin.create("configmaps", {"metadata": {"name": f"cm-{i}"}})
    with pytest.raises(Gone):
        admin.watch("configmaps", lambda event: None, namespace="default",
                    resource_version=first["metadata"]["resourceVersion"])
    page = admin.list("configmaps", "default", limit=1)
    for i in range(8, 16):
        admin.create("configmaps", {"metadata": {"name": f"cm-{i}"}})
    with pytest.raises(Gone):
        admin.list("configmaps", "default", limit=1,
                   continue_token=page["metadata"]["continue"])


def test_a_watch_whose_lease_lapses_is_dropped(control_plane, admin, connect):
    """A watcher that never renews stops getting events once its one-second lease is over."""
    connection = connect(control_plane.bus(), "lapsing")  # the admin's: its watch
    events: list[Envelope] = []
    watch_id = connection.subjects.watch_id(connection.owner, "lapsing-1")
    connection.subscribe(connection.subjects.watch(watch_id), lambda incoming: events.append(
        incoming.envelope) if incoming.envelope.name != ROOT_CA else None)
    admin.request("watch", "configmaps", namespace="default",
                  options={"watchId": watch_id, "leaseSeconds": 1})
    admin.create("configmaps", {"metadata": {"name": "heard"}})
    until(lambda: len(events) == 1)
    expires = time.monotonic() + 1
    until(lambda: time.monotonic() > expires)  # the lease runs out; nobody renews it
    admin.create("configmaps", {"metadata": {"name": "unheard"}})
    witness = threading.Event()  # a live watch hears the same commit: it has been dispatched
    live = admin.watch("configmaps", lambda event: witness.set() if event.object[
        "metadata"]["name"] == "after" else None, namespace="default")
    admin.create("configmaps", {"metadata": {"name": "after"}})
    try:
        assert witness.wait(30)
    finally:
        live.stop()
    assert [e.name for e in events] == ["heard"]


def test_an_informer_relists_when_its_revision_was_compacted(short_history):
    admin = short_history.admin_client()
    admin.create("configmaps", {"metadata": {"name": "kept"}})
    admin.create("configmaps", {"metadata": {"name": "removed"}})
    heard: list[tuple[str, str]] = []
    informer = Informer(admin, "configmaps", lambda e: heard.append(
        (e.type, e.object["metadata"]["name"])) if e.object["metadata"]["name"] != ROOT_CA
        else None, namespace="default", lease_seconds=1.5)
    informer.start()
    try:
        assert sorted(heard) == [("ADDED", "kept"), ("ADDED", "removed")]
        watch = informer._watch
        assert watch is not None
        # The apiserver forgets the watch (as after a restart) while the history moves past it.
        admin.request("watch", "configmaps", namespace="default",
                      options={"watchId": watch.id, "stop": True})
        admin.delete("configmaps", "removed")
        for i in range(8):
            admin.create("configmaps", {"metadata": {"name": f"new-{i}"}})
        until(lambda: ("DELETED", "removed") in heard and ("ADDED", "new-7") in heard)
        assert sorted(o["metadata"]["name"] for o in informer.items()) == [
            "kept", ROOT_CA] + [f"new-{i}" for i in range(8)]
    finally:
        informer.stop()


def test_an_informer_lists_page_by_page_and_watches_from_the_snapshot(admin):
    for i in range(5):
        admin.create("configmaps", {"metadata": {"name": f"paged-{i}"}})
    heard: list[tuple[str, str]] = []
    informer = Informer(admin, "configmaps", lambda e: heard.append(
        (e.type, e.object["metadata"]["name"])) if e.object["metadata"]["name"] != ROOT_CA
        else None, namespace="default", page=2)
    informer.start()
    try:
        assert sorted(heard) == [("ADDED", f"paged-{i}") for i in range(5)]
        admin.create("configmaps", {"metadata": {"name": "after"}})
        until(lambda: ("ADDED", "after") in heard)
        assert len(heard) == 6  # nothing of the snapshot came twice
        assert informer.get("paged-3", "default") is not None
    finally:
        informer.stop()


def test_nodes_are_cluster_scoped(admin):
    admin.create("nodes", node("n-1"), None)
    assert admin.get("nodes", "n-1", None)["metadata"].get("namespace") is None
    assert "n-1" in names(admin.list("nodes", None))
