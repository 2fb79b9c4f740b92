"""The one import home of extensions (actors/ext): the offline benches run plugins and
admission actors as the cluster would, and the profile configuration refuses what a Profile
refuses, before anything starts."""

from __future__ import annotations

from typing import Any

import pytest

from actors import ext


class FewestPods(ext.ScorePlugin):
    name = "FewestPods"

    def score(self, state: Any, pod: ext.PodInfo, node: ext.NodeInfo) -> tuple[int, ext.Status]:
        return max(ext.MAX_NODE_SCORE - 10 * len(node.pods), 0), ext.SUCCESS


class Raises(ext.FilterPlugin):
    name = "Raises"

    def filter(self, state: Any, pod: ext.PodInfo, node: ext.NodeInfo) -> ext.Status:
        raise KeyError("zone")


def bench(*plugins: Any, **weights: int) -> ext.SchedulingBench:
    return ext.SchedulingBench(plugins, weights, nodes=[ext.node("a"), ext.node("b")])


def test_placed_pods_count_for_the_next_and_scheduled_ones_do_not() -> None:
    spread = bench(FewestPods(), FewestPods=10)
    assert spread.schedule(ext.pod("x")).node == spread.schedule(ext.pod("y")).node == "a"
    assert [spread.place(ext.pod(name)).node for name in ("p", "q", "r")] == ["a", "b", "a"]


def test_a_plugin_that_raises_is_an_error_placement_naming_it() -> None:
    placement = bench(Raises()).place(ext.pod("x"))
    assert (placement.node, placement.status.code) == (None, ext.Code.ERROR)
    assert placement.message == "running Filter plugin Raises on node a: raised KeyError: 'zone'"


def test_a_pod_that_fits_nowhere_gets_the_failed_scheduling_message() -> None:
    placement = bench().place(ext.pod("huge", cpu="64"))
    assert (placement.node, placement.message) == (
        None, "0/2 nodes are available: 2 Insufficient cpu.")


def test_a_pod_counted_on_a_node_must_name_it() -> None:
    with pytest.raises(ValueError, match="bound to no node"):
        bench().add_pod(ext.pod("x"))


@pytest.mark.parametrize(("plugins", "weights", "refusal"), [
    ((FewestPods(), FewestPods()), {}, 'plugin "FewestPods" is in the profile twice'),
    ((FewestPods(),), {"Fewest": 2}, 'a weight for plugin "Fewest", which is not in'),
    ((Raises(),), {"Raises": 2}, 'plugin "Raises" does not extend Score plugin'),
    ((object(),), {}, "has no name")])
def test_a_profile_config_refuses_what_a_profile_refuses(plugins, weights, refusal) -> None:
    with pytest.raises((TypeError, ValueError), match=refusal):
        ext.ProfileConfig(plugins, weights)


class Picky(ext.AdmissionActor):
    def admit(self, review: ext.Review) -> ext.Verdict:
        if review.operation == "DELETE":
            raise RuntimeError("cannot decide")
        labels = (review.object or {}).get("metadata", {}).get("labels") or {}
        return ext.allow() if "team" in labels else ext.deny("pods need a team", 403)


def test_the_admission_bench_reads_codes_and_raises_what_admit_raises() -> None:
    picky = ext.AdmissionBench(Picky)
    assert picky.admit(ext.pod("x")).code == 403
    assert picky.admit(ext.pod("x", labels={"team": "a"})).allowed
    with pytest.raises(RuntimeError, match="cannot decide"):
        picky.admit(None, operation="DELETE", old=ext.pod("x"))
