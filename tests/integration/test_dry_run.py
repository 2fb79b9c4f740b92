"""``dryRun: ["All"]`` (an in-process control plane, nothing but the test writing): on the bus,
and over HTTP from real kubectl's ``--dry-run=server`` for create, apply, patch, scale and
delete, and the official client's ``dry_run="All"`` for create, replace, patch, delete and
deletecollection; each is answered with the object as it would be stored, what would fail
fails alike, quotas are checked but not charged, while the store's revision stays where it was
(read from outside, over HTTP) and the audit log's ``requestURI`` says ``dryRun=All``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from actors.admission_actor import Review, Verdict, allow, deny
from bindings.cluster import Cluster
from bus.errors import ApiError
from tests import auditlog
from tests.integration.test_security import Scripted
from tests.processes import KUBECTL
from tests.support import until

pytestmark = pytest.mark.integration

CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "real", "namespace": "default"}, "data": {"a": "1"}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "default"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c",
                                                             "image": "busybox:1.35"}]}}}}


@pytest.fixture
def with_controllers() -> bool:
    return False


@pytest.fixture
def kubectl(control_plane: Cluster) -> Any:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([KUBECTL, "--kubeconfig", str(control_plane.kubeconfig_path),
                               *args], input=stdin, capture_output=True, text=True, timeout=60)
    return run


@pytest.fixture
def core(control_plane: Cluster, kube_api) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(kube_api(control_plane.kubeconfig_path))


def _revision(kubectl: Any) -> str:
    """The store's revision, as a list over HTTP answers it (``get -o json`` would print a
    List of kubectl's own, without one)."""
    listed = kubectl("get", "--raw", "/api/v1/namespaces/default/configmaps")
    assert listed.returncode == 0, listed.stderr
    revision = str(json.loads(listed.stdout)["metadata"]["resourceVersion"])
    assert revision.isdigit()
    return revision


def _dry_audited(control_plane: Cluster, count: int) -> list[dict[str, Any]]:
    path = Path(control_plane.config.data_dir, "audit.log")

    def found() -> list[dict[str, Any]] | None:
        dry = [r for r in auditlog.events(path) if r["requestURI"].endswith("?dryRun=All")]
        return dry if len(dry) >= count else None
    return until(found, timeout=10)


def test_kubectl_dry_run_server_answers_as_stored_and_writes_nothing(kubectl, control_plane):
    for obj in (CONFIGMAP, DEPLOYMENT):
        assert kubectl("create", "-f", "-", stdin=json.dumps(obj)).returncode == 0
    before = _revision(kubectl)
    other = {**CONFIGMAP, "metadata": {"name": "dry", "namespace": "default"}}
    created = kubectl("create", "-f", "-", "--dry-run=server", "-o", "json",
                      stdin=json.dumps(other))
    assert created.returncode == 0, created.stderr
    shown = json.loads(created.stdout)
    assert shown["metadata"]["name"] == "dry" and shown["metadata"]["uid"]
    assert "resourceVersion" not in shown["metadata"]
    changed = {**CONFIGMAP, "data": {"a": "2"}}
    applied = kubectl("apply", "-f", "-", "--dry-run=server", stdin=json.dumps(changed))
    assert (applied.returncode, applied.stdout) == (
        0, "configmap/real configured (server dry run)\n"), applied.stderr
    patched = kubectl("patch", "configmap", "real", "--dry-run=server", "--type", "merge",
                      "-p", '{"data": {"a": "3"}}', "-o", "json")
    assert patched.returncode == 0 and json.loads(patched.stdout)["data"] == {"a": "3"}
    scaled = kubectl("scale", "deployment", "web", "--replicas=5", "--dry-run=server")
    assert (scaled.returncode, scaled.stdout) == (
        0, "deployment.apps/web scaled (server dry run)\n"), scaled.stderr
    deleted = kubectl("delete", "configmap", "real", "--dry-run=server")
    assert (deleted.returncode, deleted.stdout) == (
        0, 'configmap "real" deleted from default namespace (server dry run)\n'), deleted.stderr
    assert _revision(kubectl) == before
    assert kubectl("get", "configmap", "dry").returncode == 1
    real = json.loads(kubectl("get", "configmap", "real", "-o", "json").stdout)
    assert real["data"] == {"a": "1"}
    web = json.loads(kubectl("get", "deployment", "web", "-o", "json").stdout)
    assert web["spec"]["replicas"] == 1
    verbs = {(r["verb"], r["objectRef"]["resource"]) for r in _dry_audited(control_plane, 5)}
    assert {("create", "configmaps"), ("patch", "configmaps"), ("delete", "configmaps"),
            ("patch", "deployments")} <= verbs


