"""Security on a real nats-server and store: RBAC with the bootstrap roles and escalation
prevention, access reviews and impersonation, the admission chain (LimitRanger, ResourceQuota,
NodeRestriction, external admission actors) and the audit log."""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from actors.admission_actor import AdmissionActor, Review, Verdict, allow, deny, patch
from actors.api import storage
from actors.api.objects import Object
from actors.api.serviceaccounts import ROOT_CA_CONFIGMAP as ROOT_CA
from actors.api.volumebinding import claim_ref
from actors.client.client import Client
from actors.store import StoreConfig
from bindings.cluster import Cluster, ClusterConfig
from bus import BusConfig, Connection, Envelope, decode, encode
from bus import loop as bus_loop
from bus.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    InternalError,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from tests import auditlog
from tests.conftest import pod
from tests.support import until

pytestmark = pytest.mark.integration

RBAC = "rbac.authorization.k8s.io"
USERS = {
    "ns-admin": ("tok-ns-admin", ""), "ns-editor": ("tok-ns-editor", ""),
    "ns-viewer": ("tok-ns-viewer", ""), "nobody": ("tok-nobody", ""),
    "system:node:node-a": ("tok-node-a", "system:nodes"),
    "system:node:node-b": ("tok-node-b", "system:nodes"),
}


NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


def unscheduled(name: str) -> dict[str, Any]:
    """A pod no scheduler here serves (the test binds it): no scheduler writes it meanwhile."""
    obj = pod(name)
    obj["spec"]["schedulerName"] = "nobody-runs-this"
    return obj


@pytest.fixture
def workers() -> int:
    """The apiserver's workers (a test parametrizes it to have one)."""
    return 2


@pytest.fixture
def cluster(tmp_path: Path, workers: int) -> Iterator[Cluster]:
    """A control plane whose token file also holds the users above; ``team-a`` exists, with
    admin, edit and view bound there to ns-admin, ns-editor and ns-viewer."""
    data = tmp_path / "cluster"
    data.mkdir()
    with (data / "tokens.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([token, user, user, groups]
                                     for user, (token, groups) in USERS.items())
    cluster = Cluster.start(ClusterConfig(data_dir=data, nodes=0, apiserver_workers=workers))
    admin = cluster.admin_client()
    admin.create("namespaces", {"metadata": {"name": "team-a"}}, None)
    for user, role in (("ns-admin", "admin"), ("ns-editor", "edit"), ("ns-viewer", "view")):
        admin.create("rolebindings", binding(f"{user}-{role}", role, user), "team-a")
    yield cluster
    cluster.stop()


def binding(name: str, role: str, user: str, kind: str = "ClusterRole") -> Object:
    return {"metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
            "subjects": [{"kind": "User", "name": user}]}


@pytest.fixture
def admin(cluster: Cluster) -> Client:
    return cluster.admin_client()


@pytest.fixture
def as_user(cluster: Cluster, connect) -> Callable[..., Client]:
    """A client of ``user``'s token, connected as that user (the apiserver answers a user
    only in its own inbox)."""
    def make(user: str, **impersonation: Any) -> Client:
        token = USERS[user][0] if user in USERS else cluster.token(user)
        bus = cluster.bus() if user == "admin" else BusConfig(  # the admin's is a password
            url=cluster.url, prefix=cluster.config.prefix, ca=cluster.bus_ca, user=user,
            token=token)
        return Client(connect(bus, f"as-{user.replace(':', '-')}"), token, **impersonation)

    return make


def can_i(client: Client, verb: str, resource: str, namespace: str = "",
          group: str = "") -> bool:
    review = client.request("create", "selfsubjectaccessreviews", body={"spec": {
        "resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace,
                               "group": group}}})
    return bool(review["status"]["allowed"])


# -- RBAC --------------------------------------------------------------------------------------

SLICE = [("get", "pods", ""), ("list", "pods", ""), ("create", "pods", ""),
         ("delete", "pods", ""), ("get", "secrets", ""), ("create", "secrets", ""),
         ("create", "rolebindings", RBAC), ("deletecollection", "configmaps", ""),
         ("get", "pods/log", ""), ("create", "pods/exec", "")]
ALLOWED_IN_TEAM_A = {
    "ns-viewer": {("get", "pods"), ("list", "pods"), ("get", "pods/log")},
    "ns-editor": {("get", "pods"), ("list", "pods"), ("create", "pods"), ("delete", "pods"),
                  ("get", "secrets"), ("create", "secrets"), ("deletecollection", "configmaps"),
                  ("get", "pods/log"), ("create", "pods/exec")},
    "nobody": set(),
}
ALLOWED_IN_TEAM_A["ns-admin"] = ALLOWED_IN_TEAM_A["ns-editor"] | {("create", "rolebindings")}


