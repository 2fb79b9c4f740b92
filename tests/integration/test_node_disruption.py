"""Zones and disruption on real NATS with the real controller manager and store: when every
node goes silent at once the node lifecycle controller takes the control plane for the lost
one and evicts nothing (master disruption mode); when one node only goes silent afterwards,
its pods are evicted. The nodes are simulated by the test itself, which renews their Leases
and puts their Ready condition back as a kubelet would, so that they fall silent at the same
instant."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.api.meta import now_micro, set_condition
from actors.api.objects import Object
from actors.api.resources import NODE_LEASE_NAMESPACE
from actors.client.client import Client
from actors.controllers.disruption import DisruptionConfig
from actors.controllers.nodelifecycle import NodeLifecycleConfig
from bindings.cluster import Cluster, ClusterConfig
from bus.errors import Conflict, NotFound
from tests.conftest import node, pod, wait_for

pytestmark = pytest.mark.integration

ZONES = {"a-1": "a", "a-2": "a", "b-1": "b"}
NO_EXECUTE = {"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"}


class Heartbeats:
    """Renews the Leases of the nodes in :attr:`beating`, all with one timestamp per round,
    on a thread of its own, as their kubelets would."""

    def __init__(self, admin: Client) -> None:
        self.admin = admin
        self.beating: set[str] = set(ZONES)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def only(self, names: set[str]) -> None:
        """From the next round on, renew the Leases of ``names`` only."""
        with self._lock:
            self.beating = set(names)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:  # a round is never cut in two
                stamp = now_micro()
                for name in sorted(self.beating):
                    self._renew(name, stamp)
            self._stop.wait(0.5)

    def _renew(self, name: str, stamp: str) -> None:
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": name, "namespace": NODE_LEASE_NAMESPACE},
                 "spec": {"holderIdentity": name, "renewTime": stamp,
                          "leaseDurationSeconds": 4}}
        try:
            self.admin.update("leases", lease)
        except NotFound:
            self.admin.create("leases", lease, NODE_LEASE_NAMESPACE)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class Logged(logging.Handler):
    """Sets an event for each message of ``actors.controllers.disruption`` it is told to wait
    for."""

    def __init__(self, *messages: str) -> None:
        super().__init__(logging.INFO)
        self.seen = {message: threading.Event() for message in messages}

    def emit(self, record: logging.LogRecord) -> None:
        for message, event in self.seen.items():
            if message in record.getMessage():
                event.set()


@pytest.fixture
def logged() -> Iterator[Logged]:
    handler = Logged("Entering master disruption mode", "Exiting master disruption mode")
    logger = logging.getLogger("actors.controllers.disruption")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Client]:
    cluster = Cluster.start(ClusterConfig(
        data_dir=tmp_path / "zones", nodes=0, runtime="sim", node_lifecycle=NodeLifecycleConfig(
            grace_seconds=3, monitor_seconds=1, disruption=DisruptionConfig(eviction_rate=0.2))))
    try:
        yield cluster.admin_client()
    finally:
        cluster.stop()


def set_ready(admin: Client, name: str) -> None:
    """Put the node's Ready condition to True, as its kubelet does when it is back."""
    for _ in range(10):
        current = admin.get("nodes", name, None)
        set_condition(current, "Ready", "True", "KubeletReady", "kubelet is posting ready status")
        try:
            admin.update("nodes", current, subresource="status")
            return
        except Conflict:
            continue
    raise AssertionError(f"node {name} kept changing")


def bound_pod(name: str, node_name: str) -> Object:
    """A pod on ``node_name`` that is evicted as soon as its node gets a NoExecute taint."""
    bound = pod(name)
    bound["spec"].update(nodeName=node_name, tolerations=[
        {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}
        for key in sorted(NO_EXECUTE)])
    return bound


def test_all_nodes_silent_at_once_evicts_nothing_then_one_silent_node_loses_its_pods(
        admin, logged):
    for name, zone in ZONES.items():
        admin.create("nodes", dict(node(name), metadata={
            "name": name, "labels": {"topology.kubernetes.io/zone": zone}}), None)
        set_ready(admin, name)
    beats = Heartbeats(admin)
    for name in ZONES:
        wait_for(admin, "leases", name, lambda lease: True, namespace=NODE_LEASE_NAMESPACE)
    tainted: set[str] = set()
    evicted: set[str] = set()  # the nodes of the pods evicted
    gone: set[str] = set()
    b_evicted = threading.Event()

    def evict(pod: Object) -> None:
        evicted.add(pod["spec"]["nodeName"])
        gone.add(pod["metadata"]["name"])
        if {"b-1-pod-0", "b-1-pod-1"} <= gone:
            b_evicted.set()

    watches = [
        admin.watch("nodes", lambda e: tainted.update(
            e.object["metadata"]["name"] for t in e.object.get("spec", {}).get("taints") or []
            if t.get("key") in NO_EXECUTE and t.get("effect") == "NoExecute")),
        admin.watch("pods", lambda e: (e.type == "DELETED" or e.object["metadata"].get(
            "deletionTimestamp")) and evict(e.object), namespace="default")]
    try:
        for name in ZONES:
            for i in range(2):
                admin.create("pods", bound_pod(f"{name}-pod-{i}", name))
        beats.only(set())  # every node at once: the control plane lost them, not they
        assert logged.seen["Entering master disruption mode"].wait(60)
        for name in ZONES:
            wait_for(admin, "nodes", name, lambda n: any(
                c["type"] == "Ready" and c["status"] == "Unknown"
                for c in n["status"]["conditions"]), namespace=None)
        assert (tainted, evicted) == (set(), set())

        silent_since = admin.get("leases", "b-1", NODE_LEASE_NAMESPACE)["spec"]["renewTime"]
        beats.only({"a-1", "a-2"})  # zone a is back; b-1 alone stays silent
        for name in ("a-1", "a-2"):  # as a kubelet: its Lease renewed, then Ready again
            wait_for(admin, "leases", name, lambda lease: lease["spec"]["renewTime"] > (
                silent_since), namespace=NODE_LEASE_NAMESPACE)
        for name in ("a-1", "a-2"):
            set_ready(admin, name)
        assert logged.seen["Exiting master disruption mode"].wait(60)
        assert b_evicted.wait(60)
        assert wait_for(admin, "nodes", "b-1", lambda n: any(
            t["key"] == "node.kubernetes.io/unreachable" and t["effect"] == "NoExecute"
            for t in n["spec"].get("taints") or []), namespace=None)
    finally:
        beats.stop()
        for watch in watches:
            watch.stop()
    assert (tainted, evicted) == ({"b-1"}, {"b-1"})
    survivors = admin.list("pods", "default")["items"]
    assert sorted(p["metadata"]["name"] for p in survivors
                  if not p["metadata"].get("deletionTimestamp")) == [
        "a-1-pod-0", "a-1-pod-1", "a-2-pod-0", "a-2-pod-1"]
    events = admin.list("events", "default")["items"]
    assert {e["involvedObject"]["name"] for e in events if e["reason"] == (
        "TaintManagerEviction")} <= {"b-1-pod-0", "b-1-pod-1"}
