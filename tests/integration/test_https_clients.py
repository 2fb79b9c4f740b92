"""Issue 14's item 5: the Python clients Kubernetes users already have, against the kubeconfig
kubeactor writes, as they are: the official ``kubernetes`` client's watch through a ``410
Gone`` (its history kept short here, 5 revisions, so a resource version falls out of it), and
lightkube and kr8s getting, listing, creating, watching and deleting; and a list's
``resourceVersionMatch`` (through the official client and kubectl's ``get --raw``): ``Exact``
is the list as it was (410 once the history no longer holds it), ``NotOlderThan`` past the
newest revision is kube-apiserver's 504 asking to retry, the combinations kube refuses 422;
DeleteOptions' ``preconditions``, as client-go sends them: a delete, a deletecollection and an
eviction whose ``uid`` or ``resourceVersion`` does not match are 409 in kube-apiserver's
words and change nothing; matching ones delete."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
from collections.abc import Iterator

import kr8s
import kr8s.asyncio
import kr8s.asyncio.objects
import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from lightkube import Client as LightClient
from lightkube import KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import on_error_retry

from actors.store import HistoryWindow, StoreConfig
from bindings.cluster import Cluster, ClusterConfig
from bus.errors import Conflict, NotFound
from tests.processes import KUBECTL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> Iterator[Cluster]:
    """A control plane with its HTTPS API whose history keeps 5 revisions."""
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path_factory.mktemp("short"), nodes=0,
                                          storage=StoreConfig(HistoryWindow(5))))
    yield cluster
    cluster.stop()


@pytest.fixture
def core(short: Cluster, kube_api) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(kube_api(short.kubeconfig_path))


def configmap(name: str, label: str) -> k8s.V1ConfigMap:
    return k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name, labels={"set": label}),
                           data={"n": name})


def _outdated(core: k8s.CoreV1Api, label: str) -> str:
    """A resource version of a list of ``label``'s configmaps that has left the history."""
    version = core.list_namespaced_config_map("default").metadata.resource_version
    for n in range(8):
        core.create_namespaced_config_map("default", configmap(f"{label}-noise-{n}", "noise"))
    return str(version)


def test_a_watch_too_far_back_is_an_error_event_410_in_a_200(core):
    version = _outdated(core, "raw")
    response = core.list_namespaced_config_map("default", watch=True,
                                                resource_version=version,
                                                _preload_content=False)
    try:
        assert response.status == 200
        event = json.loads(next(iter(response.stream())).splitlines()[0])
    finally:
        response.release_conn()
    assert event["type"] == "ERROR"
    assert (event["object"]["kind"], event["object"]["code"], event["object"]["reason"]) == (
        "Status", 410, "Expired")


def test_the_official_clients_watch_survives_a_410_by_relisting(core):
    """client-go's reflector in Python: watch from the list's version; a 410 (after the
    client's own one retry) is a relist, and the watch goes on from the new list."""
    version = _outdated(core, "official")
    seen: list[tuple[str, str]] = []
    gone = 0
    while not seen:
        try:
            for event in k8s_watch.Watch().stream(
                    core.list_namespaced_config_map, "default", label_selector="set=relisted",
                    resource_version=version, timeout_seconds=5):
                seen.append((event["type"], event["object"].metadata.name))
        except k8s.ApiException as error:
            assert error.status == 410
            gone += 1
            listed = core.list_namespaced_config_map("default", label_selector="set=relisted")
            assert listed.items == []
            version = listed.metadata.resource_version
            core.create_namespaced_config_map("default", configmap("after", "relisted"))
    assert (gone, seen) == (1, [("ADDED", "after")])
    patched = core.patch_namespaced_config_map("after", "default", {"data": {"n": "patched"}})
    assert patched.data == {"n": "patched"}
    core.delete_namespaced_config_map("after", "default")


@pytest.fixture
def light(short: Cluster) -> Iterator[LightClient]:
    with LightClient(config=KubeConfig.from_file(str(short.kubeconfig_path))) as client:
        yield client