@pytest.mark.parametrize("user", sorted(ALLOWED_IN_TEAM_A))
def test_bootstrap_roles_over_the_bus(as_user, user):
    client = as_user(user)
    for namespace in ("team-a", "default"):
        allowed = {(verb, resource) for verb, resource, group in SLICE
                   if can_i(client, verb, resource, namespace, group)}
        assert allowed == (ALLOWED_IN_TEAM_A[user] if namespace == "team-a" else set())


def test_roles_act_on_real_requests_with_kube_apiserver_denials(as_user):
    viewer, editor = as_user("ns-viewer"), as_user("ns-editor")
    editor.create("pods", pod("web"), "team-a")
    assert [p["metadata"]["name"] for p in viewer.list("pods", "team-a")["items"]] == ["web"]
    with pytest.raises(Forbidden) as denied:
        viewer.delete("pods", "web", "team-a")
    assert denied.value.message == ('pods "web" is forbidden: User "ns-viewer" cannot delete '
                                    'resource "pods" in API group "" in the namespace "team-a"')
    with pytest.raises(Forbidden, match='cannot list resource "pods" in API group "" in the '
                                        'namespace "default"'):
        editor.list("pods", "default")


def test_a_role_update_applies_to_the_next_request(admin, as_user):
    nobody = as_user("nobody")
    admin.create("roles", {"metadata": {"name": "cm"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}, "team-a")
    admin.create("rolebindings", binding("nobody-cm", "cm", "nobody", "Role"), "team-a")
    with pytest.raises(Forbidden):
        nobody.list("configmaps", "team-a")
    role = admin.get("roles", "cm", "team-a")
    role["rules"][0]["verbs"].append("list")
    admin.update("roles", role)
    assert [cm["metadata"]["name"] for cm in nobody.list("configmaps", "team-a")["items"]] == [
        ROOT_CA]  # the only ConfigMap of the namespace: the controllers' (the CA)


def test_a_namespace_admin_cannot_escalate(as_user):
    ns_admin = as_user("ns-admin")
    ns_admin.create("rolebindings", binding("viewer-edits", "edit", "ns-viewer"), "team-a")
    with pytest.raises(Forbidden, match="attempting to grant RBAC permissions not currently "
                                        "held"):
        ns_admin.create("rolebindings", binding("self-admin", "cluster-admin", "ns-admin"),
                        "team-a")
    with pytest.raises(Forbidden, match='Resources:\\["nodes"\\]'):
        ns_admin.create("roles", {"metadata": {"name": "nodes"}, "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["delete"]}]}, "team-a")
    assert can_i(as_user("ns-viewer"), "create", "pods", "team-a")  # the allowed one took


def test_subject_access_review_and_impersonation(admin, as_user):
    review = admin.request("create", "subjectaccessreviews", body={"spec": {
        "user": "ns-viewer", "groups": [],
        "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "team-a"}}})
    assert review["status"] == {
        "allowed": True, "reason": 'RBAC: allowed by RoleBinding "ns-viewer-view" of ClusterRole '
                                   '"view" to User "ns-viewer" in namespace "team-a"'}
    acting = as_user("admin", impersonate="ns-viewer")
    with pytest.raises(Forbidden, match='User "ns-viewer" cannot create resource "pods"'):
        acting.create("pods", pod("p"), "team-a")
    assert not can_i(acting, "create", "pods", "team-a")
    with pytest.raises(Forbidden) as denied:
        as_user("ns-editor", impersonate="admin").list("pods", "team-a")
    assert denied.value.message == ('users "admin" is forbidden: User "ns-editor" cannot '
                                    'impersonate resource "users" in API group "" at the '
                                    "cluster scope")
    with pytest.raises(ApiError, match="does not allow"):
        admin.request("get", "selfsubjectaccessreviews", name="x")


# -- admission ---------------------------------------------------------------------------------


def test_limit_ranger_defaults_are_on_the_stored_pod(admin):
    admin.create("limitranges", {"metadata": {"name": "defaults"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
         "defaultRequest": {"cpu": "100m", "memory": "64Mi"}, "max": {"cpu": "1"}}]}},
        "team-a")
    admin.create("pods", pod("defaulted"), "team-a")
    stored = admin.get("pods", "defaulted", "team-a")
    assert stored["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"},
        "requests": {"cpu": "100m", "memory": "64Mi"}}
    big = pod("big")
    big["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
    with pytest.raises(Forbidden, match="maximum cpu usage per Container is 1, but limit is 2"):
        admin.create("pods", big, "team-a")


def test_quota_exceeded_message_and_concurrent_creates_do_not_overshoot(admin):
    admin.create("resourcequotas", {"metadata": {"name": "compute"}, "spec": {"hard": {
        "pods": "3", "requests.cpu": "1"}}}, "team-a")

    def create(i: int) -> str:
        try:
            admin.create("pods", pod(f"p{i}", cpu="100m"), "team-a")
            return "created"
        except Forbidden as error:
            assert error.message == (
                f'pods "p{i}" is forbidden: exceeded quota: compute, requested: pods=1, used: '
                "pods=3, limited: pods=3")
            return "refused"

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(create, range(12)))
    assert outcomes.count("created") == 3
    assert len(admin.list("pods", "team-a")["items"]) == 3
    used = admin.get("resourcequotas", "compute", "team-a")["status"]["used"]
    assert used == {"pods": "3", "requests.cpu": "300m"}
    created = [f"p{i}" for i, outcome in enumerate(outcomes) if outcome == "created"]
    admin.delete("pods", created[0], "team-a")  # not on a node: removed at once
    used = admin.get("resourcequotas", "compute", "team-a")["status"]["used"]
    assert used == {"pods": "2", "requests.cpu": "200m"}
    with pytest.raises(Forbidden) as denied:
        admin.create("pods", pod("hungry", cpu="900m"), "team-a")
    assert denied.value.message == (
        'pods "hungry" is forbidden: exceeded quota: compute, requested: requests.cpu=900m, '
        "used: requests.cpu=200m, limited: requests.cpu=1")


def test_an_object_count_quota_refuses_the_third_configmap_of_a_user_who_may_create_them(
        admin, as_user):
    admin.create("roles", {"metadata": {"name": "cm-creator"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}]}, "team-a")
    admin.create("rolebindings", binding("nobody-cm", "cm-creator", "nobody", kind="Role"),
                 "team-a")
    admin.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {"hard": {
        "count/configmaps": "3"}}}, "team-a")  # the namespace's root CA ConfigMap counts too
    nobody = as_user("nobody")
    blob = {"blob": "x" * 250_000}
    for name in ("c1", "c2"):
        nobody.create("configmaps", {"metadata": {"name": name}, "data": blob}, "team-a")
    with pytest.raises(Forbidden) as denied:
        nobody.create("configmaps", {"metadata": {"name": "c3"}, "data": blob}, "team-a")
    assert denied.value.message == (
        'configmaps "c3" is forbidden: exceeded quota: q, requested: count/configmaps=1, '
        "used: count/configmaps=3, limited: count/configmaps=3")
    assert admin.get("resourcequotas", "q", "team-a")["status"]["used"] == {
        "count/configmaps": "3"}
    admin.delete("configmaps", "c1", "team-a")
    nobody.create("configmaps", {"metadata": {"name": "c3"}, "data": {}}, "team-a")


