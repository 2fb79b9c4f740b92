"""``kubeactor admission --actor module:Class --name N``: an admission actor in a process of
its own, with the identity of its kubeconfig (a client certificate: ``kubeactor certs issue
--user NAME --kubeconfig-out FILE`` makes one); and the loading of ``module:Class`` for it and
for ``kubeactor scheduler --plugin module:Class [--weight Name=N]``, and the profile file of
``kubeactor scheduler --profile FILE`` (the same two as YAML: ``plugins:``, ``weights:``).

The actor serves ``<its NATS user>.<N>``, the ``spec.subject`` its AdmissionRegistration names
(the ready line says it). A class that cannot be loaded, a plugin the scheduler's profile
refuses or a weight that is not ``Name=N`` is a usage error: nothing starts.

Neighbours: ``bindings.cli.daemons`` (the scheduler verb, which reads :func:`profile`),
``actors.admission_actor`` (what runs), ``actors.scheduler.ProfileConfig`` (the checks),
``bindings.kubeconfig`` (the identity), ``bindings.cli.main`` (its tables).

Which thread: the main thread, blocked until a signal once the actor runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

import yaml

from actors.admission_actor import AdmissionActor
from actors.scheduler import ProfileConfig
from bindings import kubeconfig
from bindings.cli import parsing
from bindings.cli.session import stop_on_signals
from bus import Connection
from bus.errors import UsageError


def loaded(spec: str, flag: str) -> Any:
    """The object ``module:Name`` names; UsageError naming ``flag`` when it cannot be had."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise UsageError(f"{flag} {spec!r}: expected module:Class (e.g. mypkg.plugins:Fewest)")
    try:
        found = getattr(importlib.import_module(module), name)
    except ImportError as error:
        raise UsageError(f"{flag} {spec!r}: cannot import {module}: {error}") from None
    except AttributeError:
        raise UsageError(f"{flag} {spec!r}: module {module} has no {name}") from None
    return found


def weight(text: str) -> tuple[str, int]:
    """``Name=N`` (argparse type of ``--weight``)."""
    name, _, value = text.partition("=")
    if not name or not value.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected PluginName=N (N a whole number)")
    return name, int(value)


def profile(args: argparse.Namespace) -> ProfileConfig:
    """The scheduler's profile of ``--profile FILE``, then ``--plugin`` (each class made with
    no arguments) and ``--weight``; UsageError saying what the profile refuses."""
    specs, weights = profile_file(args.profile) if args.profile else ([], {})
    try:
        plugins = tuple(loaded(spec, "--plugin")() for spec in [*specs, *args.plugin])
        return ProfileConfig(plugins, {**weights, **dict(args.weight)})
    except (TypeError, ValueError) as refused:
        raise UsageError(str(refused)) from None


def profile_file(path: Path) -> tuple[list[str], dict[str, int]]:
    """The ``plugins`` (``module:Class``, as ``--plugin``) and ``weights`` (name: N, as
    ``--weight``) of a profile file (YAML); UsageError saying what is wrong in it."""
    try:
        body = yaml.safe_load(path.expanduser().read_text()) or {}
    except OSError as error:
        raise UsageError(f"--profile {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"--profile {path}: not YAML: {error}") from None
    bad = UsageError(f"--profile {path}: expected only `plugins:` (a list of module:Class) "
                     "and `weights:` (plugin name: a whole number)")
    if not isinstance(body, dict) or set(body) - {"plugins", "weights"}:
        raise bad
    plugins, weights = body.get("plugins") or [], body.get("weights") or {}
    if not (isinstance(plugins, list) and all(isinstance(spec, str) for spec in plugins)
            and isinstance(weights, dict) and all(
                type(n) is int and n >= 0 for n in weights.values())):
        raise bad
    return plugins, {str(name): n for name, n in weights.items()}


def scheduler_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--profile", type=Path, metavar="FILE",
                         help="a profile file (YAML): `plugins:` (module:Class, as --plugin) "
                              "and `weights:` (Name: N, as --weight); the flags add to it")
    command.add_argument("--plugin", action="append", default=[], metavar="MODULE:CLASS",
                         help="a plugin class to add to the default ones (repeatable)")
    command.add_argument("--weight", action="append", type=weight, default=[],
                         metavar="NAME=N", help="the Score weight of the plugin of that name "
                                                "(its name attribute; repeatable)")


def _add_admission(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    admission = verbs.add_parser(
        "admission", parents=[common],
        help="run an admission actor with the identity of --kubeconfig")
    admission.add_argument("--actor", required=True, metavar="MODULE:CLASS",
                           help="the AdmissionActor subclass to run")
    admission.add_argument("--name", required=True,
                           help="the actor's name: it serves <kubeconfig user>.<name>")


def cmd_admission(args: argparse.Namespace) -> int:
    """``admission``: the actor until SIGINT or SIGTERM; exit 0."""
    actor = loaded(args.actor, "--actor")
    if not (isinstance(actor, type) and issubclass(actor, AdmissionActor)):
        raise UsageError(f"--actor {args.actor!r} is not an AdmissionActor subclass")
    config = kubeconfig.load(
        Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser())
    stop = stop_on_signals()
    connection = Connection(config.bus(), f"admission-{args.name}").connect()
    try:
        subject = f"{connection.owner}.{args.name}"
        ref = actor.start(connection, subject)
        print(f"kubeactor is ready: admission actor {actor.__name__} serving {subject} "
              f"(its AdmissionRegistration's spec.subject)", flush=True)
        stop.wait()
        ref.stop()
    finally:
        connection.close()
    print("kubeactor stopped", file=sys.stderr, flush=True)
    return 0


PARSERS: dict[str, parsing.Builder] = {"admission": _add_admission}
COMMANDS = {"admission": cmd_admission}
