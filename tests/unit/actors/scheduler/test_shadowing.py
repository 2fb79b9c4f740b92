"""The shadow scheduler's comparison, offline: which node its profile chooses from the score
breakdowns, how ties go, the Event message and its reading back, the breakdown the framework
gives, and the plugins a shadow refuses."""

from __future__ import annotations

from typing import Any

import pytest

from actors.ext.scheduling import node, pod
from actors.scheduler import SUCCESS, ProfileConfig, Status
from actors.scheduler.cache import Cache
from actors.scheduler.framework import Framework
from actors.scheduler.interface import CycleState
from actors.scheduler.nodeinfo import PodInfo
from actors.scheduler.shadowing import ShadowConfig, decide, message, parse

WEIGHTS = {"NodeAffinity": 2, "NodeResourcesFit": 10}
SCORES = {"node-1": {"NodeAffinity": 100, "NodeResourcesFit": 54},
          "node-2": {"NodeAffinity": 0, "NodeResourcesFit": 97}}


def test_the_shadow_chooses_the_highest_weighted_total_and_says_it_differs() -> None:
    decision = decide("default/web", "node-1", SCORES, WEIGHTS)
    assert (decision.shadow, decision.agrees) == ("node-2", False)
    assert (decision.total("node-1"), decision.total("node-2")) == (740, 970)


def test_other_weights_agree_with_the_active_node() -> None:
    decision = decide("default/web", "node-1", SCORES, {"NodeAffinity": 2})
    assert (decision.shadow, decision.agrees) == ("node-1", True)


def test_a_tie_goes_to_the_active_node_and_is_no_disagreement() -> None:
    tied = {"node-a": {"Fit": 50}, "node-b": {"Fit": 50}, "node-c": {"Fit": 50}}
    assert decide("default/p", "node-b", tied, {}).shadow == "node-b"
    assert decide("default/p", "node-z", tied, {}).shadow == "node-a"  # else the first by name


def test_no_feasible_node_is_a_difference_that_says_why() -> None:
    decision = decide("default/p", "node-1", {}, WEIGHTS, "0/2 nodes are available: x.")
    assert (decision.shadow, decision.agrees) == (None, False)
    said = parse(message(decision, "default-scheduler", "shadow"))
    assert said is not None
    assert (said["shadow"], said["shadow_scores"]) == ("<none>", "0/2 nodes are available: x.")
    assert said["active_scores"] == "rejected by the shadow's filters"


def test_the_message_gives_both_nodes_and_breakdowns_and_reads_back() -> None:
    text = message(decide("default/web", "node-1", SCORES, WEIGHTS), "default-scheduler",
                   "shadow")
    assert text == ("default-scheduler bound node-1 (NodeAffinity 100x2, NodeResourcesFit "
                    "54x10: 740); shadow chose node-2 (NodeAffinity 0x2, NodeResourcesFit "
                    "97x10: 970)")
    assert parse(text) == {
        "active_name": "default-scheduler", "active": "node-1",
        "active_scores": "NodeAffinity 100x2, NodeResourcesFit 54x10: 740",
        "shadow_name": "shadow", "shadow": "node-2",
        "shadow_scores": "NodeAffinity 0x2, NodeResourcesFit 97x10: 970"}
    assert parse("Successfully assigned default/web to node-1") is None


PREFERS_NODE_1 = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    {"weight": 100, "preference": {"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}}]}}


def test_the_framework_breakdown_feeds_a_decision_that_a_heavier_fit_weight_changes() -> None:
    cache = Cache()
    for name in ("node-1", "node-2"):
        cache.set_node(node(name, labels={"kubernetes.io/hostname": name}))
    cache.pod_changed(pod("load", cpu="3", memory="1Gi", node="node-1"))
    web = PodInfo.of(pod("web", cpu="100m", memory="100Mi", affinity=PREFERS_NODE_1))
    chosen = {}
    for weights in ({}, {"NodeResourcesFit": 10}):
        framework = Framework(ShadowConfig(ProfileConfig((), weights)).framework_profile(), cache)
        state = CycleState()
        framework.schedule(state, web, cache.node_list())
        scores, failed = framework.scores_of(state, web, cache.node_list())
        assert failed == "" and scores["node-1"]["NodeAffinity"] == 100
        chosen[str(weights)] = decide(web.key, "node-1", scores, framework.weights).shadow
    assert chosen == {"{}": "node-1", "{'NodeResourcesFit': 10}": "node-2"}


class Binder:
    name = "Binder"

    def bind(self, state: Any, pod: Any, node: str) -> Status:
        return SUCCESS


def test_a_shadow_refuses_a_plugin_that_would_bind() -> None:
    with pytest.raises(ValueError, match="'Binder' is a BindPlugin: a shadow scheduler only "
                                         "filters and scores"):
        ShadowConfig(ProfileConfig((Binder(),)))
