"""DefaultPreemption (actors/scheduler/preemption.py): which pods are victims, which node is
chosen, who may not preempt, and that a nominated pod keeps its room; decisions as pure
functions, the plugin in the default profile with a fake API client."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from actors.api.objects import Object
from actors.scheduler.cache import Cache
from actors.scheduler.framework import Framework, Profile
from actors.scheduler.interface import Code, Status
from actors.scheduler.nodeinfo import NodeInfo, PodInfo
from actors.scheduler.plugins import (
    DEFAULT_WEIGHTS,
    DefaultBinder,
    NodeResourcesFit,
    default_plugins,
)
from actors.scheduler.preemption import (
    NO_VICTIMS,
    Candidate,
    DefaultPreemption,
    ineligible,
    pick_candidate,
    select_victims,
    violating,
)
from bus.errors import NotFound
from tests.conftest import node, pod


def prioritized(name: str, priority: int, cpu: str = "1", on: str | None = None,
                started: str = "2026-01-01T00:00:00Z", **spec: Any) -> Object:
    obj = pod(name, cpu=cpu)
    obj["metadata"].update(namespace="default", uid=f"uid-{name}")
    obj["spec"].update(priority=priority, **spec)
    if on:
        obj["spec"]["nodeName"] = on
        obj["status"] = {"phase": "Running", "startTime": started}
    return obj


def node_with(name: str, cpu: str, *pods: Object) -> NodeInfo:
    info = NodeInfo(name)
    info.set_node(node(name, cpu=cpu))
    for obj in pods:
        info.add_pod(PodInfo.of(obj))
    return info


def resources_fit(pod_: PodInfo) -> Callable[[NodeInfo], Status]:
    return lambda node_: NodeResourcesFit().filter({}, pod_, node_)


# -- victims ------------------------------------------------------------------------------------


def test_the_fewest_least_important_pods_are_the_victims():
    full = node_with("n", "3", prioritized("low", 1, on="n"), prioritized("mid", 5, on="n"),
                     prioritized("same", 10, on="n"))
    high = PodInfo.of(prioritized("high", 10, cpu="1"))
    victims, violations, status = select_victims(high, full, resources_fit(high))
    assert status.ok and [v.key for v in victims] == ["default/low"] and violations == 0
    assert full.requested_cpu == 3000  # the node itself is left alone


def test_equal_priority_is_never_a_victim():
    full = node_with("n", "1", prioritized("peer", 10, on="n"))
    peer = PodInfo.of(prioritized("other", 10))
    assert select_victims(peer, full, resources_fit(peer)) == (
        [], 0, Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (NO_VICTIMS,)))


def test_a_node_too_small_even_when_emptied_has_no_victims():
    small = node_with("n", "1", prioritized("low", 1, on="n"))
    huge = PodInfo.of(prioritized("huge", 10, cpu="2"))
    victims, _, status = select_victims(huge, small, resources_fit(huge))
    assert victims == [] and status.reasons == ("Insufficient cpu",)


def test_of_equal_priorities_the_most_recently_started_goes():
    full = node_with("n", "2", prioritized("old", 1, on="n", started="2026-01-01T00:00:00Z"),
                     prioritized("new", 1, on="n", started="2026-06-01T00:00:00Z"))
    high = PodInfo.of(prioritized("high", 10))
    assert [v.key for v in select_victims(high, full, resources_fit(high))[0]] == [
        "default/new"]


def budget(allowed: int, app: str = "web", disrupted: tuple[str, ...] = ()) -> Object:
    return {"metadata": {"name": app, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": app}}},
            "status": {"disruptionsAllowed": allowed,
                       "disruptedPods": dict.fromkeys(disrupted, "2026-12-06T12:00:00Z")}}


def labelled(name: str, priority: int, app: str, **kwargs: Any) -> Object:
    obj = prioritized(name, priority, **kwargs)
    obj["metadata"]["labels"] = {"app": app}
    return obj


def test_pods_past_what_their_budget_allows_break_it_unless_already_disrupted():
    pods = [PodInfo.of(labelled(name, 1, "web", on="n")) for name in ("a", "b", "c")]
    assert violating(pods, [budget(1)]) == {"default/b", "default/c"}
    assert violating(pods, [budget(1, disrupted=("a",))]) == {"default/c"}
    everyone = dict(budget(0), spec={"selector": {}})  # kube-scheduler: an empty one, none
    assert violating(pods, [everyone, budget(5, app="other")]) == set()


def test_victims_that_break_a_budget_are_reprieved_before_the_others():
    # one cpu to free: the guarded pod is newer (would go first) but its budget allows none
    full = node_with("n", "2", labelled("guarded", 1, "web", on="n",
                                        started="2026-06-01T00:00:00Z"),
                     labelled("free", 1, "batch", on="n", started="2026-01-01T00:00:00Z"))
    high = PodInfo.of(prioritized("high", 10))
    victims, violations, _ = select_victims(high, full, resources_fit(high), [budget(0)])
    assert ([v.key for v in victims], violations) == (["default/free"], 0)
    victims, violations, _ = select_victims(  # both must go: one breaks its budget
        PodInfo.of(prioritized("huge", 10, cpu="2")), full,
        resources_fit(PodInfo.of(prioritized("huge", 10, cpu="2"))), [budget(0)])
    assert (len(victims), violations) == (2, 1)


def test_the_node_with_fewest_budget_breaking_victims_is_chosen_first():
    assert pick_candidate([Candidate("a", victims(("a1", 1)), violations=1),
                           Candidate("b", victims(("b1", 5), ("b2", 5)))]).node == "b"


# -- which node ---------------------------------------------------------------------------------


def victims(*specs: tuple[str, int]) -> tuple[PodInfo, ...]:
    return tuple(PodInfo.of(prioritized(name, priority, on="x")) for name, priority in specs)


def test_the_node_whose_most_important_victim_matters_least_is_chosen():
    chosen = pick_candidate([Candidate("a", victims(("a1", 5))),
                             Candidate("b", victims(("b1", 1), ("b2", 2))),
                             Candidate("c", victims(("c1", 3)))])
    assert chosen.node == "b"


def test_then_the_lowest_sum_then_the_fewest_victims():
    assert pick_candidate([Candidate("a", victims(("a1", 5), ("a2", 5))),
                           Candidate("b", victims(("b1", 5), ("b2", 1)))]).node == "b"
    assert pick_candidate([Candidate("a", victims(("a1", 5), ("a2", 0))),
                           Candidate("b", victims(("b1", 5)))]).node == "b"


# -- who may preempt ----------------------------------------------------------------------------


def test_never_policy_and_a_terminating_victim_on_the_nominated_node_forbid_preemption():
    never = PodInfo.of(prioritized("never", 10, preemptionPolicy="Never"))
    assert ineligible(never, None) == "not eligible due to preemptionPolicy=Never."
    leaving = prioritized("leaving", 1, on="n")
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:30Z"
    high = PodInfo.of(prioritized("high", 10))
    assert ineligible(high, node_with("n", "1", leaving)) == (
        "not eligible due to a terminating pod on the nominated node.")
    assert ineligible(high, node_with("n", "1", prioritized("staying", 1, on="n"))) == ""


# -- the plugin in the default profile ----------------------------------------------------------


class FakeApi:
    """The three calls preemption makes, on a dict of pods."""

    def __init__(self, *pods: Object) -> None:
        self.pods = {p["metadata"]["name"]: p for p in pods}
        self.deleted: list[str] = []
        self.statuses: dict[str, Object] = {}

    def get(self, resource: str, name: str, namespace: str | None = "default") -> Object:
        if name not in self.pods:
            raise NotFound(f'pods "{name}" not found')
        return dict(self.pods[name])

    def update(self, resource: str, obj: Object, *, subresource: str | None = None) -> Object:
        name = obj["metadata"]["name"]
        self.statuses[name] = obj["status"]
        self.pods[name] = dict(self.pods[name], status=copy.deepcopy(obj["status"]))
        return obj

    def delete(self, resource: str, name: str, namespace: str | None = "default") -> Object:
        self.deleted.append(name)
        return self.pods.pop(name)

    def create(self, resource: str, obj: Object, namespace: str | None = "default",
               trace_id: str | None = None) -> Object:
        return obj  # the Preempted Event


def scheduler(api: FakeApi, nodes: list[Object], running: list[Object]
              ) -> tuple[Framework, Cache]:
    cache = Cache()
    for obj in nodes:
        cache.set_node(obj)
    for obj in running:
        cache.pod_changed(obj)
    plugins = [DefaultPreemption(api, spawn=lambda work, name: work())  # type: ignore[arg-type]
               if isinstance(p, DefaultPreemption) else p
               for p in default_plugins(client=None) if not isinstance(p, DefaultBinder)]
    return Framework(Profile(tuple(plugins), DEFAULT_WEIGHTS), cache), cache


def test_a_high_priority_pod_evicts_the_low_one_and_is_nominated():
    low, high = prioritized("low", 0, on="full"), prioritized("high", 100)
    api = FakeApi(low, high)
    framework, cache = scheduler(api, [node("full", cpu="1")], [low])
    result = framework.schedule({}, PodInfo.of(high), cache.node_list())
    assert result.node is None
    assert result.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert cache.nominated_node("default/high") == "full"
    assert api.deleted == ["low"]
    target = next(c for c in api.statuses["low"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["reason"], target["message"]) == (
        "PreemptionByScheduler",
        "default-scheduler: preempting to accommodate a higher priority pod")
    assert api.statuses["high"]["nominatedNodeName"] == "full"


def test_a_higher_nomination_clears_the_lower_pods_nomination_in_the_api_too():
    low, mid, high = (prioritized("low", 0, on="full"), prioritized("mid", 50),
                      prioritized("high", 100))
    api = FakeApi(low, mid, high)
    framework, cache = scheduler(api, [node("full", cpu="1")], [low])
    framework.schedule({}, PodInfo.of(mid), cache.node_list())
    assert api.pods["mid"]["status"]["nominatedNodeName"] == "full"
    framework.schedule({}, PodInfo.of(high), cache.node_list())  # the same room, higher
    assert cache.nominated_node("default/mid") is None
    assert api.pods["mid"]["status"]["nominatedNodeName"] == ""
    assert api.pods["high"]["status"]["nominatedNodeName"] == "full"


def test_never_and_equal_priority_evict_nobody():
    low = prioritized("low", 0, on="full")
    never = prioritized("never", 100, preemptionPolicy="Never")
    peer = prioritized("peer", 0)
    api = FakeApi(low, never, peer)
    framework, cache = scheduler(api, [node("full", cpu="1")], [low])
    refused = framework.schedule({}, PodInfo.of(never), cache.node_list())
    assert refused.message == ("0/1 nodes are available: 1 Insufficient cpu. preemption: not "
                               "eligible due to preemptionPolicy=Never.")
    quiet = framework.schedule({}, PodInfo.of(peer), cache.node_list())
    assert quiet.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert api.deleted == [] and not cache.has_nominations()


def test_the_freed_room_waits_for_the_nominated_pod_not_a_lower_one():
    low, high = prioritized("low", 0, on="full"), prioritized("high", 100)
    api = FakeApi(low, high)
    framework, cache = scheduler(api, [node("full", cpu="1")], [low])
    framework.schedule({}, PodInfo.of(high), cache.node_list())
    cache.pod_deleted("default/low")  # the victim's deletion came
    sneaky = framework.schedule({}, PodInfo.of(prioritized("sneaky", 50)), cache.node_list())
    assert sneaky.node is None and sneaky.message == (
        "0/1 nodes are available: 1 Insufficient cpu.")
    assert framework.schedule({}, PodInfo.of(high), cache.node_list()).node == "full"
    cache.assume(PodInfo.of(high), "full")
    assert not cache.has_nominations()


def test_a_higher_pod_than_the_nominated_one_may_take_the_room():
    low, high = prioritized("low", 0, on="full"), prioritized("high", 100)
    api = FakeApi(low, high)
    framework, cache = scheduler(api, [node("full", cpu="1")], [low])
    framework.schedule({}, PodInfo.of(high), cache.node_list())
    cache.pod_deleted("default/low")
    urgent = PodInfo.of(prioritized("urgent", 1000))
    assert framework.schedule({}, urgent, cache.node_list()).node == "full"


def test_while_its_victim_terminates_the_nominated_pod_preempts_nobody_else():
    low, other, high = (prioritized("low", 0, on="full"), prioritized("other", 0, on="spare"),
                        prioritized("high", 100))
    api = FakeApi(low, other, high)
    framework, cache = scheduler(api, [node("full", cpu="1"), node("spare", cpu="1")],
                                 [low, other])
    framework.schedule({}, PodInfo.of(high), cache.node_list())
    assert api.deleted == ["low"]
    leaving = dict(low, metadata=dict(low["metadata"], deletionTimestamp="2026-01-01T00:01Z"))
    cache.pod_changed(leaving)  # its kubelet has not confirmed yet: it still holds its room
    again = framework.schedule({}, PodInfo.of(high), cache.node_list())
    assert again.message == ("0/2 nodes are available: 2 Insufficient cpu. preemption: not "
                             "eligible due to a terminating pod on the nominated node.")
    assert api.deleted == ["low"] and cache.nominated_node("default/high") == "full"
