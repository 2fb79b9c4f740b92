"""The Job controller's decisions, pure: what a Job's pods say (Kubernetes' job controller's
trackJobStatusAndRemoveFinalizers, manageJob, pastBackoffLimit, the pod failure policy).

A Job's pods carry the ``batch.kubernetes.io/job-tracking`` finalizer from their creation;
:func:`track` is the bookkeeping that keeps each finished pod from being counted twice: a pod
seen finished goes into ``status.uncountedTerminatedPods`` (written first), then loses its
finalizer, and only a pod named there that no longer holds the finalizer (or is gone) moves
into the ``succeeded``/``failed`` counters (and an Indexed Job's ``completedIndexes``).
:func:`verdict` says whether the Job has met its success or failure criteria,
:func:`wanted` which pods to create, :func:`creation_delay` the back-off after failures
(10 s doubling to 6 min, counted from the last failure since the last success).

Neighbours: ``actors.controllers.job`` (the caller), ``actors.api.jobs`` (the words).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actors.api import jobs
from actors.api.meta import condition, parse_time
from actors.api.objects import Object
from actors.controllers.replicaset import new_pod

POD_BACKOFF_SECONDS = 10.0
"""First delay before a failed pod is replaced (Kubernetes' DefaultJobPodFailureBackOff)."""
POD_BACKOFF_MAX_SECONDS = 360.0
"""Longest such delay (MaxJobPodFailureBackOff)."""
MAX_UNCOUNTED = 500
"""Most pods held in uncountedTerminatedPods at once (Kubernetes' maxUncountedPods)."""
FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
"""Annotation of a pod of a Job with ``backoffLimitPerIndex``: how often its index failed
before it."""
BACKOFF_LIMIT = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
MAX_FAILED_INDEXES = ("MaxFailedIndexesExceeded",
                      "Job has exceeded the specified maximal number of failed indexes")
FAILED_INDEXES = ("FailedIndexes", "Job has failed indexes")
DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS = ("CompletionsReached", "Reached expected number of succeeded pods")


def has_finalizer(pod: Object) -> bool:
    return jobs.TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or [])


def is_finished(pod: Object) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_active(pod: Object) -> bool:
    return not is_finished(pod) and not pod["metadata"].get("deletionTimestamp")


def index_of(pod: Object) -> int | None:
    """An Indexed Job's pod's completion index (None: none or not a number)."""
    value = (pod["metadata"].get("annotations") or {}).get(jobs.COMPLETION_INDEX)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def is_indexed(job: Object) -> bool:
    return job["spec"].get("completionMode") == "Indexed"


def per_index(job: Object) -> int | None:
    """``backoffLimitPerIndex`` of an Indexed Job (None: the Job's ``backoffLimit`` rules)."""
    limit = job["spec"].get("backoffLimitPerIndex")
    return int(limit) if limit is not None and is_indexed(job) else None


def failure_count(pod: Object) -> int:
    """How often the pod's index had failed before it."""
    value = (pod["metadata"].get("annotations") or {}).get(FAILURE_COUNT, "0")
    return int(value) if str(value).isdigit() else 0


# -- the pod failure policy --------------------------------------------------------------------


def failure_action(job: Object, pod: Object) -> tuple[str, str]:
    """What the Job's ``podFailurePolicy`` says of a failed ``pod``: ``FailJob``, ``Ignore``,
    ``Count`` or ``FailIndex``, and the message of the rule that matched (``Count`` and ""
    when none does)."""
    rules = (job["spec"].get("podFailurePolicy") or {}).get("rules") or []
    for i, rule in enumerate(rules):
        matched = _exit_code_match(rule.get("onExitCodes"), pod) if rule.get(
            "onExitCodes") else _condition_match(rule.get("onPodConditions") or [], pod)
        if matched is not None:
            return rule.get("action", "Count"), (
                f"{matched} matching {rule.get('action')} rule at index {i}")
    return "Count", ""


def _exit_code_match(on_codes: dict[str, Any], pod: Object) -> str | None:
    status = pod.get("status") or {}
    values = set(on_codes.get("values") or [])
    for container in [*(status.get("initContainerStatuses") or []),
                      *(status.get("containerStatuses") or [])]:
        if on_codes.get("containerName") not in (None, container.get("name")):
            continue
        code = ((container.get("state") or {}).get("terminated") or {}).get("exitCode")
        if code is None or code == 0:
            continue
        if (code in values) == (on_codes.get("operator") == "In"):
            return (f"Container {container.get('name')} for pod {pod['metadata'].get('namespace')}"
                    f"/{pod['metadata']['name']} failed with exit code {code}")
    return None


