"""Which nodes a metrics read asks, and the objects made of their answers."""

from __future__ import annotations

from actors.apiserver.metrics import node_metrics, nodes_to_ask, pod_metrics


def pod(name: str, node: str | None) -> dict:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node} if node else {}}


PODS = [pod("a", "n1"), pod("b", "n2"), pod("c", "n1"), pod("pending", None)]


def test_a_pod_read_asks_only_the_nodes_of_its_pods():
    assert nodes_to_ask("PodMetrics", None, PODS, ["n1", "n2", "n3"]) == ["n1", "n2"]
    assert nodes_to_ask("PodMetrics", "b", PODS, ["n1", "n2", "n3"]) == ["n2"]
    assert nodes_to_ask("PodMetrics", "pending", PODS, ["n1"]) == []


def test_a_node_read_asks_the_named_node_or_every_node():
    assert nodes_to_ask("NodeMetrics", None, PODS, ["n2", "n1"]) == ["n1", "n2"]
    assert nodes_to_ask("NodeMetrics", "n9", PODS, ["n1"]) == []


def test_figures_become_kubernetes_quantities():
    stats = {"timestamp": "2026-12-06T22:00:00Z", "window": 1.0,
             "node": {"cpu": 1_500_000_000, "memory": 3 * 1024 * 1024 + 5}}
    entry = {"namespace": "default", "name": "a",
             "containers": [{"name": "c", "cpu": 250_000_000, "memory": 2048}]}
    assert node_metrics("n1", stats)["usage"] == {"cpu": "1500000000n", "memory": "3072Ki"}
    made = pod_metrics(entry, stats, {"app": "x"})
    assert (made["window"], made["metadata"]["labels"]) == ("1s", {"app": "x"})
    assert made["containers"] == [{"name": "c", "usage": {"cpu": "250000000n",
                                                          "memory": "2Ki"}}]
