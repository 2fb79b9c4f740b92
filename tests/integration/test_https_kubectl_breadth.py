"""Real kubectl against ``kubeactor up --runtime sim`` for the verbs whose bodies client-go
sends as protobuf: the ``create`` generators (each object stored as kubectl's own
``--dry-run=client`` prints it), ``auth can-i --list``, and ``drain`` through the eviction
subresource; with kubectl's words and exit codes, and the store unchanged on refusals."""

from __future__ import annotations

import json
import subprocess

import pytest

pytestmark = pytest.mark.integration

GENERATORS = [
    (["namespace", "breadth"], "namespace/breadth created"),
    (["deployment", "web", "--image=busybox:1.35", "--replicas=2", "--port=80"],
     "deployment.apps/web created"),
    (["configmap", "settings", "--from-literal=greeting=hello"], "configmap/settings created"),
    (["secret", "generic", "creds", "--from-literal=user=admin"], "secret/creds created"),
    (["serviceaccount", "robot"], "serviceaccount/robot created"),
    (["role", "reader", "--verb=get,list", "--resource=pods,deployments.apps"],
     "role.rbac.authorization.k8s.io/reader created"),
    (["rolebinding", "readers", "--role=reader", "--user=alice", "--group=devs"],
     "rolebinding.rbac.authorization.k8s.io/readers created"),
    (["clusterrole", "health", "--verb=get", "--non-resource-url=/healthz"],
     "clusterrole.rbac.authorization.k8s.io/health created"),
    (["clusterrolebinding", "healthy", "--clusterrole=health", "--user=bob"],
     "clusterrolebinding.rbac.authorization.k8s.io/healthy created"),
    (["quota", "small", "--hard=cpu=1,memory=1G,pods=2", "-n", "breadth"],
     "resourcequota/small created"),
    (["priorityclass", "high", "--value=1000", "--description=important"],
     "priorityclass.scheduling.k8s.io/high created"),
]


def _stored_as_printed(printed: dict, stored: dict) -> bool:
    """Every field kubectl's dry run printed (but the empty ones) is stored with its value."""
    if isinstance(printed, dict):
        return isinstance(stored, dict) and all(
            _stored_as_printed(value, stored.get(key)) for key, value in printed.items()
            if value not in (None, {}, []))
    if isinstance(printed, list):
        return isinstance(stored, list) and len(printed) == len(stored) and all(
            _stored_as_printed(a, b) for a, b in zip(printed, stored, strict=True))
    return printed == stored


def test_the_create_generators_protobuf_is_stored_as_kubectl_prints_it(cluster):
    for command, said in GENERATORS:
        printed = cluster.kubectl("create", "--dry-run=client", "-o", "json", *command)
        created = cluster.kubectl("create", *command)
        assert (created.returncode, created.stdout.strip()) == (0, said), created.stderr
        kind, name = said.split()[0].split("/")
        where = command[command.index("-n"):][:2] if "-n" in command else []
        stored = json.loads(cluster.kubectl("get", kind, name, *where, "-o", "json").stdout)
        assert _stored_as_printed(json.loads(printed.stdout), stored), (printed.stdout, stored)
    again = cluster.kubectl("create", "configmap", "settings", "--from-literal=a=b")
    assert again.returncode == 1
    assert again.stderr == ('error: failed to create configmap: configmaps "settings" already '
                            'exists\n')


