"""The command line (bindings/cli/main.py): flags as kubectl takes them, log lines without
tracebacks unless -v."""

from __future__ import annotations

import logging
import sys

import pytest

from bindings.cli import main as cli
from bus.errors import Forbidden


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


@pytest.mark.parametrize(("line", "names"), [
    (["get", "leases", "-n", "kube-system", "kube-scheduler"], ["kube-scheduler"]),
    (["get", "pods", "a", "-o", "wide", "b"], ["a", "b"]),
    (["delete", "pod", "--grace-period", "0", "web"], ["web"]),
])
def test_a_commands_words_and_flags_may_be_intermixed_as_in_kubectl(line, names):
    args = cli.parser().parse_args(line)
    assert args.names == names


def test_without_verbose_a_logged_exception_is_one_line_not_a_traceback():
    record = logging.LogRecord("pykka", logging.ERROR, __file__, 1, "Unhandled exception in %s:",
                               ("Scheduler",), None)
    try:
        raise Forbidden('nodes is forbidden: User "alice" cannot list resource "nodes"')
    except Forbidden:
        record.exc_info = sys.exc_info()
    shown = cli._BriefFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert shown == ('ERROR pykka: Unhandled exception in Scheduler:\nForbidden: nodes is '
                     'forbidden: User "alice" cannot list resource "nodes"')


def test_node_kubeconfig_refuses_a_name_no_node_may_have_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "n.kubeconfig"
    assert cli.main(["node-kubeconfig", "--node", "BAD_NAME", "--data-dir", str(tmp_path),
                     "--kubeconfig-out", str(out)]) == 1
    assert capsys.readouterr().err.startswith(
        'error: Node "BAD_NAME" is invalid: metadata.name: Invalid value: "BAD_NAME": a '
        "lowercase RFC 1123 subdomain")
    assert not out.exists()


def test_every_verb_of_the_verb_modules_is_in_the_help_and_dispatched_once():
    """main.VERBS (the help's order) names each verb of the verb modules exactly once, each
    with a command in exactly one table; a verb missing there would not be parsed at all."""
    assert len(cli.VERBS) == len(set(cli.VERBS))
    assert not set(cli.COMMANDS) & set(cli.LOCAL_COMMANDS)
    assert set(cli.VERBS) == set(cli.COMMANDS) | set(cli.LOCAL_COMMANDS)
    shown = cli.parser().format_help()
    places = [shown.index(f"\n    {verb} ") for verb in cli.VERBS]  # ValueError: not listed
    assert places == sorted(places)
