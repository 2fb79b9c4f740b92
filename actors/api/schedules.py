"""A CronJob's schedule: the standard cron grammar, in a time zone, as kube-controller-manager
reads it (robfig/cron's ParseStandard).

Five fields (minute, hour, day of month, month, day of week) with ranges, lists, steps, ``*``
and ``?``, month and day names (``jan``, ``mon``), or one of the descriptors ``@yearly``
(``@annually``), ``@monthly``, ``@weekly``, ``@daily`` (``@midnight``), ``@hourly``; when both
day fields are restricted a day matching either runs (Vixie cron's rule). The times are
computed by ``croniter``; the grammar's edges (five fields, no ``TZ=`` prefix) are checked
here. :func:`most_recent` is Kubernetes' mostRecentScheduleTime: the latest time due since the
last one scheduled, and how many were missed (more than 100: the controller says so once and
starts only the latest, no storm).

Pure. Neighbours: ``actors.api.jobs`` (validates a CronJob with :func:`problems`),
``actors.controllers.cronjob`` (the caller of :func:`parse` and :func:`most_recent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
               "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
               "@hourly": "0 * * * *"}
MANY_MISSED = 100
"""More missed start times than this: a TooManyMissedTimes event (Kubernetes')."""


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed schedule in its time zone."""

    expression: str
    """Five fields (descriptors expanded)."""
    zone: tzinfo

    def next_after(self, when: datetime) -> datetime:
        """The first time strictly after ``when`` (UTC)."""
        found: datetime = croniter(self.expression, when.astimezone(self.zone)).get_next(datetime)
        return found.astimezone(UTC)


def zone(name: str | None) -> tzinfo:
    """The time zone named ``name`` (IANA: ``Europe/Paris``); UTC when None."""
    if name is None:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name}") from None


def parse(schedule: str, zone_name: str | None = None) -> Schedule:
    """``schedule`` read as kube-controller-manager reads it; ScheduleError if it cannot be."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise ScheduleError("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    expression = DESCRIPTORS.get(text.lower(), text)
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {schedule}")
    if not croniter.is_valid(expression):
        raise ScheduleError(f"failed to parse: {schedule}")
    return Schedule(expression, zone(zone_name))


def problems(schedule: Any, zone_name: Any) -> list[str]:
    """kube-apiserver's checks of ``spec.schedule`` and ``spec.timeZone``, in its words."""
    found = []
    if not isinstance(schedule, str) or not schedule.strip():
        found.append("spec.schedule: Required value")
    else:
        try:
            parse(schedule)
        except ScheduleError as error:
            found.append(f'spec.schedule: Invalid value: "{schedule}": {error}')
    if zone_name is not None:
        try:
            zone(str(zone_name))
        except ScheduleError as error:
            found.append(f'spec.timeZone: Invalid value: "{zone_name}": {error}')
    return found


@dataclass(frozen=True, slots=True)
class Due:
    """What :func:`most_recent` found."""

    time: datetime | None
    """The latest start time due (None: none since ``earliest``)."""
    missed: int
    """About how many were due (Kubernetes' estimate from the interval between two)."""


def most_recent(schedule: Schedule, earliest: datetime, now: datetime) -> Due:
    """Kubernetes' mostRecentScheduleTime: the latest time of ``schedule`` after ``earliest``
    and not after ``now``, and how many times were due (estimated, as there, from the interval
    between the first two, so a CronJob a year behind is not walked minute by minute)."""
    first = schedule.next_after(earliest)
    if now < first:
        return Due(None, 0)
    second = schedule.next_after(first)
    if now < second:
        return Due(first, 1)
    interval = max(round((second - first).total_seconds()), 1)
    missed = int((now - first).total_seconds()) // interval + 1
    latest = first
    when = schedule.next_after(first + timedelta(seconds=(missed - 2) * interval))
    while when <= now:
        latest, when = when, schedule.next_after(when)
    return Due(latest, missed)
