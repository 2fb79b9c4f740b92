"""The admission plugins (actors/apiserver/admission/chain.py, limits.py, external.py), as pure
code over an in-memory store."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from actors.api.admission import Review, Verdict
from actors.api.defaulting import default_pod
from actors.api.discovery import Served
from actors.api.objects import Object
from actors.api.resources import ResourceInfo, lookup
from actors.api.users import UserInfo
from actors.apiserver.admission.chain import (
    AdmissionChain,
    AdmissionRequest,
    NamespaceLifecycle,
    NodeRestriction,
)
from actors.apiserver.admission.external import ExternalAdmission, Registrations
from actors.apiserver.admission.limits import LimitRanger, ResourceQuota
from actors.apiserver.authn import AUTHENTICATED
from bus.envelope import Envelope
from bus.errors import (
    BadRequest,
    BusTimeout,
    Conflict,
    Forbidden,
    InternalError,
    NoResponders,
    NotFound,
)
from bus.subjects import Subjects

ALICE = UserInfo("alice", groups=(AUTHENTICATED,))
NODE_1 = UserInfo("system:node:node-1", groups=("system:nodes", AUTHENTICATED))


class MemoryAccess:
    """ObjectAccess over a dict, with the store's compare-and-swap on resourceVersion."""

    def __init__(self, *objects: tuple[str, Object]) -> None:
        self.objects: dict[tuple[str, str | None, str], Object] = {}
        self.revision = 0
        self.conflicts_to_inject = 0
        for resource, obj in objects:
            self.put(resource, obj)

    def put(self, resource: str, obj: Object) -> Object:
        self.revision += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.revision)
        meta = obj["metadata"]
        self.objects[(resource, meta.get("namespace"), meta["name"])] = obj
        return obj

    def get(self, resource: str, namespace: str | None, name: str) -> Object | None:
        return copy.deepcopy(self.objects.get((resource, namespace, name)))

    served = Served()

    def list(self, resource: str | ResourceInfo, namespace: str | None) -> list[Object]:
        name = resource if isinstance(resource, str) else resource.name
        return [copy.deepcopy(o) for (r, ns, _), o in sorted(self.objects.items(), key=str)
                if r == name and ns == namespace]

    def update_status(self, resource: str, obj: Object) -> Object:
        meta = obj["metadata"]
        current = self.objects[(resource, meta.get("namespace"), meta["name"])]
        if self.conflicts_to_inject:  # another apiserver worker charged first
            self.conflicts_to_inject -= 1
            current["status"]["used"]["pods"] = str(int(current["status"]["used"]["pods"]) + 1)
            self.put(resource, current)
            raise Conflict("the object has been modified")
        if current["metadata"]["resourceVersion"] != meta["resourceVersion"]:
            raise Conflict("the object has been modified")
        return self.put(resource, obj)


