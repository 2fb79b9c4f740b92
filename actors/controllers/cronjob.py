"""The CronJob controller: a Job from the template at each time of the schedule.

As Kubernetes' cronjob controller (v2, syncCronJob): the CronJob's ``status.active`` follows
its Jobs (a finished one leaves with a ``SawCompletedJob`` Event, a vanished one with
``MissingJob``; a Complete one moves ``lastSuccessfulTime``); the finished Jobs beyond
``successfulJobsHistoryLimit``/``failedJobsHistoryLimit`` are deleted, oldest start first. Then,
unless suspended or being deleted, the most recent time due since ``lastScheduleTime`` (or the
creation; not before ``now - startingDeadlineSeconds``) is found
(``actors.api.schedules.most_recent``; more than 100 missed: a ``TooManyMissedTimes`` Event,
and only the latest is started); one later than its starting deadline is missed
(``MissSchedule``); one already started is not started again (the Job's name,
``<cronjob>-<scheduled minutes since the epoch>``, makes the create idempotent); ``Forbid``
skips it while a Job runs (``JobAlreadyActive``), ``Replace`` deletes the running ones first.
The key comes back at the next time of the schedule (plus 100 ms).

Neighbours: ``actors.controllers.controller`` (base), ``actors.api.schedules`` (the grammar),
``actors.controllers.job`` (which runs the Jobs).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from actors.api import jobs, schedules
from actors.api.meta import controller_ref, parse_time
from actors.api.objects import Object
from actors.controllers.controller import Controller, Key
from bus.errors import AlreadyExists, NotFound

NEXT_SCHEDULE_DELTA_SECONDS = 0.1
"""How long after a time is due the CronJob is looked at (Kubernetes' nextScheduleDelta)."""


# -- decisions ---------------------------------------------------------------------------------


def job_name(cronjob: Object, scheduled: datetime) -> str:
    """``<cronjob>-<minutes since the epoch>``: one name per scheduled time."""
    return f"{cronjob['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def job_for(cronjob: Object, scheduled: datetime) -> Object:
    """The Job of ``cronjob`` for the time ``scheduled`` (getJobFromTemplate2)."""
    zone = schedules.zone(cronjob["spec"].get("timeZone"))
    return jobs.job_from_cronjob(cronjob, job_name(cronjob, scheduled), {
        jobs.SCHEDULED_TIMESTAMP: _rfc3339(scheduled.astimezone(zone))})


def earliest(cronjob: Object, now: datetime) -> datetime:
    """Where the search for due times starts: the last scheduled time (or the creation), not
    before ``now - startingDeadlineSeconds``."""
    last = (cronjob.get("status") or {}).get("lastScheduleTime") or \
        cronjob["metadata"]["creationTimestamp"]
    start = parse_time(last)
    deadline = cronjob["spec"].get("startingDeadlineSeconds")
    if deadline is not None:
        start = max(start, now - timedelta(seconds=int(deadline)))
    return start


def too_late(cronjob: Object, scheduled: datetime, now: datetime) -> bool:
    deadline = cronjob["spec"].get("startingDeadlineSeconds")
    return deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now


def to_prune(finished: list[Object], limit: int | None) -> list[Object]:
    """The oldest of ``finished`` (by start time, those without one last; then by name) beyond
    ``limit`` (None: none)."""
    if limit is None or len(finished) <= limit:
        return []
    ordered = sorted(finished, key=lambda j: ((j.get("status") or {}).get("startTime") is None,
                                              (j.get("status") or {}).get("startTime") or "",
                                              j["metadata"]["name"]))
    return ordered[:len(finished) - limit]


def _rfc3339(when: datetime) -> str:
    """Go's RFC 3339 of a time in its zone: ``2026-12-06T22:40:00+01:00``, ``...Z`` in UTC."""
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the controller -----------------------------------------------------------------------------


class CronJobController(Controller):
    """See the module docstring."""

    component = "cronjob-controller"
    resources = (jobs.CRONJOBS, jobs.JOBS)

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == jobs.CRONJOBS:
            return [Key.of(obj)]
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") != "CronJob":
            return []
        return [Key(jobs.CRONJOBS, obj["metadata"]["namespace"], ref["name"])]

    def reconcile(self, key: Key) -> float | None:
        cronjob = self.cached(key)
        if cronjob is None:
            return None
        uid = cronjob["metadata"]["uid"]
        owned = [job for job in self.listed(jobs.JOBS, key.namespace)
                 if (controller_ref(job) or {}).get("uid") == uid]
        status = self._follow(cronjob, owned)
        self._prune(cronjob, owned)
        again = None
        if not cronjob["metadata"].get("deletionTimestamp") and not cronjob["spec"].get(
                "suspend"):
            again = self._schedule(cronjob, status)
        if status != (cronjob.get("status") or {}):
            self.remember(self.client.update(jobs.CRONJOBS, dict(cronjob, status=status),
                                             subresource="status"))
        return again

    def _follow(self, cronjob: Object, owned: list[Object]) -> Object:
        """The status's active Jobs and ``lastSuccessfulTime`` from the Jobs it owns."""
        status = copy.deepcopy(cronjob.get("status") or {})
        by_uid = {job["metadata"]["uid"]: job for job in owned}
        active = []
        for ref in status.get("active") or []:
            job = by_uid.get(ref.get("uid"))
            if job is None:
                self.record_event(cronjob, "Normal", "MissingJob",
                                  f"Active job went missing: {ref.get('name')}")
            elif (done := jobs.finished(job)) is not None:
                self.record_event(cronjob, "Normal", "SawCompletedJob",
                                  f"Saw completed job: {job['metadata']['name']}, "
                                  f"condition: {done}")
            else:
                active.append(ref)
        status["active"] = active
        for job in owned:
            completed = (job.get("status") or {}).get("completionTime")
            if jobs.finished(job) == "Complete" and completed and completed > status.get(
                    "lastSuccessfulTime", ""):
                status["lastSuccessfulTime"] = completed
        if not status["active"]:
            del status["active"]
        return status

    def _prune(self, cronjob: Object, owned: list[Object]) -> None:
        """Delete the finished Jobs beyond the history limits."""
        spec = cronjob["spec"]
        doomed = [
            *to_prune([j for j in owned if jobs.finished(j) == "Complete"],
                      spec.get("successfulJobsHistoryLimit")),
            *to_prune([j for j in owned if jobs.finished(j) == "Failed"],
                      spec.get("failedJobsHistoryLimit"))]
        for job in doomed:
            self._delete_job(cronjob, job["metadata"]["name"])

    def _schedule(self, cronjob: Object, status: Object) -> float | None:
        """Start the Job due now, if one is; the seconds until the next time."""
        spec, now = cronjob["spec"], datetime.now(UTC)
        try:
            schedule = schedules.parse(spec["schedule"], spec.get("timeZone"))
        except schedules.ScheduleError as error:
            self.record_event(cronjob, "Warning", "UnparseableSchedule",
                              f'unparseable schedule: "{spec["schedule"]}" : {error}')
            return None
        view = dict(cronjob, status=status)
        due = schedules.most_recent(schedule, earliest(view, now), now)
        if due.missed > schedules.MANY_MISSED:
            self.record_event(cronjob, "Warning", "TooManyMissedTimes",
                              "too many missed start times. Set or decrease "
                              ".spec.startingDeadlineSeconds or check clock skew")
        after = self._next(schedule, view, now)
        if due.time is None:
            return after
        if too_late(cronjob, due.time, now):
            self.record_event(cronjob, "Warning", "MissSchedule",
                              "Missed scheduled time to start a job: "
                              f"{due.time.strftime('%a, %d %b %Y %H:%M:%S +0000')}")
            return after
        name = job_name(cronjob, due.time)
        active = status.get("active") or []
        if any(ref.get("name") == name for ref in active) or status.get(
                "lastScheduleTime") == _stamp(due.time):
            return after
        if spec.get("concurrencyPolicy") == "Forbid" and active:
            self.record_event(cronjob, "Normal", "JobAlreadyActive", "Not starting job because "
                              "prior execution is running and concurrency policy is Forbid")
            return after
        if spec.get("concurrencyPolicy") == "Replace":
            for ref in active:
                self._delete_job(cronjob, ref["name"])
            active = []
        self._start(cronjob, due.time, status, active)
        return self._next(schedule, dict(cronjob, status=status), now)

    def _start(self, cronjob: Object, scheduled: datetime, status: Object,
               active: list[Object]) -> None:
        try:
            job = self.remember(self.client.create(jobs.JOBS, job_for(cronjob, scheduled),
                                                   cronjob["metadata"]["namespace"]))
            self.record_event(cronjob, "Normal", "SuccessfulCreate",
                              f"Created job {job['metadata']['name']}")
        except AlreadyExists:
            job = self.client.get(jobs.JOBS, job_name(cronjob, scheduled),
                                  cronjob["metadata"]["namespace"])
            if (controller_ref(job) or {}).get("uid") != cronjob["metadata"]["uid"]:
                return
        ref = {"apiVersion": "batch/v1", "kind": "Job", "name": job["metadata"]["name"],
               "namespace": job["metadata"]["namespace"], "uid": job["metadata"]["uid"],
               "resourceVersion": job["metadata"].get("resourceVersion")}
        if all(r.get("uid") != ref["uid"] for r in active):
            active = [*active, ref]
        status["active"] = active
        status["lastScheduleTime"] = _stamp(scheduled)

    def _next(self, schedule: schedules.Schedule, cronjob: Object, now: datetime) -> float:
        """Seconds until the next time after the most recent one (nextScheduleTimeDuration)."""
        due = schedules.most_recent(schedule, earliest(cronjob, now), now)
        start = due.time or earliest(cronjob, now)
        return max((schedule.next_after(start) - now).total_seconds(), 0.0) + \
            NEXT_SCHEDULE_DELTA_SECONDS

    def _delete_job(self, cronjob: Object, name: str) -> None:
        try:
            self.client.delete(jobs.JOBS, name, cronjob["metadata"]["namespace"],
                               propagation_policy="Background")
        except NotFound:
            return
        self.record_event(cronjob, "Normal", "SuccessfulDelete", f"Deleted job {name}")
