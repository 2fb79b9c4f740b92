"""kubectl's output conventions (bindings/printers.py)."""

from __future__ import annotations

import pytest

from bindings.printers import human_duration


@pytest.mark.parametrize(("seconds", "shown"), [
    (5, "5s"), (119, "119s"), (120, "2m"), (312, "5m12s"), (600, "10m"), (10799, "179m"),
    (10800, "3h"), (18180, "5h3m"), (108000, "30h"), (360000, "4d4h"), (30 * 86400, "30d"),
])
def test_ages_read_like_kubectl(seconds, shown):
    assert human_duration(seconds) == shown
