"""Jobs and CronJobs as kube-apiserver takes them (actors/api/jobs.py with the validation and
defaulting that call it): the generated selector, Kubernetes' defaults, the semantic checks in
its words, what an update may not change; and the cron grammar (actors/api/schedules.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from actors.api import defaulting, jobs, schedules, validation
from actors.api.resources import lookup
from bus.errors import Invalid

JOBS, CRONJOBS = lookup("batch", "jobs"), lookup("batch", "cronjobs")


def job(**spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
            "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}],
                                           "restartPolicy": "Never"}}, **spec}}


def cronjob(schedule: str = "*/5 * * * *", **spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "default", "uid": "c-1"},
            "spec": {"schedule": schedule, "jobTemplate": {"spec": job()["spec"]}, **spec}}


def problems(info, obj) -> list[str]:
    defaulting.DEFAULTERS[info.name](obj)
    with pytest.raises(Invalid) as raised:
        validation.validate(info, obj)
    return raised.value.details["causes"]


def test_a_job_gets_kubernetes_defaults_and_a_selector_generated_from_its_uid():
    made = job()
    defaulting.DEFAULTERS["jobs"](made)
    validation.validate(JOBS, made)
    spec = made["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"],
            spec["completionMode"], spec["suspend"], spec["podReplacementPolicy"]) == (
        1, 1, 6, "NonIndexed", False, "TerminatingOrFailed")
    assert spec["selector"] == {"matchLabels": {jobs.CONTROLLER_UID: "u-1"}}
    assert spec["template"]["metadata"]["labels"] == {
        jobs.CONTROLLER_UID: "u-1", jobs.JOB_NAME: "pi", "controller-uid": "u-1",
        "job-name": "pi"}
    parallel = job(parallelism=3)
    defaulting.DEFAULTERS["jobs"](parallel)
    assert "completions" not in parallel["spec"]  # a work queue


def test_a_manual_selector_is_the_users_and_must_match():
    manual = job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
    assert problems(JOBS, manual) == [
        "spec.template.metadata.labels: Invalid value: None: `selector` does not match "
        "template `labels`"]


def test_kubernetes_checks_of_a_job_in_its_words():
    bad = job(completionMode="Indexed", completions=None, parallelism=-1,
              activeDeadlineSeconds=0)
    bad["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert problems(JOBS, bad) == [
        "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
        "spec.activeDeadlineSeconds: Invalid value: 0: must be greater than 0",
        "spec.completions: Required value: when completion mode is Indexed",
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
        '"OnFailure", "Never"']
    policy = job(podFailurePolicy={"rules": [
        {"action": "Explode", "onExitCodes": {"operator": "In", "values": [0, 3, 3]}}]})
    policy["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert problems(JOBS, policy) == [
        'spec.podFailurePolicy: Invalid value: "OnFailure": only "Never" is supported when '
        "podFailurePolicy is specified"]
    policy["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert problems(JOBS, policy) == [
        'spec.podFailurePolicy.rules[0].action: Unsupported value: "Explode": supported '
        'values: "FailJob", "Ignore", "Count"',
        "spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: 0: must not be 0 "
        "for the In operator",
        "spec.podFailurePolicy.rules[0].onExitCodes.values: Duplicate value: [0, 3, 3]"]


def test_an_update_may_not_change_the_template_unless_suspended_and_never_started():
    old = job()
    defaulting.DEFAULTERS["jobs"](old)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    new["spec"]["parallelism"] = 4
    assert jobs.update_problems("jobs", old, new) == [
        f"spec.template: Invalid value: {new['spec']['template']!r}: field is immutable"]
    old["spec"]["suspend"] = True
    assert jobs.update_problems("jobs", old, new) == []
    assert jobs.update_problems("cronjobs", old, new) == []


def test_a_cronjob_gets_its_defaults_and_its_schedule_and_zone_checked():
    made = cronjob()
    defaulting.DEFAULTERS["cronjobs"](made)
    validation.validate(CRONJOBS, made)
    assert {k: made["spec"][k] for k in ("concurrencyPolicy", "suspend",
                                        "successfulJobsHistoryLimit",
                                        "failedJobsHistoryLimit")} == {
        "concurrencyPolicy": "Allow", "suspend": False, "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1}
    assert "completions" not in made["spec"]["jobTemplate"]["spec"]
    bad = cronjob("TZ=UTC * * * * *", timeZone="Mars/Olympus", concurrencyPolicy="Sometimes")
    bad["metadata"]["name"] = "n" * 53
    assert problems(CRONJOBS, bad) == [
        f'metadata.name: Invalid value: "{"n" * 53}": must be no more than 52 characters',
        'spec.schedule: Invalid value: "TZ=UTC * * * * *": cannot use TZ or CRON_TZ in '
        "schedule, use timeZone field instead",
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", '
        '"Forbid", "Replace"']


@pytest.mark.parametrize(("schedule", "after", "expected"), [
    ("*/15 * * * *", "2026-12-06T10:07:00", "2026-12-06T10:15:00"),
    ("0 9-17/4 * * mon-fri", "2026-12-05T00:00:00", "2026-12-07T09:00:00"),  # a Saturday
    ("@hourly", "2026-12-06T10:07:00", "2026-12-06T11:00:00"),
    ("@weekly", "2026-12-06T10:07:00", "2026-12-13T00:00:00"),
    ("0 0 1 jan,jul ?", "2026-12-06T10:07:00", "2027-01-01T00:00:00"),
    ("0 12 13 * fri", "2026-12-06T00:00:00", "2026-12-11T12:00:00"),  # either day field
])
def test_the_cron_grammar_as_kube_controller_manager_reads_it(schedule, after, expected):
    parsed = schedules.parse(schedule)
    found = parsed.next_after(datetime.fromisoformat(after).replace(tzinfo=UTC))
    assert found == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_a_schedule_runs_in_its_time_zone():
    paris = schedules.parse("0 9 * * *", "Europe/Paris")
    assert paris.next_after(datetime(2026, 12, 6, tzinfo=UTC)) == datetime(
        2026, 12, 6, 8, tzinfo=UTC)
    assert paris.next_after(datetime(2026, 7, 6, tzinfo=UTC)) == datetime(
        2026, 7, 6, 7, tzinfo=UTC)


@pytest.mark.parametrize("schedule", ["* * * * * *", "* * * *", "61 * * * *", "@fortnightly"])
def test_schedules_kubernetes_refuses_are_refused(schedule):
    with pytest.raises(schedules.ScheduleError):
        schedules.parse(schedule)


def test_the_most_recent_time_due_and_how_many_were_missed():
    every_minute = schedules.parse("* * * * *")
    start = datetime(2026, 12, 6, 10, 0, 30, tzinfo=UTC)
    assert schedules.most_recent(every_minute, start, start) == schedules.Due(None, 0)
    one = schedules.most_recent(every_minute, start, datetime(2026, 12, 6, 10, 1, 5, tzinfo=UTC))
    assert one == schedules.Due(datetime(2026, 12, 6, 10, 1, tzinfo=UTC), 1)
    late = datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC)
    many = schedules.most_recent(every_minute, start, late)
    assert many == schedules.Due(datetime(2026, 12, 6, 12, 0, tzinfo=UTC), 120)
    assert many.missed > schedules.MANY_MISSED


def test_a_success_policy_needs_an_indexed_job_and_rules_within_its_completions():
    wrong = job(completionMode="Indexed", completions=3, successPolicy={"rules": [
        {"succeededIndexes": "2-1"}, {"succeededCount": 4}, {}]})
    assert problems(JOBS, wrong) == [
        'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "2-1": must be ordered '
        "intervals of indexes below 3",
        "spec.successPolicy.rules[1].succeededCount: Invalid value: 4: must be between 1 and 3",
        "spec.successPolicy.rules[2]: Required value: at least one of succeededCount or "
        "succeededIndexes must be specified"]
    assert problems(JOBS, job(successPolicy={"rules": [{"succeededCount": 1}]})) == [
        "spec.successPolicy: Invalid value: requires indexed completion mode"]
