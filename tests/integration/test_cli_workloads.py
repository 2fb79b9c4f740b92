"""kubectl's workload verbs against ``kubeactor up --runtime sim`` (real NATS, real store, no
Docker): the example manifests apply, ``get``/``describe`` show ReplicaSets and Deployments in
kubectl's shape, ``scale``, ``rollout status|history|undo|pause|resume`` and ``delete
--cascade`` behave as kubectl's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from actors.client.client import Client
from bindings.runtimes.sim import PULL_ERROR
from bus.errors import Conflict, NotFound
from tests.conftest import wait_for, wait_none_left

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).resolve().parents[2] / "examples" / "manifests"


def available(count: int):
    return lambda obj: (obj["status"].get("availableReplicas") == count
                        and obj["status"].get("replicas") == count
                        and obj["status"].get("observedGeneration")
                        == obj["metadata"]["generation"])


def test_the_example_manifests_apply_and_show_as_kubectl_shows_them(cluster, admin):
    assert cluster.cli("apply", "-f", str(MANIFESTS / "replicaset.yaml"),
                       "-f", str(MANIFESTS / "deployment.yaml")).stdout == (
        "replicaset.apps/sleepers created\ndeployment.apps/web created\n")
    wait_for(admin, "replicasets", "sleepers", available(3))
    wait_for(admin, "deployments", "web", available(3))
    rows = [line.split() for line in cluster.cli("get", "rs").stdout.splitlines()]
    assert rows[0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert ["sleepers", "3", "3", "3"] in [row[:4] for row in rows[1:]]
    web_rs = [row for row in rows[1:] if row[0].startswith("web-")]
    assert [row[1:4] for row in web_rs] == [["3", "3", "3"]]
    rows = [line.split() for line in cluster.cli("get", "deploy", "-o", "wide").stdout.splitlines()]
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES",
                       "SELECTOR"]
    assert rows[1][:4] + rows[1][5:] == ["web", "3/3", "3", "3", "web", "busybox:1.35", "app=web"]
    assert cluster.cli("get", "deployment.apps/web", "-o", "name").stdout == (
        "deployment.apps/web\n")  # as kubectl prints it
    assert cluster.cli("apply", "-f", str(MANIFESTS / "deployment.yaml")).stdout == (
        "deployment.apps/web unchanged\n")

    described = cluster.cli("describe", "deployment", "web").stdout
    assert "Replicas:       3 desired | 3 updated | 3 total | 3 available | 0 unavailable" in (
        described)
    assert "RollingUpdateStrategy:  0 max unavailable, 1 max surge" in described
    assert f"NewReplicaSet:   {web_rs[0][0]} (3/3 replicas created)" in described
    assert "ScalingReplicaSet" in described and "deployment-controller" in described
    described = cluster.cli("describe", "rs", "sleepers").stdout
    assert "Replicas:       3 current / 3 desired" in described
    assert "Pods Status:    3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    assert "SuccessfulCreate" in described


def test_scale_and_rollout_status(cluster, admin):
    cluster.cli("apply", "-f", str(MANIFESTS / "deployment.yaml"))
    wait_for(admin, "deployments", "web", available(3))
    assert cluster.cli("scale", "deployment/web", "--replicas", "4").stdout == (
        "deployment.apps/web scaled\n")
    done = cluster.cli("rollout", "status", "deployment/web", "--timeout", "60s").stdout
    assert done.splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert admin.get("deployments", "web")["status"]["availableReplicas"] == 4

    broken = admin.get("deployments", "web")
    broken["spec"]["template"]["metadata"]["annotations"] = {PULL_ERROR: "yes"}
    admin.update("deployments", broken)
    stuck = cluster.cli("rollout", "status", "deploy/web", "--timeout", "3s", check=False)
    assert stuck.returncode == 1
    assert stuck.stdout.startswith('Waiting for deployment "web" rollout to finish: ')
    assert stuck.stderr == "error: timed out waiting for the condition\n"
    assert admin.get("deployments", "web")["status"]["availableReplicas"] == 4  # maxUnavailable 0

    fixed = admin.get("deployments", "web")
    fixed["spec"]["template"]["metadata"]["annotations"] = {"fixed": "yes"}
    admin.update("deployments", fixed)
    rolled = subprocess.run(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
         "rollout", "status", "deployments", "web"], capture_output=True, text=True, timeout=120)
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert admin.get("deployments", "web")["metadata"]["annotations"][
        "deployment.kubernetes.io/revision"] == "3"

    cluster.cli("apply", "-f", str(MANIFESTS / "replicaset.yaml"))
    assert cluster.cli("scale", "rs", "sleepers", "--replicas", "2").stdout == (
        "replicaset.apps/sleepers scaled\n")
    wait_for(admin, "replicasets", "sleepers", available(2))
    missing = cluster.cli("rollout", "status", "deployment/nothing", check=False)
    assert missing.stderr == ('Error from server (NotFound): deployments.apps "nothing" not '
                              "found\n")


def test_delete_cascade_orphan_foreground_and_background(cluster, admin):
    cluster.cli("apply", "-f", str(MANIFESTS / "replicaset.yaml"))
    wait_for(admin, "replicasets", "sleepers", available(3))
    pods = {p["metadata"]["name"] for p in admin.list(
        "pods", "default", label_selector="app=sleepers")["items"]}
    orphaned = cluster.cli("delete", "rs", "sleepers", "--cascade=false")
    assert orphaned.stdout == 'replicaset.apps "sleepers" deleted\n'
    assert orphaned.stderr == ("warning: --cascade=false is deprecated (boolean value) and can "
                               "be replaced with --cascade=orphan.\n")
    for name in pods:
        wait_for(admin, "pods", name, lambda p: not p["metadata"].get("ownerReferences"))

    cluster.cli("apply", "-f", str(MANIFESTS / "replicaset.yaml"))  # adopts them again
    for name in pods:
        wait_for(admin, "pods", name, lambda p: bool(p["metadata"].get("ownerReferences")))
    assert cluster.cli("delete", "replicaset", "sleepers", "--cascade=foreground").stdout == (
        'replicaset.apps "sleepers" deleted\n')
    for name in pods:  # --wait returned after the owner went, and it went after its pods
        with pytest.raises(NotFound):
            admin.get("pods", name)

    cluster.cli("apply", "-f", str(MANIFESTS / "deployment.yaml"))
    wait_for(admin, "deployments", "web", available(3))
    assert cluster.cli("delete", "-f", str(MANIFESTS / "deployment.yaml")).stdout == (
        'deployment.apps "web" deleted\n')
    wait_none_left(admin, "replicasets", "app=web")
    wait_none_left(admin, "pods", "app=web")
    bad = cluster.cli("delete", "rs", "x", "--cascade=sometimes", check=False)
    assert bad.returncode == 2
    assert 'invalid cascade value (sometimes). Must be "background", "foreground", or "orphan"' in (
        bad.stderr)


def set_image(admin: Client, name: str, image: str, cause: str) -> None:
    """As ``kubectl set image`` with ``--record``: the new image and its change-cause."""
    for _ in range(10):
        deployment = admin.get("deployments", name)
        deployment["metadata"].setdefault("annotations", {})[
            "kubernetes.io/change-cause"] = cause
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = image
        try:
            admin.update("deployments", deployment)
            return
        except Conflict:
            continue
    raise AssertionError(f"deployment {name} kept changing")


def images(admin: Client, app: str) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in admin.list(
        "pods", "default", label_selector=f"app={app}")["items"]
        if not p["metadata"].get("deletionTimestamp")}


def test_rollout_history_undo_pause_and_resume(cluster, admin):
    admin.create("deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "hist", "annotations": {"kubernetes.io/change-cause": "first"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "hist"}},
                 "template": {"metadata": {"labels": {"app": "hist"}}, "spec": {"containers": [
                     {"name": "main", "image": "busybox:1.35", "command": ["sleep", "3600"]}]}}}})
    wait_for(admin, "deployments", "hist", available(2))
    set_image(admin, "hist", "busybox:1.36", "to 1.36")
    cluster.cli("rollout", "status", "deployment/hist", "--timeout", "60s")
    assert cluster.cli("rollout", "history", "deployment/hist").stdout == (
        "deployment.apps/hist\nREVISION  CHANGE-CAUSE\n1         first\n2         to 1.36\n\n")
    first = cluster.cli("rollout", "history", "deploy/hist", "--revision", "1").stdout
    assert first.startswith("deployment.apps/hist with revision #1\nPod Template:\n")
    assert "Image:        busybox:1.35" in first

    assert cluster.cli("rollout", "undo", "deployment/hist").stdout == (
        "deployment.apps/hist rolled back\n")
    cluster.cli("rollout", "status", "deployment/hist", "--timeout", "60s")
    back = admin.get("deployments", "hist")
    assert back["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert back["metadata"]["annotations"]["kubernetes.io/change-cause"] == "first"
    assert images(admin, "hist") == {"busybox:1.35"}
    assert cluster.cli("rollout", "history", "deployment/hist").stdout == (
        "deployment.apps/hist\nREVISION  CHANGE-CAUSE\n2         to 1.36\n3         first\n\n")
    assert cluster.cli("rollout", "undo", "deployment/hist", "--to-revision", "3").stdout == (
        "deployment.apps/hist skipped rollback (current template already matches revision 3)\n")
    missing = cluster.cli("rollout", "undo", "deployment/hist", "--to-revision", "9", check=False)
    assert (missing.returncode, missing.stderr) == (
        1, "error: unable to find specified revision 9 in history\n")

    assert cluster.cli("rollout", "pause", "deployment/hist").stdout == (
        "deployment.apps/hist paused\n")
    again = cluster.cli("rollout", "pause", "deployment/hist", check=False)
    assert (again.returncode, again.stderr) == (
        1, 'error: deployments.apps "hist" is already paused\n')
    refused = cluster.cli("rollout", "undo", "deployment/hist", check=False)
    assert refused.returncode == 1 and "cannot rollback a paused deployment" in refused.stderr
    set_image(admin, "hist", "busybox:1.37", "to 1.37")  # waits while paused
    wait_for(admin, "deployments", "hist", lambda d: d["status"].get(
        "observedGeneration") == d["metadata"]["generation"])
    assert images(admin, "hist") == {"busybox:1.35"}
    assert cluster.cli("rollout", "resume", "deployment/hist").stdout == (
        "deployment.apps/hist resumed\n")
    cluster.cli("rollout", "status", "deployment/hist", "--timeout", "60s")
    assert images(admin, "hist") == {"busybox:1.37"}
    unsupported = cluster.cli("rollout", "undo", "rs/anything", check=False)
    assert unsupported.stderr == "error: no rollbacker has been implemented for ReplicaSet\n"
