"""When the TTL-after-finished controller deletes a Job (actors/controllers/ttlafterfinished.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from actors.controllers.ttlafterfinished import seconds_left

NOW = datetime(2026, 12, 6, 12, 0, 30, tzinfo=UTC)


def job(ttl: int | None, finished: str | None, kind: str = "Complete", **metadata) -> dict:
    conditions = [{"type": kind, "status": "True", "lastTransitionTime": finished}] \
        if finished else []
    return {"metadata": {"name": "pi", **metadata},
            "spec": {} if ttl is None else {"ttlSecondsAfterFinished": ttl},
            "status": {"conditions": conditions}}


def test_a_finished_job_is_due_its_ttl_after_it_finished():
    assert seconds_left(job(100, "2026-12-06T12:00:00Z"), NOW) == 70.0
    assert seconds_left(job(10, "2026-12-06T12:00:00Z", "Failed"), NOW) == 0.0


def test_a_job_without_ttl_running_or_being_deleted_is_never_due():
    assert seconds_left(job(None, "2026-12-06T12:00:00Z"), NOW) is None
    assert seconds_left(job(10, None), NOW) is None
    assert seconds_left(job(0, "2026-12-06T12:00:00Z", deletionTimestamp="x"), NOW) is None
