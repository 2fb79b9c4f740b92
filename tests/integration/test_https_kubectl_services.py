"""Real kubectl against ``kubeactor up --runtime sim``: the Kubernetes documentation's
Service, Deployment, Ingress, IngressClass and NetworkPolicy manifests apply whole; ``get``
prints kubectl's columns; ``kubectl expose`` and ``create service`` make Services (their
bodies sent as protobuf); a taken ClusterIP is refused in kube-apiserver's words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).parent / "manifests" / "networking"


def _kubectl(cluster, *args: str, stdin: str | None = None) -> str:
    result = cluster.kubectl(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_documentations_networking_manifests_apply_whole(cluster):
    out = _kubectl(cluster, "apply", "-f", str(MANIFESTS))
    for made in ("deployment.apps/my-nginx", "service/my-nginx",
                 "ingress.networking.k8s.io/minimal-ingress",
                 "ingressclass.networking.k8s.io/example-class",
                 "networkpolicy.networking.k8s.io/test-network-policy"):
        assert f"{made} created" in out
    table = _kubectl(cluster, "get", "svc", "my-nginx", "-o", "wide").splitlines()
    assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE",
                                "SELECTOR"]
    name, kind, ip, external, ports, _, selector = table[1].split()
    assert (name, kind, external, ports, selector) == ("my-nginx", "ClusterIP", "<none>",
                                                       "80/TCP", "run=my-nginx")
    assert ip.startswith("127.16.")
    assert _kubectl(cluster, "get", "ingress").splitlines()[0].split() == [
        "NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert "role=db" in _kubectl(cluster, "get", "netpol", "test-network-policy")
    again = _kubectl(cluster, "apply", "-f", str(MANIFESTS))
    assert "service/my-nginx unchanged" in again
    server_side = _kubectl(cluster, "apply", "--server-side", "-f",
                           str(MANIFESTS / "nginx-svc.yaml"))
    assert "service/my-nginx serverside-applied" in server_side
    assert _kubectl(cluster, "get", "svc", "my-nginx", "-o",
                    "jsonpath={.spec.clusterIP}") == ip
    _kubectl(cluster, "rollout", "status", "deployment/my-nginx", "--timeout=60s")
    ready = _kubectl(cluster, "wait", "endpoints/my-nginx", "--timeout=60s",
                     "--for=jsonpath={.subsets[0].addresses[1].ip}")
    assert "condition met" in ready
    slices = _kubectl(cluster, "get", "endpointslices", "-l",
                      "kubernetes.io/service-name=my-nginx").splitlines()
    assert slices[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert slices[1].split()[1:3] == ["IPv4", "80"]
    assert len(slices[1].split()[3].split(",")) == 2
    pods = _kubectl(cluster, "get", "pods", "-l", "run=my-nginx", "-o", "wide").splitlines()
    assert pods[0].split()[5] == "IP"
    assert all(line.split()[5].startswith("127.64.") for line in pods[1:])


def test_kubectl_expose_and_create_service_make_services(cluster):
    _kubectl(cluster, "create", "deployment", "exposed", "--image=busybox:1.35", "--port=8080")
    assert "service/exposed exposed" in _kubectl(
        cluster, "expose", "deployment", "exposed", "--port=80", "--target-port=8080",
        "--type=NodePort")
    service = json.loads(_kubectl(cluster, "get", "svc", "exposed", "-o", "json"))
    port = service["spec"]["ports"][0]
    assert (port["port"], port["targetPort"]) == (80, 8080)
    assert 30000 <= port["nodePort"] <= 32767
    assert service["spec"]["selector"] == {"app": "exposed"}
    _kubectl(cluster, "create", "service", "clusterip", "fixed", "--tcp=5678:8080",
             "--clusterip=127.16.9.9")
    refused = cluster.kubectl("create", "service", "clusterip", "twice", "--tcp=80",
                              "--clusterip=127.16.9.9")
    assert refused.returncode == 1
    assert 'Service "twice" is invalid: spec.clusterIPs: Invalid value: ' \
        '[]string{"127.16.9.9"}: failed to allocate IP 127.16.9.9: provided IP is already ' \
        "allocated" in refused.stderr
    assert cluster.kubectl("get", "svc", "twice").returncode == 1