def pod(name: str, node: str | None = None, **resources: Any) -> Object:
    container: Object = {"name": "c", "image": "busybox:1.35"}
    if resources:
        container["resources"] = resources
    spec: Object = {"containers": [container]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def request(operation: str, resource: str, obj: Object | None, old: Object | None = None,
            user: UserInfo = ALICE, subresource: str | None = None,
            namespace: str | None = "default", name: str | None = None) -> AdmissionRequest:
    info = lookup("coordination.k8s.io" if resource == "leases" else "", resource)
    named = name or (obj or old or {}).get("metadata", {}).get("name", "")
    return AdmissionRequest(operation, info, subresource=subresource,
                            namespace=namespace if info.namespaced else None, name=named,
                            object=obj, old_object=old, user=user)


# -- NodeRestriction ------------------------------------------------------------------------------


@pytest.mark.parametrize(("req", "allowed"), [
    (request("UPDATE", "pods", pod("a", "node-1"), pod("a", "node-1"), NODE_1, "status"), True),
    (request("UPDATE", "pods", pod("b", "node-2"), pod("b", "node-2"), NODE_1, "status"), False),
    (request("DELETE", "pods", None, pod("a", "node-1"), NODE_1), True),
    (request("DELETE", "pods", None, pod("b", "node-2"), NODE_1), False),
    (request("UPDATE", "pods", pod("a", "node-1"), pod("a", "node-1"), NODE_1), False),
    (request("CREATE", "pods", pod("mirror", "node-2"), None, NODE_1), False),
    (request("CREATE", "nodes", {"metadata": {"name": "node-1"}}, None, NODE_1), True),
    (request("UPDATE", "nodes", {"metadata": {"name": "node-1"}}, {"metadata": {
        "name": "node-1"}}, NODE_1, "status"), True),
    (request("UPDATE", "nodes", {"metadata": {"name": "node-2"}}, {"metadata": {
        "name": "node-2"}}, NODE_1, "status"), False),
    (request("CREATE", "leases", {"metadata": {"name": "node-1"}}, None, NODE_1,
             namespace="kube-node-lease"), True),
    (request("UPDATE", "leases", {"metadata": {"name": "node-2"}}, {"metadata": {
        "name": "node-2"}}, NODE_1, namespace="kube-node-lease"), False),
    (request("UPDATE", "leases", {"metadata": {"name": "kube-scheduler"}}, {"metadata": {
        "name": "kube-scheduler"}}, NODE_1, namespace="kube-system"), False),
    (request("CREATE", "leases", {"metadata": {"name": "node-1"}}, None, NODE_1,
             namespace="default"), False),
    (request("CREATE", "events", {"metadata": {"name": "e"}}, None, NODE_1), True),
    (request("UPDATE", "pods", pod("b", "node-2"), pod("b", "node-2"), ALICE, "status"), True),
])
def test_node_restriction_lets_a_kubelet_touch_only_its_own(req: AdmissionRequest,
                                                            allowed: bool):
    if allowed:
        NodeRestriction().validate(req)
    else:
        with pytest.raises(Forbidden, match='node "node-1"'):
            NodeRestriction().validate(req)


def mirror_pod(node: str, **spec: Any) -> Object:
    made = pod("static", node)
    made["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "hash"}
    made["spec"].update(spec)
    return made


@pytest.mark.parametrize(("made", "refusal"), [
    (pod("static", "node-1"), 'pod does not have "kubernetes.io/config.mirror" annotation, node '
                              '"node-1" can only create mirror pods'),
    (mirror_pod("node-2"), 'node "node-1" can only create pods with spec.nodeName set to itself'),
    (mirror_pod("node-1", serviceAccountName="builder"),
     'node "node-1" can not create pods that reference a service account'),
    (mirror_pod("node-1", imagePullSecrets=[{"name": "registry"}]),
     'node "node-1" can not create pods that reference secrets'),
    (mirror_pod("node-1", volumes=[{"name": "v", "configMap": {"name": "other"}}]),
     'node "node-1" can not create pods that reference configmaps'),
    (mirror_pod("node-1", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]),
     'node "node-1" can not create pods that reference persistentvolumeclaims'),
])
def test_a_kubelet_creates_only_mirror_pods_that_refer_to_nothing(made: Object, refusal: str):
    """Else a pod of its own naming any ConfigMap would give it that ConfigMap to read (the
    Node authorizer trusts what pods bound to the node refer to)."""
    with pytest.raises(Forbidden) as denied:
        NodeRestriction().validate(request("CREATE", "pods", made, None, NODE_1))
    assert denied.value.message == f'pods "static" is forbidden: {refusal}'


def test_a_kubelet_may_create_the_mirror_of_its_static_pod():
    NodeRestriction().validate(request("CREATE", "pods", mirror_pod("node-1"), None, NODE_1))
    owned = mirror_pod("node-1")
    owned["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node",
                                             "name": "node-1", "uid": "u"}]
    NodeRestriction().validate(request("CREATE", "pods", owned, None, NODE_1))
    owned["metadata"]["ownerReferences"][0]["name"] = "node-2"
    with pytest.raises(Forbidden, match="owner reference set to itself"):
        NodeRestriction().validate(request("CREATE", "pods", owned, None, NODE_1))


def test_a_kubelet_evicts_only_the_pods_bound_to_it():
    access = MemoryAccess(("pods", pod("mine", "node-1")), ("pods", pod("theirs", "node-2")))
    restriction = NodeRestriction(access)

    def eviction(name: str) -> AdmissionRequest:
        return request("CREATE", "pods", {"apiVersion": "policy/v1", "kind": "Eviction",
                                          "metadata": {"name": name}}, None, NODE_1,
                       subresource="eviction")

    restriction.validate(eviction("mine"))
    restriction.validate(eviction("gone"))  # the eviction's own 404 answers
    with pytest.raises(Forbidden, match=r"node-1 can only evict pods with spec\.nodeName set"):
        restriction.validate(eviction("theirs"))
    with pytest.raises(Forbidden):
        NodeRestriction().validate(eviction("mine"))  # no way to read the pod: refused