def test_lightkube_creates_gets_lists_watches_and_deletes(light, core):
    made = light.create(ConfigMap(metadata=ObjectMeta(name="light", labels={"set": "light"}),
                                  data={"a": "1"}), namespace="default")
    assert made.metadata.resourceVersion and made.data == {"a": "1"}
    assert light.get(ConfigMap, "light", namespace="default").data == {"a": "1"}
    assert [cm.metadata.name for cm in light.list(
        ConfigMap, namespace="*", labels={"set": "light"})] == ["light"]
    with contextlib.closing(light.watch(ConfigMap, namespace="default",
                                        labels={"set": "light"})) as watching:
        assert [(event, obj.metadata.name) for event, obj in itertools.islice(watching, 1)] == [
            ("ADDED", "light")]
    light.delete(ConfigMap, "light", namespace="default")
    assert list(light.list(ConfigMap, namespace="default", labels={"set": "light"})) == []


def test_lightkubes_watch_restarts_after_a_410(light, core):
    version = _outdated(core, "lightkube")
    core.create_namespaced_config_map("default", configmap("lit", "lit"))
    with contextlib.closing(light.watch(ConfigMap, namespace="default", labels={"set": "lit"},
                                        resource_version=version,
                                        on_error=on_error_retry)) as watching:
        assert [(event, obj.metadata.name) for event, obj in itertools.islice(watching, 1)] == [
            ("ADDED", "lit")]  # the state, from scratch


@pytest.mark.filterwarnings("ignore:Kubernetes version v1.37:UserWarning")  # kr8s knows 1.35
def test_kr8s_creates_gets_lists_watches_and_deletes(short: Cluster):
    asyncio.run(_kr8s_round(str(short.kubeconfig_path)))


async def _kr8s_round(kubeconfig: str) -> None:
    """kr8s's asyncio API (its sync one runs this on a loop of its own, whose connections
    it never closes; here the session is closed when done)."""
    api = await kr8s.asyncio.api(kubeconfig=kubeconfig)
    try:
        made = await kr8s.asyncio.objects.ConfigMap({
            "metadata": {"name": "kr8s", "namespace": "default", "labels": {"set": "kr8s"}},
            "data": {"a": "1"}}, api=api)
        await made.create()
        got = await kr8s.asyncio.objects.ConfigMap.get("kr8s", namespace="default", api=api)
        assert got.data == {"a": "1"}
        assert [cm.name async for cm in api.get("configmaps", namespace=kr8s.ALL,
                                                 label_selector="set=kr8s")] == ["kr8s"]
        watching = api.watch("configmaps", namespace="default", label_selector="set=kr8s")
        event, obj = await anext(watching)
        await watching.aclose()
        assert (event, obj.name) == ("ADDED", "kr8s")
        await made.delete()
        assert [cm async for cm in api.get("configmaps", namespace="default",
                                           label_selector="set=kr8s")] == []
    finally:
        assert api._session is not None
        await api._session.aclose()


# -- resourceVersionMatch -----------------------------------------------------------------------

def _create(core: k8s.CoreV1Api, name: str) -> str:
    created = core.create_namespaced_config_map("default", k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name=name, labels={"set": "match"})))
    return str(created.metadata.resource_version)


def _names(listed: k8s.V1ConfigMapList) -> list[str]:
    return [item.metadata.name for item in listed.items]


def _answer(call, *args, **kwargs) -> tuple[int, dict]:
    """The HTTP code and Status ``call`` is answered with (the ApiException not kept: held,
    its traceback keeps the client's connection open past the test)."""
    try:
        call(*args, **kwargs)
    except k8s.ApiException as error:
        return int(error.status), json.loads(error.body)
    return 200, {}


