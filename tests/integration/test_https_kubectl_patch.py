"""Real kubectl's writes that PATCH, against ``kubeactor up --runtime sim``: ``apply -f``
(client-side: created, unchanged, configured, a three-way merge keeping what others set),
``label``, ``annotate``, ``patch`` (json, merge, strategic), ``scale``, ``set image``, ``edit``
(with ``EDITOR``), ``rollout restart``, ``cordon``/``uncordon``, with kubectl's own words and
exit codes; a patch that cannot apply changes nothing. The manifests are the Kubernetes docs'
(tests/integration/manifests). And the official client's ``patch_namespaced_*``."""

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
    """The object as ``kubectl get -o json`` shows it."""
    got = cluster.kubectl("get", *what, "-o", "json")
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def created(cluster: UpProcess, tmp_path: Path, name: str) -> None:
    """The docs' Deployment and ConfigMap, both named ``name``, created."""
    for manifest in ("nginx-deployment.yaml", "game-demo.yaml"):
        text = (MANIFESTS / manifest).read_text()
        text = text.replace("name: nginx-deployment", f"name: {name}").replace(
            "name: game-demo", f"name: {name}")
        made = cluster.kubectl("create", "-f", "-", stdin=text)
        assert made.returncode == 0, made.stderr


def revision(cluster: UpProcess) -> str:
    return str(shown(cluster, "configmaps")["metadata"]["resourceVersion"])


def test_apply_creates_then_is_unchanged_then_configures_by_a_three_way_merge(cluster,
                                                                             tmp_path):
    deployment, configmap = tmp_path / "nginx-deployment.yaml", tmp_path / "game-demo.yaml"
    deployment.write_text((MANIFESTS / "nginx-deployment.yaml").read_text())
    configmap.write_text((MANIFESTS / "game-demo.yaml").read_text())
    files = ("-f", str(deployment), "-f", str(configmap))
    first = cluster.kubectl("apply", *files)
    assert (first.returncode, first.stdout) == (0, "deployment.apps/nginx-deployment created\n"
                                                   "configmap/game-demo created\n"), first.stderr
    again = cluster.kubectl("apply", *files)
    assert (again.returncode, again.stdout) == (
        0, "deployment.apps/nginx-deployment unchanged\nconfigmap/game-demo unchanged\n")
    assert cluster.kubectl("label", "configmap", "game-demo", "owner=ops").returncode == 0
    deployment.write_text(deployment.read_text().replace("nginx:1.14.2", "nginx:1.16.1"))
    configmap.write_text(configmap.read_text().replace(
        '  ui_properties_file_name: "user-interface.properties"\n', ""))
    changed = cluster.kubectl("apply", *files)
    assert (changed.returncode, changed.stdout) == (
        0, "deployment.apps/nginx-deployment configured\nconfigmap/game-demo configured\n")
    live = shown(cluster, "deployment", "nginx-deployment")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.1"
    assert live["metadata"]["generation"] == 2
    game = shown(cluster, "configmap", "game-demo")
    assert "ui_properties_file_name" not in game["data"]  # the manifest dropped it
    assert game["data"]["player_initial_lives"] == "3"
    assert game["metadata"]["labels"] == {"owner": "ops"}  # another's: kept
    cluster.kubectl("delete", *files, "--wait=false")


def test_label_and_annotate_refuse_to_overwrite_unless_told(cluster, tmp_path):
    created(cluster, tmp_path, "labelled")
    labelled = cluster.kubectl("label", "deployment", "labelled", "tier=frontend")
    assert (labelled.returncode, labelled.stdout) == (0, "deployment.apps/labelled labeled\n")
    refused = cluster.kubectl("label", "deployment", "labelled", "tier=backend")
    assert (refused.returncode, refused.stderr) == (
        1, "error: 'tier' already has a value (frontend), and --overwrite is false\n")
    assert cluster.kubectl("label", "deployment", "labelled", "tier=backend",
                           "--overwrite").returncode == 0
    assert cluster.kubectl("label", "deployment", "labelled", "app-").returncode == 0
    assert shown(cluster, "deployment", "labelled")["metadata"]["labels"] == {"tier": "backend"}
    noted = cluster.kubectl("annotate", "configmap", "labelled", "owner=team-a")
    assert (noted.returncode, noted.stdout) == (0, "configmap/labelled annotated\n")
    assert shown(cluster, "configmap", "labelled")["metadata"]["annotations"]["owner"] == "team-a"


