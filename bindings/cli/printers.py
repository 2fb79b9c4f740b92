"""kubectl's output formats: tables (plain and ``-o wide``; each type's columns are
``actors.api.columns``, which the HTTPS API serves too), ``json``, ``yaml``, ``name``,
``jsonpath=`` and ``custom-columns=`` (see ``actors.api.jsonpath``)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from actors.api import columns as type_columns
from actors.api import jsonpath
from actors.api.columns import age
from actors.api.meta import LAST_APPLIED, condition, unmanaged
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.secrets import decoded
from actors.api.selectors import selector_text
from bus.errors import KubeactorError, UsageError


def labels_text(obj: Object) -> str:
    labels = obj.get("metadata", {}).get("labels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def table(info: ResourceInfo, items: list[Object], wide: bool = False,
          namespaced_column: bool = False, show_labels: bool = False,
          header: bool = True, with_kind: bool = False) -> str:
    """kubectl's table for ``items`` (the type's columns: ``actors.api.columns``); without
    ``header`` only the rows (``get -w``); with ``with_kind`` names read ``pod/NAME`` (a
    ``get`` of several types)."""
    kind_columns = type_columns.of(info)
    shown = kind_columns.shown(wide)
    headers = [kind_columns.columns[i].name.upper() for i in shown]
    prefix = f"{info.qualified_singular}/" if with_kind and headers[0] == "NAME" else ""
    rows = [([o["metadata"].get("namespace", "")] if namespaced_column else [])
            + _prefixed(prefix, [cells[i] for i in shown])
            + ([labels_text(o)] if show_labels else [])
            for o in items for cells in [kind_columns.cells(o)]]
    top = (["NAMESPACE"] if namespaced_column else []) + headers + (
        ["LABELS"] if show_labels else [])
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
           header: bool = True, with_kind: bool = False,
           show_managed_fields: bool = False) -> str:
    """``result`` (one object when ``single``, else a List) in kubectl's ``-o`` format (as
    kubectl, ``json`` and ``yaml`` leave ``metadata.managedFields`` out unless
    ``show_managed_fields``)."""
    check_format(output)
    items = [result] if single else result.get("items", [])
    kind, _, template = (output or "").partition("=")
    if kind in ("json", "yaml") and not show_managed_fields:
        result = unmanaged(result) if single else {
            **result, "items": [unmanaged(item) for item in items]}
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


def _annotations(title: str, meta: Object) -> list[str]:
    """The annotations but kubectl apply's own record, which kubectl describe leaves out."""
    return _pairs(title, {k: v for k, v in (meta.get("annotations") or {}).items()
                          if k != LAST_APPLIED})


def _last_seen(event: Object) -> str:
    return str(event.get("lastTimestamp") or event["metadata"].get("creationTimestamp") or "")


def _oldest_first(event: Object) -> tuple[str, int]:
    """kubectl describe's order (by last seen); within one second, in the order stored."""
    version = str(event["metadata"].get("resourceVersion", ""))
    return _last_seen(event), int(version) if version.isdigit() else 0


def _since(stamp: Any) -> str:
    return age({"metadata": {"creationTimestamp": stamp}})


def _event_age(event: Object) -> str:
    """kubectl describe's Age of an Event: since it was first seen, or ``LAST (xCOUNT over
    FIRST)`` for one seen again (its ``series``, else its ``count``)."""
    first = _since(event.get("eventTime") or event.get("firstTimestamp") or _last_seen(event))
    series = event.get("series") or {}
    if series.get("count"):
        return f"{_since(series.get('lastObservedTime'))} (x{series['count']} over {first})"
    if int(event.get("count") or 1) > 1:
        return f"{_since(_last_seen(event))} (x{event['count']} over {first})"
    return first


def _events_section(events: list[Object]) -> list[str]:
    if not events:
        return ["Events:  <none>"]
    rows = [[str(e.get("type", "")), str(e.get("reason", "")), _event_age(e),
             str((e.get("source") or {}).get("component", "")), str(e.get("message", ""))]
            for e in sorted(events, key=_oldest_first)]
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
             *_annotations("Annotations:  ", meta),
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
             *_annotations("Annotations:    ", meta)]
    if owner:
        lines.append(f"Controlled By:  {owner.get('kind')}/{owner.get('name')}")
    return lines


