"""The proxy's routes from Services and slices, and the balancer's picks."""

from __future__ import annotations

from actors.proxy.routes import Balancer, Route, routes


def _service(name: str = "web", **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": "127.16.0.7", "type": "ClusterIP",
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP"}], **spec}}


def _slice(name: str = "web", *points: tuple[str, bool], port: int = 8080) -> dict:
    return {"metadata": {"name": f"{name}-x", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}}
                          for ip, ready in points]}


def test_a_service_with_ready_endpoints_is_routed_to_them_alone():
    table = routes([_service()], [_slice("web", ("127.0.0.1", True), ("127.0.0.2", False))],
                   "127.0.0.1")
    assert table == {("127.16.0.7", 80): Route("default/web:http", (("127.0.0.1", 8080),))}


def test_no_ready_endpoint_no_route_so_connections_are_refused():
    assert routes([_service()], [_slice("web", ("127.0.0.1", False))], "127.0.0.1") == {}
    assert routes([_service()], [], "127.0.0.1") == {}


def test_headless_external_name_and_udp_are_not_proxied():
    ready = [_slice("web", ("127.0.0.1", True))]
    assert routes([_service(clusterIP="None")], ready, "127.0.0.1") == {}
    assert routes([_service(type="ExternalName", clusterIP=None)], ready, "127.0.0.1") == {}
    udp = _service(ports=[{"name": "http", "port": 53, "protocol": "UDP"}])
    assert routes([udp], ready, "127.0.0.1") == {}


def test_a_node_port_is_routed_on_the_nodes_address_too():
    service = _service(type="NodePort", ports=[{"name": "http", "port": 80, "protocol": "TCP",
                                                "nodePort": 30080}],
                       sessionAffinity="ClientIP",
                       sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    table = routes([service], [_slice("web", ("127.0.0.1", True))], "127.0.0.1")
    assert set(table) == {("127.16.0.7", 80), ("127.0.0.1", 30080)}
    assert table[("127.0.0.1", 30080)].affinity_seconds == 60.0


def test_round_robin_skips_backends_that_failed():
    balancer = Balancer(Route("s", (("127.0.0.1", 1), ("127.0.0.1", 2))))
    assert [balancer.pick("c")[1] for _ in range(4)] == [1, 2, 1, 2]
    assert balancer.pick("c", tried=[("127.0.0.1", 1)]) == ("127.0.0.1", 2)
    assert balancer.pick("c", tried=[("127.0.0.1", 1), ("127.0.0.1", 2)]) is None


def test_client_ip_affinity_holds_until_it_times_out_or_the_backend_goes():
    now = [0.0]
    backends = (("127.0.0.1", 1), ("127.0.0.1", 2))
    balancer = Balancer(Route("s", backends, affinity_seconds=10), clock=lambda: now[0])
    first = balancer.pick("a")
    assert [balancer.pick("a") for _ in range(3)] == [first] * 3
    assert balancer.pick("b") != first
    now[0] = 100.0
    balancer.pick("c")
    balancer.route = Route("s", tuple(b for b in backends if b != first), 10)
    assert balancer.pick("a") != first


def test_endpoints_outside_loopback_are_never_forwarded_to():
    """An EndpointSlice anyone may write in their namespace must not turn the proxy into a
    relay to other hosts: only 127.0.0.0/8 backends unless more networks are configured."""
    pieces = [_slice("web", ("10.0.0.5", True), ("0.0.0.0", True), ("::1", True),
                     ("not-an-ip", True), ("127.0.0.9", True))]
    table = routes([_service()], pieces, "127.0.0.1")
    assert table == {("127.16.0.7", 80): Route("default/web:http", (("127.0.0.9", 8080),))}
    assert routes([_service()], [_slice("web", ("10.0.0.5", True))], "127.0.0.1") == {}


def test_configured_networks_allow_forwarding_to_them():
    from ipaddress import ip_network
    table = routes([_service()], [_slice("web", ("10.0.0.5", True))], "127.0.0.1",
                   allowed=(ip_network("10.0.0.0/8"), ip_network("127.0.0.0/8")))
    assert table[("127.16.0.7", 80)].backends == (("10.0.0.5", 8080),)


def test_the_proxy_never_listens_outside_loopback():
    ready = [_slice("web", ("127.0.0.1", True))]
    for ip in ("0.0.0.0", "10.96.0.1", "::", "bogus"):
        assert routes([_service(clusterIP=ip)], ready, "127.0.0.1") == {}
    node_port = _service(type="NodePort", ports=[
        {"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}])
    assert set(routes([node_port], ready, "0.0.0.0")) == {("127.16.0.7", 80)}


def test_garbage_ports_in_a_slice_or_service_do_not_break_the_table():
    bad_slice = _slice("web", ("127.0.0.1", True))
    bad_slice["ports"][0]["port"] = "eighty"
    good = _slice("api", ("127.0.0.2", True))
    bad_service = _service(ports=[{"name": "http", "port": "x", "protocol": "TCP"}])
    table = routes([bad_service, _service("api")], [bad_slice, good], "127.0.0.1")
    assert table == {("127.16.0.7", 80): Route("default/api:http", (("127.0.0.2", 8080),))}
