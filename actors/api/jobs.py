"""Jobs and CronJobs (``batch/v1``): run pods to completion, once or on a schedule.

The words both sides share, as Kubernetes spells them: the labels a Job's selector is
generated from (:func:`default_job`, kube-apiserver's generateSelector: the Job's uid and name,
under ``batch.kubernetes.io/`` and the legacy bare keys), the finalizer that keeps a finished
pod until its Job has counted it (``batch.kubernetes.io/job-tracking``), the completion index
annotation of Indexed Jobs, the Job's conditions (:func:`finished`), and kube-apiserver's
checks of both kinds beyond their OpenAPI schema (:func:`job_spec_problems`,
:func:`cronjob_problems`, :func:`update_problems`). The cron grammar is
``actors.api.schedules``'.

Pure functions over plain dicts. Neighbours: ``actors.api.validation`` (calls the checks and
adds the pod template's), ``actors.api.defaulting`` (calls the defaulters),
``actors.apiserver.registry`` (calls :func:`update_problems`), ``actors.controllers.job``,
``actors.controllers.cronjob`` and ``actors.controllers.ttlafterfinished`` (the controllers).
"""

from __future__ import annotations

import copy
from typing import Any

from actors.api import schedules
from actors.api.meta import owner_reference
from actors.api.objects import Object

GROUP = "batch"
JOBS, CRONJOBS = "jobs", "cronjobs"
LABEL_PREFIX = "batch.kubernetes.io/"
CONTROLLER_UID = f"{LABEL_PREFIX}controller-uid"
JOB_NAME = f"{LABEL_PREFIX}job-name"
LEGACY_CONTROLLER_UID, LEGACY_JOB_NAME = "controller-uid", "job-name"
COMPLETION_INDEX = f"{LABEL_PREFIX}job-completion-index"
"""Annotation (and label) of an Indexed Job's pod: its index; env JOB_COMPLETION_INDEX."""
TRACKING_FINALIZER = f"{LABEL_PREFIX}job-tracking"
"""On every pod a Job creates, until the Job's status has counted it."""
INSTANTIATE = "cronjob.kubernetes.io/instantiate"
"""Annotation of a Job made by hand from a CronJob (``create job --from``): ``manual``."""
SCHEDULED_TIMESTAMP = f"{LABEL_PREFIX}cronjob-scheduled-timestamp"
"""Annotation of a CronJob's Job: the time it was scheduled for (RFC 3339, in the
CronJob's time zone)."""
COMPLETION_MODES = ("NonIndexed", "Indexed")
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
FAILURE_ACTIONS = ("FailJob", "Ignore", "Count", "FailIndex")
MAX_CRONJOB_NAME = 52
"""A CronJob's name leaves room for the 11 characters of its Jobs' suffix."""
IMMUTABLE = ("selector", "template", "completionMode", "podFailurePolicy",
             "backoffLimitPerIndex", "completions", "manualSelector")
"""What of a Job's spec may not change once it exists (parallelism, suspend, deadlines may)."""


# -- defaults ---------------------------------------------------------------------------------


def default_job(job: Object) -> None:
    """Kubernetes' defaults of a batch/v1 Job, and its generated selector: unless
    ``manualSelector``, the template carries the Job's uid and name as labels and the selector
    asks for the uid (kube-apiserver's generateSelector); a Job without labels takes its
    template's (SetDefaults_Job, which kube-apiserver applies again to what it reads back)."""
    spec = job.get("spec")
    if not isinstance(spec, dict):
        return
    default_job_spec(spec)
    template = spec.get("template")
    metadata = job.get("metadata") or {}
    if not isinstance(template, dict):
        return
    if spec.get("manualSelector") is not True:
        uid, name = metadata.get("uid", ""), metadata.get("name", "")
        generated = template.setdefault("metadata", {}).setdefault("labels", {})
        if isinstance(generated, dict):
            generated.update({CONTROLLER_UID: uid, JOB_NAME: name,
                              LEGACY_CONTROLLER_UID: uid, LEGACY_JOB_NAME: name})
        spec.setdefault("selector", {"matchLabels": {CONTROLLER_UID: uid}})
    labels = template["metadata"].get("labels") if isinstance(template.get("metadata"),
                                                               dict) else None
    if isinstance(labels, dict) and labels and not metadata.get("labels"):
        metadata["labels"] = dict(labels)  # SetDefaults_Job, as a Job read back shows it


