"""The Node authorizer (actors/apiserver/nodeauthz.py): the graph of pods bound to nodes and
what they refer to, and each of its rules, as Kubernetes' NodeAuthorizer decides."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.pods import references
from actors.api.users import UserInfo
from actors.apiserver.bootstrappolicy import bootstrap_policy
from actors.apiserver.nodeauthz import NodeAuthorizer, NodeGraph
from actors.apiserver.rbac import Attributes, Authorizer, Decision
from bus.errors import Forbidden

N1 = UserInfo("system:node:n1", groups=("system:nodes",))
COORD = "coordination.k8s.io"


def pod(name: str, node: str | None, revision: int = 1, namespace: str = "x",
        **spec: Any) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                        "resourceVersion": str(revision)},
            "spec": {**({"nodeName": node} if node else {}), **spec}}


WITH_EVERYTHING = {
    "serviceAccountName": "runner",
    "imagePullSecrets": [{"name": "pull"}],
    "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "init-env"}}]}],
    "containers": [{"name": "c", "env": [
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "env-cm", "key": "a"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "b"}}},
        {"name": "C", "value": "plain"}],
        "envFrom": [{"configMapRef": {"name": "from-cm"}}]}],
    "volumes": [
        {"name": "v1", "configMap": {"name": "vol-cm"}},
        {"name": "v2", "secret": {"secretName": "vol-secret"}},
        {"name": "v3", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "v4", "projected": {"sources": [{"configMap": {"name": "proj-cm"}},
                                                 {"secret": {"name": "proj-secret"}}]}},
        {"name": "v5", "ephemeral": {"volumeClaimTemplate": {}}},
        {"name": "v6", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "csi"}}},
        {"name": "v7", "emptyDir": {}}],
}


def test_a_pod_refers_to_its_service_account_pull_secrets_env_and_volumes():
    assert references(pod("web", "n1", **WITH_EVERYTHING)) == {
        ("serviceaccounts", "runner"), ("secrets", "pull"), ("secrets", "init-env"),
        ("configmaps", "env-cm"), ("secrets", "env-secret"), ("configmaps", "from-cm"),
        ("configmaps", "vol-cm"), ("secrets", "vol-secret"),
        ("persistentvolumeclaims", "data"), ("configmaps", "proj-cm"),
        ("secrets", "proj-secret"), ("persistentvolumeclaims", "web-v5"), ("secrets", "csi")}


def test_a_malformed_pod_refers_to_nothing_and_breaks_nothing():
    assert references({"kind": "Pod", "spec": {"containers": "no", "volumes": [3, None],
                                               "imagePullSecrets": [{"name": 7}]}}) == set()


def graph_of(*pods: dict[str, Any]) -> NodeGraph:
    graph = NodeGraph()
    for obj in pods:
        graph.observe(obj)
    return graph


def test_the_graph_relates_an_object_to_the_node_of_each_pod_that_refers_to_it():
    cm = {"configMap": {"name": "shared"}}
    graph = graph_of(pod("a", "n1", volumes=[cm]), pod("b", "n2", volumes=[cm]),
                     pod("c", None, volumes=[{"configMap": {"name": "pending"}}]))
    assert graph.related("n1", "configmaps", "x", "shared")
    assert graph.related("n2", "configmaps", "x", "shared")
    assert not graph.related("n1", "configmaps", "other-ns", "shared")
    assert not graph.related("n1", "configmaps", "x", "pending")  # c is bound nowhere
    assert graph.related("n1", "pods", "x", "a") and not graph.related("n1", "pods", "x", "b")


def test_the_graph_follows_a_pod_rebound_changed_and_deleted():
    graph = graph_of(pod("a", "n1", 1, volumes=[{"secret": {"secretName": "s"}}]),
                     pod("b", "n1", 1, volumes=[{"secret": {"secretName": "s"}}]))
    graph.observe(pod("a", "n1", 2))  # a no longer needs it; b still does
    assert graph.related("n1", "secrets", "x", "s")
    graph.observe(pod("b", "n1", 3), deleted=True)
    assert not graph.related("n1", "secrets", "x", "s")
    assert graph.node_of_pod("x", "b") is None


def test_a_late_older_change_never_brings_a_deleted_pod_back():
    graph = graph_of(pod("a", "n1", 5, volumes=[{"configMap": {"name": "cm"}}]))
    graph.observe(pod("a", "n1", 6), deleted=True)
    graph.observe(pod("a", "n1", 5, volumes=[{"configMap": {"name": "cm"}}]))  # replayed
    assert not graph.related("n1", "configmaps", "x", "cm")


def ask(verb: str, resource: str, namespace: str | None = "x", name: str | None = None, *,
        group: str = "", sub: str | None = None, fields: str | None = None,
        user: UserInfo = N1) -> Attributes:
    return Attributes(user, verb, group=group, resource=resource, subresource=sub,
                      namespace=namespace, name=name, field_selector=fields)


@pytest.fixture
def nodes() -> NodeAuthorizer:
    authorizer = NodeAuthorizer()
    authorizer.observe(pod("mine", "n1", volumes=[{"configMap": {"name": "mine-cm"}},
                                                  {"secret": {"secretName": "mine-s"}}],
                           serviceAccountName="sa"))
    authorizer.observe(pod("theirs", "n2", volumes=[{"configMap": {"name": "their-cm"}}]))
    return authorizer


NO_RELATION = "no relationship found between node 'n1' and this object"


@pytest.mark.parametrize(("attrs", "decision"), [
    (ask("get", "configmaps", name="mine-cm"), Decision(True)),
    (ask("watch", "configmaps", name="mine-cm"), Decision(True)),
    (ask("get", "secrets", name="mine-s"), Decision(True)),
    (ask("get", "configmaps", name="their-cm"), Decision(False, NO_RELATION)),
    (ask("get", "configmaps", "y", name="mine-cm"), Decision(False, NO_RELATION)),
    (ask("list", "configmaps", None), Decision(
        False, "can only read namespaced object of this type")),
    (ask("list", "configmaps"), Decision(False, "No Object name found")),
    (ask("update", "configmaps", name="mine-cm"), Decision(
        False, "can only read resources of this type")),
    (ask("get", "serviceaccounts", name="sa"), Decision(True)),
    (ask("create", "serviceaccounts", name="sa", sub="token"), Decision(True)),
    (ask("list", "serviceaccounts", name="sa"), Decision(
        False, "can only get individual resources of this type")),
    (ask("get", "persistentvolumeclaims", name="data"), Decision(False, NO_RELATION)),
])
def test_configmaps_secrets_claims_and_service_accounts_only_of_pods_bound_here(
        nodes: NodeAuthorizer, attrs: Attributes, decision: Decision):
    assert nodes.decide(attrs) == decision


@pytest.mark.parametrize(("attrs", "decision"), [
    (ask("get", "pods", name="mine"), Decision(True)),
    (ask("get", "pods", name="theirs"), Decision(False, NO_RELATION)),
    (ask("list", "pods", None, fields="spec.nodeName=n1"), Decision(True)),
    (ask("watch", "pods", None, fields="status.phase=Running,spec.nodeName=n1"),
     Decision(True)),
    (ask("list", "pods", None, fields="spec.nodeName=n2"), Decision(
        False, "can only list/watch pods with spec.nodeName field selector")),
    (ask("list", "pods", None, fields="spec.nodeName!=n1"), Decision(
        False, "can only list/watch pods with spec.nodeName field selector")),
    (ask("list", "pods", None), Decision(
        False, "can only list/watch pods with spec.nodeName field selector")),
    (ask("watch", "pods", name="mine"), Decision(True)),
    (ask("delete", "pods", name="theirs"), Decision(True)),  # NodeRestriction's to refuse
    (ask("update", "pods", sub="status", name="mine"), Decision(True)),
    (ask("update", "pods", name="mine"), Decision(False)),
    (ask("get", "pods", sub="log", name="mine"), Decision(False)),
])
def test_pods_a_node_reads_only_its_own_by_name_or_node_selector(
        nodes: NodeAuthorizer, attrs: Attributes, decision: Decision):
    assert nodes.decide(attrs) == decision


@pytest.mark.parametrize(("attrs", "decision"), [
    (ask("get", "nodes", None, "n1"), Decision(True)),
    (ask("watch", "nodes", None, "n1"), Decision(True)),
    (ask("get", "nodes", None, "n2"), Decision(
        False, "node 'n1' cannot read 'n2', only its own Node object")),
    (ask("list", "nodes", None), Decision(
        False, "node 'n1' cannot read all nodes, only its own Node object")),
    (ask("create", "nodes", None), Decision(True)),
    (ask("update", "nodes", None, "n1", sub="status"), Decision(True)),
    (ask("delete", "nodes", None, "n1"), Decision(False)),
    (ask("update", "leases", "kube-node-lease", "n1", group=COORD), Decision(True)),
    (ask("create", "leases", "kube-node-lease", group=COORD), Decision(True)),
    (ask("update", "leases", "kube-node-lease", "n2", group=COORD), Decision(
        False, "can only access node lease with the same name as the requesting node")),
    (ask("get", "leases", "default", "n1", group=COORD), Decision(
        False, 'can only access leases in the "kube-node-lease" system namespace')),
    (ask("list", "leases", "kube-node-lease", group=COORD), Decision(
        False, "can only get, create, update, patch, or delete a node lease")),
    (ask("create", "events"), Decision(True)),  # NodeRules, for what is not subdivided
    (ask("delete", "events", name="e"), Decision(False)),
    (ask("list", "namespaces", None), Decision(False)),
])
def test_its_own_node_and_lease_and_the_node_rules_for_the_rest(
        nodes: NodeAuthorizer, attrs: Attributes, decision: Decision):
    assert nodes.decide(attrs) == decision


@pytest.mark.parametrize("user", [
    UserInfo("alice"), UserInfo("system:node:n1"),  # not in system:nodes
    UserInfo("n1", groups=("system:nodes",))])
def test_no_opinion_on_anyone_but_a_kubelet(nodes: NodeAuthorizer, user: UserInfo):
    assert nodes.decide(ask("get", "configmaps", name="mine-cm", user=user)) == Decision(False)


def test_a_node_identity_without_a_name_is_an_unknown_node(nodes: NodeAuthorizer):
    user = UserInfo("system:node:", groups=("system:nodes",))
    assert nodes.decide(ask("get", "nodes", None, "n1", user=user)) == Decision(
        False, 'unknown node for user "system:node:"')


@pytest.fixture
def node_then_rbac(nodes: NodeAuthorizer) -> Authorizer:
    authorizer = Authorizer(nodes)
    for obj in bootstrap_policy():
        authorizer.observe(obj)
    return authorizer


def test_rbac_no_longer_grants_a_kubelet_what_the_node_authorizer_refuses(
        node_then_rbac: Authorizer):
    with pytest.raises(Forbidden) as denied:
        node_then_rbac.authorize(ask("get", "configmaps", name="their-cm"))
    assert denied.value.message == (
        'configmaps "their-cm" is forbidden: User "system:node:n1" cannot get resource '
        '"configmaps" in API group "" in the namespace "x": ' + NO_RELATION)
    assert node_then_rbac.allowed(ask("get", "configmaps", name="mine-cm"))


def test_rbac_still_grants_a_kubelet_what_an_admin_binds_to_it(node_then_rbac: Authorizer):
    reader = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
              "metadata": {"name": "n1-view"},
              "roleRef": {"kind": "ClusterRole", "name": "view"},
              "subjects": [{"kind": "User", "name": "system:node:n1"}]}
    node_then_rbac.observe(reader)
    assert node_then_rbac.allowed(ask("get", "configmaps", name="their-cm"))
