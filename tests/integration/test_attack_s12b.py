"""Session 12's second attacker, on its new surfaces: the batch of bindings
(``actors.api.bindingbatches``, ``actors.apiserver.batching``) and the HTTPS front's watches
registered on the bus loop, over a real nats-server and store. The attacker holds a user
allowed to bind pods in one namespace (``binder``), or an HTTPS client that leaves. Each test
is one attempt; it passes when the defence holds:

- flow control classifies a batch by the namespaces of the bindings it holds, as it would
  classify each of them sent alone: a batch (its envelope names no namespace) is not a
  cluster-scoped request, so it cannot slip past a FlowSchema that holds its sender's requests
  in her namespace to a level of few seats; one whose bindings fall under different
  FlowSchemas is refused whole (400), nothing bound;
- a binding's body is a Binding as kube-apiserver decodes one: a ``target.name`` that is no
  string (a number, a map, a list, a boolean) is 400, a ``target.kind`` other than ``Node``
  is refused, in a batch as alone; nothing is bound (it stored ``spec.nodeName`` as any JSON
  value, and the pod garbage collector failed on it, over and over);
- each binding of a batch is audited in its own trace (``traceIds``: the pod's), as it is
  written: its record named the batch message's trace, the pod's trace lost from the log;
- a built-in IntOrString's integer is Go's int32, in the typed check and the schema walk
  alike: a wider one where no validation looks further (a PodDisruptionBudget's
  ``maxUnavailable``, a NetworkPolicy's port, a probe's ``tcpSocket.port``) is 400 as
  kube-apiserver's decoder refuses it, not stored;
- an HTTPS watch whose client left as its registration was answered is stopped: nothing of
  it stays behind on the front's bus connection (its subscription, its reconnect listener,
  its renewals: a watch nobody reads, renewed for ever).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.api import bindingbatches
from actors.api.objects import Object
from actors.client.client import Client, binding_request
from bindings.cluster import Cluster
from bus import BusConfig, Connection, Envelope
from bus.errors import BadRequest, Forbidden
from tests import auditlog
from tests.conftest import pod
from tests.integration import test_attack_s12
from tests.integration.test_attack_s12 import WATCH, _get
from tests.integration.test_binding_batches import BINDER
from tests.integration.test_binding_batches import cluster as cluster  # team-a's binder
from tests.integration.test_https_security import _raw
from tests.support import until

pytestmark = pytest.mark.integration

HELD_IN_TEAM_A: Object = {"metadata": {"name": "binder-in-team-a"}, "spec": {
    "priorityLevelConfiguration": {"name": "workload-low"}, "matchingPrecedence": 100,
    "distinguisherMethod": {"type": "ByNamespace"},
    "rules": [{"subjects": [{"kind": "User", "user": {"name": BINDER[0]}}],
               "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                  "namespaces": ["team-a"]}]}]}}
"""A cluster's own choice: what binder asks in team-a waits at workload-low."""


@pytest.fixture
def binder(cluster: Cluster, connect) -> Client:
    return Client(connect(BusConfig(url=cluster.url, prefix=cluster.config.prefix,
                                    ca=cluster.bus_ca, user=BINDER[0], token=BINDER[1]),
                          "binder"), BINDER[1])


@pytest.fixture
def heard(cluster: Cluster) -> Iterator[list[Envelope]]:
    """Every answer the apiserver sends into binder's inbox (the bus admin's eyes)."""
    found: list[Envelope] = []
    observer = Connection(cluster.bus(), "observer").connect()
    observer.subscribe(f"{cluster.config.prefix}.inbox.{BINDER[0]}.>",
                       lambda incoming: found.append(incoming.envelope))
    yield found
    observer.close()


def unscheduled(name: str) -> Object:
    obj = pod(name)
    obj["spec"]["schedulerName"] = "nobody-runs-this"
    return obj


def batch(*pods: tuple[str, str]) -> Object:
    """A BindingList binding each (namespace, name) to node n1."""
    bindings = [binding_request({"metadata": {"name": name, "namespace": namespace}}, "n1",
                                None)["body"] for namespace, name in pods]
    return bindingbatches.batch_body(bindings, [None] * len(bindings))


def schema_of(heard: list[Envelope], count: int) -> Any:
    """The FlowSchema (its UID) the last of ``count`` answers heard names."""
    until(lambda: len(heard) >= count, 10, failure=f"answers heard: {heard}")
    return (heard[count - 1].options or {}).get("flowSchemaUID")


def test_a_batch_is_classified_by_its_bindings_namespace_not_as_cluster_scoped(
        cluster, binder, heard):
    """binder's requests in team-a are held at workload-low by a FlowSchema of the cluster's.
    Her binding of a team-a pod, sent alone, meets that schema; sent in a batch (whose
    envelope names no namespace) it must meet it too, not the schema of cluster-scoped
    requests (global-default, a level of many more seats)."""
    admin = cluster.admin_client()
    held = admin.create("flowschemas", HELD_IN_TEAM_A, None)["metadata"]["uid"]
    for name in ("a1", "a2"):
        admin.create("pods", unscheduled(name), "team-a")
    with pytest.raises(Forbidden):  # her claim is learnt: classified as binder from now on
        binder.get("pods", "a1", "team-a")
    binder.bind(admin.get("pods", "a1", "team-a"), "n1")
    assert schema_of(heard, 2) == held
    answer = binder.request("create", "pods", subresource="binding",
                            body=batch(("team-a", "a2")))
    assert [item["code"] for item in answer["items"]] == [201]
    assert schema_of(heard, 3) == held, "the batch slipped past its namespace's FlowSchema"


