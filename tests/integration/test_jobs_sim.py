"""Jobs on simulated nodes (real NATS, real store, no Docker): pods run to completion, each
counted once through the tracking finalizer; failures end the Job after its backoff limit or
at once by the pod failure policy; an Indexed Job's pods carry their index; a finished Job
with a TTL is deleted."""

from __future__ import annotations

import pytest
import yaml

from actors.api import jobs
from bindings.runtimes.sim import EXIT_CODE, RUN_SECONDS
from tests.conftest import wait_for, wait_none_left

pytestmark = pytest.mark.integration


def job(name: str, *, exit_code: int = 0, **spec) -> dict:
    annotations = {RUN_SECONDS: "0.2", EXIT_CODE: str(exit_code)}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"metadata": {"annotations": annotations},
                                  "spec": {"containers": [{"name": "c", "image": "sim"}],
                                           "restartPolicy": "Never"}}, **spec}}


def finished(kind: str):
    return lambda obj: jobs.finished(obj) == kind


def pods_of(admin, name: str) -> list[dict]:
    return admin.list("pods", "default", label_selector=f"{jobs.JOB_NAME}={name}")["items"]


def test_a_job_runs_its_completions_parallelism_at_a_time_and_completes(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create(jobs.JOBS, job("five", completions=5, parallelism=2))
    done = wait_for(admin, jobs.JOBS, "five", finished("Complete"), timeout=60)
    status = done["status"]
    assert (status["succeeded"], "failed" in status, "active" in status) == (5, False, False)
    assert {c["type"] for c in status["conditions"]} == {"SuccessCriteriaMet", "Complete"}
    assert status["completionTime"] >= status["startTime"]
    pods = pods_of(admin, "five")
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"] * 5
    assert all(not p["metadata"].get("finalizers") for p in pods)
    uid = done["metadata"]["uid"]
    assert all(p["metadata"]["labels"][jobs.CONTROLLER_UID] == uid for p in pods)
    completed = wait_for(admin, "events", None, lambda e: e["involvedObject"]["uid"] == uid
                         and e["reason"] == "Completed")
    assert (completed["type"], completed["message"]) == ("Normal", "Job completed")
    created = [e["message"] for e in admin.list("events", "default")["items"]
               if e["involvedObject"]["uid"] == uid and e["reason"] == "SuccessfulCreate"]
    assert sorted(created) == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)