def test_node_restriction_message_is_kubernetes_one():
    with pytest.raises(Forbidden) as denied:
        NodeRestriction().validate(request("UPDATE", "pods", pod("b", "node-2"),
                                           pod("b", "node-2"), NODE_1, "status"))
    assert denied.value.message == ('pods "b" is forbidden: node "node-1" can only update pod '
                                    "status for pods with spec.nodeName set to itself")


def test_a_kubelet_may_not_touch_restricted_labels_of_its_node():
    old = {"metadata": {"name": "node-1", "labels": {"zone": "a"}}}
    new = {"metadata": {"name": "node-1", "labels": {
        "zone": "b", "node-restriction.kubernetes.io/pci": "true"}}}
    NodeRestriction().validate(request("UPDATE", "nodes", dict(old, metadata={
        "name": "node-1", "labels": {"zone": "b"}}), old, NODE_1))
    with pytest.raises(Forbidden, match=re.escape(
            "not allowed to modify labels: node-restriction.kubernetes.io/pci")):
        NodeRestriction().validate(request("UPDATE", "nodes", new, old, NODE_1))


def node_object(labels: dict[str, str] | None = None, taints: list[Object] | None = None
                ) -> Object:
    return {"metadata": {"name": "node-1", "labels": labels or {}},
            "spec": {"taints": taints} if taints is not None else {}}


NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
KUBELET_SET = {"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux",
               "kubernetes.io/arch": "amd64"}
"""What actors/kubelet/nodeagent.py puts on its Node at registration."""


@pytest.mark.parametrize("label", [
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os", "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type", "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region", "node.kubernetes.io/pool",
    "gpu.node.kubernetes.io/model", "kubelet.kubernetes.io/extra", "example.com/rack", "zone",
])
def test_a_kubelet_registers_and_relabels_with_the_labels_kubernetes_allows_it(label):
    NodeRestriction().validate(request("CREATE", "nodes", node_object({
        **KUBELET_SET, label: "x"}), None, NODE_1))
    NodeRestriction().validate(request("UPDATE", "nodes", node_object({label: "y"}),
                                       node_object({label: "x"}), NODE_1))


@pytest.mark.parametrize("label", [
    "node-restriction.kubernetes.io/pci", "team.node-restriction.kubernetes.io/pci",
    "node-role.kubernetes.io/control-plane", "kubernetes.io/role", "k8s.io/anything",
    "example.k8s.io/x", "topology.kubernetes.io/rack",
])
def test_a_kubelet_may_not_set_other_kubernetes_labels_in_kube_apiserver_words(label):
    with pytest.raises(Forbidden) as created:
        NodeRestriction().validate(request("CREATE", "nodes", node_object({
            **KUBELET_SET, label: "x"}), None, NODE_1))
    assert created.value.message == ('nodes "node-1" is forbidden: node "node-1" is not '
                                     f"allowed to set the following labels: {label}")
    for old, new in (({}, {label: "x"}), ({label: "x"}, {label: "y"}), ({label: "x"}, {})):
        with pytest.raises(Forbidden) as updated:
            NodeRestriction().validate(request("UPDATE", "nodes", node_object(new),
                                               node_object(old), NODE_1))
        assert updated.value.message == ('nodes "node-1" is forbidden: is not allowed to '
                                         f"modify labels: {label}")
    NodeRestriction().validate(request("UPDATE", "nodes", node_object({label: "x", "a": "1"}),
                                       node_object({label: "x"}), NODE_1))  # kept as it was
    NodeRestriction().validate(request("UPDATE", "nodes", node_object({label: "y"}),
                                       node_object({label: "x"}), ALICE))


