"""Objects at the versions they are served at: a built-in resource served at more than one
version (``ResourceInfo.also``) is stored at one (its ``version``) and converted, both ways, at
the others, as kube-apiserver converts through its internal version; a custom resource only
changes its ``apiVersion`` (conversion ``None``: ``actors.api.crds``).

The one such resource now: ``autoscaling/v1`` HorizontalPodAutoscalers, stored as
``autoscaling/v2`` (``kubectl autoscale`` creates v1 ones), converted as Kubernetes'
``pkg/apis/autoscaling/v1/conversion.go``: v1's ``targetCPUUtilizationPercentage`` is v2's
cpu ``Utilization`` metric (none in v1 and no other metric: the default, cpu at 80%), and
``currentCPUUtilizationPercentage`` its current figure; what v1 cannot say (the other
metrics, their current figures, the conditions, the behavior) travels in the
``autoscaling.alpha.kubernetes.io/*`` annotations, so that a v1 client's read, change and
write keeps it. Kubernetes writes the metrics there in v1's (v2beta1's) shape; kubeactor in
v2's, which it alone reads back.

Pure: unit-tested in tests/unit/actors/api/test_conversion.py.

Neighbours: ``actors.api.resources`` (which versions each resource is served at),
``actors.api.crds`` (custom resources' versions), ``actors.apiserver`` (converts each answer,
watch event and written body).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from actors.api import autoscaling, crds
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from bus.errors import BadRequest

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
_ROUND_TRIP = {METRICS: ("spec", "metrics"), CURRENT_METRICS: ("status", "currentMetrics"),
               CONDITIONS: ("status", "conditions"), BEHAVIOR: ("spec", "behavior")}
"""Each annotation that carries what v1 cannot say, and where v2 says it."""

Convert = Callable[[Object], Object]


def served_as(info: ResourceInfo, version: str | None, answer: Any) -> Any:
    """``answer`` (an object of ``info``, or a list of them) as ``version`` shows it; anything
    else (a Scale, a Status), and an answer at the stored version, as it is. The stored
    object is never changed."""
    shown = _CONVERSIONS.get((info.group, info.name, version or ""))
    if shown is None:
        return crds.served_as(info, version, answer)
    if not isinstance(answer, dict):
        return answer
    if answer.get("kind") == f"{info.kind}List" and isinstance(answer.get("items"), list):
        return {**answer, "apiVersion": f"{info.group}/{version}",
                "items": [served_as(info, version, item) for item in answer["items"]]}
    return shown[0](answer) if answer.get("apiVersion") == info.api_version else answer


def stored(info: ResourceInfo, version: str | None, body: Any) -> Any:
    """``body``, an object written at ``version``, as the stored version holds it (a new
    object); a body of another version or shape as it is (the pipeline refuses it)."""
    conversion = _CONVERSIONS.get((info.group, info.name, version or ""))
    if conversion is None or not isinstance(body, dict) or body.get("apiVersion") not in (
            None, f"{info.group}/{version}") or body.get("kind") not in (None, info.kind):
        return body
    return conversion[1](body)


def as_stored(info: ResourceInfo, obj: Object) -> Object:
    """``obj``, shown at whichever version its ``apiVersion`` names, as it is stored."""
    version = str(obj.get("apiVersion") or "").rpartition("/")[2]
    return stored(info, version, obj) if version != info.version else obj


def converted(info: ResourceInfo, version: str | None) -> bool:
    """Whether objects of ``info`` at ``version`` are converted (not only relabelled)."""
    return (info.group, info.name, version or "") in _CONVERSIONS


# -- autoscaling/v1 HorizontalPodAutoscalers ---------------------------------------------------

def hpa_to_v1(hpa: Object) -> Object:
    """A stored (v2) HorizontalPodAutoscaler as autoscaling/v1 shows it."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    metrics = spec.get("metrics") or []
    annotations = {key: value for key, value in _annotations(hpa).items()
                   if key not in _ROUND_TRIP}
    kept = {METRICS: [m for m in metrics if _cpu_utilization(m, "target") is None],
            CURRENT_METRICS: status.get("currentMetrics"), CONDITIONS: status.get("conditions"),
            BEHAVIOR: spec.get("behavior")}
    annotations.update({key: json.dumps(value, separators=(",", ":"))
                        for key, value in kept.items() if value})
    cpu = next((found for m in metrics if (found := _cpu_utilization(m, "target")) is not None),
               None)
    current = next((found for m in status.get("currentMetrics") or []
                    if (found := _cpu_utilization(m, "current")) is not None), None)
    return {**hpa, "apiVersion": f"{autoscaling.GROUP}/v1",
            "metadata": _with_annotations(hpa, annotations),
            "spec": _present({**_taken(spec, "scaleTargetRef", "minReplicas", "maxReplicas"),
                              "targetCPUUtilizationPercentage": cpu}),
            **({"status": _present({"currentReplicas": 0, "desiredReplicas": 0,  # no omitempty
                                    **_taken(status, "observedGeneration", "lastScaleTime",
                                             "currentReplicas", "desiredReplicas"),
                                    "currentCPUUtilizationPercentage": current})}
               if "status" in hpa else {})}