def test_an_exact_list_is_the_list_as_it_was_at_that_version(core, short):
    first = _create(core, "first")
    _create(core, "second")
    then = core.list_namespaced_config_map("default", label_selector="set=match",
                                           resource_version=first,
                                           resource_version_match="Exact")
    assert (_names(then), then.metadata.resource_version) == (["first"], first)
    now = core.list_namespaced_config_map("default", label_selector="set=match",
                                          resource_version=first,
                                          resource_version_match="NotOlderThan")
    assert _names(now) == ["first", "second"]
    raw = subprocess.run([KUBECTL, "--kubeconfig", str(short.kubeconfig_path), "get", "--raw",
                          f"/api/v1/namespaces/default/configmaps?labelSelector=set%3Dmatch"
                          f"&resourceVersion={first}&resourceVersionMatch=Exact"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert [item["metadata"]["name"] for item in json.loads(raw.stdout)["items"]] == ["first"]


def test_an_exact_list_the_history_no_longer_holds_is_410(core):
    old = _create(core, "old")
    for n in range(8):
        _create(core, f"noise-{n}")
    code, status = _answer(core.list_namespaced_config_map, "default", resource_version=old,
                           resource_version_match="Exact")
    assert (code, status["reason"], status["message"]) == (
        410, "Expired", "The resourceVersion for the provided list is too old.")


def test_a_version_not_yet_seen_is_504_asking_to_retry(core):
    current = int(core.list_namespaced_config_map("default").metadata.resource_version)
    code, status = _answer(core.list_namespaced_config_map, "default",
                           resource_version=str(current + 100),
                           resource_version_match="NotOlderThan")
    assert (code, status["reason"], status["details"]["retryAfterSeconds"]) == (504, "Timeout", 1)
    assert status["message"].startswith(f"Too large resource version: {current + 100}, ")


@pytest.mark.parametrize(("query", "words"), [
    ({"resource_version_match": "Exact"}, "forbidden unless resourceVersion is provided"),
    ({"resource_version_match": "Exact", "resource_version": "0"}, 'forbidden for '
                                                                   'resourceVersion "0"'),
    ({"resource_version_match": "NotOlderThan", "resource_version": "1", "watch": True},
     "forbidden for watch unless sendInitialEvents is provided"),
])
def test_a_match_kube_refuses_is_422_and_lists_nothing(core, query, words):
    code, status = _answer(core.list_namespaced_config_map, "default",
                           _preload_content=False, **query)
    assert (code, status["reason"]) == (422, "Invalid")
    assert words in status["message"]


def test_on_the_bus_an_exact_list_is_an_option(core, short):
    version = _create(core, "bus-first")
    _create(core, "bus-second")
    listed = short.admin_client().request(
        "list", "configmaps", namespace="default",
        options={"resourceVersionMatch": "Exact", "resourceVersion": version,
                 "labelSelector": "set=match"})
    assert "bus-second" not in [item["metadata"]["name"] for item in listed["items"]]
    assert listed["metadata"]["resourceVersion"] == version


# -- DeleteOptions preconditions ----------------------------------------------------------------

def _configmap(core: k8s.CoreV1Api, name: str) -> k8s.V1ConfigMap:
    return core.create_namespaced_config_map("default", k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name=name, labels={"set": name}), data={"a": "1"}))


def _refused(call, *args, **kwargs) -> str:
    """The message of the 409 ``call`` is answered with."""
    code, status = _answer(call, *args, **kwargs)
    assert (code, status["reason"]) == (409, "Conflict")
    return str(status["message"])


def test_a_delete_whose_uid_or_version_does_not_match_is_409_and_changes_nothing(core):
    stored = _configmap(core, "pinned")
    meta = stored.metadata
    body = _refused(core.delete_namespaced_config_map, "pinned", "default",
                    body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid="other")))
    assert body == (f'Operation cannot be fulfilled on configmaps "pinned": Precondition '
                    f'failed: UID in precondition: other, UID in object meta: {meta.uid}')
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


def test_on_the_bus_preconditions_are_a_delete_option(short, core):
    """The same check for a client of the bus: ``options.preconditions``."""
    uid = _configmap(core, "bus").metadata.uid
    admin = short.admin_client()
    with pytest.raises(Conflict, match="UID in precondition: other, UID in object meta: "):
        admin.request("delete", "configmaps", namespace="default", name="bus",
                      options={"preconditions": {"uid": "other"}})
    assert admin.request("get", "configmaps", namespace="default", name="bus")
    admin.request("delete", "configmaps", namespace="default", name="bus",
                  options={"preconditions": {"uid": uid}})
    with pytest.raises(NotFound):
        admin.request("get", "configmaps", namespace="default", name="bus")
