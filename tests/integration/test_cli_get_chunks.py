"""``kubeactor get`` lists in pages (``--chunk-size``, default 500, as kubectl), so a list
bigger than one bus message still prints, in every output form; ``--chunk-size 0`` asks for it
in one request, which fails cleanly when the answer is over the bus's limit. A page of large
objects shrinks to fit the bus, so that clients, informers and the namespace controller still
list a namespace a user filled with them. Against ``kubeactor
up --runtime sim`` (real NATS, real store; the CLI as a subprocess)."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from actors.client.client import Client
from actors.client.informer import Informer
from bindings import kubeconfig
from bus import Connection
from bus.errors import NotFound
from tests.processes import UpProcess
from tests.support import until

pytestmark = pytest.mark.integration

NAMESPACE = "bulk"
COUNT = 5000
FILLER = "x" * 300
"""Each object's data: 5,000 of them are ~2.2 MB as one list, over the bus's 1 MiB messages."""


@pytest.fixture(scope="module")
def module_admin(cluster: UpProcess) -> Iterator[Client]:
    """The admin's client for the whole module."""
    config = kubeconfig.load(cluster.kubeconfig)
    connection = Connection(config.bus(), "bulk").connect()
    try:
        yield Client(connection, config.token)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def bulk(module_admin: Client) -> list[str]:
    """The names of COUNT ConfigMaps in NAMESPACE, made 64 at a time."""
    return _made(module_admin)


def _made(admin: Client) -> list[str]:
    admin.create("namespaces", {"metadata": {"name": NAMESPACE}}, namespace=None)
    names = [f"cm-{i:04d}" for i in range(COUNT)]
    pending: set[concurrent.futures.Future[object]] = set()
    for name in names:
        if len(pending) >= 64:
            done, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                future.result()
        pending.add(admin.submit("create", "configmaps", namespace=NAMESPACE, name=name,
                                 body={"metadata": {"name": name}, "data": {"fill": FILLER}}))
    for future in pending:
        future.result()
    return names


def ours(names: list[str]) -> list[str]:
    """``names`` without the namespace's own ``kube-root-ca.crt`` (its controller's)."""
    return [name for name in names if "kube-root-ca.crt" not in name]


def get(cluster: UpProcess, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cluster.cli("get", "configmaps", "-n", NAMESPACE, *args, check=check)


def test_one_request_for_the_whole_list_is_over_the_bus_limit_and_fails_cleanly(cluster, bulk):
    failed = get(cluster, "--chunk-size", "0", "-o", "name", check=False)
    assert failed.returncode == 1
    assert "the response is too large for the bus" in failed.stderr
    assert "Traceback" not in failed.stderr and failed.stdout == ""


def test_chunk_size_0_lists_a_small_namespace_in_one_request_as_before(cluster, bulk):
    shown = cluster.cli("get", "namespaces", "--chunk-size", "0", "-o", "name").stdout
    assert f"namespace/{NAMESPACE}" in shown.splitlines()


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "300"]])
def test_names_of_every_object_once_in_order(cluster, bulk, chunk):
    assert ours(get(cluster, "-o", "name", *chunk).stdout.splitlines()) == [
        f"configmap/{name}" for name in bulk]


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_json_and_yaml_of_a_chunked_list_are_one_list(cluster, bulk, form):
    out = get(cluster, "-o", form).stdout
    listed = json.loads(out) if form == "json" else yaml.safe_load(out)
    assert listed["kind"] == "List"
    mine = [item for item in listed["items"] if item["metadata"]["name"] != "kube-root-ca.crt"]
    assert [item["metadata"]["name"] for item in mine] == bulk
    assert all(item["data"] == {"fill": FILLER} for item in mine)


@pytest.mark.parametrize("wide", [[], ["-o", "wide"]])
def test_the_table_has_one_header_and_a_row_per_object(cluster, bulk, wide):
    lines = get(cluster, *wide).stdout.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    rows = [line.split() for line in lines[1:] if ours([line])]
    assert [row[0] for row in rows] == bulk
    assert all(row[1] == "1" for row in rows)


def test_all_namespaces_pages_across_namespaces(cluster, bulk):
    lines = cluster.cli("get", "configmaps", "-A", "--chunk-size", "250").stdout.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    rows = [line.split()[:2] for line in lines[1:]]
    assert ours([name for namespace, name in rows if namespace == NAMESPACE]) == bulk
    assert len(rows) == len({tuple(row) for row in rows})  # nothing twice


def test_a_selector_pages_the_matches_only(cluster, bulk):
    shown = get(cluster, "--field-selector", "metadata.name=cm-4999", "--chunk-size", "10",
                "-o", "name").stdout
    assert shown == "configmap/cm-4999\n"


