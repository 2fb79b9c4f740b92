"""The Deployment controller's decisions (actors/controllers/deployment.py) and kubectl's rollout
status, history, undo, pause and resume (bindings/cli/printers.py, bindings/cli/workloads.py), as
pure functions; and the Warning a refused ReplicaSet becomes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from actors.api.defaulting import default_pod_spec
from actors.api.discovery import Served
from actors.controllers.controller import ControllerConfig, Key
from actors.controllers.deployment import (
    CHANGE_CAUSE,
    DESIRED_REPLICAS,
    HASH_LABEL,
    MAX_REPLICAS,
    REVISION,
    Counts,
    DeploymentController,
    deployment_status,
    fenceposts,
    is_scaling_event,
    new_replicaset,
    proportional_plan,
    rolling_plan,
    template_hash,
    to_prune,
    without_hash,
)
from bindings.cli import workloads
from bindings.cli.printers import RolloutFailed, rollout_status
from bus.errors import Invalid

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
    assert template_hash(without_hash(template)) == template_hash(without_hash(labelled))
    assert template_hash(template) != template_hash(template, collision_count=1)
    assert set(template_hash(template)) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_a_template_stored_before_a_default_was_added_reads_as_one_written_today():
    """As Kubernetes decodes (and defaults) both: an old ReplicaSet's template and its
    Deployment's, given the default by an unrelated update, are the same template."""
    stored = deployment()["spec"]["template"]
    written = copy.deepcopy(stored)
    default_pod_spec(written["spec"])
    assert written["spec"]["dnsPolicy"] == "ClusterFirst"  # a default was written
    assert without_hash(written) == without_hash(stored)
    written["spec"]["dnsPolicy"] = "Default"
    assert without_hash(written) != without_hash(stored)


