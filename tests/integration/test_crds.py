"""CustomResourceDefinitions over the bus, end to end: a CRD with two versions is Established
and its resource served at once; its objects are defaulted, pruned and validated by the
version's schema and stored in the storage version, and read, listed and watched at any served
version; its status and scale subresources, printer columns and watches work; a quota counts
its objects; deleting the CRD deletes its objects (each with its watch event) and stops serving
the resource."""

from __future__ import annotations

import queue

import pytest

from actors.api import crds
from actors.client.client import Client, WatchEvent
from bindings.cli import printers
from bindings.cluster import Cluster
from bus.errors import BadRequest, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.integration


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


@pytest.fixture
def with_controllers() -> bool:
    return False


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    return control_plane.admin_client()


SCALE = {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.ready",
         "labelSelectorPath": ".status.selector"}


def _version(name: str, storage: bool, size: dict) -> dict:
    spec = {"type": "object", "required": ["color"], "properties": {
        "size": size,
        "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "port": {"x-kubernetes-int-or-string": True},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    return {"name": name, "served": True, "storage": storage,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": spec,
                "status": {"type": "object", "properties": {"ready": {"type": "integer"},
                                                            "selector": {"type": "string"}}}}}},
            "subresources": {"status": {}, "scale": SCALE},
            "additionalPrinterColumns": [
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                {"name": "Ready", "type": "integer", "jsonPath": ".status.ready", "priority": 1}]}


WIDGETS = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                       "shortNames": ["wd"], "categories": ["all"]},
             "versions": [
                 _version("v1beta1", False, {"type": "integer", "default": 2}),
                 _version("v1", True, {"type": "integer", "minimum": 1, "maximum": 10,
                                       "default": 1})]},
}