def describe_pod_owner(obj: Object, pods: list[Object], events: list[Object]) -> str:
    """kubectl describe replicaset, daemonset or statefulset: its counts, pods by phase,
    template, events."""
    spec = obj.get("spec", {})
    phases = [p.get("status", {}).get("phase", "Pending") for p in pods]
    lines = [*_workload_head(obj), *_COUNTS[obj.get("kind", "ReplicaSet")](obj),
             f"Pods Status:    {phases.count('Running')} Running / {phases.count('Pending')} "
             f"Waiting / {phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed",
             *_template_lines(spec.get("template") or {})]
    return "\n".join(lines + _events_section(events))


def _replicaset_counts(rs: Object) -> list[str]:
    spec, status = rs.get("spec", {}), rs.get("status") or {}
    return [f"Replicas:       {status.get('replicas', 0)} current / {spec.get('replicas', 0)} "
            "desired"]


def _daemonset_counts(daemonset: Object) -> list[str]:
    status = daemonset.get("status") or {}
    selector = ((daemonset.get("spec", {}).get("template") or {}).get("spec") or {}).get(
        "nodeSelector") or {}
    return [f"Node-Selector:  {','.join(f'{k}={v}' for k, v in selector.items()) or '<none>'}",
            *(f"{title}: {status.get(field, 0)}" for title, field in (
                ("Desired Number of Nodes Scheduled", "desiredNumberScheduled"),
                ("Current Number of Nodes Scheduled", "currentNumberScheduled"),
                ("Number of Nodes Scheduled with Up-to-date Pods", "updatedNumberScheduled"),
                ("Number of Nodes Scheduled with Available Pods", "numberAvailable"),
                ("Number of Nodes Misscheduled", "numberMisscheduled")))]


def _statefulset_counts(statefulset: Object) -> list[str]:
    spec, status = statefulset.get("spec", {}), statefulset.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    lines = [f"Replicas:       {spec.get('replicas', 1)} desired | {status.get('replicas', 0)} "
             "total", f"Update Strategy:  {strategy.get('type', 'RollingUpdate')}"]
    if "partition" in (strategy.get("rollingUpdate") or {}):
        lines.append(f"  Partition:      {strategy['rollingUpdate']['partition']}")
    return lines


_COUNTS = {"ReplicaSet": _replicaset_counts, "ReplicationController": _replicaset_counts,
           "DaemonSet": _daemonset_counts,
           "StatefulSet": _statefulset_counts}
"""The lines of each kind's own numbers in ``describe``."""


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


def describe_job(job: Object, events: list[Object]) -> str:
    """kubectl describe job: its parallelism, completions, times, pods by state, template,
    events."""
    spec, status = job.get("spec", {}), job.get("status") or {}
    lines = [*_workload_head(job),
             f"Parallelism:      {spec.get('parallelism', '<unset>')}",
             f"Completions:      {spec.get('completions', '<unset>')}",
             f"Completion Mode:  {spec.get('completionMode', 'NonIndexed')}",
             f"Suspend:          {str(bool(spec.get('suspend'))).lower()}",
             f"Backoff Limit:    {spec.get('backoffLimit', '<unset>')}"]
    for title, field in (("Start Time:", "startTime"), ("Completed At:", "completionTime")):
        if status.get(field):
            lines.append(f"{title:<18}{status[field]}")
    if status.get("completedIndexes") is not None:
        lines.append(f"Completed Indexes:  {status['completedIndexes'] or '<none>'}")
    lines.append(f"Pods Statuses:    {status.get('active', 0)} Active "
                 f"({status.get('ready', 0)} Ready) / {status.get('succeeded', 0)} Succeeded / "
                 f"{status.get('failed', 0)} Failed")
    lines += _template_lines(spec.get("template") or {})
    return "\n".join(lines + _events_section(events))


