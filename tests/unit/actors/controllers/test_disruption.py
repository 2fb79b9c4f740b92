"""Zones, their disruption and the per-zone rate of NoExecute taints
(actors/controllers/disruption.py), on a fake clock: seconds passed to :meth:`ZoneTainter.plan`."""

from __future__ import annotations

import math

import pytest

from actors.api.pods import NOT_READY_TAINT, UNREACHABLE_TAINT
from actors.controllers.disruption import (
    DisruptionConfig,
    NodeHealth,
    TokenBucket,
    ZoneState,
    ZoneTainter,
    zone_key,
    zone_rate,
    zone_state,
)
from actors.controllers.nodelifecycle import NodeLifecycleConfig
from bindings.cli.flags import node_lifecycle
from bindings.cli.main import parser


def health(name: str, status: str = "True", zone: str = "", tainted: str | None = None,
           excluded: bool = False) -> NodeHealth:
    return NodeHealth(name, zone, ready=status == "True", status=status,
                      no_execute=frozenset([tainted] if tainted else []), excluded=excluded)


def cluster(lost: int, ready: int, zone: str = "") -> list[NodeHealth]:
    return ([health(f"{zone}lost-{i}", "Unknown", zone) for i in range(lost)]
            + [health(f"{zone}ok-{i}", zone=zone) for i in range(ready)])


def test_a_zone_is_the_region_and_zone_labels_and_unlabelled_nodes_share_one():
    assert zone_key({"topology.kubernetes.io/zone": "a"}) == ":\x00:a"
    assert zone_key({"topology.kubernetes.io/zone": "a",
                     "topology.kubernetes.io/region": "r"}) == "r:\x00:a"
    assert zone_key({"failure-domain.beta.kubernetes.io/zone": "old",
                     "topology.kubernetes.io/zone": "a"}) == ":\x00:old"
    assert zone_key({"kubernetes.io/hostname": "n1"}) == zone_key(None) == ""


def test_zone_states_follow_kubernetes_compute_zone_state():
    assert zone_state([True, True], 0.55) is ZoneState.NORMAL
    assert zone_state([False, False, True], 0.55) is ZoneState.NORMAL  # 2 lost: never partial
    assert zone_state([False] * 3 + [True] * 2, 0.55) is ZoneState.PARTIAL  # 3/5 >= 0.55
    assert zone_state([False] * 3 + [True] * 3, 0.55) is ZoneState.NORMAL  # 3/6 < 0.55
    assert zone_state([False], 0.55) is ZoneState.FULL
    assert zone_state([], 0.55) is ZoneState.NORMAL


def test_a_partially_disrupted_zone_is_slowed_when_large_and_stopped_when_small():
    config = DisruptionConfig()
    assert zone_rate(ZoneState.NORMAL, 10, config) == 0.1
    assert zone_rate(ZoneState.FULL, 10, config) == 0.1
    assert zone_rate(ZoneState.PARTIAL, 51, config) == 0.01
    assert zone_rate(ZoneState.PARTIAL, 50, config) == 0.0


def test_the_token_bucket_lets_one_through_at_once_then_one_per_period():
    bucket = TokenBucket(0.1, now=0.0)
    assert bucket.try_accept(0.0)
    assert not bucket.try_accept(9.9)
    assert math.isclose(bucket.wait(9.9), 0.1)
    assert bucket.try_accept(10.0)
    never = TokenBucket(0.0, now=0.0)
    assert not never.try_accept(1e9) and never.wait(0.0) == math.inf


def test_swapping_the_rate_keeps_an_empty_bucket_empty():
    bucket = TokenBucket(0.1, now=0.0)
    assert bucket.swapped(0.1, 1.0) is bucket
    assert bucket.swapped(1.0, 0.0).try_accept(0.0)  # had a token: the new one is full
    bucket.try_accept(0.0)
    assert not bucket.swapped(1.0, 0.0).try_accept(0.5)  # had none: the new one starts empty
    assert not TokenBucket(0.0, 0.0).swapped(0.1, 0.0).try_accept(9.0)


def test_lost_nodes_of_a_normal_zone_are_tainted_one_per_ten_seconds_first_at_once():
    tainter = ZoneTainter()
    nodes = cluster(lost=2, ready=8)
    first = tainter.plan(nodes, now=0.0)
    assert first.taint == {"lost-0": UNREACHABLE_TAINT}
    assert math.isclose(first.wait, 10.0)
    nodes[0] = health("lost-0", "Unknown", tainted=UNREACHABLE_TAINT)
    assert tainter.plan(nodes, now=5.0).taint == {}
    assert tainter.plan(nodes, now=10.0).taint == {"lost-1": UNREACHABLE_TAINT}


def test_each_zone_has_its_own_bucket():
    tainter = ZoneTainter()
    plan = tainter.plan(cluster(1, 3, "a") + cluster(1, 3, "b"), now=0.0)
    assert plan.taint == {"alost-0": UNREACHABLE_TAINT, "blost-0": UNREACHABLE_TAINT}


