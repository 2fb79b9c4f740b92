"""examples/kopf_operator.py run as a kopf user runs it (``kopf run --standalone`` with
KUBECONFIG set to the kubeconfig ``up`` wrote) against ``kubeactor up``: the Greeting CRD
applied with kubectl, a Greeting becomes its ConfigMap, the handler's outcome is written in
the Greeting's status, kopf's Event about it is posted, a change is reconciled again; a
deleted Greeting is held by kopf's finalizer until its delete handler ran, then goes, and its
ConfigMap with it (its ownerReference, the garbage collector)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from bus.server import die_with_parent
from tests.processes import UpProcess
from tests.support import until

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KOPF = str(Path(sys.executable).with_name("kopf"))
GREETINGS = ("demo.kubeactor.io", "v1", "default", "greetings")


@pytest.fixture
def operator(cluster: UpProcess, tmp_path: Path) -> Iterator[Path]:
    """The example's kopf operator, running; its log file."""
    applied = cluster.kubectl("apply", "-f", str(EXAMPLES / "manifests" / "greeting-crd.yaml"))
    assert applied.returncode == 0, applied.stderr
    log = tmp_path / "kopf.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [KOPF, "run", "--standalone", "--namespace", "default",
             str(EXAMPLES / "kopf_operator.py")], stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
            preexec_fn=die_with_parent)
    try:
        yield log
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def api(cluster: UpProcess, kube_api) -> k8s.ApiClient:
    return kube_api(cluster.kubeconfig)


def _message(core: k8s.CoreV1Api, name: str) -> str | None:
    try:
        return core.read_namespaced_config_map(name, "default").data["message"]
    except k8s.ApiException as error:
        assert error.status == 404, error
        return None


def test_the_operator_reconciles_a_greeting_into_a_configmap_and_writes_its_status(
        cluster: UpProcess, operator: Path, api: k8s.ApiClient):
    custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
    group, version, namespace, plural = GREETINGS
    custom.create_namespaced_custom_object(group, version, namespace, plural, {
        "apiVersion": f"{group}/{version}", "kind": "Greeting",
        "metadata": {"name": "hi"}, "spec": {"name": "world"}})
    failure = f"no ConfigMap; kopf said:\n{operator.read_text()}"
    assert until(lambda: _message(core, "hi"), failure=failure) == "Hello, world!"
    status = until(lambda: custom.get_namespaced_custom_object_status(
        group, version, namespace, plural, "hi").get("status", {}).get("reconcile"))
    assert status == {"configMap": "hi"}
    shown = custom.get_namespaced_custom_object(group, version, namespace, plural, "hi")
    assert shown["status"]["phase"] == "Ready"
    events = until(lambda: core.list_namespaced_event(
        "default", field_selector="involvedObject.name=hi").items)
    assert [(e.reason, e.message, e.source.component) for e in events] == [
        ("Reconciled", "ConfigMap hi says 'Hello, world!'", "kopf")]
    assert cluster.kubectl("get", "greetings").stdout.split() == [
        "NAME", "GREETS", "PHASE", "hi", "world", "Ready"]

    custom.patch_namespaced_custom_object(group, version, namespace, plural, "hi",
                                          {"spec": {"greeting": "Bye"}})
    assert until(lambda: _message(core, "hi") == "Bye, world!", failure=failure)
    held = custom.get_namespaced_custom_object(group, version, namespace, plural, "hi")
    assert held["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
    custom.delete_namespaced_custom_object(group, version, namespace, plural, "hi")
    assert until(lambda: [e.message for e in core.list_namespaced_event(
        "default", field_selector="involvedObject.name=hi,reason=Deleted").items],
        failure=failure) == ["goodbye, world"]
    until(lambda: _message(core, "hi") is None, failure="the ConfigMap outlived its Greeting")
    with pytest.raises(k8s.ApiException, match="404"):
        custom.get_namespaced_custom_object(group, version, namespace, plural, "hi")
