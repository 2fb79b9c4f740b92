"""A PodDisruptionBudget's status counted from its pods, and the checks of its spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.api import disruptionbudgets
from actors.api.objects import Object

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def budget(**spec: Any) -> Object:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default", "generation": 2},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


def pod(name: str, ready: bool = True, *, deleting: bool = False, phase: str = "Running",
        app: str = "web") -> Object:
    metadata: Object = {"name": name, "namespace": "default", "labels": {"app": app}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-06T12:00:30Z"
    return {"metadata": metadata, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize(("spec", "desired", "allowed"), [
    ({"minAvailable": 2}, 2, 1), ({"minAvailable": "50%"}, 2, 1),
    ({"maxUnavailable": 1}, 3, 0), ({"maxUnavailable": "50%"}, 2, 1), ({}, 0, 3)])
def test_a_budget_allows_the_healthy_pods_beyond_those_it_must_keep(spec, desired, allowed):
    pods = [pod("a"), pod("b"), pod("c"), pod("d", ready=False)]
    status = disruptionbudgets.budget_status(budget(**spec), pods, NOW)
    assert (status["expectedPods"], status["currentHealthy"]) == (4, 3)
    assert (status["desiredHealthy"], status["disruptionsAllowed"]) == (desired, allowed)
    assert status["observedGeneration"] == 2
    assert status["conditions"][0]["reason"] == (
        "SufficientPods" if allowed else "InsufficientPods")


def test_pods_being_deleted_finished_or_just_evicted_are_not_healthy():
    evicted = budget(minAvailable=1)
    evicted["status"] = {"disruptedPods": {"b": "2026-12-06T11:59:30Z",
                                           "gone": "2026-12-06T11:59:30Z",
                                           "c": "2026-12-06T11:50:00Z"}}
    pods = [pod("a"), pod("b"), pod("c"), pod("d", deleting=True),
            pod("e", phase="Succeeded")]
    status = disruptionbudgets.budget_status(evicted, pods, NOW)
    assert status["disruptedPods"] == {"b": "2026-12-06T11:59:30Z"}  # c's timed out
    assert (status["expectedPods"], status["currentHealthy"]) == (4, 2)
    assert disruptionbudgets.expiry(status, NOW) == 90.0
    assert disruptionbudgets.expiry({}, NOW) is None


def test_an_unchanged_count_keeps_its_condition_time_so_nothing_is_written_again():
    first = disruptionbudgets.budget_status(budget(minAvailable=1), [pod("a"), pod("b")], NOW)
    counted = dict(budget(minAvailable=1), status=first)
    later = NOW + timedelta(minutes=5)
    assert disruptionbudgets.budget_status(counted, [pod("a"), pod("b")], later) == first


def test_a_budget_selects_pods_of_its_namespace_an_empty_selector_all_a_null_one_none():
    everyone = dict(budget(), spec={"selector": {}})
    assert disruptionbudgets.selects(everyone, pod("x", app="other"))
    assert not disruptionbudgets.selects(budget(), pod("x", app="other"))
    assert not disruptionbudgets.selects(dict(budget(), spec={}), pod("x"))  # null: none
    elsewhere = pod("x")
    elsewhere["metadata"]["namespace"] = "prod"
    assert not disruptionbudgets.selects(budget(), elsewhere)


@pytest.mark.parametrize(("spec", "problem"), [
    ({"minAvailable": 1, "maxUnavailable": 1}, "cannot be both set"),
    ({"minAvailable": "150%"}, "spec.minAvailable: Invalid value"),
    ({"maxUnavailable": -1}, "spec.maxUnavailable: Invalid value"),
    ({"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
     "spec.selector: Invalid value"),
    ({"unhealthyPodEvictionPolicy": "Never"}, "spec.unhealthyPodEvictionPolicy: Unsupported")])
def test_a_malformed_budget_is_refused_in_kubernetes_words(spec, problem):
    found = disruptionbudgets.problems(budget(**spec))
    assert any(problem in text for text in found), found
    assert disruptionbudgets.problems(budget(minAvailable="50%")) == []


def owned(obj: Object, kind: str, uid: str) -> Object:
    obj["metadata"]["ownerReferences"] = [{"kind": kind, "name": uid, "uid": uid,
                                           "controller": True}]
    return obj


def scaled(kind: str, uid: str, replicas: int, owner: str = "") -> Object:
    obj: Object = {"kind": kind, "metadata": {"name": uid, "uid": uid},
                   "spec": {"replicas": replicas}}
    return owned(obj, "Deployment", owner) if owner else obj


@pytest.mark.parametrize(("spec", "expected", "allowed"), [
    ({"minAvailable": 2}, 3, 1), ({"minAvailable": "50%"}, 5, 0),
    ({"maxUnavailable": 1}, 5, 0), ({"maxUnavailable": "40%"}, 5, 0),
    ({"maxUnavailable": 3}, 5, 1)])
def test_percentages_and_max_unavailable_count_the_controllers_scale_not_the_pods(
        spec, expected, allowed):
    # a Deployment of 5 whose two ReplicaSets (a rollout) run 3 Ready pods: counted once, as 5
    scales = disruptionbudgets.controller_scales([
        scaled("Deployment", "d", 5), scaled("ReplicaSet", "old", 1, owner="d"),
        scaled("ReplicaSet", "new", 4, owner="d")])
    pods = [owned(pod("a"), "ReplicaSet", "old"), owned(pod("b"), "ReplicaSet", "new"),
            owned(pod("c"), "ReplicaSet", "new")]
    status = disruptionbudgets.budget_status(budget(**spec), pods, NOW, scales)
    assert (status["expectedPods"], status["disruptionsAllowed"]) == (expected, allowed)


def test_a_pod_no_known_controller_owns_makes_a_percentage_budget_allow_nothing():
    scales = disruptionbudgets.controller_scales([scaled("StatefulSet", "s", 3)])
    pods = [owned(pod("a"), "StatefulSet", "s"), pod("b")]
    status = disruptionbudgets.budget_status(budget(maxUnavailable="50%"), pods, NOW, scales)
    assert status["disruptionsAllowed"] == 0
    assert status["conditions"][0]["reason"] == "SyncFailed"
    assert status["conditions"][0]["message"] == "found no controllers for pod 'b'"
    fixed = disruptionbudgets.budget_status(budget(minAvailable=1), pods, NOW, scales)
    assert fixed["disruptionsAllowed"] == 1  # an integer minAvailable counts the pods
