"""Metrics, health and the HTTPS port's non-resource URLs, on real clusters (sim kubelets):
``/metrics`` after a pod's life counts its requests and its scheduling attempt, under RBAC's
``nonResourceURLs`` (403 without them); ``--metrics-listen`` serves the same registry;
``/readyz`` turns unready when the bus and the JetStream store are gone, and ready when back,
also through ``kubeactor get --raw``."""

from __future__ import annotations

import csv
import dataclasses
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bindings import kubeconfig
from bindings.cli import main as cli
from bindings.cli.raw import fetch
from bindings.cluster import Cluster, ClusterConfig
from tests.conftest import NOBODY_TOKEN, pod, wait_for
from tests.support import until

MONITOR_TOKEN = "monitor-token-0123456789"


def start(tmp_path: Path, **config: object) -> Cluster:
    data = tmp_path / "cluster"
    data.mkdir()
    with (data / "tokens.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([NOBODY_TOKEN, "nobody", "nobody", ""])
        writer.writerow([MONITOR_TOKEN, "prometheus", "prometheus", "system:monitoring"])
    return Cluster.start(ClusterConfig(data_dir=data, https_listen="127.0.0.1:0",
                                       **config))  # type: ignore[arg-type]


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Cluster]:
    cluster = start(tmp_path, nodes=1, runtime="sim", metrics_listen="127.0.0.1:0")
    yield cluster
    cluster.stop()


def get(cluster: Cluster, path: str, token: str | None = None) -> tuple[int, str]:
    """GET ``path`` of the cluster's HTTPS port as the admin (its certificate), or as the
    user of ``token``."""
    config = kubeconfig.load(cluster.kubeconfig_path)
    if token is not None:
        config = dataclasses.replace(config, client_cert=None, client_key=None, token=token)
    status, body = fetch(config, path)
    return status, body.decode()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /,
          **labels: str) -> float:
    """The sum of ``metric``'s samples whose labels include ``labels``."""
    return sum(v for (n, have), v in found.items()
               if n == metric and set(labels.items()) <= have)


def test_metrics_after_a_pods_life_count_its_requests_and_its_scheduling_attempt(sim: Cluster):
    admin = sim.admin_client()
    admin.create("pods", pod("life"), "default")
    wait_for(admin, "pods", "life", lambda p: p.get("status", {}).get("phase") == "Running")
    running = samples(get(sim, "/metrics")[1])
    assert value(running, "kubelet_running_pods") == 1
    assert value(running, "kubelet_pod_start_sli_duration_seconds_count") == 1
    admin.delete("pods", "life", "default")
    status, text = get(sim, "/metrics")
    assert status == 200, text
    found = samples(text)
    assert value(found, "apiserver_request_total", verb="POST", resource="pods",
                 code="201", scope="namespace", component="apiserver") >= 1
    assert value(found, "apiserver_request_total", verb="POST", resource="pods",
                 subresource="binding", code="201") == 1
    assert value(found, "apiserver_request_total", verb="DELETE", resource="pods",
                 code="200", scope="resource") >= 1
    assert value(found, "apiserver_request_duration_seconds_count", verb="POST",
                 resource="pods") >= 1
    assert value(found, "scheduler_schedule_attempts_total", result="scheduled",
                 profile="default-scheduler") == 1
    assert value(found, "scheduler_scheduling_attempt_duration_seconds_count",
                 result="scheduled") == 1
    assert value(found, "scheduler_pending_pods", queue="active") == 0
    assert value(found, "workqueue_adds_total") >= 1  # the controllers following pods
    assert value(found, "workqueue_queue_duration_seconds_count") >= 1
    assert value(found, "etcd_request_duration_seconds_count", operation="commit",
                 type="pods") >= 1
    assert value(found, "apiserver_storage_objects", resource="namespaces") >= 4
    assert value(found, "apiserver_watch_events_total", kind="Pod") >= 1
    assert value(found, "kubeactor_bus_messages_total", component="apiserver",
                 direction="in") >= 1
    assert value(found, "apiserver_current_inflight_requests") >= 0
    assert sim.metrics is not None  # the same registry on --metrics-listen, plain HTTP
    with urllib.request.urlopen(sim.metrics.url, timeout=10) as answer:
        assert value(samples(answer.read().decode()), "scheduler_schedule_attempts_total",
                     result="scheduled") == 1
    base = sim.metrics.url.removesuffix("/metrics")  # and the process's health beside
    with urllib.request.urlopen(f"{base}/readyz?verbose", timeout=10) as answer:
        assert answer.read().decode().splitlines() == [
            "[+]ping ok", "[+]informer-sync ok", "[+]bus ok", "[+]store ok",
            "[+]leaderElection ok", "readyz check passed"]
    with urllib.request.urlopen(f"{base}/healthz/leaderElection", timeout=10) as answer:
        assert answer.read() == b"ok"  # the scheduler and controller manager lead, renewing


def test_metrics_are_for_whom_rbac_lets_get_the_non_resource_url(sim: Cluster):
    status, text = get(sim, "/metrics", NOBODY_TOKEN)
    assert (status, '"code":403') == (403, '"code":403') and '"reason":"Forbidden"' in text
    assert 'User \\"nobody\\" cannot get path \\"/metrics\\"' in text
    status, text = get(sim, "/metrics", MONITOR_TOKEN)  # group system:monitoring
    assert status == 200 and "apiserver_request_total" in text
    review = sim.admin_client().create("selfsubjectaccessreviews", {
        "spec": {"nonResourceAttributes": {"verb": "get", "path": "/metrics"}}})
    assert review["status"]["allowed"] is True
    assert get(sim, "/livez", NOBODY_TOKEN) == (200, "ok")  # health: anybody's


def test_readyz_turns_unready_when_the_bus_and_store_are_gone_and_ready_when_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    cluster = start(tmp_path, nodes=0, store="jetstream")
    try:
        assert get(cluster, "/readyz") == (200, "ok")
        status, text = get(cluster, "/readyz?verbose")
        assert status == 200 and text.splitlines() == [
            "[+]ping ok", "[+]informer-sync ok", "[+]bus ok", "[+]store ok",
            "[+]leaderElection ok", "readyz check passed"]
        assert get(cluster, "/readyz/store") == (200, "ok")
        assert get(cluster, "/readyz/nothing")[0] == 404
        [nats] = cluster.nats_servers
        nats.stop()
        status, text = until(lambda: (answer := get(cluster, "/readyz"))[0] == 500 and answer)
        assert "[-]bus failed: reason withheld" in text and text.endswith(
            "readyz check failed\n")
        assert until(lambda: "[-]store failed" in get(cluster, "/readyz")[1])
        assert get(cluster, "/livez") == (200, "ok")  # alive, not ready
        assert get(cluster, "/readyz?exclude=bus&exclude=store&exclude=leaderElection") == (
            200, "ok")  # (no renewals without the bus: its leaders' checks fail in time too)
        args = ["--kubeconfig", str(cluster.kubeconfig_path), "get", "--raw", "/readyz"]
        assert cli.main(args) == 1
        assert "[-]bus failed" in capsys.readouterr().err
        nats.start()
        assert until(lambda: get(cluster, "/readyz") == (200, "ok"), timeout=60)
        assert cli.main([*args[:-1], "/readyz?verbose"]) == 0
        assert capsys.readouterr().out.endswith("readyz check passed\n")
    finally:
        cluster.stop()
