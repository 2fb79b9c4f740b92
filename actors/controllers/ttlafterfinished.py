"""The TTL-after-finished controller: a finished Job with ``ttlSecondsAfterFinished`` is
deleted (in the foreground, so its pods go first) that long after it finished.

A Job's finish time is the transition time of its ``Complete`` or ``Failed`` condition
(:func:`actors.api.jobs.finish_time`); before it is due the key comes back when it is; the
Job is read again from the apiserver before the delete, as Kubernetes' does, so a TTL changed
meanwhile is honoured.

Neighbours: ``actors.controllers.controller`` (base), ``actors.controllers.job`` (which
finishes Jobs), ``actors.controllers.garbagecollector`` (which deletes their pods).
"""

from __future__ import annotations

from datetime import UTC, datetime

from actors.api import jobs
from actors.api.meta import parse_time
from actors.api.objects import Object
from actors.controllers.controller import Controller, Key
from bus.errors import NotFound


def seconds_left(job: Object, now: datetime) -> float | None:
    """Seconds until ``job`` is due for deletion (0: it is); None: never (no TTL, or not
    finished, or already being deleted)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    finished = jobs.finish_time(job)
    if ttl is None or finished is None or job["metadata"].get("deletionTimestamp"):
        return None
    return max(float(ttl) - (now - parse_time(finished)).total_seconds(), 0.0)


class TTLAfterFinishedController(Controller):
    """See the module docstring."""

    component = "ttl-after-finished-controller"
    resources = (jobs.JOBS,)

    def reconcile(self, key: Key) -> float | None:
        job = self.cached(key)
        if job is None or (left := seconds_left(job, datetime.now(UTC))) is None:
            return None
        if left > 0:
            return left
        try:  # the latest, not the cache's: its TTL may have changed
            fresh = self.client.get(jobs.JOBS, key.name, key.namespace)
            left = seconds_left(fresh, datetime.now(UTC))
            if left is None or left > 0:
                return left
            self.client.delete(jobs.JOBS, key.name, key.namespace,
                               propagation_policy="Foreground")
        except NotFound:
            pass
        return None