def default_job_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_Job on a Job's spec (not applied to a CronJob's ``jobTemplate``: its Jobs
    get them when created)."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    per_index = spec.get("backoffLimitPerIndex") is not None
    spec.setdefault("backoffLimit", 2**31 - 1 if per_index else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy",
                    "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    policy = spec.get("podFailurePolicy")
    for rule in (policy.get("rules") or []) if isinstance(policy, dict) else []:
        for pattern in rule.get("onPodConditions") or [] if isinstance(rule, dict) else []:
            if isinstance(pattern, dict):
                pattern.setdefault("status", "True")


def default_cronjob(cronjob: Object) -> None:
    """Kubernetes' defaults of a batch/v1 CronJob (its job template's pod template is
    defaulted as a pod's, its job spec is not)."""
    spec = cronjob.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)


# -- checks -----------------------------------------------------------------------------------


def job_spec_problems(spec: dict[str, Any], at: str) -> list[str]:
    """kube-apiserver's checks of a Job's spec at ``at`` (``spec``, or a CronJob's
    ``spec.jobTemplate.spec``) beyond its pod template's, in its words."""
    problems = _counts(spec, at, ("parallelism", "completions", "backoffLimit",
                                  "ttlSecondsAfterFinished", "backoffLimitPerIndex",
                                  "maxFailedIndexes"), 0)
    problems += _counts(spec, at, ("activeDeadlineSeconds",), 1)
    mode = spec.get("completionMode", "NonIndexed")
    if mode not in COMPLETION_MODES:
        problems.append(f'{at}.completionMode: Unsupported value: "{mode}": supported values: '
                        '"NonIndexed", "Indexed"')
    elif mode == "Indexed" and spec.get("completions") is None:
        problems.append(f"{at}.completions: Required value: when completion mode is Indexed")
    if spec.get("backoffLimitPerIndex") is not None and mode != "Indexed":
        problems.append(f"{at}.backoffLimitPerIndex: Forbidden: requires indexed completion "
                        "mode")
    if spec.get("maxFailedIndexes") is not None and spec.get("backoffLimitPerIndex") is None:
        problems.append(f"{at}.backoffLimitPerIndex: Required value: when maxFailedIndexes "
                        "is specified")
    if spec.get("successPolicy") is not None:
        problems += _success_policy_problems(spec, f"{at}.successPolicy")
    restart = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if restart not in ("OnFailure", "Never"):
        problems.append(f'{at}.template.spec.restartPolicy: Unsupported value: "{restart}": '
                        'supported values: "OnFailure", "Never"')
    policy = spec.get("podFailurePolicy")
    if policy is not None:
        problems += _failure_policy_problems(policy, f"{at}.podFailurePolicy", restart,
                                             spec.get("backoffLimitPerIndex") is not None)
    return problems


def _counts(spec: dict[str, Any], at: str, fields: tuple[str, ...], least: int) -> list[str]:
    """Each of ``fields`` that is set is an integer of at least ``least``."""
    problems = []
    for field in fields:
        value = spec.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            problems.append(f"{at}.{field}: Invalid value: {value!r}: must be greater than "
                            + ("or equal to 0" if least == 0 else f"{least - 1}"))
    return problems


def _success_policy_problems(spec: dict[str, Any], at: str) -> list[str]:
    """An Indexed Job's ``successPolicy``: 1 to 20 rules, each naming indexes below
    ``completions`` or a count of at most ``completions``."""
    if spec.get("completionMode") != "Indexed":
        return [f"{at}: Invalid value: requires indexed completion mode"]
    rules = (spec.get("successPolicy") or {}).get("rules") or []
    if not 1 <= len(rules) <= 20:
        return [f"{at}.rules: Invalid value: must have between 1 and 20 rules"]
    completions, problems = int(spec.get("completions") or 0), []
    for i, rule in enumerate(rules):
        where, count = f"{at}.rules[{i}]", rule.get("succeededCount")
        indexes = rule.get("succeededIndexes")
        if indexes is None and count is None:
            problems.append(f"{where}: Required value: at least one of succeededCount or "
                            "succeededIndexes must be specified")
        if indexes is not None and not intervals_valid(indexes, completions):
            problems.append(f'{where}.succeededIndexes: Invalid value: "{indexes}": must be '
                            f"ordered intervals of indexes below {completions}")
        if count is not None and not 0 < count <= completions:
            problems.append(f"{where}.succeededCount: Invalid value: {count}: must be between "
                            f"1 and {completions}")
    return problems


def intervals_valid(text: str, completions: int) -> bool:
    """Whether ``text`` is ``1,3-5``-shaped with every index below ``completions``."""
    last = -1
    for part in text.split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            return False
        first, end = int(low), int(high or low)
        if first <= last or end < first or end >= completions:
            return False
        last = end
    return True


