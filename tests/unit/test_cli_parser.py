"""The command line's grammar (bindings/cli.py parser()): flags as kubectl takes them."""

from __future__ import annotations

import pytest

from bindings import cli


@pytest.mark.parametrize("line", [
    ["create", "-f", "x.yaml", "--verb=get"],       # not --verbose
    ["get", "pods", "--kube", "other.kubeconfig"],  # not --kubeconfig
    ["auth", "can-i", "list", "pods", "--as-gr", "devs"],  # not --as-group
])
def test_an_abbreviated_flag_is_unknown_not_taken_for_a_longer_one(line, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.parser().parse_args(line)
    assert exited.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_whole_flags_and_short_flags_with_values_still_parse():
    args = cli.parser().parse_args(["get", "pods", "-owide", "-n", "team-a", "--kubeconfig",
                                    "k.yaml", "-v"])
    assert (args.output, args.namespace, args.kubeconfig, args.verbose) == (
        "wide", "team-a", "k.yaml", True)
