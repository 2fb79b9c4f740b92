"""Addresses, Services and EndpointSlices on a simulated cluster (``kubeactor up --runtime
sim`` with two nodes): node ranges, pod addresses, ClusterIPs and NodePorts, slices."""

from __future__ import annotations

import ipaddress
import re

import pytest

from bus.errors import Invalid
from tests.conftest import pod, wait_for
from tests.support import until


def test_each_node_gets_its_own_pod_range_and_pods_an_address_in_it(admin):
    nodes = [wait_for(admin, "nodes", name, lambda n: bool(n["spec"].get("podCIDR")), None)
             for name in ("node-1", "node-2")]
    ranges = {n["metadata"]["name"]: ipaddress.IPv4Network(n["spec"]["podCIDR"])
              for n in nodes}
    assert len(set(ranges.values())) == 2
    assert all(r.subnet_of(ipaddress.IPv4Network("127.64.0.0/10")) for r in ranges.values())
    admin.create("pods", pod("addressed"))
    running = wait_for(admin, "pods", "addressed", lambda p: bool(p["status"].get("podIP")))
    ip = ipaddress.IPv4Address(running["status"]["podIP"])
    assert ip in ranges[running["spec"]["nodeName"]]
    assert running["status"]["podIPs"] == [{"ip": str(ip)}]
    assert running["status"]["hostIP"] == "127.0.0.1"


def test_a_host_network_pod_has_its_nodes_address(admin):
    admin.create("pods", dict(pod("on-host"), spec={**pod("on-host")["spec"],
                                                     "hostNetwork": True}))
    running = wait_for(admin, "pods", "on-host", lambda p: bool(p["status"].get("podIP")))
    assert running["status"]["podIP"] == running["status"]["hostIP"] == "127.0.0.1"


def _service(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def test_the_kubernetes_service_points_at_the_https_api(admin, cluster):
    service = admin.get("services", "kubernetes", "default")
    assert service["spec"]["clusterIP"] == "127.16.0.1"
    endpoints = admin.get("endpoints", "kubernetes", "default")
    port = endpoints["subsets"][0]["ports"][0]["port"]
    assert cluster.kubeconfig.read_text().count(f"127.0.0.1:{port}") >= 1


def test_a_service_gets_a_cluster_ip_and_a_taken_one_is_refused_as_kubernetes_words_it(admin):
    first = admin.create("services", _service("alloc-a"))
    ip = first["spec"]["clusterIP"]
    assert ipaddress.IPv4Address(ip) in ipaddress.IPv4Network("127.16.0.0/16")
    assert first["spec"]["clusterIPs"] == [ip]
    assert first["spec"]["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}
    with pytest.raises(Invalid, match=re.escape(
            f'spec.clusterIPs: Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: '
            "provided IP is already allocated")):
        admin.create("services", _service("alloc-b", clusterIP=ip))
    with pytest.raises(Invalid, match=re.escape("is not in the valid range. The range of "
                                                "valid IPs is 127.16.0.0/16")):
        admin.create("services", _service("alloc-b", clusterIP="127.0.0.1"))
    admin.delete("services", "alloc-a")
    again = admin.create("services", _service("alloc-b", clusterIP=ip))
    assert again["spec"]["clusterIP"] == ip


def test_many_services_get_distinct_addresses(admin):
    ips = {admin.create("services", _service(f"many-{i}"))["spec"]["clusterIP"]
           for i in range(200)}
    assert len(ips) == 200


def test_node_ports_headless_and_external_name(admin):
    node_port = admin.create("services", _service("np", type="NodePort", ports=[
        {"name": "a", "port": 80}, {"name": "b", "port": 81, "nodePort": 30123}]))
    ports = [p["nodePort"] for p in node_port["spec"]["ports"]]
    assert ports[1] == 30123 and 30000 <= ports[0] <= 32767
    assert node_port["spec"]["externalTrafficPolicy"] == "Cluster"
    with pytest.raises(Invalid, match=r"spec.ports\[0\].nodePort: Invalid value: 30123: "
                                      "provided port is already allocated"):
        admin.create("services", _service("np2", type="NodePort", clusterIP="127.16.33.33",
                                          ports=[{"port": 80, "nodePort": 30123}]))
    kept = admin.create("services", _service("np3", clusterIP="127.16.33.33"))  # not leaked
    assert kept["spec"]["clusterIP"] == "127.16.33.33"
    with pytest.raises(Invalid, match=re.escape("provided port is not in the valid range. "
                                                "The range of valid ports is 30000-32767")):
        admin.create("services", _service("np2", type="NodePort", ports=[
            {"port": 80, "nodePort": 80}]))
    headless = admin.create("services", _service("headless", clusterIP="None"))
    assert headless["spec"]["clusterIPs"] == ["None"]
    external = admin.create("services", {"apiVersion": "v1", "kind": "Service",
                                         "metadata": {"name": "db"},
                                         "spec": {"type": "ExternalName",
                                                  "externalName": "db.example.com"}})
    assert "clusterIP" not in external["spec"]
    admin.delete("services", "np")
    freed = admin.create("services", _service("np2", type="NodePort", ports=[
        {"port": 80, "nodePort": 30123}]))
    assert freed["spec"]["ports"][0]["nodePort"] == 30123


def test_an_update_keeps_the_cluster_ip_and_may_not_change_it(admin):
    created = admin.create("services", _service("kept"))
    body = dict(created, spec={**created["spec"], "clusterIP": "", "clusterIPs": None})
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    updated = admin.update("services", body)
    assert updated["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    with pytest.raises(Invalid, match="may not change once set"):
        admin.update("services", dict(updated, spec={**updated["spec"],
                                                     "clusterIP": "127.16.200.200",
                                                     "clusterIPs": ["127.16.200.200"]}))


def _deployment(name: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "c", "image": "busybox:1.35",
                                         "ports": [{"name": "http", "containerPort": 8080}]}]}}}}


