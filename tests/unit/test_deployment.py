"""The Deployment controller's decisions (actors/deployment.py) and kubectl's rollout status
(bindings/printers.py), as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actors.deployment import (
    HASH_LABEL,
    REVISION,
    Counts,
    deployment_status,
    fenceposts,
    new_replicaset,
    rolling_plan,
    template_hash,
    to_prune,
    without_hash,
)
from bindings.printers import RolloutFailed, rollout_status

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def deployment(replicas: int = 4, surge: object = "25%", unavailable: object = "25%",
               kind: str = "RollingUpdate") -> dict:
    strategy: dict = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
            "spec": {"replicas": replicas, "strategy": strategy, "revisionHistoryLimit": 2,
                     "progressDeadlineSeconds": 600,
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "v1"}]}}},
            "status": {}}


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "expected"), [
    (4, "25%", "25%", (1, 1)),
    (10, "25%", "25%", (3, 2)),   # surge rounds up, unavailable down
    (3, 1, 0, (1, 0)),
    (3, "0%", "0%", (0, 1)),      # both zero: one may be unavailable
    (2, 0, 5, (0, 2)),            # never more unavailable than replicas
])
def test_fenceposts_round_like_kubernetes(replicas, surge, unavailable, expected):
    assert fenceposts(deployment(replicas, surge, unavailable)) == expected


def test_recreate_has_no_surge_and_may_stop_everything():
    assert fenceposts(deployment(3, kind="Recreate")) == (0, 3)


def test_a_rollout_starts_by_surging_the_new_replicaset():
    plan = rolling_plan(3, 1, 0, Counts("new", 0, 0), [Counts("old", 3, 3)])
    assert plan == {"new": 1}  # 4 pods at most; nothing old may go before the new one is up


def test_old_pods_go_only_while_enough_stay_available():
    # new is up but not available yet: nothing may go (3 must stay available)
    assert rolling_plan(3, 1, 0, Counts("new", 1, 0), [Counts("old", 3, 3)]) == {}
    # new is available: one old may go, and the new one can then surge again next time
    assert rolling_plan(3, 1, 0, Counts("new", 1, 1), [Counts("old", 3, 3)]) == {"old": 2}
    assert rolling_plan(3, 1, 0, Counts("new", 1, 1), [Counts("old", 2, 2)]) == {"new": 2}


def test_max_unavailable_lets_old_pods_go_before_new_ones_are_up():
    plan = rolling_plan(4, 1, 1, Counts("new", 0, 0), [Counts("old", 4, 4)])
    assert plan == {"new": 1, "old": 3}  # 5 pods declared, 3 of them still available


def test_unhealthy_old_pods_are_cut_first_and_oldest_replicasets_first():
    plan = rolling_plan(4, 0, 1, Counts("new", 2, 2), [Counts("older", 1, 0), Counts("old", 2, 2)])
    assert plan == {"older": 0, "old": 1}


def test_the_new_replicaset_is_scaled_down_when_the_deployment_shrinks():
    assert rolling_plan(2, 1, 1, Counts("new", 5, 5), []) == {"new": 2}


def test_a_complete_rollout_changes_nothing():
    assert rolling_plan(3, 1, 0, Counts("new", 3, 3), [Counts("old", 0, 0)]) == {}


def test_the_template_hash_is_stable_and_ignores_its_own_label():
    template = deployment()["spec"]["template"]
    labelled = {"metadata": {"labels": {"app": "web", HASH_LABEL: "x"}},
                "spec": template["spec"]}
    assert template_hash(template) == template_hash(without_hash(labelled))
    assert template_hash(template) != template_hash(template, collision_count=1)
    assert set(template_hash(template)) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_the_new_replicaset_carries_the_hash_in_name_selector_and_template():
    made = new_replicaset(deployment(), "abc", 1, 3)
    assert made["metadata"]["name"] == "web-abc"
    assert made["metadata"]["annotations"][REVISION] == "3"
    assert made["spec"]["selector"]["matchLabels"] == {"app": "web", HASH_LABEL: "abc"}
    assert made["spec"]["template"]["metadata"]["labels"] == {"app": "web", HASH_LABEL: "abc"}
    assert made["metadata"]["ownerReferences"][0]["uid"] == "d-uid"


def replicaset(name: str, revision: int, replicas: int, ready: int | None = None) -> dict:
    ready = replicas if ready is None else ready
    return {"metadata": {"name": name, "annotations": {REVISION: str(revision)}},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready}}


def test_old_replicasets_beyond_the_history_limit_are_pruned_oldest_first():
    olds = [replicaset(f"r{n}", n, 0) for n in (3, 1, 4, 2)] + [replicaset("busy", 5, 1)]
    assert [rs["metadata"]["name"] for rs in to_prune(deployment(), olds)] == ["r1", "r2"]


def test_status_sums_the_replicasets_and_sets_the_conditions():
    d = deployment(replicas=4)
    new, old = replicaset("new", 2, 2, ready=1), replicaset("old", 1, 3)
    status, left = deployment_status(d, [old, new], new, NOW)
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1, "replicas": 5, "updatedReplicas": 2, "readyReplicas": 4,
        "availableReplicas": 4, "unavailableReplicas": 0}
    kinds = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert kinds == {"Available": ("True", "MinimumReplicasAvailable"),
                     "Progressing": ("True", "ReplicaSetUpdated")}
    assert left == 600
    done, left = deployment_status(d, [replicaset("new", 2, 4)], replicaset("new", 2, 4), NOW)
    assert done["conditions"][1]["reason"] == "NewReplicaSetAvailable" and left is None


def test_no_progress_past_the_deadline_is_reported():
    d = deployment(replicas=2)
    stuck = replicaset("new", 1, 2, ready=0)
    d["status"], _ = deployment_status(d, [stuck], stuck, NOW)
    for condition in d["status"]["conditions"]:
        condition["lastUpdateTime"] = (NOW - timedelta(seconds=601)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    status, _ = deployment_status(d, [stuck], stuck, NOW)
    progressing = status["conditions"][1]
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert status["conditions"][0]["status"] == "False"  # 0 of 2 available, 1 may be missing


def rolled(generation: int, observed: int, replicas: int, updated: int, total: int,
           available: int, reason: str = "ReplicaSetUpdated") -> dict:
    return {"metadata": {"name": "x", "generation": generation}, "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "updatedReplicas": updated,
                       "replicas": total, "availableReplicas": available,
                       "conditions": [{"type": "Progressing", "reason": reason}]}}


def test_rollout_status_speaks_as_kubectl():
    waiting = 'Waiting for deployment "x" rollout to finish: '
    assert rollout_status(rolled(2, 1, 3, 3, 3, 3)) == (
        "Waiting for deployment spec update to be observed...", False)
    assert rollout_status(rolled(2, 2, 3, 1, 4, 3)) == (
        f"{waiting}1 out of 3 new replicas have been updated...", False)
    assert rollout_status(rolled(2, 2, 3, 3, 4, 3)) == (
        f"{waiting}1 old replicas are pending termination...", False)
    assert rollout_status(rolled(2, 2, 3, 3, 3, 1)) == (
        f"{waiting}1 of 3 updated replicas are available...", False)
    assert rollout_status(rolled(2, 2, 3, 3, 3, 3)) == (
        'deployment "x" successfully rolled out', True)
    with pytest.raises(RolloutFailed, match='deployment "x" exceeded its progress deadline'):
        rollout_status(rolled(2, 2, 3, 1, 3, 1, reason="ProgressDeadlineExceeded"))
