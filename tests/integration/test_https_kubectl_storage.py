"""Real kubectl (and kubeactor's CLI) against ``kubeactor up --runtime sim``: the Kubernetes
documentation's static volume, its claim and the pod using it (pods/storage/pv-volume.yaml,
pv-claim.yaml, pv-pod.yaml) apply whole and bind; ``get pv|pvc|sc`` print kubectl's columns;
a bad claim is refused in kube-apiserver's words."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).parent / "manifests" / "storage"
DOCS = [str(MANIFESTS / f"{name}.yaml") for name in ("pv-volume", "pv-claim", "pv-pod")]


def _kubectl(cluster, *args: str, stdin: str | None = None) -> str:
    result = cluster.kubectl(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _rows(text: str) -> list[list[str]]:
    """A table's rows split on runs of two spaces or more (headers hold single spaces)."""
    return [[cell.strip() for cell in line.split("  ") if cell.strip()]
            for line in text.splitlines()]


def test_the_documentations_volume_claim_and_pod_apply_whole_and_bind(cluster):
    out = _kubectl(cluster, "apply", *(arg for path in DOCS for arg in ("-f", path)))
    for made in ("persistentvolume/task-pv-volume", "persistentvolumeclaim/task-pv-claim",
                 "pod/task-pv-pod"):
        assert f"{made} created" in out
    _kubectl(cluster, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc/task-pv-claim",
             "--timeout=60s")
    _kubectl(cluster, "wait", "--for=condition=Ready", "pod/task-pv-pod", "--timeout=60s")
    claims = _rows(_kubectl(cluster, "get", "pvc", "task-pv-claim"))
    assert claims[0] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
                         "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert claims[1][:7] == ["task-pv-claim", "Bound", "task-pv-volume", "10Gi", "RWO",
                             "manual", "<unset>"]
    volumes = _rows(_kubectl(cluster, "get", "pv", "task-pv-volume"))
    assert volumes[0][:7] == ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS",
                              "CLAIM", "STORAGECLASS"]
    assert volumes[1][:7] == ["task-pv-volume", "10Gi", "RWO", "Retain", "Bound",
                              "default/task-pv-claim", "manual"]
    assert cluster.cli("get", "pvc", "task-pv-claim").stdout.split()[:13] == [
        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "AGE", "task-pv-claim", "Bound", "task-pv-volume", "10Gi"]


def test_the_default_class_is_marked_and_a_claim_naming_none_takes_it(cluster):
    classes = _rows(_kubectl(cluster, "get", "sc"))
    assert classes[0] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                          "ALLOWVOLUMEEXPANSION", "AGE"]
    assert classes[1][:5] == ["local-path (default)", "rancher.io/local-path", "Delete",
                              "WaitForFirstConsumer", "false"]
    claim = ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: plain\nspec:\n"
             "  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n")
    _kubectl(cluster, "create", "-f", "-", stdin=claim)
    _kubectl(cluster, "wait", "--for=jsonpath={.spec.storageClassName}=local-path",
             "pvc/plain", "--timeout=60s")
    assert _kubectl(cluster, "get", "pvc", "plain", "-o", "jsonpath={.status.phase}") == \
        "Pending"  # waits for its first consumer


def test_a_claim_without_size_or_modes_is_refused_saying_why(cluster):
    bad = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: bad\nspec: {}\n"
    refused = cluster.kubectl("create", "-f", "-", stdin=bad)
    assert refused.returncode == 1
    assert refused.stderr == (
        'The PersistentVolumeClaim "bad" is invalid: \n'
        "* spec.accessModes: Required value: at least 1 access mode is required\n"
        "* spec.resources[storage]: Required value\n")
