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


def _request(kind: str, name: str | None = None):
    from types import SimpleNamespace
    return SimpleNamespace(info=SimpleNamespace(kind=kind, qualified=f"{kind.lower()}.x"),
                           name=name, options=SimpleNamespace(label_selector=None,
                                                              field_selector=None))


def _stats(*entries: dict, node: dict | None = None) -> dict:
    return {"timestamp": "2026-12-06T22:00:00Z", "window": 1.0,
            "node": node or {"cpu": 1, "memory": 1024}, "pods": list(entries)}


def _entry(name: str, cpu: object = 5, memory: object = 2048) -> dict:
    return {"namespace": "default", "name": name,
            "containers": [{"name": "c", "cpu": cpu, "memory": memory}]}


def test_a_node_answering_for_pods_not_on_it_is_not_believed():
    """n2 (compromised) claims figures for a, which runs on n1: only n1's figures count."""
    from actors.apiserver.metrics import answer
    stats = {"n1": _stats(_entry("a", cpu=5)), "n2": _stats(_entry("a", cpu=10**12),
                                                           _entry("b", cpu=7))}
    made = answer(_request("PodMetrics"), stats, PODS)
    assert [(i["metadata"]["name"], i["containers"][0]["usage"]["cpu"])
            for i in made["items"]] == [("a", "5n"), ("b", "7n")]


def test_garbage_figures_are_left_out_not_a_500():
    from actors.apiserver.metrics import answer
    bad = [_entry("a", cpu="lots"), _entry("c", cpu=float("inf")), {"name": "x"}, "junk",
           _entry("a", memory=-5), _entry("c", cpu=float("nan"))]
    stats = {"n1": _stats(*bad), "n2": _stats(_entry("b"))}
    made = answer(_request("PodMetrics"), stats, PODS)
    assert [i["metadata"]["name"] for i in made["items"]] == ["b"]
    nodes = answer(_request("NodeMetrics"), {"n1": _stats(node={"cpu": "x"}),
                                            "n2": {"pods": 3}, "n3": _stats()}, PODS)
    assert [i["metadata"]["name"] for i in nodes["items"]] == ["n3"]


def test_a_node_that_did_not_answer_is_not_asked_again_until_the_cache_period_ends():
    """A dead or hostile node must not cost every metrics read (kubectl top, each HPA sync)
    metrics_call_seconds again: its silence is remembered as its answer would be."""
    from types import SimpleNamespace

    from actors.apiserver.admission.chain import ExternalCall
    from actors.apiserver.metrics import Metrics
    from bus.envelope import Envelope
    from bus.subjects import Subjects

    reader = Metrics()
    reader.config = SimpleNamespace(metrics_cache_seconds=60.0, metrics_call_seconds=5.0)
    reader.subjects, reader._stats = Subjects(), {}
    envelope = Envelope(trace_id="t", span_id="s", verb="list", resource="pods")

    def read() -> list:
        asked, steps = [], reader._node_stats("n1", envelope)
        try:
            step = next(steps)
            while True:
                asked.append(step)
                step = steps.send(TimeoutError())
        except StopIteration as done:
            assert done.value is None
        return asked

    assert [type(s) for s in read()] == [ExternalCall]
    assert read() == []


def test_a_timestamp_that_is_not_a_time_leaves_the_nodes_figures_out():
    """Clients (kubectl top) decode the timestamp: a node's garbage must not reach them."""
    from actors.apiserver.metrics import answer
    odd = [{**_stats(), "timestamp": value} for value in ({"$x": 1}, 5, "yesterday")]
    stats = {"n1": odd[0], "n2": odd[1], "n3": odd[2], "n4": _stats()}
    nodes = answer(_request("NodeMetrics"), stats, PODS)
    assert [i["metadata"]["name"] for i in nodes["items"]] == ["n4"]
