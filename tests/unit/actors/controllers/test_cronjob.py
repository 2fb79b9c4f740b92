"""The CronJob controller's decisions (actors/controllers/cronjob.py), as pure functions: the
Job of a scheduled time, where the search for due times starts, a missed starting deadline,
the history to prune."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actors.api import jobs
from actors.controllers import cronjob

NOW = datetime(2026, 12, 6, 12, 0, 30, tzinfo=UTC)


def cron(**spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "default", "uid": "c-1",
                         "creationTimestamp": "2026-12-06T11:00:00Z"},
            "spec": {"schedule": "* * * * *",
                     "jobTemplate": {"metadata": {"labels": {"app": "hello"},
                                                  "annotations": {"note": "x"}},
                                     "spec": {"backoffLimit": 2}}, **spec},
            "status": {}}


def finished_job(name: str, started: str | None) -> dict:
    return {"metadata": {"name": name}, "status": {"startTime": started} if started else {}}


def test_the_job_of_a_scheduled_time_is_named_for_its_minute_and_owned():
    scheduled = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    made = cronjob.job_for(cron(timeZone="Europe/Paris"), scheduled)
    assert made["metadata"]["name"] == f"hello-{int(scheduled.timestamp()) // 60}"
    assert made["metadata"]["labels"] == {"app": "hello"}
    assert made["metadata"]["annotations"] == {
        "note": "x", jobs.SCHEDULED_TIMESTAMP: "2026-12-06T13:00:00+01:00"}
    assert made["metadata"]["ownerReferences"][0] | {"kind": "CronJob", "uid": "c-1",
                                                     "controller": True} \
        == made["metadata"]["ownerReferences"][0]
    assert made["spec"] == {"backoffLimit": 2}
    utc = cronjob.job_for(cron(), scheduled)
    assert utc["metadata"]["annotations"][jobs.SCHEDULED_TIMESTAMP] == "2026-12-06T12:00:00Z"


def test_the_search_for_due_times_starts_at_the_last_one_but_not_before_the_deadline():
    assert cronjob.earliest(cron(), NOW) == datetime(2026, 12, 6, 11, tzinfo=UTC)
    scheduled = cron()
    scheduled["status"]["lastScheduleTime"] = "2026-12-06T11:58:00Z"
    assert cronjob.earliest(scheduled, NOW) == datetime(2026, 12, 6, 11, 58, tzinfo=UTC)
    assert cronjob.earliest(cron(startingDeadlineSeconds=200), NOW) == NOW - timedelta(
        seconds=200)


def test_a_time_past_its_starting_deadline_is_missed():
    due = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert cronjob.too_late(cron(startingDeadlineSeconds=10), due, NOW)
    assert not cronjob.too_late(cron(startingDeadlineSeconds=60), due, NOW)
    assert not cronjob.too_late(cron(), due, NOW)


def test_the_oldest_finished_jobs_beyond_the_limit_are_pruned():
    finished = [finished_job("c", "2026-12-06T11:03:00Z"), finished_job("a", None),
                finished_job("b", "2026-12-06T11:01:00Z"),
                finished_job("d", "2026-12-06T11:03:00Z")]
    assert [j["metadata"]["name"] for j in cronjob.to_prune(finished, 2)] == ["b", "c"]
    assert cronjob.to_prune(finished, 4) == [] and cronjob.to_prune(finished, None) == []
    assert len(cronjob.to_prune(finished, 0)) == 4
