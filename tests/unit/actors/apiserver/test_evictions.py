"""The eviction subresource's decisions: the Eviction's DeleteOptions, and whether a budget
lets the pod go (one disruption spent) or refuses with kube-apiserver's 429."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.objects import Object
from actors.apiserver import evictions
from actors.apiserver.options import parse_options
from bus.errors import BadRequest, InternalError, TooManyRequests
from bus.subjects import Subjects


def eviction(name: str = "web-1", **delete_options: Any) -> Object:
    return {"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": name, "namespace": "default"},
            "deleteOptions": delete_options}


def pod(phase: str = "Running", app: str = "web", ready: bool = True) -> Object:
    return {"metadata": {"name": "web-1", "namespace": "default", "labels": {"app": app}},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def budget(name: str = "web", allowed: int = 1, observed: int = 1) -> Object:
    return {"metadata": {"name": name, "namespace": "default", "generation": 1,
                         "resourceVersion": "7"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 2},
            "status": {"observedGeneration": observed, "disruptionsAllowed": allowed,
                       "desiredHealthy": 2, "currentHealthy": 2 + allowed}}


def test_the_evictions_delete_options_become_the_deletes():
    assert evictions.delete_options(eviction(gracePeriodSeconds=0), "web-1", "default") == {
        "gracePeriodSeconds": 0}
    assert evictions.delete_options(eviction(orphanDependents=True), "web-1", "default") == {
        "propagationPolicy": "Orphan"}
    assert evictions.delete_options({"metadata": {"name": "web-1"}}, "web-1", "default") == {}


@pytest.mark.parametrize(("body", "message"), [
    (eviction("other"), "name in URL does not match"),
    ({"metadata": {"name": "web-1", "namespace": "prod"}}, "namespace of the provided"),
    (eviction(dryRun=["All"]), "dryRun"), (eviction(preconditions={"uid": "x"}), "precond"),
    ([], "policy/v1 Eviction")])
def test_an_eviction_of_another_pod_or_with_options_not_served_is_a_bad_request(body, message):
    with pytest.raises(BadRequest, match=message):
        evictions.delete_options(body, "web-1", "default")


def test_a_pod_no_budget_selects_or_that_finished_goes_without_spending():
    assert evictions.spend(pod(app="other"), [budget(allowed=0)]) is None
    assert evictions.spend(pod(phase="Succeeded"), [budget(allowed=0)]) is None
    assert evictions.spend(pod(phase="Pending"), [budget(allowed=0)]) is None
    deleting = pod()
    deleting["metadata"]["deletionTimestamp"] = "2026-12-06T12:00:00Z"
    assert evictions.spend(deleting, [budget(allowed=0)]) is None
    nobody = dict(budget(allowed=0), spec={"selector": None, "minAvailable": 2})
    assert evictions.spend(pod(), [nobody]) is None  # policy/v1: a null selector, no pod


def test_a_budget_with_an_empty_selector_protects_every_pod_of_its_namespace():
    everyone = dict(budget(allowed=0), spec={"selector": {}, "minAvailable": 2})
    with pytest.raises(TooManyRequests):  # policy/v1: {} selects all, as its controller counts
        evictions.spend(pod(app="other"), [everyone])


def test_an_eviction_spends_one_disruption_and_names_the_pod_disrupted():
    spent = evictions.spend(pod(), [budget(allowed=2)])
    assert spent is not None
    assert spent["status"]["disruptionsAllowed"] == 1
    assert list(spent["status"]["disruptedPods"]) == ["web-1"]
    assert spent["metadata"]["resourceVersion"] == "7"  # written only if still that one


def test_no_disruption_left_is_429_with_the_budget_as_its_cause():
    with pytest.raises(TooManyRequests) as refused:
        evictions.spend(pod(), [budget(allowed=0)])
    assert refused.value.message == ("Cannot evict pod as it would violate the pod's "
                                     "disruption budget.")
    assert refused.value.details["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]
    with pytest.raises(TooManyRequests, match="disruption budget"):
        evictions.spend(pod(), [budget(observed=0)])  # not counted yet since it changed
    with pytest.raises(InternalError, match="more than one PodDisruptionBudget"):
        evictions.spend(pod(), [budget(), budget("other")])


def test_an_unready_pod_goes_free_while_its_budget_is_healthy_or_always_with_always_allow():
    short = dict(budget(allowed=0), status={"observedGeneration": 1, "disruptionsAllowed": 0,
                                            "desiredHealthy": 2, "currentHealthy": 1})
    assert evictions.spend(pod(ready=False), [budget(allowed=0)]) is None  # 2 of 2 healthy
    with pytest.raises(TooManyRequests):  # IfHealthyBudget: the budget is short of healthy
        evictions.spend(pod(ready=False), [short])
    always = dict(short, spec={**short["spec"], "unhealthyPodEvictionPolicy": "AlwaysAllow"})
    assert evictions.spend(pod(ready=False), [always]) is None
    with pytest.raises(TooManyRequests):  # a Ready pod still needs a disruption
        evictions.spend(pod(), [always])


@pytest.mark.parametrize("seconds", [10 ** 12, 2 ** 62])
def test_a_grace_period_past_any_date_is_a_bad_request(seconds: int):
    """A delete's (or an Eviction's) grace period becomes a deletionTimestamp: one past what a
    date holds was a 500 (OverflowError); kube-apiserver's is an int64 of nanoseconds."""
    options = evictions.delete_options(eviction(gracePeriodSeconds=seconds), "web-1", "default")
    with pytest.raises(BadRequest, match="gracePeriodSeconds"):
        parse_options(options, Subjects("kubeactor"))
