"""Discovery, OpenAPI v3 and the answers' shapes, as kubectl reads them."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from actors.api import crds
from actors.api.discovery import Served
from actors.api.resources import RESOURCES
from actors.apiserver.http import answers, discovery, openapi, swaggerproto
from bus.errors import Gone, Invalid, NotAcceptable, NotFound

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


def opened(path: str, served: Served = SERVED) -> Any:
    """The OpenAPI document at ``path``, decoded (None: there is none)."""
    found = openapi.document(path, served)
    return None if found is None else json.loads(found.body)


def test_openapi_v3_tells_kubectl_the_server_validates_fields():
    index = opened("/openapi/v3")
    assert index["paths"]["apis/apps/v1"]["serverRelativeURL"].startswith(
        "/openapi/v3/apis/apps/v1?hash=")
    apps = opened("/openapi/v3/apis/apps/v1")
    patch = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1",
                                                         "kind": "Deployment"}
    assert "fieldValidation" in [parameter["name"] for parameter in patch["parameters"]]
    assert openapi.document("/openapi/v3/apis/nothing/v1", SERVED) is None


def test_a_group_versions_schemas_are_its_kinds_and_what_they_refer_to_as_kube_publishes():
    schemas = opened("/openapi/v3/apis/apps/v1")["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["properties"]["spec"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}],
        "description": "Specification of the desired behavior of the Deployment."}
    assert "enum" not in deployment["properties"]["apiVersion"]
    container = schemas["io.k8s.api.core.v1.Container"]  # referred to, through PodTemplateSpec
    assert container["required"] == ["name"] and "additionalProperties" not in container
    assert container["properties"]["args"]["type"] == "array"
    assert container["properties"]["args"]["items"] == {"type": "string"}
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] == {
        "type": "string", "format": "int-or-string"}
    assert "io.k8s.api.core.v1.Pod" not in schemas  # not referred to from apps/v1
    referred = {ref.rsplit("/", 1)[-1] for ref in re.findall(r'"\$ref": ?"([^"]+)"',
                                                              json.dumps(schemas))}
    assert referred <= set(schemas)


def test_openapi_v2_is_swagger_with_every_served_kind_for_json_clients_only():
    swagger = opened("/openapi/v2")
    assert swagger["swagger"] == "2.0"
    pod = swagger["definitions"]["io.k8s.api.core.v1.Pod"]
    assert pod["properties"]["spec"] == {
        "$ref": "#/definitions/io.k8s.api.core.v1.PodSpec",
        "description": pod["properties"]["spec"]["description"]}
    assert "io.k8s.api.apps.v1.Deployment" in swagger["definitions"]
    with pytest.raises(NotAcceptable):
        openapi.document("/openapi/v2", SERVED, "application/yaml")


KUBECTL_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
"""What kubectl 1.37 asks ``/openapi/v2`` for (and nothing else)."""


def test_openapi_v2_as_protobuf_is_gnostics_document():
    found = openapi.document("/openapi/v2", SERVED, KUBECTL_V2)
    assert found is not None
    assert found.content_type == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert found.body.startswith(b"\x0a\x032.0\x12")  # 1: swagger "2.0", 2: info...
    assert b"io.k8s.api.core.v1.PodSpec" in found.body
    assert b'[{"group": "", "kind": "Pod", "version": "v1"}]' in found.body  # an Any's YAML
    assert openapi.document("/openapi/v2", SERVED, "application/json").content_type == (
        "application/json")


def test_a_schema_is_written_field_by_field_as_gnostic_numbers_them():
    assert swaggerproto.schema({"type": "string"}) == b"\xb2\x01\x08\x0a\x06string"
    assert swaggerproto.schema({"$ref": "#/definitions/X", "description": "d"}) == (
        b"\x0a\x0f#/definitions/X\x22\x01d")
    assert swaggerproto.schema({"required": ["a", "b"], "maxItems": 3}) == (
        b"\x9a\x01\x01a\x9a\x01\x01b\x70\x03")
    assert swaggerproto.schema({"additionalProperties": False}) == b"\xaa\x01\x02\x10\x00"
    assert swaggerproto.schema({"oneOf": [{}], "nullable": True}) == b""


def test_documents_are_built_once_per_set_of_custom_resources():
    assert openapi.document("/openapi/v3/api/v1", SERVED) is openapi.document(
        "/openapi/v3/api/v1", Served())  # built-in only: whatever the CRDs
    served = Served([WIDGETS])
    first = openapi.document("/openapi/v3/apis/example.com/v1", served)
    assert first is openapi.document("/openapi/v3/apis/example.com/v1", served)
    assert first is not openapi.document("/openapi/v3/apis/example.com/v1", Served([WIDGETS]))


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
    index = opened("/openapi/v3", served)
    assert "apis/example.com/v1beta1" in index["paths"]
    beta = opened("/openapi/v3/apis/example.com/v1beta1", served)
    operations = beta["paths"]["/apis/example.com/v1beta1/namespaces/{namespace}/widgets/{name}"]
    assert operations["patch"]["x-kubernetes-group-version-kind"]["version"] == "v1beta1"
    assert openapi.document("/apis/example.com/v1", served) is None


def test_a_custom_resources_schema_is_its_crds_with_the_standard_fields():
    spec = {"type": "object", "description": "What the widget should be.",
            "properties": {"size": {"type": "integer", "description": "How big."}}}
    widgets = dataclasses.replace(WIDGETS, openapi={"v1": {
        "type": "object", "properties": {"spec": spec}}})
    schemas = opened("/openapi/v3/apis/example.com/v1", Served([widgets]))["components"][
        "schemas"]
    widget = schemas["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "version": "v1", "kind": "Widget"}]
    assert widget["properties"]["spec"] == spec
    assert widget["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas
    assert schemas["com.example.v1.WidgetList"]["x-kubernetes-group-version-kind"][0][
        "kind"] == "WidgetList"


KUBECTL_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                  "application/json")
"""What kubectl 1.37 asks ``/api`` and ``/apis`` for."""


def aggregated(path: str, accept: str = KUBECTL_ACCEPT, served: Served = SERVED) -> Any:
    found = discovery.aggregated(path, accept, served)
    return None if found is None else (json.loads(found.body), found.content_type)


def test_aggregated_discovery_is_served_to_who_asks_for_it_first():
    body, content_type = aggregated("/apis")
    assert content_type == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert body["kind"] == "APIGroupDiscoveryList"
    assert body["apiVersion"] == "apidiscovery.k8s.io/v2"
    beta = aggregated("/api", KUBECTL_ACCEPT.partition(",")[2])
    assert beta[0]["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    assert aggregated("/apis", "application/json") is None
    assert aggregated("/apis", "application/json, " + KUBECTL_ACCEPT) is None
    assert aggregated("/apis/apps/v1") is None


def test_aggregated_discovery_has_each_resource_with_what_kubectl_reads():
    (core,) = aggregated("/api")[0]["items"]
    assert core["metadata"] == {} and [v["version"] for v in core["versions"]] == ["v1"]
    pods = next(r for r in core["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert (pods["scope"], pods["singularResource"], pods["shortNames"], pods["categories"]) == (
        "Namespaced", "pod", ["po"], ["all"])
    assert "watch" in pods["verbs"]
    status = next(s for s in pods["subresources"] if s["subresource"] == "status")
    assert status["verbs"] == ["get", "patch", "update"]
    apps = next(g for g in aggregated("/apis")[0]["items"] if g["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"]
                       if r["resource"] == "deployments")
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_aggregated_discovery_includes_custom_resources_at_each_served_version():
    served = Served([WIDGETS])
    groups = aggregated("/apis", served=served)[0]["items"]
    example = next(g for g in groups if g["metadata"]["name"] == "example.com")
    assert [v["version"] for v in example["versions"]] == ["v1", "v1beta1"]  # storage first
    widgets = example["versions"][1]["resources"][0]
    assert (widgets["resource"], widgets["shortNames"], widgets["scope"]) == (
        "widgets", ["wd"], "Namespaced")
    assert widgets["responseKind"]["version"] == "v1beta1"
    assert "example.com" not in [g["metadata"]["name"] for g in aggregated("/apis")[0]["items"]]
