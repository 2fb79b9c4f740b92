"""Checks of the workload kinds' own fields: ReplicaSet, Deployment, DaemonSet, StatefulSet
(and ReplicationController through ReplicaSet's), Job and CronJob: replicas, selectors matching
their template, pod templates, update strategies, and the fields an update may not change.

Pure functions over plain dicts, each returning problems in kube-apiserver's words.

Neighbours: ``actors.api.validation`` (the dispatcher), ``actors.api.podspecs`` (the template's
pod spec), ``actors.api.jobs`` (Job and CronJob rules), ``actors.api.selectors``,
``actors.apiserver.registry`` (``statefulset_update_problems`` on update).
"""

from __future__ import annotations

from typing import Any

from actors.api import jobs, storage
from actors.api.amounts import int_or_percent
from actors.api.objects import Object
from actors.api.podspecs import RESTART_POLICIES, pod_spec_problems
from actors.api.resources import ResourceInfo
from actors.api.selectors import selector_matches, selector_requirements


def workload_problems(info: ResourceInfo, obj: Object) -> list[str]:
    """ReplicaSet and Deployment: replicas, a selector that matches the template's labels, a
    valid pod template that restarts Always, and (Deployments) the update strategy."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    problems = []
    for field in ("replicas", "minReadySeconds", "revisionHistoryLimit",
                  "progressDeadlineSeconds"):
        value = spec.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"spec.{field}: Invalid value: {value!r}: must be greater than or "
                            "equal to 0")
    problems += _selector_problems(info, spec)
    template = spec.get("template")
    if not isinstance(template, dict):
        return [*problems, "spec.template: Required value"]
    problems += pod_spec_problems(template.get("spec"), "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy", "Always")
    if policy != "Always" and policy in RESTART_POLICIES:
        problems.append(f'spec.template.spec.restartPolicy: Unsupported value: "{policy}": '
                        'supported values: "Always"')
    return problems + _STRATEGY_CHECKS.get(info.kind, lambda spec: [])(spec)


def _selector_problems(info: ResourceInfo, spec: dict[str, Any]) -> list[str]:
    """A workload's selector: present, not empty, matching its template's labels."""
    selector = spec.get("selector")
    template = spec.get("template")
    labels = (template.get("metadata") or {}).get("labels") if isinstance(template, dict) else {}
    if not isinstance(selector, dict):
        return ["spec.selector: Required value"]
    try:
        if not selector_requirements(selector):
            return [f"spec.selector: Invalid value: {selector}: empty selector is invalid for "
                    f"{info.singular}"]
        if not selector_matches(selector, labels if isinstance(labels, dict) else {}):
            return [f"spec.template.metadata.labels: Invalid value: {labels}: `selector` does "
                    "not match template `labels`"]
    except (ValueError, AttributeError, TypeError) as error:
        return [f"spec.selector: Invalid value: {error}"]
    return []


def job_problems(info: ResourceInfo, obj: Object) -> list[str]:
    """A Job: its selector (generated unless ``manualSelector``), its spec, its template."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    return [*_selector_problems(info, spec), *jobs.job_spec_problems(spec, "spec"),
            *_template_problems(spec, "spec")]


def cronjob_problems(obj: Object) -> list[str]:
    problems = jobs.cronjob_problems(obj)
    template = (obj.get("spec") or {}).get("jobTemplate")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        problems += _template_problems(template["spec"], "spec.jobTemplate.spec")
    return problems


def _template_problems(spec: dict[str, Any], at: str) -> list[str]:
    """The pod template of a workload's ``spec`` at ``at``."""
    template = spec.get("template")
    if not isinstance(template, dict):
        return [f"{at}.template: Required value"]
    return pod_spec_problems(template.get("spec"), f"{at}.template.spec")


