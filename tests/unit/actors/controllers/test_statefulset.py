"""The StatefulSet controller's decisions (actors/controllers/statefulset.py), as pure
functions; and the rollout verbs' view of DaemonSets and StatefulSets (bindings/cli)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actors.controllers import revisions
from actors.controllers.statefulset import (
    POD_INDEX_LABEL,
    POD_NAME_LABEL,
    creation_revision,
    new_claims,
    new_pod,
    next_step,
    ordinal_of,
    scaled_away,
    statefulset_status,
)
from bindings.cli import workloads
from bindings.cli.printers import RolloutFailed, rollout_status

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)


def sts(replicas: int = 3, policy: str = "OrderedReady", partition: int | None = None,
        strategy: str = "RollingUpdate", **spec: object) -> dict:
    update: dict = {"type": strategy}
    if partition is not None:
        update["rollingUpdate"] = {"partition": partition}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "u", "generation": 2},
            "spec": {"replicas": replicas, "podManagementPolicy": policy,
                     "updateStrategy": update, "serviceName": "nginx", **spec}}


def pod(ordinal: int, revision: str = "web-new", ready: bool = True, phase: str = "Running",
        since: float = 100, deleting: bool = False) -> dict:
    metadata: dict = {"name": f"web-{ordinal}", "labels": {revisions.HASH_LABEL: revision}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-06T12:00:00Z"
    stamp = (NOW - timedelta(seconds=since)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"metadata": metadata, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp}]}}


def pods(*made: dict) -> dict[int, dict]:
    return {int(p["metadata"]["name"].rsplit("-", 1)[1]): p for p in made}


def step(spec: dict, *made: dict) -> tuple[list[int], list[str]]:
    found = next_step(spec, pods(*made), "web-new", NOW)
    return found.create, found.delete


def test_ordered_ready_makes_one_pod_at_a_time_each_after_the_one_before_is_ready():
    assert step(sts()) == ([0], [])
    assert step(sts(), pod(0, ready=False)) == ([], [])
    assert step(sts(), pod(0)) == ([1], [])
    assert step(sts(), pod(0), pod(2)) == ([1], [])
    assert step(sts(minReadySeconds=300), pod(0)) == ([], [])  # not available yet


def test_parallel_makes_every_missing_pod_at_once():
    assert step(sts(policy="Parallel"), pod(1, ready=False)) == ([0, 2], [])


def test_scaling_down_removes_the_highest_ordinal_first_one_at_a_time():
    assert step(sts(1), pod(0), pod(1), pod(2)) == ([], ["web-2"])
    assert step(sts(1), pod(0), pod(1), pod(2, deleting=True)) == ([], [])
    assert step(sts(1), pod(0, ready=False), pod(1)) == ([], [])
    assert step(sts(1, "Parallel"), pod(0), pod(1), pod(2)) == ([], ["web-2", "web-1"])


def test_a_failed_pod_is_deleted_to_be_made_again():
    assert step(sts(), pod(0, phase="Failed")) == ([], ["web-0"])


def test_a_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition():
    old = [pod(i, "web-old") for i in range(3)]
    assert step(sts(), *old) == ([], ["web-2"])
    assert step(sts(), old[0], old[1], pod(2)) == ([], ["web-1"])
    assert step(sts(), old[0], old[1], pod(2, ready=False)) == ([], [])
    assert step(sts(partition=1), old[0], pod(1), pod(2)) == ([], [])
    assert step(sts(strategy="OnDelete"), *old) == ([], [])


def test_pods_below_the_partition_are_made_from_the_current_revision():
    assert creation_revision(sts(partition=2), 1)
    assert not creation_revision(sts(partition=2), 2)
    assert not creation_revision(sts(strategy="OnDelete"), 0)


def test_a_pod_has_the_identity_of_its_ordinal():
    revision = {"metadata": {"name": "web-abc"}, "data": {"spec": {"template": {
        "metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": []},
        "$patch": "replace"}}}}
    made = new_pod(sts(), 2, revision)
    assert made["metadata"]["name"] == "web-2" and ordinal_of("web", made) == 2
    assert made["metadata"]["labels"] == {"app": "nginx", POD_NAME_LABEL: "web-2",
                                          POD_INDEX_LABEL: "2",
                                          revisions.HASH_LABEL: "web-abc"}
    assert (made["spec"]["hostname"], made["spec"]["subdomain"]) == ("web-2", "nginx")
    assert ordinal_of("web", {"metadata": {"name": "web-x"}}) is None
    assert ordinal_of("web", {"metadata": {"name": "webby-1"}}) is None


def test_status_counts_revisions_and_completes_a_rolling_update():
    status = statefulset_status(sts(), [pod(0, "web-old"), pod(1), pod(2, ready=False)],
                                "web-old", "web-new", NOW)
    assert {k: status[k] for k in ("replicas", "readyReplicas", "availableReplicas",
                                   "currentReplicas", "updatedReplicas", "currentRevision",
                                   "updateRevision", "observedGeneration")} == {
        "replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "currentReplicas": 1,
        "updatedReplicas": 2, "currentRevision": "web-old", "updateRevision": "web-new",
        "observedGeneration": 2}
    done = statefulset_status(sts(), [pod(i) for i in range(3)], "web-old", "web-new", NOW)
    assert (done["currentRevision"], done["currentReplicas"]) == ("web-new", 3)


# -- kubectl rollout status, history, undo (bindings/cli/printers.py, workloads.py) -------------


def test_rollout_status_of_statefulsets_and_daemonsets_speaks_as_kubectl():
    rolling = sts(3, partition=1)
    rolling["status"] = {"observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 1}
    assert rollout_status(rolling) == ("Waiting for partitioned roll out to finish: 1 out of "
                                       "2 new pods have been updated...", False)
    rolling["status"]["readyReplicas"] = 1
    assert rollout_status(rolling) == ("Waiting for 2 pods to be ready...", False)
    with pytest.raises(RolloutFailed, match="only available for RollingUpdate"):
        rollout_status(sts(strategy="OnDelete"))
    daemonset = {"kind": "DaemonSet", "metadata": {"name": "agent", "generation": 1},
                 "spec": {}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                                        "updatedNumberScheduled": 3, "numberAvailable": 2}}
    assert rollout_status(daemonset) == ('Waiting for daemon set "agent" rollout to finish: 2 '
                                         "of 3 updated pods are available...", False)


def test_history_and_undo_read_the_controller_revisions_of_their_owner():
    owner = sts()
    owner["spec"]["template"] = {"spec": {"containers": [{"name": "c", "image": "v2"}]}}
    made = [revisions.new_revision(dict(owner, spec=dict(owner["spec"], template={
        "spec": {"containers": [{"name": "c", "image": image}]}})), number, 0)
        for number, image in ((1, "v1"), (2, "v2"))]
    kept = workloads.kept_revisions(owner, [*made, dict(made[0], metadata=dict(
        made[0]["metadata"], ownerReferences=[{"uid": "other", "controller": True}]))])
    assert sorted(kept) == [1, 2]
    assert workloads.history(owner, kept).startswith("statefulset.apps/web\nREVISION")
    rev, target = workloads.rollback_target(owner, kept)
    back = workloads.rolled_back(owner, target)
    assert rev == 1 and back is not None
    assert back["spec"]["template"]["spec"]["containers"][0]["image"] == "v1"
    assert workloads.rolled_back(owner, kept[2]) is None
    with pytest.raises(workloads.RolloutError, match="no last revision to roll back to"):
        workloads.rollback_target(owner, {2: kept[2]})


WWW = {"metadata": {"name": "www", "labels": {"tier": "data"}},
       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def test_each_ordinal_gets_a_claim_per_template_named_in_its_pod():
    claimed = sts(volumeClaimTemplates=[WWW], selector={"matchLabels": {"app": "nginx"}})
    [claim] = new_claims(claimed, 2)
    assert claim["metadata"]["name"] == "www-web-2"
    assert claim["metadata"]["labels"] == {"tier": "data", "app": "nginx"}
    assert claim["metadata"]["ownerReferences"] == []  # whenDeleted Retain: outlives the set
    assert claim["spec"] == WWW["spec"]
    claimed["spec"]["template"] = {"spec": {"containers": [], "volumes": [
        {"name": "www", "emptyDir": {}}, {"name": "other", "emptyDir": {}}]}}
    made = new_pod(claimed, 2, revisions.new_revision(claimed, 1, 0))
    assert made["spec"]["volumes"] == [
        {"name": "other", "emptyDir": {}},
        {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-2"}}]


def test_claims_are_owned_by_the_set_when_deleted_with_it_and_dropped_when_scaled_away():
    policy = {"whenDeleted": "Delete", "whenScaled": "Delete"}
    claimed = sts(replicas=2, volumeClaimTemplates=[WWW],
                  persistentVolumeClaimRetentionPolicy=policy)
    assert new_claims(claimed, 0)[0]["metadata"]["ownerReferences"][0]["name"] == "web"
    claims = [{"metadata": {"name": name}} for name in
              ("www-web-0", "www-web-1", "www-web-2", "www-web-3", "other-web-5")]
    assert scaled_away(claimed, claims, {3: pod(3)}) == ["www-web-2"]  # 3's pod still runs
    kept = sts(replicas=2, volumeClaimTemplates=[WWW])
    assert scaled_away(kept, claims, {}) == []
