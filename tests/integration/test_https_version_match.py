"""A list's ``resourceVersionMatch`` through the official ``kubernetes`` client and real
kubectl's ``get --raw``: ``Exact`` is the list as it was (410 once the history, 5 revisions
here, no longer holds it), ``NotOlderThan`` past the newest revision is kube-apiserver's 504
asking to retry, and the combinations kube refuses are 422."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from actors.store import HistoryWindow, StoreConfig
from bindings.cluster import Cluster, ClusterConfig
from tests.processes import KUBECTL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> Iterator[Cluster]:
    """A control plane with its HTTPS API whose history keeps 5 revisions."""
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path_factory.mktemp("match"), nodes=0,
                                          storage=StoreConfig(HistoryWindow(5))))
    yield cluster
    cluster.stop()


@pytest.fixture
def core(short: Cluster) -> Iterator[k8s.CoreV1Api]:
    with k8s_config.new_client_from_config(str(short.kubeconfig_path)) as api_client:
        yield k8s.CoreV1Api(api_client)


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
    except ApiException as error:
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
