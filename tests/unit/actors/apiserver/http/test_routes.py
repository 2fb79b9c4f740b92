"""HTTP paths and methods as the requests the bus carries (kube-apiserver's RequestInfo)."""

from __future__ import annotations

import pytest

from actors.api import crds
from actors.api.discovery import Served
from actors.apiserver.http.routes import Call, route
from bus.errors import MethodNotAllowed, NotFound

SERVED = Served()


def _call(method: str, path: str, **query: str) -> tuple[object, ...]:
    call = route(method, path, query, SERVED)
    return call.verb, call.info.name, call.namespace, call.name, call.subresource


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/default/pods", {}, ("list", "pods", "default", None, None)),
    ("GET", "/api/v1/pods", {}, ("list", "pods", None, None, None)),
    ("GET", "/api/v1/namespaces/default/pods", {"watch": "1"},
     ("watch", "pods", "default", None, None)),
    ("GET", "/api/v1/namespaces/default/pods/web", {}, ("get", "pods", "default", "web", None)),
    ("GET", "/api/v1/namespaces/default/pods/web/status", {},
     ("get", "pods", "default", "web", "status")),
    ("POST", "/api/v1/namespaces/default/pods/web/binding", {},
     ("create", "pods", "default", "web", "binding")),
    ("POST", "/apis/apps/v1/namespaces/x/deployments", {},
     ("create", "deployments", "x", None, None)),
    ("PUT", "/apis/apps/v1/namespaces/x/deployments/d/scale", {},
     ("update", "deployments", "x", "d", "scale")),
    ("DELETE", "/api/v1/namespaces/default/configmaps/c", {},
     ("delete", "configmaps", "default", "c", None)),
    ("DELETE", "/api/v1/namespaces/default/configmaps", {},
     ("deletecollection", "configmaps", "default", None, None)),
    ("GET", "/api/v1/nodes/node-1", {}, ("get", "nodes", None, "node-1", None)),
    ("GET", "/api/v1/namespaces", {}, ("list", "namespaces", None, None, None)),
    ("GET", "/api/v1/namespaces/kube-system", {},
     ("get", "namespaces", None, "kube-system", None)),
    ("PUT", "/api/v1/namespaces/gone/finalize", {},
     ("update", "namespaces", None, "gone", "finalize")),
    ("PATCH", "/api/v1/namespaces/x/pods/p", {}, ("patch", "pods", "x", "p", None)),
    ("PATCH", "/apis/apps/v1/namespaces/x/deployments/d/scale", {},
     ("patch", "deployments", "x", "d", "scale")),
    ("PATCH", "/api/v1/nodes/node-1", {}, ("patch", "nodes", None, "node-1", None)),
])
def test_a_path_and_method_name_the_verb_resource_namespace_name_and_subresource(
        method, path, query, expected):
    assert _call(method, path, **query) == expected


@pytest.mark.parametrize("path", [
    "/api/v2/pods", "/apis/apps/v2/namespaces/x/deployments", "/api/v1/widgets",
    "/apis/apps/v1/namespaces/x/pods", "/api/v1/namespaces/x/nodes/n",
    "/api/v1/namespaces/x/pods/p/bogus", "/api/v1/namespaces/x/pods/p/status/more",
    "/nothing", "/api",
])
def test_what_no_resource_serves_is_not_found(path):
    with pytest.raises(NotFound):
        route("GET", path, {}, SERVED)


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/api/v1/namespaces/x/pods"), ("POST", "/api/v1/namespaces/x/pods/p"),
    ("PATCH", "/api/v1/namespaces/x/pods"), ("OPTIONS", "/api/v1/pods"),
])
def test_a_method_that_does_not_apply_is_405(method, path):
    with pytest.raises(MethodNotAllowed):
        route(method, path, {}, SERVED)


def test_a_call_carries_the_resource_itself():
    call = route("GET", "/apis/apps/v1/deployments", {}, SERVED)
    assert isinstance(call, Call) and call.info.group == "apps"


def test_a_custom_resource_routes_at_each_version_its_crd_serves_and_no_other():
    widgets = crds.CustomResource("widgets", "Widget", group="example.com", version="v1",
                                  namespaced=False, versions=("v1", "v1beta1"))
    served = Served([widgets])
    for version in ("v1", "v1beta1"):
        call = route("DELETE", f"/apis/example.com/{version}/widgets/w", {}, served)
        assert (call.verb, call.info, call.name, call.version) == (
            "delete", widgets, "w", version)  # the answer comes at the path's version
    for path in ("/apis/example.com/v2/widgets", "/apis/example.com/v1/namespaces/a/widgets"):
        with pytest.raises(NotFound):
            route("GET", path, {}, served)
    with pytest.raises(NotFound):
        route("GET", "/apis/example.com/v1/widgets", {}, SERVED)
