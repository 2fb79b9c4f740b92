"""``kubeactor expose``'s Service: selector, ports and labels as kubectl's generator."""

from __future__ import annotations

import pytest

from bindings.cli.services import exposed
from bus.errors import UsageError


def _deployment(*ports: int) -> dict:
    return {"metadata": {"name": "web", "labels": {"team": "a"}},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {
                "containers": [{"ports": [{"containerPort": p} for p in ports]}]}}}}


def test_a_deployment_is_exposed_on_its_selector_with_the_port_asked():
    service = exposed(_deployment(8080), "deployments",
                      {"port": 80, "target_port": "8080", "type": "NodePort"})
    assert service["metadata"] == {"name": "web", "labels": {"team": "a"}}
    assert service["spec"] == {"selector": {"app": "web"}, "type": "NodePort", "ports": [
        {"port": 80, "protocol": "TCP", "targetPort": 8080}]}


def test_without_a_port_the_container_ports_are_used_and_named_when_several():
    ports = exposed(_deployment(80, 443), "deployments", {})["spec"]["ports"]
    assert ports == [{"name": "port-1", "port": 80, "protocol": "TCP", "targetPort": 80},
                     {"name": "port-2", "port": 443, "protocol": "TCP", "targetPort": 443}]
    assert exposed(_deployment(80), "deployments", {"target_port": "http"})["spec"][
        "ports"] == [{"port": 80, "protocol": "TCP", "targetPort": "http"}]


def test_a_pod_is_exposed_on_its_labels_and_nothing_to_select_is_refused():
    pod = {"metadata": {"name": "p", "labels": {"run": "p"}}, "spec": {"containers": []}}
    assert exposed(pod, "pods", {"port": 80})["spec"]["selector"] == {"run": "p"}
    with pytest.raises(UsageError, match="couldn't find port"):
        exposed(pod, "pods", {})
    with pytest.raises(UsageError, match="couldn't retrieve selectors"):
        exposed({"metadata": {"name": "p"}, "spec": {}}, "pods", {"port": 80})
