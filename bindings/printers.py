"""kubectl's output formats: tables (plain and ``-o wide``), ``json``, ``yaml`` and ``name``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import yaml

from actors.objects import ResourceInfo, condition, parse_time

Object = dict[str, Any]


def age(obj: Object, now: datetime | None = None) -> str:
    """kubectl's short age: ``5s``, ``3m``, ``2h``, ``4d``."""
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = max(int(((now or datetime.now(UTC)) - parse_time(created)).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def pod_status_word(pod: Object) -> str:
    """The STATUS column: a waiting or terminated reason, Terminating, or the phase."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status", {})
    for container in status.get("containerStatuses") or []:
        state = container.get("state", {})
        if "waiting" in state and state["waiting"].get("reason") not in (None, ""):
            return str(state["waiting"]["reason"])
        if "terminated" in state and status.get("phase") not in ("Succeeded", "Failed", None):
            return str(state["terminated"].get("reason", "Terminated"))
    if status.get("phase") in ("Succeeded", "Failed"):
        terminated = [c["state"]["terminated"] for c in status.get("containerStatuses") or []
                      if "terminated" in c.get("state", {})]
        if terminated:
            return str(terminated[0].get("reason") or status["phase"])
    return str(status.get("phase", "Pending"))


def _pod_row(pod: Object, wide: bool) -> list[str]:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers", []))
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
    row = [pod["metadata"]["name"], f"{ready}/{total}", pod_status_word(pod), str(restarts),
           age(pod)]
    if wide:
        row += [pod.get("status", {}).get("podIP") or "<none>",
                pod.get("spec", {}).get("nodeName") or "<none>"]
    return row


def _node_row(node: Object, wide: bool) -> list[str]:
    ready = condition(node, "Ready")
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if node.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels
                            if k.startswith("node-role.kubernetes.io/"))) or "<none>"
    info = node.get("status", {}).get("nodeInfo") or {}
    row = [node["metadata"]["name"], status, roles, age(node), info.get("kubeletVersion", "")]
    if wide:
        addresses = {a["type"]: a["address"] for a in node.get("status", {}).get("addresses", [])}
        row += [addresses.get("InternalIP", "<none>"), info.get("containerRuntimeVersion", "")]
    return row


def _default_row(obj: Object, wide: bool) -> list[str]:
    return [obj["metadata"]["name"], age(obj)]


Columns = tuple[list[str], list[str], Callable[[Object, bool], list[str]]]
_TABLES: dict[str, Columns] = {
    "pods": (["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["IP", "NODE"], _pod_row),
    "nodes": (["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
              ["INTERNAL-IP", "CONTAINER-RUNTIME"], _node_row),
}


def table(info: ResourceInfo, items: list[Object], wide: bool = False,
          namespaced_column: bool = False) -> str:
    headers, extra, row = _TABLES.get(info.name, (["NAME", "AGE"], [], _default_row))
    rows = [([o["metadata"].get("namespace", "")] if namespaced_column else []) + row(o, wide)
            for o in items]
    header = (["NAMESPACE"] if namespaced_column else []) + headers + (extra if wide else [])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    )


def render(info: ResourceInfo, result: Object, output: str | None, single: bool,
           all_namespaces: bool = False) -> str:
    """``result`` (one object when ``single``, else a List) in kubectl's ``-o`` format."""
    items = [result] if single else result.get("items", [])
    if output == "json":
        return json.dumps(result, indent=4)
    if output == "yaml":
        return yaml.safe_dump(result, sort_keys=False).rstrip()
    if output == "name":
        return "\n".join(f"{info.singular}/{obj['metadata']['name']}" for obj in items)
    if output not in (None, "wide"):
        raise ValueError(
            f'unable to match a printer suitable for the output format "{output}", allowed '
            "formats are: json,name,wide,yaml"
        )
    return table(info, items, wide=output == "wide", namespaced_column=all_namespaces)