def test_patch_of_each_type_and_a_patch_that_changes_nothing(cluster, tmp_path):
    created(cluster, tmp_path, "patched")
    merge = cluster.kubectl("patch", "configmap", "patched", "--type", "merge",
                            "-p", '{"data": {"player_initial_lives": "5"}}')
    assert (merge.returncode, merge.stdout) == (0, "configmap/patched patched\n")
    removed = cluster.kubectl("patch", "configmap", "patched", "--type", "json", "-p",
                              '[{"op": "remove", "path": "/data/ui_properties_file_name"}]')
    assert removed.returncode == 0, removed.stderr
    sidecar = cluster.kubectl("patch", "deployment", "patched", "-p", json.dumps(
        {"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "busybox:1.35"}]}}}}))  # strategic: by name
    assert (sidecar.returncode, sidecar.stdout) == (0, "deployment.apps/patched patched\n")
    data = shown(cluster, "configmap", "patched")["data"]
    assert data["player_initial_lives"] == "5" and "ui_properties_file_name" not in data
    containers = shown(cluster, "deployment", "patched")["spec"]["template"]["spec"][
        "containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("nginx", "nginx:1.14.2"), ("sidecar", "busybox:1.35")]
    same = cluster.kubectl("patch", "configmap", "patched", "--type", "merge",
                           "-p", '{"data": {"player_initial_lives": "5"}}')
    assert (same.returncode, same.stdout) == (0, "configmap/patched patched (no change)\n")


@pytest.mark.parametrize(("patch_type", "patch", "stderr"), [
    ("json", '[{"op": "test", "path": "/data/player_initial_lives", "value": "9"}]',
     "Error from server (BadRequest): JSON patch operation 0 (test): "),
    ("merge", '{"data": {"player_initial_lives": 3}}',  # the patched object, then Go's words
     'The request is invalid: patch: Invalid value: "{\\"apiVersion\\":\\"v1\\",'),
    ("strategic", '{"metadata": {"ownerReferences": [{"kind": "x"}]}}',
     "Error from server (BadRequest): metadata.ownerReferences: "),
])
def test_a_patch_that_cannot_apply_fails_with_kubectls_words_and_changes_nothing(
        cluster, tmp_path, patch_type, patch, stderr):
    if shown(cluster, "configmaps", "-l", "broken=yes")["items"] == []:
        created(cluster, tmp_path, "broken")
        assert cluster.kubectl("label", "configmap", "broken", "broken=yes").returncode == 0
    before = revision(cluster)
    failed = cluster.kubectl("patch", "configmap", "broken", "--type", patch_type, "-p", patch)
    assert failed.returncode == 1
    assert failed.stderr.startswith(stderr), failed.stderr
    assert patch_type != "merge" or failed.stderr.endswith(
        ": json: cannot unmarshal number into Go struct field ConfigMap.data of type string\n")
    assert revision(cluster) == before


def test_scale_set_image_and_rollout_restart(cluster, tmp_path):
    created(cluster, tmp_path, "rolled")
    scaled = cluster.kubectl("scale", "deployment", "rolled", "--replicas=5")
    assert (scaled.returncode, scaled.stdout) == (0, "deployment.apps/rolled scaled\n")
    imaged = cluster.kubectl("set", "image", "deployment/rolled", "nginx=nginx:1.16.1")
    assert (imaged.returncode, imaged.stdout) == (0, "deployment.apps/rolled image updated\n")
    restarted = cluster.kubectl("rollout", "restart", "deployment/rolled")
    assert (restarted.returncode, restarted.stdout) == (0, "deployment.apps/rolled restarted\n")
    live = shown(cluster, "deployment", "rolled")
    template = live["spec"]["template"]
    assert live["spec"]["replicas"] == 5
    assert template["spec"]["containers"][0]["image"] == "nginx:1.16.1"
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]


def test_edit_with_an_editor_changes_what_it_changed(cluster, tmp_path):
    created(cluster, tmp_path, "edited")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i "
                      "'s/player_initial_lives: \"3\"/player_initial_lives: \"7\"/' \"$1\"\n")
    editor.chmod(0o755)
    edited = cluster.kubectl("edit", "configmap", "edited", env={"EDITOR": str(editor)})
    assert (edited.returncode, edited.stdout) == (0, "configmap/edited edited\n"), edited.stderr
    assert shown(cluster, "configmap", "edited")["data"]["player_initial_lives"] == "7"
    untouched = cluster.kubectl("edit", "configmap", "edited", env={"EDITOR": "true"})
    assert (untouched.returncode, untouched.stderr) == (0, "Edit cancelled, no changes made.\n")


def test_cordon_and_uncordon_a_node(cluster):
    cordoned = cluster.kubectl("cordon", "node-2")
    assert (cordoned.returncode, cordoned.stdout) == (0, "node/node-2 cordoned\n")
    assert shown(cluster, "node", "node-2")["spec"]["unschedulable"] is True
    uncordoned = cluster.kubectl("uncordon", "node-2")
    assert (uncordoned.returncode, uncordoned.stdout) == (0, "node/node-2 uncordoned\n")
    assert "unschedulable" not in shown(cluster, "node", "node-2")["spec"]


@pytest.fixture
def api(cluster: UpProcess, kube_api) -> k8s.ApiClient:
    return kube_api(cluster.kubeconfig)


def test_the_official_client_patches_with_each_type_and_scales(cluster, api, tmp_path):
    created(cluster, tmp_path, "from-python")
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    merged = core.patch_namespaced_config_map(
        "from-python", "default", {"data": {"player_initial_lives": "4"}},
        _content_type="application/merge-patch+json")
    assert merged.data["player_initial_lives"] == "4"
    listed = core.patch_namespaced_config_map(  # a list: its default type, a JSON patch
        "from-python", "default", [{"op": "add", "path": "/data/extra", "value": "1"}])
    assert listed.data["extra"] == "1"
    strategic = apps.patch_namespaced_deployment(
        "from-python", "default", {"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.25"}]}}}},
        _content_type="application/strategic-merge-patch+json")
    assert strategic.spec.template.spec.containers[0].image == "nginx:1.25"
    scale = apps.patch_namespaced_deployment_scale(
        "from-python", "default", {"spec": {"replicas": 1}},
        _content_type="application/merge-patch+json")
    assert scale.spec.replicas == 1
    assert apps.read_namespaced_deployment("from-python", "default").spec.replicas == 1