def test_a_kubelet_may_register_with_taints_but_never_change_them():
    NodeRestriction().validate(request("CREATE", "nodes", node_object(taints=[NOT_READY]),
                                       None, NODE_1))
    NodeRestriction().validate(request("UPDATE", "nodes", node_object({"a": "1"}, taints=[]),
                                       node_object(), NODE_1))
    for old, new in (([], [NOT_READY]), ([NOT_READY], []), ([NOT_READY], [dict(
            NOT_READY, effect="NoExecute")])):
        with pytest.raises(Forbidden) as denied:
            NodeRestriction().validate(request("UPDATE", "nodes", node_object(taints=new),
                                               node_object(taints=old), NODE_1))
        assert denied.value.message == ('nodes "node-1" is forbidden: node "node-1" is not '
                                        "allowed to modify taints")
    NodeRestriction().validate(request("UPDATE", "nodes", node_object(taints=[NOT_READY]),
                                       node_object(), ALICE))


# -- NamespaceLifecycle ---------------------------------------------------------------------------


def namespace(name: str, terminating: bool = False) -> Object:
    meta: Object = {"name": name}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def test_namespace_lifecycle_refuses_content_for_missing_or_terminating_namespaces():
    lifecycle = NamespaceLifecycle(MemoryAccess(("namespaces", namespace("default")), (
        "namespaces", namespace("leaving", terminating=True))))
    lifecycle.admit(request("CREATE", "pods", pod("p")))
    with pytest.raises(NotFound) as missing:
        lifecycle.admit(request("CREATE", "pods", pod("p"), namespace="missing"))
    assert missing.value.message == 'namespaces "missing" not found'
    with pytest.raises(Forbidden) as denied:
        lifecycle.admit(request("CREATE", "pods", pod("p"), namespace="leaving"))
    assert denied.value.message == ('pods "p" is forbidden: unable to create new content in '
                                    "namespace leaving because it is being terminated")
    with pytest.raises(Forbidden, match="this namespace may not be deleted"):
        lifecycle.admit(request("DELETE", "namespaces", None, namespace("kube-system")))


# -- LimitRanger ----------------------------------------------------------------------------------


def limit_range(**item: Any) -> Object:
    return {"metadata": {"name": "limits", "namespace": "default"},
            "spec": {"limits": [{"type": "Container", **item}]}}


def test_limit_ranger_fills_defaults_and_keeps_what_is_given():
    ranger = LimitRanger(MemoryAccess(("limitranges", limit_range(
        default={"cpu": "500m", "memory": "128Mi"}, defaultRequest={"cpu": "100m"}))))
    req = request("CREATE", "pods", pod("p", requests={"memory": "64Mi"}))
    ranger.admit(req)
    assert req.object is not None
    assert req.object["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "128Mi"},
        "requests": {"cpu": "100m", "memory": "64Mi"}}


def test_limit_ranger_requests_default_to_the_default_limits():
    ranger = LimitRanger(MemoryAccess(("limitranges", limit_range(default={"cpu": "1"}))))
    req = request("CREATE", "pods", pod("p"))
    ranger.admit(req)
    assert req.object is not None
    assert req.object["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1"}, "requests": {"cpu": "1"}}


def test_limit_ranger_refuses_amounts_outside_min_and_max_in_kubernetes_words():
    ranger = LimitRanger(MemoryAccess(("limitranges", limit_range(
        min={"cpu": "100m"}, max={"cpu": "1", "memory": "1Gi"}))))
    with pytest.raises(Forbidden) as one:
        ranger.validate(request("CREATE", "pods", pod("p", requests={"cpu": "200m"},
                                                      limits={"cpu": "2", "memory": "1Gi"})))
    assert one.value.message == ('pods "p" is forbidden: maximum cpu usage per Container is 1, '
                                 "but limit is 2")
    with pytest.raises(Forbidden) as two:
        ranger.validate(request("CREATE", "pods", pod("p", requests={"cpu": "50m"})))
    assert two.value.message == (
        'pods "p" is forbidden: [minimum cpu usage per Container is 100m, but request is 50m, '
        "maximum cpu usage per Container is 1.  No limit is specified, maximum memory usage per "
        "Container is 1Gi.  No limit is specified]")
    ranger.validate(request("CREATE", "pods", pod("p", requests={"cpu": "100m"},
                                                  limits={"cpu": "1", "memory": "512Mi"})))


