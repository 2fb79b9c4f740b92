"""Session 11's attacks with a kubelet's credentials over the HTTPS API (see
``test_attack_s11`` for the user's): the Node authorizer and NodeRestriction hold a kubelet's
certificate to its own node over HTTPS as over the bus, and a kubelet that never answers the
calls for its pods' logs holds up no one's watch.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bindings.cluster import Cluster
from bus import Connection
from tests.conftest import wait_for
from tests.integration.test_attack_s11 import APPLY, MERGE, Http, Pems, _answer, _pems, _start
from tests.integration.test_https_security import _raw, _status_line
from tests.support import until

pytestmark = pytest.mark.integration


# -- a kubelet's certificate over HTTPS ------------------------------------------------------------


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> Iterator[tuple[Cluster, Http, Pems, Pems]]:
    """A cluster of simulated nodes n1 and n2 (controllers, scheduler, admission as ``up``'s),
    pod ``one`` on n1 using Secret ``one-s``, ``two`` on n2 using ``two-s``; n1's
    certificate and the admin's."""
    where = tmp_path_factory.mktemp("nodes")
    cluster = _start(where / "cluster", runtime="sim", node_names=("n1", "n2"))
    admin = cluster.admin_client("attack11-nodes")
    for name, node in (("one", "n1"), ("two", "n2")):
        admin.create("secrets", {"metadata": {"name": f"{name}-s"},
                                 "stringData": {"p": name}}, "default")
        admin.create("pods", {"metadata": {"name": name}, "spec": {
            "nodeName": node, "containers": [{"name": "c", "image": "busybox:1.35", "env": [{
                "name": "P", "valueFrom": {"secretKeyRef": {"name": f"{name}-s",
                                                            "key": "p"}}}]}]}}, "default")
    for name in ("one", "two"):
        wait_for(admin, "pods", name, lambda p: p["status"].get("phase") == "Running")
    yield (cluster, Http(cluster), _pems(cluster, where, "system:node:n1", "system:nodes"),
           _pems(cluster, where, "admin", "system:masters"))
    cluster.stop()


# -- a kubelet that never answers ---------------------------------------------------------------


def _sent(cluster: Cluster, who: Pems, path: str) -> ssl.SSLSocket:
    """A TLS connection to ``cluster``'s API that has sent ``GET path`` as ``who``."""
    return _raw(cluster, who, f"GET {path} HTTP/1.1\r\nHost: kubeactor\r\n\r\n".encode())


def test_followed_logs_of_a_kubelet_that_never_answers_hold_up_no_ones_watch(nodes):
    """A compromised (or cut-off) kubelet hears the calls for its pods' logs and never
    answers: each followed log held one of the front's executor threads until its 10 s
    timeout, the threads every HTTPS watch of every client starts and stops on; six at once
    and the admin's ``kubectl get -w`` waited 9 s. Followed logs and execs, whose kubelet may
    take its time, now open on threads of their own: the watch starts at once."""
    api, _, _, admin_cert = nodes
    admin = api.admin_client("attack11-ghost")
    node = api.credentials("system:node:ghost", "system:nodes")
    ghost = Connection(api.bus_of(node), "ghost").connect()
    sockets: list[ssl.SSLSocket] = []
    try:
        called: list[str] = []
        ghost.subscribe(ghost.subjects.node_calls("ghost"),
                        lambda incoming: called.append(incoming.subject))  # never answered
        admin.create("pods", {"metadata": {"name": "on-ghost"}, "spec": {
            "nodeName": "ghost", "containers": [{"name": "c", "image": "busybox:1.35"}]}},
            "default")
        sockets += [_sent(api, admin_cert, "/api/v1/namespaces/default/pods/on-ghost/log"
                          "?follow=true") for _ in range(8)]
        until(lambda: len(called) >= 6, 10, failure=f"calls heard: {called}")
        started = time.monotonic()
        sockets.append(_sent(api, admin_cert, "/api/v1/namespaces/default/configmaps"
                             "?watch=1"))
        assert _status_line(sockets[-1]) == b"HTTP/1.1 200 OK"
        assert time.monotonic() - started < 3
    finally:
        for sock in sockets:
            sock.close()
        ghost.close()


def _mirror(**spec: Any) -> bytes:
    """A mirror pod of n1's (as a kubelet makes for a static pod) with ``spec`` added."""
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "mirrored", "annotations": {"kubernetes.io/config.mirror": "x"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1.35"}],
                 **spec}}).encode()


