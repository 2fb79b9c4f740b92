"""``kubeactor chaos`` (bindings/cli/chaos.py): its flags, and how ``trace`` shows the spans of
fault plans (bindings/cli/tracing.py)."""

from __future__ import annotations

import pytest

from bindings.cli import main as cli
from bindings.cli import tracing
from bus.envelope import Envelope, encode


def test_the_issues_command_line_parses_with_every_fault() -> None:
    args = cli.parser().parse_args([
        "chaos", "--subject", "kubeactor.api.*.pods.*", "--subject",
        "kubeactor.api.*.pods/binding.*", "--drop", "0.1", "--duplicate", "0.05",
        "--reorder", "0.2", "--delay", "250ms", "--for", "1m30s"])
    assert args.subject == ["kubeactor.api.*.pods.*", "kubeactor.api.*.pods/binding.*"]
    assert (args.drop, args.duplicate, args.reorder, args.delay, args.lasting) == (
        0.1, 0.05, 0.2, 0.25, 90.0)


@pytest.mark.parametrize("line", [
    ["--drop", "1.5", "--for", "60s"], ["--duplicate", "lots", "--for", "60s"],
    ["--delay", "soon", "--for", "60s"], ["--drop", "0.1"],
])
def test_a_rate_out_of_range_a_bad_duration_or_no_for_is_a_usage_error(line, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parser().parse_args(["chaos", "--subject", "kubeactor.>", *line])
    assert exited.value.code == 2


def hop_of(envelope: Envelope) -> str:
    record = tracing.Record.capture("kubeactor.trace.chaos", encode(envelope), when=0.0)
    assert record is not None
    return tracing.render(tracing.hop(record)).split("  ", 1)[1]


def test_trace_shows_a_plans_start_end_and_each_fault_with_the_message_faulted() -> None:
    assert hop_of(Envelope(sender="fault-injector", target="chaos", verb="start",
                           resource="faultplans", name="chaos-1",
                           options={"chaos": "chaos-1"})).split() == [
        "fault-injector", "->", "chaos", "chaos", "start", "faultplans/chaos-1"]
    assert "chaos end (expired) faultplans/chaos-1" in hop_of(Envelope(
        sender="fault-injector", target="chaos", verb="end", resource="faultplans",
        name="chaos-1", options={"chaos": "chaos-1", "reason": "expired"}))
    dropped = hop_of(Envelope(sender="scheduler", target="apiserver", verb="drop",
                              resource="pods", name="web", subresource="binding",
                              options={"chaos": "chaos-1", "faulted": "create"}))
    assert dropped.split() == ["scheduler", "->", "apiserver", "chaos", "drop", "create",
                               "pods/web/binding"]
