"""The Table form kubectl asks for: which Accept headers ask for it, and the Table of a list."""

from __future__ import annotations

import pytest

from actors.api import crds
from actors.api.resources import lookup
from actors.apiserver.http import tables
from bus.errors import BadRequest

KUBECTL = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
           "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
PODS = lookup("", "pods")
POD = {"metadata": {"name": "demo", "namespace": "default", "labels": {"run": "demo"}},
       "spec": {"containers": [{"name": "c"}], "nodeName": "node-1"},
       "status": {"phase": "Running", "podIP": "10.0.0.5",
                  "containerStatuses": [{"ready": True, "restartCount": 2}]}}


@pytest.mark.parametrize(("accept", "version"), [
    (KUBECTL, "v1"),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json", "v1beta1"),
    ("application/json", None),
    ("", None),
    ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", None),
    ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,"
     "application/json;as=Table;v=v1;g=meta.k8s.io", "v1"),
])
def test_the_accept_header_says_which_table_form_if_any(accept, version):
    assert tables.asked(accept) == version


def test_a_list_of_pods_is_a_table_of_kubectls_columns_with_their_metadata():
    listed = {"kind": "PodList", "metadata": {"resourceVersion": "42", "continue": "c"},
              "items": [POD]}
    table = tables.table(PODS, listed, "v1", "Metadata", single=False)
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert table["metadata"] == {"resourceVersion": "42", "continue": "c"}
    assert [(c["name"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
        ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    assert table["columnDefinitions"][0]["format"] == "name"
    [row] = table["rows"]
    assert row["cells"] == ["demo", "1/1", "Running", "2", "<unknown>", "10.0.0.5", "node-1",
                            "<none>", "<none>"]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": POD["metadata"]}


def test_include_object_says_what_each_row_carries():
    assert tables.table(PODS, POD, "v1beta1", "Object", single=True)["rows"][0][
        "object"] is POD
    assert "object" not in tables.table(PODS, POD, "v1", "None", single=True)["rows"][0]
    assert tables.include({}) == "Metadata"
    with pytest.raises(BadRequest, match="includeObject"):
        tables.include({"includeObject": "Everything"})


def test_a_type_without_columns_of_its_own_has_name_and_age():
    registration = {"metadata": {"name": "hook"}}
    registrations = lookup("admissionregistration.kubeactor.io", "admissionregistrations")
    table = tables.table(registrations, {"items": [registration]}, "v1", "None", single=False)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"] == [{"cells": ["hook", "<unknown>"]}]


def test_roles_are_kube_apiservers_default_table_name_and_created_at():
    role = {"metadata": {"name": "reader", "creationTimestamp": "2026-12-07T16:58:50Z"}}
    roles = lookup("rbac.authorization.k8s.io", "roles")
    table = tables.table(roles, {"items": [role]}, "v1", "None", single=False)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Created At"]
    assert table["rows"] == [{"cells": ["reader", "2026-12-07T16:58:50Z"]}]


def test_a_custom_resource_has_its_crds_printer_columns_the_wide_ones_at_priority_1():
    widgets = crds.CustomResource("widgets", "Widget", group="example.com", columns=(
        crds.Column("Ready", "integer", ".status.ready", priority=2),
        crds.Column("Size", "integer", ".spec.size")))
    widget = {"metadata": {"name": "w"}, "spec": {"size": 3}}
    table = tables.table(widgets, widget, "v1", "None", single=True)
    assert [(c["name"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", 0), ("Size", 0), ("Ready", 1)]
    assert table["rows"] == [{"cells": ["w", "3", "<none>"]}]


def test_a_pods_nominated_node_and_readiness_gates_are_its_wide_cells():
    gated = {**POD, "spec": {**POD["spec"], "readinessGates": [
        {"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]},
        "status": {**POD["status"], "nominatedNodeName": "node-2", "conditions": [
            {"type": "example.com/lb", "status": "True"},
            {"type": "example.com/dns", "status": "False"}]}}
    assert tables.table(PODS, gated, "v1", "None", single=True)["rows"][0]["cells"][-2:] == [
        "node-2", "1/2"]
