"""``kubeactor chaos``: make the bus misbehave on purpose, for a time.

``kubeactor chaos --subject 'kubeactor.api.*.pods.*' --drop 0.1 --duplicate 0.05 --for 60s``
creates a FaultPlan (``actors.api.faultplans``; only the admin may) and returns: every process
hosting components installs it and removes it when ``--for`` has passed
(``actors.client.faultinjection``); ``kubeactor delete faultplans NAME`` ends it sooner, and
``kubeactor trace`` shows its start, its end and each message it faulted.

Neighbours: ``actors.api.faultplans`` (the object), ``bindings.cli.main`` (dispatch).

Which thread: the main thread.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from actors.api import faultplans
from bindings.cli import parsing
from bindings.cli.session import Session
from bus.errors import UsageError

USAGE = ("kubeactor chaos --subject PATTERN [--subject PATTERN...] [--drop RATE] "
         "[--duplicate RATE] [--reorder RATE] [--delay DURATION] --for DURATION [--seed N]")


def rate(value: str) -> float:
    """A fraction of messages, 0 to 1."""
    try:
        fraction = float(value)
    except ValueError:
        fraction = -1.0
    if not 0.0 <= fraction <= 1.0:
        raise argparse.ArgumentTypeError(f"invalid rate {value!r}: a fraction from 0 to 1")
    return fraction


def delay(value: str) -> float:
    """A delay: ``250ms``, or a duration as ``--for`` takes it (``1s``, ``1m``)."""
    if value.endswith("ms") and value[:-2].replace(".", "", 1).isdigit():
        return float(value[:-2]) / 1000
    return parsing.duration(value)


def _add_chaos(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    chaos = verbs.add_parser(
        "chaos", parents=[common], usage=USAGE,
        help="drop, delay, duplicate or reorder bus messages on matching subjects, for a time")
    chaos.add_argument("--subject", action="append", required=True, metavar="PATTERN",
                       help="NATS wildcard pattern under the cluster prefix (repeatable): "
                            "'kubeactor.api.*.pods.*' is every pod request, "
                            "'kubeactor.api.*.pods/binding.*' every binding")
    chaos.add_argument("--drop", type=rate, default=0.0, help="fraction of messages dropped")
    chaos.add_argument("--duplicate", type=rate, default=0.0,
                       help="fraction of messages delivered twice")
    chaos.add_argument("--reorder", type=rate, default=0.0,
                       help="fraction of messages held back so later ones overtake them")
    chaos.add_argument("--delay", type=delay, default=0.0,
                       help="hold every matching message back this long (250ms, 2s)")
    chaos.add_argument("--for", dest="lasting", type=parsing.duration, required=True,
                       metavar="DURATION", help="how long the plan lasts (60s, 5m)")
    chaos.add_argument("--seed", type=int, help="the same faults on each run")


def cmd_chaos(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    prefix = session.connection.subjects.prefix
    for pattern in args.subject:
        if not pattern.startswith(f"{prefix}."):
            raise UsageError(f"--subject {pattern!r} matches no subject of this cluster: its "
                             f"subjects start with {prefix}. (see docs/PROTOCOL.md)")
    if args.lasting <= 0:
        raise UsageError("--for must be longer than 0s")
    expires = datetime.now(UTC) + timedelta(seconds=args.lasting)
    plan = faultplans.manifest(
        args.subject, expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        rates={"drop": args.drop, "duplicate": args.duplicate, "reorder": args.reorder},
        delay=args.delay, seed=args.seed)
    made = session.client.create(faultplans.RESOURCE, plan, namespace=None)
    print(f"faultplan.{faultplans.GROUP}/{made['metadata']['name']} created "
          f"(until {expires.strftime('%H:%M:%S')} UTC)", flush=True)
    return 0


PARSERS: dict[str, parsing.Builder] = {"chaos": _add_chaos}
COMMANDS = {"chaos": cmd_chaos}
"""The verb's command, on the session's client (the admin's: RBAC refuses anyone else)."""
