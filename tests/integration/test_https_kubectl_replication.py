"""ReplicationControllers through real kubectl against ``kubeactor up --runtime sim``: the
Kubernetes documentation's ``controllers/replication.yaml`` applies and runs its three pods,
``get rc`` shows kubectl's columns, ``scale rc`` and ``describe rc`` work (kubeactor's too),
and the garbage collector follows ``delete --cascade`` on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

MANIFEST = Path(__file__).resolve().parents[2] / "examples" / "manifests" / "replication.yaml"


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait(cluster, what: str, condition: str) -> None:
    ok(cluster.kubectl("wait", what, f"--for={condition}", "--timeout=60s"))


def pods(cluster, selector: str) -> list[dict]:
    listed = ok(cluster.kubectl("get", "pods", "-l", selector, "-o", "json"))
    return json.loads(listed)["items"]


def test_the_docs_replication_controller_runs_scales_and_describes_with_kubectl(cluster):
    assert ok(cluster.kubectl("apply", "-f", str(MANIFEST))) == (
        "replicationcontroller/nginx created\n")
    wait(cluster, "rc/nginx", "jsonpath={.status.readyReplicas}=3")
    rows = [line.split() for line in ok(cluster.kubectl("get", "rc")).splitlines()]
    assert rows[0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert rows[1][:4] == ["nginx", "3", "3", "3"]
    wide = ok(cluster.kubectl("get", "rc", "nginx", "-o", "wide")).splitlines()
    assert wide[1].split()[5:] == ["nginx", "nginx", "app=nginx"]
    owners = {ref["kind"] for pod in pods(cluster, "app=nginx")
              for ref in pod["metadata"]["ownerReferences"]}
    assert owners == {"ReplicationController"}

    assert ok(cluster.kubectl("scale", "rc", "nginx", "--replicas=5")) == (
        "replicationcontroller/nginx scaled\n")
    wait(cluster, "rc/nginx", "jsonpath={.status.readyReplicas}=5")
    scale = json.loads(ok(cluster.kubectl(
        "get", "--raw", "/api/v1/namespaces/default/replicationcontrollers/nginx/scale")))
    assert scale["status"] == {"replicas": 5, "selector": "app=nginx"}
    described = ok(cluster.kubectl("describe", "rc", "nginx"))
    assert "Replicas:     5 current / 5 desired" in described, described
    assert "Selector:     app=nginx" in described
    ours = ok(cluster.cli("describe", "rc", "nginx"))
    assert "Replicas:       5 current / 5 desired" in ours
    assert "Selector:       app=nginx" in ours


def test_delete_cascade_orphans_or_removes_a_replication_controllers_pods(cluster):
    ok(cluster.kubectl("apply", "-f", str(MANIFEST)))
    wait(cluster, "rc/nginx", "jsonpath={.status.readyReplicas}=3")  # from 5 if scaled before
    assert ok(cluster.cli("scale", "rc", "nginx", "--replicas", "2")) == (  # kubeactor's
        "replicationcontroller/nginx scaled\n")
    wait(cluster, "rc/nginx", "jsonpath={.status.replicas}=2")
    kept = {pod["metadata"]["name"] for pod in pods(cluster, "app=nginx")
            if not pod["metadata"].get("deletionTimestamp")}
    assert ok(cluster.kubectl("delete", "rc", "nginx", "--cascade=orphan")) == (
        'replicationcontroller "nginx" deleted from default namespace\n')
    wait(cluster, "rc/nginx", "delete")
    orphans = [pod for pod in pods(cluster, "app=nginx")
               if pod["metadata"]["name"] in kept]
    assert len(orphans) == 2
    assert all(not pod["metadata"].get("ownerReferences") for pod in orphans)

    ok(cluster.kubectl("apply", "-f", str(MANIFEST)))  # adopts the two, makes a third
    wait(cluster, "rc/nginx", "jsonpath={.status.readyReplicas}=3")
    adopted = {pod["metadata"]["name"] for pod in pods(cluster, "app=nginx")}
    assert kept <= adopted
    ok(cluster.kubectl("delete", "rc", "nginx", "--cascade=foreground", "--wait=true"))
    for name in adopted:
        wait(cluster, f"pod/{name}", "delete")