def test_a_full_store_refuses_writes_in_etcds_words_and_still_serves_reads_and_deletes(
        tmp_path):
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path / "full", nodes=0,
                                          storage=StoreConfig(quota_backend_bytes=4 * 2**20)))
    try:
        admin = cluster.admin_client()
        blob = {"blob": "x" * 250_000}
        created: list[str] = []
        with pytest.raises(InternalError) as refused:  # 16 of them cannot all fit
            for name in (f"c{i}" for i in range(17)):
                admin.create("configmaps", {"metadata": {"name": name}, "data": blob})
                created.append(name)
        assert (refused.value.code, refused.value.message) == (
            500, "etcdserver: mvcc: database space exceeded")
        with pytest.raises(NotFound):  # the refused one is not stored
            admin.get("configmaps", f"c{len(created)}")
        assert admin.get("configmaps", created[0])["data"] == blob
        assert len(admin.list("configmaps", limit=2)["items"]) == 2
        for name in created[:2]:
            admin.delete("configmaps", name)
        admin.create("configmaps", {"metadata": {"name": "after"}, "data": blob})
    finally:
        cluster.stop()


def test_a_pod_with_only_limits_is_charged_its_limits_as_requests(admin):
    admin.create("limitranges", {"metadata": {"name": "ceiling"}, "spec": {"limits": [
        {"type": "Container", "max": {"memory": "512Mi"}}]}}, "team-a")
    stored_range = admin.get("limitranges", "ceiling", "team-a")["spec"]["limits"][0]
    assert stored_range["default"] == stored_range["defaultRequest"] == {"memory": "512Mi"}
    admin.create("resourcequotas", {"metadata": {"name": "compute"}, "spec": {"hard": {
        "requests.cpu": "1", "requests.memory": "1Gi"}}}, "team-a")
    limited = pod("limited")
    limited["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
    with pytest.raises(Forbidden) as denied:
        admin.create("pods", limited, "team-a")
    assert denied.value.message == (
        'pods "limited" is forbidden: exceeded quota: compute, requested: requests.cpu=2, '
        "used: requests.cpu=0, limited: requests.cpu=1")
    limited["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "500m"}}
    limited["spec"]["initContainers"] = [{"name": "setup", "image": "busybox:1.35",
                                          "resources": {"limits": {"cpu": "800m"}}}]
    stored = admin.create("pods", limited, "team-a")
    assert [c["resources"] for c in stored["spec"]["initContainers"] + stored["spec"][
        "containers"]] == [{"limits": {"cpu": "800m", "memory": "512Mi"},
                            "requests": {"cpu": "800m", "memory": "512Mi"}},
                           {"limits": {"cpu": "500m", "memory": "512Mi"},
                            "requests": {"cpu": "500m", "memory": "512Mi"}}]
    used = admin.get("resourcequotas", "compute", "team-a")["status"]["used"]
    assert used == {"requests.cpu": "800m", "requests.memory": "512Mi"}


def test_node_restriction_keeps_a_kubelet_to_its_own_pods(admin, as_user):
    for name, node in (("on-a", "node-a"), ("on-b", "node-b")):
        admin.create("pods", unscheduled(name))
        admin.bind(admin.get("pods", name), node)
    node_a = as_user("system:node:node-a")
    mine = node_a.get("pods", "on-a")
    node_a.update("pods", dict(mine, status={"phase": "Running"}), subresource="status")
    with pytest.raises(Forbidden, match="no relationship found between node 'node-a'"):
        node_a.get("pods", "on-b")  # the Node authorizer: not even read
    theirs = admin.get("pods", "on-b")
    with pytest.raises(Forbidden) as denied:
        node_a.update("pods", dict(theirs, status={"phase": "Failed"}), subresource="status")
    assert denied.value.message == ('pods "on-b" is forbidden: node "node-a" can only update '
                                    "pod status for pods with spec.nodeName set to itself")
    assert admin.get("pods", "on-b")["status"]["phase"] == "Pending"
    with pytest.raises(Forbidden, match='node "node-a" is not allowed to modify node "node-b"'):
        node_a.create("nodes", {"metadata": {"name": "node-b"}}, None)
    with pytest.raises(Forbidden, match="can only access node lease with the same name"):
        node_a.create("leases", {"metadata": {"name": "node-b"}, "spec": {}}, "kube-node-lease")


def test_a_kubelet_may_not_retaint_or_relabel_its_node_but_registers(admin, as_user):
    node_a = as_user("system:node:node-a")
    node_a.create("nodes", {"metadata": {"name": "node-a", "labels": {
        "kubernetes.io/hostname": "node-a", "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64"}}, "spec": {"taints": [NOT_READY]}}, None)
    with pytest.raises(Forbidden) as denied:
        node_a.create("nodes", {"metadata": {"name": "node-a", "labels": {
            "node-role.kubernetes.io/control-plane": ""}}}, None)
    assert denied.value.message == ('nodes "node-a" is forbidden: node "node-a" is not allowed '
                                    "to set the following labels: "
                                    "node-role.kubernetes.io/control-plane")
    # node IPAM gives the node its pod range first: an update read before it would be stale
    mine = until(lambda: (node := node_a.get("nodes", "node-a", None))["spec"].get(
        "podCIDR") and node)
    with pytest.raises(Forbidden) as denied:
        node_a.update("nodes", dict(mine, spec=dict(mine["spec"], taints=[])))
    assert denied.value.message == ('nodes "node-a" is forbidden: node "node-a" is not allowed '
                                    "to modify taints")
    with pytest.raises(Forbidden, match=re.escape("is not allowed to modify labels: "
                                                  "node-restriction.kubernetes.io/pci")):
        node_a.update("nodes", dict(mine, metadata=dict(mine["metadata"], labels={
            **mine["metadata"]["labels"], "node-restriction.kubernetes.io/pci": "true"})))
    assert NOT_READY in admin.get("nodes", "node-a", None)["spec"]["taints"]
    relabelled = dict(mine, metadata=dict(mine["metadata"], labels={
        **mine["metadata"]["labels"], "topology.kubernetes.io/zone": "z1"}))
    assert node_a.update("nodes", relabelled)["metadata"]["labels"][
        "topology.kubernetes.io/zone"] == "z1"


def local_volume(name: str, node: str, path: str, claim: Object | None = None) -> Object:
    """A volume as the local-path provisioner makes one on ``node`` (for ``claim``)."""
    spec: Object = {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "persistentVolumeReclaimPolicy": "Delete", "storageClassName": storage.LOCAL_PATH,
        "hostPath": {"path": path, "type": "DirectoryOrCreate"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}
    if claim is not None:
        spec["claimRef"] = claim_ref(claim)
    return {"metadata": {"name": name, "annotations": {
        storage.PROVISIONED_BY: storage.LOCAL_PATH_PROVISIONER}}, "spec": spec}


def claim_on(name: str, node: str) -> Object:
    return {"metadata": {"name": name, "annotations": {storage.SELECTED_NODE: node}},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage.LOCAL_PATH,
                     "resources": {"requests": {"storage": "1Gi"}}}}


def test_a_kubelet_makes_and_deletes_only_the_volumes_of_claims_placed_on_its_node(
        admin, as_user):
    """The provisioner's grant (create and delete any volume) is not a compromised kubelet's:
    no volume of the host's root bound to another's claim, none of another node deleted (its
    provisioner would then remove the directory the volume names)."""
    node_a = as_user("system:node:node-a")
    theirs = admin.create("persistentvolumeclaims", claim_on("theirs", "node-b"), "team-a")
    with pytest.raises(Forbidden) as denied:
        node_a.create("persistentvolumes", local_volume("root", "node-a", "/", theirs), None)
    assert denied.value.message == (
        'persistentvolumes "root" is forbidden: node "node-a" can only create persistentvolumes '
        "for claims whose selected node is itself")
    with pytest.raises(Forbidden, match="can only create persistentvolumes with node affinity "
                                        "to itself"):
        node_a.create("persistentvolumes", local_volume(
            f"pvc-{theirs['metadata']['uid']}", "node-b", "/", theirs), None)
    admin.create("persistentvolumes", local_volume("on-b", "node-b", "/var/lib/data"), None)
    with pytest.raises(Forbidden) as denied:
        node_a.delete("persistentvolumes", "on-b", None)
    assert denied.value.message == ('persistentvolumes "on-b" is forbidden: node "node-a" can '
                                    "only delete persistentvolumes with node affinity to itself")
    volumes = admin.list("persistentvolumes", None)["items"]
    assert [v["metadata"]["name"] for v in volumes] == ["on-b"]
    mine = admin.create("persistentvolumeclaims", claim_on("mine", "node-a"), "team-a")
    name = f"pvc-{mine['metadata']['uid']}"
    node_a.create("persistentvolumes", local_volume(name, "node-a", "/data/x", mine), None)
    node_a.delete("persistentvolumes", name, None)


class Scripted(AdmissionActor):
    """Answers with ``verdict(review)``; with ``gate``, waits for it first (a slow actor)."""

    def __init__(self, connection: Connection, name: str,
                 verdict: Callable[[Review], Verdict], gate: threading.Event | None = None
                 ) -> None:
        super().__init__(connection, name)
        self.verdict, self.gate = verdict, gate

    def admit(self, review: Review) -> Verdict:
        if self.gate is not None:
            self.gate.wait(60)
        return self.verdict(review)


@pytest.fixture
def actors(cluster: Cluster, connect) -> Iterator[Callable[..., None]]:
    started: list[Any] = []

    def start(name: str, verdict: Callable[[Review], Verdict], *, mutating: bool = False,
              fail: bool = True, timeout: int = 10, gate: threading.Event | None = None,
              admin: Client | None = None, operations: tuple[str, ...] = ("CREATE",),
              resources: tuple[str, ...] = ("pods",)) -> None:
        started.append(Scripted.start(connect(cluster.bus(), f"admission-{name}"), name,
                                      verdict, gate))
        assert admin is not None
        admin.create("admissionregistrations", {"metadata": {"name": name}, "spec": {
            "subject": name, "operations": list(operations), "resources": list(resources),
            "timeoutSeconds": timeout, "failurePolicy": "Fail" if fail else "Ignore",
            "mutating": mutating}}, None)

    yield start
    for ref in started:
        ref.stop()


def images(review: Review) -> list[str]:
    return [c["image"] for c in (review.object or {})["spec"]["containers"]]


def test_an_external_actor_denies_and_another_patches(admin, actors):
    actors("images", lambda r: allow() if all(i.startswith("busybox") for i in images(r))
           else deny(f"image {images(r)[0]} is not allowed"), admin=admin)
    actors("labels", lambda r: patch({"op": "add", "path": "/metadata/labels",
                                      "value": {"checked": "yes"}}), mutating=True, admin=admin)
    with pytest.raises(BadRequest) as denied:  # deny()'s default code, as Kubernetes'
        bad = pod("bad")
        bad["spec"]["containers"][0]["image"] = "evil/miner"
        admin.create("pods", bad)
    assert denied.value.message == ('admission webhook "images" denied the request: image '
                                    "evil/miner is not allowed")
    assert admin.create("pods", pod("good"))["metadata"]["labels"] == {"checked": "yes"}
    assert admin.get("pods", "good")["metadata"]["labels"] == {"checked": "yes"}
    admin.create("configmaps", {"metadata": {"name": "not-a-pod"}})  # not registered for


def test_exec_is_admitted_as_a_connect(admin, actors):
    admin.create("pods", unscheduled("shell"))
    admin.bind(admin.get("pods", "shell"), "node-a")
    seen: list[Review] = []

    def no_shells(review: Review) -> Verdict:
        seen.append(review)
        command = (review.object or {}).get("command") or []
        return deny("no shells here") if command[:1] == ["sh"] else allow()

    actors("exec-policy", no_shells, operations=("CONNECT",), resources=("pods/exec",),
           admin=admin)
    with pytest.raises(BadRequest, match='admission webhook "exec-policy" denied the request: '
                                        "no shells here"):
        admin.request("create", "pods", namespace="default", name="shell", subresource="exec",
                      body={"command": ["sh", "-c", "id"]})
    assert (seen[0].operation, seen[0].resource, seen[0].subresource, seen[0].name) == (
        "CONNECT", "pods", "exec", "shell")
    with pytest.raises(ApiError, match="the kubelet of node node-a did not answer"):
        admin.request("create", "pods", namespace="default", name="shell", subresource="exec",
                      body={"command": ["ls"]}, timeout=5)  # allowed; no kubelet runs here


def test_a_create_in_a_missing_or_terminating_namespace_never_reaches_an_actor(admin, actors):
    seen: list[str | None] = []

    def record(review: Review) -> Verdict:
        if review.name != ROOT_CA:  # the controllers' ConfigMap in every new namespace
            seen.append(review.namespace)
        return allow()

    actors("record", record, mutating=True, admin=admin, resources=("configmaps",))
    admin.create("namespaces", {"metadata": {"name": "leaving", "finalizers": [
        "kubeactor.test/hold"]}}, None)
    admin.delete("namespaces", "leaving", None)
    assert admin.get("namespaces", "leaving", None)["metadata"]["deletionTimestamp"]
    with pytest.raises(NotFound) as missing:
        admin.create("configmaps", {"metadata": {"name": "c"}}, "missing")
    assert missing.value.message == 'namespaces "missing" not found'
    with pytest.raises(Forbidden) as terminating:
        admin.create("configmaps", {"metadata": {"name": "c"}}, "leaving")
    assert terminating.value.message == ('configmaps "c" is forbidden: unable to create new '
                                         "content in namespace leaving because it is being "
                                         "terminated")
    admin.create("configmaps", {"metadata": {"name": "c"}}, "team-a")
    assert seen == ["team-a"]


@pytest.mark.parametrize("fail", [True, False])
def test_an_actor_that_times_out_under_each_failure_policy(admin, actors, fail):
    gate = threading.Event()
    actors("slow", lambda r: allow(), fail=fail, timeout=1, gate=gate, admin=admin)
    try:
        if fail:
            with pytest.raises(InternalError) as failed:
                admin.create("pods", pod("late"))
            assert failed.value.message.startswith(
                'Internal error occurred: failed calling webhook "slow": failed to call webhook: '
                "timeout: ")
            assert admin.list("pods", "default")["items"] == []
        else:
            admin.create("pods", pod("late"))
            assert admin.get("pods", "late")["metadata"]["name"] == "late"
    finally:
        gate.set()


def test_a_slow_actor_does_not_stall_other_requests(admin, actors):
    gate = threading.Event()
    actors("gate", lambda r: allow(), timeout=30, gate=gate, admin=admin)
    with ThreadPoolExecutor(8) as pool:
        waiting = [pool.submit(admin.create, "pods", pod(f"w{i}")) for i in range(8)]
        # Eight creates wait on the actor, more than there are apiserver workers; the
        # apiserver still answers everything else.
        admin.create("configmaps", {"metadata": {"name": "meanwhile"}})
        assert admin.get("configmaps", "meanwhile")["metadata"]["name"] == "meanwhile"
        assert not any(f.done() for f in waiting)
        gate.set()
        assert sorted(f.result(timeout=60)["metadata"]["name"] for f in waiting) == sorted(
            f"w{i}" for i in range(8))


TIGHT = {"metadata": {"name": "tight"}, "spec": {"type": "Limited", "limited": {
    "nominalConcurrencyShares": 1, "limitResponse": {"type": "Reject"}}}}
EDITOR_IS_TIGHT = {"metadata": {"name": "editor"}, "spec": {
    "priorityLevelConfiguration": {"name": "tight"}, "matchingPrecedence": 100,
    "distinguisherMethod": {"type": "ByUser"}, "rules": [{
        "subjects": [{"kind": "User", "user": {"name": "ns-editor"}}],
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                           "namespaces": ["*"]}]}]}}


