"""Addresses, Services and EndpointSlices on a simulated cluster (``kubeactor up --runtime
sim`` with two nodes): node ranges, pod addresses, ClusterIPs and NodePorts, slices."""

from __future__ import annotations

import ipaddress

from tests.conftest import pod, wait_for


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