def test_the_official_client_dry_runs_every_write(core, kubectl, control_plane):
    stored = core.create_namespaced_config_map("default", CONFIGMAP).metadata.resource_version
    before = _revision(kubectl)
    made = core.create_namespaced_config_map(
        "default", {**CONFIGMAP, "metadata": {"name": "dry"}}, dry_run="All")
    assert made.metadata.name == "dry" and made.metadata.resource_version is None
    replaced = core.replace_namespaced_config_map("real", "default",
                                                  {**CONFIGMAP, "data": {"a": "9"}},
                                                  dry_run="All")
    assert replaced.data == {"a": "9"} and replaced.metadata.resource_version == stored
    patched = core.patch_namespaced_config_map("real", "default", {"data": {"b": "2"}},
                                               dry_run="All")
    assert patched.data == {"a": "1", "b": "2"}
    core.delete_namespaced_config_map("real", "default", dry_run="All")
    core.delete_collection_namespaced_config_map("default", dry_run="All")
    assert _revision(kubectl) == before
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items] == [
        "real"]
    assert core.read_namespaced_config_map("real", "default").data == {"a": "1"}


def _code(call: Any, *args: Any, **kwargs: Any) -> int:
    """The HTTP code ``call`` is answered with. The client's ApiException is not kept: held
    (``pytest.raises``), its traceback keeps the client's connection open past the test."""
    try:
        call(*args, **kwargs)
    except k8s.ApiException as error:
        return int(error.status)
    return 200


def test_a_dry_run_of_what_would_fail_fails_as_the_real_one_would(core, kubectl):
    core.create_namespaced_config_map("default", CONFIGMAP)
    before = _revision(kubectl)
    assert _code(core.create_namespaced_config_map, "default", CONFIGMAP, dry_run="All") == 409
    assert _code(core.delete_namespaced_config_map, "none", "default", dry_run="All") == 404
    assert _code(core.create_namespaced_config_map, "default", CONFIGMAP,
                 dry_run="Some") == 400
    assert _revision(kubectl) == before


def test_on_the_bus_a_dry_run_is_checked_against_quotas_and_charges_nothing(
        control_plane: Cluster, kubectl):
    admin = control_plane.admin_client()
    admin.create("resourcequotas", {"apiVersion": "v1", "kind": "ResourceQuota",
                                    "metadata": {"name": "q"},
                                    "spec": {"hard": {"count/configmaps": "1"}}})
    before = _revision(kubectl)
    dry = {"dryRun": ["All"]}
    for _ in range(2):  # the second would be past the quota, had the first been charged
        made = admin.request("create", "configmaps", namespace="default", name="real",
                             body=CONFIGMAP, options=dry)
        assert made["metadata"]["uid"] and "resourceVersion" not in made["metadata"]
    assert _revision(kubectl) == before
    assert admin.get("resourcequotas", "q", "default")["status"]["used"] == {
        "count/configmaps": "0"}
    admin.create("configmaps", CONFIGMAP)
    with pytest.raises(ApiError) as refused:
        admin.request("create", "configmaps", namespace="default", name="other",
                      body={**CONFIGMAP, "metadata": {"name": "other"}}, options=dry)
    assert refused.value.code == 403 and "exceeded quota: q" in refused.value.message


def test_an_external_admission_actor_sees_the_dry_run_and_may_refuse_it(
        control_plane: Cluster, connect, kubectl):
    admin = control_plane.admin_client()
    seen: list[Review] = []

    def dry_runs_refused(review: Review) -> Verdict:
        seen.append(review)
        return deny("no dry runs here", 400) if review.dry_run else allow()

    actor = Scripted.start(connect(control_plane.bus(), "admission-dry"), "dry",
                           dry_runs_refused)
    try:
        admin.create("admissionregistrations", {"metadata": {"name": "dry"}, "spec": {
            "subject": "dry", "operations": ["CREATE"], "resources": ["configmaps"]}}, None)
        before = _revision(kubectl)
        refused = kubectl("create", "-f", "-", "--dry-run=server", stdin=json.dumps(CONFIGMAP))
        assert refused.returncode == 1
        assert 'admission webhook "dry" denied the request: no dry runs here' in refused.stderr
        assert _revision(kubectl) == before
        assert kubectl("create", "-f", "-", stdin=json.dumps(CONFIGMAP)).returncode == 0
        assert [review.dry_run for review in seen] == [True, False]
    finally:
        actor.stop()


def test_a_server_side_apply_dry_run_writes_nothing(kubectl):
    """An apply that would change an object and one that would create it: both answered as
    stored, neither written (the apply's own path, which creates as well as patches)."""
    assert kubectl("create", "-f", "-", stdin=json.dumps(CONFIGMAP)).returncode == 0
    before = _revision(kubectl)
    changed = {**CONFIGMAP, "data": {"a": "applied"}}
    new = {**CONFIGMAP, "metadata": {"name": "applied-dry", "namespace": "default"}}
    for obj in (changed, new):
        applied = kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server",
                          "-o", "json", "-f", "-", stdin=json.dumps(obj))
        assert applied.returncode == 0, applied.stderr
        assert json.loads(applied.stdout)["data"] == obj["data"]
    assert _revision(kubectl) == before
    assert kubectl("get", "configmap", "applied-dry").returncode == 1
    real = json.loads(kubectl("get", "configmap", "real", "-o", "json").stdout)
    assert real["data"] == {"a": "1"}
