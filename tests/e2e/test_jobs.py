"""Jobs and CronJobs on Docker (``kubeactor up``, a real engine), some through real kubectl with
the Kubernetes documentation's manifests: pods run to completion at the parallelism asked for,
failing pods fail the Job after its backoff limit, an Indexed Job's pods see their index, a
CronJob starts a Job every minute and keeps its history limit, and ``Forbid`` skips a time while
its Job runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from actors.api import jobs
from tests.conftest import wait_for, wait_none_left
from tests.e2e.conftest import IMAGE

pytestmark = pytest.mark.e2e
MANIFESTS = Path(__file__).resolve().parents[2] / "examples" / "manifests"


def job(name: str, script: str, **spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {
                "containers": [{"name": "work", "image": IMAGE, "imagePullPolicy": "Never",
                                "command": ["sh", "-c", script]}],
                "restartPolicy": "Never"}}, **spec}}


def finished(kind: str):
    return lambda obj: jobs.finished(obj) == kind


def pods_of(admin, name: str) -> list[dict]:
    return admin.list("pods", "default", label_selector=f"{jobs.JOB_NAME}={name}")["items"]


def test_kubectl_runs_the_documentation_pi_job_to_completion(cluster, admin):
    made = cluster.kubectl("apply", "-f", str(MANIFESTS / "job.yaml"))
    assert made.returncode == 0, made.stderr
    wait_for(admin, jobs.JOBS, "pi", finished("Complete"), timeout=60)
    shown = cluster.kubectl("get", "jobs", "pi")
    assert shown.stdout.split()[:9] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE",
                                        "pi", "Complete", "1/1", shown.stdout.split()[8]]
    logs = cluster.kubectl("logs", "job/pi")
    assert (logs.returncode, logs.stdout) == (0, "3.14159265358979323846\n"), logs.stderr


def test_a_job_of_five_completions_at_parallelism_two_completes(admin):
    most = [0]

    def complete(obj: dict) -> bool:
        most[0] = max(most[0], (obj.get("status") or {}).get("active", 0))
        return jobs.finished(obj) == "Complete"

    admin.create(jobs.JOBS, job("five", "sleep 1", completions=5, parallelism=2))
    done = wait_for(admin, jobs.JOBS, "five", complete, timeout=120)
    assert (done["status"]["succeeded"], most[0]) == (5, 2)
    assert [p["status"]["phase"] for p in pods_of(admin, "five")] == ["Succeeded"] * 5


def test_a_job_whose_pods_exit_1_fails_after_its_backoff_limit(admin):
    admin.create(jobs.JOBS, job("exits", "exit 1", backoffLimit=1))
    failed = wait_for(admin, jobs.JOBS, "exits", finished("Failed"), timeout=120)
    cond = next(c for c in failed["status"]["conditions"] if c["type"] == "Failed")
    assert (cond["reason"], cond["message"]) == (
        "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert failed["status"]["failed"] == 2
    assert [p["status"]["phase"] for p in pods_of(admin, "exits")] == ["Failed"] * 2


def test_an_indexed_jobs_pods_see_their_index(cluster, admin):
    admin.create(jobs.JOBS, job("indexed", 'echo "$JOB_COMPLETION_INDEX $(hostname)"',
                                completions=3, parallelism=3, completionMode="Indexed"))
    done = wait_for(admin, jobs.JOBS, "indexed", finished("Complete"), timeout=120)
    assert done["status"]["completedIndexes"] == "0-2"
    said = sorted(cluster.kubectl("logs", p["metadata"]["name"]).stdout
                  for p in pods_of(admin, "indexed"))
    assert said == ["0 indexed-0\n", "1 indexed-1\n", "2 indexed-2\n"]


def test_cronjobs_start_a_job_each_minute_keep_their_history_and_forbid_overlaps(
        cluster, admin):
    started = time.monotonic()
    made = cluster.kubectl("apply", "-f", str(MANIFESTS / "cronjob.yaml"))
    assert made.returncode == 0, made.stderr
    patched = cluster.kubectl("patch", "cronjob", "hello", "--type=merge", "-p",
                              '{"spec": {"successfulJobsHistoryLimit": 1}}')
    assert patched.returncode == 0, patched.stderr
    forbid = job("forbid", "sleep 600")
    admin.create(jobs.CRONJOBS, {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "forbid"},
        "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Forbid",
                 "jobTemplate": {"spec": forbid["spec"]}}})

    first = wait_for(admin, jobs.JOBS, None, _of("hello"), timeout=70)
    assert time.monotonic() - started < 70
    name = first["metadata"]["name"]
    assert name.startswith("hello-") and name[6:].isdigit()
    manual = cluster.kubectl("create", "job", "manual", "--from=cronjob/hello")
    assert manual.returncode == 0, manual.stderr
    wait_for(admin, jobs.JOBS, "manual", finished("Complete"), timeout=60)

    skipped = wait_for(admin, "events", None, lambda e: e.get("reason") == "JobAlreadyActive"
                       and e["involvedObject"]["name"] == "forbid", timeout=130)
    assert skipped["message"] == ("Not starting job because prior execution is running and "
                                  "concurrency policy is Forbid")
    assert len([j for j in admin.list(jobs.JOBS, "default")["items"]
                if _of("forbid")(j)]) == 1
    second = wait_for(admin, jobs.JOBS, None,
                      lambda j: _of("hello")(j) and j["metadata"]["name"] != name, timeout=70)
    wait_for(admin, jobs.JOBS, second["metadata"]["name"], finished("Complete"), timeout=60)
    wait_none_left(admin, jobs.JOBS, None, timeout=30, field_selector=f"metadata.name={name}")
    cronjob = admin.get(jobs.CRONJOBS, "hello", "default")
    assert cronjob["status"]["lastSuccessfulTime"] >= cronjob["status"]["lastScheduleTime"]
    shown = cluster.kubectl("get", "cronjobs", "hello").stdout.split("\n")[0].split()
    assert shown == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE",
                     "AGE"]
    for name in ("hello", "forbid"):
        admin.delete(jobs.CRONJOBS, name, "default")


def _of(cronjob: str):
    """A Job a CronJob named ``cronjob`` scheduled."""
    return lambda obj: any(ref.get("kind") == "CronJob" and ref.get("name") == cronjob
                           for ref in obj["metadata"].get("ownerReferences") or []) \
        and not (obj["metadata"].get("annotations") or {}).get(
            "cronjob.kubernetes.io/instantiate")


def test_the_docs_sidecar_job_completes_once_its_app_ended_its_sidecar_stopped(cluster, admin):
    """concepts/workloads/pods/sidecar-containers (job-sidecar.yaml, busybox for alpine): on
    Docker the app writes its line and exits, the kubelet stops the ``tail -F`` sidecar, the
    pod Succeeded and the Job completes."""
    docs = Path(__file__).resolve().parents[1] / "integration" / "manifests" / "application" \
        / "job" / "job-sidecar.yaml"
    made = cluster.kubectl("apply", "-f", "-",
                           stdin=docs.read_text().replace("alpine:latest", IMAGE))
    assert made.returncode == 0, made.stderr
    wait_for(admin, jobs.JOBS, "myjob", finished("Complete"), timeout=90)
    pod = pods_of(admin, "myjob")[0]
    sidecar = pod["status"]["initContainerStatuses"][0]
    assert (pod["status"]["phase"], sidecar["name"], list(sidecar["state"])) == (
        "Succeeded", "logshipper", ["terminated"])
