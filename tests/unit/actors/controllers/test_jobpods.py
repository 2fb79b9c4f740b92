"""The Job controller's decisions (actors/controllers/jobpods.py), as pure functions: each
finished pod counted once through the tracking finalizer, the pod failure policy, the verdicts
in Kubernetes' order, the pods wanted, the failure back-off, an Indexed Job's pods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actors.api import jobs
from actors.controllers import jobpods

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def job(status: dict | None = None, **spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "work", "namespace": "default", "uid": "job-uid"},
            "spec": {"completions": 3, "parallelism": 2, "backoffLimit": 2,
                     "completionMode": "NonIndexed",
                     "template": {"metadata": {"labels": {jobs.CONTROLLER_UID: "job-uid"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}],
                                           "restartPolicy": "Never"}}, **spec},
            "status": status or {}}


def pod(uid: str, phase: str = "Running", *, tracked: bool = True, exit_code: int = 0,
        index: int | None = None, ended: float = 0, **metadata) -> dict:
    state = {"terminated": {"exitCode": exit_code, "finishedAt": stamp(ended)}} \
        if phase in ("Succeeded", "Failed") else {"running": {}}
    annotations = {} if index is None else {jobs.COMPLETION_INDEX: str(index)}
    return {"metadata": {"name": f"work-{uid}", "namespace": "default", "uid": uid,
                         "annotations": annotations,
                         "finalizers": [jobs.TRACKING_FINALIZER] if tracked else [],
                         **metadata},
            "status": {"phase": phase,
                       "containerStatuses": [{"name": "c", "state": state, "restartCount": 0}]}}


def test_a_finished_pod_waits_uncounted_until_its_finalizer_goes_then_counts_once():
    done = pod("a", "Succeeded")
    first = jobpods.track(job(), [done])
    assert (first.succeeded, first.uncounted["succeeded"]) == (0, ["a"])
    assert [p["metadata"]["uid"] for p in first.release] == ["a"]
    written = job({"uncountedTerminatedPods": {"succeeded": ["a"]}})
    still = jobpods.track(written, [done])  # the finalizer is not gone yet
    assert (still.succeeded, still.uncounted["succeeded"]) == (0, ["a"])
    released = pod("a", "Succeeded", tracked=False)
    counted = jobpods.track(written, [released])
    assert (counted.succeeded, counted.uncounted["succeeded"], counted.release) == (1, [], [])
    again = jobpods.track(job({"succeeded": 1}), [released])
    assert (again.succeeded, again.uncounted["succeeded"]) == (1, [])  # never twice


def test_a_pod_deleted_before_it_finished_counts_as_failed():
    deleted = pod("a", deletionTimestamp=stamp(1))
    assert jobpods.track(job(), [deleted]).uncounted["failed"] == ["a"]
    assert jobpods.track(job(), [pod("b", "Running")]).uncounted == {"succeeded": [],
                                                                    "failed": []}


def test_an_indexed_jobs_success_counts_its_index_once():
    indexed = job(completionMode="Indexed", completions=3)
    first = jobpods.track(indexed, [pod("a", "Succeeded", index=1),
                                    pod("b", "Succeeded", index=1),
                                    pod("c", "Succeeded", index=7)])
    assert (first.completed, first.succeeded) == ({1}, 1)
    written = job({"completedIndexes": "1", "succeeded": 1,
                   "uncountedTerminatedPods": {"succeeded": ["a", "b", "c"]}},
                  completionMode="Indexed", completions=3)
    counted = jobpods.track(written, [])
    assert (counted.completed, counted.succeeded, counted.uncounted["succeeded"]) == (
        {1}, 1, [])


def test_the_pod_failure_policy_matches_exit_codes_and_conditions_in_order():
    rules = [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget",
                                                       "status": "True"}]},
             {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In",
                                                   "values": [42]}},
             {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1, 2]}}]
    policy = job(podFailurePolicy={"rules": rules})
    action, message = jobpods.failure_action(policy, pod("a", "Failed", exit_code=42))
    assert action == "FailJob"
    assert message == ("Container c for pod default/work-a failed with exit code 42 matching "
                       "FailJob rule at index 1")
    assert jobpods.failure_action(policy, pod("b", "Failed", exit_code=1)) == ("Count", "")
    assert jobpods.failure_action(policy, pod("b", "Failed", exit_code=3))[0] == "Count"
    disrupted = pod("d", "Failed", exit_code=42)
    disrupted["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True"}]
    assert jobpods.failure_action(policy, disrupted)[0] == "Ignore"
    tracked = jobpods.track(policy, [disrupted, pod("e", "Failed", exit_code=42)])
    assert tracked.uncounted["failed"] == ["e"] and tracked.fail_job is not None
    assert {p["metadata"]["uid"] for p in tracked.release} == {"d", "e"}


def test_verdicts_come_in_kubernetes_order():
    tracking = jobpods.Tracking(0, 3, set(), set(), {"succeeded": [], "failed": []})
    assert jobpods.verdict(job(), tracking, [], NOW) == (
        "FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    tracking.failed = 0
    late = job({"startTime": stamp(11)}, activeDeadlineSeconds=10)
    assert jobpods.verdict(late, tracking, [], NOW)[1] == "DeadlineExceeded"
    assert jobpods.deadline_left(job({"startTime": stamp(4)}, activeDeadlineSeconds=10),
                                 NOW) == 6.0
    tracking.succeeded = 3
    assert jobpods.verdict(job(), tracking, [], NOW) == (
        "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods")
    tracking.fail_job = "a rule"
    assert jobpods.verdict(job(), tracking, [], NOW)[1:] == ("PodFailurePolicy", "a rule")


def test_restarts_of_on_failure_pods_count_against_the_backoff_limit():
    on_failure = job(backoffLimit=2)
    on_failure["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    crashing = pod("a")
    crashing["status"]["containerStatuses"][0]["restartCount"] = 2
    tracking = jobpods.Tracking(0, 0, set(), set(), {"succeeded": [], "failed": []})
    assert jobpods.verdict(on_failure, tracking, [crashing], NOW)[1] == "BackoffLimitExceeded"
    assert jobpods.verdict(job(backoffLimit=2), tracking, [crashing], NOW) is None


def test_pods_wanted_up_to_parallelism_and_the_completions_left():
    tracking = jobpods.Tracking(1, 0, set(), set(), {"succeeded": ["x"], "failed": []})
    assert jobpods.wanted(job(completions=3, parallelism=5), tracking, []) == [None]
    assert jobpods.wanted(job(completions=9, parallelism=2), tracking, [pod("a")]) == [None]
    assert jobpods.wanted(job(completions=None), tracking, []) == []  # a work queue, done
    indexed = job(completionMode="Indexed", completions=4, parallelism=2)
    tracking = jobpods.Tracking(1, 0, {0}, set(), {"succeeded": [], "failed": []})
    assert jobpods.wanted(indexed, tracking, [pod("a", index=1)]) == [2]
    assert jobpods.surplus(job(parallelism=1), [pod("a"), pod("b")]) == 1


def test_failed_pods_are_replaced_after_a_doubling_backoff_since_the_last_failure():
    assert jobpods.creation_delay([pod("a", "Failed", ended=3)], NOW) == 7.0
    two = [pod("a", "Failed", ended=30), pod("b", "Failed", ended=5)]
    assert jobpods.creation_delay(two, NOW) == 15.0
    succeeded_since = [pod("a", "Failed", ended=8), pod("b", "Succeeded", ended=1)]
    assert jobpods.creation_delay(succeeded_since, NOW) == 0.0


def test_an_indexed_jobs_pod_carries_its_index_env_and_hostname():
    made = jobpods.job_pod(job(completionMode="Indexed"), 2)
    assert made["metadata"]["generateName"] == "work-2-"
    assert made["metadata"]["finalizers"] == [jobs.TRACKING_FINALIZER]
    assert made["metadata"]["annotations"][jobs.COMPLETION_INDEX] == "2"
    assert made["metadata"]["labels"][jobs.COMPLETION_INDEX] == "2"
    assert made["spec"]["hostname"] == "work-2"
    assert made["spec"]["containers"][0]["env"] == [{
        "name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{jobs.COMPLETION_INDEX}']"}}}]
    plain = jobpods.job_pod(job(), None)
    assert plain["metadata"]["generateName"] == "work-" and "hostname" not in plain["spec"]


def test_completed_indexes_read_and_write_as_intervals():
    assert jobpods.parse_indexes("1,3-5,9") == {1, 3, 4, 5, 9}
    assert jobpods.format_indexes({10, 1, 3, 4, 5, 7, 8}) == "1,3-5,7,8,10"
    assert jobpods.format_indexes({1, 2}) == "1,2"
    assert jobpods.format_indexes(set()) == "" and jobpods.parse_indexes("") == set()


def test_an_index_fails_past_its_own_backoff_limit_and_is_not_run_again():
    indexed = job(completionMode="Indexed", completions=3, parallelism=3,
                  backoffLimitPerIndex=1, backoffLimit=2**31 - 1)
    first = pod("a", "Failed", index=1, exit_code=1)
    first["metadata"]["annotations"][jobpods.FAILURE_COUNT] = "0"
    second = pod("b", "Failed", index=1, exit_code=1)
    second["metadata"]["annotations"][jobpods.FAILURE_COUNT] = "1"
    assert jobpods.track(indexed, [first]).failed_indexes == set()
    assert jobpods.next_failure_count([first], 1) == 1
    tracked = jobpods.track(indexed, [first, second, pod("c", "Succeeded", index=0),
                                      pod("d", "Succeeded", index=2)])
    assert tracked.failed_indexes == {1} and tracked.completed == {0, 2}
    assert jobpods.wanted(indexed, tracked, []) == []
    assert jobpods.verdict(indexed, tracked, [], NOW) == (
        "FailureTarget", "FailedIndexes", "Job has failed indexes")
    indexed["spec"]["maxFailedIndexes"] = 0
    assert jobpods.verdict(indexed, tracked, [], NOW)[1] == "MaxFailedIndexesExceeded"
    made = jobpods.job_pod(indexed, 1, 1)
    assert made["metadata"]["annotations"][jobpods.FAILURE_COUNT] == "1"


def test_the_backoff_counts_per_index_with_a_limit_per_index():
    indexed = job(completionMode="Indexed", completions=3, backoffLimitPerIndex=3)
    failed = [pod("a", "Failed", index=1, ended=4)]
    assert jobpods.due_now(indexed, [0, 1], failed, NOW) == ([0], 6.0)
    assert jobpods.due_now(job(), [None], failed, NOW) == ([], 6.0)


def test_a_success_policy_rule_met_ends_an_indexed_job_early():
    rules = [{"succeededIndexes": "0,2-3", "succeededCount": 2}, {"succeededIndexes": "1"},
             {"succeededCount": 3}]
    indexed = job(completionMode="Indexed", completions=5, successPolicy={"rules": rules})
    assert jobpods.success_rule(indexed, {0, 1}) == 1
    assert jobpods.success_rule(indexed, {0, 3}) == 0
    assert jobpods.success_rule(indexed, {0, 4}) is None
    assert jobpods.success_rule(indexed, {0, 4, 5}) == 2
    tracking = jobpods.Tracking(2, 0, {0, 1}, set(), {"succeeded": [], "failed": []})
    assert jobpods.verdict(indexed, tracking, [pod("a", index=2)], NOW) == (
        "SuccessCriteriaMet", "SuccessPolicy", "Matched rules at index 1")
