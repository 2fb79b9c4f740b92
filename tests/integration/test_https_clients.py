"""Issue 14's item 5: the Python clients Kubernetes users already have, against the kubeconfig
kubeactor writes, as they are: the official ``kubernetes`` client's watch through a ``410
Gone`` (its history kept short here, 5 revisions, so a resource version falls out of it), and
lightkube and kr8s getting, listing, creating, watching and deleting."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Iterator

import kr8s
import kr8s.asyncio
import kr8s.asyncio.objects
import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from lightkube import Client as LightClient
from lightkube import KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import on_error_retry

from actors.store import HistoryWindow, StoreConfig
from bindings.cluster import Cluster, ClusterConfig

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> Iterator[Cluster]:
    """A control plane with its HTTPS API whose history keeps 5 revisions."""
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path_factory.mktemp("short"), nodes=0,
                                          storage=StoreConfig(HistoryWindow(5))))
    yield cluster
    cluster.stop()


@pytest.fixture
def core(short: Cluster) -> Iterator[k8s.CoreV1Api]:
    with k8s_config.new_client_from_config(str(short.kubeconfig_path)) as api_client:
        yield k8s.CoreV1Api(api_client)


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
