"""Fault injection on the bus (bus/faults.py, actors/client/faultinjection.py): a FaultPlan is
the admin's, is installed in the process hosting the components, shows in the trace, ends by
itself; and the control plane converges under it (issue 19, item 5), on a simulated cluster in
this process (tests/e2e/test_chaos.py does it on Docker with the CLI)."""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack
import pytest

from actors.api import faultplans
from actors.api.pods import is_pod_active
from actors.client.client import Client, WatchEvent
from bindings.cluster import Cluster
from bus import faults
from bus.connection import Connection
from bus.errors import Forbidden, ServerTimeout
from tests.conftest import wait_for
from tests.support import until

SEED = int(os.environ.get("CHAOS_SEED", "19"))
"""Seeds the plans: the same messages are faulted in the same order of arrival."""
CONVERGING_SECONDS = 300
"""The test's own limit (pytest-timeout's default is 120 s): each lost request costs its
requester the 10 s request deadline before it is sent again, and a pod may meet several in a
row (its create, its binding, its status); 40-65 s here, over 120 s once under a load of 12."""
POD_SUBJECTS = ["kubeactor.api.*.pods.*", "kubeactor.api.*.pods/binding.*",
                "kubeactor.api.*.pods/status.*"]


def plan(seconds: float, **rates: float) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    return faultplans.manifest(POD_SUBJECTS, expires, rates=rates, seed=SEED)


class Spans:
    """The spans of fault plans and of the kubelets' container starts, as the tracer sees them."""

    def __init__(self, connection: Connection) -> None:
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        for component in ("chaos", "kubelet"):
            connection.subscribe_raw(connection.subjects.trace(component), self._on)

    def _on(self, subject: str, data: bytes) -> None:  # bus loop thread
        with self.lock:
            self.seen.append(msgpack.unpackb(data))

    def verbs(self) -> Counter[str]:
        with self.lock:
            return Counter(span["verb"] for span in self.seen if "chaos" in span.get("opts", {}))

    def starts(self) -> Counter[str]:
        """Container starts by pod name."""
        with self.lock:
            return Counter(span["name"] for span in self.seen if span["verb"] == "start"
                           and span.get("sub") == "containers")


def replica_set(name: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main",
                                                           "image": "busybox:1.35"}]}}}}


def running(admin: Client, app: str) -> list[str]:
    return [pod["metadata"]["name"] for pod in
            admin.list("pods", "default", label_selector=f"app={app}")["items"]
            if is_pod_active(pod) and pod.get("status", {}).get("phase") == "Running"]


def unready(admin: Client, app: str) -> list[tuple[str, str | None, str | None, str]]:
    """The pods of ``app`` the server does not have Ready: name, node, phase, conditions."""
    found = []
    for pod in admin.list("pods", "default", label_selector=f"app={app}")["items"]:
        status = pod.get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        if conditions.get("Ready") != "True":
            found.append((pod["metadata"]["name"], pod["spec"].get("nodeName"),
                          status.get("phase"), str(conditions)))
    return found


def lost_a_pod(admin: Client, app: str, seconds: float) -> bool:
    """Whether any pod of ``app`` stops running or goes within ``seconds`` (a watch)."""
    lost = threading.Event()

    def on_event(event: WatchEvent) -> None:
        phase = event.object.get("status", {}).get("phase")
        if event.type == "DELETED" or phase != "Running" or not is_pod_active(event.object):
            lost.set()

    watch = admin.watch("pods", on_event, namespace="default", label_selector=f"app={app}")
    try:
        return lost.wait(seconds)
    finally:
        watch.stop()