SECRET_ENV = [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "two-s", "key": "p"}}}]
NODE_ATTEMPTS = [
    ("GET", "/api/v1/namespaces/default/secrets/two-s", b"", "", "no relationship found"),
    ("GET", "/api/v1/namespaces/default/secrets?fieldSelector=metadata.name%3Dtwo-s", b"", "",
     "no relationship found"),
    ("GET", "/api/v1/namespaces/default/secrets", b"", "", "No Object name found"),
    ("GET", "/api/v1/secrets?fieldSelector=metadata.name%3Done-s", b"", "",
     "can only read namespaced object"),
    ("PATCH", "/api/v1/nodes/n2/status", b'{"status": {"conditions": []}}', MERGE,
     'node "n1" is not allowed to modify node "n2"'),
    ("PATCH", "/api/v1/nodes/n2", b'{"metadata": {"labels": {"a": "b"}}}', MERGE,
     'node "n1" is not allowed to modify node "n2"'),
    ("PATCH", "/api/v1/nodes/n1", b'{"metadata": {"labels": '
     b'{"node-restriction.kubernetes.io/pool": "secure"}}}', MERGE,
     "is not allowed to modify labels: node-restriction.kubernetes.io/pool"),
    ("PATCH", "/api/v1/nodes/n1", b'{"metadata": {"labels": '
     b'{"x.node-restriction.kubernetes.io/pool": "secure"}}}', MERGE,
     "is not allowed to modify labels: x.node-restriction.kubernetes.io/pool"),
    ("PATCH", "/api/v1/nodes/n1?fieldManager=kubelet&force=true", json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {
            "node-restriction.kubernetes.io/pool": "secure"}}}).encode(), APPLY,
     "is not allowed to modify labels: node-restriction.kubernetes.io/pool"),
    ("PATCH", "/api/v1/nodes/n1",
     b'{"spec": {"taints": [{"key": "mine", "effect": "NoSchedule"}]}}', MERGE,
     'node "n1" is not allowed to modify taints'),
    ("POST", "/api/v1/nodes", b'{"apiVersion": "v1", "kind": "Node", "metadata": '
     b'{"name": "n3"}}', "application/json", 'node "n1" is not allowed to modify node "n3"'),
    ("DELETE", "/api/v1/nodes/n2", b"", "", 'cannot delete resource "nodes"'),
    ("POST", "/api/v1/namespaces/default/pods", _mirror(containers=[{
        "name": "c", "image": "busybox:1.35", "env": SECRET_ENV}]), "application/json",
     "can not create pods that reference secrets"),
    ("POST", "/api/v1/namespaces/default/pods", _mirror(initContainers=[{
        "name": "i", "image": "busybox:1.35", "envFrom": [{"secretRef": {"name": "two-s"}}]}]),
     "application/json", "can not create pods that reference secrets"),
    ("POST", "/api/v1/namespaces/default/pods", _mirror(volumes=[{
        "name": "v", "projected": {"sources": [{"secret": {"name": "two-s"}}]}}]),
     "application/json", "can not create pods that reference secrets"),
    ("POST", "/api/v1/namespaces/default/pods", _mirror(volumes=[{
        "name": "v", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "two-s"}}}]),
     "application/json", "can not create pods that reference secrets"),
    ("POST", "/api/v1/namespaces/default/pods", _mirror(imagePullSecrets=[{"name": "two-s"}]),
     "application/json", "can not create pods that reference secrets"),
    ("DELETE", "/api/v1/namespaces/default/pods/two", b"", "",
     'node "n1" can only delete pods with spec.nodeName set to itself'),
    ("DELETE", "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn2", b"", "",
     'cannot deletecollection resource "pods"'),
    ("POST", "/api/v1/namespaces/default/pods/two/eviction", b'{"apiVersion": "policy/v1", '
     b'"kind": "Eviction", "metadata": {"name": "two"}}', "application/json",
     "node n1 can only evict pods with spec.nodeName set to itself"),
    ("PATCH", "/api/v1/namespaces/default/pods/two/status", b'{"status": {"phase": "Failed"}}',
     MERGE, 'node "n1" can only update pod status for pods with spec.nodeName set to itself'),
    ("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn2", b"", "",
     "can only list/watch pods with spec.nodeName field selector"),
    ("GET", "/api/v1/namespaces/default/pods/two/log", b"", "", 'cannot get resource "pods/log"'),
    ("POST", "/api/v1/namespaces/default/pods/two/binding", b'{"apiVersion": "v1", "kind": '
     b'"Binding", "metadata": {"name": "two"}, "target": {"kind": "Node", "name": "n1"}}',
     "application/json", 'cannot create resource "pods/binding"'),
    ("PATCH", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2",
     b'{"spec": {"holderIdentity": "n1"}}', MERGE, 'cannot patch resource "leases"'),
    ("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
     b'{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "n2x"}}',
     "application/json", "can only access node lease with the same name"),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type", "why"), NODE_ATTEMPTS,
                         ids=[f"{m} {p.split('?')[0][8:]} {w[:24]}"
                              for m, p, _, _, w in NODE_ATTEMPTS])
