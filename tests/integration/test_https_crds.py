"""Custom resources through the HTTPS API with real kubectl and the official client: a CRD
applied with ``kubectl apply`` is discovered (its plural, short name and category), its objects
applied, listed with the CRD's printer columns, read and watched at each served version, scaled
through their ``scale`` subresource, counted by a quota, deleted, and deleted with their
namespace, all by kubectl's own words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from tests.integration.test_crds import WIDGETS, widget
from tests.processes import UpProcess
from tests.support import until

pytestmark = pytest.mark.integration


def _kubectl(cluster: UpProcess, cache: Path, *args: str) -> str:
    """kubectl's output (its discovery cached in ``cache``); fails the test when it fails."""
    done = cluster.kubectl("--cache-dir", str(cache), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _manifest(tmp_path: Path, name: str, obj: dict) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(obj))
    return str(path)


def test_kubectl_applies_a_crd_then_gets_and_deletes_its_objects_by_every_name(
        cluster: UpProcess, tmp_path: Path):
    cache = tmp_path / "cache"
    assert "No resources found" in cluster.kubectl("--cache-dir", str(cache), "get",
                                                   "pods").stderr  # discovery cached now
    assert _kubectl(cluster, cache, "apply", "-f", _manifest(tmp_path, "crd", WIDGETS)) == (
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n")
    big = _manifest(tmp_path, "big", widget("big", size=7, color="blue"))
    assert _kubectl(cluster, cache, "apply", "-f", big) == "widget.example.com/big created\n"
    _kubectl(cluster, cache, "apply", "-f", _manifest(tmp_path, "small", widget("small")))
    listed = _kubectl(cluster, cache, "get", "widgets").splitlines()
    assert listed[0].split() == ["NAME", "SIZE", "COLOR"]  # no AGE: the CRD names its columns
    assert [line.split() for line in listed[1:]] == [["big", "7", "blue"], ["small", "1", "red"]]
    wide = _kubectl(cluster, cache, "get", "wd", "big", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "SIZE", "COLOR", "READY"]
    assert _kubectl(cluster, cache, "get", "all", "-o", "name").splitlines()[-2:] == [
        "widget.example.com/big", "widget.example.com/small"]
    beta = json.loads(_kubectl(cluster, cache, "get", "widgets.v1beta1.example.com", "small",
                               "-o", "json"))
    assert (beta["apiVersion"], beta["metadata"]["name"]) == ("example.com/v1beta1", "small")
    assert _kubectl(cluster, cache, "delete", "widgets", "big") == (
        'widget.example.com "big" deleted from default namespace\n')
    assert [line.split()[0] for line in _kubectl(
        cluster, cache, "get", "widgets").splitlines()] == ["NAME", "small"]


@pytest.fixture
def api(cluster: UpProcess, tmp_path: Path, kube_api) -> k8s.ApiClient:
    """The official client, once the widgets CRD is applied."""
    applied = cluster.kubectl("apply", "-f", _manifest(tmp_path, "crd", WIDGETS))
    assert applied.returncode == 0, applied.stderr
    return kube_api(cluster.kubeconfig)


def test_kubectl_and_the_client_scale_a_custom_object(cluster: UpProcess, api, tmp_path):
    custom = k8s.CustomObjectsApi(api)
    custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets",
                                           widget("scaled", size=2))
    cache = tmp_path / "cache"
    assert _kubectl(cluster, cache, "scale", "widget/scaled", "--replicas=3") == (
        "widget.example.com/scaled scaled\n")
    assert _kubectl(cluster, cache, "get", "widget", "scaled", "-o",
                    "jsonpath={.spec.size}") == "3"
    refused = cluster.kubectl("--cache-dir", str(cache), "scale", "widget/scaled",
                              "--replicas=30")
    assert "spec.size: Invalid value: 30" in refused.stderr and refused.returncode == 1
    scale = custom.patch_namespaced_custom_object_scale(
        "example.com", "v1beta1", "default", "widgets", "scaled", {"spec": {"replicas": 4}})
    assert (scale["kind"], scale["spec"]) == ("Scale", {"replicas": 4})
    assert custom.get_namespaced_custom_object_scale(
        "example.com", "v1", "default", "widgets", "scaled")["spec"] == {"replicas": 4}