@pytest.mark.parametrize("workers", [1])  # the seats the editor holds are the ones met
def test_a_request_naming_anothers_inbox_is_not_classified_into_their_flow(
        cluster, admin, as_user, actors, connect, workers):
    """Priority and fairness classify a request by the identity it claims, before it is
    authenticated: a claim of the editor's inbox made with another's credentials must not be
    queued (here: refused, its 429 sent into the editor's inbox) in the editor's flow."""
    admin.create("prioritylevelconfigurations", TIGHT, None)
    admin.create("flowschemas", EDITOR_IS_TIGHT, None)
    gate = threading.Event()
    actors("hold", lambda r: allow(), timeout=30, gate=gate, admin=admin,
           resources=("configmaps",))
    editor = as_user("ns-editor")
    # its claim learnt first: a claim no worker authenticated yet is a newcomer's flow of its
    # own (global-default), not the editor's tight one
    editor.list("configmaps", "team-a")
    heard: list[Envelope] = []
    inbox = f"{editor.connection.subjects.inbox('ns-editor')}.forged"
    editor.connection.subscribe(f"{inbox}.>", lambda incoming: heard.append(incoming.envelope))
    with ThreadPoolExecutor(8) as pool:  # more than the level's seats: the last refused
        # submitted, not requested: Client.request would send a 429 again after its pause
        held = [pool.submit(lambda i=i: editor.submit(
            "create", "configmaps", namespace="team-a",
            body={"metadata": {"name": f"h{i}"}}).result(30)) for i in range(8)]
        try:
            refused = until(lambda: [f for f in held if f.done()])
            assert isinstance(refused[0].exception(), TooManyRequests)
            forged = Envelope(verb="create", namespace="team-a", auth={"token": "tok-nobody"},
                              body={"metadata": {"name": "forged"}})
            nobody = connect(cluster.bus_of(cluster.credentials("test:nobody")), "nobody")
            bus_loop.wait(nobody.nc.publish(
                "kubeactor.api.core.configmaps.create", encode(forged), reply=f"{inbox}.1"))
            log = cluster.config.data_dir / "audit.log"
            until(lambda: heard or [r for r in auditlog.events(log) if (
                r["user"].get("username"), _code(r)) == ("nobody", 400)])
            assert heard == []
        finally:
            gate.set()