def test_a_small_partially_disrupted_zone_gets_no_taint_and_a_large_one_the_secondary_rate():
    small = ZoneTainter()
    assert small.plan(cluster(lost=3, ready=2), now=0.0).taint == {}
    assert small.states[""] is ZoneState.PARTIAL
    assert small.plan(cluster(lost=3, ready=2), now=1000.0).taint == {}
    large = ZoneTainter()
    nodes = cluster(lost=40, ready=20)
    assert len(large.plan(nodes, now=0.0).taint) == 1  # the full bucket of its first look
    assert large.plan(nodes, now=99.0).taint == {}
    assert len(large.plan(nodes, now=100.0).taint) == 1  # 0.01 a second


def test_a_node_ready_again_leaves_the_queue_and_loses_its_taint():
    tainter = ZoneTainter()
    nodes = cluster(lost=2, ready=8)
    tainter.plan(nodes, now=0.0)
    nodes[0] = health("lost-0", tainted=UNREACHABLE_TAINT)
    nodes[1] = health("lost-1")
    plan = tainter.plan(nodes, now=20.0)
    assert (plan.taint, plan.untaint, tainter.queues[""]) == ({}, ["lost-0"], {})


def test_a_not_ready_node_gets_the_not_ready_taint_swapped_in_at_once():
    tainter = ZoneTainter()
    tainter.plan(cluster(lost=1, ready=3), now=0.0)  # takes the token
    swapped = [health("lost-0", "False", tainted=UNREACHABLE_TAINT), *cluster(0, 3)]
    assert tainter.plan(swapped, now=1.0).taint == {"lost-0": NOT_READY_TAINT}


def test_excluded_nodes_are_tainted_but_not_counted_in_their_zone():
    tainter = ZoneTainter()
    nodes = [health("lost", "Unknown"), health("special", excluded=True)]
    plan = tainter.plan(nodes, now=0.0)
    assert plan.taint == {} and tainter.states[""] is ZoneState.FULL  # master disruption


def test_every_zone_lost_lifts_every_noexecute_taint_until_a_node_is_back():
    tainter = ZoneTainter(DisruptionConfig(eviction_rate=1.0))
    nodes = [health("a1", zone="a"), health("a2", "Unknown", "a", UNREACHABLE_TAINT),
             health("b1", zone="b")]
    assert tainter.plan(nodes, now=0.0).untaint == []
    lost = [health("a1", "Unknown", "a"), health("a2", "Unknown", "a", UNREACHABLE_TAINT),
            health("b1", "Unknown", "b")]
    entered = tainter.plan(lost, now=1.0)
    assert (entered.taint, entered.untaint) == ({}, ["a2"])
    assert set(tainter.states.values()) == {ZoneState.FULL}
    lost[1] = health("a2", "Unknown", "a")
    for now in (2.0, 100.0):  # the taints stay off however long it lasts
        assert tainter.plan(lost, now=now).taint == {}
    back = [health("a1", zone="a"), *lost[1:]]
    exited = tainter.plan(back, now=101.0)  # zone b fully disrupted alone: the normal rate
    assert exited.taint == {} and math.isclose(exited.wait, 1.0)  # the buckets start empty
    assert tainter.states == {"a": ZoneState.NORMAL, "b": ZoneState.FULL}
    assert tainter.plan(back, now=102.0).taint == {"a2": UNREACHABLE_TAINT,
                                                   "b1": UNREACHABLE_TAINT}


def test_master_disruption_is_entered_at_once_when_every_node_is_lost_at_the_first_look():
    tainter = ZoneTainter()
    plan = tainter.plan(cluster(lost=3, ready=0), now=0.0)
    assert plan.taint == {} and tainter.states[""] is ZoneState.FULL


def test_gone_nodes_and_zones_are_forgotten():
    tainter = ZoneTainter()
    tainter.plan(cluster(lost=2, ready=8, zone="a") + cluster(0, 1, "b"), now=0.0)
    assert list(tainter.queues["a"]) == ["alost-1"]
    tainter.plan(cluster(lost=0, ready=8, zone="a"), now=1.0)
    assert tainter.queues == {"a": {}} and set(tainter.states) == {"a"}


def test_the_flags_of_up_and_server_have_kubernetes_names_and_defaults():
    assert node_lifecycle(parser().parse_args(["up"])) == NodeLifecycleConfig()
    args = parser().parse_args(["server", "--node-eviction-rate", "0.5",
                                "--secondary-node-eviction-rate", "0", "--large-cluster-size-"
                                "threshold", "10", "--unhealthy-zone-threshold", "0.7"])
    assert node_lifecycle(args).disruption == DisruptionConfig(0.5, 0.0, 10, 0.7)
    for bad in (["--unhealthy-zone-threshold", "1.5"], ["--node-eviction-rate", "-1"],
                ["--node-eviction-rate", "nan"]):
        with pytest.raises(SystemExit):
            parser().parse_args(["up", *bad])