def test_the_client_lists_and_watches_at_a_version_that_is_not_stored(api):
    custom = k8s.CustomObjectsApi(api)
    custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets",
                                           widget("seen", size=2))
    listed = custom.list_namespaced_custom_object("example.com", "v1beta1", "default",
                                                  "widgets")
    assert {item["apiVersion"] for item in listed["items"]} == {"example.com/v1beta1"}
    stream = k8s_watch.Watch().stream(
        custom.list_namespaced_custom_object, "example.com", "v1beta1", "default", "widgets",
        field_selector="metadata.name=seen", timeout_seconds=10)
    try:
        first = next(stream)
    finally:
        stream.close()  # the watch's connection with it
    assert (first["type"], first["object"]["apiVersion"]) == ("ADDED", "example.com/v1beta1")
    with pytest.raises(k8s.ApiException) as refused:  # v1's schema: at most 10
        custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets",
                                               widget("big", size=30))
    assert refused.value.status == 422
    written = custom.create_namespaced_custom_object(  # v1beta1's: no maximum, default 2
        "example.com", "v1beta1", "default", "widgets", widget("big", "v1beta1", size=30))
    assert (written["apiVersion"], written["spec"]["size"]) == ("example.com/v1beta1", 30)
    defaulted = custom.create_namespaced_custom_object(
        "example.com", "v1beta1", "default", "widgets", widget("beta", "v1beta1"))
    assert defaulted["spec"]["size"] == 2

def test_deleting_a_namespace_deletes_its_custom_objects(cluster: UpProcess, api, tmp_path):
    core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
    core.create_namespace({"metadata": {"name": "doomed"}})
    custom.create_namespaced_custom_object("example.com", "v1", "doomed", "widgets",
                                           widget("inside"))
    assert _kubectl(cluster, tmp_path / "cache", "delete", "namespace", "doomed",
                    "--wait=false") == 'namespace "doomed" deleted\n'

    def gone() -> bool:
        try:
            core.read_namespace("doomed")
        except k8s.ApiException as error:
            return error.status == 404
        return False

    until(gone, failure="the namespace and its widget were never deleted")
    assert custom.list_cluster_custom_object("example.com", "v1", "widgets",
                                             field_selector="metadata.namespace=doomed"
                                             )["items"] == []


def test_a_quota_of_custom_objects_refuses_one_too_many(cluster: UpProcess, api, tmp_path):
    core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
    core.create_namespace({"metadata": {"name": "counted"}})
    core.create_namespaced_resource_quota("counted", {"metadata": {"name": "q"}, "spec": {
        "hard": {"count/widgets.example.com": "1"}}})
    custom.create_namespaced_custom_object("example.com", "v1", "counted", "widgets",
                                           widget("one"))
    refused = cluster.kubectl("create", "-n", "counted", "-f",
                              _manifest(tmp_path, "two", widget("two")))
    assert refused.returncode == 1
    assert 'widgets.example.com "two" is forbidden: exceeded quota: q' in refused.stderr


def test_a_crd_whose_default_its_schema_refuses_is_refused_with_kubernetes_words(
        cluster: UpProcess, tmp_path: Path):
    versions = [{**v, "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "size": {"type": "integer", "default": "big"}, "loose": {}}}}}}}
        for v in WIDGETS["spec"]["versions"]]
    bad = {**WIDGETS, "metadata": {"name": "gadgets.example.com"},
           "spec": {**WIDGETS["spec"], "versions": versions,
                    "names": {"plural": "gadgets", "kind": "Gadget"}}}
    refused = cluster.kubectl("apply", "-f", _manifest(tmp_path, "bad", bad))
    assert refused.returncode == 1
    at = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties"
    assert refused.stderr.startswith(
        'The CustomResourceDefinition "gadgets.example.com" is invalid: \n'
        f"* {at}[loose].type: Required value: must not be empty for specified object fields"
    ), refused.stderr
    fixed = json.loads(json.dumps(bad).replace('"loose": {}', '"loose": {"type": "string"}'))
    refused = cluster.kubectl("apply", "-f", _manifest(tmp_path, "fixed", fixed))
    assert f'{at}[size].default: Invalid value: "string": in body must be of type integer: ' \
        '"string"' in refused.stderr
    assert cluster.kubectl("get", "crd", "gadgets.example.com").returncode == 1


def test_a_user_who_may_watch_custom_objects_but_not_crds_watches_them(
        cluster: UpProcess, api, tmp_path: Path):
    k8s.CustomObjectsApi(api).create_namespaced_custom_object("example.com", "v1", "default",
                                                              "widgets", widget("watched"))
    jane = tmp_path / "jane.kubeconfig"
    cluster.cli("certs", "issue", "--user", "jane", "--kubeconfig-out", str(jane))
    for args in (["create", "role", "widget-watcher", "--verb=list,watch",
                  "--resource=widgets.example.com"],
                 ["create", "rolebinding", "jane", "--role=widget-watcher", "--user=jane"]):
        assert cluster.kubectl(*args).returncode == 0
    watched = cluster.kubectl("--kubeconfig", str(jane), "get", "--raw",
                              "/apis/example.com/v1/namespaces/default/widgets"
                              "?watch=1&timeoutSeconds=1")
    assert watched.returncode == 0, watched.stderr
    assert "watched" in [json.loads(line)["object"]["metadata"]["name"]
                         for line in watched.stdout.splitlines()]