def _ready_addresses(piece: dict) -> list[str]:
    return sorted(e["addresses"][0] for e in piece.get("endpoints") or []
                  if e["conditions"]["ready"])


def test_slices_and_endpoints_follow_the_pods_a_service_selects(admin):
    admin.create("deployments", _deployment("sliced", 3))
    admin.create("services", _service("sliced", ports=[{"port": 80, "targetPort": "http"}]))
    label = "kubernetes.io/service-name=sliced"
    piece = wait_for(admin, "endpointslices", None, lambda s: len(_ready_addresses(s)) == 3 and
                     s["metadata"]["labels"].get("kubernetes.io/service-name") == "sliced")
    assert piece["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    assert piece["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert piece["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslice-controller.k8s.io"
    pods = admin.list("pods", "default", label_selector="app=sliced")["items"]
    assert _ready_addresses(piece) == sorted(p["status"]["podIP"] for p in pods)
    endpoints = wait_for(admin, "endpoints", "sliced", lambda e: len(
        (e.get("subsets") or [{}])[0].get("addresses") or []) == 3)
    assert endpoints["subsets"][0]["ports"][0]["port"] == 8080
    admin.patch("deployments", "sliced", {"spec": {"replicas": 0}},
                "application/merge-patch+json", "default")
    wait_for(admin, "endpointslices", piece["metadata"]["name"],
             lambda s: not s.get("endpoints"))
    wait_for(admin, "endpoints", "sliced", lambda e: not e.get("subsets"))
    admin.delete("services", "sliced")
    until(lambda: not admin.list("endpointslices", "default", label_selector=label)["items"],
          timeout=30)
    until(lambda: not admin.list("endpoints", "default",
                                 field_selector="metadata.name=sliced")["items"], timeout=30)


def test_kubeactor_expose_and_get_svc_print_kubectls_words(admin, cluster):
    admin.create("deployments", _deployment("cli-web", 1))
    said = cluster.cli("expose", "deployment", "cli-web", "--port", "80", "--target-port",
                       "http", "--type", "NodePort")
    assert said.stdout.strip() == "service/cli-web exposed"
    table = cluster.cli("get", "svc", "cli-web", "-o", "wide").stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE",
                                "SELECTOR"]
    name, kind, ip, external, ports, _, selector = table[1].split()
    assert (name, kind, external, selector) == ("cli-web", "NodePort", "<none>", "app=cli-web")
    assert ip.startswith("127.16.") and ports.startswith("80:") and ports.endswith("/TCP")
    refused = cluster.cli("expose", "deployment", "cli-web", "--port", "80", check=False)
    assert refused.returncode == 1
    assert 'services "cli-web" already exists' in refused.stderr


def test_a_dry_run_is_refused_as_the_create_would_be_and_takes_nothing(admin):
    dry = {"dryRun": ["All"]}
    shown = admin.request("create", "services", namespace="default", options=dry,
                          body=_service("dry", clusterIP="127.16.44.44"))
    assert shown["spec"]["clusterIP"] == "127.16.44.44"
    made = admin.create("services", _service("wet", clusterIP="127.16.44.44"))  # still free
    assert made["spec"]["clusterIP"] == "127.16.44.44"
    with pytest.raises(Invalid, match="provided IP is already allocated"):
        admin.request("create", "services", namespace="default", options=dry,
                      body=_service("dry", clusterIP="127.16.44.44"))