# -- audit -------------------------------------------------------------------------------------


def audit_lines(cluster: Cluster, predicate: Callable[[Object], bool]) -> list[Object]:
    """The audit Events that match (every line validated as an ``audit.k8s.io/v1`` Event)."""
    return auditlog.written(cluster.config.data_dir / "audit.log", predicate)


def _trace(event: Object) -> str:
    return str(event["annotations"].get("kubeactor.io/trace-id", ""))


def _decision(event: Object) -> str:
    return str(event["annotations"]["authorization.k8s.io/decision"])


def _code(event: Object) -> int:
    return int(event["responseStatus"]["code"])


def test_audit_records_each_request_without_secrets(cluster, admin, as_user, connect):
    admin.create("configmaps", {"metadata": {"name": "audited"}}, "team-a", trace_id="tr-1")
    with pytest.raises(Forbidden):
        as_user("nobody").delete("configmaps", "audited", "team-a")
    created = audit_lines(cluster, lambda r: _trace(r) == "tr-1")[0]
    assert {k: created[k] for k in ("level", "stage", "verb", "requestURI", "user",
                                    "objectRef")} == {
        "level": "Metadata", "stage": "ResponseComplete", "verb": "create",
        "requestURI": "/api/v1/namespaces/team-a/configmaps/audited",
        "user": {"username": "admin", "groups": ["system:masters", "system:authenticated"]},
        "objectRef": {"resource": "configmaps", "namespace": "team-a", "name": "audited",
                      "apiVersion": "v1"}}
    assert (_decision(created), created["responseStatus"]) == (
        "allow", {"metadata": {}, "code": 201})
    assert created["requestReceivedTimestamp"] <= created["stageTimestamp"]
    assert "requestObject" not in created  # Metadata: no bodies
    denied = audit_lines(cluster, lambda r: auditlog.user(r) == "nobody" and r["verb"] == "delete")
    assert (_decision(denied[0]), _code(denied[0])) == ("forbid", 403)
    assert denied[0]["responseStatus"]["reason"] == "Forbidden"
    with pytest.raises(Unauthorized):
        Client(connect(cluster, "intruder"), "tok-guessed-secret").list("pods", "team-a")
    refused = audit_lines(cluster, lambda r: _code(r) == 401)
    assert (refused[0]["user"], refused[0]["verb"], refused[0]["objectRef"]["resource"],
            _decision(refused[0])) == ({}, "list", "pods", "forbid")
    raw = connect(cluster, "raw")
    refused_hello = raw.request(raw.subjects.hello, Envelope(body="not a hello")).result(10)
    assert (refused_hello.status or {}).get("code") == 401
    hellos = audit_lines(cluster, lambda r: r["verb"] == "hello")  # the admin's own first
    assert (_code(hellos[0]), _decision(hellos[0])) == (200, "allow")
    assert hellos[0]["requestURI"] == raw.subjects.hello
    assert _decision(audit_lines(cluster, lambda r: r["verb"] == "hello" and _code(r) == 401
                                 )[0]) == "forbid"
    text = (cluster.config.data_dir / "audit.log").read_text()
    for secret in (cluster.token("admin"), "tok-nobody", "tok-guessed-secret"):
        assert secret not in text


