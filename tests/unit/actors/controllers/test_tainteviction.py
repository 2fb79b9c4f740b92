"""Taint-based eviction timing and pod GC of lost nodes (actors/controllers/tainteviction.py), the
default tolerations (actors/api/defaulting.py) and the controller base's queue
(actors/controllers/controller.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actors.api.defaulting import default_pod
from actors.controllers.controller import ControllerConfig, Key, WorkQueue, backoff_delay
from actors.controllers.tainteviction import eviction_delay, force_delete

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
UNREACHABLE = "node.kubernetes.io/unreachable"


def taint(key: str = UNREACHABLE, effect: str = "NoExecute", added: float | None = 0) -> dict:
    made = {"key": key, "effect": effect}
    if added is not None:
        made["timeAdded"] = (NOW - timedelta(seconds=added)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return made


def pod(*tolerations: dict, deleting: bool = False) -> dict:
    made = {"metadata": {"name": "p"}, "spec": {"tolerations": list(tolerations)}}
    if deleting:
        made["metadata"]["deletionTimestamp"] = "2026-11-26T12:00:00Z"
    return made


def toleration(key: str = UNREACHABLE, seconds: int | None = None) -> dict:
    made = {"key": key, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        made["tolerationSeconds"] = seconds
    return made


def test_an_untolerated_no_execute_taint_evicts_at_once():
    assert eviction_delay(pod(), [taint()], NOW) == 0
    assert eviction_delay(pod(toleration("other")), [taint()], NOW) == 0


def test_no_schedule_taints_evict_nobody():
    assert eviction_delay(pod(), [taint(effect="NoSchedule")], NOW) is None


def test_toleration_seconds_count_from_when_the_taint_was_added():
    assert eviction_delay(pod(toleration(seconds=300)), [taint(added=100)], NOW) == 200
    assert eviction_delay(pod(toleration(seconds=300)), [taint(added=400)], NOW) <= 0
    first_seen = {UNREACHABLE: NOW - timedelta(seconds=10)}
    assert eviction_delay(pod(toleration(seconds=30)), [taint(added=None)], NOW,
                          first_seen) == 20


def test_a_toleration_without_seconds_tolerates_for_ever():
    assert eviction_delay(pod(toleration()), [taint()], NOW) is None
    everything = {"operator": "Exists"}
    assert eviction_delay(pod(everything), [taint(), taint("x")], NOW) is None


def test_the_smallest_toleration_of_all_taints_decides():
    both = [taint(added=0), taint("node.kubernetes.io/not-ready", added=0)]
    tolerant = pod(toleration(seconds=300), toleration("node.kubernetes.io/not-ready", 60))
    assert eviction_delay(tolerant, both, NOW) == 60


def test_pods_terminating_on_an_unreachable_node_are_force_deleted():
    lost = {"spec": {"taints": [taint()]}}
    assert force_delete(pod(deleting=True), lost)
    assert not force_delete(pod(), lost)  # eviction first marks it
    assert not force_delete(pod(deleting=True), {"spec": {}})  # its kubelet will confirm


def test_pods_get_default_not_ready_and_unreachable_tolerations_unless_they_have_them():
    plain = {"spec": {"containers": []}}
    default_pod(plain)
    assert plain["spec"]["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]
    own = {"spec": {"containers": [], "tolerations": [toleration(seconds=5)]}}
    default_pod(own)
    assert [t["key"] for t in own["spec"]["tolerations"]] == [
        UNREACHABLE, "node.kubernetes.io/not-ready"]
    assert own["spec"]["tolerations"][0]["tolerationSeconds"] == 5
    tolerates_all = {"spec": {"containers": [], "tolerations": [{"operator": "Exists"}]}}
    default_pod(tolerates_all)
    assert tolerates_all["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_the_work_queue_holds_a_key_once_and_backs_off_its_failures():
    queue = WorkQueue(ControllerConfig(backoff_base_seconds=0.1, backoff_max_seconds=1))
    key = Key("pods", "default", "p")
    assert queue.add(key) and not queue.add(key) and len(queue) == 1
    queue.take(key)
    assert queue.add(key)
    assert [queue.failed(key) for _ in range(3)] == [1, 2, 3]
    queue.forget(key)
    assert queue.failed(key) == 1
    assert [backoff_delay(n, 0.1, 1) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1, 1]
    assert backoff_delay(40, 0.05, 60) == 60
