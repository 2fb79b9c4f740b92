"""kubectl's columns of Jobs and CronJobs (actors/api/columns.py): what ``get`` shows."""

from __future__ import annotations

from actors.api import columns
from actors.api.resources import lookup


def cells(resource: str, obj: dict) -> list[str]:
    return columns.of(lookup("batch", resource)).cells(obj)


def job(status: dict, **spec) -> dict:
    return {"metadata": {"name": "pi", "creationTimestamp": "2026-12-06T10:00:00Z"},
            "spec": {"parallelism": 1, "selector": {"matchLabels": {"a": "b"}},
                     "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}},
                     **spec},
            "status": status}


def test_a_jobs_row_shows_its_status_completions_and_duration():
    done = job({"succeeded": 5, "startTime": "2026-12-06T10:00:00Z",
                "completionTime": "2026-12-06T10:01:30Z",
                "conditions": [{"type": "Complete", "status": "True"}]}, completions=5)
    row = cells("jobs", done)
    assert row[:4] + row[5:] == ["pi", "Complete", "5/5", "90s", "pi", "perl", "a=b"]
    assert cells("jobs", job({}, parallelism=3))[1:4] == ["Running", "0/1 of 3", ""]
    failing = job({"conditions": [{"type": "FailureTarget", "status": "True"}]}, completions=1)
    assert cells("jobs", failing)[1:3] == ["FailureTarget", "0/1"]


def test_a_cronjobs_row_shows_schedule_zone_suspend_active_and_last_schedule():
    cron = {"metadata": {"name": "hello", "creationTimestamp": "2026-12-06T10:00:00Z"},
            "spec": {"schedule": "*/1 * * * *", "suspend": False,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [
                         {"name": "hello", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "hello-1"}]}}
    row = cells("cronjobs", cron)
    assert row[:6] + row[7:] == ["hello", "*/1 * * * *", "<none>", "False", "1", "<none>",
                                 "hello", "busybox", "<none>"]
    assert [c.name for c in columns.of(lookup("batch", "cronjobs")).columns][:7] == [
        "Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"]
