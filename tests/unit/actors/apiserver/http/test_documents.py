"""Discovery, OpenAPI v3 and the answers' shapes, as kubectl reads them."""

from __future__ import annotations

import json

from actors.api import crds
from actors.api.discovery import Served
from actors.api.resources import RESOURCES
from actors.apiserver.http import answers, discovery, openapi
from bus.errors import Gone, Invalid, NotFound

SERVED = Served()
WIDGETS = crds.CustomResource(
    "widgets", "Widget", group="example.com", version="v1", short_names=("wd",),
    categories=("all",), subresources=("status",), definition="widgets.example.com",
    versions=("v1", "v1beta1"))


def test_the_core_group_lists_its_resources_with_kubectls_fields():
    core = discovery.document("/api/v1", "127.0.0.1:6443", SERVED)
    assert core is not None and core["groupVersion"] == "v1"
    pods = next(entry for entry in core["resources"] if entry["name"] == "pods")
    assert pods == {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
                    "verbs": ["create", "delete", "deletecollection", "get", "list", "patch",
                              "update", "watch"], "shortNames": ["po"], "categories": ["all"]}
    status = next(entry for entry in core["resources"] if entry["name"] == "pods/status")
    assert status["verbs"] == ["get", "patch", "update"]
    nodes = next(entry for entry in core["resources"] if entry["name"] == "nodes")
    assert nodes["namespaced"] is False


def test_every_named_group_is_listed_and_served():
    groups = discovery.document("/apis", "", SERVED)
    assert groups is not None
    names = [group["name"] for group in groups["groups"]]
    assert names == list(dict.fromkeys(info.group for info in RESOURCES if info.group))
    for group in groups["groups"]:
        preferred = group["preferredVersion"]["groupVersion"]
        listed = discovery.document(f"/apis/{preferred}", "", SERVED)
        assert listed is not None and listed["resources"]


def test_reviews_only_create_and_unknown_group_versions_are_no_document():
    authz = discovery.document("/apis/authorization.k8s.io/v1", "", SERVED)
    assert authz is not None
    assert {e["name"]: e["verbs"] for e in authz["resources"]}["selfsubjectaccessreviews"] == [
        "create"]
    assert discovery.document("/apis/apps/v2", "", SERVED) is None
    assert discovery.document("/api/v1/pods", "", SERVED) is None


def test_api_names_the_servers_address():
    api = discovery.document("/api", "10.0.0.1:6443", SERVED)
    assert api is not None and api["versions"] == ["v1"]
    assert api["serverAddressByClientCIDRs"][0]["serverAddress"] == "10.0.0.1:6443"


def test_openapi_v3_tells_kubectl_the_server_validates_fields():
    index = openapi.document("/openapi/v3", SERVED)
    assert index is not None
    assert index["paths"]["apis/apps/v1"]["serverRelativeURL"] == "/openapi/v3/apis/apps/v1"
    apps = openapi.document("/openapi/v3/apis/apps/v1", SERVED)
    assert apps is not None
    patch = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1",
                                                         "kind": "Deployment"}
    assert "fieldValidation" in [parameter["name"] for parameter in patch["parameters"]]
    assert openapi.document("/openapi/v3/apis/nothing/v1", SERVED) is None


def test_errors_are_status_objects_with_their_http_code():
    code, body = answers.failure(NotFound('pods "x" not found',
                                          details={"name": "x", "kind": "pods"}))
    assert code == 404
    assert json.loads(body) == {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                "code": 404, "reason": "NotFound",
                                "message": 'pods "x" not found',
                                "details": {"name": "x", "kind": "pods"}}


def test_a_watch_error_is_a_line_of_the_stream_and_bytes_become_base64():
    line = answers.error_event(Gone("too old resource version: 1 (9)"))
    assert line.endswith(b"\n")
    event = json.loads(line)
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert json.loads(answers.encode({"data": b"\x00\x01"})) == {"data": "AAE="}
    assert answers.success_code("create") == 201 and answers.success_code("get") == 200


def test_a_422_carries_kubernetes_causes_so_kubectl_writes_its_own_sentence():
    problem = ('spec.replicas: Invalid value: "string": spec.replicas in body must be of '
               'type integer: "string"')
    code, body = answers.failure(Invalid(f'Deployment "web" is invalid: {problem}', details={
        "name": "web", "kind": "deployment", "causes": [problem, "no field here"]}))
    details = json.loads(body)["details"]
    assert (code, details["kind"], details["group"], details["name"]) == (
        422, "Deployment", "apps", "web")
    assert details["causes"] == [
        {"reason": "FieldValueInvalid", "field": "spec.replicas", "message":
         'Invalid value: "string": spec.replicas in body must be of type integer: "string"'},
        {"reason": "FieldValueInvalid", "field": "", "message": "no field here"}]


def test_a_warning_header_is_kube_apiservers_and_carries_only_what_a_header_can():
    assert answers.warning('unknown field "spec.x"') == '299 - "unknown field \\"spec.x\\""'
    assert answers.warning("a\nb\u00e9") == '299 - "a?b?"'


def test_an_established_crd_is_discovered_at_each_version_it_serves():
    served = Served([WIDGETS])
    groups = discovery.document("/apis", "", served)
    assert groups is not None
    [group] = [g for g in groups["groups"] if g["name"] == "example.com"]
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    assert group["preferredVersion"]["version"] == "v1"
    for version in ("v1", "v1beta1"):
        listed = discovery.document(f"/apis/example.com/{version}", "", served)
        assert listed is not None
        widgets, status = listed["resources"]
        assert (widgets["name"], widgets["kind"], widgets["namespaced"]) == (
            "widgets", "Widget", True)
        assert (widgets["shortNames"], widgets["categories"]) == (["wd"], ["all"])
        assert "delete" in widgets["verbs"] and status["name"] == "widgets/status"
    assert discovery.document("/apis/example.com/v1", "", SERVED) is None


def test_an_established_crd_has_openapi_documents_at_each_version_it_serves():
    served = Served([WIDGETS])
    index = openapi.document("/openapi/v3", served)
    assert index is not None and "apis/example.com/v1beta1" in index["paths"]
    beta = openapi.document("/openapi/v3/apis/example.com/v1beta1", served)
    assert beta is not None
    operations = beta["paths"]["/apis/example.com/v1beta1/namespaces/{namespace}/widgets/{name}"]
    assert operations["patch"]["x-kubernetes-group-version-kind"]["version"] == "v1beta1"
    assert openapi.document("/apis/example.com/v1", served) is None
