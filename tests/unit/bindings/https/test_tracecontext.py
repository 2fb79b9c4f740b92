"""Reading W3C ``traceparent`` headers: a valid one gives the trace and the caller's span;
anything else is ignored (the request starts a trace of its own)."""

from __future__ import annotations

import pytest

from bindings.https.tracecontext import parent

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def test_a_valid_traceparent_gives_the_trace_and_the_callers_span() -> None:
    assert parent(f"00-{TRACE}-{SPAN}-01") == (TRACE, SPAN)
    assert parent(f" 00-{TRACE}-{SPAN}-00 ") == (TRACE, SPAN)  # not sampled: still joined
    assert parent(f"01-{TRACE}-{SPAN}-01-future-fields") == (TRACE, SPAN)  # a later version


@pytest.mark.parametrize("header", [
    None, "", "garbage", f"00-{TRACE.upper()}-{SPAN}-01", f"00-{'0' * 32}-{SPAN}-01",
    f"00-{TRACE}-{'0' * 16}-01", f"ff-{TRACE}-{SPAN}-01", f"00-{TRACE}-{SPAN}-01-more",
    f"00-{TRACE[:-1]}-{SPAN}-01", f"00-{TRACE}-{SPAN}-1"])
def test_a_malformed_traceparent_is_ignored(header: str | None) -> None:
    assert parent(header) is None