def _strategy_problems(strategy: Any, at: str = "spec.strategy",
                       other: str = "Recreate") -> list[str]:
    """A Deployment's ``strategy`` (RollingUpdate or Recreate) or a DaemonSet's
    ``updateStrategy`` (RollingUpdate or OnDelete): the rolling update's ``maxSurge`` and
    ``maxUnavailable``, not both 0."""
    rolling = strategy.get("rollingUpdate") if isinstance(strategy, dict) else None
    if (problem := _strategy_type_problem(strategy, at, other)) is not None:
        return problem
    if not isinstance(rolling, dict):
        return [f"{at}.rollingUpdate: Invalid value: must be a map"]
    problems, zero = [], []
    for field in ("maxSurge", "maxUnavailable"):
        value = rolling.get(field)
        try:
            scaled = int_or_percent(value, 100, round_up=True)
        except ValueError as error:
            problems.append(f"{at}.rollingUpdate.{field}: Invalid value: {error}")
            continue
        if field == "maxUnavailable" and isinstance(value, str) and scaled > 100:
            problems.append(f"{at}.rollingUpdate.{field}: Invalid value: {value!r}: "
                            "must not be greater than 100%")
        if scaled == 0:
            zero.append(field)
    if len(zero) == 2:
        problems.append(f"{at}.rollingUpdate.maxUnavailable: Invalid value: 0: may "
                        "not be 0 when `maxSurge` is 0")
    return problems


def _strategy_type_problem(strategy: Any, at: str, other: str) -> list[str] | None:
    """Problems with a strategy's ``type`` (RollingUpdate or ``other``), [] when it is
    ``other`` and says nothing more; None: a RollingUpdate, whose fields are to check."""
    kind = strategy.get("type") if isinstance(strategy, dict) else strategy
    if not isinstance(strategy, dict) or kind not in ("RollingUpdate", other):
        return [f'{at}.type: Unsupported value: "{kind}": supported values: '
                f'"{other}", "RollingUpdate"']
    if kind == "RollingUpdate":
        return None
    return ([] if strategy.get("rollingUpdate") is None else [
        f"{at}.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
        f"'{other}'"])


def _statefulset_problems(spec: Object) -> list[str]:
    """A StatefulSet's podManagementPolicy, updateStrategy (a partition of 0 or more) and
    volumeClaimTemplates (each a claim)."""
    problems = []
    policy = spec.get("podManagementPolicy", "OrderedReady")
    if policy not in ("OrderedReady", "Parallel"):
        problems.append(f'spec.podManagementPolicy: Unsupported value: "{policy}": supported '
                        'values: "OrderedReady", "Parallel"')
    strategy, at = spec.get("updateStrategy"), "spec.updateStrategy"
    found = _strategy_type_problem(strategy, at, "OnDelete")
    rolling = (strategy.get("rollingUpdate") if isinstance(strategy, dict) else None) or {}
    partition = rolling.get("partition", 0) if isinstance(rolling, dict) else None
    if found is None and (isinstance(partition, bool) or not isinstance(partition, int)
                          or partition < 0):
        found = [f"{at}.rollingUpdate.partition: Invalid value: {partition!r}: must be "
                 "greater than or equal to 0"]
    for index, template in enumerate(spec.get("volumeClaimTemplates") or []):
        problems += storage.template_problems(f"spec.volumeClaimTemplates[{index}]", template)
    return problems + (found or [])


_STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                        "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy",
                        "minReadySeconds")
"""What an update may change of a StatefulSet's spec (ValidateStatefulSetUpdate)."""


def statefulset_update_problems(old: Object, new: Object) -> list[str]:
    """kube-apiserver's refusal of an update to a StatefulSet's fixed fields."""
    def fixed(obj: Object) -> Object:
        spec = obj.get("spec")
        return {k: v for k, v in (spec.items() if isinstance(spec, dict) else ())
                if k not in _STATEFULSET_MUTABLE}
    if fixed(old) == fixed(new):
        return []
    return ["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
            "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
            "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]


def revision_problems(revision: Object) -> list[str]:
    value = revision.get("revision")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [f"revision: Invalid value: {value!r}: must be greater than or equal to 0"]
    return []


_STRATEGY_CHECKS = {
    "Deployment": lambda spec: _strategy_problems(spec.get("strategy")),
    "DaemonSet": lambda spec: _strategy_problems(spec.get("updateStrategy"),
                                                 "spec.updateStrategy", "OnDelete"),
    "StatefulSet": _statefulset_problems,
}
"""The checks of each workload kind's own fields, after those they share."""
