"""The default plugins (actors/scheduler/plugins.py), each as a pure function, and the whole
default profile's decision: filter nodes, score the survivors, say why nothing fits as
kube-scheduler does."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.objects import Object
from actors.api.placement import (
    expression_matches,
    field_matches,
    node_matches,
    tolerates,
    untolerated_taint,
)
from actors.scheduler.cache import Cache
from actors.scheduler.framework import Framework, Profile
from actors.scheduler.interface import SUCCESS, CycleState, error
from actors.scheduler.nodeinfo import NodeInfo, PodInfo, pod_key
from actors.scheduler.plugins import (
    DEFAULT_WEIGHTS,
    DefaultBinder,
    NodeAffinity,
    NodeName,
    NodeReady,
    NodeResourcesBalancedAllocation,
    NodeResourcesFit,
    NodeUnschedulable,
    TaintToleration,
    balanced_allocation,
    default_plugins,
    insufficient_resources,
    intolerable_preferences,
    least_allocated,
    preferred_score,
)
from tests.conftest import node, pod


def bound(pod_: Object, node_name: str, phase: str = "Running") -> Object:
    """``pod_`` as it looks once bound to ``node_name`` and in ``phase``."""
    return dict(pod_, spec=dict(pod_["spec"], nodeName=node_name), status={"phase": phase})


def cordoned(name: str, **resources: Any) -> Object:
    return dict(node(name, **resources), spec={"unschedulable": True})


def tainted(name: str, key: str, value: str = "", effect: str = "NoSchedule") -> Object:
    return dict(node(name), spec={"taints": [{"key": key, "value": value, "effect": effect}]})


def labelled(name: str, **labels: str) -> Object:
    obj = node(name)
    obj["metadata"]["labels"] = labels
    return obj


def info(obj: Object, *running: Object) -> NodeInfo:
    node_info = NodeInfo(obj["metadata"]["name"])
    node_info.set_node(obj)
    for other in running:
        node_info.add_pod(PodInfo.of(other))
    return node_info


def pick_node(pod_: Object, nodes: list[Object], pods: list[Object]) -> tuple[str | None, str]:
    """What the default profile decides: (node, "") or (None, the FailedScheduling message)."""
    cache = Cache()
    for obj in nodes:
        cache.set_node(obj)
    for other in pods:
        cache.pod_changed(other)
    plugins = tuple(p for p in default_plugins(client=None)
                    if not isinstance(p, DefaultBinder))  # binding is not decided here
    result = Framework(Profile(plugins, DEFAULT_WEIGHTS), cache).schedule(
        {}, PodInfo.of(pod_), cache.node_list())
    return result.node, "" if result.node else result.message


# -- the whole default profile ------------------------------------------------------------------


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


def test_reasons_are_sorted_as_strings_with_their_counts_like_kube_scheduler():
    nodes = [node("a", cpu="500m"), node("b", cpu="500m"), tainted("c", "dedicated", "gpu")]
    assert pick_node(pod("web", cpu="1"), nodes, [])[1] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "2 Insufficient cpu.")


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
    wanting = pod("db")
    wanting["spec"]["nodeSelector"] = {"disk": "ssd"}
    assert pick_node(wanting, [node("plain"), labelled("ssd-node", disk="ssd")], [])[0] == (
        "ssd-node")
    assert pick_node(wanting, [node("plain")], []) == (
        None, "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")


def test_a_pod_goes_only_where_it_tolerates_the_taints():
    nodes = [tainted("gpu", "dedicated", "gpu"), node("plain", cpu="1")]
    assert pick_node(pod("web", cpu="500m"), nodes, [])[0] == "plain"
    patient = pod("trainer", cpu="500m")
    patient["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                       "effect": "NoSchedule"}]
    assert pick_node(patient, [tainted("gpu", "dedicated", "gpu")], [])[0] == "gpu"
    anything = pod("daemon")
    anything["spec"]["tolerations"] = [{"operator": "Exists"}]
    assert pick_node(anything, [tainted("gpu", "dedicated", "gpu")], [])[0] == "gpu"


def test_an_untolerated_taint_is_named_in_the_summary():
    message = pick_node(pod("web"), [tainted("gone", "node.kubernetes.io/unreachable",
                                             effect="NoExecute")], [])[1]
    assert message == ("0/1 nodes are available: 1 node(s) had untolerated taint "
                       "{node.kubernetes.io/unreachable: }.")


def test_prefer_no_schedule_taints_push_pods_elsewhere_but_do_not_forbid():
    nodes = [tainted("a-soft", "spot", "yes", "PreferNoSchedule"), node("b-plain")]
    assert pick_node(pod("web"), nodes, [])[0] == "b-plain"
    assert pick_node(pod("web"), nodes[:1], [])[0] == "a-soft"


# -- TaintToleration ------------------------------------------------------------------------


@pytest.mark.parametrize(("toleration", "taint", "expected"), [
    ({"key": "k", "value": "v", "effect": "NoSchedule"}, {"key": "k", "value": "v",
                                                          "effect": "NoSchedule"}, True),
    ({"key": "k", "value": "w"}, {"key": "k", "value": "v", "effect": "NoSchedule"}, False),
    ({"key": "k", "operator": "Exists"}, {"key": "k", "value": "v", "effect": "NoExecute"}, True),
    ({"key": "k", "operator": "Exists", "effect": "NoExecute"},
     {"key": "k", "effect": "NoSchedule"}, False),
    ({"operator": "Exists"}, {"key": "anything", "effect": "NoSchedule"}, True),
    ({"key": "other", "operator": "Exists"}, {"key": "k", "effect": "NoSchedule"}, False),
    ({"key": "k"}, {"key": "k", "effect": "NoSchedule"}, True),  # Equal, both values empty
])
def test_tolerates_follows_kubernetes_rules(toleration, taint, expected):
    assert tolerates(toleration, taint) is expected


def test_untolerated_taint_is_the_first_no_toleration_matches():
    taints = [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoSchedule"}]
    assert untolerated_taint(taints, [{"key": "a", "operator": "Exists"}]) == taints[1]
    assert untolerated_taint(taints, [{"operator": "Exists"}]) is None


def test_only_soft_tolerations_count_against_prefer_no_schedule_taints():
    taints = [{"key": "a", "effect": "PreferNoSchedule"}, {"key": "b",
                                                           "effect": "PreferNoSchedule"}]
    assert intolerable_preferences(taints, []) == 2
    assert intolerable_preferences(taints, [{"key": "a", "operator": "Exists"}]) == 1
    assert intolerable_preferences(taints, [{"key": "a", "operator": "Exists",
                                             "effect": "NoSchedule"}]) == 2


def test_taint_toleration_filter_rejects_with_kubernetes_words_and_scores_reversed():
    plugin = TaintToleration()
    status = plugin.filter({}, PodInfo.of(pod("web")), info(tainted("n", "k", "v")))
    assert status.reasons == ("node(s) had untolerated taint {k: v}",)
    assert status.code.value == "UnschedulableAndUnresolvable"
    scores = {"clean": 0.0, "one": 1.0, "two": 2.0}
    plugin.normalize_score({}, PodInfo.of(pod("web")), scores)
    assert scores == {"clean": 100, "one": 50, "two": 0}


# -- NodeUnschedulable, NodeReady, NodeName ---------------------------------------------------


def test_node_unschedulable_lets_in_pods_tolerating_the_unschedulable_taint():
    plugin, node_info = NodeUnschedulable(), info(cordoned("c"))
    assert plugin.filter({}, PodInfo.of(pod("web")), node_info).reasons == (
        "node(s) were unschedulable",)
    tolerant = pod("ds")
    tolerant["spec"]["tolerations"] = [{"key": "node.kubernetes.io/unschedulable",
                                        "operator": "Exists", "effect": "NoSchedule"}]
    assert plugin.filter({}, PodInfo.of(tolerant), node_info).ok


def test_node_ready_maps_not_ready_and_unknown_to_kubernetes_taints():
    plugin = NodeReady()
    down = info(node("down", ready=False))
    unknown_node = node("lost")
    unknown_node["status"]["conditions"][0]["status"] = "Unknown"
    unknown = info(unknown_node)
    assert plugin.filter({}, PodInfo.of(pod("web")), down).reasons == ("node(s) were not ready",)
    patient = pod("patient")
    patient["spec"]["tolerations"] = [{"key": "node.kubernetes.io/not-ready",
                                       "operator": "Exists"}]
    assert plugin.filter({}, PodInfo.of(patient), down).ok
    assert not plugin.filter({}, PodInfo.of(patient), unknown).ok
    assert plugin.filter({}, PodInfo.of(pod("web")), info(node("up"))).ok


def test_node_name_skips_pods_that_name_no_node_and_holds_the_others_to_it():
    plugin, anywhere, pinned = NodeName(), pod("web"), pod("pinned")
    pinned["spec"]["nodeName"] = "b"
    assert plugin.pre_filter({}, PodInfo.of(anywhere), []).code.value == "Skip"
    assert plugin.pre_filter({}, PodInfo.of(pinned), []).ok
    assert plugin.filter({}, PodInfo.of(pinned), info(node("b"))).ok
    assert plugin.filter({}, PodInfo.of(pinned), info(node("a"))).reasons == (
        "node(s) didn't match the requested node name",)


# -- NodeAffinity -------------------------------------------------------------------------


LABELS = {"zone": "a", "disk": "ssd", "cores": "8"}


@pytest.mark.parametrize(("expression", "expected"), [
    ({"key": "zone", "operator": "In", "values": ["a", "b"]}, True),
    ({"key": "zone", "operator": "In", "values": ["c"]}, False),
    ({"key": "zone", "operator": "NotIn", "values": ["c"]}, True),
    ({"key": "missing", "operator": "NotIn", "values": ["c"]}, True),
    ({"key": "zone", "operator": "NotIn", "values": ["a"]}, False),
    ({"key": "disk", "operator": "Exists"}, True),
    ({"key": "gpu", "operator": "Exists"}, False),
    ({"key": "gpu", "operator": "DoesNotExist"}, True),
    ({"key": "disk", "operator": "DoesNotExist"}, False),
    ({"key": "cores", "operator": "Gt", "values": ["4"]}, True),
    ({"key": "cores", "operator": "Gt", "values": ["8"]}, False),
    ({"key": "cores", "operator": "Lt", "values": ["16"]}, True),
    ({"key": "zone", "operator": "Lt", "values": ["16"]}, False),  # not an integer
    ({"key": "missing", "operator": "Gt", "values": ["1"]}, False),
    ({"key": "zone", "operator": "Like", "values": ["a"]}, False),
])
def test_match_expressions_operators(expression, expected):
    assert expression_matches(expression, LABELS) is expected


def test_match_fields_know_only_the_node_name():
    assert field_matches({"key": "metadata.name", "operator": "In", "values": ["n1"]}, "n1")
    assert field_matches({"key": "metadata.name", "operator": "NotIn", "values": ["n2"]}, "n1")
    assert not field_matches({"key": "metadata.name", "operator": "Exists"}, "n1")
    assert not field_matches({"key": "metadata.uid", "operator": "In", "values": ["n1"]}, "n1")


def affinity(*terms: Object) -> Object:
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}}


def test_required_terms_are_ored_and_their_requirements_anded():
    spec = affinity(
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
        {"matchExpressions": [{"key": "disk", "operator": "Exists"},
                              {"key": "cores", "operator": "Gt", "values": ["4"]}]})
    assert node_matches(spec, LABELS, "n1")
    assert not node_matches(spec, {"zone": "a", "disk": "ssd"}, "n1")


def test_an_empty_term_matches_nothing_and_empty_terms_match_nothing():
    assert not node_matches(affinity({}), LABELS, "n1")
    assert not node_matches(affinity(), LABELS, "n1")


def test_node_selector_and_required_affinity_must_both_hold():
    spec = affinity({"matchFields": [{"key": "metadata.name", "operator": "In",
                                      "values": ["n1"]}]})
    spec["nodeSelector"] = {"disk": "ssd"}
    assert node_matches(spec, LABELS, "n1")
    assert not node_matches(spec, LABELS, "n2")
    assert not node_matches(spec, {"zone": "a"}, "n1")


def test_node_affinity_skips_pods_without_selector_or_requirement():
    plugin = NodeAffinity()
    assert plugin.pre_filter({}, PodInfo.of(pod("web")), []).code.value == "Skip"
    picky = pod("picky")
    picky["spec"].update(affinity({"matchExpressions": [{"key": "zone", "operator": "In",
                                                         "values": ["b"]}]}))
    assert plugin.pre_filter({}, PodInfo.of(picky), []).ok
    assert plugin.filter({}, PodInfo.of(picky), info(labelled("n", zone="a"))).reasons == (
        "node(s) didn't match Pod's node affinity/selector",)
    assert plugin.filter({}, PodInfo.of(picky), info(labelled("n", zone="b"))).ok


def test_preferred_affinity_adds_the_weights_of_matching_terms():
    spec = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]}]}},
        {"weight": 5, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "Exists"}]}}]}}}
    assert preferred_score(spec, LABELS, "n") == 15
    assert preferred_score(spec, {"zone": "a"}, "n") == 10
    wanting = pod("w")
    wanting["spec"].update(spec)
    assert pick_node(wanting, [node("a-plain"), labelled("b-zone-a", zone="a")], [])[0] == (
        "b-zone-a")


# -- NodeResourcesFit, LeastAllocated, BalancedAllocation -------------------------------------


def test_insufficient_resources_names_each_short_resource_in_kubernetes_order():
    small = node("n", cpu="1", memory="1Gi")
    small["status"]["allocatable"]["pods"] = "1"
    busy = info(small, bound(pod("other", cpu="500m"), "n"))
    assert insufficient_resources(PodInfo.of(pod("web", cpu="1", memory="2Gi")), busy) == [
        "Too many pods", "Insufficient cpu", "Insufficient memory"]
    assert insufficient_resources(PodInfo.of(pod("web", cpu="500m")),
                                  info(node("n", cpu="1"), bound(pod("o", cpu="500m"), "n"))
                                  ) == []


def test_a_pod_requesting_nothing_fits_a_node_with_nothing_left():
    full = info(node("n", cpu="1"), bound(pod("hog", cpu="1"), "n"))
    assert insufficient_resources(PodInfo.of(pod("best-effort")), full) == []


def with_init(pod_: Object, *requests: dict[str, str], sidecar: bool = False) -> Object:
    """``pod_`` with init containers requesting ``requests`` (sidecars when ``sidecar``)."""
    inits = [{"name": f"init-{i}", "image": "busybox:1.35", "resources": {"requests": asked},
              **({"restartPolicy": "Always"} if sidecar else {})}
             for i, asked in enumerate(requests)]
    return dict(pod_, spec=dict(pod_["spec"], initContainers=inits))


def test_an_init_container_asking_more_than_the_app_sets_what_the_pod_needs():
    heavy = PodInfo.of(with_init(pod("p", cpu="500m", memory="64Mi"), {"cpu": "3"},
                                 {"memory": "1Gi"}))
    assert (heavy.cpu, heavy.memory) == (3000, 2**30)
    assert insufficient_resources(heavy, info(node("n", cpu="2"))) == ["Insufficient cpu"]
    light = PodInfo.of(with_init(pod("p", cpu="1"), {"cpu": "200m"}))
    assert light.cpu == 1000 and insufficient_resources(light, info(node("n", cpu="1"))) == []


def test_sidecars_add_to_the_app_and_to_the_init_containers_after_them():
    proxy = with_init(pod("p", cpu="1"), {"cpu": "500m"}, sidecar=True)
    proxy["spec"]["initContainers"].append(
        {"name": "migrate", "image": "busybox:1.35", "resources": {"requests": {"cpu": "2"}}})
    assert PodInfo.of(proxy).cpu == 2500  # migrate runs beside the proxy: 2 + 0.5 > 1 + 0.5


def test_a_node_counts_the_init_containers_of_its_pods_and_scores_their_defaults():
    placed = bound(with_init(pod("p", cpu="100m"), {"cpu": "1500m"}), "n")
    busy = info(node("n", cpu="2"), placed)
    assert busy.requested_cpu == 1500
    assert insufficient_resources(PodInfo.of(pod("q", cpu="600m")), busy) == ["Insufficient cpu"]
    empty_init = PodInfo.of(with_init(pod("p", cpu="50m", memory="10Mi"), {}))
    assert (empty_init.nonzero_cpu, empty_init.nonzero_memory) == (100, 200 * 2**20)
    assert pick_node(pod("q", cpu="600m"), [node("n", cpu="2")], [placed]) == (
        None, "0/1 nodes are available: 1 Insufficient cpu.")


def test_least_allocated_is_the_mean_free_share_after_placing_the_pod():
    empty = info(node("n", cpu="2", memory="4Gi"))
    # integers, truncated at each step as kube-scheduler's leastRequestedScore
    assert least_allocated(PodInfo.of(pod("p", cpu="1", memory="1Gi")), empty) == 62  # 125/2
    # a pod without requests counts as 100m and 200Mi: cpu 95, memory 95 (95.1 truncated)
    assert least_allocated(PodInfo.of(pod("p")), empty) == 95
    assert least_allocated(PodInfo.of(pod("p", cpu="4")), empty) == 47  # cpu over capacity: 0


def test_balanced_allocation_prefers_equal_shares_of_cpu_and_memory():
    empty = info(node("n", cpu="2", memory="4Gi"))
    assert balanced_allocation(PodInfo.of(pod("p", cpu="1", memory="2Gi")), empty) == 100
    assert balanced_allocation(PodInfo.of(pod("p", cpu="2", memory="0")), empty) == 50
    # int((1 - |0.5 - 0.25| / 2) * 100) = int(87.5)
    assert balanced_allocation(PodInfo.of(pod("p", cpu="1", memory="1Gi")), empty) == 87


def test_every_default_score_is_an_integer_in_range_with_the_shared_success():
    nodes = [info(labelled("a", zone="a")),
             info(node("b", cpu="1"), bound(pod("o", cpu="1"), "b")),
             info(tainted("c", "k", effect="PreferNoSchedule"))]
    web = pod("web", cpu="250m", memory="100Mi")
    zone = {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}
    web["spec"]["affinity"] = {"nodeAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 7, "preference": zone}]}}
    web_info = PodInfo.of(web)
    for plugin in default_plugins(client=None):
        if not hasattr(plugin, "score"):
            continue
        results = [plugin.score({}, web_info, n) for n in nodes]
        assert all(status is SUCCESS for _, status in results), plugin.name
        scores = {n.name: value for n, (value, _) in zip(nodes, results, strict=True)}
        if hasattr(plugin, "normalize_score"):
            assert plugin.normalize_score({}, web_info, scores).ok
        assert all(type(value) is int and 0 <= value <= 100 for value in scores.values()), (
            plugin.name, scores)


def test_balanced_allocation_is_skipped_for_pods_that_request_nothing():
    plugin = NodeResourcesBalancedAllocation()
    assert plugin.pre_score({}, PodInfo.of(pod("p")), []).code.value == "Skip"
    assert plugin.pre_score({}, PodInfo.of(pod("p", cpu="1")), []).ok


@pytest.mark.parametrize(("plugin", "pure"), [
    (NodeResourcesFit(), least_allocated),
    (NodeResourcesBalancedAllocation(), balanced_allocation)])
def test_resource_scores_are_worked_out_once_per_usage_in_a_cycle_and_equal_the_pure_ones(
        plugin, pure):
    # six nodes, three usages: two shapes, one of them loaded on two nodes
    nodes = [info(node("a")), info(node("b")), info(node("c", cpu="8", memory="16Gi")),
             info(node("d"), bound(pod("o1", cpu="1", memory="1Gi"), "d")),
             info(node("e"), bound(pod("o2", cpu="1", memory="1Gi"), "e")),
             info(node("f", cpu="8", memory="16Gi"))]
    web, state = PodInfo.of(pod("web", cpu="500m", memory="256Mi")), CycleState()
    assert plugin.pre_score(state, web, nodes).ok
    scores = [plugin.score(state, web, n)[0] for n in nodes]
    assert scores == [pure(web, n) for n in nodes]
    assert len(state[plugin.name]) == 3  # a, b share one; c, f one; d, e one
    assert plugin.score_nodes(CycleState(), web, nodes) == scores  # all at once: the same
    nodes[0].add_pod(PodInfo.of(bound(pod("o3", cpu="2", memory="0"), "a")))  # a changes
    assert plugin.score(state, web, nodes[0])[0] == pure(web, nodes[0])  # its usage is new
    assert plugin.score({}, web, nodes[3])[0] == pure(web, nodes[3])  # no PreScore: computed


def test_balanced_allocation_breaks_a_least_allocated_tie_toward_even_use():
    # both nodes end half free on average (a tie for LeastAllocated, which names would break
    # for a), but on b-even cpu and memory stay used alike
    nodes = [node("a-cpu-heavy", cpu="4", memory="4Gi"), node("b-even", cpu="4", memory="4Gi")]
    running = [bound(pod("cpu", cpu="2", memory="0"), "a-cpu-heavy"),
               bound(pod("mix", cpu="1", memory="1Gi"), "b-even")]
    assert pick_node(pod("web", cpu="1", memory="1Gi"), nodes, running)[0] == "b-even"


def test_node_wide_pre_filter_answers_follow_the_snapshot_when_a_node_changes():
    cache, plugin, web = Cache(), TaintToleration(), PodInfo.of(pod("web"))
    cache.set_node(node("a"))
    first = cache.node_list()
    assert cache.node_list() is first  # pods and cycles keep the snapshot
    assert plugin.pre_filter({}, web, first).code.value == "Skip"
    cache.set_node(tainted("a", "dedicated", "gpu"))  # the same node, now tainted
    second = cache.node_list()
    assert second is first and second.generation > 0  # changed in place, generation moved
    assert second[0].hard_taints
    assert plugin.pre_filter({}, web, second).ok
    assert pick_node(pod("web"), [tainted("a", "dedicated", "gpu")], [])[0] is None


def test_the_snapshot_is_updated_incrementally_and_matches_one_built_afresh():
    cache = Cache()
    for name in ("b", "d", "a"):
        cache.set_node(node(name))
    snapshot = cache.node_list()
    generation = snapshot.generation
    cache.pod_changed(bound(pod("p", cpu="1"), "b"))  # pods leave the snapshot as it is
    assert cache.node_list() is snapshot and snapshot.generation == generation
    cache.set_node(cordoned("d"))  # a change: in place, a new generation
    assert cache.node_list() is snapshot and snapshot.generation > generation
    cache.set_node(node("c"))  # a node comes: a new list, in name order
    cache.remove_node("a")  # and one goes
    updated = cache.node_list()
    afresh = Cache()
    for obj in (node("b"), cordoned("d"), node("c")):
        afresh.set_node(obj)
    afresh.pod_changed(bound(pod("p", cpu="1"), "b"))
    assert updated is not snapshot
    assert [(n.name, n.unschedulable, n.usage) for n in updated] == [
        (n.name, n.unschedulable, n.usage) for n in afresh.node_list()]
    assert [n.name for n in updated] == ["b", "c", "d"]


def test_a_pod_assumed_on_a_node_is_then_kept_as_its_watch_tells_it_not_as_it_was_pending():
    cache, pending = Cache(), pod("p", cpu="1")
    cache.set_node(node("a"))
    cache.assume(PodInfo.of(pending), "a")
    running = bound(pending, "a")  # the informer's object: the only copy worth keeping
    cache.pod_changed(running)
    placed = cache.node("a")
    assert placed is not None and placed.pods[pod_key(running)].pod is running


def test_node_wide_answers_are_worked_out_again_only_when_the_generation_moves():
    cache, plugin, web = Cache(), NodeUnschedulable(), PodInfo.of(pod("web"))
    cache.set_node(node("a"))
    looked: list[str] = []
    real = plugin._cordoned._get

    def get(info: NodeInfo) -> bool:
        looked.append(info.name)
        return bool(real(info))

    plugin._cordoned._get = get  # type: ignore[assignment]
    assert plugin.pre_filter({}, web, cache.node_list()).code.value == "Skip"
    cache.pod_changed(bound(pod("p"), "a"))
    assert plugin.pre_filter({}, web, cache.node_list()).code.value == "Skip"
    assert looked == ["a"]  # once: pods do not move the generation
    cache.set_node(cordoned("a"))
    assert plugin.pre_filter({}, web, cache.node_list()).ok
    assert looked == ["a", "a"]


class OneByOne:
    """NodeResourcesFit's Filter without ``filter_nodes``: the one-by-one search."""

    name = "NodeResourcesFit"

    def __init__(self) -> None:
        self.fit = NodeResourcesFit()

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Any:
        return self.fit.filter(state, pod, node)


