"""FaultPlans (actors/api/faultplans.py): what a valid one is, and the bus plan it becomes."""

from __future__ import annotations

import pytest

from actors.api import faultplans
from actors.api.validation import VALIDATORS

EXPIRES = "2026-12-07T01:00:00.000000Z"


def made(**changes: object) -> dict:
    plan = faultplans.manifest(["kubeactor.api.*.pods.*"], EXPIRES,
                               rates={"drop": 0.1, "duplicate": 0.05}, seed=3, name="p")
    plan["spec"].update(changes)
    return plan


def test_the_command_s_plan_is_valid_and_becomes_the_bus_s_plan() -> None:
    assert VALIDATORS[faultplans.RESOURCE](made()) == []
    plan = faultplans.plan(made(delaySeconds=0.25))
    assert plan.subjects == ("kubeactor.api.*.pods.*",)
    assert (plan.drop, plan.duplicate, plan.delay, plan.reorder, plan.seed) == (
        0.1, 0.05, 0.25, 0.0, 3)
    assert plan.until == 1796605200.0


@pytest.mark.parametrize(("changes", "said"), [
    ({"subjects": []}, "spec.subjects: Required value"),
    ({"subjects": ["kubeactor.>.pods"]}, "spec.subjects[0]: Invalid value"),
    ({"subjects": ["kubeactor..pods"]}, "empty token"),
    ({"subjects": ["kubeactor.api.po*"]}, "whole tokens"),
    ({"drop": 1.5}, "spec.drop: Invalid value: a fraction between 0 and 1"),
    ({"duplicate": "0.1"}, "spec.duplicate: Invalid value"),
    ({"reorder": True}, "spec.reorder: Invalid value"),
    ({"delaySeconds": 61}, "spec.delaySeconds: Invalid value"),
    ({"expires": "soon"}, "spec.expires: Invalid value: an RFC 3339 time"),
    ({"seed": 1.5}, "spec.seed: Invalid value"),
])
def test_a_malformed_plan_is_refused_with_the_field_named(changes: dict, said: str) -> None:
    assert any(said in problem for problem in faultplans.problems(made(**changes)))


def test_a_plan_without_spec_is_refused() -> None:
    assert faultplans.problems({"metadata": {"name": "p"}}) == ["spec: Required value"]