def hpa_to_v2(hpa: Object) -> Object:
    """An autoscaling/v1 HorizontalPodAutoscaler as it is stored (v2)."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    annotations = _annotations(hpa)
    carried = {key: _decoded(key, annotations[key]) for key in _ROUND_TRIP if key in annotations}
    cpu = spec.get("targetCPUUtilizationPercentage")
    metrics = [_cpu_metric("target", {"type": "Utilization", "averageUtilization": cpu})] \
        if cpu is not None else []
    metrics += carried.get(METRICS) or []
    current = status.get("currentCPUUtilizationPercentage")
    currents = carried.get(CURRENT_METRICS) or (
        [_cpu_metric("current", {"averageUtilization": current})] if current is not None else [])
    converted_spec = {**_taken(spec, "scaleTargetRef", "minReplicas", "maxReplicas"),
                      "metrics": metrics or [dict(m) for m in autoscaling.DEFAULT_METRICS],
                      "behavior": carried.get(BEHAVIOR)}
    converted_status = {**_taken(status, "observedGeneration", "lastScaleTime",
                                 "currentReplicas", "desiredReplicas"),
                        "currentMetrics": currents, "conditions": carried.get(CONDITIONS)}
    return {**hpa, "apiVersion": f"{autoscaling.GROUP}/v2",
            "metadata": _with_annotations(hpa, {key: value for key, value in annotations.items()
                                                if key not in _ROUND_TRIP}),
            "spec": _present(converted_spec),
            **({"status": _present(converted_status)} if "status" in hpa else {})}


def _cpu_utilization(metric: Any, field: str) -> int | None:
    """The average utilization of a cpu Resource metric's ``target`` (a spec's) or
    ``current`` (a status'), None for any other metric or figure."""
    if not isinstance(metric, dict) or metric.get("type") != "Resource":
        return None
    resource = metric.get("resource")
    if not isinstance(resource, dict) or resource.get("name") != "cpu":
        return None
    figure = resource.get(field)
    return figure.get("averageUtilization") if isinstance(figure, dict) else None


def _cpu_metric(field: str, figure: Object) -> Object:
    return {"type": "Resource", "resource": {"name": "cpu", field: figure}}


def _annotations(obj: Object) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _with_annotations(obj: Object, annotations: dict[str, str]) -> Object:
    metadata = {key: value for key, value in (obj.get("metadata") or {}).items()
                if key != "annotations"}
    return {**metadata, "annotations": annotations} if annotations else metadata


def _decoded(key: str, text: Any) -> Any:
    """An annotation's JSON; BadRequest when it is not (kube-apiserver fails the conversion)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise BadRequest(f"annotation {key}: not JSON") from None


def _taken(source: Object, *keys: str) -> Object:
    return {key: source[key] for key in keys if key in source}


def _present(fields: Object) -> Object:
    """``fields`` without those left unset (Go's ``omitempty``)."""
    return {key: value for key, value in fields.items() if value is not None}


_CONVERSIONS: dict[tuple[str, str, str], tuple[Convert, Convert]] = {
    (autoscaling.GROUP, autoscaling.RESOURCE, "v1"): (hpa_to_v1, hpa_to_v2)}
"""(to the version, to the stored one), by group, resource and version."""
