"""kubectl's output formats: tables (plain and ``-o wide``), ``json``, ``yaml``, ``name``,
``jsonpath=`` and ``custom-columns=`` (see ``bindings.cli.jsonpath``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import yaml

from actors.api import certificates, crds
from actors.api.meta import LAST_APPLIED, condition, parse_time
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.secrets import decoded
from actors.api.selectors import selector_text
from bindings.cli import jsonpath
from bus.errors import KubeactorError, UsageError


def age(obj: Object, now: datetime | None = None) -> str:
    """kubectl's short age: ``5s``, ``3m``, ``2h``, ``4d``."""
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = max(int(((now or datetime.now(UTC)) - parse_time(created)).total_seconds()), 0)
    return human_duration(seconds)


def human_duration(seconds: int) -> str:
    """kubectl's HumanDuration: ``45s``, ``5m12s``, ``47m``, ``5h3m``, ``30h``, ``4d5h``..."""
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def pod_status_word(pod: Object) -> str:
    """The STATUS column: a waiting or terminated reason, Terminating, or the phase."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status", {})
    if (initializing := _init_status_word(pod)) is not None:
        return initializing
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


def _init_status_word(pod: Object) -> str | None:
    """kubectl's word for a pod still running its init containers (``Init:0/2``,
    ``Init:CrashLoopBackOff``, ``Init:Error``), None once they all succeeded."""
    total = len(pod.get("spec", {}).get("initContainers") or [])
    for index, container in enumerate(pod.get("status", {}).get("initContainerStatuses") or []):
        state = container.get("state", {})
        terminated, waiting = state.get("terminated"), state.get("waiting") or {}
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            return f"Init:{terminated.get('reason') or 'ExitCode:' + str(terminated['exitCode'])}"
        if waiting.get("reason") not in (None, "", "PodInitializing"):
            return f"Init:{waiting['reason']}"
        return f"Init:{index}/{total}"
    return None


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


def _configmap_row(configmap: Object, wide: bool) -> list[str]:
    data = len(configmap.get("data") or {}) + len(configmap.get("binaryData") or {})
    return [configmap["metadata"]["name"], str(data), age(configmap)]


def _service_account_row(account: Object, wide: bool) -> list[str]:
    return [account["metadata"]["name"], str(len(account.get("secrets") or [])), age(account)]


def _secret_row(secret: Object, wide: bool) -> list[str]:
    return [secret["metadata"]["name"], str(secret.get("type", "")),
            str(len(secret.get("data") or {})), age(secret)]


def _event_row(event: Object, wide: bool) -> list[str]:
    involved = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event["metadata"].get("creationTimestamp")
    return [age({"metadata": {"creationTimestamp": last}}), str(event.get("type", "")),
            str(event.get("reason", "")),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
            str(event.get("message", ""))]


def _template_columns(obj: Object) -> list[str]:
    """-o wide of workloads: CONTAINERS, IMAGES, SELECTOR."""
    spec = obj.get("spec", {})
    containers = (spec.get("template", {}).get("spec") or {}).get("containers") or []
    return [",".join(str(c.get("name")) for c in containers),
            ",".join(str(c.get("image")) for c in containers),
            selector_text(spec.get("selector") or {}) or "<none>"]


def _replicaset_row(rs: Object, wide: bool) -> list[str]:
    spec, status = rs.get("spec", {}), rs.get("status") or {}
    row = [rs["metadata"]["name"], str(spec.get("replicas", 0)), str(status.get("replicas", 0)),
           str(status.get("readyReplicas", 0)), age(rs)]
    return row + (_template_columns(rs) if wide else [])


def _deployment_row(deployment: Object, wide: bool) -> list[str]:
    spec, status = deployment.get("spec", {}), deployment.get("status") or {}
    row = [deployment["metadata"]["name"],
           f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
           str(status.get("updatedReplicas", 0)), str(status.get("availableReplicas", 0)),
           age(deployment)]
    return row + (_template_columns(deployment) if wide else [])


def _namespace_row(namespace: Object, wide: bool) -> list[str]:
    return [namespace["metadata"]["name"],
            str((namespace.get("status") or {}).get("phase", "Active")), age(namespace)]


Columns = tuple[list[str], list[str], Callable[[Object, bool], list[str]]]


def _quota_row(quota: Object, wide: bool) -> list[str]:
    """kubectl's ``used/hard`` per resource: requests (and counts) apart from limits."""
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    cells = [", ".join(f"{name}: {used.get(name, 0)}/{hard[name]}" for name in sorted(hard)
                       if name.startswith("limits.") == limits) for limits in (False, True)]
    return [quota["metadata"]["name"], age(quota), *cells]