@pytest.mark.timeout(CONVERGING_SECONDS)
def test_a_replicaset_of_20_converges_under_drops_and_duplicates_and_runs_each_pod_once(
        sim_cluster: Cluster, connect) -> None:
    admin = sim_cluster.admin_client()
    spans = Spans(connect(sim_cluster.bus(), "tracer"))
    made = admin.create(faultplans.RESOURCE, plan(120, drop=0.1, duplicate=0.05), None)
    until(lambda: [p.name for p in faults.PROCESS.installed()] == [made["metadata"]["name"]],
          timeout=10)
    admin.create("replicasets", replica_set("flock", 20))
    try:
        wait_for(admin, "replicasets", "flock", lambda rs: rs.get("status", {}).get(
            "readyReplicas") == 20, timeout=240)
    except AssertionError as stuck:
        raise AssertionError(f"{stuck}; pods not ready: {unready(admin, 'flock')}") from None
    assert until(lambda: len(running(admin, "flock")) == 20, timeout=30)
    assert not lost_a_pod(admin, "flock", seconds=5)  # and keeps 20 while still faulted
    verbs = spans.verbs()
    assert verbs["start"] >= 1 and verbs["drop"] > 0 and verbs["duplicate"] > 0, verbs
    starts = spans.starts()
    assert set(starts) >= set(running(admin, "flock"))
    assert max(starts.values()) == 1, (SEED, starts)  # no pod's container started twice


def test_a_plan_is_the_admins_and_ends_by_itself(sim_cluster: Cluster, connect) -> None:
    mallory = sim_cluster.credentials("mallory")
    user = Client(connect(sim_cluster.bus_of(mallory), "mallory"), mallory)
    with pytest.raises(Forbidden):
        user.create(faultplans.RESOURCE, plan(60, drop=1.0), None)
    admin = sim_cluster.admin_client()
    spans = Spans(connect(sim_cluster.bus(), "tracer"))
    name = admin.create(faultplans.RESOURCE, plan(2, drop=1.0), None)["metadata"]["name"]
    until(lambda: spans.verbs()["end"] >= 1, timeout=15)
    assert faults.PROCESS.installed() == []
    until(lambda: admin.list(faultplans.RESOURCE)["items"] == [], timeout=10)
    assert spans.verbs()["start"] == 1, name


def test_a_duplicated_create_makes_one_object_and_a_duplicated_binding_one_container(
        sim_cluster: Cluster, connect) -> None:
    admin = sim_cluster.admin_client()  # a certificate session: each request has a nonce
    by_token = Client(connect(sim_cluster.bus(), "by-token"), sim_cluster.token("admin"))
    spans = Spans(connect(sim_cluster.bus(), "tracer"))
    # Both lanes: the admin's requests travel on its own (kubeactor.exempt...), the others' on
    # kubeactor.api...
    doubled = faultplans.manifest(["kubeactor.*.*.configmaps.*",
                                   "kubeactor.*.*.pods/binding.*"],
                                  (datetime.now(UTC) + timedelta(seconds=60)).isoformat(),
                                  rates={"duplicate": 1.0})
    admin.create(faultplans.RESOURCE, doubled, None)
    until(lambda: faults.PROCESS.installed(), timeout=10)
    for client in (admin, by_token):
        client.create("configmaps", {"metadata": {"generateName": "twice-"}})
    made = [cm for cm in admin.list("configmaps", "default")["items"]
            if cm["metadata"]["name"].startswith("twice-")]
    assert len(made) == 2  # one each, though each create arrived twice
    unscheduled = {"metadata": {"name": "bound-once"},
                   "spec": {"schedulerName": "nobody",
                            "containers": [{"name": "main", "image": "busybox:1.35"}]}}
    pod = admin.create("pods", unscheduled)
    admin.bind(pod, "node-1")
    wait_for(admin, "pods", "bound-once", lambda p: p["status"].get("phase") == "Running")
    assert spans.verbs()["duplicate"] >= 3
    assert spans.starts()["bound-once"] == 1


def test_a_plan_that_drops_everything_still_lets_the_admin_end_it(
        sim_cluster: Cluster, connect) -> None:
    admin = sim_cluster.admin_client()
    everything = faultplans.manifest(
        ["kubeactor.>"], (datetime.now(UTC) + timedelta(seconds=600)).isoformat(),
        rates={"drop": 1.0})
    name = admin.create(faultplans.RESOURCE, everything, None)["metadata"]["name"]
    until(lambda: faults.PROCESS.installed(), timeout=10)
    with pytest.raises(ServerTimeout):
        admin.get("namespaces", "default", None)  # dropped, and dropped again
    admin.delete(faultplans.RESOURCE, name, None)  # its own messages pass
    until(lambda: not faults.PROCESS.installed(), timeout=10)
    assert admin.get("namespaces", "default", None)["metadata"]["name"] == "default"
