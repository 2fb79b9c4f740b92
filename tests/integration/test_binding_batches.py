"""A batch of bindings (actors/api/bindingbatches.py, actors/apiserver/batching.py) on a real
nats-server and store: each binding authorized in its own namespace, written and audited as a
request of its own, answered with one Status each; a batch that is not one refused whole,
nothing written; an apiserver-made scheduler binds through batches."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api import bindingbatches
from actors.api.objects import Object
from actors.client.client import Client, binding_request
from bindings.cluster import Cluster, ClusterConfig
from bus import BusConfig
from bus.errors import BadRequest, Forbidden
from tests import auditlog
from tests.conftest import pod
from tests.support import until

pytestmark = pytest.mark.integration

RBAC = "rbac.authorization.k8s.io"
BINDER = ("binder", "tok-binder")
"""A user who may bind pods in team-a only."""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A control plane with team-a and team-b, where ``binder`` may ``create pods/binding``
    in team-a only, and nobody schedules pods of ``schedulerName: nobody-runs-this``."""
    data = tmp_path / "cluster"
    data.mkdir()
    with (data / "tokens.csv").open("w", newline="") as handle:
        csv.writer(handle).writerow([BINDER[1], BINDER[0], BINDER[0], ""])
    cluster = Cluster.start(ClusterConfig(data_dir=data, nodes=0))
    admin = cluster.admin_client()
    for namespace in ("team-a", "team-b"):
        admin.create("namespaces", {"metadata": {"name": namespace}}, None)
    admin.create("roles", {"metadata": {"name": "binder"}, "rules": [
        {"apiGroups": [""], "resources": ["pods/binding"], "verbs": ["create"]}]}, "team-a")
    admin.create("rolebindings", {
        "metadata": {"name": "binder"},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "binder"},
        "subjects": [{"kind": "User", "name": BINDER[0]}]}, "team-a")
    yield cluster
    cluster.stop()


def unscheduled(name: str) -> Object:
    obj = pod(name)
    obj["spec"]["schedulerName"] = "nobody-runs-this"
    return obj


def batch(*pods: tuple[str, str], trace_ids: list[str | None] | None = None) -> Object:
    """A BindingList binding each (namespace, name) to node n1."""
    bindings = [binding_request({"metadata": {"name": name, "namespace": namespace}}, "n1",
                                None)["body"] for namespace, name in pods]
    return bindingbatches.batch_body(bindings, trace_ids or [None] * len(bindings))


def send(client: Client, body: Any) -> Any:
    return client.request("create", "pods", subresource="binding", body=body)


def node_of(admin: Client, namespace: str, name: str) -> str | None:
    return admin.get("pods", name, namespace)["spec"].get("nodeName")


def test_each_binding_is_authorized_in_its_namespace_and_the_allowed_ones_land(
        cluster, connect):
    admin = cluster.admin_client()
    for namespace, name in (("team-a", "a1"), ("team-b", "b1"), ("team-a", "a2")):
        admin.create("pods", unscheduled(name), namespace)
    binder = Client(connect(BusConfig(url=cluster.url, prefix=cluster.config.prefix,
                                      ca=cluster.bus_ca, user=BINDER[0], token=BINDER[1]),
                            "binder"), BINDER[1])
    answer = send(binder, batch(("team-a", "a1"), ("team-b", "b1"), ("team-a", "a2"),
                                trace_ids=["tr-a1", "tr-b1", None]))
    assert [(item["code"], item.get("reason")) for item in answer["items"]] == [
        (201, None), (403, "Forbidden"), (201, None)]
    assert 'cannot create resource "pods/binding"' in answer["items"][1]["message"]
    assert [node_of(admin, *where) for where in (("team-a", "a1"), ("team-b", "b1"),
                                                 ("team-a", "a2"))] == ["n1", None, "n1"]
    with pytest.raises(Forbidden):  # the same as a single binding would be told
        binder.bind(admin.get("pods", "b1", "team-b"), "n1")
    log = cluster.config.data_dir / "audit.log"

    def bindings_audited() -> list[tuple[str, str, int]]:
        return [(event["objectRef"]["namespace"], event["objectRef"]["name"],
                 event["responseStatus"]["code"]) for event in auditlog.events(log)
                if auditlog.user(event) == BINDER[0]
                and event["objectRef"].get("subresource") == "binding"]

    audited = until(lambda: len(found := bindings_audited()) >= 4 and found, timeout=10)
    assert sorted(audited) == [("team-a", "a1", 201), ("team-a", "a2", 201),
                               ("team-b", "b1", 403), ("team-b", "b1", 403)]


@pytest.mark.parametrize("body", [
    {"kind": "List", "items": []},
    batch(),
    {**batch(("team-a", "p0")), "items": [{"kind": "ConfigMap", "metadata": {
        "name": "p0", "namespace": "team-a"}}] + batch(("team-a", "p1"))["items"]},
    batch(("team-a", "p0"), ("team-a", "p1"), ("team-a", "p0")),
    batch(*[("team-a", f"q{i}") for i in range(bindingbatches.MAX_ITEMS + 1)]),
    {**batch(("team-a", "p0"), ("team-a", "p1")), "traceIds": ["one"]},
], ids=["not-a-binding-list", "empty", "not-a-binding", "a-pod-twice", "too-many",
        "trace-ids-short"])
def test_a_batch_that_is_not_one_is_refused_whole_and_binds_nothing(cluster, body):
    admin = cluster.admin_client()
    for name in ("p0", "p1"):
        admin.create("pods", unscheduled(name), "team-a")
    with pytest.raises(BadRequest):
        send(admin, body)
    assert [node_of(admin, "team-a", name) for name in ("p0", "p1")] == [None, None]

