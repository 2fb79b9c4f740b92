"""Security of the HTTPS API (an in-process control plane, nothing but the test writing): who
may do what is the apiserver's pipeline's to decide, for HTTP as for the bus. No credentials,
a bad token, a certificate of another CA, a user without RBAC, impersonation without the
right, a malformed or oversized body: each is refused with Kubernetes' code and reason, and
none of them moves the store's revision."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api import certs
from actors.client.client import Client
from bindings import kubeconfig
from bindings.cluster import Cluster

pytestmark = pytest.mark.integration

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
A_CONFIGMAP = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "over-https"}, "data": {"a": "b"}}).encode()


@pytest.fixture
def with_controllers() -> bool:
    return False


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    return control_plane.admin_client()


def _revision(admin: Client) -> str:
    return admin.list("configmaps", "default")["metadata"]["resourceVersion"]


def _pems(tmp_path: Path, name: str, key: certs.PrivateKey, cert: Any) -> tuple[Path, Path]:
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(certs.cert_pem(cert))
    key_file.write_bytes(certs.key_pem(key))
    return cert_file, key_file


@pytest.fixture
def call(control_plane: Cluster, tmp_path: Path) -> Iterator[Any]:
    """``call(method, path, body=b"", client=(cert, key) | None, headers={})``: one request to
    the cluster's HTTPS API, trusting its CA; returns (status, decoded body)."""
    assert control_plane.https is not None
    host, port = control_plane.https.host, control_plane.https.port
    ca = kubeconfig.load(control_plane.kubeconfig_path).ca
    assert ca is not None
    connections: list[http.client.HTTPSConnection] = []

    def one(method: str, path: str, body: bytes = b"", client: tuple[Path, Path] | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
        context = ssl.create_default_context(cadata=ca.decode())
        if client is not None:
            context.load_cert_chain(*client)
        connection = http.client.HTTPSConnection(host, port, context=context, timeout=30)
        connections.append(connection)
        connection.request(method, path, body=body or None, headers={
            "Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        if response.getheader("Content-Type", "").startswith("application/json"):
            return response.status, json.loads(data)
        return response.status, data.decode()

    yield one
    for connection in connections:
        connection.close()


@pytest.fixture
def admin_cert(control_plane: Cluster, tmp_path: Path) -> tuple[Path, Path]:
    credentials = control_plane.credentials("admin", "system:masters")
    return _pems(tmp_path, "admin", credentials.key, credentials.cert)


def test_no_certificate_and_no_token_is_401_and_writes_nothing(call, admin):
    before = _revision(admin)
    status, body = call("POST", CONFIGMAPS, A_CONFIGMAP)
    assert (status, body["reason"], body["kind"]) == (401, "Unauthorized", "Status")
    assert call("GET", CONFIGMAPS)[0] == 401
    assert call("GET", "/api/v1")[0] == 401  # discovery is for authenticated users
    assert _revision(admin) == before


def test_health_and_version_are_for_anybody(call):
    for path in ("/healthz", "/livez", "/readyz"):
        assert call("GET", path) == (200, "ok")
    status, version = call("GET", "/version")
    assert (status, version["major"], version["minor"]) == (200, "1", "37")


def test_a_bad_bearer_token_is_401_and_a_good_one_is_its_user(call, control_plane, admin):
    before = _revision(admin)
    status, body = call("POST", CONFIGMAPS, A_CONFIGMAP,
                        headers={"Authorization": "Bearer not-a-token"})
    assert (status, body["message"]) == (401, "Unauthorized: invalid bearer token")
    assert _revision(admin) == before
    token = {"Authorization": f"Bearer {control_plane.token('admin')}"}
    status, listed = call("GET", CONFIGMAPS, headers=token)
    assert (status, listed["kind"]) == (200, "ConfigMapList")


def test_a_certificate_of_another_ca_is_refused_in_the_handshake(call, tmp_path, admin):
    before = _revision(admin)
    ca_key, ca = certs.new_ca("elsewhere")
    key = certs.new_key()
    stranger = _pems(tmp_path, "stranger", key, certs.issue(
        ca_key, ca, key.public_key(), certs.Identity("admin", ("system:masters",))))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        call("POST", CONFIGMAPS, A_CONFIGMAP, client=stranger)
    assert _revision(admin) == before


def test_a_user_without_rbac_is_403_naming_the_user(call, control_plane, tmp_path, admin):
    before = _revision(admin)
    credentials = control_plane.credentials("nobody")
    nobody = _pems(tmp_path, "nobody", credentials.key, credentials.cert)
    status, body = call("POST", CONFIGMAPS, A_CONFIGMAP, client=nobody)
    assert (status, body["reason"]) == (403, "Forbidden")
    assert 'User "nobody" cannot create resource "configmaps"' in body["message"]
    assert call("GET", "/api/v1", client=nobody)[0] == 200  # discovery: any authenticated user
    assert _revision(admin) == before


def test_impersonation_without_the_right_is_403_and_with_it_acts_as_the_other(
        call, control_plane, tmp_path, admin, admin_cert):
    before = _revision(admin)
    credentials = control_plane.credentials("nobody")
    nobody = _pems(tmp_path, "nobody", credentials.key, credentials.cert)
    status, body = call("GET", CONFIGMAPS, client=nobody, headers={"Impersonate-User": "admin"})
    assert (status, body["reason"]) == (403, "Forbidden")
    assert 'User "nobody" cannot impersonate' in body["message"]
    status, body = call("POST", CONFIGMAPS, A_CONFIGMAP, client=admin_cert,
                        headers={"Impersonate-User": "nobody"})
    assert (status, body["reason"]) == (403, "Forbidden")
    assert 'User "nobody"' in body["message"]
    assert _revision(admin) == before


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2, 3]", b""])
def test_a_malformed_body_is_400_and_writes_nothing(call, admin, admin_cert, body):
    before = _revision(admin)
    status, answer = call("POST", CONFIGMAPS, body, client=admin_cert)
    assert (status, answer["reason"]) == (400, "BadRequest")
    assert _revision(admin) == before


def test_a_body_over_the_limit_is_413_and_writes_nothing(call, admin, admin_cert):
    before = _revision(admin)
    huge = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"},
                       "data": {"a": "x" * (4 * 1024 * 1024)}}).encode()
    status, answer = call("POST", CONFIGMAPS, huge, client=admin_cert)
    assert (status, answer["reason"]) == (413, "RequestEntityTooLarge")
    assert _revision(admin) == before