def _condition_match(patterns: list[dict[str, Any]], pod: Object) -> str | None:
    for pattern in patterns:
        found = condition(pod, pattern.get("type", ""))
        if found is not None and found.get("status") == pattern.get("status", "True"):
            return (f"Pod {pod['metadata'].get('namespace')}/{pod['metadata']['name']} has "
                    f"condition {pattern.get('type')}")
    return None


# -- tracking ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Tracking:
    """What :func:`track` found: the status fields it changes and the pods to release."""

    succeeded: int
    failed: int
    completed: set[int]
    """An Indexed Job's completed indexes."""
    failed_indexes: set[int]
    """Its failed ones (``backoffLimitPerIndex`` exceeded, or a FailIndex rule)."""
    uncounted: dict[str, list[str]]
    """``uncountedTerminatedPods``: uids of finished pods counted once their finalizer goes."""
    release: list[Object] = field(default_factory=list)
    """Pods whose finalizer to remove (once ``uncounted`` is written)."""
    fail_job: str | None = None
    """The message of a FailJob rule that matched a newly failed pod."""


def track(job: Object, pods: list[Object]) -> Tracking:
    """Count the pods whose uid waits in ``uncountedTerminatedPods`` and that no longer hold
    the finalizer, and put the newly finished ones (those still holding it) there: a
    Succeeded pod as succeeded, a Failed one (or one deleted by someone else before it
    finished) as failed unless the failure policy says Ignore."""
    status = job.get("status") or {}
    by_uid = {pod["metadata"]["uid"]: pod for pod in pods}
    waiting = status.get("uncountedTerminatedPods") or {}
    found = Tracking(int(status.get("succeeded") or 0), int(status.get("failed") or 0),
                     parse_indexes(status.get("completedIndexes") or ""),
                     parse_indexes(status.get("failedIndexes") or ""),
                     {"succeeded": [], "failed": []})
    for kind in ("succeeded", "failed"):
        for uid in waiting.get(kind) or []:
            pod = by_uid.get(uid)
            if pod is not None and has_finalizer(pod):
                found.uncounted[kind].append(uid)
            else:
                _count(found, job, kind)
    held = {uid for uids in found.uncounted.values() for uid in uids}
    for pod in pods:
        if not has_finalizer(pod) or pod["metadata"]["uid"] in held:
            continue
        outcome = _outcome(pod)
        if outcome is None or len(held) >= MAX_UNCOUNTED:
            continue
        if outcome == "failed":
            action, message = failure_action(job, pod)
            if action == "Ignore":
                found.release.append(pod)
                continue
            if action == "FailJob" and found.fail_job is None:
                found.fail_job = message
            _fail_index(found, job, pod, action == "FailIndex")
        elif is_indexed(job):  # its index counts at once, written with the uid
            _complete_index(found, job, pod)
        found.uncounted[outcome].append(pod["metadata"]["uid"])
        held.add(pod["metadata"]["uid"])
    found.release += [by_uid[uid] for uid in held if uid in by_uid]
    return found


def _outcome(pod: Object) -> str | None:
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return "succeeded"
    if phase == "Failed" or pod["metadata"].get("deletionTimestamp"):
        return "failed"
    return None


def _count(found: Tracking, job: Object, outcome: str) -> None:
    if outcome == "failed":
        found.failed += 1
    elif not is_indexed(job):
        found.succeeded += 1
    else:  # an Indexed Job's success counted when its index entered completedIndexes
        found.succeeded = len(found.completed)


def _fail_index(found: Tracking, job: Object, pod: Object, now: bool) -> None:
    """With ``backoffLimitPerIndex``: the pod's index fails when a FailIndex rule says so or
    its failures pass the limit (recorded with the pod's uid, as a success's index is)."""
    limit, index = per_index(job), index_of(pod)
    if limit is not None and index is not None and (now or failure_count(pod) + 1 > limit):
        found.failed_indexes.add(index)


def _complete_index(found: Tracking, job: Object, pod: Object) -> None:
    index = index_of(pod)
    if index is not None and index < int(job["spec"].get("completions") or 0):
        found.completed.add(index)
    found.succeeded = len(found.completed)


def parse_indexes(text: str) -> set[int]:
    """``1,3-5`` -> {1, 3, 4, 5} (an Indexed Job's ``completedIndexes``)."""
    found: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


