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

Neighbours: ``bindings.cli.parsing`` (the grammar the verb modules build with),
``bindings.cli.session`` (the session a client command runs in), ``bus.errors`` (the tree),
``bindings.cluster.supervising`` (a child of ``up --processes`` exits with its parent).

Which thread: the main thread (a child of ``up`` also waits for its parent's end in a thread).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from bindings.cli import (
    auth,
    chaos,
    daemons,
    drain,
    extending,
    objects,
    parsing,
    pods,
    raw,
    services,
    shadow,
    top,
    tracing,
    workloads,
)
from bindings.cli.session import Session, print_error
from bindings.cluster.supervising import exit_with_parent
from bus.errors import ApiError, BusError, ConnectionLost, KubeactorError

VERBS = ("up", "server", "scheduler", "controller-manager", "agent", "run", "get", "create",
         "apply", "describe", "logs", "exec", "api-resources", "auth", "config", "trace",
         "delete", "scale", "rollout", "certs", "certificate", "node-kubeconfig", "cordon",
         "uncordon", "drain", "expose", "top", "admission", "chaos", "shadow")
"""Every verb, in the order ``kubeactor --help`` lists them (the order they came in)."""
COMMANDS = {**objects.COMMANDS, **pods.COMMANDS, **workloads.COMMANDS, **auth.COMMANDS,
            **drain.COMMANDS, **services.COMMANDS, **top.COMMANDS, **chaos.COMMANDS,
            **shadow.COMMANDS}
"""Commands that talk to the apiserver through one Session."""
LOCAL_COMMANDS = {**daemons.COMMANDS, **tracing.COMMANDS, **extending.COMMANDS}
"""Commands that run components here, or connect on their own terms."""
_PARSERS = {**objects.PARSERS, **pods.PARSERS, **workloads.PARSERS, **auth.PARSERS,
            **daemons.PARSERS, **tracing.PARSERS, **drain.PARSERS, **services.PARSERS,
            **top.PARSERS, **extending.PARSERS, **chaos.PARSERS, **shadow.PARSERS}


def parser() -> argparse.ArgumentParser:
    """The whole command line: each verb's parser, built by its module, in :data:`VERBS`'
    order."""
    common = parsing.common()
    top = parsing.Parser(prog="kubeactor", parents=[common],
                         description="A Kubernetes-style control plane on Pykka and NATS")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    for verb in VERBS:
        _PARSERS[verb](verbs, common)
    return top


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
    exit_with_parent()
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


def _run(argv: Sequence[str] | None) -> int:
    head, words = parsing.split_dash_dash(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(head)
    _configure_logging(getattr(args, "verbose", False))
    local = LOCAL_COMMANDS.get(args.verb) or (raw.cmd_raw if getattr(args, "raw", None)
                                                else None)
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


if __name__ == "__main__":
    sys.exit(main())
