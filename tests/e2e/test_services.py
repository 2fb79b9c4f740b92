"""Services on real Docker through the service proxy: two hostNetwork busybox httpd pods on
different ports behind one Service, reached through its ClusterIP from the host and from a
third hostNetwork pod; one made unready by its readiness probe gets no more requests; with
no pod left the ClusterIP refuses connections at once."""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest
import yaml

from actors.api.objects import Object
from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE
from tests.support import until

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _httpd(name: str, port: int) -> Object:
    """A hostNetwork pod serving its name on 127.0.0.1:``port``, ready while /www/ready is."""
    script = (f"mkdir -p /www && echo {name} > /www/index.html && echo ok > /www/ready && "
              f"exec httpd -f -p 127.0.0.1:{port} -h /www")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "proxied"}},
            "spec": {"hostNetwork": True, "terminationGracePeriodSeconds": 1, "containers": [{
                "name": "httpd", "image": IMAGE, "command": ["sh", "-c", script],
                "ports": [{"name": "http", "containerPort": port}],
                "readinessProbe": {"httpGet": {"path": "/ready", "port": port},
                                   "periodSeconds": 1, "failureThreshold": 1}}]}}


def _get(ip: str) -> str | None:
    """The body served at http://ip/, None when the connection is refused; ``gone`` when
    the backend went away under it or stopped answering (a pod being killed before its
    endpoint left: Kubernetes has that race too)."""
    try:
        with urllib.request.urlopen(f"http://{ip}/", timeout=5) as answer:
            return str(answer.read().decode().strip())
    except urllib.error.URLError as error:
        if isinstance(error.reason, ConnectionRefusedError):
            return None
        raise
    except (ConnectionResetError, http.client.RemoteDisconnected, TimeoutError):
        return "gone"


def test_the_kubernetes_service_reaches_the_https_api_under_its_certificate(cluster):
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    context = ssl.create_default_context(cadata=ca.decode())
    with socket.create_connection(("127.16.0.1", 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="127.16.0.1") as tls:
        tls.sendall(b"GET /version HTTP/1.1\r\nHost: 127.16.0.1\r\nConnection: close\r\n\r\n")
        assert tls.recv(64).startswith(b"HTTP/1.1 ")


def _ready_endpoints(admin: Any) -> list[str]:
    found = admin.list("endpointslices", "default",
                       label_selector="kubernetes.io/service-name=proxied")["items"]
    return sorted(e["targetRef"]["name"] for s in found for e in s.get("endpoints") or []
                  if e["conditions"]["ready"])


def test_a_cluster_ip_reaches_ready_host_network_pods_and_refuses_when_none(admin, cluster):
    for name in ("web-a", "web-b"):
        admin.create("pods", _httpd(name, _free_port()))
    service = admin.create("services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "proxied"},
        "spec": {"selector": {"app": "proxied"},
                 "ports": [{"port": 80, "targetPort": "http"}]}})
    ip = service["spec"]["clusterIP"]
    until(lambda: _ready_endpoints(admin) == ["web-a", "web-b"], timeout=60)
    seen: set[str | None] = set()
    until(lambda: seen.add(_get(ip)) or {"web-a", "web-b"} <= seen, timeout=30)

    admin.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
                          "spec": {"hostNetwork": True, "restartPolicy": "Never",
                                   "containers": [{"name": "wget", "image": IMAGE,
                                                   "command": ["wget", "-q", "-O", "-",
                                                               f"http://{ip}/"]}]}})
    wait_for(admin, "pods", "client", lambda p: p["status"].get("phase") == "Succeeded")
    assert cluster.cli("logs", "client").stdout.strip() in ("web-a", "web-b")

    cluster.cli("exec", "web-a", "--", "rm", "/www/ready")
    until(lambda: _ready_endpoints(admin) == ["web-b"], timeout=30)
    until(lambda: all(_get(ip) == "web-b" for _ in range(6)), timeout=30)

    for name in ("web-a", "web-b"):
        admin.delete("pods", name)
    until(lambda: _get(ip) is None, timeout=60)