def test_a_failing_job_fails_after_its_backoff_limit(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create(jobs.JOBS, job("fails", exit_code=1, backoffLimit=1))
    failed = wait_for(admin, jobs.JOBS, "fails", finished("Failed"), timeout=60)
    reasons = {c["type"]: c["reason"] for c in failed["status"]["conditions"]}
    assert reasons == {"FailureTarget": "BackoffLimitExceeded", "Failed": "BackoffLimitExceeded"}
    assert failed["status"]["failed"] == 2
    assert len(pods_of(admin, "fails")) == 2


def test_a_pod_failure_policy_fails_the_job_at_once_on_its_exit_code(sim_cluster):
    admin = sim_cluster.admin_client()
    policy = {"rules": [{"action": "FailJob",
                         "onExitCodes": {"operator": "In", "values": [42]}}]}
    admin.create(jobs.JOBS, job("policy", exit_code=42, backoffLimit=6,
                                podFailurePolicy=policy))
    failed = wait_for(admin, jobs.JOBS, "policy", finished("Failed"), timeout=30)
    cond = next(c for c in failed["status"]["conditions"] if c["type"] == "Failed")
    assert cond["reason"] == "PodFailurePolicy"
    assert "failed with exit code 42 matching FailJob rule at index 0" in cond["message"]


def test_an_indexed_job_completes_every_index_and_a_ttl_deletes_it(sim_cluster):
    admin = sim_cluster.admin_client()
    made = job("indexed", completions=3, parallelism=3, completionMode="Indexed",
               ttlSecondsAfterFinished=1)
    made["metadata"]["labels"] = {"app": "indexed"}
    admin.create(jobs.JOBS, made)
    done = wait_for(admin, jobs.JOBS, "indexed", finished("Complete"), timeout=60)
    assert done["status"]["completedIndexes"] == "0-2"
    pods = pods_of(admin, "indexed")
    indexes = sorted(p["metadata"]["annotations"][jobs.COMPLETION_INDEX] for p in pods)
    assert indexes == ["0", "1", "2"]
    assert {p["spec"]["hostname"] for p in pods} == {"indexed-0", "indexed-1", "indexed-2"}
    wait_none_left(admin, jobs.JOBS, "app=indexed", timeout=30)
    wait_none_left(admin, "pods", f"{jobs.JOB_NAME}=indexed", timeout=30)


def test_a_suspended_job_runs_nothing_until_resumed(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create(jobs.JOBS, job("later", suspend=True))
    suspended = wait_for(admin, jobs.JOBS, "later", lambda j: any(
        c["type"] == "Suspended" and c["status"] == "True"
        for c in (j.get("status") or {}).get("conditions") or []))
    assert "startTime" not in suspended["status"] and not pods_of(admin, "later")
    admin.patch(jobs.JOBS, "later", {"spec": {"suspend": False}},
                "application/merge-patch+json", "default")
    done = wait_for(admin, jobs.JOBS, "later", finished("Complete"))
    resumed = next(c for c in done["status"]["conditions"] if c["type"] == "Suspended")
    assert (resumed["status"], resumed["reason"]) == ("False", "JobResumed")


def test_a_job_past_its_active_deadline_fails_and_its_pods_go(sim_cluster):
    admin = sim_cluster.admin_client()
    slow = job("slow", activeDeadlineSeconds=1)
    slow["spec"]["template"]["metadata"]["annotations"][RUN_SECONDS] = "600"
    admin.create(jobs.JOBS, slow)
    failed = wait_for(admin, jobs.JOBS, "slow", finished("Failed"), timeout=30)
    cond = next(c for c in failed["status"]["conditions"] if c["type"] == "Failed")
    assert (cond["reason"], cond["message"]) == ("DeadlineExceeded",
                                                 "Job was active longer than specified deadline")
    assert "active" not in failed["status"]  # 0, which Go's omitempty leaves out
    wait_none_left(admin, "pods", f"{jobs.JOB_NAME}=slow", timeout=30)


def test_an_ignored_failure_does_not_count_against_the_backoff_limit(sim_cluster):
    admin = sim_cluster.admin_client()
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [7]}}]}
    admin.create(jobs.JOBS, job("ignored", exit_code=7, backoffLimit=0, parallelism=1,
                                podFailurePolicy=policy))
    names: set[str] = set()

    def failed_pod(pod: dict) -> bool:
        if pod["metadata"]["name"].startswith("ignored-") and \
                pod["status"].get("phase") == "Failed":
            names.add(pod["metadata"]["name"])
        return len(names) == 2

    wait_for(admin, "pods", None, failed_pod, timeout=30)  # replaced, not counted
    ignored = admin.get(jobs.JOBS, "ignored", "default")
    assert jobs.finished(ignored) is None and ignored["status"].get("failed", 0) == 0


def test_the_cli_makes_a_job_from_a_cronjob_and_prints_both(cluster, admin):
    template = job("x")["spec"]
    admin.create(jobs.CRONJOBS, {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "@yearly", "timeZone": "Europe/Paris",
                 "jobTemplate": {"metadata": {"labels": {"app": "nightly"}},
                                 "spec": template}}}, "default")
    made = cluster.cli("create", "job", "by-hand", "--from=cronjob/nightly")
    assert made.stdout == "job.batch/by-hand created\n"
    done = wait_for(admin, jobs.JOBS, "by-hand", finished("Complete"))
    assert done["metadata"]["annotations"][jobs.INSTANTIATE] == "manual"
    assert done["metadata"]["labels"]["app"] == "nightly"
    assert done["metadata"]["ownerReferences"][0]["name"] == "nightly"
    rows = [line.split() for line in cluster.cli("get", "jobs", "-o", "wide").stdout.splitlines()]
    assert rows[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS",
                       "IMAGES", "SELECTOR"]
    assert rows[1][:3] + rows[1][5:7] == ["by-hand", "Complete", "1/1", "c", "sim"]
    assert rows[1][7] == f"{jobs.CONTROLLER_UID}={done['metadata']['uid']}"
    rows = [line.split() for line in cluster.cli("get", "cj").stdout.splitlines()]
    assert rows[1][:6] == ["nightly", "@yearly", "Europe/Paris", "False", "0", "<none>"]
    described = cluster.cli("describe", "job", "by-hand").stdout
    assert "Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed" in described
    described = cluster.cli("describe", "cronjob", "nightly").stdout
    assert "Schedule:                      @yearly" in described
    assert "Active Jobs:         <none>" in described
    refused = cluster.cli("create", "job", "nope", "--from=cronjob/absent", check=False)
    assert refused.returncode == 1 and "not found" in refused.stderr


