"""Server-side apply with real kubectl and the official client, against ``kubeactor up
--runtime sim``: ``apply --server-side`` of the Kubernetes docs' manifests (created, then
unchanged, then changed), ``scale`` then ``apply --server-side`` (kubectl prints the conflict),
``--force-conflicts``, an apply that creates needs ``create``, the upgrade from client-side
apply, the managers kubectl's other writes are recorded under, and
``patch_namespaced_config_map`` with ``application/apply-patch+yaml``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.processes import UpProcess

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).resolve().parent / "manifests"


def shown(cluster: UpProcess, *what: str) -> Any:
    """The object as ``kubectl get -o json --show-managed-fields`` shows it."""
    got = cluster.kubectl("get", *what, "-o", "json", "--show-managed-fields")
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def managers(obj: Any) -> dict[str, str]:
    return {e["manager"]: e["operation"] for e in obj["metadata"]["managedFields"]}


def manifest(tmp_path: Path, name: str, renamed: str) -> Path:
    """A copy of the docs' manifest ``name``, its object named ``renamed``."""
    text = (MANIFESTS / name).read_text()
    for original in ("nginx-deployment", "game-demo"):
        text = text.replace(f"name: {original}", f"name: {renamed}")
    path = tmp_path / name
    path.write_text(text)
    return path


def test_apply_server_side_creates_then_is_unchanged_then_changes(cluster, tmp_path):
    deployment = manifest(tmp_path, "nginx-deployment.yaml", "ssa")
    configmap = manifest(tmp_path, "game-demo.yaml", "ssa")
    files = ("--server-side", "-f", str(deployment), "-f", str(configmap))
    first = cluster.kubectl("apply", *files)
    applied = "deployment.apps/ssa serverside-applied\nconfigmap/ssa serverside-applied\n"
    assert (first.returncode, first.stdout) == (0, applied), first.stderr
    created = shown(cluster, "configmap", "ssa")
    assert managers(created) == {"kubectl": "Apply"}
    assert managers(shown(cluster, "deployment", "ssa"))["kubectl"] == "Apply"
    assert "managedFields" not in json.loads(cluster.kubectl(
        "get", "configmap", "ssa", "-o", "json").stdout)["metadata"]  # kubectl hides them
    again = cluster.kubectl("apply", *files)
    assert (again.returncode, again.stdout) == (0, applied)
    assert shown(cluster, "configmap", "ssa") == created  # nothing written
    deployment.write_text(deployment.read_text().replace("nginx:1.14.2", "nginx:1.16.1"))
    changed = cluster.kubectl("apply", *files)
    assert changed.returncode == 0, changed.stderr
    live = shown(cluster, "deployment", "ssa")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.1"
    assert live["metadata"]["generation"] == 2


def test_scale_then_apply_server_side_is_a_conflict_that_force_conflicts_wins(cluster,
                                                                            tmp_path):
    files = ("--server-side", "-f", str(manifest(tmp_path, "nginx-deployment.yaml", "taken")))
    assert cluster.kubectl("apply", *files).returncode == 0
    scaled = cluster.kubectl("scale", "deployment", "taken", "--replicas=5")
    assert scaled.returncode == 0, scaled.stderr
    scaler = [e for e in shown(cluster, "deployment", "taken")["metadata"]["managedFields"]
              if e.get("subresource") == "scale"]  # kubectl 1.37 scales as "kubectl"
    assert [(e["manager"], e["operation"]) for e in scaler] == [("kubectl", "Update")]
    refused = cluster.kubectl("apply", *files)
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl" with subresource '
        '"scale" using apps/v1: .spec.replicas\n'), refused.stderr
    assert "--force-conflicts" in refused.stderr  # kubectl's advice
    assert shown(cluster, "deployment", "taken")["spec"]["replicas"] == 5
    forced = cluster.kubectl("apply", "--force-conflicts", *files)
    assert forced.returncode == 0, forced.stderr
    live = shown(cluster, "deployment", "taken")
    assert live["spec"]["replicas"] == 3
    assert not [e for e in live["metadata"]["managedFields"] if e.get("subresource") == "scale"]


