"""The ReplicaSet controller's decisions (actors/controllers/replicaset.py) and the claim of
actors/controllers/controller.py, as pure functions."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from actors.api.meta import owner_reference
from actors.controllers.controller import ControllerConfig, Key, claim, with_owner
from actors.controllers.replicaset import (
    BURST_REPLICAS,
    Expectations,
    create_pods,
    new_pod,
    pods_to_delete,
    replica_change,
    replicaset_status,
    slow_start_batches,
)

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rs(name: str = "web", replicas: int = 3, uid: str = "rs-uid") -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default", "uid": uid, "generation": 2},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web", "tier": "front"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready: bool = True,
        ready_since: float = 100, created: float = 200, restarts: int = 0,
        labels: dict | None = None, owner: dict | None = None) -> dict:
    metadata: dict = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                      "creationTimestamp": stamp(created),
                      "labels": {"app": "web", "tier": "front"} if labels is None else labels}
    if owner is not None:
        metadata["ownerReferences"] = [owner_reference(owner)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "containerStatuses": [{"restartCount": restarts}],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": stamp(ready_since)}]}}


def names(pods: list[dict]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_surplus_pods_go_unscheduled_then_pending_then_not_ready_then_newest_first():
    pods = [pod("old-ready", created=500), pod("new-ready", created=10),
            pod("not-ready", ready=False), pod("pending", phase="Pending", ready=False),
            pod("unscheduled", node="", phase="Pending", ready=False)]
    assert names(pods_to_delete(pods, 5)) == [
        "unscheduled", "pending", "not-ready", "new-ready", "old-ready"]
    assert names(pods_to_delete(pods, 2)) == ["unscheduled", "pending"]
    assert pods_to_delete(pods, 0) == []


def test_among_ready_pods_the_most_restarted_and_the_shortest_ready_go_first():
    steady = pod("steady", ready_since=600, restarts=0)
    fresh = pod("fresh", ready_since=5, restarts=0)
    crashy = pod("crashy", ready_since=600, restarts=7)
    assert names(pods_to_delete([steady, fresh], 1)) == ["fresh"]
    assert names(pods_to_delete([steady, crashy], 1)) == ["crashy"]


def test_replica_change_is_bounded_by_the_burst():
    assert replica_change(2, 5) == 3
    assert replica_change(5, 2) == -3
    assert replica_change(3, 3) == 0
    assert replica_change(0, 10_000) == BURST_REPLICAS


def test_creations_go_in_slow_start_batches():
    assert slow_start_batches(10) == [1, 2, 4, 3]
    assert slow_start_batches(1) == [1]
    assert slow_start_batches(0) == []


def test_new_pods_come_from_the_template_with_a_blocking_controller_reference():
    made = new_pod(rs())
    assert made["metadata"]["generateName"] == "web-"
    assert made["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert made["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid",
        "controller": True, "blockOwnerDeletion": True}]
    assert made["spec"]["containers"] == [{"name": "c", "image": "i"}]


def test_status_counts_ready_available_and_fully_labeled_pods():
    owner = rs()
    owner["spec"]["minReadySeconds"] = 30
    pods = [pod("a", ready_since=100), pod("b", ready_since=10), pod("c", ready=False),
            pod("d", labels={"app": "web"})]
    status, soonest = replicaset_status(owner, pods, NOW)
    assert status == {"replicas": 4, "readyReplicas": 3, "availableReplicas": 2,
                      "fullyLabeledReplicas": 3, "observedGeneration": 2}
    assert soonest == 20  # b becomes available then


def test_claim_adopts_matching_orphans_and_releases_what_stopped_matching():
    owner = rs()
    other = rs("other", uid="other-uid")
    pods = [pod("mine", owner=owner), pod("orphan"), pod("stranger", owner=other),
            pod("relabelled", labels={"app": "db"}, owner=owner), pod("unrelated", labels={})]
    found = claim(owner, pods)
    assert names(found.owned) == ["mine", "orphan"]
    assert names(found.adopt) == ["orphan"]
    assert names(found.release) == ["relabelled"]
    owner["metadata"]["deletionTimestamp"] = stamp(0)
    deleting = claim(owner, pods)
    assert (names(deleting.owned), deleting.adopt, deleting.release) == (["mine"], [], [])


def test_with_owner_adds_and_removes_only_that_reference():
    other = {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "x-uid"}
    orphan = pod("p")
    orphan["metadata"]["ownerReferences"] = [other]
    adopted = with_owner(orphan, rs(), "rs-uid")
    assert [r["uid"] for r in adopted["metadata"]["ownerReferences"]] == ["x-uid", "rs-uid"]
    assert with_owner(adopted, None, "rs-uid")["metadata"]["ownerReferences"] == [other]
    assert orphan["metadata"]["ownerReferences"] == [other]  # a copy was changed
    assert "ownerReferences" not in with_owner(orphan, None, "x-uid")["metadata"]


def test_expectations_hold_until_the_creations_and_deletions_are_seen():
    key = Key("replicasets", "default", "web")
    expectations = Expectations()
    assert expectations.satisfied(key)
    expectations.expect(key, adds=2)
    expectations.created(key)
    assert not expectations.satisfied(key)
    expectations.created(key)
    assert expectations.satisfied(key)
    expectations.expect(key, deletes=["a", "b"])
    expectations.deleted(key, "a")
    assert not expectations.satisfied(key)
    expectations.deleted(key, "b")
    assert expectations.satisfied(key)
    expectations.expect(key, deletes=["c", "d"])
    expectations.still_there(key, {"d", "e"})  # c is no longer active: it went
    assert not expectations.satisfied(key)
    expectations.still_there(key, {"e"})
    assert expectations.satisfied(key)
    stale = Expectations(timeout=-1)
    stale.expect(key, adds=5)
    assert stale.satisfied(key)  # given up on: a watch event was lost


class Creating:
    """A controller's pool and a client whose creates take a while: the most in flight at
    once is recorded (``peak``). Each create is held (10 s at most) until the slow-start batch
    it belongs to (``batches``) has all arrived, so ``peak`` does not depend on how fast a
    loaded machine starts the pool's threads."""

    def __init__(self, batches: list[int]) -> None:
        self.pool = ThreadPoolExecutor(ControllerConfig().workers)
        self.client = self
        self.condition = threading.Condition()
        self.totals = list(itertools.accumulate(batches))
        self.arrived = self.flying = self.peak = 0

    def create(self, resource: str, pod: dict, namespace: str) -> dict:
        with self.condition:
            self.arrived += 1
            self.flying += 1
            self.peak = max(self.peak, self.flying)
            batch_end = next(total for total in self.totals if total >= self.arrived)
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.arrived >= batch_end, timeout=10)
            self.flying -= 1
        return pod

    def remember(self, obj: dict) -> dict:
        return obj

    def record_event(self, *_: object) -> None:
        pass


def test_a_slow_start_batch_of_64_creations_is_sent_at_once_as_kube_controller_manager_does():
    controller = Creating([1, 2, 4, 8, 16, 32, 64])
    pods = [{"metadata": {"name": f"p{i}"}} for i in range(127)]
    try:
        create_pods(controller, Key("replicasets", "default", "web"), rs(),  # type: ignore[arg-type]
                    pods, Expectations())
    finally:
        controller.pool.shutdown()
    assert controller.peak == 64
