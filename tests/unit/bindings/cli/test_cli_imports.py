"""A command imports only what it needs (bindings/cli/main.py ``HOMES``, ``verb_of``): its own
verb module, never the others' nor, for the commands that talk to the apiserver, the
cluster's launcher, docker or the control plane's actors; and a command line parses and
fails as the whole parser would have it."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from bindings.cli import main as cli
from bindings.cluster import supervising

HEAVY = ("docker", "bindings.cluster", "bindings.runtimes", "actors.apiserver",
         "actors.controllers", "actors.scheduler", "actors.kubelet", "actors.store")
"""What a client command such as ``get`` has no use for (a package's submodules too)."""

PROBE = """
import json, sys
from bindings.cli import main
try:
    main.main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _imported(*words: str) -> set[str]:
    """The modules a ``kubeactor`` command of ``words`` had imported by its end."""
    done = subprocess.run([sys.executable, "-c", PROBE, *words], capture_output=True,
                          text=True, timeout=60, check=False)
    return set(json.loads(done.stderr.splitlines()[-1]))


def _under(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m in packages or m.startswith(
        tuple(f"{p}." for p in packages)))


@pytest.mark.parametrize("words", [
    ["get", "pods", "--help"], ["--kubeconfig", "/nonexistent/kubeconfig", "get", "pods"],
    ["logs", "--help"], ["exec", "--help"], ["run", "--help"], ["describe", "--help"],
    ["auth", "--help"]])
def test_a_client_command_imports_neither_the_cluster_nor_docker_nor_the_apiserver(words):
    imported = _imported(*words)
    assert _under(imported, HEAVY) == []
    assert {"bindings.cli.objects", "bindings.cli.pods", "bindings.cli.auth"} & imported


@pytest.mark.parametrize("module", sorted({*cli.SESSION_HOMES, *cli.LOCAL_HOMES}))
def test_a_command_imports_no_verb_module_but_its_own(module):
    homes = {**cli.SESSION_HOMES, **cli.LOCAL_HOMES}
    imported = _imported(homes[module][0], "--help")
    verb_modules = {f"bindings.cli.{name}" for name in homes}
    needs = {"daemons": {"bindings.cli.extending"}}.get(module, set())  # up --admission
    assert imported & verb_modules == {f"bindings.cli.{module}", *needs}


def test_each_verb_module_serves_exactly_the_verbs_the_table_gives_it():
    for homes in (cli.SESSION_HOMES, cli.LOCAL_HOMES):
        for name, verbs in homes.items():
            module = importlib.import_module(f"bindings.cli.{name}")
            assert set(module.COMMANDS) == set(module.PARSERS) == set(verbs), name


def test_the_parent_pipe_is_the_one_supervising_names():
    assert cli._PARENT_PIPE == supervising.PARENT_PIPE_VARIABLE


def test_a_child_of_up_still_waits_for_its_parents_end_and_no_other_command_does():
    """main loads ``supervising`` only in a child of a Supervisor (its pipe named in the
    environment), which then has the thread that exits with the parent."""
    probe = ("import sys, threading; from bindings.cli import main\n"
             "try:\n    main.main(['get', 'pods', '--help'])\nexcept SystemExit:\n    pass\n"
             "print([t.name for t in threading.enumerate()], file=sys.stderr)")
    read, write = os.pipe()
    try:
        threads = [subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
            check=False, pass_fds=(read,), env={**os.environ, **extra}).stderr.splitlines()[-1]
            for extra in ({supervising.PARENT_PIPE_VARIABLE: str(read)}, {})]
    finally:
        os.close(read)
        os.close(write)
    assert "parent-lifeline" in threads[0] and "parent-lifeline" not in threads[1]


def _parsed(only: Any, words: list[str]) -> tuple[Any, ...]:
    """What parsing ``words`` with the parser of ``only`` printed, exited with and gave."""
    out, err = io.StringIO(), io.StringIO()
    code, parsed = None, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            parsed = {k: repr(v) for k, v in vars(cli.parser(only).parse_args(words)).items()}
        except SystemExit as exited:
            code = exited.code
    return code, out.getvalue(), err.getvalue(), parsed


@pytest.mark.parametrize("line", [
    "get pods", "get pods --help", "-n kube-system get pods", "--namespace=x get pods -o wide",
    "-nfoo get pods", "-v get pods -w", "--kubeconfig /tmp/k get pods", "--kubeconfig=/k -v get",
    "get --bogus", "get pods -o bogus", "--help", "-h", "frobnicate", "-n get pods",
    "-vn x get pods", "--kubeconfig", "get -n", "up --help", "up --nodes 3 --runtime sim",
    "config view", "logs -f web", "exec web", "drain n1 --ignore-daemonsets", "top nodes",
    "trace replay x", "admission --help", "rollout status deployment web", ""])
def test_a_command_line_parses_and_fails_as_with_the_whole_parser(line):
    words = line.split()
    verb = cli.verb_of(words)
    only = cli.VERBS if verb is None else (verb,)
    assert _parsed(only, words) == _parsed(cli.VERBS, words)