def test_an_apply_that_creates_needs_create_as_well_as_patch(cluster, tmp_path):
    rbac, name = "rbac.authorization.k8s.io", {"name": "cm-patcher", "namespace": "default"}
    role = {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": name,
            "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                       "verbs": ["get", "patch"]}]}
    binding = {"apiVersion": f"{rbac}/v1", "kind": "RoleBinding", "metadata": name,
               "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "cm-patcher"},
               "subjects": [{"kind": "User", "name": "patcher"}]}
    for obj in (role, binding):
        made = cluster.kubectl("create", "-f", "-", stdin=json.dumps(obj))
        assert made.returncode == 0, made.stderr
    configmap = manifest(tmp_path, "game-demo.yaml", "not-yet")
    refused = cluster.kubectl("--as=patcher", "apply", "--server-side", "-f", str(configmap))
    assert refused.returncode == 1
    assert 'User "patcher" cannot create resource "configmaps"' in refused.stderr
    assert cluster.kubectl("get", "configmap", "not-yet").returncode == 1


def test_kubectls_other_writes_are_recorded_under_their_own_managers(cluster, tmp_path):
    configmap = manifest(tmp_path, "game-demo.yaml", "written")
    assert cluster.kubectl("apply", "-f", str(configmap)).returncode == 0
    assert cluster.kubectl("label", "configmap", "written", "tier=x").returncode == 0
    assert managers(shown(cluster, "configmap", "written")) == {
        "kubectl-client-side-apply": "Update", "kubectl-label": "Update"}


def test_apply_server_side_upgrades_what_kubectl_applied_client_side(cluster, tmp_path):
    deployment = manifest(tmp_path, "nginx-deployment.yaml", "upgraded")
    assert cluster.kubectl("apply", "-f", str(deployment)).returncode == 0
    deployment.write_text(deployment.read_text().replace("nginx:1.14.2", "nginx:1.16.1"))
    upgraded = cluster.kubectl("apply", "--server-side", "-f", str(deployment))
    assert (upgraded.returncode, upgraded.stdout) == (
        0, "deployment.apps/upgraded serverside-applied\n"), upgraded.stderr
    live = shown(cluster, "deployment", "upgraded")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.1"
    assert managers(live)["kubectl"] == "Apply"
    last = json.loads(live["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"])  # kept in step, as kube's
    assert last["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.1"
    back = cluster.kubectl("apply", "-f", str(deployment))  # client-side again: no change
    assert back.returncode == 0, back.stderr
    assert shown(cluster, "deployment", "upgraded")["metadata"]["generation"] == 2


@pytest.fixture
def api(cluster: UpProcess, kube_api) -> k8s.ApiClient:
    return kube_api(cluster.kubeconfig)


def test_the_official_client_applies_with_its_field_manager(api):
    core = k8s.CoreV1Api(api)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-applied"},
            "data": {"mode": "fast"}}
    applied = core.patch_namespaced_config_map(
        "py-applied", "default", body, field_manager="py",
        _content_type="application/apply-patch+yaml")
    assert applied.data == {"mode": "fast"}
    assert [(m.manager, m.operation) for m in applied.metadata.managed_fields] == [
        ("py", "Apply")]
    with pytest.raises(k8s.ApiException) as conflict:
        core.patch_namespaced_config_map(
            "py-applied", "default", {**body, "data": {"mode": "slow"}}, field_manager="other",
            _content_type="application/apply-patch+yaml")
    assert conflict.value.status == 409
    assert json.loads(conflict.value.body)["details"]["causes"] == [{
        "type": "FieldManagerConflict", "message": 'conflict with "py"',
        "field": ".data.mode"}]
