"""The node lifecycle controller's decisions (actors/controllers/nodelifecycle.py: :func:`verdict`,
:func:`marked_not_ready`, :func:`health`, :func:`uncontrolled`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actors.api.pods import NOT_READY_TAINT
from actors.controllers.nodelifecycle import (
    UNREACHABLE,
    health,
    marked_not_ready,
    no_execute_taint,
    uncontrolled,
    verdict,
)
from tests.conftest import node, pod

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def lease(seconds_ago: float) -> dict:
    renewed = NOW - timedelta(seconds=seconds_ago)
    return {"spec": {"renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}


def marked(ready: str = "Unknown") -> dict:
    gone = node("n1")
    gone["status"]["conditions"] = [{"type": "Ready", "status": ready}]
    gone["spec"] = {"taints": [{"key": "team", "effect": "NoSchedule"},
                               {"key": UNREACHABLE, "effect": "NoSchedule"},
                               no_execute_taint(UNREACHABLE)]}
    return gone


def test_a_node_silent_past_the_grace_period_becomes_unknown_once():
    assert verdict(node("n1"), lease(41), NOW, 40) == "unknown"
    assert verdict(marked(), lease(41), NOW, 40) is None  # already marked


def test_a_controller_just_started_gives_an_old_lease_the_grace_period_first():
    assert verdict(node("n1"), lease(900), NOW, 40,
                   watching_since=NOW - timedelta(seconds=5)) is None
    assert verdict(node("n1"), lease(900), NOW, 40,
                   watching_since=NOW - timedelta(seconds=41)) == "unknown"


def test_a_fresh_heartbeat_leaves_a_ready_node_alone():
    assert verdict(node("n1"), lease(5), NOW, 40) is None


def test_a_node_ready_again_gets_its_unreachable_taints_lifted():
    assert verdict(marked(ready="True"), lease(1), NOW, 40) == "recovered"
    assert verdict(marked(ready="Unknown"), lease(1), NOW, 40) is None  # kubelet not back yet
    back = marked(ready="True")
    back["spec"]["taints"] = [{"key": "team", "effect": "NoSchedule"},
                              no_execute_taint(NOT_READY_TAINT)]
    assert verdict(back, lease(1), NOW, 40) == "recovered"
    assert uncontrolled(back["spec"]["taints"]) == [{"key": "team", "effect": "NoSchedule"}]


def test_a_node_without_a_lease_is_judged_by_its_creation():
    young = node("n1")
    young["metadata"]["creationTimestamp"] = (NOW - timedelta(seconds=10)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert verdict(young, None, NOW, 40) is None
    assert verdict(young, None, NOW + timedelta(seconds=60), 40) == "unknown"


def test_an_unknown_node_missing_its_taints_is_marked_again():
    half = marked()
    half["spec"] = {}
    assert verdict(half, lease(41), NOW, 40) == "unknown"


def test_an_unknown_node_left_with_only_its_noexecute_taint_gets_its_noschedule_one_again():
    half = marked()
    half["spec"]["taints"] = [no_execute_taint(UNREACHABLE)]
    assert verdict(half, lease(41), NOW, 40) == "unknown"


def test_only_this_controllers_taints_of_the_effect_asked_go():
    taints = [{"key": "team", "effect": "NoExecute"}, {"key": UNREACHABLE, "effect": "NoSchedule"},
              no_execute_taint(UNREACHABLE), no_execute_taint(NOT_READY_TAINT)]
    assert uncontrolled(taints, "NoExecute") == taints[:2]
    assert uncontrolled(taints, "NoSchedule") == [taints[0], *taints[2:]]


def test_a_silent_node_counts_as_not_ready_in_its_zone_before_it_is_marked():
    zoned = marked(ready="True")
    zoned["metadata"]["labels"] = {"topology.kubernetes.io/zone": "a",
                                   "topology.kubernetes.io/region": "r"}
    silent = health(zoned, lease(41), NOW, 40)
    assert (silent.ready, silent.status, silent.zone) == (False, "True", "r:\x00:a")
    assert silent.no_execute == {UNREACHABLE}
    assert health(zoned, lease(1), NOW, 40).ready
    assert health(node("n2"), lease(1), NOW, 40).zone == ""


def test_a_ready_pod_of_a_lost_node_is_marked_not_ready_and_nothing_else_changes():
    running = pod("web")
    running["status"] = {"phase": "Running", "conditions": [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "True", "reason": "", "lastTransitionTime": "then"}]}
    marked = marked_not_ready(running)
    assert marked is not None
    assert marked["status"]["phase"] == "Running"
    assert marked["status"]["conditions"][0] == {"type": "PodScheduled", "status": "True"}
    ready = marked["status"]["conditions"][1]
    assert (ready["status"], ready["reason"]) == ("False", "")
    assert ready["lastTransitionTime"] != "then"
    assert running["status"]["conditions"][1]["status"] == "True"  # the original is left alone
    assert marked_not_ready(marked) is None  # once is enough
    assert marked_not_ready(pod("pending")) is None
