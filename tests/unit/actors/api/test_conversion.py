"""``actors.api.conversion``: autoscaling/v1 HorizontalPodAutoscalers to and from the stored
autoscaling/v2, as Kubernetes' ``pkg/apis/autoscaling/v1/conversion.go``."""

from __future__ import annotations

import json

import pytest

from actors.api import conversion
from actors.api.resources import lookup
from bus.errors import BadRequest

HPA = lookup("autoscaling", "horizontalpodautoscalers")
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 70}}}
MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "100Mi"}}}


def _v1(spec: dict, **extra: object) -> dict:
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"}, "spec": spec, **extra}


def _v2(spec: dict, **extra: object) -> dict:
    return {**_v1(spec, **extra), "apiVersion": "autoscaling/v2"}


def test_v1_target_cpu_is_a_v2_utilization_metric_and_back():
    written = _v1({"scaleTargetRef": REF, "minReplicas": 2, "maxReplicas": 5,
                   "targetCPUUtilizationPercentage": 70})
    stored = conversion.stored(HPA, "v1", written)
    assert stored == _v2({"scaleTargetRef": REF, "minReplicas": 2, "maxReplicas": 5,
                          "metrics": [CPU]})
    assert conversion.served_as(HPA, "v1", stored) == written


def test_v1_without_a_target_gets_cpu_at_80_percent():
    stored = conversion.stored(HPA, "v1", _v1({"scaleTargetRef": REF, "maxReplicas": 3}))
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]


def test_what_v1_cannot_say_travels_in_annotations_and_comes_back_whole():
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    condition = {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale"}
    current = [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": 42, "averageValue": "21m"}}}]
    stored = _v2({"scaleTargetRef": REF, "maxReplicas": 5, "metrics": [CPU, MEMORY],
                  "behavior": behavior},
                 status={"currentReplicas": 2, "desiredReplicas": 3, "currentMetrics": current,
                         "conditions": [condition]})
    shown = conversion.served_as(HPA, "v1", stored)
    assert shown["spec"] == {"scaleTargetRef": REF, "maxReplicas": 5,
                             "targetCPUUtilizationPercentage": 70}
    assert shown["status"] == {"currentReplicas": 2, "desiredReplicas": 3,
                               "currentCPUUtilizationPercentage": 42}
    annotations = shown["metadata"]["annotations"]
    assert json.loads(annotations[conversion.METRICS]) == [MEMORY]
    assert json.loads(annotations[conversion.CONDITIONS]) == [condition]
    assert json.loads(annotations[conversion.BEHAVIOR]) == behavior
    assert conversion.stored(HPA, "v1", shown) == stored  # read, then written back: nothing lost


def test_a_list_and_other_answers_at_v1():
    stored = _v2({"scaleTargetRef": REF, "maxReplicas": 2, "metrics": [CPU]})
    listed = conversion.served_as(HPA, "v1", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscalerList", "items": [stored]})
    assert listed["apiVersion"] == "autoscaling/v1"
    assert listed["items"][0]["spec"]["targetCPUUtilizationPercentage"] == 70
    status = {"apiVersion": "v1", "kind": "Status", "status": "Success"}
    assert conversion.served_as(HPA, "v1", status) is status
    assert conversion.served_as(HPA, None, stored) is stored
    assert conversion.served_as(HPA, "v2", stored) is stored


def test_a_body_of_another_version_or_kind_is_left_to_the_pipeline_to_refuse():
    v2 = _v2({"scaleTargetRef": REF, "maxReplicas": 2})
    assert conversion.stored(HPA, "v1", v2) is v2
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 2}}
    assert conversion.stored(HPA, "v1", scale) is scale
    assert conversion.stored(HPA, None, v2) is v2


def test_an_annotation_that_is_not_json_is_400():
    written = _v1({"scaleTargetRef": REF, "maxReplicas": 2})
    written["metadata"]["annotations"] = {conversion.METRICS: "{not json"}
    with pytest.raises(BadRequest, match="not JSON"):
        conversion.stored(HPA, "v1", written)


def test_an_object_shown_at_v1_as_stored_for_the_columns():
    stored = _v2({"scaleTargetRef": REF, "maxReplicas": 2, "metrics": [CPU]})
    assert conversion.as_stored(HPA, conversion.served_as(HPA, "v1", stored)) == stored
    assert conversion.as_stored(HPA, stored) is stored
