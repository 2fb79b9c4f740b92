"""Kubernetes' replica calculator (cases of replica_calculator_test.go) and the HPA's behavior:
stabilization windows, Pods and Percent policies, selectPolicy, min and max replicas."""

from __future__ import annotations

import pytest

from actors.api.autoscaling import (
    MetricsUnavailable,
    Sample,
    Target,
    behavior,
    limited,
    problems,
    replicas_for,
    sample_of,
    stabilized,
)

CPU_30, CPU_50, CPU_100 = (Target("cpu", utilization=u) for u in (30, 50, 100))


def ready(*millis: int | None, request: float = 1.0) -> list[Sample]:
    return [Sample(None if m is None else m / 1000, request) for m in millis]


def test_scale_up_to_the_ratio_of_usage_to_target():
    found = replicas_for(CPU_30, 3, ready(300, 500, 700))
    assert (found.replicas, found.utilization) == (5, 50)


def test_scale_down_rounds_up():
    assert replicas_for(CPU_50, 5, ready(100, 300, 500, 250, 250)).replicas == 3


def test_within_the_tolerance_nothing_changes():
    samples = [Sample(1.010, 0.9), Sample(1.030, 1.0), Sample(1.020, 1.1)]
    assert replicas_for(CPU_100, 3, samples).replicas == 3


def test_unready_pods_count_as_idle_when_scaling_up():
    samples = [Sample(0.3, 1.0, "unready"), *ready(500, 700)]
    assert replicas_for(CPU_30, 3, samples).replicas == 4


def test_unready_pods_are_left_out_when_scaling_down():
    samples = [Sample(0.1, 1.0, "unready"), Sample(0.3, 1.0, "unready"), *ready(500, 250, 250)]
    assert replicas_for(CPU_50, 5, samples).replicas == 2


def test_missing_metrics_count_as_idle_when_scaling_up():
    assert replicas_for(CPU_50, 2, ready(2000, None)).replicas == 4


def test_missing_metrics_at_the_target_keep_the_count():
    assert replicas_for(CPU_100, 2, ready(1000, None)).replicas == 2


def test_missing_metrics_that_would_turn_a_scale_down_into_an_up_keep_the_count():
    assert replicas_for(CPU_50, 4, ready(400, 95, None, None)).replicas == 4


def test_ignored_pods_do_not_count():
    samples = [*ready(300, 500, 700), Sample(5.0, 1.0, "ignored")]
    assert replicas_for(CPU_30, 3, samples).replicas == 5


def test_an_average_value_target_scales_on_usage_per_pod():
    found = replicas_for(Target("cpu", value=0.2), 3, ready(300, 500, 700, request=None))
    assert (found.replicas, found.average) == (8, 0.5)


def test_a_pod_without_a_request_or_no_metrics_at_all_cannot_be_scaled_on():
    with pytest.raises(MetricsUnavailable, match="missing request for cpu"):
        replicas_for(CPU_50, 2, [Sample(0.5, None)])
    with pytest.raises(MetricsUnavailable, match="did not receive metrics"):
        replicas_for(CPU_50, 2, ready(None, None))


def pod(phase: str = "Running", ready_: str = "True", deleting: bool = False) -> dict:
    meta = {"name": "p", **({"deletionTimestamp": "2026-12-06T00:00:00Z"} if deleting else {})}
    return {"metadata": meta, "spec": {"containers": [
        {"resources": {"requests": {"cpu": "250m"}}}, {"resources": {"requests": {"cpu": "1"}}}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready_}]}}


def test_a_pod_sample_sums_its_containers_requests_and_says_how_it_counts():
    assert sample_of(pod(), "cpu", 0.5) == Sample(0.5, 1.25)
    assert sample_of(pod(), "memory", 0.5).request is None
    assert sample_of(pod(ready_="False"), "cpu", 0.5).state == "unready"
    assert sample_of(pod(ready_="False"), "memory", 0.5).state == "ready"
    assert sample_of(pod("Pending"), "memory", None).state == "unready"
    assert sample_of(pod(deleting=True), "cpu", 0.5).state == "ignored"


RULES = behavior({"spec": {}}, 300)


def test_scale_down_waits_for_the_highest_recommendation_of_its_window():
    history = [(700.0, 6), (900.0, 5)]
    assert stabilized(6, 2, history, 1000.0, RULES) == 5
    assert stabilized(6, 2, history, 1300.0, RULES) == 2
    assert stabilized(2, 6, history, 1000.0, RULES) == 6  # no window up by default


def test_default_policies_allow_the_larger_of_double_or_four_more():
    assert limited(1, 10, 1, 20, [], 0.0, RULES) == (
        5, "ScaleUpLimit",
        "the desired replica count is increasing faster than the maximum scale rate")
    assert limited(10, 30, 1, 40, [], 0.0, RULES)[0] == 20
    assert limited(10, 30, 1, 15, [], 0.0, RULES)[:2] == (15, "TooManyReplicas")
    assert limited(10, 1, 3, 15, [], 0.0, RULES)[:2] == (3, "TooFewReplicas")
    assert limited(10, 12, 1, 15, [], 0.0, RULES) == (12, "", "")


def test_policies_count_the_changes_of_their_period_and_select_min_or_disabled():
    rules = behavior({"spec": {"behavior": {"scaleDown": {"selectPolicy": "Min", "policies": [
        {"type": "Pods", "value": 2, "periodSeconds": 60},
        {"type": "Percent", "value": 50, "periodSeconds": 60}]}}}}, 0)
    assert limited(10, 1, 1, 20, [], 100.0, rules)[:2] == (8, "ScaleDownLimit")
    assert limited(8, 1, 1, 20, [(90.0, -2)], 100.0, rules)[0] == 8  # 2 already removed
    assert limited(8, 1, 1, 20, [(30.0, -2)], 100.0, rules)[0] == 6  # outside the period
    off = behavior({"spec": {"behavior": {"scaleUp": {"selectPolicy": "Disabled"}}}}, 0)
    assert limited(3, 9, 1, 20, [], 0.0, off)[0] == 3


def test_bad_specs_are_refused_in_kube_apiservers_words():
    spec = {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 3,
            "maxReplicas": 2, "metrics": [{"type": "Pods"}]}
    assert problems({"spec": spec}) == [
        "spec.minReplicas: Invalid value: 3: must be at least 1 and not more than maxReplicas",
        'spec.metrics[0].type: Unsupported value: only "Resource" metrics are served']
    assert problems({"spec": {**spec, "minReplicas": 1, "metrics": []}}) == []
