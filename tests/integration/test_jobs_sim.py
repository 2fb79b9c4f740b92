"""Jobs on simulated nodes (real NATS, real store, no Docker): pods run to completion, each
counted once through the tracking finalizer; failures end the Job after its backoff limit or
at once by the pod failure policy; an Indexed Job's pods carry their index; a finished Job
with a TTL is deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.api import jobs
from bindings.cluster import Cluster, ClusterConfig
from bindings.runtimes.sim import EXIT_CODE, RUN_SECONDS
from tests.conftest import wait_for, wait_none_left

pytestmark = pytest.mark.integration


@pytest.fixture
def sim_cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path / "sim", nodes=2, runtime="sim"))
    yield cluster
    cluster.stop()


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
    assert (status["succeeded"], status.get("failed", 0), status["active"]) == (5, 0, 0)
    assert {c["type"] for c in status["conditions"]} == {"SuccessCriteriaMet", "Complete"}
    assert status["completionTime"] >= status["startTime"]
    pods = pods_of(admin, "five")
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"] * 5
    assert all(not p["metadata"].get("finalizers") for p in pods)
    uid = done["metadata"]["uid"]
    assert all(p["metadata"]["labels"][jobs.CONTROLLER_UID] == uid for p in pods)


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