def test_empty_maps_and_lists_are_as_absent_so_a_rollback_finds_its_replicaset():
    template = deployment()["spec"]["template"]
    sent = copy.deepcopy(template)  # as kubectl rollout undo sends it back
    sent["spec"]["containers"][0]["resources"] = {}
    sent["spec"]["volumes"] = []
    assert without_hash(sent) == without_hash(template)
    assert template_hash(without_hash(sent)) == template_hash(without_hash(template))
    sent["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    assert without_hash(sent) != without_hash(template)


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


# -- proportional scaling and pausing ------------------------------------------------------------


def sized(name: str, created: int, replicas: int, available: int, desired: int,
          max_replicas: int) -> dict:
    """A ReplicaSet created at second ``created``, last sized for a Deployment of
    ``desired`` replicas allowed ``max_replicas`` pods."""
    rs = replicaset(name, created, replicas, ready=available)
    rs["metadata"]["creationTimestamp"] = f"2026-11-26T12:00:{created:02d}Z"
    rs["metadata"]["annotations"].update({DESIRED_REPLICAS: str(desired),
                                          MAX_REPLICAS: str(max_replicas)})
    return rs


def test_new_replicas_mid_rollout_are_spread_in_proportion_like_the_kubernetes_docs():
    # 10 replicas, maxSurge 3, maxUnavailable 2: the rollout is stuck at old 8, new 5 (its
    # image does not pull) when the Deployment is scaled to 15: 3 more old, 2 more new.
    d = deployment(replicas=15, surge=3, unavailable=2)
    old, new = sized("old", 1, 8, 8, 10, 13), sized("new", 2, 5, 0, 10, 13)
    assert is_scaling_event(d, [old, new])
    assert proportional_plan(d, new, [old]) == {"old": 11, "new": 7}


def test_scaling_down_mid_rollout_takes_from_each_in_proportion():
    d = deployment(replicas=5, surge=3, unavailable=2)
    old, new = sized("old", 1, 8, 8, 10, 13), sized("new", 2, 5, 0, 10, 13)
    assert proportional_plan(d, new, [old]) == {"old": 5, "new": 3}


def test_the_rounding_leftover_goes_to_the_largest_and_ties_grow_the_newer_first():
    d = deployment(replicas=4, surge=0, unavailable=1)  # 3 -> 4: one more pod
    a, b, c = (sized(name, n, 1, 1, 3, 3) for n, name in enumerate("abc", 1))
    assert proportional_plan(d, c, [a, b]) == {"a": 1, "b": 1, "c": 2}
    d = deployment(replicas=2, surge=0, unavailable=1)  # 3 -> 2: one less, the oldest
    assert proportional_plan(d, c, [a, b]) == {"a": 0, "b": 1, "c": 1}


def test_scaling_to_zero_empties_every_replicaset():
    d = deployment(replicas=0, surge=3, unavailable=2)
    old, new = sized("old", 1, 8, 8, 10, 13), sized("new", 2, 5, 0, 10, 13)
    assert proportional_plan(d, new, [old]) == {"old": 0, "new": 0}


def test_one_active_replicaset_takes_all_and_with_none_the_newest_does():
    d = deployment(replicas=6)
    idle, busy = sized("idle", 1, 0, 0, 4, 5), sized("busy", 2, 4, 4, 4, 5)
    assert proportional_plan(d, None, [idle, busy]) == {"busy": 6}
    assert proportional_plan(d, None, [idle, sized("later", 3, 0, 0, 4, 5)]) == {"later": 6}
    assert proportional_plan(d, None, []) == {}


def test_a_saturated_new_replicaset_leaves_the_old_ones_at_zero():
    d = deployment(replicas=4)
    new, old = sized("new", 2, 4, 4, 4, 5), sized("old", 1, 1, 1, 3, 4)
    assert proportional_plan(d, new, [old]) == {"old": 0}


def test_recreate_is_not_scaled_in_proportion_and_sized_replicasets_are_no_event():
    d = deployment(replicas=6, kind="Recreate")
    old, new = sized("old", 1, 2, 2, 4, 4), sized("new", 2, 2, 0, 4, 4)
    assert proportional_plan(d, new, [old]) == {}
    assert not is_scaling_event(deployment(replicas=4), [old, new])
    assert not is_scaling_event(d, [sized("idle", 1, 0, 0, 4, 4), replicaset("adopted", 1, 3)])


def test_a_paused_deployment_says_so_without_a_deadline_and_counts_again_once_resumed():
    d = deployment(replicas=2)
    new = replicaset("new", 1, 2, ready=0)
    d["status"], _ = deployment_status(d, [new], new, NOW)
    d["spec"]["paused"] = True
    d["status"], left = deployment_status(d, [new], new, NOW)
    progressing = d["status"]["conditions"][1]
    assert (progressing["status"], progressing["reason"], progressing["message"], left) == (
        "Unknown", "DeploymentPaused", "Deployment is paused", None)
    d["spec"]["paused"] = False
    d["metadata"]["generation"] = 3  # pausing and resuming changed the spec
    d["status"], left = deployment_status(d, [new], new, NOW)
    progressing = d["status"]["conditions"][1]
    assert (progressing["status"], progressing["reason"], left) == (
        "Unknown", "DeploymentResumed", 600)
    done = replicaset("new", 1, 2)
    status, left = deployment_status(d, [done], done, NOW)
    assert status["conditions"][1]["reason"] == "NewReplicaSetAvailable" and left is None


def test_the_new_replicaset_gets_the_deployments_annotations_but_its_own_bookkeeping():
    d = deployment(replicas=4)
    d["metadata"]["annotations"] = {CHANGE_CAUSE: "kubectl set image", REVISION: "7",
                                    DESIRED_REPLICAS: "9", "team": "web"}
    annotations = new_replicaset(d, "abc", 1, 3)["metadata"]["annotations"]
    assert annotations == {CHANGE_CAUSE: "kubectl set image", "team": "web", REVISION: "3",
                           DESIRED_REPLICAS: "4", MAX_REPLICAS: "5"}


# -- kubectl rollout history, undo, pause, resume (bindings/cli/workloads.py) ----------------------


def revised(rev: int, image: str, cause: str | None = None, owner: str = "d-uid") -> dict:
    """A ReplicaSet of revision ``rev`` running ``image``, controlled by ``owner``."""
    rs = new_replicaset(deployment(), f"h{rev}", 0, rev)
    rs["metadata"]["ownerReferences"][0]["uid"] = owner
    rs["spec"]["template"]["spec"]["containers"][0]["image"] = image
    if cause:
        rs["metadata"]["annotations"][CHANGE_CAUSE] = cause
    return rs


def of(owner: dict, replicasets: list[dict]) -> dict[int, workloads.Kept]:
    return workloads.kept_revisions(owner, replicasets)


def test_history_lists_the_revisions_with_their_change_cause_as_kubectl():
    kept = of(deployment(), [revised(2, "v2", "set image v2"), revised(1, "v1"),
                             revised(7, "x", owner="other")])
    assert workloads.history(deployment(), kept) == (
        "deployment.apps/web\n"
        "REVISION  CHANGE-CAUSE\n"
        "1         <none>\n"
        "2         set image v2\n")
    one = workloads.history(deployment(), kept, wanted=2)
    assert one.startswith("deployment.apps/web with revision #2\nPod Template:\n")
    assert "Image:        v2" in one and "pod-template-hash" not in one
    assert workloads.history(deployment(), {}) == "deployment.apps/web\nNo rollout history found."
    with pytest.raises(workloads.RolloutError, match="unable to find the specified revision"):
        workloads.history(deployment(), kept, wanted=7)


def test_undo_goes_back_to_the_previous_revision_or_the_one_named():
    d = deployment()
    kept = of(d, [revised(1, "v1"), revised(3, "v3"), revised(2, "v2")])
    assert workloads.rollback_target(d, kept)[0] == 2
    assert workloads.rollback_target(d, kept, 1) == (1, kept[1])
    with pytest.raises(workloads.RolloutError, match="unable to find specified revision 9 in "
                                                   "history"):
        workloads.rollback_target(d, kept, 9)
    with pytest.raises(workloads.RolloutError, match='no rollout history found for deployment '
                                                   '"web"'):
        workloads.rollback_target(d, {1: kept[1]})
    d["spec"]["paused"] = True
    with pytest.raises(workloads.RolloutError, match="cannot rollback a paused deployment"):
        workloads.rollback_target(d, kept)


def test_undo_takes_the_template_and_annotations_of_the_revision_but_keeps_its_bookkeeping():
    d = deployment()
    d["metadata"]["annotations"] = {REVISION: "3", CHANGE_CAUSE: "set image v3", "x": "y"}
    back = workloads.rolled_back(d, of(d, [revised(1, "v0", "first")])[1])
    assert back is not None
    assert back["spec"]["template"]["spec"]["containers"][0]["image"] == "v0"
    assert back["spec"]["template"]["metadata"]["labels"] == {"app": "web"}  # no hash label
    assert back["metadata"]["annotations"] == {REVISION: "3", CHANGE_CAUSE: "first"}
    assert workloads.rolled_back(d, of(d, [revised(1, "v1")])[1]) is None  # that one already


def test_pause_and_resume_set_the_flag_once():
    d = deployment()
    held = workloads.paused(d, True)
    assert held["spec"]["paused"] is True and "paused" not in d["spec"]
    with pytest.raises(workloads.RolloutError, match=r'deployments\.apps "web" is already paused'):
        workloads.paused(held, True)
    assert workloads.paused(held, False)["spec"]["paused"] is False
    with pytest.raises(workloads.RolloutError, match=r'deployments\.apps "web" is not paused'):
        workloads.paused(d, False)


class Refusing(DeploymentController):
    """A Deployment controller whose ReplicaSet creations the apiserver refuses; it keeps the
    Events it records."""

    def __init__(self) -> None:
        super().__init__(SimpleNamespace(subjects=None), SimpleNamespace(  # type: ignore[arg-type]
            create=self._refuse, served=Served()), ControllerConfig(workers=1))
        self.said: list[tuple[str, str, str]] = []

    @staticmethod
    def _refuse(resource: str, obj: dict, namespace: str) -> dict:
        raise Invalid(f'ReplicaSet "{obj["metadata"]["name"]}" is invalid: spec.template.'
                      "metadata.labels: Invalid value: {}: `selector` does not match template "
                      "`labels`")

    def record_event(self, obj: dict, kind: str, reason: str, message: str) -> None:
        self.said.append((kind, reason, message))


def test_a_replicaset_the_apiserver_refuses_is_a_warning_event_on_the_deployment():
    controller = Refusing()
    try:
        controller.remember(deployment())
        with pytest.raises(Invalid):  # not retried until the Deployment changes
            controller.reconcile(Key("deployments", "default", "web"))
    finally:
        controller.pool.shutdown()
    [(kind, reason, message)] = controller.said
    assert (kind, reason) == ("Warning", "ReplicaSetCreateError")
    assert message.startswith('Failed to create new replica set "web-') and "`selector`" in message
