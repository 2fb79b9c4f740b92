"""Simulated kubelets record the Events real ones do, aggregated as client-go aggregates them,
so ``describe pod`` explains a restart under ``kubeactor up --runtime sim`` (real NATS, no
Docker)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import yaml

from tests.processes import UpProcess, start_up, stop_up
from tests.support import until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[UpProcess]:
    up = start_up(tmp_path_factory.mktemp("up"), "--runtime", "sim",
                  "--restart-backoff-base", "0.5")
    yield up
    stop_up(up)


def pod(name: str, annotations: dict[str, str], **container: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.35", **container}]}}


def events_of(cluster: UpProcess, name: str) -> dict[str, dict[str, object]]:
    """The pod's Events by reason (the last one of each)."""
    listed = json.loads(cluster.cli("get", "events", "-o", "json").stdout)["items"]
    return {e["reason"]: e for e in listed if e["involvedObject"]["name"] == name}


def applied(cluster: UpProcess, tmp_path, manifest: dict[str, object]) -> None:
    path = tmp_path / f"{manifest['metadata']['name']}.yaml"  # type: ignore[index]
    path.write_text(yaml.safe_dump(manifest))
    cluster.cli("apply", "-f", str(path))


def test_describe_explains_a_crash_loop_with_counted_events(cluster: UpProcess, tmp_path):
    applied(cluster, tmp_path, pod("crash", {"sim.kubeactor.io/run-seconds": "0.2",
                                             "sim.kubeactor.io/exit-code": "1"}))
    seen = until(lambda: (e := events_of(cluster, "crash")).get("BackOff", {}).get(
        "count", 0) >= 2 and e, failure="no BackOff seen twice")
    assert {"Scheduled", "Pulled", "Created", "Started", "BackOff"} <= set(seen)
    assert seen["Scheduled"]["source"] == {"component": "default-scheduler"}
    assert seen["Started"]["source"] == {"component": "kubelet", "host": "node-1"}
    assert seen["Started"]["count"] >= 3  # one Event per reason and message, counted
    assert seen["Pulled"]["message"] == \
        'Container image "busybox:1.35" already present on machine'

    described = cluster.cli("describe", "pod", "crash").stdout
    assert re.search(r"Last State:\s+Terminated", described)
    backoff = next(line for line in described.splitlines()
                   if line.split()[:2] == ["Warning", "BackOff"])
    assert re.search(r"\(x\d+ over \d+s\)\s+kubelet\s+Back-off restarting failed container c "
                     r"in pod crash_default", backoff), backoff
    cluster.cli("delete", "pod", "crash", "--grace-period", "0")


def test_a_failing_liveness_probe_is_unhealthy_then_killed(cluster: UpProcess, tmp_path):
    probe = {"exec": {"command": ["sh", "-c", "exit 1"]}, "periodSeconds": 1,
             "failureThreshold": 1}
    applied(cluster, tmp_path, pod("sick", {}, livenessProbe=probe))
    seen = until(lambda: (e := events_of(cluster, "sick")).keys() >= {"Unhealthy", "Killing"}
                 and e, failure="no Unhealthy and Killing Events")
    assert seen["Unhealthy"]["type"] == "Warning"
    assert seen["Unhealthy"]["message"].startswith("Liveness probe failed")
    assert seen["Killing"]["message"] == \
        "Container c failed liveness probe, will be restarted"
    described = cluster.cli("describe", "pod", "sick").stdout
    assert "Unhealthy" in described and "failed liveness probe" in described
    cluster.cli("delete", "pod", "sick", "--grace-period", "0")
