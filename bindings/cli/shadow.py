"""``kubeactor shadow report``: where a shadow scheduler's choices differed from the active
scheduler's, one row per pod: both nodes and both score breakdowns.

The rows are the shadow's Events (reason ``ShadowDisagreed``, read with a field selector, as
``kubectl get events --field-selector reason=ShadowDisagreed`` reads them), their messages
read back by ``actors.scheduler.shadowing.parse``; ``--name`` keeps one shadow's (its Events'
source). The shadow itself runs as ``kubeactor scheduler --shadow`` (``bindings.cli.daemons``).

Neighbours: ``actors.scheduler.shadowing`` (what writes them), ``bindings.cli.printers`` (the
table), ``bindings.cli.main`` (dispatch).

Which thread: the main thread.
"""

from __future__ import annotations

import argparse

from actors.api.objects import Object
from actors.scheduler import shadowing
from bindings.cli import parsing, printers
from bindings.cli.session import Session


def _add_shadow(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    shadow = verbs.add_parser("shadow", parents=[common],
                              help="show where a shadow scheduler's choices differed")
    shadow.add_argument("action", choices=["report"])
    shadow.add_argument("--name", help="only this shadow's (its --shadow-name)")
    shadow.add_argument("-A", "--all-namespaces", action="store_true")


def cmd_shadow(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    namespace = None if args.all_namespaces else session.namespace
    events = session.client.list("events", namespace,
                                 field_selector=f"reason={shadowing.REASON}")["items"]
    if args.name:
        events = [e for e in events if (e.get("source") or {}).get("component") == args.name]
    top, rows = report_rows(events, args.all_namespaces)
    print(printers.columns(top, rows) if rows else "No differences found.")
    return 0


def report_rows(events: list[Object], namespaced: bool) -> tuple[list[str], list[list[str]]]:
    """The table's header and rows, oldest first; Events whose message is not a shadow's
    are left out."""
    rows = []
    for event in sorted(events, key=lambda e: str(e.get("lastTimestamp") or "")):
        said = shadowing.parse(str(event.get("message") or ""))
        if said is None:
            continue
        involved = event.get("involvedObject") or {}
        prefix = [str(involved.get("namespace", ""))] if namespaced else []
        rows.append([*prefix, str(involved.get("name", "")), said["shadow_name"],
                     said["active"], said["shadow"], said["active_scores"],
                     said["shadow_scores"]])
    top = ["POD", "SHADOW", "ACTIVE NODE", "SHADOW NODE", "ACTIVE NODE SCORES",
           "SHADOW NODE SCORES"]
    return (["NAMESPACE", *top] if namespaced else top), rows


PARSERS: dict[str, parsing.Builder] = {"shadow": _add_shadow}
COMMANDS = {"shadow": cmd_shadow}