def test_a_batch_whose_bindings_fall_under_different_flow_schemas_is_refused_whole(
        cluster, binder):
    """Held in team-a, binder batches a team-b binding first, a team-a one after it: were
    the batch classified by its first binding, the team-a one would pass at global-default.
    Refused whole, nothing bound."""
    admin = cluster.admin_client()
    admin.create("flowschemas", HELD_IN_TEAM_A, None)
    admin.create("pods", unscheduled("b1"), "team-b")
    admin.create("pods", unscheduled("a1"), "team-a")
    with pytest.raises(Forbidden):  # her claim is learnt: classified as binder from now on
        binder.get("pods", "a1", "team-a")
    with pytest.raises(BadRequest, match="FlowSchemas"):
        binder.request("create", "pods", subresource="binding",
                       body=batch(("team-b", "b1"), ("team-a", "a1")))
    assert admin.get("pods", "a1", "team-a")["spec"].get("nodeName") is None


@pytest.mark.parametrize("target", [
    {"kind": "Node", "name": 123}, {"kind": "Node", "name": {"x": 1}}, {"name": ["n1"]},
    {"name": True}, {"kind": "Pod", "name": "n1"}],
    ids=["number", "map", "list", "boolean", "not-a-node"])
def test_a_binding_whose_target_is_no_node_name_binds_nothing(cluster, binder, target):
    """binder may bind pods in team-a: a binding there whose target is no node's name is
    refused, in a batch (beside a good one, which lands) and alone; the pod stays unbound."""
    admin = cluster.admin_client()
    for name in ("bad", "good", "alone"):
        admin.create("pods", unscheduled(name), "team-a")
    bad = {**batch(("team-a", "bad"))["items"][0], "target": target}
    body = {**batch(("team-a", "good")), "items": [bad, batch(("team-a", "good"))["items"][0]],
            "traceIds": [None, None]}
    answer = binder.request("create", "pods", subresource="binding", body=body)
    assert [item["code"] for item in answer["items"]] == [400, 201], answer
    alone = {**bad, "metadata": {"name": "alone", "namespace": "team-a"}}
    with pytest.raises(BadRequest):
        binder.request("create", "pods", namespace="team-a", name="alone",
                       subresource="binding", body=alone)
    assert [admin.get("pods", name, "team-a")["spec"].get("nodeName")
            for name in ("bad", "good", "alone")] == [None, "n1", None]


def test_each_binding_of_a_batch_is_audited_in_its_pods_trace(cluster, binder):
    admin = cluster.admin_client()
    for name in ("a1", "a2"):
        admin.create("pods", unscheduled(name), "team-a")
    body = {**batch(("team-a", "a1"), ("team-a", "a2")), "traceIds": ["trace-of-a1", None]}
    binder.request("create", "pods", subresource="binding", body=body, trace_id="the-batch")
    log = cluster.config.data_dir / "audit.log"

    def traces() -> dict[str, str]:
        return {event["objectRef"]["name"]: event["annotations"].get("kubeactor.io/trace-id")
                for event in auditlog.events(log) if auditlog.user(event) == BINDER[0]
                and event["objectRef"].get("subresource") == "binding"}

    assert until(lambda: len(found := traces()) == 2 and found, 10) == {
        "a1": "trace-of-a1", "a2": "the-batch"}


@pytest.mark.parametrize("resource, obj", [
    ("poddisruptionbudgets", {"metadata": {"name": "wide"}, "spec": {
        "maxUnavailable": 2**40, "selector": {"matchLabels": {"app": "w"}}}}),
    ("networkpolicies", {"metadata": {"name": "wide"}, "spec": {
        "podSelector": {}, "ingress": [{"ports": [{"port": 2**40}]}]}}),
    ("pods", {"metadata": {"name": "wide"}, "spec": {"containers": [{
        "name": "c", "image": "i", "livenessProbe": {"tcpSocket": {"port": -2**40}}}]}}),
], ids=["pdb", "network-policy", "probe"])
def test_an_int_or_string_wider_than_int32_is_refused(cluster, resource, obj):
    admin = cluster.admin_client()
    with pytest.raises(BadRequest, match="of type int32"):
        admin.create(resource, obj, "team-a")
    assert admin.list(resource, "team-a")["items"] == []


api = test_attack_s12.api
"""An apiserver (no scheduler, no controllers) with its HTTPS front (session 12's)."""
users = test_attack_s12.users
"""Its users' certificate files (session 12's)."""
LEAVERS = 300
"""HTTPS watches whose clients leave at once (each leaves its registration in flight)."""


def test_watches_their_clients_leave_as_they_register_leave_nothing_behind(api, users):
    """The front registers a client's watch on the bus loop; a client that left while the
    registration was answered (its handler cancelled after the bus loop finished the start,
    before its answer was handed back) left the watch started and never stopped: its
    subscription and reconnect listener stayed on the front's connection, its lease renewed
    for ever (2 of 100 such clients). Each is stopped: the connection is back to what it
    held before."""
    front = api.https.front
    connection = front.connection

    def held() -> tuple[int, int]:
        return len(connection._reconnected), len(connection.nc._subs)

    before = held()  # the module's other tests' watches stopped before they ended
    for _ in range(LEAVERS):
        _raw(api, users["admin"], _get(WATCH)).close()
    until(lambda: held() == before, 20,
          failure="watches stayed behind (reconnect listeners, subscriptions)")