def test_auth_can_i_list_shows_the_rules_bound_in_the_namespace(cluster):
    for command in (["role", "lister", "--verb=get,list", "--resource=pods",
                     "--resource-name=web", "-n", "default"],
                    ["rolebinding", "listers", "--role=lister", "--user=carol", "-n",
                     "default"]):
        assert cluster.kubectl("create", *command).returncode == 0
    listed = cluster.kubectl("auth", "can-i", "--list", "--as=carol", "-n", "default")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert ["pods", "[]", "[web]", "[get", "list]"] in rows
    assert ["selfsubjectrulesreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    elsewhere = cluster.kubectl("auth", "can-i", "--list", "--as=carol", "-n", "kube-system")
    assert "pods" not in [row[0] for row in
                          (line.split() for line in elsewhere.stdout.splitlines())]
    admin = cluster.kubectl("auth", "can-i", "--list")
    assert admin.stdout.splitlines()[1].split() == ["*.*", "[]", "[]", "[*]"]


def test_a_token_review_over_https_says_whose_token_it_is_for_whom_rbac_allows(cluster):
    assert cluster.kubectl("create", "serviceaccount", "reviewed").returncode == 0
    token = cluster.kubectl("create", "token", "reviewed").stdout.strip()
    review = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                         "spec": {"token": token}})
    answered = cluster.kubectl("create", "-f", "-", "-o", "json", stdin=review)
    assert answered.returncode == 0, answered.stderr
    status = json.loads(answered.stdout)["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == "system:serviceaccount:default:reviewed"
    refused = cluster.kubectl("create", "-f", "-", "--as=alice", stdin=review)
    assert refused.returncode == 1
    assert refused.stderr == (
        'Error from server (Forbidden): error when creating "STDIN": '
        'tokenreviews.authentication.k8s.io is forbidden: User "alice" cannot create '
        'resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope\n')


def _evict(cluster, pod: str, *extra: str, named: str = "") -> subprocess.CompletedProcess[str]:
    eviction = json.dumps({"apiVersion": "policy/v1", "kind": "Eviction",
                           "metadata": {"name": named or pod, "namespace": "default"}})
    return cluster.kubectl("create", "--raw", f"/api/v1/namespaces/default/pods/{pod}/eviction",
                           "-f", "-", *extra, stdin=eviction)


def _get(cluster, *what: str) -> dict:
    shown = cluster.kubectl("get", *what, "-o", "json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _wait(cluster, what: str, condition: str) -> None:
    waited = cluster.kubectl("wait", what, f"--for={condition}", "--timeout=30s")
    assert waited.returncode == 0, waited.stderr


def test_an_eviction_a_budget_forbids_is_429_and_changes_nothing_then_one_it_allows_goes(
        cluster):
    assert cluster.kubectl("create", "deployment", "guarded", "--image=busybox:1.35",
                           "--replicas=2", "--", "sleep", "3600").returncode == 0
    created = cluster.kubectl("create", "pdb", "guarded", "--selector=app=guarded",
                              "--min-available=2")
    assert created.stdout == "poddisruptionbudget.policy/guarded created\n", created.stderr
    _wait(cluster, "pdb/guarded", "jsonpath={.status.currentHealthy}=2")
    table = cluster.kubectl("get", "pdb", "guarded").stdout.splitlines()
    assert table[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                                "DISRUPTIONS", "AGE"]
    assert table[1].split()[:4] == ["guarded", "2", "N/A", "0"]
    pod = _get(cluster, "pods", "-l", "app=guarded")["items"][0]
    name, before = pod["metadata"]["name"], pod["metadata"]["resourceVersion"]
    budget_before = _get(cluster, "pdb", "guarded")["metadata"]["resourceVersion"]

    refused = _evict(cluster, name)
    assert (refused.returncode, refused.stderr) == (1, (
        "Error from server (TooManyRequests): Cannot evict pod as it would violate the "
        "pod's disruption budget.\n"))
    forbidden = _evict(cluster, name, "--as=alice")
    assert (forbidden.returncode, forbidden.stderr) == (1, (
        f'Error from server (Forbidden): pods "{name}" is forbidden: User "alice" cannot '
        'create resource "pods/eviction" in API group "" in the namespace "default"\n'))
    mismatched = _evict(cluster, name, named="another")
    assert (mismatched.returncode, mismatched.stderr) == (1, (
        "Error from server (BadRequest): name in URL does not match name in Eviction "
        "object\n"))
    assert _get(cluster, "pod", name)["metadata"]["resourceVersion"] == before
    assert _get(cluster, "pdb", "guarded")["metadata"]["resourceVersion"] == budget_before

    assert cluster.kubectl("patch", "pdb", "guarded", "--type=merge", "-p",
                           '{"spec": {"minAvailable": 1}}').returncode == 0
    _wait(cluster, "pdb/guarded", "jsonpath={.status.disruptionsAllowed}=1")
    allowed = _evict(cluster, name)
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["status"] == "Success"
    _wait(cluster, f"pod/{name}", "delete")
    assert cluster.kubectl("delete", "pdb", "guarded").returncode == 0


def test_drain_evicts_through_the_subresource_and_refuses_unmanaged_pods_without_force(
        cluster):
    ran = cluster.kubectl("run", "lonely", "--image=busybox:1.35",  # a protobuf Pod
                          '--overrides={"spec": {"nodeName": "node-1"}}', "--", "sleep", "1h")
    assert ran.returncode == 0, ran.stderr
    assert cluster.kubectl("create", "deployment", "drained", "--image=busybox:1.35",
                           "--replicas=4", "--", "sleep", "3600").returncode == 0
    _wait(cluster, "deployment/drained", "condition=Available")

    refused = cluster.kubectl("drain", "node-1", "--ignore-daemonsets",
                              "--delete-emptydir-data", "--timeout=30s")
    assert refused.returncode == 1
    assert ("cannot delete Pods that declare no controller (use --force to override): "
            "default/lonely") in refused.stderr
    assert _get(cluster, "pod", "lonely")["spec"]["nodeName"] == "node-1"  # still there

    drained = cluster.kubectl("drain", "node-1", "--ignore-daemonsets",
                              "--delete-emptydir-data", "--force", "--timeout=60s")
    assert drained.returncode == 0, drained.stderr
    assert "evicting pod default/lonely" in drained.stdout
    assert drained.stdout.splitlines()[-1] == "node/node-1 drained"
    assert _get(cluster, "node", "node-1")["spec"]["unschedulable"] is True
    left = _get(cluster, "pods", "-A", "--field-selector", "spec.nodeName=node-1")
    assert [pod["metadata"]["name"] for pod in left["items"]] == []
    _wait(cluster, "deployment/drained", "jsonpath={.status.availableReplicas}=4")
    assert cluster.kubectl("uncordon", "node-1").returncode == 0