def test_a_kubelets_certificate_over_https_is_held_to_its_own_node(
        nodes, method, path, body, content_type, why):
    """n1's kubelet, over HTTPS as over the bus: the Node authorizer and NodeRestriction
    refuse each attempt with Kubernetes' reason."""
    _, call, n1, _ = nodes
    code, answer = call(method, path, body, client=n1,
                        content_type=content_type or "application/json")
    assert (code, answer["reason"]) == (403, "Forbidden"), answer
    assert why in answer["message"]


def test_what_a_kubelet_may_do_over_https_changes_only_its_own(nodes):
    """n1 reads its pod's Secret (by name and by a list of that name), labels its Node
    outside the restricted prefixes, and writes its pod's status; a status write carrying
    spec, labels or a Node label changes none of them, and Secret ``two-s`` stays out of
    reach."""
    cluster, call, n1, _ = nodes
    admin = cluster.admin_client("attack11-check")
    assert call("GET", "/api/v1/namespaces/default/secrets/one-s", client=n1)[0] == 200
    code, listed = call("GET", "/api/v1/namespaces/default/secrets?fieldSelector=metadata.name"
                        "%3D%3Done-s", client=n1)
    assert (code, [s["metadata"]["name"] for s in listed["items"]]) == (200, ["one-s"])
    assert call("PATCH", "/api/v1/nodes/n1", b'{"metadata": {"labels": {"example.com/a": "b"}}}',
                client=n1, content_type=MERGE)[0] == 200
    code, _ = call("PATCH", "/api/v1/nodes/n1/status", b'{"metadata": {"labels": '
                   b'{"node-restriction.kubernetes.io/pool": "secure"}}}', client=n1,
                   content_type=MERGE)
    assert code == 200  # a status write: its metadata is the stored one's
    assert "node-restriction.kubernetes.io/pool" not in \
        admin.get("nodes", "n1")["metadata"].get("labels", {})
    code, _ = call("PATCH", "/api/v1/namespaces/default/pods/one/status", json.dumps({
        "metadata": {"labels": {"stolen": "yes"}},
        "spec": {"volumes": [{"name": "v", "secret": {"secretName": "two-s"}}]}}).encode(),
        client=n1, content_type=MERGE)
    assert code == 200
    one = admin.get("pods", "one", "default")
    assert "volumes" not in one["spec"] or all(
        "secret" not in volume for volume in one["spec"]["volumes"])
    assert "stolen" not in one["metadata"].get("labels", {})
    assert _answer(call("GET", "/api/v1/namespaces/default/secrets/two-s", client=n1)) == \
        (403, "Forbidden")


def test_a_kubelet_gets_tokens_only_for_its_own_pods_service_accounts(nodes):
    """A token of pod ``two``'s service account bound to ``two`` (on n2, by its uid) is
    refused to n1; bound to its own pod ``one``, it is n1's to have."""
    cluster, call, n1, _ = nodes
    admin = cluster.admin_client("attack11-tokens")

    def request(pod: str) -> tuple[int, Any]:
        uid = admin.get("pods", pod, "default")["metadata"]["uid"]
        return call("POST", "/api/v1/namespaces/default/serviceaccounts/default/token",
                    json.dumps({"apiVersion": "authentication.k8s.io/v1",
                                "kind": "TokenRequest", "spec": {"boundObjectRef": {
                                    "apiVersion": "v1", "kind": "Pod", "name": pod,
                                    "uid": uid}}}).encode(), client=n1)

    code, answer = request("two")
    assert (code, answer["reason"]) == (403, "Forbidden")
    assert "node requested token bound to a pod scheduled on a different node" in \
        answer["message"]
    code, answer = request("one")
    assert (code, bool(answer["status"]["token"])) == (201, True)