def test_limit_ranger_bounds_the_pods_effective_amounts():
    pod_range = {"metadata": {"name": "per-pod", "namespace": "default"}, "spec": {"limits": [
        {"type": "Pod", "max": {"cpu": "1", "memory": "1Gi"}}]}}
    ranger = LimitRanger(MemoryAccess(("limitranges", pod_range)))
    two = pod("p", limits={"cpu": "600m"})
    two["spec"]["containers"].append({"name": "d", "image": "busybox:1.35", "resources": {
        "limits": {"cpu": "600m"}}})
    with pytest.raises(Forbidden) as denied:
        ranger.validate(request("CREATE", "pods", two))
    assert denied.value.message == (
        'pods "p" is forbidden: [maximum cpu usage per Pod is 1, but limit is 1200m, maximum '
        "memory usage per Pod is 1Gi.  No limit is specified]")
    two["spec"]["containers"][1]["resources"]["limits"] = {"cpu": "400m", "memory": "512Mi"}
    ranger.validate(request("CREATE", "pods", two))  # one container's memory is the pod's
    two["spec"]["initContainers"] = [{"name": "init", "image": "busybox:1.35", "resources": {
        "limits": {"cpu": "2", "memory": "256Mi"}}}]
    with pytest.raises(Forbidden) as init_over:
        ranger.validate(request("CREATE", "pods", two))
    assert init_over.value.message == ('pods "p" is forbidden: maximum cpu usage per Pod is 1, '
                                       "but limit is 2")


def test_limit_ranger_defaults_come_from_max_and_min_as_kubernetes_defaults_the_item():
    ranger = LimitRanger(MemoryAccess(("limitranges", limit_range(
        max={"cpu": "1"}, min={"memory": "64Mi"}))))
    req = request("CREATE", "pods", pod("p"))
    ranger.admit(req)
    assert req.object is not None
    assert req.object["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1"}, "requests": {"cpu": "1", "memory": "64Mi"}}


def test_limit_ranger_default_limit_becomes_the_request_per_resource():
    ranger = LimitRanger(MemoryAccess(("limitranges", limit_range(
        default={"cpu": "1", "memory": "256Mi"}, defaultRequest={"cpu": "100m"}))))
    req = request("CREATE", "pods", pod("p"))
    req.object["spec"]["initContainers"] = [{"name": "i", "image": "busybox:1.35"}]
    ranger.admit(req)
    for container in (req.object["spec"]["initContainers"][0],
                      req.object["spec"]["containers"][0]):
        assert container["resources"] == {"limits": {"cpu": "1", "memory": "256Mi"},
                                          "requests": {"cpu": "100m", "memory": "256Mi"}}