def test_what_no_worker_sees_or_no_verb_serves_is_answered_4xx_and_audited(cluster, connect):
    raw = connect(cluster, "raw")
    token = {"token": cluster.token("admin")}
    answers = {subject: decode(bus_loop.wait(raw.nc.request(subject, data, timeout=10)).data)
               for subject, data in (
                   ("kubeactor.api.core.pods.create", b"\xc1 not msgpack"),
                   ("kubeactor.api.core.pods.frobnicate", encode(Envelope(auth=token))),
                   ("kubeactor.api.core.widgets.get", encode(Envelope(auth=token))),
                   ("kubeactor.api.core.pods.get.gone-server", encode(Envelope(auth=token))),
                   ("kubeactor.api.core", encode(Envelope(auth=token))))}
    assert {subject: answer.status["code"] for subject, answer in answers.items()} == {
        "kubeactor.api.core.pods.create": 400, "kubeactor.api.core.pods.frobnicate": 405,
        "kubeactor.api.core.widgets.get": 404, "kubeactor.api.core.pods.get.gone-server": 404,
        "kubeactor.api.core": 404}
    assert answers["kubeactor.api.core.pods.frobnicate"].status["reason"] == "MethodNotAllowed"
    undecoded = audit_lines(cluster, lambda r: _code(r) == 400 and r["verb"] == "create")[0]
    assert (undecoded["user"], undecoded["objectRef"], undecoded["requestURI"],
            _decision(undecoded)) == ({}, {"resource": "pods"},
                                      "kubeactor.api.core.pods.create", "forbid")
    assert _code(audit_lines(cluster, lambda r: r["verb"] == "frobnicate")[0]) == 405
    assert _code(audit_lines(cluster, lambda r: r.get("objectRef", {}).get(
        "resource") == "widgets")[0]) == 404
    assert audit_lines(cluster, lambda r: (r["verb"], r.get("objectRef", {}).get("resource"),
                                           _code(r)) == ("get", "pods", 404))
    assert audit_lines(cluster, lambda r: (r["verb"], _code(r)) == ("", 404))


