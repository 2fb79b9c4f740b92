"""Workloads stored before today's pod template defaults (``dnsPolicy``, ``securityContext``,
``terminationMessage*``, ``resources: {}``) do not roll their pods on their next unrelated
update, which writes the defaults into their template: the controllers compare templates as
Kubernetes reads them (decoded, so defaulted), a Deployment's against its ReplicaSets', a
DaemonSet's and a StatefulSet's against their ControllerRevisions'.

The cluster (simulated nodes, real NATS, the SQLite store) runs once to make the objects, is
stopped, has the defaults taken out of the templates in its store file (as an older kubeactor
wrote them), and is started again on that file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from actors.api.objects import Object
from actors.client.client import Client
from bindings.cluster import Cluster, ClusterConfig
from bindings.runtimes.sim import START_SECONDS
from tests.conftest import edit, wait_for

pytestmark = pytest.mark.integration

KINDS = ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ControllerRevision")


def workload(kind: str, name: str, **spec: object) -> Object:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": labels}, **spec, "template": {
                "metadata": {"labels": labels, "annotations": {START_SECONDS: "0.1"}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1.35"}]}}}}


def status_is(**wanted: object) -> Any:
    return lambda obj: all((obj.get("status") or {}).get(k) == v for k, v in wanted.items())


def without_new_defaults(spec: Object) -> None:
    """Take out of a pod template's spec the defaults kubeactor added in sessions 11 and 12."""
    for field in ("dnsPolicy", "securityContext"):
        spec.pop(field, None)
    for container in spec["containers"]:
        for field in ("terminationMessagePath", "terminationMessagePolicy", "resources"):
            container.pop(field, None)


def store_the_old_way(store_file: Path) -> int:
    """Rewrite the workloads' templates (and their revisions') in the stopped cluster's store
    without the new defaults; how many templates were rewritten."""
    rewritten = 0
    with sqlite3.connect(store_file) as db:
        for key, value in db.execute("SELECT key, value FROM objects").fetchall():
            obj = json.loads(value)
            if obj.get("kind") not in KINDS:
                continue
            holder = obj["data"] if obj["kind"] == "ControllerRevision" else obj
            without_new_defaults(holder["spec"]["template"]["spec"])
            db.execute("UPDATE objects SET value = ? WHERE key = ?", (json.dumps(obj), key))
            rewritten += 1
    return rewritten


def names(admin: Client, resource: str, app: str) -> set[str]:
    return {o["metadata"]["name"] for o in admin.list(resource, "default",
                                                       label_selector=f"app={app}")["items"]}


def uids(admin: Client, app: str) -> set[str]:
    return {p["metadata"]["uid"] for p in admin.list("pods", "default",
                                                      label_selector=f"app={app}")["items"]}


def annotate(admin: Client, resource: str, name: str, **spec: object) -> None:
    """An update unrelated to the template (an annotation; ``spec`` fields too), the rest sent
    back as read, as ``kubectl annotate`` or ``scale`` sends it."""
    def change(obj: Object) -> None:
        obj["metadata"].setdefault("annotations", {})["team"] = "a"
        obj["spec"].update(spec)
    edit(admin, resource, name, change)


def test_workloads_stored_before_the_template_defaults_keep_their_pods_on_an_update(tmp_path):
    config = ClusterConfig(data_dir=tmp_path / "data", nodes=2, runtime="sim")
    cluster = Cluster.start(config)
    try:
        admin = cluster.admin_client()
        admin.create("deployments", workload("Deployment", "web", replicas=2))
        admin.create("daemonsets", workload("DaemonSet", "agent"))
        admin.create("statefulsets", workload("StatefulSet", "db", replicas=2, serviceName="db"))
        wait_for(admin, "deployments", "web", status_is(availableReplicas=2, updatedReplicas=2))
        wait_for(admin, "daemonsets", "agent", status_is(numberAvailable=2,
                                                         updatedNumberScheduled=2))
        wait_for(admin, "statefulsets", "db", status_is(readyReplicas=2, updatedReplicas=2))
        before = {"replicasets": names(admin, "replicasets", "web"),
                  "agent": names(admin, "controllerrevisions", "agent"),
                  "db": names(admin, "controllerrevisions", "db"),
                  "agent pods": uids(admin, "agent"), "db pods": uids(admin, "db")}
    finally:
        cluster.stop()
    assert store_the_old_way(tmp_path / "data" / "store.db") == 6

    cluster = Cluster.start(config)
    try:
        admin = cluster.admin_client()
        annotate(admin, "deployments", "web")
        annotate(admin, "daemonsets", "agent")
        annotate(admin, "statefulsets", "db", replicas=3)
        assert "dnsPolicy" in admin.get("deployments", "web")["spec"]["template"]["spec"]
        # The Deployment's annotations go to its current ReplicaSet; its daemon goes to a new
        # node; its third pod comes from the current revision.
        wait_for(admin, "replicasets", None, lambda rs: (
            rs["metadata"].get("annotations") or {}).get("team") == "a")
        cluster.add_sim_nodes("node-3")
        wait_for(admin, "daemonsets", "agent", status_is(numberAvailable=3,
                                                         updatedNumberScheduled=3))
        wait_for(admin, "statefulsets", "db", status_is(readyReplicas=3, updatedReplicas=3))
        assert names(admin, "replicasets", "web") == before["replicasets"]
        assert names(admin, "controllerrevisions", "agent") == before["agent"]
        assert names(admin, "controllerrevisions", "db") == before["db"]
        assert uids(admin, "agent") > before["agent pods"]  # one more, none replaced
        assert uids(admin, "db") > before["db pods"]
    finally:
        cluster.stop()
