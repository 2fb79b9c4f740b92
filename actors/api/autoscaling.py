"""The rules of ``autoscaling/v2`` HorizontalPodAutoscalers: their shape, Kubernetes' replica
calculator and its behavior (stabilization, scaling policies, bounds).

Pure functions over plain objects and numbers, so each case of Kubernetes'
``replica_calculator_test.go`` is a line of a unit test. :func:`replicas_for` is
``GetResourceReplicas`` / ``GetRawResourceReplicas`` (Utilization of requests, AverageValue);
:func:`stabilized` and :func:`limited` are ``normalizeDesiredReplicasWithBehaviors``.

Simplified from Kubernetes (and said so in docs/DESIGN.md §9): a pod is *unready* when it is
Pending, or (for cpu) when its Ready condition is not True, without the CPU initialization
period and readiness delay; a pod without metrics is *missing*; a pod deleted or Failed is
ignored. An HPA without ``behavior`` gets the default behavior (Kubernetes keeps the older
rule of at most twice the replicas, or 4, per sync for those).

Neighbours: ``actors.controllers.podautoscaler`` (the controller that applies them),
``actors.api.columns`` (kubectl's columns), ``actors.api.validation`` (which runs
:func:`problems`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from actors.api.meta import condition
from actors.api.objects import Object
from actors.api.quantity import parse_quantity

GROUP, RESOURCE = "autoscaling", "horizontalpodautoscalers"
TOLERANCE = 0.1
"""A usage within 10% of the target changes nothing (``--horizontal-pod-autoscaler-tolerance``)."""
SCALABLE = {"Deployment": "deployments", "ReplicaSet": "replicasets",
            "StatefulSet": "statefulsets", "ReplicationController": "replicationcontrollers"}
"""The kinds an HPA may scale (through their ``scale`` subresource), by their resource."""
RESOURCES = ("cpu", "memory")
DEFAULT_METRICS = ({"type": "Resource", "resource": {
    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},)
"""What an HPA without metrics scales on (Kubernetes' default)."""


def default_behavior(down_window: int) -> Object:
    """Kubernetes' default behavior, with ``down_window`` seconds of scale-down stabilization."""
    return {"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 15},
                {"type": "Pods", "value": 4, "periodSeconds": 15}]},
            "scaleDown": {"stabilizationWindowSeconds": down_window, "selectPolicy": "Max",
                          "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}


def behavior(hpa: Object, down_window: int) -> Object:
    """The HPA's behavior, what it leaves out taken from the default's."""
    given, default = hpa["spec"].get("behavior") or {}, default_behavior(down_window)
    return {way: {**default[way], **{k: v for k, v in (given.get(way) or {}).items()
                                     if v is not None}} for way in default}


# -- shape ------------------------------------------------------------------------------------

def default_autoscaler(hpa: Object) -> None:
    """Kubernetes' defaults: ``minReplicas`` 1, scaling on cpu at 80% of requests."""
    spec = hpa.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("minReplicas", 1)
        if not spec.get("metrics"):
            spec["metrics"] = [dict(metric) for metric in DEFAULT_METRICS]


def problems(hpa: Object) -> list[str]:
    """What is wrong with ``hpa``'s spec, in kube-apiserver's words."""
    spec = hpa.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    found: list[str] = []
    ref = spec.get("scaleTargetRef")
    if not isinstance(ref, dict) or not ref.get("kind") or not ref.get("name"):
        found.append("spec.scaleTargetRef: Required value: kind and name")
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if not isinstance(high, int) or isinstance(high, bool) or high < 1:
        found.append(f"spec.maxReplicas: Invalid value: {high!r}: must be greater than or "
                     "equal to 1")
    elif not isinstance(low, int) or isinstance(low, bool) or not 1 <= low <= high:
        found.append(f"spec.minReplicas: Invalid value: {low!r}: must be at least 1 and not "
                     "more than maxReplicas")
    for i, metric in enumerate(spec.get("metrics") or []):
        found += _metric_problems(metric, f"spec.metrics[{i}]")
    for way in ("scaleUp", "scaleDown"):
        for j, policy in enumerate(((spec.get("behavior") or {}).get(way) or {}).get(
                "policies") or []):
            found += _policy_problems(policy, f"spec.behavior.{way}.policies[{j}]")
    return found


def _metric_problems(metric: Any, at: str) -> list[str]:
    if not isinstance(metric, dict) or metric.get("type") != "Resource":
        return [f"{at}.type: Unsupported value: only \"Resource\" metrics are served"]
    resource = metric.get("resource") or {}
    target = resource.get("target") or {}
    if resource.get("name") not in RESOURCES:
        return [f"{at}.resource.name: Unsupported value: {resource.get('name')!r}: "
                f"supported values: \"cpu\", \"memory\""]
    if target.get("type") == "Utilization":
        value = target.get("averageUtilization")
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        return [] if ok else [f"{at}.resource.target.averageUtilization: Invalid value: "
                              f"{value!r}: must be greater than 0"]
    if target.get("type") == "AverageValue":
        try:
            ok = parse_quantity(target.get("averageValue")) > 0
        except ValueError:
            ok = False
        return [] if ok else [f"{at}.resource.target.averageValue: Invalid value: must be a "
                              "positive quantity"]
    return [f"{at}.resource.target.type: Unsupported value: {target.get('type')!r}: "
            "supported values: \"Utilization\", \"AverageValue\""]


def _policy_problems(policy: Any, at: str) -> list[str]:
    if not isinstance(policy, dict) or policy.get("type") not in ("Pods", "Percent"):
        return [f"{at}.type: Unsupported value: supported values: \"Pods\", \"Percent\""]
    value, period = policy.get("value"), policy.get("periodSeconds")
    if not isinstance(value, int) or value <= 0:
        return [f"{at}.value: Invalid value: {value!r}: must be greater than zero"]
    if not isinstance(period, int) or not 0 < period <= 1800:
        return [f"{at}.periodSeconds: Invalid value: {period!r}: must be within 1 and 1800"]
    return []


def targets_text(metrics: list[Object], current: list[Object]) -> str:
    """kubectl's TARGETS cell: ``cpu: 50%/80%``, ``memory: 60Mi/100Mi``, ``<unknown>`` for
    what was not measured yet; past two, ``+ N more...``."""
    shown = []
    for i, metric in enumerate(metrics):
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        now = ((current[i] if i < len(current) else {}).get("resource") or {}).get(
            "current") or {}
        if target.get("type") == "AverageValue":
            shown.append(f"{resource.get('name')}: {now.get('averageValue', '<unknown>')}/"
                         f"{target.get('averageValue')}")
        else:
            used = now.get("averageUtilization")
            shown.append(f"{resource.get('name')}: "
                         f"{'<unknown>' if used is None else f'{used}%'}/"
                         f"{target.get('averageUtilization')}%")
    if not shown:
        return "<none>"
    more = f" + {len(shown) - 2} more..." if len(shown) > 2 else ""
    return ", ".join(shown[:2]) + more


# -- the replica calculator -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Target:
    """One Resource metric's target: ``utilization`` percent of requests, or ``value`` per pod
    (in the resource's unit: cores, bytes)."""

    resource: str
    utilization: int | None = None
    value: float | None = None

    @classmethod
    def of(cls, metric: Object) -> Target:
        resource = metric["resource"]
        target = resource["target"]
        if target["type"] == "Utilization":
            return cls(resource["name"], utilization=int(target["averageUtilization"]))
        return cls(resource["name"], value=float(parse_quantity(target["averageValue"])))


@dataclass(frozen=True, slots=True)
class Sample:
    """One pod as the calculator sees it: its usage (None: no metrics), its request of the
    resource (None: a container without one), and whether it counts."""

    usage: float | None
    request: float | None
    state: str = "ready"
    """``ready``, ``unready`` (Pending, or not Ready for cpu) or ``ignored`` (deleted, Failed)."""


@dataclass(frozen=True, slots=True)
class Recommendation:
    """What the calculator found: the replicas, and the current figure for the status."""

    replicas: int
    utilization: int | None
    """Percent of requests (Utilization targets)."""
    average: float
    """Usage per pod with metrics, in the resource's unit."""


class MetricsUnavailable(Exception):
    """No replica count can be computed from this metric (ScalingActive False)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def replicas_for(target: Target, current: int, samples: list[Sample],
                 tolerance: float = TOLERANCE) -> Recommendation:
    """Kubernetes' ``GetResourceReplicas`` (Utilization) and ``GetRawResourceReplicas``
    (AverageValue): the ratio of usage to target over the ready pods with metrics; within
    the tolerance, ``current``; else, when pods are missing metrics or unready, the ratio
    again with missing pods at the target (scaling down) or at 0 (up) and unready pods at 0
    (scaling up), kept only when it still points the same way."""
    if target.utilization is not None and any(
            s.request is None for s in samples if s.state != "ignored"):
        raise MetricsUnavailable("FailedGetResourceMetric",
                                 f"missing request for {target.resource}")
    counted = {i: s for i, s in enumerate(samples) if s.state == "ready" and s.usage is not None}
    if not counted:
        raise MetricsUnavailable("FailedGetResourceMetric", "did not receive metrics for "
                                 "targeted pods (pods might be unready)")
    ratio, utilization, average = _ratio(target, counted.values())
    unready = [i for i, s in enumerate(samples) if s.state == "unready"]
    missing = [i for i, s in enumerate(samples) if s.state == "ready" and s.usage is None]
    up_with_unready = bool(unready) and ratio > 1.0
    found = Recommendation(current, utilization, average)
    if not up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return found
        return Recommendation(math.ceil(ratio * len(counted)), utilization, average)
    guessed = dict(counted)
    for i in missing if ratio != 1.0 else []:
        guessed[i] = Sample(_fallback(target, samples[i]) if ratio < 1.0 else 0.0,
                            samples[i].request)
    for i in unready if up_with_unready else []:
        guessed[i] = Sample(0.0, samples[i].request)
    new_ratio = _ratio(target, guessed.values())[0]
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (
            new_ratio < 1.0 < ratio):
        return found
    replicas = math.ceil(new_ratio * len(guessed))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return found
    return Recommendation(replicas, utilization, average)


def _ratio(target: Target, samples: Any) -> tuple[float, int | None, float]:
    """(usage / target, the utilization percent, the average usage) of ``samples``."""
    chosen = list(samples)
    used = sum(s.usage or 0.0 for s in chosen)
    average = used / len(chosen)
    if target.utilization is None:
        assert target.value is not None
        return average / target.value, None, average
    requested = sum(s.request or 0.0 for s in chosen)
    utilization = int(used * 100 / requested) if requested else 0
    return utilization / target.utilization, utilization, average


def _fallback(target: Target, sample: Sample) -> float:
    """A missing pod's usage when scaling down: its request at max(100%, target), or the
    target value."""
    if target.utilization is None:
        assert target.value is not None
        return target.value
    return (sample.request or 0.0) * max(100, target.utilization) / 100


def sample_of(pod: Object, resource: str, usage: float | None) -> Sample:
    """A pod as the calculator sees it (``usage`` from its PodMetrics, None without)."""
    status = pod.get("status") or {}
    requests = [((c.get("resources") or {}).get("requests") or {}).get(resource)
                for c in pod["spec"]["containers"]]
    request = None if any(r is None for r in requests) else float(
        sum(parse_quantity(r) for r in requests))
    if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
        return Sample(usage, request, "ignored")
    ready = (condition(pod, "Ready") or {}).get("status") == "True"
    if status.get("phase") == "Pending" or (resource == "cpu" and not ready):
        return Sample(usage, request, "unready")
    return Sample(usage, request)


# -- behavior ---------------------------------------------------------------------------------

def stabilized(current: int, wanted: int, history: list[tuple[float, int]], now: float,
               rules: Object) -> int:
    """Kubernetes' ``stabilizeRecommendationWithBehaviors``: not above the lowest
    recommendation within the scale-up window, nor below the highest within the scale-down
    one (``history``: (time, recommendation) of the recent syncs, ``wanted`` included)."""
    up_since = now - rules["scaleUp"]["stabilizationWindowSeconds"]
    down_since = now - rules["scaleDown"]["stabilizationWindowSeconds"]
    up = min([wanted, *(r for t, r in history if t > up_since)])
    down = max([wanted, *(r for t, r in history if t > down_since)])
    return min(max(current, up), down)


def limited(current: int, wanted: int, low: int, high: int, changes: list[tuple[float, int]],
            now: float, rules: Object) -> tuple[int, str, str]:
    """Kubernetes' ``convertDesiredReplicasWithBehaviorRate``: ``wanted`` within the scaling
    policies' rate (``changes``: (time, replicas added, negative when removed) of recent
    rescales) and within [low, high]; with the ScalingLimited reason and message."""
    if wanted > current:
        limit = max(_rate(current, changes, now, rules["scaleUp"], up=True), current)
        if high > limit:
            bound, reason, message = limit, "ScaleUpLimit", \
                "the desired replica count is increasing faster than the maximum scale rate"
        else:
            bound, reason, message = high, "TooManyReplicas", \
                "the desired replica count is more than the maximum replica count"
        return (bound, reason, message) if wanted > bound else (wanted, "", "")
    if wanted < current:
        limit = min(_rate(current, changes, now, rules["scaleDown"], up=False), current)
        if low < limit:
            bound, reason, message = limit, "ScaleDownLimit", \
                "the desired replica count is decreasing faster than the maximum scale rate"
        else:
            bound, reason, message = low, "TooFewReplicas", \
                "the desired replica count is less than the minimum replica count"
        return (bound, reason, message) if wanted < bound else (wanted, "", "")
    if wanted > high:
        return high, "TooManyReplicas", \
            "the desired replica count is more than the maximum replica count"
    if wanted < low:
        return low, "TooFewReplicas", \
            "the desired replica count is less than the minimum replica count"
    return wanted, "", ""


def _rate(current: int, changes: list[tuple[float, int]], now: float, rules: Object,
          up: bool) -> int:
    """The most (``up``) or fewest replicas the policies allow now; ``selectPolicy`` Max
    takes the policy allowing the largest change, Min the smallest, Disabled none."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    proposals = []
    for policy in rules.get("policies") or []:
        since = now - policy["periodSeconds"]
        moved = sum(n for t, n in changes if t > since and (n > 0) == up)
        start = current - moved
        value = policy["value"]
        if policy["type"] == "Pods":
            proposals.append(start + value if up else start - value)
        elif up:
            proposals.append(math.ceil(start * (1 + value / 100)))
        else:
            proposals.append(int(start * (1 - value / 100)))
    if not proposals:
        return current
    largest_change = (max if up else min)(proposals)
    smallest_change = (min if up else max)(proposals)
    return largest_change if select == "Max" else smallest_change
