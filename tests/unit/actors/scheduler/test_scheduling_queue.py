"""The scheduling queue (priority, FIFO, back-off, re-queue on the events that may help) and
the cache (assumed pods, incremental node totals), on a fake clock."""

from __future__ import annotations

from actors.api.objects import Object
from actors.scheduler.cache import Cache
from actors.scheduler.interface import ClusterEvent
from actors.scheduler.nodeinfo import PodInfo
from actors.scheduler.plugins import NodeAffinity, NodeResourcesFit
from actors.scheduler.queue import QueueConfig, SchedulingQueue
from tests.conftest import node, pod


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pending(name: str, priority: int = 0, **requests: str) -> PodInfo:
    obj = pod(name, **requests)
    obj["metadata"]["namespace"] = "default"
    obj["spec"]["priority"] = priority
    return PodInfo.of(obj)


def make_queue(clock: Clock) -> SchedulingQueue:
    interest = {plugin.name: plugin.events for plugin in (NodeResourcesFit(), NodeAffinity())}
    return SchedulingQueue(QueueConfig(initial_backoff_seconds=1, max_backoff_seconds=10,
                                       max_unschedulable_seconds=300), interest, clock)


def popped_names(queue: SchedulingQueue) -> list[str]:
    names = []
    while (entry := queue.pop()) is not None:
        names.append(entry.info.pod["metadata"]["name"])
    return names


def test_higher_priority_first_then_first_come_first_served():
    queue = make_queue(Clock())
    for name, priority in (("low-1", 0), ("high", 100), ("low-2", 0), ("mid", 10)):
        queue.add(pending(name, priority))
    assert popped_names(queue) == ["high", "mid", "low-1", "low-2"]


def test_an_updated_pod_keeps_its_place_and_a_deleted_one_is_gone():
    queue = make_queue(Clock())
    for name in ("a", "b", "c"):
        queue.add(pending(name))
    queue.add(pending("a"))
    queue.delete("default/b")
    assert popped_names(queue) == ["a", "c"]
    assert "default/b" not in queue


def test_a_failed_pod_backs_off_doubling_up_to_the_ceiling():
    clock, queue = Clock(), None
    queue = make_queue(clock)
    queue.add(pending("web"))
    waits = []
    for _ in range(6):
        entry = queue.pop()
        assert entry is not None
        queue.backoff(entry)
        assert queue.pop() is None
        wait = queue.next_wakeup()
        assert wait is not None
        waits.append(wait)
        clock.now += wait
    assert waits == [1, 2, 4, 8, 10, 10]


def test_unschedulable_pods_wait_for_an_event_a_rejecting_plugin_cares_about():
    clock = Clock()
    queue = make_queue(clock)
    queue.add(pending("needs-cpu"))
    queue.add(pending("needs-label"))
    first, second = queue.pop(), queue.pop()
    assert first is not None and second is not None
    queue.unschedulable(first, frozenset({NodeResourcesFit.name}))
    queue.unschedulable(second, frozenset({NodeAffinity.name}))
    clock.now += 60  # back-offs over
    assert queue.pop() is None
    assert queue.move(ClusterEvent.ASSIGNED_POD_DELETE) == 1  # only cpu may be freed by that
    assert popped_names(queue) == ["needs-cpu"]
    assert queue.move(ClusterEvent.NODE_ADD) == 1
    assert popped_names(queue) == ["needs-label"]


def test_a_moved_pod_still_in_back_off_waits_it_out():
    clock = Clock()
    queue = make_queue(clock)
    queue.add(pending("web"))
    entry = queue.pop()
    assert entry is not None
    queue.unschedulable(entry, frozenset({NodeResourcesFit.name}))
    queue.move(ClusterEvent.NODE_ADD)
    assert queue.pop() is None
    clock.now += 1
    assert popped_names(queue) == ["web"]


def test_an_event_during_the_cycle_sends_the_pod_to_backoff_not_to_wait_for_another():
    clock = Clock()
    queue = make_queue(clock)
    queue.add(pending("web"))
    entry = queue.pop()
    assert entry is not None
    queue.move(ClusterEvent.NODE_ADD)  # a node came while the cycle ran
    queue.unschedulable(entry, frozenset({NodeResourcesFit.name}))
    clock.now += 1
    assert popped_names(queue) == ["web"]