def test_the_search_in_chunks_finds_and_rejects_what_the_one_by_one_search_does():
    cache = Cache()
    for i in range(300):  # every third node full: rejections among the nodes that fit
        cache.set_node(node(f"n{i:03}", cpu="1"))
        if i % 3 == 0:
            cache.pod_changed(bound(pod(f"full{i}", cpu="1"), f"n{i:03}"))
    web = PodInfo.of(pod("web", cpu="500m"))
    chunked, single = Framework(Profile((NodeResourcesFit(),))), Framework(Profile((OneByOne(),)))
    for _ in range(3):  # from where the last cycle stopped, each time
        a, b = (f.schedule({}, web, cache.node_list()) for f in (chunked, single))
        assert (a.node, a.evaluated, a.feasible) == (b.node, b.evaluated, b.feasible)
        assert list(a.diagnosis.node_statuses.items()) == list(b.diagnosis.node_statuses.items())
        assert a.diagnosis.plugins == b.diagnosis.plugins == {"NodeResourcesFit"}
        assert a.evaluated == 216 and a.feasible == 144  # 48% of 300 found, 72 full passed by


def test_a_chunk_that_errs_is_searched_again_one_node_at_a_time_to_say_where():
    class Erring(NodeResourcesFit):
        def filter_nodes(self, state: CycleState, pod: PodInfo,
                         nodes: Any) -> list[Any]:
            return [error("disk on fire") if n.name == "b" else SUCCESS for n in nodes]

        def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Any:
            return error("disk on fire") if node.name == "b" else SUCCESS

    infos = [info(node(name)) for name in "abc"]
    result = Framework(Profile((Erring(),))).schedule({}, PodInfo.of(pod("web")), infos)
    assert result.node is None
    assert result.diagnosis.error == "running Filter plugin NodeResourcesFit on node b: " \
        "disk on fire", result.diagnosis.error


def test_the_resource_filter_decides_each_usage_once_a_cycle():
    asked: list[str] = []

    class Counting(NodeResourcesFit):
        def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Any:
            asked.append(node.name)
            return super().filter(state, pod, node)

    infos = [info(node("a")), info(node("b")), info(node("c", cpu="1"),
                                                    bound(pod("o", cpu="1"), "c"))]
    state = CycleState()
    statuses = Counting().filter_nodes(state, PodInfo.of(pod("web", cpu="1")), infos)
    assert [s.ok for s in statuses] == [True, True, False]
    assert statuses[2].reasons == ("Insufficient cpu",)
    assert len(asked) == 2  # a and b share a usage