def format_indexes(indexes: set[int]) -> str:
    """{1, 3, 4, 5, 7, 8} -> ``1,3-5,7,8``: intervals, as Kubernetes writes
    ``completedIndexes``."""
    parts, ordered = [], sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        gap = "-" if j > i + 1 else ","  # two in a row: "1,2", as Kubernetes writes them
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}{gap}{ordered[j]}")
        i = j + 1
    return ",".join(parts)


# -- verdicts ----------------------------------------------------------------------------------


def verdict(job: Object, tracking: Tracking, active: list[Object], now: datetime
            ) -> tuple[str, str, str] | None:
    """The criteria the Job met: (``FailureTarget`` or ``SuccessCriteriaMet``, reason,
    message), in Kubernetes' order: a FailJob rule, the backoff limit (failed pods, or with
    ``restartPolicy: OnFailure`` the restarts of the running ones), too many failed indexes,
    the active deadline, the success policy, then the completions (or every index ended,
    some failed); None while it runs."""
    spec = job["spec"]
    if tracking.fail_job is not None:
        return "FailureTarget", "PodFailurePolicy", tracking.fail_job
    limit = int(spec.get("backoffLimit", 6))
    if tracking.failed + len(tracking.uncounted["failed"]) > limit or _restarts_past(
            spec, active, limit):
        return "FailureTarget", *BACKOFF_LIMIT
    most = spec.get("maxFailedIndexes")
    if per_index(job) is not None and most is not None and len(tracking.failed_indexes) > most:
        return "FailureTarget", *MAX_FAILED_INDEXES
    if deadline_left(job, now) == 0:
        return "FailureTarget", *DEADLINE
    if (matched := success_rule(job, tracking.completed)) is not None:
        return "SuccessCriteriaMet", "SuccessPolicy", f"Matched rules at index {matched}"
    if _complete(job, tracking, active):
        return "SuccessCriteriaMet", *COMPLETIONS
    if tracking.failed_indexes and len(tracking.completed | tracking.failed_indexes) >= int(
            spec.get("completions") or 0):
        return "FailureTarget", *FAILED_INDEXES
    return None


def success_rule(job: Object, completed: set[int]) -> int | None:
    """The first rule of an Indexed Job's ``successPolicy`` its completed indexes meet: all of
    its ``succeededIndexes`` (or ``succeededCount`` of them), or ``succeededCount`` of any."""
    if not is_indexed(job):
        return None
    for i, rule in enumerate((job["spec"].get("successPolicy") or {}).get("rules") or []):
        among = parse_indexes(rule["succeededIndexes"]) if rule.get("succeededIndexes") \
            else None
        done = len(completed if among is None else completed & among)
        wanted = rule.get("succeededCount")
        if done >= (wanted if wanted is not None else len(among or ())) and done > 0:
            return i
    return None