def test_unschedulable_pods_are_retried_after_the_longest_wait_without_events():
    clock = Clock()
    queue = make_queue(clock)
    queue.add(pending("web"))
    entry = queue.pop()
    assert entry is not None
    queue.unschedulable(entry, frozenset({NodeAffinity.name}))
    clock.now += 299
    assert queue.pop() is None
    assert queue.next_wakeup() == 1
    clock.now += 2
    assert popped_names(queue) == ["web"]


def test_a_changed_spec_frees_an_unschedulable_pod_a_status_change_does_not():
    clock = Clock()
    queue = make_queue(clock)
    queue.add(pending("web"))
    entry = queue.pop()
    assert entry is not None
    queue.unschedulable(entry, frozenset({NodeAffinity.name}))
    clock.now += 60
    same = pending("web")
    same.pod["status"] = {"phase": "Pending"}
    queue.add(same)
    assert queue.pop() is None
    changed = pending("web")
    changed.pod["spec"]["tolerations"] = [{"operator": "Exists"}]
    queue.add(changed)
    assert popped_names(queue) == ["web"]


def test_a_pod_deleted_during_its_cycle_is_not_queued_again():
    queue = make_queue(Clock())
    queue.add(pending("web"))
    entry = queue.pop()
    assert entry is not None
    queue.delete(entry.key)
    queue.unschedulable(entry, frozenset())
    queue.backoff(entry)
    assert "default/web" not in queue


# -- the cache ------------------------------------------------------------------------------


def bound(info: PodInfo, node_name: str, phase: str = "Running") -> Object:
    return dict(info.pod, spec=dict(info.pod["spec"], nodeName=node_name),
                status={"phase": phase})


def test_an_assumed_pod_counts_at_once_and_is_forgotten_if_binding_fails():
    cache = Cache()
    cache.set_node(node("a", cpu="2"))
    web = pending("web", cpu="1500m")
    cache.assume(web, "a")
    info = cache.node("a")
    assert info is not None and info.requested_cpu == 1500 and cache.is_assumed(web.key)
    cache.pod_changed(web.pod)  # an older event, still pending: the assumption stands
    assert info.requested_cpu == 1500
    cache.forget(web.key)
    assert (info.requested_cpu, len(info.pods)) == (0, 0)


def test_the_bound_pods_event_confirms_the_assumption():
    cache = Cache()
    cache.set_node(node("a", cpu="2"))
    web = pending("web", cpu="1")
    cache.assume(web, "a")
    cache.pod_changed(bound(web, "a"))
    cache.forget(web.key)  # no longer assumed: nothing to forget
    info = cache.node("a")
    assert info is not None and info.requested_cpu == 1000 and not cache.is_assumed(web.key)


def test_finished_and_deleted_pods_free_their_node():
    cache = Cache()
    cache.set_node(node("a"))
    done, gone = pending("done", cpu="1"), pending("gone", memory="1Gi")
    cache.pod_changed(bound(done, "a"))
    cache.pod_changed(bound(gone, "a"))
    assert cache.pod_changed(bound(done, "a", "Succeeded")) is True
    assert cache.pod_deleted(gone.key) is True
    assert cache.pod_deleted(gone.key) is False
    info = cache.node("a")
    assert info is not None
    assert (info.requested_cpu, info.requested_memory, len(info.pods)) == (0, 0, 0)


def test_pods_seen_before_their_node_count_once_it_comes():
    cache = Cache()
    early = pending("early", cpu="1")
    cache.pod_changed(bound(early, "late-node"))
    assert cache.node_list() == []
    cache.set_node(node("late-node", cpu="2"))
    [info] = cache.node_list()
    assert (info.name, info.requested_cpu) == ("late-node", 1000)


def test_node_totals_change_one_pod_at_a_time():
    cache = Cache()
    cache.set_node(node("a", cpu="4"))
    pods = [pending(f"p{i}", cpu="100m") for i in range(10)]
    for info in pods:
        cache.pod_changed(bound(info, "a"))
    cache.pod_changed(bound(pods[0], "a"))  # a repeated event changes nothing
    node_info = cache.node("a")
    assert node_info is not None
    assert (node_info.requested_cpu, node_info.nonzero_cpu, len(node_info.pods)) == (
        1000, 1000, 10)
    assert node_info.nonzero_memory == 10 * 200 * 2**20  # nothing asked: scored as 200Mi each
