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

import pytest

from actors.client import Client, Watch, WatchEvent
from tests.processes import start_up, stop_up

pytestmark = pytest.mark.integration


def watches_on_each_server(admin: Client, on_event, servers: int = 2) -> dict[str, Watch]:
    """Open watches until one is held by each apiserver process (the queue group picks)."""
    held: dict[str, Watch] = {}
    for _ in range(200):
        watch = admin.watch("configmaps", on_event, namespace="default")
        assert watch.server is not None
        if watch.server in held:
            watch.stop()
        else:
            held[watch.server] = watch
        if len(held) == servers:
            return held
    raise AssertionError(f"the watches all went to {list(held)}")


def test_a_watch_on_one_apiserver_sees_writes_made_through_the_other(
        tmp_path, nats_server, admin_for):
    shared = ("--store", "jetstream", "--nats", nats_server.url)
    first = start_up(tmp_path / "a", *shared, verb="server")
    second = start_up(tmp_path / "b", *shared, "--apiserver-only",
                      "--tokens", str(first.data_dir / "tokens.csv"), verb="server")
    heard: dict[str, list[str]] = defaultdict(list)
    arrived = threading.Condition()

    def on_event(event: WatchEvent) -> None:
        with arrived:
            heard[event.watch_id].append(event.object["metadata"]["name"])
            arrived.notify_all()

    try:
        admin = admin_for(second)  # the second's kubeconfig works: the same tokens
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
    finally:
        assert stop_up(second) == 0
        assert stop_up(first) == 0
