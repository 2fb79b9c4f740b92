"""What objects count against a ResourceQuota (actors/apiserver/admission/quota.py) and the
ResourceQuota plugin charging object counts and storage (actors/apiserver/admission/limits.py), over
an in-memory store."""

from __future__ import annotations

import re
from typing import Any

import pytest

from actors.api.objects import Object
from actors.api.resources import ResourceInfo, lookup
from actors.apiserver.admission import quota
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.admission.limits import ResourceQuota
from bus.errors import Forbidden
from tests.unit.actors.apiserver.admission.test_admission import (
    ALICE,
    MemoryAccess,
    admitted_quota,
    pod,
    request,
)
from tests.unit.actors.apiserver.admission.test_admission import quota as a_quota

CLAIMS = ResourceInfo("persistentvolumeclaims", "PersistentVolumeClaim")
"""Not a registered resource yet: the evaluator is there for when it is."""
GOLD = "gold.storageclass.storage.k8s.io/"


def configmap(name: str) -> Object:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": {"k": "v"}}


def claim(name: str, storage: str, storage_class: str | None = "gold",
          allocated: str | None = None) -> Object:
    spec: Object = {"resources": {"requests": {"storage": storage}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    obj: Object = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": name, "namespace": "default"}, "spec": spec}
    if allocated:
        obj["status"] = {"allocatedResources": {"storage": allocated}}
    return obj


def on(info: ResourceInfo, operation: str, obj: Object, old: Object | None = None
       ) -> AdmissionRequest:
    return AdmissionRequest(operation, info, subresource=None, namespace="default",
                            name=obj["metadata"]["name"], object=obj, old_object=old, user=ALICE)


# -- the evaluators -------------------------------------------------------------------------------


def test_every_object_counts_one_of_its_resource_and_legacy_kinds_their_plain_name_too():
    assert quota.usage("", "configmaps", configmap("a")) == {
        "count/configmaps": 1, "configmaps": 1}
    assert quota.usage("", "secrets", {}) == {"count/secrets": 1, "secrets": 1}
    assert quota.usage("apps", "deployments", {}) == {"count/deployments.apps": 1}
    assert quota.usage("", "events", {}) == {"count/events": 1}
    counted = quota.usage("", "pods", pod("p", requests={"cpu": "250m"}))
    assert counted["count/pods"] == counted["pods"] == 1 and counted["requests.cpu"] == 250


@pytest.mark.parametrize(("name", "resource"), [
    ("count/configmaps", ("", "configmaps")),
    ("count/deployments.apps", ("apps", "deployments")),
    ("count/roles.rbac.authorization.k8s.io", ("rbac.authorization.k8s.io", "roles")),
    ("cpu", ("", "pods")), ("limits.memory", ("", "pods")),
    ("secrets", ("", "secrets")), ("services.nodeports", ("", "services")),
    ("requests.storage", ("", "persistentvolumeclaims")),
    (GOLD + "requests.storage", ("", "persistentvolumeclaims")),
    (GOLD + "persistentvolumeclaims", ("", "persistentvolumeclaims")),
    ("requests.nvidia.com/gpu", None), (GOLD + "cpu", None),
])
def test_each_quota_resource_is_counted_by_the_objects_of_one_resource(name, resource):
    assert quota.counted_by(name) == resource


def test_services_count_their_node_ports_and_load_balancers_by_type():
    def service(kind: str, ports: int, **spec: Any) -> Object:
        return {"spec": {"type": kind, "ports": [{"port": 80 + i, **spec.pop("port", {})}
                                                 for i in range(ports)], **spec}}

    assert quota.usage("", "services", service("ClusterIP", 2)) == {
        "count/services": 1, "services": 1, "services.loadbalancers": 0,
        "services.nodeports": 0}
    assert quota.service_usage(service("NodePort", 2))["services.nodeports"] == 2
    assert quota.service_usage(service("LoadBalancer", 3)) == {
        "services": 1, "services.loadbalancers": 1, "services.nodeports": 3}
    without = service("LoadBalancer", 2, allocateLoadBalancerNodePorts=False)
    without["spec"]["ports"][0]["nodePort"] = 30001
    assert quota.service_usage(without)["services.nodeports"] == 1


def test_a_claim_counts_the_larger_of_its_request_and_allocation_also_by_class():
    gi = 2**30
    assert quota.usage("", "persistentvolumeclaims", claim("c", "10Gi", allocated="20Gi")) == {
        "count/persistentvolumeclaims": 1, "persistentvolumeclaims": 1,
        "requests.storage": 20 * gi, GOLD + "persistentvolumeclaims": 1,
        GOLD + "requests.storage": 20 * gi}
    assert quota.claim_usage(claim("c", "1.5", storage_class=None)) == {
        "persistentvolumeclaims": 1, "requests.storage": 2}  # whole bytes, rounded up
    annotated = claim("c", "1Gi", storage_class="gold")
    annotated["metadata"]["annotations"] = {quota.STORAGE_CLASS_ANNOTATION: "silver"}
    assert set(quota.claim_usage(annotated)) == {
        "persistentvolumeclaims", "requests.storage",
        "silver.storageclass.storage.k8s.io/persistentvolumeclaims",
        "silver.storageclass.storage.k8s.io/requests.storage"}


def test_amounts_are_read_and_written_in_the_unit_of_their_resource():
    assert quota.amount("count/configmaps", "2") == 2
    assert quota.amount("requests.storage", "1Gi") == 2**30
    assert quota.amount("limits.cpu", "1500m") == 1500
    assert quota.amount("requests.nvidia.com/gpu", "1") is None
    assert quota.amount("count/configmaps", "many") is None
    assert quota.show(GOLD + "requests.storage", 5 * 2**30) == GOLD + "requests.storage=5Gi"
    assert quota.show("count/configmaps", 3) == "count/configmaps=3"


# -- the plugin -----------------------------------------------------------------------------------


def test_an_object_count_quota_refuses_the_next_configmap_in_kubernetes_words():
    access = MemoryAccess()
    admitted_quota(access, a_quota("q", **{"count/configmaps": "2"}))
    plugin = ResourceQuota(access)
    for name in ("a", "b"):
        plugin.validate(request("CREATE", "configmaps", configmap(name)))
    with pytest.raises(Forbidden) as denied:
        plugin.validate(request("CREATE", "configmaps", configmap("c")))
    assert denied.value.message == (
        'configmaps "c" is forbidden: exceeded quota: q, requested: count/configmaps=1, used: '
        "count/configmaps=2, limited: count/configmaps=2")
    plugin.release(configmap("a"))  # deleted
    plugin.validate(request("CREATE", "configmaps", configmap("c")))
    stored = access.get("resourcequotas", "default", "q")
    assert stored is not None and stored["status"]["used"] == {"count/configmaps": "2"}


def test_a_dry_run_is_checked_against_the_quota_but_charges_nothing():
    access = MemoryAccess()
    admitted_quota(access, a_quota("q", **{"count/configmaps": "1"}))
    plugin = ResourceQuota(access)
    dry = request("CREATE", "configmaps", configmap("a"))
    dry.dry_run = True
    revision = access.revision
    plugin.validate(dry)
    plugin.validate(dry)  # nothing charged: still room for one
    assert access.revision == revision
    plugin.validate(request("CREATE", "configmaps", configmap("a")))
    with pytest.raises(Forbidden, match="exceeded quota: q"):
        plugin.validate(dry)


def test_a_new_quota_counts_the_objects_already_there_itself_included():
    access = MemoryAccess(("configmaps", configmap("a")), ("configmaps", configmap("b")),
                          ("pods", pod("p")))
    admitted_quota(access, a_quota("first", pods="5"))
    stored = admitted_quota(access, a_quota("second", **{
        "count/configmaps": "10", "configmaps": "10", "resourcequotas": "3",
        "count/pods": "4", "count/deployments.apps": "1", "count/things.example.com": "1"}))
    assert stored["status"]["used"] == {
        "configmaps": "2", "count/configmaps": "2", "count/deployments.apps": "0",
        "count/pods": "1", "count/things.example.com": "0", "resourcequotas": "2"}


def test_a_quota_of_counts_alone_asks_nothing_of_a_pods_resources():
    access = MemoryAccess()
    admitted_quota(access, a_quota("q", **{"count/pods": "1"}))
    plugin = ResourceQuota(access)
    plugin.validate(request("CREATE", "pods", pod("a")))
    with pytest.raises(Forbidden, match=re.escape("requested: count/pods=1, used: count/pods=1")):
        plugin.validate(request("CREATE", "pods", pod("b")))


def test_an_update_is_charged_what_it_adds_and_a_failed_one_gives_it_back():
    access = MemoryAccess()
    admitted_quota(access, a_quota("q", **{"requests.storage": "10Gi", GOLD + "requests.storage":
                                           "9Gi", "persistentvolumeclaims": "1"}))
    plugin = ResourceQuota(access)
    small, grown = claim("c", "4Gi"), claim("c", "8Gi")
    plugin.validate(on(CLAIMS, "CREATE", small))
    with pytest.raises(Forbidden, match=re.escape("requested: persistentvolumeclaims=1, used: "
                                                  "persistentvolumeclaims=1, limited: "
                                                  "persistentvolumeclaims=1")):
        plugin.validate(on(CLAIMS, "CREATE", claim("d", "1Gi")))
    plugin.validate(on(CLAIMS, "UPDATE", grown, small))
    used = (access.get("resourcequotas", "default", "q") or {})["status"]["used"]
    assert used == {"persistentvolumeclaims": "1", "requests.storage": "8Gi",
                    GOLD + "requests.storage": "8Gi"}
    with pytest.raises(Forbidden) as denied:
        plugin.validate(on(CLAIMS, "UPDATE", claim("c", "12Gi"), grown))
    assert denied.value.message == (
        'persistentvolumeclaims "c" is forbidden: exceeded quota: q, requested: '
        f"{GOLD}requests.storage=4Gi,requests.storage=4Gi, used: {GOLD}requests.storage=8Gi,"
        f"requests.storage=8Gi, limited: {GOLD}requests.storage=9Gi,requests.storage=10Gi")


def test_a_failed_update_gives_back_what_it_was_charged():
    access = MemoryAccess()
    admitted_quota(access, a_quota("q", pods="10", **{"requests.cpu": "1"}))
    plugin = ResourceQuota(access)
    old, new = pod("p", requests={"cpu": "200m"}), pod("p", requests={"cpu": "700m"})
    plugin.validate(request("CREATE", "pods", old))
    plugin.validate(request("UPDATE", "pods", new, old))
    used = (access.get("resourcequotas", "default", "q") or {})["status"]["used"]
    assert used == {"pods": "1", "requests.cpu": "700m"}
    plugin.release(new, old)  # the update was not stored
    used = (access.get("resourcequotas", "default", "q") or {})["status"]["used"]
    assert used == {"pods": "1", "requests.cpu": "200m"}


def test_cluster_scoped_objects_and_bindings_charge_nothing():
    access = MemoryAccess()
    admitted_quota(access, a_quota("q", **{"count/namespaces": "0", "count/pods": "0"}))
    plugin = ResourceQuota(access)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
    plugin.validate(AdmissionRequest("CREATE", lookup("", "namespaces"), subresource=None,
                                     namespace=None, name="n", object=namespace, old_object=None,
                                     user=ALICE))
    plugin.validate(request("CREATE", "pods", pod("p"), pod("p"), subresource="binding"))
    plugin.release(namespace)


def test_a_namespace_without_a_quota_has_nothing_counted(monkeypatch: pytest.MonkeyPatch):
    access = MemoryAccess()
    admitted_quota(access, a_quota("q", pods="1"))  # in "default"
    plugin = ResourceQuota(access)
    counted: list[str] = []
    monkeypatch.setattr(quota, "usage", lambda group, resource, obj: counted.append(
        obj["metadata"]["namespace"]) or {"pods": 1})
    elsewhere = pod("p")
    elsewhere["metadata"]["namespace"] = "team-a"
    plugin.validate(AdmissionRequest("CREATE", lookup("", "pods"), subresource=None,
                                     namespace="team-a", name="p", object=elsewhere,
                                     old_object=None, user=ALICE))
    plugin.release(elsewhere)
    assert counted == []  # a pod's requests and limits were not read
    plugin.validate(request("CREATE", "pods", pod("p")))
    assert counted == ["default"]
