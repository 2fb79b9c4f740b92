"""Real kubectl against ``kubeactor up --runtime sim`` for the verbs whose bodies client-go
sends as protobuf: the ``create`` generators (each object stored as kubectl's own
``--dry-run=client`` prints it), ``auth can-i --list``, and ``drain`` through the eviction
subresource; with kubectl's words and exit codes, and the store unchanged on refusals."""

from __future__ import annotations

import json

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
    (["quota", "small", "--hard=cpu=1,memory=1G,pods=2"], "resourcequota/small created"),
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
        stored = json.loads(cluster.kubectl("get", kind, name, "-o", "json").stdout)
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
