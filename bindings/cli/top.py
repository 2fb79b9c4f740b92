"""``kubeactor top pods|nodes``: what pods and nodes use now, as ``kubectl top`` prints it.

The figures are the apiserver's ``metrics.k8s.io`` PodMetrics and NodeMetrics (which it asks
of the kubelets); CPU in millicores, memory in MiB; a node's share of its allocatable besides.

Neighbours: ``actors.apiserver.metrics`` (what is read), ``bindings.cli.printers`` (the
columns), ``bindings.cli.main`` (dispatch).

Which thread: the main thread.
"""

from __future__ import annotations

import argparse
import sys

from actors.api.objects import Object
from actors.api.quantity import parse_quantity
from bindings.cli import parsing, printers
from bindings.cli.session import Session
from bus.errors import UsageError

MIB = 1024 * 1024
KINDS = {"pod": "pods", "pods": "pods", "po": "pods", "node": "nodes", "nodes": "nodes",
         "no": "nodes"}
"""The words ``top`` takes, as kubectl's."""


def _add_top(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    top = verbs.add_parser("top", parents=[common], help="show what pods or nodes use now")
    top.add_argument("kind", help="pods or nodes")
    top.add_argument("name", nargs="?")
    top.add_argument("-l", "--selector")
    top.add_argument("-A", "--all-namespaces", action="store_true")
    top.add_argument("--containers", action="store_true", help="one line per container")


def cmd_top(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    kind = KINDS.get(args.kind)
    if kind is None:
        raise UsageError(f"top: {args.kind}: pods or nodes")
    namespace = None if kind == "nodes" or args.all_namespaces else session.namespace
    resource = f"{kind}.metrics.k8s.io"
    if args.name:
        items = [session.client.get(resource, args.name, namespace=namespace)]
    else:
        items = session.client.list(resource, namespace, label_selector=args.selector)["items"]
    if kind == "nodes":
        nodes = {n["metadata"]["name"]: n for n in session.client.list("nodes")["items"]}
        print(printers.columns(*node_rows(items, nodes)))
    else:
        print(printers.columns(*pod_rows(items, args.containers, args.all_namespaces)))
    sys.stdout.flush()
    return 0


def pod_rows(items: list[Object], containers: bool, namespaced: bool
             ) -> tuple[list[str], list[list[str]]]:
    """kubectl's columns of ``top pods`` (with ``--containers``, one row per container)."""
    top = ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    if containers:
        top.insert(1, "CONTAINER")
    rows = []
    for item in items:
        meta = item["metadata"]
        prefix = [meta["namespace"]] if namespaced else []
        lines = [[c["name"], *_usage(c["usage"])] for c in item["containers"]] if containers \
            else [_usage(_total(item["containers"]))]
        rows += [[*prefix, meta["name"], *line] for line in lines]
    return (["NAMESPACE", *top] if namespaced else top), rows


def node_rows(items: list[Object], nodes: dict[str, Object]
              ) -> tuple[list[str], list[list[str]]]:
    """kubectl's columns of ``top nodes``: usage, and its share of the node's allocatable."""
    rows = []
    for item in items:
        name = item["metadata"]["name"]
        allocatable = (nodes.get(name) or {}).get("status", {}).get("allocatable") or {}
        cpu, memory = _usage(item["usage"])
        rows.append([name, cpu, _share(item["usage"], allocatable, "cpu"), memory,
                     _share(item["usage"], allocatable, "memory")])
    return ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"], rows


def _total(containers: list[Object]) -> Object:
    return {key: sum(parse_quantity(c["usage"].get(key, "0")) for c in containers)
            for key in ("cpu", "memory")}


def _usage(usage: Object) -> list[str]:
    cores, memory = parse_quantity(usage.get("cpu", "0")), parse_quantity(usage.get("memory", "0"))
    return [f"{int(cores * 1000)}m", f"{int(memory // MIB)}Mi"]


def _share(usage: Object, allocatable: Object, key: str) -> str:
    if key not in allocatable or not parse_quantity(allocatable[key]):
        return "<unknown>"
    return f"{int(parse_quantity(usage.get(key, '0')) * 100 / parse_quantity(allocatable[key]))}%"


PARSERS: dict[str, parsing.Builder] = {"top": _add_top}
COMMANDS = {"top": cmd_top}