def test_an_index_that_keeps_failing_fails_alone_then_the_job(sim_cluster):
    admin = sim_cluster.admin_client()
    failing = job("per-index-fails", exit_code=1, completions=2, parallelism=2,
                  completionMode="Indexed", backoffLimitPerIndex=1)
    admin.create(jobs.JOBS, failing)
    failed = wait_for(admin, jobs.JOBS, "per-index-fails", finished("Failed"), timeout=60)
    cond = next(c for c in failed["status"]["conditions"] if c["type"] == "Failed")
    assert (cond["reason"], failed["status"]["failedIndexes"]) == ("FailedIndexes", "0,1")
    assert failed["status"]["failed"] == 4


def test_deleting_a_running_job_deletes_its_pods_finalizers_and_all(sim_cluster):
    admin = sim_cluster.admin_client()
    slow = job("doomed", parallelism=2, completions=2)
    slow["spec"]["template"]["metadata"]["annotations"][RUN_SECONDS] = "600"
    admin.create(jobs.JOBS, slow)
    wait_for(admin, jobs.JOBS, "doomed", lambda j: (j.get("status") or {}).get("ready") == 2)
    admin.delete(jobs.JOBS, "doomed", "default")
    wait_none_left(admin, "pods", f"{jobs.JOB_NAME}=doomed", timeout=60)


def test_kubectl_creates_waits_for_explains_and_deletes_jobs(cluster, admin):
    made = cluster.kubectl("create", "job", "quick", "--image=sim", "--", "true")
    assert (made.returncode, made.stdout) == (0, "job.batch/quick created\n"), made.stderr
    command = cluster.kubectl("get", "job", "quick", "-o",
                              "jsonpath={.spec.template.spec.containers[0].command}")
    assert command.stdout == '["true"]'
    made = cluster.kubectl("create", "-f", "-", stdin=yaml.safe_dump(job("short")))
    assert made.returncode == 0, made.stderr
    waited = cluster.kubectl("wait", "--for=condition=complete", "job/short", "--timeout=30s")
    assert (waited.returncode, waited.stdout) == (0, "job.batch/short condition met\n")
    explained = cluster.kubectl("explain", "job.spec.backoffLimit")
    assert explained.returncode == 0 and "backoffLimit" in explained.stdout, explained.stderr
    always = job("always")
    always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    bad = cluster.kubectl("create", "-f", "-", stdin=yaml.safe_dump(always))
    assert bad.returncode == 1
    assert ('spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
            '"OnFailure", "Never"') in bad.stderr
    gone = cluster.kubectl("delete", "job", "quick", "short")
    assert gone.returncode == 0, gone.stderr
    wait_none_left(admin, "pods", f"{jobs.JOB_NAME}=quick", timeout=60)


def test_a_success_policy_completes_an_indexed_job_before_every_index_ran(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create(jobs.JOBS, job("enough", completions=3, parallelism=1,
                                completionMode="Indexed",
                                successPolicy={"rules": [{"succeededCount": 1}]}))
    done = wait_for(admin, jobs.JOBS, "enough", finished("Complete"))
    cond = next(c for c in done["status"]["conditions"] if c["type"] == "Complete")
    assert (cond["reason"], cond["message"]) == ("SuccessPolicy", "Matched rules at index 0")
    assert (done["status"]["succeeded"], done["status"]["completedIndexes"]) == (1, "0")
