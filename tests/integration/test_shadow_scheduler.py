"""A shadow scheduler on a simulated cluster (real nats-server, real store): with a heavier
NodeResourcesFit weight than the active scheduler's, it reports every pod whose node it would
have chosen otherwise (an Event naming both nodes and both score breakdowns, its counter, and
``kubeactor shadow report``), while the pods stay where the active scheduler bound them: the
shadow made no binding (one ``pods/binding`` per pod in the audit log), wrote no pod, held no
Lease. The same as processes: ``kubeactor scheduler --shadow --profile FILE`` beside
``kubeactor up``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.scheduler import ProfileConfig
from actors.scheduler.shadowing import REASON, ShadowConfig, parse
from bindings.cli.main import main
from bindings.cluster import Cluster, ClusterConfig
from tests.conftest import pod, wait_for
from tests.processes import start_joining, start_up, stop_up
from tests.support import until

pytestmark = pytest.mark.integration

PODS = 3
PREFERS_NODE_1 = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    {"weight": 100, "preference": {"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}}]}}


@pytest.fixture
def shadowed(tmp_path: Path) -> Iterator[Cluster]:
    """Two simulated nodes of 4 CPUs; no scheduler of the cluster's own (the test starts the
    active one), a shadow of the default scheduler weighing NodeResourcesFit 10."""
    cluster = Cluster.start(ClusterConfig(
        data_dir=tmp_path / "sim", nodes=2, runtime="sim", node_cpu="4",
        node_memory="8Gi", scheduler=False, shadow=ShadowConfig(
            ProfileConfig((), {"NodeResourcesFit": 10}), name="fit-heavy")))
    yield cluster
    cluster.stop()


def web(name: str) -> dict:
    obj = pod(name, cpu="100m", memory="100Mi")
    obj["spec"]["affinity"] = PREFERS_NODE_1
    return obj


def test_a_shadow_with_another_weight_reports_its_differences_and_binds_nothing(
        shadowed: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    admin = shadowed.admin_client()
    load = pod("load", cpu="3", memory="1Gi")
    load["spec"]["nodeName"] = "node-1"
    admin.create("pods", load)
    wait_for(admin, "pods", "load", lambda p: p["status"].get("phase") == "Running")
    active = shadowed.start_scheduler("default-scheduler")
    try:
        for n in range(PODS):
            admin.create("pods", web(f"web-{n}"))
        until(lambda: len(admin.list("events", "default",
                                     field_selector=f"reason={REASON}")["items"]) == PODS)
    finally:
        active.stop()
    reported = admin.list("events", "default", field_selector=f"reason={REASON}")["items"]
    for event in reported:
        said = parse(event["message"])
        assert said is not None, event["message"]
        assert (said["active"], said["shadow"]) == ("node-1", "node-2")
        assert said["active_scores"].startswith("NodeAffinity 100x2, NodeResourcesBalanced")
        assert "NodeResourcesFit" in said["shadow_scores"]
        assert event["source"]["component"] == "fit-heavy"
    assert sorted(e["involvedObject"]["name"] for e in reported) == [
        f"web-{n}" for n in range(PODS)]
    for n in range(PODS):  # where the active scheduler put them
        assert admin.get("pods", f"web-{n}")["spec"]["nodeName"] == "node-1"
    assert shadowed.instruments.registry.get_sample_value(
        "scheduler_shadow_decisions_total", {"result": "differ", "profile": "fit-heavy"}) == PODS
    audit = shadowed.config.data_dir / "audit.log"  # written in batches: wait for them
    until(lambda: _bindings(audit) == [f"web-{n}" for n in range(PODS)])
    assert _pod_writes(audit) == []
    assert [lease["metadata"]["name"] for lease in admin.list("leases", "kube-system")["items"]
            if "fit-heavy" in json.dumps(lease)] == []

    capsys.readouterr()
    assert main(["--kubeconfig", str(shadowed.kubeconfig_path), "shadow", "report"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["POD", "SHADOW", "ACTIVE", "NODE", "SHADOW", "NODE"]
    assert sorted(line.split()[:4] for line in lines[1:]) == [
        [f"web-{n}", "fit-heavy", "node-1", "node-2"] for n in range(PODS)]


def _audited(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()
            if '"ResponseComplete"' in line]


def _bindings(path: Path) -> list[str]:
    """The pods a ``pods/binding`` was created for (each once: no second binder)."""
    return sorted(e["requestURI"].split("/")[-2] for e in _audited(path)
                  if e["verb"] == "create" and e["requestURI"].endswith("/binding"))


def _pod_writes(path: Path) -> list[dict]:
    """Writes of pods (or their status) by the scheduler's identity: none."""
    return [e for e in _audited(path) if "/pods/" in e["requestURI"]
            and e["verb"] in ("update", "patch") and "scheduler" in e["user"]["username"]]


def test_a_shadow_scheduler_process_of_a_profile_file_reports_through_the_cli(
        tmp_path: Path, admin_for) -> None:
    """``kubeactor scheduler --shadow --profile FILE`` beside ``kubeactor up``'s scheduler."""
    up = start_up(tmp_path / "up", "--nodes", "2", "--runtime", "sim", "--node-cpu", "4",
                  "--node-memory", "8Gi")
    try:
        admin = admin_for(up)
        load = pod("load", cpu="3", memory="1Gi")
        load["spec"]["nodeName"] = "node-1"
        admin.create("pods", load)
        profile = tmp_path / "fit-heavy.yaml"
        profile.write_text("weights:\n  NodeResourcesFit: 10\n")
        shadow = start_joining(up, "scheduler", "--shadow", "--profile", str(profile))
        try:
            admin.create("pods", web("web"))
            rows = until(lambda: up.cli("shadow", "report").stdout.splitlines()[1:])
        finally:
            assert stop_up(shadow) == 0
        assert rows[0].split()[:4] == ["web", "shadow-scheduler", "node-1", "node-2"]
        assert admin.get("pods", "web")["spec"]["nodeName"] == "node-1"
    finally:
        assert stop_up(up) == 0