def test_watch_lists_in_chunks_then_prints_the_changes_after_the_listing(cluster, admin, bulk):
    watch = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig), "get",
         "configmaps", "-n", NAMESPACE, "-w", "-o", "name", "--chunk-size", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watch.stdout is not None
        listed = [watch.stdout.readline().strip() for _ in range(COUNT + 1)]  # the CA's too
        assert ours(listed) == [f"configmap/{name}" for name in bulk]
        admin.create("configmaps", {"metadata": {"name": "late"}}, namespace=NAMESPACE)
        assert watch.stdout.readline() == "configmap/late\n"
    finally:
        watch.terminate()
        watch.communicate(timeout=30)


def test_a_negative_chunk_size_is_a_usage_error(cluster):
    refused = cluster.cli("get", "configmaps", "--chunk-size", "-1", check=False)
    assert refused.returncode == 2 and "--chunk-size" in refused.stderr


HEAVY = "y" * 200_000
"""A ConfigMap's data near the largest object stored: ten of them (2 MB) are more than one bus
message, and so is a page of them however few ``limit`` asks for."""


@pytest.fixture(scope="module")
def heavy(module_admin: Client) -> Client:
    """Namespace ``heavy`` holding ten ConfigMaps of 200 KB, as a user with ``create
    configmaps`` in one namespace may make them."""
    admin = module_admin
    admin.create("namespaces", {"metadata": {"name": "heavy"}}, namespace=None)
    for i in range(10):
        admin.create("configmaps", {"metadata": {"name": f"big-{i}"}, "data": {"d": HEAVY}},
                     namespace="heavy")
    return admin


def test_a_page_of_large_objects_shrinks_to_fit_the_bus_and_continues(cluster, heavy):
    page = heavy.list("configmaps", "heavy", limit=500)
    assert 1 <= len(page["items"]) < 10 and page["metadata"]["continue"]
    whole = heavy.list("configmaps", "heavy")
    assert ours([o["metadata"]["name"] for o in whole["items"]]) == [f"big-{i}" for i in range(10)]
    assert all(o["data"] == {"d": HEAVY} for o in whole["items"]
               if o["metadata"]["name"].startswith("big-"))


def test_the_official_clients_whole_list_of_large_objects_is_answered(cluster, heavy, kube_api):
    """A list without ``limit`` over HTTPS (the official client's default) is answered whole,
    as kube-apiserver answers it, though it is more than one bus message: the front hands it
    to the apiserver in its process (``bus.inprocess``), where no bus message carries it."""
    from kubernetes import client as k8s

    listed = k8s.CoreV1Api(kube_api(cluster.kubeconfig)).list_namespaced_config_map("heavy")
    assert ours([cm.metadata.name for cm in listed.items]) == [f"big-{i}" for i in range(10)]
    assert listed.metadata.resource_version and not listed.metadata._continue


def test_get_informers_and_namespace_deletion_work_over_large_objects(cluster, heavy):
    shown = cluster.cli("get", "configmaps", "-n", "heavy", "-o", "name").stdout.splitlines()
    assert ours(shown) == [f"configmap/big-{i}" for i in range(10)]
    informer = Informer(heavy, "configmaps", lambda event: None, namespace="heavy")
    informer.start()
    try:
        assert len(ours([o["metadata"]["name"] for o in informer.items()])) == 10
    finally:
        informer.stop()
    heavy.delete("namespaces", "heavy", namespace=None)  # its controller lists what it holds
    until(lambda: _gone(heavy, "heavy"), timeout=60)


def _gone(admin: Client, namespace: str) -> bool:
    try:
        admin.get("namespaces", namespace, None)
    except NotFound:
        return True
    return False


def test_pages_stay_at_the_first_pages_revision_while_objects_change(cluster, module_admin,
                                                                     bulk):
    before = [o["metadata"]["name"] for o in module_admin.list("configmaps", NAMESPACE)["items"]]
    first = module_admin.list("configmaps", NAMESPACE, limit=2000)
    module_admin.delete("configmaps", bulk[-1], namespace=NAMESPACE)
    module_admin.create("configmaps", {"metadata": {"name": "cm-9999"}}, namespace=NAMESPACE)
    module_admin.patch("configmaps", bulk[-2], {"data": {"fill": "changed"}},
                       "application/merge-patch+json", namespace=NAMESPACE)
    try:
        items, page = list(first["items"]), first
        while token := page["metadata"].get("continue"):
            page = module_admin.list("configmaps", NAMESPACE, limit=2000, continue_token=token)
            items += page["items"]
        assert [o["metadata"]["name"] for o in items] == before  # as at the first page
        assert {o["metadata"]["name"]: o for o in items}[bulk[-2]]["data"] == {"fill": FILLER}
        now = module_admin.list("configmaps", NAMESPACE)["items"]
        assert [o["metadata"]["name"] for o in now] == sorted(
            {*before, "cm-9999"} - {bulk[-1]})
    finally:
        module_admin.delete("configmaps", "cm-9999", namespace=NAMESPACE)
        module_admin.create("configmaps", {"metadata": {"name": bulk[-1]},
                                           "data": {"fill": FILLER}}, namespace=NAMESPACE)
        module_admin.patch("configmaps", bulk[-2], {"data": {"fill": FILLER}},
                           "application/merge-patch+json", namespace=NAMESPACE)
