"""The scheduling framework (actors/scheduler/framework.py): plugins are found by the methods
they have, statuses steer the cycle (Skip, rejections, Error, Wait at Permit), Unreserve runs
when a later step fails, scores are integers normalized to 0..100 and weighted (a Score,
PreScore or NormalizeScore that fails, or a score out of range, fails the cycle with Error),
and large clusters are only partly searched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from actors.scheduler.framework import (
    Diagnosis,
    Framework,
    Profile,
    fit_error_message,
    nodes_to_find,
    normalize,
)
from actors.scheduler.interface import SKIP, SUCCESS, Code, CycleState, Status, error, unschedulable
from actors.scheduler.nodeinfo import NodeInfo, PodInfo
from tests.conftest import node, pod


def nodes(*names: str) -> list[NodeInfo]:
    infos = []
    for name in names:
        info = NodeInfo(name)
        info.set_node(node(name))
        infos.append(info)
    return infos


WEB = PodInfo.of(pod("web"))


@dataclass
class Only:
    """Filter: only the nodes named; records the nodes it looked at."""

    allowed: set[str]
    name: str = "Only"
    seen: list[str] = field(default_factory=list)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        self.seen.append(node.name)
        return SUCCESS if node.name in self.allowed else unschedulable("not on the list")


@dataclass
class Fixed:
    """Score: a fixed score per node."""

    scores: dict[str, int]
    name: str = "Fixed"

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
        return self.scores[node.name], SUCCESS


class SkippingFilter:
    name: ClassVar[str] = "Skipper"

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Any) -> Status:
        return SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        raise AssertionError("a skipped filter must not run")


@dataclass
class Recorder:
    """Reserve and Permit, recording calls; ``verdict`` is what Permit answers."""

    name: str
    calls: list[str]
    reserve_status: Status = SUCCESS
    verdict: Status = SUCCESS

    def reserve(self, state: CycleState, pod: PodInfo, node: str) -> Status:
        self.calls.append(f"reserve {self.name}")
        return self.reserve_status

    def unreserve(self, state: CycleState, pod: PodInfo, node: str) -> None:
        self.calls.append(f"unreserve {self.name}")

    def permit(self, state: CycleState, pod: PodInfo, node: str) -> tuple[Status, float]:
        return self.verdict, 5.0


def test_plugins_are_filed_under_the_extension_points_whose_methods_they_have():
    calls: list[str] = []
    plugins: tuple[Any, ...] = (Only({"a"}), Fixed({}), SkippingFilter(), Recorder("r", calls))
    framework = Framework(Profile(plugins))
    assert [p.name for p in framework.filters] == ["Only", "Skipper"]
    assert [p.name for p in framework.pre_filters] == ["Skipper"]
    assert [p.name for p in framework.scores] == ["Fixed"]
    assert [p.name for p in framework.reserves] == [p.name for p in framework.permits] == ["r"]


def test_plugin_names_must_be_unique_in_a_profile():
    with pytest.raises(ValueError, match="unique"):
        Framework(Profile((Only(set()), Only(set()))))


def test_pre_filter_skip_turns_that_plugins_filter_off():
    framework = Framework(Profile((SkippingFilter(), Only({"b"}))))
    assert framework.schedule({}, WEB, nodes("a", "b")).node == "b"


def test_pre_filter_rejection_ends_the_cycle_with_its_message():
    class Refuse:
        name = "Refuse"

        def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Any) -> Status:
            return unschedulable("pod has unbound immediate PersistentVolumeClaims")

    result = Framework(Profile((Refuse(), Only({"a"})))).schedule({}, WEB, nodes("a", "b"))
    assert result.node is None
    assert result.message == ("0/2 nodes are available: pod has unbound immediate "
                              "PersistentVolumeClaims.")
    assert result.diagnosis.plugins == {"Refuse"}


def test_filter_error_is_an_error_not_a_rejection():
    class Broken:
        name = "Broken"

        def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
            return error("disk on fire")

    result = Framework(Profile((Broken(),))).schedule({}, WEB, nodes("a"))
    assert result.node is None
    assert result.message == "running Filter plugin Broken on node a: disk on fire"


def test_rejecting_plugins_are_recorded_for_the_queue():
    result = Framework(Profile((Only(set()),))).schedule({}, WEB, nodes("a", "b"))
    assert result.diagnosis.plugins == {"Only"}
    assert result.message == "0/2 nodes are available: 2 not on the list."


def test_post_filter_runs_only_when_no_node_fits_and_adds_its_message():
    seen: list[dict[str, Status]] = []

    class Preempt:
        name = "Preempt"

        def post_filter(self, state: CycleState, pod: PodInfo, statuses: Any) -> Status:
            seen.append(dict(statuses))
            return unschedulable("preemption: 0/2 nodes are available: 2 No preemption "
                                 "victims found for incoming pod")

    framework = Framework(Profile((Only({"a"}), Preempt())))
    assert framework.schedule({}, WEB, nodes("a", "b")).node == "a"
    assert seen == []
    result = framework.schedule({}, WEB, nodes("b", "c"))
    assert set(seen[0]) == {"b", "c"}
    assert result.message == (
        "0/2 nodes are available: 2 not on the list. preemption: 0/2 nodes are available: "
        "2 No preemption victims found for incoming pod.")


def test_a_plugin_gets_the_framework_and_runs_the_cycles_filters_through_it():
    class Simulator:
        name = "Simulator"
        framework: Framework | None = None

        def use_framework(self, framework: Framework) -> None:
            self.framework = framework

        def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
            raise AssertionError("left out by without=")

    simulator, only = Simulator(), Only({"a"})
    framework = Framework(Profile((SkippingFilter(), only, simulator)))
    assert simulator.framework is framework
    state: CycleState = {}
    framework.schedule(state, WEB, nodes("b"))  # the PreFilters run: Skipper is skipped
    b = nodes("b")[0]
    assert framework.run_filters(state, WEB, b, without="Simulator") == Status(
        Code.UNSCHEDULABLE, ("not on the list",), "Only")
    assert framework.run_filters(state, WEB, nodes("a")[0], without="Simulator").ok


def test_scores_are_normalized_by_the_plugins_that_can_and_weighted():
    class Reversed(Fixed):
        def normalize_score(self, state: CycleState, pod: PodInfo,
                            scores: dict[str, int]) -> Status:
            normalize(scores, reverse=True)
            return SUCCESS

    light = Fixed({"a": 60, "b": 50}, name="Light")  # a by 10 at weight 1
    heavy = Reversed({"a": 2, "b": 1}, name="Heavy")  # normalized: a 0, b 50; weight 1 -> b
    assert Framework(Profile((light, heavy))).schedule({}, WEB, nodes("a", "b")).node == "b"
    assert Framework(Profile((light, heavy), {"Light": 10})).schedule(
        {}, WEB, nodes("a", "b")).node == "a"


def test_pre_score_skip_turns_that_plugins_score_off():
    class NoOpinion(Fixed):
        def pre_score(self, state: CycleState, pod: PodInfo, nodes: Any) -> Status:
            return SKIP

    scorers = (Fixed({"a": 1, "b": 2}), NoOpinion({"a": 100, "b": 0}, name="Quiet"))
    assert Framework(Profile(scorers)).schedule({}, WEB, nodes("a", "b")).node == "b"


def test_a_single_feasible_node_is_chosen_without_scoring():
    class Exploding(Fixed):
        def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
            raise AssertionError("scored")

    framework = Framework(Profile((Only({"b"}), Exploding({}))))
    assert framework.schedule({}, WEB, nodes("a", "b", "c")).node == "b"


def test_normalize_scales_to_max_and_reverses_in_integers():
    scores = {"a": 0, "b": 5, "c": 10}
    normalize(scores)
    assert scores == {"a": 0, "b": 50, "c": 100}
    scores = {"a": 0, "b": 5, "c": 10}
    normalize(scores, reverse=True)
    assert scores == {"a": 100, "b": 50, "c": 0}
    thirds = {"a": 1, "b": 2, "c": 3}
    normalize(thirds)
    assert thirds == {"a": 33, "b": 66, "c": 100}  # truncated as kube-scheduler's
    assert all(type(value) is int for value in thirds.values())
    zeros = {"a": 0}
    normalize(zeros, reverse=True)
    assert zeros == {"a": 100}


@dataclass
class Failing(Fixed):
    """Score: fails on the nodes named in ``broken``."""

    broken: str = ""

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
        if node.name == self.broken:
            return 0, error("no metrics for this node")
        return super().score(state, pod, node)


def test_a_score_that_fails_fails_the_cycle_with_error():
    framework = Framework(Profile((Failing({"a": 1, "b": 2, "c": 3}, broken="b"),)))
    result = framework.schedule({}, WEB, nodes("a", "b", "c"))
    assert result.node is None
    assert result.message == "running Score plugin Fixed on node b: no metrics for this node"
    assert not result.diagnosis.plugins  # an Error, not a rejection: no event will help


def test_a_score_returning_a_success_of_its_own_counts_as_success():
    class OwnSuccess(Fixed):
        def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
            return self.scores[node.name], Status()  # equal to SUCCESS, not the same object

    framework = Framework(Profile((OwnSuccess({"a": 1, "b": 2}),)))
    assert framework.schedule({}, WEB, nodes("a", "b")).node == "b"


def test_a_pre_score_or_normalize_score_that_fails_fails_the_cycle():
    class BadPreScore(Fixed):
        def pre_score(self, state: CycleState, pod: PodInfo, nodes: Any) -> Status:
            return error("no snapshot")

    class BadNormalize(Fixed):
        def normalize_score(self, state: CycleState, pod: PodInfo,
                            scores: dict[str, int]) -> Status:
            return unschedulable("cannot normalize")

    both = nodes("a", "b")
    result = Framework(Profile((BadPreScore({"a": 1, "b": 2}),))).schedule({}, WEB, both)
    assert (result.node, result.message) == (None, "running PreScore plugin Fixed: no snapshot")
    result = Framework(Profile((BadNormalize({"a": 1, "b": 2}),))).schedule({}, WEB, both)
    assert (result.node, result.message) == (
        None, "running NormalizeScore plugin Fixed: cannot normalize")


@pytest.mark.parametrize(("scores", "where", "bad"), [
    ({"a": 101, "b": 0}, "a", "101"), ({"a": 5, "b": -1}, "b", "-1"),
    ({"a": 5, "b": 2.5}, "b", "2.5"), ({"a": 5, "b": None}, "b", "None"),
    ({"a": 5, "b": 50.0}, "b", "50.0")])  # whole, and equal to 50 in the set of valid scores
def test_a_score_out_of_range_or_not_whole_after_normalizing_fails_the_cycle(scores, where,
                                                                              bad):
    result = Framework(Profile((Fixed(scores),))).schedule({}, WEB, nodes("a", "b"))
    assert (result.node, result.message) == (None, (
        f"running Score plugin Fixed on node {where}: invalid score {bad}, it should be an "
        "integer in the range of [0, 100] after normalizing"))


@dataclass
class Batched(Fixed):
    """Score: fixed scores, all nodes at once (``score_nodes``); records its calls."""

    calls: list[str] = field(default_factory=list)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
        self.calls.append(f"score {node.name}")
        return super().score(state, pod, node)

    def score_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        self.calls.append("score_nodes")
        return [self.scores[node.name] for node in nodes]


def test_a_plugin_with_score_nodes_is_asked_once_a_cycle_instead_of_once_a_node():
    plugin = Batched({"a": 10, "b": 90, "c": 40})
    assert Framework(Profile((plugin,))).schedule({}, WEB, nodes("a", "b", "c")).node == "b"
    assert plugin.calls == ["score_nodes"]


def test_batched_scores_are_held_to_the_range_and_a_raising_batch_is_told_node_by_node():
    out_of_range = Framework(Profile((Batched({"a": 10, "b": 101}),)))
    result = out_of_range.schedule({}, WEB, nodes("a", "b"))
    assert result.node is None and "invalid score 101" in result.diagnosis.error

    class Broken(Batched):
        def score_nodes(self, state: CycleState, pod: PodInfo,
                        nodes: list[NodeInfo]) -> list[int]:
            raise KeyError("oops")

        def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
            if node.name == "b":
                raise KeyError("oops")
            return super().score(state, pod, node)

    result = Framework(Profile((Broken({"a": 1, "b": 2}),))).schedule({}, WEB, nodes("a", "b"))
    assert result.diagnosis.error == "running Score plugin Fixed on node b: raised KeyError: 'oops'"


def test_a_bool_score_counts_as_the_integer_it_is():  # as the docstring of _scores says
    profile = Profile((Fixed({"a": False, "b": True}),))
    assert Framework(profile).schedule({}, WEB, nodes("a", "b")).node == "b"


def test_a_normalize_score_may_bring_a_raw_score_into_range():
    class Counted(Fixed):  # raw counts, any size; normalized to 0..100
        def normalize_score(self, state: CycleState, pod: PodInfo,
                            scores: dict[str, int]) -> Status:
            normalize(scores)
            return SUCCESS

    framework = Framework(Profile((Counted({"a": 5000, "b": 2500}),)))
    assert framework.schedule({}, WEB, nodes("a", "b")).node == "a"


def test_ties_go_to_the_first_node_of_the_cycle_which_moves_on_in_large_clusters():
    names = [f"n{i:03}" for i in range(200)]
    framework = Framework(Profile((Fixed(dict.fromkeys(names, 7)),)))
    snapshot = nodes(*names)
    first = framework.schedule({}, WEB, snapshot)
    second = framework.schedule({}, WEB, snapshot)
    assert first.node == "n000"  # a fresh framework starts at the first name
    assert second.node == names[first.evaluated]  # where the first cycle stopped looking


# -- how much of a large cluster is searched --------------------------------------------------


@pytest.mark.parametrize(("total", "expected"), [
    (50, 50), (100, 100), (200, 100), (1000, 420), (5000, 500), (6000, 300), (20000, 1000)])
def test_nodes_to_find_is_adaptive_like_kube_scheduler(total, expected):
    assert nodes_to_find(total, 0) == expected


def test_a_configured_percentage_still_checks_at_least_a_hundred_nodes():
    assert nodes_to_find(1000, 50) == 500
    assert nodes_to_find(1000, 1) == 100


def test_a_large_cluster_is_searched_from_where_the_last_cycle_stopped():
    names = [f"n{i:04}" for i in range(200)]
    only = Only(set(names))
    framework = Framework(Profile((only,)))
    first = framework.schedule({}, WEB, nodes(*names))
    assert (first.evaluated, first.feasible) == (100, 100)
    assert only.seen == names[:100]
    only.seen.clear()
    framework.schedule({}, WEB, nodes(*names))
    assert only.seen == names[100:]


def test_when_too_few_nodes_fit_every_node_is_checked():
    names = [f"n{i:04}" for i in range(300)]
    result = Framework(Profile((Only({"n0299"}),))).schedule({}, WEB, nodes(*names))
    assert (result.node, result.evaluated) == ("n0299", 300)


# -- the failure message ------------------------------------------------------------------------


def test_fit_error_counts_reasons_per_node_and_sorts_the_strings():
    diagnosis = Diagnosis({
        "a": unschedulable("Insufficient cpu", "Insufficient memory"),
        "b": unschedulable("Insufficient cpu"),
        "c": unschedulable("node(s) had untolerated taint {k: v}")})
    assert fit_error_message(3, diagnosis) == (
        "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint "
        "{k: v}, 2 Insufficient cpu.")


# -- Reserve, Permit, Bind ------------------------------------------------------------------------


def test_a_failing_reserve_unreserves_every_reserve_plugin_in_reverse_order():
    calls: list[str] = []
    failing = Recorder("second", calls, reserve_status=error("quota gone"))
    framework = Framework(Profile((Recorder("first", calls), failing, Recorder("third", calls))))
    status = framework.run_reserve({}, WEB, "a")
    assert (status.code, status.plugin) == (Code.ERROR, "second")
    assert calls == ["reserve first", "reserve second", "unreserve third", "unreserve second",
                     "unreserve first"]


def test_permit_rejection_names_the_plugin():
    calls: list[str] = []
    framework = Framework(Profile((Recorder("gate", calls, verdict=unschedulable("not now")),)))
    status, _ = framework.run_permit({}, WEB, "a", on_done=lambda status: None)
    assert (status.code, status.plugin, status.reasons) == (Code.UNSCHEDULABLE, "gate",
                                                            ("not now",))


def test_permit_wait_holds_the_pod_until_every_waiting_plugin_allows_it():
    calls: list[str] = []
    outcomes: list[Status] = []
    wait = Status(Code.WAIT)
    framework = Framework(Profile((Recorder("x", calls, verdict=wait),
                                   Recorder("y", calls, verdict=wait))))
    status, timeout = framework.run_permit({}, WEB, "a", on_done=outcomes.append)
    assert (status.code, timeout) == (Code.WAIT, 5.0)
    waiting = framework.waiting[WEB.key]
    waiting.allow("x")
    assert outcomes == []
    waiting.allow("y")
    assert outcomes == [SUCCESS]
    assert WEB.key not in framework.waiting


def test_permit_wait_ends_rejected_at_the_timeout_and_only_once():
    outcomes: list[Status] = []
    framework = Framework(Profile((Recorder("x", [], verdict=Status(Code.WAIT)),)))
    framework.run_permit({}, WEB, "a", on_done=outcomes.append)
    waiting = framework.waiting[WEB.key]
    framework.expire(WEB.key)
    waiting.allow("x")
    assert [o.code for o in outcomes] == [Code.UNSCHEDULABLE]
    assert "timed out" in outcomes[0].message


def test_bind_skips_to_the_next_binder_and_fails_when_none_binds():
    bound: list[str] = []

    @dataclass
    class Binder:
        name: str
        answer: Status

        def bind(self, state: CycleState, pod: PodInfo, node: str) -> Status:
            bound.append(self.name)
            return self.answer

    framework = Framework(Profile((Binder("picky", SKIP), Binder("default", SUCCESS))))
    assert framework.run_bind({}, WEB, "a").ok
    assert bound == ["picky", "default"]
    lazy = Framework(Profile((Binder("picky", SKIP),)))
    assert lazy.run_bind({}, WEB, "a").code is Code.ERROR
