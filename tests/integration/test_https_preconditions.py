"""DeleteOptions' ``preconditions`` through the official ``kubernetes`` client, as client-go
sends them: a delete, a deletecollection and an eviction whose ``uid`` or ``resourceVersion``
does not match are 409 in kube-apiserver's words and change nothing; matching ones delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from bindings.cluster import Cluster, ClusterConfig
from bus.errors import Conflict, NotFound

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path_factory.mktemp("pre"), nodes=0))
    yield cluster
    cluster.stop()


@pytest.fixture
def core(cluster: Cluster) -> Iterator[k8s.CoreV1Api]:
    with k8s_config.new_client_from_config(str(cluster.kubeconfig_path)) as api_client:
        yield k8s.CoreV1Api(api_client)


def _configmap(core: k8s.CoreV1Api, name: str) -> k8s.V1ConfigMap:
    return core.create_namespaced_config_map("default", k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name=name, labels={"set": name}), data={"a": "1"}))


def _answer(call, *args, **kwargs) -> tuple[int, str]:
    """The HTTP code and body ``call`` is answered with. The client's ApiException is not
    kept: held, its traceback keeps the client's connection open past the test."""
    try:
        call(*args, **kwargs)
    except ApiException as error:
        return int(error.status), str(error.body)
    return 200, ""


def _refused(call, *args, **kwargs) -> str:
    code, body = _answer(call, *args, **kwargs)
    assert code == 409
    return body


def test_a_delete_whose_uid_or_version_does_not_match_is_409_and_changes_nothing(core):
    stored = _configmap(core, "pinned")
    meta = stored.metadata
    body = _refused(core.delete_namespaced_config_map, "pinned", "default",
                    body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid="other")))
    assert (f'Operation cannot be fulfilled on configmaps \\"pinned\\": Precondition failed: '
            f'UID in precondition: other, UID in object meta: {meta.uid}') in body
    body = _refused(core.delete_namespaced_config_map, "pinned", "default",
                    body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(
                        uid=meta.uid, resource_version="1")))
    assert (f"ResourceVersion in precondition: 1, ResourceVersion in object meta: "
            f"{meta.resource_version}") in body
    kept = core.read_namespaced_config_map("pinned", "default").metadata
    assert kept.resource_version == meta.resource_version
    core.delete_namespaced_config_map("pinned", "default", body=k8s.V1DeleteOptions(
        preconditions=k8s.V1Preconditions(uid=meta.uid, resource_version=meta.resource_version)))
    assert not core.list_namespaced_config_map("default", label_selector="set=pinned").items


def test_a_deletecollection_checks_each_objects_preconditions(core):
    uid = _configmap(core, "many").metadata.uid
    _refused(core.delete_collection_namespaced_config_map, "default", label_selector="set=many",
             body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid="other")))
    assert core.list_namespaced_config_map("default", label_selector="set=many").items
    core.delete_collection_namespaced_config_map(
        "default", label_selector="set=many",
        body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid=uid)))
    assert not core.list_namespaced_config_map("default", label_selector="set=many").items


def test_an_eviction_with_a_failed_precondition_keeps_the_pod(core):
    pod = core.create_namespaced_pod("default", k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="evicted"),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="busybox:1.35")])))
    def evict(uid: str) -> None:
        core.create_namespaced_pod_eviction("evicted", "default", k8s.V1Eviction(
            metadata=k8s.V1ObjectMeta(name="evicted", namespace="default"),
            delete_options=k8s.V1DeleteOptions(grace_period_seconds=0,
                                               preconditions=k8s.V1Preconditions(uid=uid))))
    assert "UID in precondition: other" in _refused(evict, "other")
    assert core.read_namespaced_pod("evicted", "default").metadata.uid == pod.metadata.uid
    evict(pod.metadata.uid)
    assert _answer(core.read_namespaced_pod, "evicted", "default")[0] == 404


def test_on_the_bus_preconditions_are_a_delete_option(cluster, core):
    """The same check for a client of the bus: ``options.preconditions``."""
    uid = _configmap(core, "bus").metadata.uid
    admin = cluster.admin_client()
    with pytest.raises(Conflict, match="UID in precondition: other, UID in object meta: "):
        admin.request("delete", "configmaps", namespace="default", name="bus",
                      options={"preconditions": {"uid": "other"}})
    assert admin.request("get", "configmaps", namespace="default", name="bus")
    admin.request("delete", "configmaps", namespace="default", name="bus",
                  options={"preconditions": {"uid": uid}})
    with pytest.raises(NotFound):
        admin.request("get", "configmaps", namespace="default", name="bus")