def _csr_row(csr: Object, wide: bool) -> list[str]:
    spec = csr.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [csr["metadata"]["name"], age(csr), str(spec.get("signerName", "")),
            str(spec.get("username", "")),
            human_duration(int(seconds)) if seconds else "<none>",
            certificates.condition_word(csr)]


def _priority_class_row(priority_class: Object, wide: bool) -> list[str]:
    return [priority_class["metadata"]["name"], str(priority_class.get("value", 0)),
            str(bool(priority_class.get("globalDefault"))).lower(), age(priority_class)]


def _lease_row(lease: Object, wide: bool) -> list[str]:
    holder = (lease.get("spec") or {}).get("holderIdentity")
    return [lease["metadata"]["name"], str(holder) if holder else "<none>", age(lease)]


_TABLES: dict[str, Columns] = {
    "pods": (["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["IP", "NODE"], _pod_row),
    "nodes": (["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
              ["INTERNAL-IP", "CONTAINER-RUNTIME"], _node_row),
    "configmaps": (["NAME", "DATA", "AGE"], [], _configmap_row),
    "secrets": (["NAME", "TYPE", "DATA", "AGE"], [], _secret_row),
    "serviceaccounts": (["NAME", "SECRETS", "AGE"], [], _service_account_row),
    "events": (["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], [], _event_row),
    "resourcequotas": (["NAME", "AGE", "REQUEST", "LIMIT"], [], _quota_row),
    "namespaces": (["NAME", "STATUS", "AGE"], [], _namespace_row),
    "replicasets": (["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
                    ["CONTAINERS", "IMAGES", "SELECTOR"], _replicaset_row),
    "deployments": (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
                    ["CONTAINERS", "IMAGES", "SELECTOR"], _deployment_row),
    certificates.RESOURCE: (["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION",
                             "CONDITION"], [], _csr_row),
    "priorityclasses": (["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE"], [], _priority_class_row),
    "leases": (["NAME", "HOLDER", "AGE"], [], _lease_row),
}


def _custom_table(info: crds.CustomResource) -> Columns:
    """A custom resource's table: NAME, then its CRD's ``additionalPrinterColumns`` (those of
    priority 0 always, the others with ``-o wide``); a ``date`` column shows an age."""
    first = [c for c in info.columns if c.priority == 0]
    more = [c for c in info.columns if c.priority != 0]

    def cell(column: crds.Column, obj: Object) -> str:
        found = jsonpath.find(jsonpath.parse_path(column.json_path), obj)
        if column.type == "date" and found and isinstance(found[0], str):
            return age({"metadata": {"creationTimestamp": found[0]}})
        return ",".join(jsonpath.text_of(value) for value in found) or "<none>"

    def row(obj: Object, wide: bool) -> list[str]:
        return [obj["metadata"]["name"], *(cell(c, obj) for c in first + (more if wide else []))]

    return ["NAME", *(c.name.upper() for c in first)], [c.name.upper() for c in more], row


def labels_text(obj: Object) -> str:
    labels = obj.get("metadata", {}).get("labels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def table(info: ResourceInfo, items: list[Object], wide: bool = False,
          namespaced_column: bool = False, show_labels: bool = False,
          header: bool = True, with_kind: bool = False) -> str:
    """kubectl's table for ``items``; without ``header`` only the rows (``get -w``); with
    ``with_kind`` names read ``pod/NAME`` (a ``get`` of several types)."""
    headers, extra, row = _custom_table(info) if isinstance(info, crds.CustomResource) \
        and info.columns else _TABLES.get(info.name, (["NAME", "AGE"], [], _default_row))
    prefix = f"{info.qualified_singular}/" if with_kind and headers[0] == "NAME" else ""
    rows = [([o["metadata"].get("namespace", "")] if namespaced_column else [])
            + _prefixed(prefix, row(o, wide)) + ([labels_text(o)] if show_labels else [])
            for o in items]
    top = ((["NAMESPACE"] if namespaced_column else []) + headers + (extra if wide else [])
           + (["LABELS"] if show_labels else []))
    return columns(top, rows, header)


def columns(top: list[str], rows: list[list[str]], header: bool = True) -> str:
    """Rows under a header, each column as wide as its widest cell (kubectl's tables)."""
    widths = [max(len(r[i]) for r in [top, *rows]) for i in range(len(top))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in ([top] if header else []) + rows
    )


def _prefixed(prefix: str, row: list[str]) -> list[str]:
    return [prefix + row[0], *row[1:]] if prefix else row


FORMATS = "custom-columns,json,jsonpath,name,wide,yaml"


def check_format(output: str | None) -> None:
    """UsageError unless ``output`` is one of kubectl's ``-o`` formats supported here."""
    kind = (output or "").partition("=")[0]
    if output is not None and kind not in FORMATS.split(","):
        raise UsageError(f'unable to match a printer suitable for the output format "{output}", '
                         f"allowed formats are: {FORMATS}")
    if kind in ("jsonpath", "custom-columns") and "=" not in (output or ""):
        raise UsageError(f"{kind} format specified but no {kind} template given")


def render(info: ResourceInfo, result: Object, output: str | None, single: bool,
           all_namespaces: bool = False, show_labels: bool = False,
           header: bool = True, with_kind: bool = False) -> str:
    """``result`` (one object when ``single``, else a List) in kubectl's ``-o`` format."""
    check_format(output)
    items = [result] if single else result.get("items", [])
    kind, _, template = (output or "").partition("=")
    if kind == "json":
        return json.dumps(result, indent=4)
    if kind == "yaml":
        return yaml.safe_dump(result, sort_keys=False).rstrip()
    if kind == "name":
        return "\n".join(f"{info.qualified_singular}/{obj['metadata']['name']}" for obj in items)
    if kind == "jsonpath":
        return jsonpath.render(template.strip("'\""), result)
    if kind == "custom-columns":
        return jsonpath.columns(template, items)
    return table(info, items, wide=output == "wide", namespaced_column=all_namespaces,
                 show_labels=show_labels, header=header, with_kind=with_kind)


# -- describe -----------------------------------------------------------------------------------


def _pairs(title: str, values: dict[str, Any] | None, indent: int = 0) -> list[str]:
    pad = " " * indent
    if not values:
        return [f"{pad}{title}<none>"]
    first, *rest = [f"{k}={v}" for k, v in sorted(values.items())]
    return [f"{pad}{title}{first}"] + [f"{pad}{' ' * len(title)}{item}" for item in rest]


def _events_section(events: list[Object]) -> list[str]:
    if not events:
        return ["Events:  <none>"]
    rows = [[str(e.get("type", "")), str(e.get("reason", "")),
             age({"metadata": {"creationTimestamp": e.get("lastTimestamp")
                               or e["metadata"].get("creationTimestamp")}}),
             str((e.get("source") or {}).get("component", "")), str(e.get("message", ""))]
            for e in events]
    top = ["Type", "Reason", "Age", "From", "Message"]
    widths = [max(len(r[i]) for r in [top, *rows]) for i in range(len(top))]
    lines = ["Events:"]
    for r in [top, ["-" * len(t) for t in top], *rows]:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return lines


def describe_pod(pod: Object, events: list[Object]) -> str:
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    lines = [f"Name:             {meta['name']}", f"Namespace:        {meta.get('namespace')}",
             f"Node:             {spec.get('nodeName') or '<none>'}",
             f"Start Time:       {status.get('startTime') or '<unset>'}",
             *_pairs("Labels:           ", meta.get("labels")),
             "Status:           " + ("Terminating" if meta.get("deletionTimestamp")
                                       else str(status.get("phase", "Pending"))),
             f"IP:               {status.get('podIP') or ''}", "Containers:"]
    states = {c["name"]: c for c in status.get("containerStatuses") or []}
    for container in spec.get("containers", []):
        current = states.get(container["name"], {})
        lines += [f"  {container['name']}:", f"    Image:          {container.get('image')}"]
        if container.get("command"):
            lines.append(f"    Command:        {' '.join(container['command'])}")
        if container.get("args"):
            lines.append(f"    Args:           {' '.join(container['args'])}")
        for label, key in (("State:", "state"), ("Last State:", "lastState")):
            state = current.get(key) or {}
            for word, detail in state.items():
                lines.append(f"    {label:<16}{word.capitalize()}")
                for field in ("reason", "message", "exitCode", "startedAt", "finishedAt"):
                    if field in detail:
                        lines.append(f"      {field[0].upper() + field[1:] + ':':<14}"
                                     f"{detail[field]}")
        lines += [f"    Ready:          {current.get('ready', False)}",
                  f"    Restart Count:  {current.get('restartCount', 0)}"]
    lines.append("Conditions:")
    lines.append("  Type              Status")
    for cond in status.get("conditions") or []:
        lines.append(f"  {cond['type']:<18}{cond['status']}")
    return "\n".join(lines + _events_section(events))


def describe_secret(secret: Object) -> str:
    """kubectl describe secret: metadata, type, and each key with its size, never a value."""
    meta = secret["metadata"]
    lines = [f"Name:         {meta['name']}", f"Namespace:    {meta.get('namespace')}",
             *_pairs("Labels:       ", meta.get("labels")),
             *_pairs("Annotations:  ", {k: v for k, v in (meta.get("annotations") or {}).items()
                                        if k != LAST_APPLIED}),
             "", f"Type:  {secret.get('type', '')}", "", "Data", "===="]
    data = secret.get("data") or {}
    width = max((len(key) for key in data), default=0) + 3  # "key:" and two spaces
    lines += [f"{key + ':':<{width}}{len(decoded(value))} bytes"
              for key, value in sorted(data.items())]
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    """Rows as kubectl's describe aligns them: each column as wide as its widest cell, plus
    three spaces; the last one as it is."""
    widths = [max(len(row[i]) for row in rows) + 3 for i in range(len(rows[0]) - 1)]
    return ["  " + "".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=False))
            + row[-1] for row in rows]


def describe_node(node: Object, pods: list[Object], events: list[Object]) -> str:
    meta, status = node["metadata"], node.get("status", {})
    lines = [f"Name:               {meta['name']}",
             *_pairs("Labels:             ", meta.get("labels")),
             "Taints:             " + (", ".join(
                 f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
                 for t in node.get("spec", {}).get("taints") or []) or "<none>"),
             f"Unschedulable:      {bool(node.get('spec', {}).get('unschedulable'))}",
             "Conditions:", *_aligned([
                 ["Type", "Status", "Reason", "Message"], ["----", "------", "------", "-------"],
                 *([str(c["type"]), str(c["status"]), str(c.get("reason", "")),
                    str(c.get("message", ""))] for c in status.get("conditions") or [])])]
    lines.append("Addresses:")
    lines += [f"  {a['type']}: {a['address']}" for a in status.get("addresses") or []]
    for title in ("capacity", "allocatable"):
        lines.append(f"{title.capitalize()}:")
        lines += [f"  {k}: {v}" for k, v in sorted((status.get(title) or {}).items())]
    running = [p for p in pods if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
    lines.append(f"Non-terminated Pods:  ({len(running)} in total)")
    lines += [f"  {p['metadata'].get('namespace')}/{p['metadata']['name']}" for p in running]
    return "\n".join(lines + _events_section(events))


def _template_lines(template: Object) -> list[str]:
    """kubectl's ``Pod Template:`` section."""
    lines = ["Pod Template:", *_pairs("  Labels:  ", (template.get("metadata") or {}).get(
        "labels")), "  Containers:"]
    for container in (template.get("spec") or {}).get("containers") or []:
        lines += [f"   {container.get('name')}:", f"    Image:        {container.get('image')}"]
        if container.get("command"):
            lines.append(f"    Command:      {' '.join(container['command'])}")
        if container.get("args"):
            lines.append(f"    Args:         {' '.join(container['args'])}")
        env = {e.get("name"): e.get("value", "") for e in container.get("env") or []}
        lines += _pairs("    Environment:  ", env)
    return lines


def pod_template(template: Object) -> str:
    """kubectl's ``Pod Template:`` section alone (``rollout history --revision``)."""
    return "\n".join(_template_lines(template))


def _workload_head(obj: Object) -> list[str]:
    meta, spec = obj["metadata"], obj.get("spec", {})
    owner = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    lines = [f"Name:           {meta['name']}", f"Namespace:      {meta.get('namespace')}",
             f"Selector:       {selector_text(spec.get('selector') or {}) or '<none>'}",
             *_pairs("Labels:         ", meta.get("labels")),
             *_pairs("Annotations:    ", meta.get("annotations"))]
    if owner:
        lines.append(f"Controlled By:  {owner.get('kind')}/{owner.get('name')}")
    return lines


def describe_replicaset(rs: Object, pods: list[Object], events: list[Object]) -> str:
    """kubectl describe replicaset: replicas, pods by phase, template, events."""
    spec, status = rs.get("spec", {}), rs.get("status") or {}
    phases = [p.get("status", {}).get("phase", "Pending") for p in pods]
    lines = [*_workload_head(rs),
             f"Replicas:       {status.get('replicas', 0)} current / {spec.get('replicas', 0)} "
             "desired",
             f"Pods Status:    {phases.count('Running')} Running / {phases.count('Pending')} "
             f"Waiting / {phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed",
             *_template_lines(spec.get("template") or {})]
    return "\n".join(lines + _events_section(events))


def describe_deployment(deployment: Object, new: Object | None, olds: list[Object],
                        events: list[Object]) -> str:
    """kubectl describe deployment: replica counts, strategy, template, conditions, its
    ReplicaSets and events."""
    spec, status = deployment.get("spec", {}), deployment.get("status") or {}
    strategy = spec.get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}

    def created(rs: Object) -> str:
        rs_status = rs.get("status") or {}
        return (f"{rs['metadata']['name']} ({rs_status.get('replicas', 0)}/"
                f"{rs.get('spec', {}).get('replicas', 0)} replicas created)")

    lines = [*_workload_head(deployment),
             f"Replicas:       {spec.get('replicas', 0)} desired | "
             f"{status.get('updatedReplicas', 0)} updated | {status.get('replicas', 0)} total | "
             f"{status.get('availableReplicas', 0)} available | "
             f"{status.get('unavailableReplicas', 0)} unavailable",
             f"StrategyType:   {strategy.get('type', 'RollingUpdate')}",
             f"MinReadySeconds:  {spec.get('minReadySeconds', 0)}"]
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        lines.append(f"RollingUpdateStrategy:  {rolling.get('maxUnavailable')} max unavailable, "
                     f"{rolling.get('maxSurge')} max surge")
    lines += [*_template_lines(spec.get("template") or {}), "Conditions:",
              f"  {'Type':<14} {'Status':<7} Reason", f"  {'----':<14} {'------':<7} ------"]
    lines += [f"  {c['type']:<14} {c['status']:<7} {c.get('reason', '')}"
              for c in status.get("conditions") or []]
    lines += [f"OldReplicaSets:  {', '.join(map(created, olds)) or '<none>'}",
              f"NewReplicaSet:   {created(new) if new else '<none>'}"]
    return "\n".join(lines + _events_section(events))


class RolloutFailed(KubeactorError):
    """The rollout will not finish by itself (its progress deadline passed)."""


def rollout_status(deployment: Object) -> tuple[str, bool]:
    """kubectl's rollout status line for a Deployment, and whether the rollout is done;
    RolloutFailed once it is past its progress deadline."""
    name = deployment["metadata"]["name"]
    spec, status = deployment.get("spec", {}), deployment.get("status") or {}
    if int(deployment["metadata"].get("generation", 1)) > int(
            status.get("observedGeneration", 0)):
        return "Waiting for deployment spec update to be observed...", False
    progressing = condition(deployment, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        raise RolloutFailed(f'deployment "{name}" exceeded its progress deadline')
    replicas = int(spec.get("replicas", 1))
    updated, total = int(status.get("updatedReplicas", 0)), int(status.get("replicas", 0))
    available = int(status.get("availableReplicas", 0))
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < replicas:
        return f"{waiting}{updated} out of {replicas} new replicas have been updated...", False
    if total > updated:
        return f"{waiting}{total - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{waiting}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True