def test_a_create_over_https_is_stored_as_the_certificates_user(call, admin, admin_cert):
    status, created = call("POST", CONFIGMAPS, A_CONFIGMAP, client=admin_cert)
    assert status == 201 and created["metadata"]["resourceVersion"]
    assert admin.get("configmaps", "over-https")["data"] == {"a": "b"}
    status, again = call("POST", CONFIGMAPS, A_CONFIGMAP, client=admin_cert)
    assert (status, again["reason"]) == (409, "AlreadyExists")
    status, _ = call("DELETE", f"{CONFIGMAPS}/over-https", client=admin_cert)
    assert status == 200
    assert call("GET", f"{CONFIGMAPS}/over-https", client=admin_cert)[0] == 404


def test_patch_is_authorized_as_patch_so_update_alone_is_403(call, control_plane, tmp_path,
                                                              admin, admin_cert):
    """As in Kubernetes: RBAC's ``update`` does not allow a PATCH, ``patch`` does."""
    assert call("POST", CONFIGMAPS, A_CONFIGMAP, client=admin_cert)[0] == 201
    admin.create("roles", {"metadata": {"name": "updater"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "update"]}]})
    admin.create("rolebindings", {"metadata": {"name": "updater"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "updater"},
        "subjects": [{"kind": "User", "name": "updater"}]})
    credentials = control_plane.credentials("updater")
    updater = _pems(tmp_path, "updater", credentials.key, credentials.cert)
    merge = {"Content-Type": "application/merge-patch+json"}
    before = _revision(admin)
    status, body = call("PATCH", f"{CONFIGMAPS}/over-https", b'{"data": {"a": "c"}}',
                        client=updater, headers=merge)
    assert (status, body["reason"]) == (403, "Forbidden")
    assert 'User "updater" cannot patch resource "configmaps"' in body["message"]
    assert _revision(admin) == before
    admin.patch("roles", "updater", [{"op": "add", "path": "/rules/0/verbs/-",
                                      "value": "patch"}], "application/json-patch+json")
    status, body = call("PATCH", f"{CONFIGMAPS}/over-https", b'{"data": {"a": "c"}}',
                        client=updater, headers=merge)
    assert (status, body["data"]) == (200, {"a": "c"})


@pytest.mark.parametrize(("content_type", "patch", "code"), [
    ("application/merge-patch+json", b"{not json", 400),
    ("application/json-patch+json", b'{"op": "remove"}', 400),
    ("application/json-patch+json", b'[{"op": "remove", "path": "/data/none"}]', 400),
    ("application/strategic-merge-patch+json", b'{"data": {"a": 1}}', 422),
    ("application/merge-patch+json", b'{"metadata": {"name": "renamed"}}', 400),
    ("application/json", b'{"data": {"a": "c"}}', 415),
    ("application/apply-patch+yaml", b"data: {a: c}", 415),
])
def test_a_malformed_patch_is_refused_and_writes_nothing(call, admin, admin_cert,
                                                         content_type, patch, code):
    assert call("POST", CONFIGMAPS, A_CONFIGMAP, client=admin_cert)[0] == 201
    before = _revision(admin)
    status, body = call("PATCH", f"{CONFIGMAPS}/over-https", patch, client=admin_cert,
                        headers={"Content-Type": content_type})
    assert (status, body["kind"]) == (code, "Status")
    assert _revision(admin) == before
    assert admin.get("configmaps", "over-https")["data"] == {"a": "b"}
