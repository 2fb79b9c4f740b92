"""The scheduler's decision (actors/scheduler.py, :func:`pick_node`): filter nodes, score the
survivors by least allocation, and say why nothing fits as kube-scheduler does."""

from __future__ import annotations

from typing import Any

from actors.scheduler import pick_node
from tests.conftest import node, pod

Object = dict[str, Any]


def bound(pod_: Object, node_name: str, phase: str = "Running") -> Object:
    """``pod_`` as it looks once bound to ``node_name`` and in ``phase``."""
    return dict(pod_, spec=dict(pod_["spec"], nodeName=node_name), status={"phase": phase})


def cordoned(name: str, **resources: Any) -> Object:
    return dict(node(name, **resources), spec={"unschedulable": True})


def test_picks_the_ready_node():
    assert pick_node(pod("web"), [node("down", ready=False), node("up")], []) == ("up", "")


def test_never_picks_a_not_ready_or_unschedulable_node_however_empty():
    nodes = [node("a-down", cpu="64", ready=False), cordoned("b-cordoned", cpu="64"),
             node("c-small", cpu="1")]
    assert pick_node(pod("web", cpu="500m"), nodes, [])[0] == "c-small"


def test_counts_the_requests_of_pods_already_bound():
    nodes = [node("a", cpu="2", memory="1Gi"), node("b", cpu="2", memory="1Gi")]
    running = [bound(pod("cpu-hog", cpu="1500m"), "a"), bound(pod("mem-hog", memory="900Mi"), "b")]
    assert pick_node(pod("web", cpu="1"), nodes, running)[0] == "b"
    assert pick_node(pod("web", memory="512Mi"), nodes, running)[0] == "a"


def test_finished_pods_hold_no_resources():
    finished = [bound(pod("done", cpu="2"), "a", "Succeeded"),
                bound(pod("crashed", cpu="2"), "a", "Failed")]
    assert pick_node(pod("web", cpu="2"), [node("a", cpu="2")], finished)[0] == "a"


def test_prefers_the_least_allocated_node():
    nodes = [node("a-busy"), node("b-idle")]
    running = [bound(pod("other", cpu="500m", memory="1Gi"), "a-busy")]
    assert pick_node(pod("web", cpu="100m"), nodes, running)[0] == "b-idle"


def test_breaks_ties_by_node_name():
    assert pick_node(pod("web", cpu="1"), [node("c"), node("a"), node("b")], [])[0] == "a"


def test_nothing_fits_says_why_with_counts_of_sorted_reasons():
    nodes = [node("small", cpu="500m"), node("down", ready=False), cordoned("cordoned")]
    assert pick_node(pod("web", cpu="1"), nodes, []) == (
        None, "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) were not ready, "
              "1 node(s) were unschedulable.")


def test_nothing_fits_counts_every_node_a_reason_applies_to():
    nodes = [node("a", memory="256Mi"), node("b", memory="256Mi")]
    assert pick_node(pod("web", cpu="4", memory="1Gi"), nodes, []) == (
        None, "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.")


def test_a_full_node_has_too_many_pods():
    full = node("a")
    full["status"]["allocatable"] = dict(full["status"]["allocatable"], pods="1")
    assert pick_node(pod("web"), [full], [bound(pod("other"), "a")]) == (
        None, "0/1 nodes are available: 1 Too many pods.")


def test_no_nodes_at_all_is_said_plainly():
    assert pick_node(pod("web"), [], []) == (None, "0/0 nodes are available: no nodes registered.")


def test_pods_without_requests_still_spread_over_equal_nodes():
    nodes = [node("a"), node("b")]
    assert pick_node(pod("first"), nodes, [])[0] == "a"
    assert pick_node(pod("second"), nodes, [bound(pod("first"), "a")])[0] == "b"


def test_node_selector_must_match_the_nodes_labels():
    labelled = node("ssd-node")
    labelled["metadata"]["labels"] = {"disk": "ssd"}
    wanting = pod("db")
    wanting["spec"]["nodeSelector"] = {"disk": "ssd"}
    assert pick_node(wanting, [node("plain"), labelled], [])[0] == "ssd-node"
    assert pick_node(wanting, [node("plain")], []) == (
        None, "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")


def tainted(name: str, key: str, value: str = "", effect: str = "NoSchedule") -> Object:
    return dict(node(name), spec={"taints": [{"key": key, "value": value, "effect": effect}]})


def test_a_pod_goes_only_where_it_tolerates_the_taints():
    nodes = [tainted("gpu", "dedicated", "gpu"), node("plain", cpu="1")]
    assert pick_node(pod("web", cpu="500m"), nodes, [])[0] == "plain"
    patient = pod("trainer", cpu="500m")
    patient["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                       "effect": "NoSchedule"}]
    assert pick_node(patient, [tainted("gpu", "dedicated", "gpu", )], [])[0] == "gpu"
    anything = pod("daemon")
    anything["spec"]["tolerations"] = [{"operator": "Exists"}]
    assert pick_node(anything, [tainted("gpu", "dedicated", "gpu")], [])[0] == "gpu"


def test_an_untolerated_taint_is_named_in_the_summary():
    message = pick_node(pod("web"), [tainted("gone", "node.kubernetes.io/unreachable",
                                             effect="NoExecute")], [])[1]
    assert message == ("0/1 nodes are available: 1 node(s) had untolerated taint "
                       "{node.kubernetes.io/unreachable: }.")