def widget(name: str, version: str = "v1", **spec: object) -> dict:
    return {"apiVersion": f"example.com/{version}", "kind": "Widget",
            "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def widgets(admin: Client) -> dict:
    return admin.create(crds.RESOURCE, WIDGETS, None)


def test_a_crd_is_established_and_served_at_once(admin: Client, widgets: dict):
    conditions = {c["type"]: c["status"] for c in widgets["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert widgets["status"]["storedVersions"] == ["v1"]
    info = admin.info("wd")  # a short name the client learnt from the apiserver
    assert (info.name, info.group, info.version, info.namespaced) == (
        "widgets", "example.com", "v1", True)
    assert admin.list("widgets.example.com", "default")["items"] == []


def test_objects_are_defaulted_pruned_and_stored_in_the_storage_version(
        admin: Client, widgets: dict):
    warnings: list[str] = []
    admin.warn = warnings.append
    stored = admin.create("widgets", widget("old", "v1beta1", junk=1, extra={"any": {"x": 1}}))
    assert stored["apiVersion"] == "example.com/v1"
    assert stored["spec"] == {"extra": {"any": {"x": 1}}, "size": 2, "color": "red"}
    assert warnings == ['unknown field "spec.junk"']
    assert admin.create("widgets", widget("new", port="http"))["spec"]["size"] == 1


def test_an_invalid_object_is_refused_naming_its_fields_and_not_stored(
        admin: Client, widgets: dict):
    with pytest.raises(Invalid) as raised:
        admin.create("widgets", widget("bad", size=0, color="pink", tags=["a", "a"],
                                       port=1.5))
    assert raised.value.details["causes"] == [
        "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
        'spec.color: Unsupported value: "pink": supported values: "red", "blue"',
        'spec.tags[1]: Duplicate value: "a"',
        'spec.port: Invalid value: "number": spec.port in body must be of type integer or '
        'string: "number"']
    admin.field_validation = "Strict"
    with pytest.raises(BadRequest, match=r'unknown field "spec\.junk"'):
        admin.create("widgets", widget("strict", junk=1))
    with pytest.raises(NotFound):
        admin.get("widgets", "bad")


def test_status_changes_only_through_its_subresource(admin: Client, widgets: dict):
    created = admin.create("widgets", widget("w", size=3))
    updated = admin.update("widgets", {**created, "spec": {"size": 4}, "status": {"ready": 9}})
    assert "ready" not in updated.get("status", {}) and updated["metadata"]["generation"] == 2
    ready = admin.update("widgets", {**updated, "status": {"ready": 4}}, subresource="status")
    assert ready["status"] == {"ready": 4} and ready["spec"]["size"] == 4
    with pytest.raises(Invalid, match=r"status\.ready"):
        admin.update("widgets", {**ready, "status": {"ready": "yes"}}, subresource="status")


def test_the_table_shows_the_printer_columns(admin: Client, widgets: dict):
    admin.create("widgets", widget("w", size=3, color="blue"))
    listed = admin.list("widgets", "default")["items"]
    info = admin.info("widgets")
    assert printers.table(info, listed).splitlines() == ["NAME   SIZE   COLOR",
                                                         "w      3      blue"]
    assert printers.table(info, listed, wide=True).splitlines()[1].split() == [
        "w", "3", "blue", "<none>"]


def test_deleting_the_crd_deletes_its_objects_and_stops_serving(
        admin: Client, widgets: dict):
    admin.create("widgets", widget("a"))
    admin.create("widgets", widget("b"), "kube-system")
    events: queue.Queue[WatchEvent] = queue.Queue()
    watch = admin.watch("widgets", events.put)
    try:
        seen = {events.get(timeout=10).object["metadata"]["name"] for _ in range(2)}
        admin.update("widgets", {**admin.get("widgets", "a"), "spec": {"size": 5}})
        assert events.get(timeout=10).type == "MODIFIED"
        admin.delete(crds.RESOURCE, "widgets.example.com", None)
        gone = {events.get(timeout=10).object["metadata"]["name"] for _ in range(2)}
    finally:
        watch.stop()
    assert seen == gone == {"a", "b"}
    with pytest.raises(NotFound, match='could not find the requested resource'):
        admin.list("widgets.example.com", None)


def test_a_resource_asked_for_before_its_crd_is_deleted_is_not_served_after(
        admin: Client, widgets: dict):
    """Each worker remembers what a subject asks for while the resources served stay the
    same: the CRD's deletion changes them, and the same subject is a 404 at once."""
    for _ in range(2):
        assert admin.list("widgets.example.com", "default")["items"] == []
    admin.delete(crds.RESOURCE, "widgets.example.com", None)
    with pytest.raises(NotFound, match='could not find the requested resource'):
        admin.list("widgets.example.com", "default")
    admin.create(crds.RESOURCE, WIDGETS, None)
    assert admin.list("widgets.example.com", "default")["items"] == []


def test_a_crd_whose_names_are_taken_is_not_established(admin: Client, widgets: dict):
    clash = {**WIDGETS, "metadata": {"name": "gizmos.example.com"},
             "spec": {**WIDGETS["spec"], "names": {"plural": "gizmos", "kind": "Widget"}}}
    stored = admin.create(crds.RESOURCE, clash, None)
    accepted = {c["type"]: (c["status"], c["message"]) for c in stored["status"]["conditions"]}
    assert accepted["NamesAccepted"] == ("False", '"Widget" is already in use')
    assert accepted["Established"][0] == "False"
    with pytest.raises(BadRequest, match='resource type "gizmos"'):
        admin.info("gizmos")


def test_an_invalid_crd_is_refused(admin: Client):
    bad = {**WIDGETS, "metadata": {"name": "widgets"},
           "spec": {**WIDGETS["spec"], "versions": [
               {**v, "storage": True} for v in WIDGETS["spec"]["versions"]]}}
    with pytest.raises(Invalid) as raised:
        admin.create(crds.RESOURCE, bad, None)
    assert raised.value.details["causes"] == [
        'metadata.name: Invalid value: "widgets": must be spec.names.plural+"."+spec.group',
        "spec.versions: Invalid value: must have exactly one version marked as storage "
        "version"]


def test_rbac_applies_to_custom_resources(control_plane: Cluster, admin: Client,
                                          widgets: dict):
    admin.create("widgets", widget("w"))
    jane = Client(admin.connection, admin.credentials, impersonate="jane")
    jane.served = admin.served  # she may not list CRDs: she would learn nothing herself
    with pytest.raises(Forbidden, match=r"widgets\.example\.com"):
        jane.list("widgets.example.com", "default")
    admin.create("roles.rbac.authorization.k8s.io", {
        "metadata": {"name": "widget-reader"},
        "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"],
                   "verbs": ["get", "list"]}]})
    admin.create("rolebindings.rbac.authorization.k8s.io", {
        "metadata": {"name": "jane-reads-widgets"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "widget-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                      "name": "jane"}]})
    assert [w["metadata"]["name"] for w in jane.list("widgets", "default")["items"]] == ["w"]


def test_the_scale_subresource_reads_and_writes_where_the_crd_says(admin: Client,
                                                                   widgets: dict):
    created = admin.create("widgets", widget("w", size=2))
    admin.update("widgets", {**created, "status": {"ready": 1, "selector": "app=w"}},
                 subresource="status")
    scale = admin.request("get", "widgets", namespace="default", name="w",
                          subresource="scale")
    assert (scale["apiVersion"], scale["kind"], scale["spec"], scale["status"]) == (
        "autoscaling/v1", "Scale", {"replicas": 2}, {"replicas": 1, "selector": "app=w"})
    scaled = admin.update("widgets", {**scale, "spec": {"replicas": 5}}, subresource="scale")
    assert scaled["spec"] == {"replicas": 5}
    stored = admin.get("widgets", "w")
    assert (stored["spec"]["size"], stored["metadata"]["generation"]) == (5, 2)
    with pytest.raises(Invalid, match=r"spec\.size: Invalid value: 11"):
        admin.patch("widgets", "w", {"spec": {"replicas": 11}}, "application/merge-patch+json",
                    subresource="scale")
    assert admin.get("widgets", "w")["spec"]["size"] == 5


def test_a_scale_path_outside_spec_or_status_refuses_the_crd(admin: Client):
    versions = [{**v, "subresources": {"scale": {**SCALE, "specReplicasPath": ".size"}}}
                for v in WIDGETS["spec"]["versions"]]
    with pytest.raises(Invalid, match=r'spec\.versions\[0\]\.subresources\.scale\.'
                                      r'specReplicasPath: Invalid value: "\.size": should be '
                                      r"a json path under \.spec"):
        admin.create(crds.RESOURCE, {**WIDGETS, "spec": {**WIDGETS["spec"],
                                                         "versions": versions}}, None)


def test_objects_are_read_listed_and_watched_at_the_version_asked(admin: Client,
                                                                 widgets: dict):
    admin.create("widgets", widget("w", size=3))
    beta = {"version": "v1beta1"}
    got = admin.request("get", "widgets", namespace="default", name="w", options=beta)
    assert (got["apiVersion"], got["spec"]["size"]) == ("example.com/v1beta1", 3)
    assert admin.get("widgets", "w")["apiVersion"] == "example.com/v1"
    listed = admin.request("list", "widgets", namespace="default", options=beta)
    assert [listed["apiVersion"], *(i["apiVersion"] for i in listed["items"])] == [
        "example.com/v1beta1"] * 2
    events: queue.Queue[WatchEvent] = queue.Queue()
    watch = admin.watch("widgets", events.put, version="v1beta1")
    try:
        assert events.get(timeout=10).object["apiVersion"] == "example.com/v1beta1"
        admin.patch("widgets", "w", {"spec": {"size": 4}}, "application/merge-patch+json")
        changed = events.get(timeout=10)
        assert (changed.type, changed.object["apiVersion"]) == (
            "MODIFIED", "example.com/v1beta1")
    finally:
        watch.stop()
    with pytest.raises(NotFound, match=r'version "v2" of widgets\.example\.com is not served'):
        admin.request("get", "widgets", namespace="default", name="w",
                      options={"version": "v2"})
    with pytest.raises(BadRequest, match=r"the API version in the data \(example.com/v1\) "
                                         r"does not match the expected API version "
                                         r"\(example.com/v1beta1\)"):
        admin.request("create", "widgets", namespace="default", body=widget("x"),
                      options=beta)


def test_a_dry_run_delete_of_a_crd_gives_back_no_quota(admin: Client, widgets: dict):
    admin.create("widgets", widget("counted"))
    admin.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {
        "hard": {"count/widgets.example.com": "1"}}})
    admin.request("delete", crds.RESOURCE, name="widgets.example.com",
                  options={"dryRun": ["All"]})
    assert [w["metadata"]["name"] for w in admin.list("widgets", "default")["items"]] == [
        "counted"]
    assert admin.get("resourcequotas", "q")["status"]["used"] == {
        "count/widgets.example.com": "1"}
    with pytest.raises(Forbidden, match="exceeded quota: q"):
        admin.create("widgets", widget("past-the-quota"))


def test_a_quota_counts_custom_objects(admin: Client, widgets: dict):
    admin.create("widgets", widget("before"))
    quota = admin.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {
        "hard": {"count/widgets.example.com": "2"}}})
    assert quota["status"]["used"] == {"count/widgets.example.com": "1"}
    admin.create("widgets", widget("second"))
    with pytest.raises(Forbidden, match=r"exceeded quota: q, requested: "
                                        r"count/widgets.example.com=1"):
        admin.create("widgets", widget("third"))
    admin.delete("widgets", "before")
    admin.create("widgets", widget("third"))  # the deleted one gave its count back
    admin.delete(crds.RESOURCE, "widgets.example.com", None)  # and its objects with it
    admin.create(crds.RESOURCE, WIDGETS, None)
    for name in ("again", "twice"):
        admin.create("widgets", widget(name))
