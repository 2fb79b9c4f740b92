"""PodLogOptions' start and byte limit, as the kubelet applies them."""

from __future__ import annotations

from actors.api import podlogs


def test_a_log_starts_seconds_before_now_or_at_a_time_or_at_its_beginning():
    assert podlogs.since(10, None, 1000.0) == 990.0
    assert podlogs.since(None, "1970-01-01T00:16:40Z", 5.0) == 1000.0
    assert podlogs.since(None, "1970-01-01T01:16:40.5+01:00", 5.0) == 1000.5
    assert podlogs.since(None, None, 5.0) is None


def test_a_time_without_a_zone_is_not_rfc3339():
    assert podlogs.parse_time("2026-12-06T22:00:00") is None
    assert podlogs.parse_time("soon") is None


def test_a_limit_cuts_the_log_at_that_many_bytes_and_ends_it():
    assert "".join(podlogs.limited(["abc\n", "def\n"], 6)) == "abc\nde"
    assert list(podlogs.limited(["abc\n", "def\n", "never"], 4)) == ["abc\n"]
    assert "".join(podlogs.limited(["abc"], None)) == "abc"


def test_a_character_cut_in_two_by_the_limit_is_left_out():
    assert "".join(podlogs.limited(["a\u00e9"], 2)) == "a"


def test_an_endless_follow_ends_at_the_limit():
    def endless():
        while True:
            yield "line\n"
    assert "".join(podlogs.limited(endless(), 12)) == "line\nline\nli"


def test_a_start_at_or_before_the_epoch_is_the_whole_log_not_a_runtime_error():
    """The Docker SDK refuses a ``since`` that is not positive: a sinceTime of 1900 or a
    sinceSeconds beyond now must mean "from the beginning", as in Kubernetes."""
    now = 1_800_000_000.0
    assert podlogs.since(None, "1900-01-01T00:00:00Z", now) is None
    assert podlogs.since(None, "1970-01-01T00:00:00Z", now) is None
    assert podlogs.since(10**12, None, now) is None
    assert podlogs.since(60, None, now) == now - 60