def _failure_policy_problems(policy: Any, at: str, restart: Any, per_index: bool
                             ) -> list[str]:
    if restart != "Never":
        return [f'{at}: Invalid value: "{restart}": only "Never" is supported when '
                "podFailurePolicy is specified"]
    rules = policy.get("rules") if isinstance(policy, dict) else None
    problems = []
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        where = f"{at}.rules[{i}]"
        action = rule.get("action")
        if action not in FAILURE_ACTIONS or (action == "FailIndex" and not per_index):
            problems.append(f'{where}.action: Unsupported value: "{action}": supported values: '
                            + ", ".join(f'"{a}"' for a in FAILURE_ACTIONS[:3 + per_index]))
        on_codes, on_conditions = rule.get("onExitCodes"), rule.get("onPodConditions")
        if (on_codes is None) == (not on_conditions):
            problems.append(f"{where}: Invalid value: specifying one of onExitCodes and "
                            "onPodConditions is required")
        if isinstance(on_codes, dict):
            problems += _exit_code_problems(on_codes, f"{where}.onExitCodes")
    return problems


def _exit_code_problems(on_codes: dict[str, Any], at: str) -> list[str]:
    operator, values = on_codes.get("operator"), on_codes.get("values") or []
    problems = []
    if operator not in ("In", "NotIn"):
        problems.append(f'{at}.operator: Unsupported value: "{operator}": supported values: '
                        '"In", "NotIn"')
    if not values:
        problems.append(f"{at}.values: Invalid value: []: at least one value is required")
    if operator == "In" and 0 in values:
        problems.append(f"{at}.values: Invalid value: 0: must not be 0 for the In operator")
    if len(set(values)) != len(values):
        problems.append(f"{at}.values: Duplicate value: {values}")
    return problems


def cronjob_problems(obj: Object) -> list[str]:
    """kube-apiserver's checks of a CronJob but its job template's pod template."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    name = (obj.get("metadata") or {}).get("name") or ""
    problems = []
    if len(name) > MAX_CRONJOB_NAME:
        problems.append(f'metadata.name: Invalid value: "{name}": must be no more than '
                        f"{MAX_CRONJOB_NAME} characters")
    problems += schedules.problems(spec.get("schedule"), spec.get("timeZone"))
    policy = spec.get("concurrencyPolicy", "Allow")
    if policy not in CONCURRENCY_POLICIES:
        problems.append(f'spec.concurrencyPolicy: Unsupported value: "{policy}": supported '
                        'values: "Allow", "Forbid", "Replace"')
    problems += _counts(spec, "spec", ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
                                       "failedJobsHistoryLimit"), 0)
    template = spec.get("jobTemplate")
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return [*problems, "spec.jobTemplate.spec: Required value"]
    return problems + job_spec_problems(template["spec"], "spec.jobTemplate.spec")


def update_problems(resource: str, old: Object, new: Object) -> list[str]:
    """What an update of a Job may not change (ValidateJobSpecUpdate): its selector, template
    (but while suspended and never started), completion mode... A CronJob may change."""
    if resource != JOBS:
        return []
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    mutable_template = old_spec.get("suspend") and not (old.get("status") or {}).get(
        "startTime")
    return [f"spec.{field}: Invalid value: {new_spec.get(field)!r}: field is immutable"
            for field in IMMUTABLE
            if new_spec.get(field) != old_spec.get(field)
            and not (field == "template" and mutable_template)]


# -- what the controllers and printers read ---------------------------------------------------


def job_from_cronjob(cronjob: Object, name: str, annotations: dict[str, str]) -> Object:
    """A Job named ``name`` of ``cronjob``'s ``jobTemplate``, controlled by it, with
    ``annotations`` added to the template's (the CronJob controller's scheduled time, or
    kubectl's ``instantiate: manual``)."""
    template = copy.deepcopy(cronjob["spec"].get("jobTemplate") or {})
    metadata = template.get("metadata") or {}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": cronjob["metadata"]["namespace"],
                     "labels": metadata.get("labels") or {},
                     "annotations": {**(metadata.get("annotations") or {}), **annotations},
                     "ownerReferences": [owner_reference(cronjob)]},
        "spec": template.get("spec") or {},
    }


def finished(job: Object) -> str | None:
    """``Complete`` or ``Failed`` when the Job has that condition True; None while it runs."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def finish_time(job: Object) -> str | None:
    """When the Job finished: its Complete or Failed condition's transition time."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond.get("lastTransitionTime") or job["status"].get("completionTime")
    return None
