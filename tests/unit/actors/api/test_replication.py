"""ReplicationControllers read through the ReplicaSet machinery: their defaults, the view with
a LabelSelector, validation, the columns and the Scale, as Kubernetes serves them."""

from __future__ import annotations

import copy

import pytest

from actors.api import columns, replication
from actors.api.defaulting import DEFAULTERS
from actors.api.objects import Object
from actors.api.resources import RESOURCES
from actors.api.validation import validate
from actors.apiserver.registry import to_scale
from actors.controllers.controller import claim
from bus.errors import Invalid

INFO = next(info for info in RESOURCES if info.name == replication.RESOURCE)


def rc(**spec: object) -> Object:
    return {"apiVersion": "v1", "kind": "ReplicationController",
            "metadata": {"name": "nginx", "namespace": "default", "uid": "rc-uid"},
            "spec": {"replicas": 3, "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}, **spec}}


def test_a_missing_selector_and_labels_default_to_the_templates_labels():
    defaulted = rc()
    DEFAULTERS[replication.RESOURCE](defaulted)
    assert defaulted["spec"]["selector"] == {"app": "nginx"}
    assert defaulted["metadata"]["labels"] == {"app": "nginx"}
    assert defaulted["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    kept = rc(selector={"app": "nginx"}, replicas=0)
    kept["metadata"]["labels"] = {"tier": "web"}
    DEFAULTERS[replication.RESOURCE](kept)
    assert (kept["metadata"]["labels"], kept["spec"]["replicas"]) == ({"tier": "web"}, 0)


def test_the_replicaset_view_turns_the_plain_map_into_match_labels_and_keeps_the_kind():
    original = rc(selector={"app": "nginx"})
    before = copy.deepcopy(original)
    view = replication.as_replicaset(original)
    assert view["spec"]["selector"] == {"matchLabels": {"app": "nginx"}}
    assert (view["kind"], view["apiVersion"]) == ("ReplicationController", "v1")
    assert original == before  # a copy
    pod = {"metadata": {"name": "p", "namespace": "default", "labels": {"app": "nginx"}}}
    assert claim(view, [pod]).adopt == [pod]  # its pods are claimed as a ReplicaSet's
    replicaset = {"kind": "ReplicaSet", "spec": {"selector": {"matchLabels": {"a": "b"}}}}
    assert replication.as_replicaset(replicaset) is replicaset


@pytest.mark.parametrize(("spec", "problem"), [
    ({"selector": {"app": "other"}}, "`selector` does not match template `labels`"),
    ({"selector": {"app": "nginx"}, "replicas": -1}, "spec.replicas: Invalid value: -1"),
    ({"selector": {"app": "nginx"}, "template": None}, "spec.template: Required value")])
def test_a_malformed_replication_controller_is_refused_in_kubernetes_words(spec, problem):

    with pytest.raises(Invalid) as refused:
        validate(INFO, rc(**spec))
    assert any(problem in cause for cause in refused.value.details["causes"]), refused.value
    validate(INFO, rc(selector={"app": "nginx"}))


def test_its_columns_and_scale_are_a_replicasets_with_its_selector():
    shown = rc(selector={"app": "nginx"})
    shown["metadata"]["creationTimestamp"] = "2026-12-06T12:00:00Z"
    shown["status"] = {"replicas": 3, "readyReplicas": 2}
    table = columns.BY_RESOURCE[replication.RESOURCE]
    assert [column.name for column in table.columns][:5] == [
        "Name", "Desired", "Current", "Ready", "Age"]
    cells = table.cells(shown)
    assert cells[:4] == ["nginx", "3", "3", "2"]
    assert cells[5:] == ["nginx", "nginx", "app=nginx"]
    scale = to_scale(INFO, shown)
    assert (scale["spec"], scale["status"]) == (
        {"replicas": 3}, {"replicas": 3, "selector": "app=nginx"})
