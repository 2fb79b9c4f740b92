"""kubectl's JSONPath subset, checked against what kubectl prints for the same templates."""

from __future__ import annotations

import pytest

from actors.api.jsonpath import JsonPathError, columns, render

POD = {
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web", "tier": "front"}},
    "spec": {"containers": [{"name": "a", "image": "busybox:1.35"},
                            {"name": "b", "image": "nginx"}]},
    "status": {"phase": "Running", "conditions": [
        {"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}]},
}
LIST = {"kind": "List", "items": [POD, {"metadata": {"name": "db"}, "status": {}}]}


@pytest.mark.parametrize(("template", "printed"), [
    ("{.metadata.name}", "web"),
    ("{.spec.containers[*].image}", "busybox:1.35 nginx"),
    ("{.spec.containers[0].name}", "a"),
    ("{.spec.containers[-1].name}", "b"),
    ("{.spec.containers[0:1].name}", "a"),
    ('{.status.conditions[?(@.type=="Ready")].status}', "False"),
    ("{.metadata.labels.app\\.kubernetes\\.io/name}", "web"),
    ("{.metadata.labels['app.kubernetes.io/name']}", "web"),
    ("{..name}", "web a b"),
    ("{.metadata.missing}", ""),
    ('name={.metadata.name}{"\\n"}', "name=web\n"),
    ("{.spec.containers[0]}", '{"name":"a","image":"busybox:1.35"}'),
    ("{.metadata.labels.tier}/{.status.phase}", "front/Running"),
])
def test_templates_print_what_kubectl_prints_for_one_object(template, printed):
    assert render(template, POD) == printed


def test_range_repeats_its_body_for_each_item():
    template = '{range .items[*]}{.metadata.name}:{.status.phase}{"\\n"}{end}'
    assert render(template, LIST) == "web:Running\ndb:\n"


def test_filters_without_a_comparison_keep_items_that_have_the_field():
    assert render("{.items[?(@.status.phase)].metadata.name}", LIST) == "web"


@pytest.mark.parametrize("template", ["{.a", "{range .items[*]}{.x}", "{end}", "{.a[x]}",
                                      "{.a[?(@.x ~ 1)]}"])
def test_malformed_templates_are_refused_with_a_reason(template):
    with pytest.raises(JsonPathError):
        render(template, POD)


def test_custom_columns_print_a_table_with_none_for_missing_values():
    assert columns("NAME:.metadata.name,PHASE:.status.phase", LIST["items"]).splitlines() == [
        "NAME   PHASE", "web    Running", "db     <none>"]
    with pytest.raises(JsonPathError):
        columns("NAME", LIST["items"])
