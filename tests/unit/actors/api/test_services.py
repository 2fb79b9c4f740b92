"""Services' defaults, checks, kept allocations, target ports and kubectl's cells."""

from __future__ import annotations

from actors.api import services


def _service(**spec) -> dict:
    return {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}], **spec}}


def test_defaults_are_kubernetes_ones():
    service = _service(sessionAffinity="ClientIP")
    services.default_service(service)
    spec = service["spec"]
    assert spec["type"] == "ClusterIP" and spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert service["status"] == {"loadBalancer": {}}


def test_problems_are_worded_as_kube_apiserver():
    assert services.problems(_service(type="Foo")) == [
        'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", '
        '"LoadBalancer", "NodePort"']
    two = _service(ports=[{"port": 80}, {"port": 81, "name": "b"}])
    assert services.problems(two) == ["spec.ports[0].name: Required value"]
    assert services.problems(_service(ports=[{"port": 70000, "nodePort": 30000}])) == [
        "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
    assert services.problems({"metadata": {}, "spec": {"type": "ExternalName"}}) == [
        "spec.externalName: Required value"]
    assert services.problems({"metadata": {}, "spec": {}}) == ["spec.ports: Required value"]
    assert services.problems({"metadata": {}, "spec": {"clusterIP": "None"}}) == []


def test_an_update_keeps_what_was_allocated():
    old = _service(type="NodePort", clusterIP="127.16.0.9", clusterIPs=["127.16.0.9"],
                   ports=[{"port": 80, "protocol": "TCP", "nodePort": 30001}])
    new = _service(type="NodePort", ports=[{"port": 80, "protocol": "TCP"},
                                           {"port": 81, "protocol": "TCP"}])
    services.keep_allocated(new, old)
    assert new["spec"]["clusterIP"] == "127.16.0.9"
    assert [p.get("nodePort") for p in new["spec"]["ports"]] == [30001, None]


def test_a_named_target_port_is_the_pods_container_port_of_that_name():
    pod = {"spec": {"containers": [{"ports": [{"name": "http", "containerPort": 8080}]}]}}
    assert services.target_port({"port": 80, "targetPort": "http"}, pod) == 8080
    assert services.target_port({"port": 80, "targetPort": 9090}, pod) == 9090
    assert services.target_port({"port": 80}, pod) == 80
    assert services.target_port({"port": 80, "targetPort": "grpc"}, pod) is None


def test_kubectl_cells():
    node_port = _service(type="NodePort", ports=[{"port": 80, "nodePort": 30080,
                                                  "protocol": "TCP"}])
    assert services.ports_text(node_port) == "80:30080/TCP"
    assert services.external_ip_text(node_port) == "<none>"
    assert services.external_ip_text(_service(type="LoadBalancer")) == "<pending>"
    assert services.external_ip_text({"spec": {"type": "ExternalName",
                                               "externalName": "db.example.com"}}) == \
        "db.example.com"