def _restarts_past(spec: Object, active: list[Object], limit: int) -> bool:
    """pastBackoffLimitOnFailure: the restarts of the running and pending pods' containers
    reach the limit (are any, for a limit of 0)."""
    if (spec.get("template", {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = sum(int(s.get("restartCount") or 0) for pod in active
                   for key in ("initContainerStatuses", "containerStatuses")
                   for s in (pod.get("status") or {}).get(key) or [])
    return restarts > 0 if limit == 0 else restarts >= limit


def _complete(job: Object, tracking: Tracking, active: list[Object]) -> bool:
    completions = job["spec"].get("completions")
    succeeded = tracking.succeeded + len(tracking.uncounted["succeeded"])
    if completions is None:  # a work queue: one success and none left running
        return succeeded > 0 and not active
    if is_indexed(job):
        return len(tracking.completed) >= int(completions)
    return succeeded >= int(completions)


def deadline_left(job: Object, now: datetime) -> float | None:
    """Seconds before ``activeDeadlineSeconds`` runs out from ``startTime`` (0: it has);
    None without a deadline or before the Job started."""
    deadline = job["spec"].get("activeDeadlineSeconds")
    started = (job.get("status") or {}).get("startTime")
    if deadline is None or not started:
        return None
    return max(float(deadline) - (now - parse_time(started)).total_seconds(), 0.0)


# -- pods to create ----------------------------------------------------------------------------


def wanted(job: Object, tracking: Tracking, active: list[Object]) -> list[int | None]:
    """The pods to create now, as completion indexes (None for a NonIndexed Job's): up to
    ``parallelism`` running, and no more than the completions still missing."""
    spec = job["spec"]
    parallelism = int(spec.get("parallelism", 1))
    completions = spec.get("completions")
    if is_indexed(job):
        taken = tracking.completed | tracking.failed_indexes | {
            index_of(pod) for pod in active} - {None}
        missing = [i for i in range(int(completions or 0)) if i not in taken]
        return list(missing[:max(parallelism - len(active), 0)])
    succeeded = tracking.succeeded + len(tracking.uncounted["succeeded"])
    if completions is None:
        want = 0 if succeeded > 0 else parallelism
    else:
        want = min(parallelism, max(int(completions) - succeeded, 0))
    return [None] * max(want - len(active), 0)


def surplus(job: Object, active: list[Object]) -> int:
    """How many active pods are more than ``parallelism`` asks for."""
    return max(len(active) - int(job["spec"].get("parallelism", 1)), 0)


def job_pod(job: Object, index: int | None, failures: int = 0) -> Object:
    """A pod of ``job``'s template holding the tracking finalizer; for an Indexed Job its
    index in an annotation and a label, env ``JOB_COMPLETION_INDEX`` in every container and
    the hostname ``<job>-<index>`` (with ``backoffLimitPerIndex``, the index's ``failures``
    so far in an annotation)."""
    pod = new_pod(job)
    pod["metadata"]["finalizers"] = [jobs.TRACKING_FINALIZER]
    if index is None:
        return pod
    name = job["metadata"]["name"]
    pod["metadata"]["generateName"] = f"{name}-{index}-"
    pod["metadata"]["annotations"][jobs.COMPLETION_INDEX] = str(index)
    if per_index(job) is not None:
        pod["metadata"]["annotations"][FAILURE_COUNT] = str(failures)
    pod["metadata"]["labels"] = {**pod["metadata"]["labels"], jobs.COMPLETION_INDEX: str(index)}
    spec = copy.deepcopy(pod["spec"])
    spec.setdefault("hostname", f"{name}-{index}")
    env = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "fieldPath": f"metadata.annotations['{jobs.COMPLETION_INDEX}']"}}}
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            container["env"] = [*(container.get("env") or []), env]
    pod["spec"] = spec
    return pod


def index_failures(pods: list[Object], index: int) -> list[Object]:
    """The failed pods of one index."""
    return [p for p in pods if index_of(p) == index
            and (p.get("status") or {}).get("phase") == "Failed"]


def next_failure_count(pods: list[Object], index: int) -> int:
    """The failure count of the index's next pod: one more than its last failed pod's."""
    return max((failure_count(p) + 1 for p in index_failures(pods, index)), default=0)


def due_now(job: Object, wanted: list[int | None], pods: list[Object], now: datetime
            ) -> tuple[list[int | None], float]:
    """Which of the ``wanted`` pods may be created now, and the seconds until the next of the
    others may: the failure back-off counts per index with ``backoffLimitPerIndex``, per Job
    otherwise."""
    if per_index(job) is None:
        delay = creation_delay(pods, now) if wanted else 0.0
        return (wanted, 0.0) if delay == 0.0 else ([], delay)
    delays = {i: creation_delay(index_failures(pods, i), now) for i in wanted
              if i is not None}
    return ([i for i in wanted if i is None or delays[i] == 0.0],
            min((d for d in delays.values() if d > 0), default=0.0))


def creation_delay(pods: list[Object], now: datetime) -> float:
    """Seconds before a failed pod may be replaced: 10 s doubling per failure since the last
    success (6 min at most), from the last failure (Kubernetes' backoff record)."""
    last_success = max((finished_at(p) for p in pods
                        if (p.get("status") or {}).get("phase") == "Succeeded"), default="")
    failures = sorted(finished_at(p) for p in pods
                      if (p.get("status") or {}).get("phase") == "Failed"
                      and finished_at(p) > last_success)
    if not failures:
        return 0.0
    backoff = min(POD_BACKOFF_SECONDS * 2 ** (len(failures) - 1), POD_BACKOFF_MAX_SECONDS)
    return max(backoff - (now - parse_time(failures[-1])).total_seconds(), 0.0)


def finished_at(pod: Object) -> str:
    """When a finished pod's last container ended (its creation, when none says)."""
    status = pod.get("status") or {}
    ends = [str(((s.get("state") or {}).get("terminated") or {}).get("finishedAt") or "")
            for s in status.get("containerStatuses") or []]
    return max(ends, default="") or str(pod["metadata"].get("creationTimestamp") or "")