def test_limit_ranger_keeps_a_request_the_pods_defaults_took_from_its_limit():
    ranger = LimitRanger(MemoryAccess(("limitranges", limit_range(
        default={"cpu": "1"}, defaultRequest={"cpu": "100m"}))))
    limited = pod("p", limits={"cpu": "2"})
    default_pod(limited)  # the apiserver defaults the pod before admission, as Kubernetes
    req = request("CREATE", "pods", limited)
    ranger.admit(req)
    assert req.object is not None
    assert req.object["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "2"}, "requests": {"cpu": "2"}}


def test_limit_ranger_leaves_updates_and_other_namespaces_alone():
    ranger = LimitRanger(MemoryAccess(("limitranges", limit_range(default={"cpu": "1"}))))
    other = request("CREATE", "pods", pod("p"), namespace="team-b")
    ranger.admit(other)
    assert other.object is not None and "resources" not in other.object["spec"]["containers"][0]
    update = request("UPDATE", "pods", pod("p"), pod("p"))
    ranger.admit(update)
    assert update.object is not None and "resources" not in update.object["spec"]["containers"][0]


# -- ResourceQuota --------------------------------------------------------------------------------


def quota(name: str = "compute", **hard: str) -> Object:
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": name, "namespace": "default"}, "spec": {"hard": hard}}


def admitted_quota(access: MemoryAccess, obj: Object) -> Object:
    """A quota as the apiserver stores it: its status filled in by the plugin."""
    req = request("CREATE", "resourcequotas", copy.deepcopy(obj))
    ResourceQuota(access).admit(req)
    assert req.object is not None
    return access.put("resourcequotas", req.object)


def test_a_new_quota_counts_the_pods_already_there():
    access = MemoryAccess(("pods", pod("a", requests={"cpu": "250m", "memory": "64Mi"})),
                          ("pods", pod("b", requests={"cpu": "1"})))
    stored = admitted_quota(access, quota(pods="10", **{"requests.cpu": "2", "memory": "1Gi"}))
    assert stored["status"] == {
        "hard": {"pods": "10", "requests.cpu": "2", "memory": "1Gi"},
        "used": {"pods": "2", "requests.cpu": "1250m", "memory": "64Mi"}}


def test_quota_charges_each_pod_and_refuses_past_hard_with_kubernetes_message():
    access = MemoryAccess()
    admitted_quota(access, quota(**{"requests.cpu": "1"}))
    plugin = ResourceQuota(access)
    plugin.validate(request("CREATE", "pods", pod("a", requests={"cpu": "500m"})))
    plugin.validate(request("CREATE", "pods", pod("b", requests={"cpu": "500m"})))
    with pytest.raises(Forbidden) as denied:
        plugin.validate(request("CREATE", "pods", pod("c", requests={"cpu": "500m"})))
    assert denied.value.message == (
        'pods "c" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, used: '
        "requests.cpu=1, limited: requests.cpu=1")
    stored = access.get("resourcequotas", "default", "compute")
    assert stored is not None and stored["status"]["used"] == {"requests.cpu": "1"}
    plugin.release(pod("a", requests={"cpu": "500m"}))
    stored = access.get("resourcequotas", "default", "compute")
    assert stored is not None and stored["status"]["used"] == {"requests.cpu": "500m"}


def test_a_quota_speaks_of_its_resources_as_its_spec_names_them():
    access = MemoryAccess()
    admitted_quota(access, quota(cpu="1"))
    plugin = ResourceQuota(access)
    plugin.validate(request("CREATE", "pods", pod("a", requests={"cpu": "800m"})))
    with pytest.raises(Forbidden, match=re.escape(
            "exceeded quota: compute, requested: cpu=500m, used: cpu=800m, limited: cpu=1")):
        plugin.validate(request("CREATE", "pods", pod("b", requests={"cpu": "500m"})))
    stored = access.get("resourcequotas", "default", "compute")
    assert stored is not None and stored["status"]["used"] == {"cpu": "800m"}


def test_quota_on_requests_needs_every_container_to_say():
    access = MemoryAccess()
    admitted_quota(access, quota(**{"requests.memory": "1Gi"}))
    with pytest.raises(Forbidden, match=re.escape(
            "failed quota: compute: must specify requests.memory for: c")):
        ResourceQuota(access).validate(request("CREATE", "pods", pod("a")))


def init_container(name: str, always: bool = False, **resources: Any) -> Object:
    container: Object = {"name": name, "image": "busybox:1.35", "resources": resources}
    return {**container, "restartPolicy": "Always"} if always else container


def test_quota_counts_the_larger_of_the_app_containers_and_any_init_container():
    access = MemoryAccess()
    admitted_quota(access, quota(**{"requests.cpu": "4", "limits.memory": "1Gi"}))
    plugin = ResourceQuota(access)
    big_init = pod("a", requests={"cpu": "500m"}, limits={"memory": "64Mi"})
    big_init["spec"]["initContainers"] = [
        init_container("setup", requests={"cpu": "3"}, limits={"memory": "128Mi"}),
        init_container("small", requests={"cpu": "1"}, limits={"memory": "32Mi"})]
    plugin.validate(request("CREATE", "pods", big_init))
    stored = access.get("resourcequotas", "default", "compute")
    assert stored is not None
    assert stored["status"]["used"] == {"requests.cpu": "3", "limits.memory": "128Mi"}
    with pytest.raises(Forbidden, match=re.escape(
            "requested: requests.cpu=2, used: requests.cpu=3, limited: requests.cpu=4")):
        plugin.validate(request("CREATE", "pods", pod("b", requests={"cpu": "2"}, limits={
            "memory": "1Mi"})))


def test_quota_adds_sidecars_to_the_app_containers_and_to_later_init_containers():
    access = MemoryAccess()
    admitted_quota(access, quota(**{"requests.cpu": "10"}))
    with_sidecar = pod("a", requests={"cpu": "1"})
    with_sidecar["spec"]["initContainers"] = [
        init_container("proxy", always=True, requests={"cpu": "500m"}),
        init_container("migrate", requests={"cpu": "2"})]
    ResourceQuota(access).validate(request("CREATE", "pods", with_sidecar))
    stored = access.get("resourcequotas", "default", "compute")
    assert stored is not None and stored["status"]["used"] == {"requests.cpu": "2500m"}


def test_quota_needs_init_containers_to_say_too():
    access = MemoryAccess()
    admitted_quota(access, quota(**{"requests.cpu": "1"}))
    silent_init = pod("a", requests={"cpu": "100m"})
    silent_init["spec"]["initContainers"] = [init_container("setup")]
    with pytest.raises(Forbidden, match=re.escape("failed quota: compute: must specify "
                                                  "requests.cpu for: setup")):
        ResourceQuota(access).validate(request("CREATE", "pods", silent_init))


def test_quota_charges_the_requests_a_pod_with_only_limits_is_given():
    access = MemoryAccess()
    admitted_quota(access, quota(**{"requests.cpu": "1"}))
    limited = pod("a", limits={"cpu": "2"})
    default_pod(limited)
    with pytest.raises(Forbidden, match=re.escape(
            "exceeded quota: compute, requested: requests.cpu=2, used: requests.cpu=0, "
            "limited: requests.cpu=1")):
        ResourceQuota(access).validate(request("CREATE", "pods", limited))


def test_a_lost_compare_and_swap_rereads_and_refuses_the_last_unit_taken_meanwhile():
    access = MemoryAccess()
    admitted_quota(access, quota(pods="1"))
    access.conflicts_to_inject = 1  # a concurrent create takes the only pod slot first
    with pytest.raises(Forbidden, match="exceeded quota: compute, requested: pods=1, used: "
                                        "pods=1, limited: pods=1"):
        ResourceQuota(access).validate(request("CREATE", "pods", pod("a")))


def test_a_refusal_by_one_quota_gives_back_what_another_charged():
    access = MemoryAccess()
    admitted_quota(access, quota("a-pods", pods="5"))
    admitted_quota(access, quota("b-cpu", **{"requests.cpu": "100m"}))
    with pytest.raises(Forbidden, match="exceeded quota: b-cpu"):
        ResourceQuota(access).validate(request("CREATE", "pods", pod("x", requests={
            "cpu": "200m"})))
    stored = access.get("resourcequotas", "default", "a-pods")
    assert stored is not None and stored["status"]["used"] == {"pods": "0"}


# -- the chain and external admission ------------------------------------------------------------


def registration(name: str, mutating: bool, fail: bool = True, **spec: Any) -> Object:
    return {"kind": "AdmissionRegistration", "metadata": {"name": name}, "spec": {
        "subject": name, "operations": ["CREATE"], "resources": ["pods"], "timeoutSeconds": 2,
        "failurePolicy": "Fail" if fail else "Ignore", "mutating": mutating, **spec}}


def run_with(chain: AdmissionChain, req: AdmissionRequest, answers: dict[str, Any]
             ) -> list[str]:
    """Drive the chain, answering each external call from ``answers`` (by subject suffix):
    a Verdict, or an exception standing for a failed call. Returns the subjects called."""
    called = []
    steps = chain.run(req)
    answer: Any = None
    try:
        while True:
            call = steps.send(answer)
            name = call.subject.rpartition(".")[2]
            called.append(name)
            reply = answers[name]
            if isinstance(reply, Exception):
                answer = reply
            else:
                uid = call.envelope.body["request"]["uid"]
                answer = Envelope(body=reply.response(uid))
    except StopIteration:
        return called


def external_chain(*registrations: Object) -> AdmissionChain:
    held = Registrations()
    for obj in registrations:
        held.observe(obj)
    external = ExternalAdmission(held, Subjects())
    return AdmissionChain(mutating=[external], validating=[external])


def test_a_denying_actor_refuses_with_webhook_words():
    chain = external_chain(registration("policy", mutating=False))
    with pytest.raises(Forbidden) as denied:
        run_with(chain, request("CREATE", "pods", pod("p")),
                 {"policy": Verdict(False, "no latest tags", 403)})
    assert denied.value.message == ('admission webhook "policy" denied the request: no latest '
                                    "tags")
    with pytest.raises(BadRequest, match="denied the request without explanation"):
        run_with(chain, request("CREATE", "pods", pod("p")), {"policy": Verdict(False)})


def test_patches_apply_in_order_and_validators_see_the_result():
    chain = external_chain(
        registration("a-labels", mutating=True), registration("b-env", mutating=True),
        registration("check", mutating=False))
    req = request("CREATE", "pods", pod("p"))
    called = run_with(chain, req, {
        "a-labels": Verdict(True, patch=[{"op": "add", "path": "/metadata/labels",
                                          "value": {"team": "x"}}]),
        "b-env": Verdict(True, patch=[{"op": "test", "path": "/metadata/labels/team",
                                       "value": "x"},
                                      {"op": "replace", "path": "/spec/containers/0/image",
                                       "value": "busybox:1.36"}]),
        "check": Verdict(True)})
    assert called == ["a-labels", "b-env", "check"]
    assert req.object is not None
    assert req.object["metadata"]["labels"] == {"team": "x"}
    assert req.object["spec"]["containers"][0]["image"] == "busybox:1.36"


@pytest.mark.parametrize("failure", [BusTimeout("no reply on kubeactor.admission.slow within "
                                                "2.0s"), NoResponders("no responders")])
def test_a_failed_call_refuses_under_fail_and_is_skipped_under_ignore(failure: Exception):
    with pytest.raises(InternalError) as failed:
        run_with(external_chain(registration("slow", mutating=False)),
                 request("CREATE", "pods", pod("p")), {"slow": failure})
    assert failed.value.message.startswith(
        'Internal error occurred: failed calling webhook "slow": failed to call webhook: ')
    if isinstance(failure, BusTimeout):
        assert "timeout" in failed.value.message
    assert run_with(external_chain(registration("slow", mutating=False, fail=False)),
                    request("CREATE", "pods", pod("p")), {"slow": failure}) == ["slow"]


def test_a_patch_may_not_rename_the_object():
    chain = external_chain(registration("renamer", mutating=True))
    with pytest.raises(InternalError, match="attempted to change"):
        run_with(chain, request("CREATE", "pods", pod("p")), {"renamer": Verdict(True, patch=[
            {"op": "replace", "path": "/metadata/name", "value": "q"}])})


@pytest.mark.parametrize("patch", [
    [{"op": "remove", "path": ""}], [{"op": "add", "path": "/spec/containers/01", "value": {}}],
])
def test_a_patch_that_does_not_apply_is_kube_apiservers_internal_error(patch: Any):
    chain = external_chain(registration("broken", mutating=True))
    with pytest.raises(InternalError, match='"broken" returned a patch that does not apply'):
        run_with(chain, request("CREATE", "pods", pod("p")), {"broken": Verdict(True,
                                                                                patch=patch)})


@pytest.mark.parametrize(("resources", "operations", "req", "wanted"), [
    (["pods"], ["CREATE"], request("CREATE", "pods", pod("p")), True),
    (["pods"], ["CREATE"], request("UPDATE", "pods", pod("p"), pod("p")), False),
    (["pods"], ["*"], request("UPDATE", "pods", pod("p"), pod("p"), subresource="status"),
     False),
    (["pods/*"], ["*"], request("UPDATE", "pods", pod("p"), pod("p"), subresource="status"),
     True),
    (["*"], ["DELETE"], request("DELETE", "configmaps", None, {"metadata": {"name": "c"}}),
     True),
])
def test_registrations_match_like_kubernetes_rules(resources: list[str], operations: list[str],
                                                   req: AdmissionRequest, wanted: bool):
    held = Registrations()
    held.observe(registration("r", mutating=False, resources=resources, operations=operations))
    assert bool(held.matching(req, mutating=False)) is wanted


def test_a_review_round_trips_and_a_wrong_uid_is_refused():
    chain = external_chain(registration("policy", mutating=False))
    steps = chain.run(request("CREATE", "pods", pod("p"), user=ALICE))
    call = next(steps)
    review = Review.of(call.envelope.body)
    assert (review.operation, review.kind, review.resource, review.namespace, review.name,
            review.user.name) == ("CREATE", "Pod", "pods", "default", "p", "alice")
    with pytest.raises(InternalError, match="does not answer request uid"):
        steps.send(Envelope(body=Verdict(True).response("another-uid")))

