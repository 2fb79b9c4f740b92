"""A PodDisruptionBudget of ``minAvailable: 2`` over 3 pods against ``kubeactor up --runtime
sim``: one eviction is allowed, the next refused with 429; a drain of a node holding two of
them (kubeactor's, then kubectl's) stops at the budget and goes on once a replacement is
Ready elsewhere."""

from __future__ import annotations

import json
from collections import Counter

import pytest

pytestmark = pytest.mark.integration

REFUSED = ("Error from server (TooManyRequests): Cannot evict pod as it would violate the "
           "pod's disruption budget.\n")
RETRIED = "(will retry after 5s): Cannot evict pod as it would violate the pod's disruption"


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait(cluster, what: str, condition: str) -> None:
    ok(cluster.kubectl("wait", what, f"--for={condition}", "--timeout=60s"))


def guarded(cluster) -> list[dict]:
    listed = json.loads(ok(cluster.kubectl("get", "pods", "-l", "app=guarded", "-o", "json")))
    return [pod for pod in listed["items"] if not pod["metadata"].get("deletionTimestamp")]


def evict(cluster, pod: str):
    body = json.dumps({"apiVersion": "policy/v1", "kind": "Eviction",
                       "metadata": {"name": pod, "namespace": "default"}})
    return cluster.kubectl("create", "--raw", f"/api/v1/namespaces/default/pods/{pod}/eviction",
                           "-f", "-", stdin=body)


def settled(cluster) -> None:
    """Three guarded pods Ready and the budget counted again (one disruption allowed)."""
    wait(cluster, "deployment/guarded", "jsonpath={.status.readyReplicas}=3")
    wait(cluster, "pdb/guarded", "jsonpath={.status.disruptionsAllowed}=1")


def busiest_node(cluster) -> tuple[str, int]:
    counts = Counter(pod["spec"]["nodeName"] for pod in guarded(cluster))
    return counts.most_common(1)[0]


def test_a_budget_of_two_in_three_allows_one_eviction_and_drains_wait_for_replacements(cluster):
    ok(cluster.kubectl("create", "deployment", "guarded", "--image=busybox:1.35",
                       "--replicas=3", "--", "sleep", "3600"))
    ok(cluster.kubectl("create", "pdb", "guarded", "--selector=app=guarded",
                       "--min-available=2"))
    settled(cluster)
    first, second = [pod["metadata"]["name"] for pod in guarded(cluster)][:2]
    assert json.loads(ok(evict(cluster, first)))["status"] == "Success"
    refused = evict(cluster, second)
    assert (refused.returncode, refused.stderr) == (1, REFUSED)
    settled(cluster)

    node, held = busiest_node(cluster)
    assert held >= 2
    ours = cluster.cli("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                       "--timeout=90s", check=False)
    assert ours.returncode == 0, ours.stderr
    assert RETRIED in ours.stderr  # stopped at the budget...
    lines = ours.stdout.splitlines()
    assert lines[0] == f"node/{node} cordoned"
    assert lines[-1] == f"node/{node} drained"  # ...and went on once a replacement was Ready
    assert sum(line.endswith(" evicted") for line in lines) == held
    assert node not in {pod["spec"]["nodeName"] for pod in guarded(cluster)}
    assert ok(cluster.cli("cordon", node)) == f"node/{node} already cordoned\n"
    settled(cluster)

    assert ok(cluster.cli("uncordon", node)) == f"node/{node} uncordoned\n"
    other, held = busiest_node(cluster)
    assert (other != node, held) == (True, 3)
    theirs = cluster.kubectl("drain", other, "--ignore-daemonsets", "--delete-emptydir-data",
                             "--timeout=90s")
    assert theirs.returncode == 0, theirs.stderr
    assert RETRIED in theirs.stderr
    assert theirs.stdout.splitlines()[-1] == f"node/{other} drained"
    settled(cluster)
    assert {pod["spec"]["nodeName"] for pod in guarded(cluster)} == {node}
    ok(cluster.kubectl("uncordon", other))