def test_made_up_subjects_add_no_label_values_to_the_request_metrics(cluster, connect):
    """A subject's verb, group, resource and subresource are anyone's to write: the request
    metrics name only what the apiserver understood (else one series per made-up name, in
    the apiserver's memory and in every scrape, without bound)."""
    raw = connect(cluster, "raw")
    token = encode(Envelope(auth={"token": "tok-nobody"}))
    subjects = [f"kubeactor.api.{group}.{resource}.{verb}" for group, resource, verb in (
        ("core", "made-up-0", "get"), ("made-up-1.io", "pods", "get"),
        ("core", "pods/made-up-2", "get"), ("core", "pods", "made-up-3"))]
    for subject in subjects:
        bus_loop.wait(raw.nc.request(subject, token, timeout=10))
    written = generate_latest(cluster.instruments.registry).decode()
    assert "apiserver_request_total" in written and "made-up" not in written.lower()


def test_deletecollection_deletes_what_matches_and_is_authorized_as_such(admin, as_user):
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        admin.create("configmaps", {"metadata": {"name": name, "labels": {"tier": tier}}},
                     "team-a")
    with pytest.raises(Forbidden, match='cannot deletecollection resource "configmaps"'):
        as_user("ns-viewer").delete_collection("configmaps", "team-a", label_selector="tier=web")
    deleted = as_user("ns-editor").delete_collection("configmaps", "team-a",
                                                     label_selector="tier=web")
    assert [o["metadata"]["name"] for o in deleted["items"]] == ["a", "b"]
    assert [o["metadata"]["name"] for o in admin.list("configmaps", "team-a")["items"]] == [
        "c", ROOT_CA]