def describe_cronjob(cronjob: Object, events: list[Object]) -> str:
    """kubectl describe cronjob: its schedule and policies, job template, last schedule time,
    active Jobs, events."""
    meta, spec, status = cronjob["metadata"], cronjob.get("spec", {}), cronjob.get("status") or {}
    template = (spec.get("jobTemplate") or {}).get("spec") or {}

    def unset(value: Any) -> str:
        return "<unset>" if value is None else str(value)

    lines = [f"Name:                          {meta['name']}",
             f"Namespace:                     {meta.get('namespace')}",
             *_pairs("Labels:                        ", meta.get("labels")),
             *_annotations("Annotations:                   ", meta),
             f"Schedule:                      {spec.get('schedule')}",
             f"Time Zone:                     {spec.get('timeZone') or '<unset>'}",
             f"Concurrency Policy:            {spec.get('concurrencyPolicy')}",
             f"Suspend:                       {unset(spec.get('suspend'))}",
             f"Successful Job History Limit:  {unset(spec.get('successfulJobsHistoryLimit'))}",
             f"Failed Job History Limit:      {unset(spec.get('failedJobsHistoryLimit'))}",
             f"Starting Deadline Seconds:     {unset(spec.get('startingDeadlineSeconds'))}",
             f"Parallelism:                   {unset(template.get('parallelism'))}",
             f"Completions:                   {unset(template.get('completions'))}",
             *_template_lines(template.get("template") or {}),
             f"Last Schedule Time:  {status.get('lastScheduleTime') or '<unset>'}",
             "Active Jobs:         " + (", ".join(r.get("name", "") for r in status.get(
                 "active") or []) or "<none>")]
    return "\n".join(lines + _events_section(events))


class RolloutFailed(KubeactorError):
    """The rollout will not finish by itself (its progress deadline passed)."""


def rollout_status(obj: Object) -> tuple[str, bool]:
    """kubectl's rollout status line for a Deployment, DaemonSet or StatefulSet, and whether
    the rollout is done; RolloutFailed when it will not finish by itself."""
    viewer = {"DaemonSet": _daemonset_rollout, "StatefulSet": _statefulset_rollout}.get(
        obj.get("kind", "Deployment"), _deployment_rollout)
    return viewer(obj)


def _rolling_only(obj: Object) -> tuple[Object, Object]:
    """The spec and status of a DaemonSet or StatefulSet whose rollout can be followed (an
    OnDelete one cannot: kubectl's error)."""
    spec = obj.get("spec", {})
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        raise RolloutFailed("rollout status is only available for RollingUpdate strategy type")
    return spec, obj.get("status") or {}


def _daemonset_rollout(daemonset: Object) -> tuple[str, bool]:
    _, status = _rolling_only(daemonset)
    if int(daemonset["metadata"].get("generation", 1)) > int(
            status.get("observedGeneration", 0)):
        return "Waiting for daemon set spec update to be observed...", False
    name, desired = daemonset["metadata"]["name"], int(status.get("desiredNumberScheduled", 0))
    waiting = f'Waiting for daemon set "{name}" rollout to finish: '
    updated, available = (int(status.get(f, 0)) for f in ("updatedNumberScheduled",
                                                            "numberAvailable"))
    if updated < desired:
        return f"{waiting}{updated} out of {desired} new pods have been updated...", False
    if available < desired:
        return f"{waiting}{available} of {desired} updated pods are available...", False
    return f'daemon set "{name}" successfully rolled out', True


def _statefulset_rollout(statefulset: Object) -> tuple[str, bool]:
    spec, status = _rolling_only(statefulset)
    if not status.get("observedGeneration") or int(statefulset["metadata"].get(
            "generation", 1)) > int(status["observedGeneration"]):
        return "Waiting for statefulset spec update to be observed...", False
    replicas, updated = int(spec.get("replicas", 1)), int(status.get("updatedReplicas", 0))
    if int(status.get("readyReplicas", 0)) < replicas:
        return f"Waiting for {replicas - int(status.get('readyReplicas', 0))} pods to be " \
               "ready...", False
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate")
    if rolling is not None:  # as kubectl: a defaulted partition 0 counts as a partition
        wanted = replicas - int(rolling.get("partition", 0))
        if updated < wanted:
            return ("Waiting for partitioned roll out to finish: "
                    f"{updated} out of {wanted} new pods have been updated..."), False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if status.get("updateRevision") != status.get("currentRevision"):
        return ("waiting for statefulset rolling update to complete "
                f"{updated} pods at revision {status.get('updateRevision')}..."), False
    return ("statefulset rolling update complete "
            f"{status.get('currentReplicas', 0)} pods at revision "
            f"{status.get('currentRevision')}..."), True


def _deployment_rollout(deployment: Object) -> tuple[str, bool]:
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
