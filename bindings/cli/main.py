"""The ``kubeactor`` command: ``up`` to run a cluster, kubectl's verbs to use it.

Client commands read a kubeconfig (``--kubeconfig``, else ``$KUBEACTOR_CONFIG``, else
``~/.kubeactor/kubeconfig``) and take ``-n/--namespace``; both may stand before or after the
verb, as with kubectl. Errors go to stderr in kubectl's words, with exit code 1 (a bus that
cannot be reached or is lost: ``Unable to connect to the server: ...``). SIGTERM ends a command
as Ctrl-C does (a watcher's loop ends; any other command stops where it is, closing its
session): exit 143 and 130, the status a shell shows for kubectl, which dies by the signal.

This module is the top of the CLI: it assembles :func:`parser` and the command tables from the
verb modules, each of which builds its verbs' parsers and runs its commands: ``objects`` (get,
describe, create, apply, delete, api-resources), ``pods`` (run, logs, exec), ``workloads``
(scale, rollout), ``drain`` (cordon, uncordon, drain), ``auth`` (auth, certificate, certs),
``daemons`` (up, server, scheduler, controller-manager, agent, config, node-kubeconfig),
``extending`` (admission), ``shadow`` (shadow report) and ``tracing`` (trace). It then
dispatches one command and turns the errors of kubeactor's tree into kubectl's lines.

A command imports only its own verb's module (:data:`HOMES`), as kubectl's cobra keeps each
command's code apart: ``get`` never loads the daemons' cluster, docker or the apiserver's
actors. The verb is found in the words before it (:func:`verb_of`); when they are anything but
plain (``--help``, a typo, no verb), the whole parser is built, so what argparse says is the
same either way.

Neighbours: ``bindings.cli.parsing`` (the grammar the verb modules build with),
``bindings.cli.session`` (the session a client command runs in), ``bus.errors`` (the tree),
``bindings.cluster.supervising`` (a child of ``up --processes`` exits with its parent).

Which thread: the main thread (a child of ``up`` also waits for its parent's end in a thread).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any

from bindings.cli import parsing
from bindings.cli.session import Session, print_error
from bus.errors import ApiError, BusError, ConnectionLost, KubeactorError

VERBS = ("up", "server", "scheduler", "controller-manager", "agent", "run", "get", "create",
         "apply", "describe", "logs", "exec", "api-resources", "auth", "config", "trace",
         "delete", "scale", "rollout", "certs", "certificate", "node-kubeconfig", "cordon",
         "uncordon", "drain", "expose", "top", "admission", "chaos", "shadow")
"""Every verb, in the order ``kubeactor --help`` lists them (the order they came in)."""
SESSION_HOMES = {
    "objects": ("get", "describe", "create", "apply", "delete", "api-resources"),
    "pods": ("run", "logs", "exec"), "workloads": ("scale", "rollout"),
    "auth": ("auth", "certificate", "certs"), "drain": ("cordon", "uncordon", "drain"),
    "services": ("expose",), "top": ("top",), "chaos": ("chaos",), "shadow": ("shadow",)}
"""The verb modules of commands that talk to the apiserver through one Session, and their
verbs (each module's ``COMMANDS`` and ``PARSERS``)."""
LOCAL_HOMES = {
    "daemons": ("up", "server", "scheduler", "controller-manager", "agent", "config",
                "node-kubeconfig"),
    "tracing": ("trace",), "extending": ("admission",)}
"""The verb modules of commands that run components here, or connect on their own terms."""
HOMES = {verb: module for homes in (SESSION_HOMES, LOCAL_HOMES)
         for module, verbs in homes.items() for verb in verbs}
"""Each verb's module (in ``bindings.cli``), imported when a command of it runs."""


def home(verb: str) -> ModuleType:
    """The module of ``verb``'s parser and command (imported now, if not yet)."""
    return importlib.import_module(f"bindings.cli.{HOMES[verb]}")


def _deferred(verb: str) -> Callable[..., int]:
    """``verb``'s command, its module imported when it runs."""

    def command(*args: Any) -> int:
        run: Callable[..., int] = home(verb).COMMANDS[verb]
        return run(*args)

    return command


COMMANDS = {verb: _deferred(verb) for verbs in SESSION_HOMES.values() for verb in verbs}
"""Commands that talk to the apiserver through one Session."""
LOCAL_COMMANDS = {verb: _deferred(verb) for verbs in LOCAL_HOMES.values() for verb in verbs}
"""Commands that run components here, or connect on their own terms."""


def parser(only: Iterable[str] = VERBS) -> argparse.ArgumentParser:
    """The command line: the parser of each verb of ``only`` (every verb: the whole command
    line), built by its module, in :data:`VERBS`' order."""
    common = parsing.common()
    top = parsing.Parser(prog="kubeactor", parents=[common],
                         description="A Kubernetes-style control plane on Pykka and NATS")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    chosen = set(only)
    for verb in VERBS:
        if verb in chosen:
            home(verb).PARSERS[verb](verbs, common)
    return top


_VALUED = ("--kubeconfig", "-n", "--namespace")
"""The common flags (``parsing.common``) that take a value, which may stand before the verb."""


def verb_of(words: Sequence[str]) -> str | None:
    """The verb of a command line, read past the common flags before it; None when the words
    before it are anything else (``--help``, an unknown flag) or it names no verb: the whole
    parser then says what argparse says."""
    valued = False
    for word in words:
        if valued:
            valued = False
        elif word in _VALUED:
            valued = True
        elif word in ("-v", "--verbose") or word.startswith(("--kubeconfig=", "--namespace=")) \
                or (word.startswith("-n") and not word.startswith("--")):
            continue
        else:
            return word if word in HOMES else None
    return None


class _BriefFormatter(logging.Formatter):
    """Log lines without Python tracebacks: an exception shows as its type and message (as
    ``Forbidden: nodes is forbidden: ...``). The CLI uses it unless ``-v``."""

    def formatException(self, ei: Any) -> str:
        return f"{ei[0].__name__}: {ei[1]}"


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    format_ = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(format_) if verbose else _BriefFormatter(format_))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code. Errors of kubeactor's tree (``bus.errors``) print as
    kubectl prints them, exit 1; anything else is a bug and shows its traceback. A reader that
    closed its end of stdout (``get pods | head``) ends the command quietly, as it ends kubectl."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    _exit_with_parent()
    try:
        code = _run(argv)
        sys.stdout.flush()  # what is still buffered fails here, not at the interpreter's exit
        return code
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (Terminated)
        return 128 + getattr(interrupt, "signum", signal.SIGINT)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C raises KeyboardInterrupt: the command
    unwinds (its session closes) and exits 143."""

    signum = signal.SIGTERM


def _terminate(*_: object) -> None:
    raise Terminated


def _exit_with_parent() -> None:
    """In a child of ``up --processes``: exit with the parent (``supervising``, which loads
    the cluster's package: only then)."""
    if _PARENT_PIPE in os.environ:
        from bindings.cluster import supervising

        supervising.exit_with_parent()


_PARENT_PIPE = "KUBEACTOR_PARENT_PIPE"
"""``bindings.cluster.supervising.PARENT_PIPE_VARIABLE`` (a test checks they agree)."""


def _run(argv: Sequence[str] | None) -> int:
    head, words = parsing.split_dash_dash(sys.argv[1:] if argv is None else argv)
    verb = verb_of(head)
    args = parser(VERBS if verb is None else (verb,)).parse_args(head)
    _configure_logging(getattr(args, "verbose", False))
    local = LOCAL_COMMANDS.get(args.verb) or (_raw() if getattr(args, "raw", None) else None)
    if local is not None:  # no session: what needs no bus (get --raw: HTTPS only)
        try:
            return local(args)
        except ConnectionLost as error:  # trace's
            print_error(error)
            return 1
        except KubeactorError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    try:
        session = Session(args)
        try:
            return COMMANDS[args.verb](args, session, words)
        finally:
            session.close()
    except (ApiError, BusError) as error:
        print_error(error)
    except KubeactorError as error:
        print(f"error: {error}", file=sys.stderr)
    return 1


def _raw() -> Callable[[argparse.Namespace], int]:
    """``get --raw``'s command (HTTPS only: no session)."""
    from bindings.cli import raw

    return raw.cmd_raw


if __name__ == "__main__":
    sys.exit(main())
