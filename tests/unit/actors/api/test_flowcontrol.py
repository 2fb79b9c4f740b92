"""FlowSchemas and PriorityLevelConfigurations: Kubernetes' default objects, defaults, checks
and kubectl's columns."""

from __future__ import annotations

import copy

import pytest

from actors.api import columns, flowcontrol, schema
from actors.api.resources import lookup

GROUP = flowcontrol.GROUP


def test_the_default_objects_pass_their_schema_and_checks():
    objects = flowcontrol.defaults()
    names = [o["metadata"]["name"] for o in objects if o["kind"] == "FlowSchema"]
    assert {"exempt", "catch-all", "system-nodes", "global-default"} <= set(names)
    for obj in objects:
        findings = schema.check(f"{GROUP}/v1", obj["kind"], copy.deepcopy(obj))
        assert findings is not None and not findings.errors and not findings.unknown, obj
        check = flowcontrol.VALIDATORS[lookup(GROUP, obj["kind"].lower() + "s").name
                                       if obj["kind"] == "FlowSchema"
                                       else flowcontrol.PRIORITY_LEVELS]
        assert check(obj) == [], obj


def test_a_limited_level_gets_kubernetes_defaults():
    level = {"metadata": {"name": "x"}, "spec": {"type": "Limited", "limited": {
        "limitResponse": {"type": "Queue"}}}}
    flowcontrol.default_priority_level(level)
    assert level["spec"]["limited"] == {
        "nominalConcurrencyShares": 30, "lendablePercent": 0,
        "limitResponse": {"type": "Queue", "queuing": {
            "queues": 64, "handSize": 8, "queueLengthLimit": 50}}}
    schema_ = {"spec": {"priorityLevelConfiguration": {"name": "x"}}}
    flowcontrol.default_flow_schema(schema_)
    assert schema_["spec"]["matchingPrecedence"] == 1000


@pytest.mark.parametrize(("spec", "said"), [
    ({"type": "Bounded"}, 'spec.type: Unsupported value: "Bounded"'),
    ({"type": "Exempt"}, "type must be Exempt if and only if name is \"exempt\""),
    ({"type": "Limited"}, "spec.limited: Required value"),
    ({"type": "Limited", "limited": {"nominalConcurrencyShares": -1, "lendablePercent": 0,
                                     "limitResponse": {"type": "Reject"}}},
     "spec.limited.nominalConcurrencyShares: Invalid value: -1"),
    ({"type": "Limited", "limited": {"nominalConcurrencyShares": 1, "lendablePercent": 0,
                                     "limitResponse": {"type": "Queue", "queuing": {
                                         "queues": 4, "handSize": 8, "queueLengthLimit": 1}}}},
     "handSize: Invalid value: 8: should not be greater than queues (4)"),
])
def test_a_wrong_level_is_refused_in_kubernetes_words(spec, said):
    problems = flowcontrol.priority_level_problems({"metadata": {"name": "x"}, "spec": spec})
    assert any(said in problem for problem in problems), problems


@pytest.mark.parametrize(("spec", "said"), [
    ({"matchingPrecedence": 0, "priorityLevelConfiguration": {"name": "x"}},
     "spec.matchingPrecedence: Invalid value: 0"),
    ({"matchingPrecedence": 5, "priorityLevelConfiguration": {}},
     "spec.priorityLevelConfiguration.name: Required value"),
    ({"matchingPrecedence": 5, "priorityLevelConfiguration": {"name": "x"},
      "distinguisherMethod": {"type": "ByColour"}}, 'Unsupported value: "ByColour"'),
    ({"matchingPrecedence": 5, "priorityLevelConfiguration": {"name": "x"},
      "rules": [{"subjects": [{"kind": "Robot"}], "resourceRules": [
          {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "namespaces": ["*"]}]}]},
     'spec.rules[0].subjects[0].kind: Unsupported value: "Robot"'),
    ({"matchingPrecedence": 5, "priorityLevelConfiguration": {"name": "x"},
      "rules": [{"subjects": [{"kind": "User", "user": {"name": "a"}}], "resourceRules": [
          {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}]},
     "must supply at least one namespace"),
])
def test_a_wrong_flow_schema_is_refused_in_kubernetes_words(spec, said):
    problems = flowcontrol.flow_schema_problems({"metadata": {"name": "x"}, "spec": spec})
    assert any(said in problem for problem in problems), problems


def _row(resource: str, obj: dict) -> dict[str, str]:
    table = columns.BY_RESOURCE[resource]
    return {c.name.upper(): cell for c, cell in zip(table.columns, table.cells(obj),
                                                     strict=True)}


def test_kubectl_columns_of_priority_levels():
    by_name = {o["metadata"]["name"]: o for o in flowcontrol.defaults()
               if o["kind"] == "PriorityLevelConfiguration"}
    assert _row("prioritylevelconfigurations", by_name["global-default"]) == {
        "NAME": "global-default", "TYPE": "Limited", "NOMINALCONCURRENCYSHARES": "20",
        "QUEUES": "128", "HANDSIZE": "6", "QUEUELENGTHLIMIT": "50", "AGE": "<unknown>"}
    assert _row("prioritylevelconfigurations", by_name["exempt"])["NOMINALCONCURRENCYSHARES"] \
        == "<none>"
    catch_all = _row("prioritylevelconfigurations", by_name["catch-all"])
    assert (catch_all["NOMINALCONCURRENCYSHARES"], catch_all["QUEUES"]) == ("5", "<none>")


def test_kubectl_columns_of_flow_schemas():
    by_name = {o["metadata"]["name"]: o for o in flowcontrol.defaults()
               if o["kind"] == "FlowSchema"}
    assert _row("flowschemas", by_name["exempt"]) == {
        "NAME": "exempt", "PRIORITYLEVEL": "exempt", "MATCHINGPRECEDENCE": "1",
        "DISTINGUISHERMETHOD": "<none>", "AGE": "<unknown>", "MISSINGPL": "?"}
    dangling = {**by_name["global-default"], "status": {"conditions": [
        {"type": "Dangling", "status": "False"}]}}
    assert _row("flowschemas", dangling)["DISTINGUISHERMETHOD"] == "ByUser"
    assert _row("flowschemas", dangling)["MISSINGPL"] == "False"
