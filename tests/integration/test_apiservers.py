"""Several apiservers: two ``kubeactor server`` processes on one JetStream store (the second
``--apiserver-only`` with the first's tokens) serve the same data, and a watch held by one
sees the writes committed by the other.

With the shared queue group a client cannot choose who serves a request, so the test uses the
per-process subjects: a watch's registration names the process holding it (``server``), and a
request addressed to ``P.api.<g>.<r>.<verb>.<server>`` is served by that process alone. Each
write below is committed by the other process's store; the watch learns of it only through
its own store's feed of the bucket."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator

import pytest

from actors.client.client import Client, Watch, WatchEvent
from bus.errors import ServiceUnavailable
from tests.processes import UpProcess, start_up, stop_up
from tests.support import until

pytestmark = pytest.mark.integration


@pytest.fixture
def apiservers(tmp_path, nats_server) -> Iterator[list[UpProcess]]:
    """The whole control plane, then one more apiserver, on one JetStream store."""
    shared = ("--store", "jetstream", "--nats", nats_server.url)
    first = start_up(tmp_path / "a", *shared, verb="server")
    second = start_up(tmp_path / "b", *shared, "--apiserver-only",
                      "--tokens", str(first.data_dir / "tokens.csv"), verb="server")
    yield [first, second]
    for up in (second, first):
        if up.process.poll() is None:
            assert stop_up(up) == 0


def watches_on_each_server(admin: Client, on_event, servers: int = 2,
                           lease_seconds: float = 60) -> dict[str, Watch]:
    """Open watches until one is held by each apiserver process (the queue group picks)."""
    held: dict[str, Watch] = {}
    for _ in range(200):
        watch = admin.watch("configmaps", on_event, namespace="default",
                            lease_seconds=lease_seconds)
        assert watch.server is not None
        if watch.server in held:
            watch.stop()
        else:
            held[watch.server] = watch
        if len(held) == servers:
            return held
    raise AssertionError(f"the watches all went to {list(held)}")


def test_a_watch_on_one_apiserver_sees_writes_made_through_the_other(apiservers, admin_for):
    heard: dict[str, list[str]] = defaultdict(list)
    arrived = threading.Condition()

    def on_event(event: WatchEvent) -> None:
        with arrived:
            heard[event.watch_id].append(event.object["metadata"]["name"])
            arrived.notify_all()

    admin = admin_for(apiservers[1])  # the second's kubeconfig works: the same tokens
    watches = watches_on_each_server(admin, on_event)
    for holder, writer in (list(watches), list(reversed(watches))):
        name = f"through-{writer}"
        admin.request("create", "configmaps", namespace="default", name=name,
                      body={"metadata": {"name": name}}, server=writer)
        names = heard[watches[holder].id]
        with arrived:
            assert arrived.wait_for(lambda n=name, seen=names: n in seen, 30), (
                f"the watch held by {holder} never heard of {name}")
    a, b = watches
    assert admin.request("list", "configmaps", namespace="default", server=a)["items"] == \
        admin.request("list", "configmaps", namespace="default", server=b)["items"]
    for watch in watches.values():
        watch.stop()


def test_a_watch_moves_to_the_other_apiserver_when_its_own_stops(apiservers, admin_for):
    """Renewals go to the holder; once it is gone, the other resumes the watch from its
    revision, so nothing committed meanwhile is missed."""
    heard: list[str] = []
    arrived = threading.Condition()
    admin = admin_for(apiservers[0])

    def on_event(event: WatchEvent) -> None:
        with arrived:
            heard.append(event.object["metadata"]["name"])
            arrived.notify_all()

    watches = watches_on_each_server(admin, on_event, lease_seconds=3)
    assert stop_up(apiservers[1]) == 0
    [gone] = [server for server in watches if _silent(admin, server)]  # the stopped one's id
    [staying] = [server for server in watches if server != gone]
    moving = watches[gone]
    admin.create("configmaps", {"metadata": {"name": "while-moving"}})
    with arrived:  # both watches hear it: the moved one from the revision it resumed at
        assert arrived.wait_for(lambda: heard.count("while-moving") == 2, 30)
    until(lambda: moving.server == staying,  # the renewal's reply named its new holder
          failure=f"the watch is not held by {staying}")
    for watch in watches.values():
        watch.stop()


def _silent(admin: Client, server: str) -> bool:
    """Whether nobody answers requests addressed to apiserver ``server``."""
    try:
        admin.request("list", "namespaces", server=server, timeout=5)
    except ServiceUnavailable:  # no responders there
        return True
    return False


def test_two_apiservers_never_hand_out_one_cluster_ip_twice(apiservers, admin_for):
    admin = admin_for(apiservers[1])
    servers = _servers(admin)
    answers = [admin.submit("create", "services", namespace="default", name=f"s{i}",
                            server=servers[i % 2], body={
                                "metadata": {"name": f"s{i}"},
                                "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}})
               for i in range(60)]
    ips = [answer.result(60)["spec"]["clusterIP"] for answer in answers]
    assert len(set(ips)) == 60
    listed = admin.list("services", "default")["items"]
    assert len({s["spec"]["clusterIP"] for s in listed}) == len(listed) == 61  # + kubernetes


def test_a_read_through_one_apiserver_sees_a_write_just_made_through_the_other(
        apiservers, admin_for):
    """A get or list without resourceVersion is consistent (KEP-2340): the other process waits
    until its store's view has applied the stream up to its last sequence, so the objects just
    created are there (the kubelet's create-then-get of its Node); one at resourceVersion "0"
    is served from the view at once. Each round writes a burst, so the reader's feed has
    records to bring when the get arrives: without the wait a run failed one time in two or three
    here (the store-level test in test_store.py fails every time)."""
    admin = admin_for(apiservers[1])
    writer, reader = _servers(admin)
    for i in range(50):
        names = [f"fresh-{i}-{j}" for j in range(10)]
        for answer in [admin.submit("create", "configmaps", namespace="default", name=name,
                                    body={"metadata": {"name": name}}, server=writer)
                       for name in names]:
            answer.result(30)
        got = admin.request("get", "configmaps", namespace="default", name=names[-1],
                            server=reader)
        assert got["metadata"]["name"] == names[-1]
        listed = admin.request("list", "configmaps", namespace="default", server=reader)
        assert set(names) <= {item["metadata"]["name"] for item in listed["items"]}
    any_version = admin.request("list", "configmaps", namespace="default", server=reader,
                                options={"resourceVersion": "0"})
    assert int(any_version["metadata"]["resourceVersion"]) > 0


def _servers(admin: Client) -> list[str]:
    """The two apiserver processes' ids (found by the watches they hold)."""
    watches = watches_on_each_server(admin, lambda event: None)
    for watch in watches.values():
        watch.stop()
    return list(watches)
