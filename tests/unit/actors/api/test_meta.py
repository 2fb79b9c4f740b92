"""actors.api.meta's times: what the apiserver writes and what clients write are read alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actors.api.columns import age
from actors.api.meta import parse_time

AT = datetime(2026, 12, 6, 21, 0, 29, tzinfo=UTC)


@pytest.mark.parametrize("written", [
    "2026-12-06T21:00:29Z", "2026-12-06T21:00:29.000000Z", "2026-12-06T21:00:29+00:00",
    "2026-12-06T22:00:29+01:00"])
def test_every_rfc3339_form_of_one_time_is_that_time_in_utc(written):
    assert parse_time(written) == AT


def test_an_event_timed_as_kopf_writes_it_has_an_age():
    event = {"metadata": {"creationTimestamp": "2026-12-06T21:00:29.474117+00:00"}}
    assert age(event, datetime(2026, 12, 6, 21, 1, 0, tzinfo=UTC)) == "30s"
