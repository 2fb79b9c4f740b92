"""Security of the HTTPS API (an in-process control plane, nothing but the test writing): who
may do what is the apiserver's pipeline's to decide, for HTTP as for the bus. No credentials,
a bad token, a certificate of another CA, a user without RBAC, impersonation without the
right, a malformed or oversized body: each is refused with Kubernetes' code and reason, and
none of them moves the store's revision."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api import certs
from actors.client.client import Client
from bindings import kubeconfig
from bindings.cluster import Cluster
from bus.connection import Connection
from bus.envelope import Envelope, decode
from tests import auditlog
from tests.support import until

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
    ("application/apply-patch+yaml", b"data: {a: c}", 422),  # an apply without fieldManager
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


def _watching(control_plane: Cluster, cert: tuple[Path, Path], path: str) -> ssl.SSLSocket:
    """A watch over HTTPS by a client that reads nothing after the response's headers (a
    receive buffer of 4 KB: the server's writes soon block)."""
    assert control_plane.https is not None
    ca = kubeconfig.load(control_plane.kubeconfig_path).ca
    assert ca is not None
    context = ssl.create_default_context(cadata=ca.decode())
    context.load_cert_chain(*cert)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(30)
    raw.connect((control_plane.https.host, control_plane.https.port))
    sock = context.wrap_socket(raw, server_hostname=control_plane.https.host)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: kubeactor\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:  # the headers come once the bus watch is open
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 200")
    return sock


def _closed_by_server(sock: ssl.SSLSocket, seconds: float) -> bool:
    """Whether reading ``sock`` reaches its end (or a reset) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except (ConnectionError, ssl.SSLError):
        pass
    return True


def test_a_watcher_that_stops_reading_is_cut_off_not_buffered_without_bound(
        control_plane, admin, admin_cert):
    """kube-apiserver closes a watcher whose buffer stays full; without a bound the front kept
    every event for a client that reads nothing (40 such watches, 100 updates of 240 KB: the
    apiserver's process grew by 900 MB)."""
    assert control_plane.https is not None
    control_plane.https.front.watch_buffer = 1024 * 1024
    sock = _watching(control_plane, admin_cert,
                     f"{CONFIGMAPS}?watch=1&timeoutSeconds=600")
    for index in range(40):
        admin.create("configmaps", {"metadata": {"name": f"big-{index}"},
                                    "data": {"a": "x" * 200_000}}, "default")
    assert _closed_by_server(sock, 20)
    sock.close()


def _raw(control_plane: Cluster, cert: tuple[Path, Path] | None, head: bytes) -> ssl.SSLSocket:
    """A TLS connection to the API that has sent ``head`` (and, so far, nothing more)."""
    assert control_plane.https is not None
    ca = kubeconfig.load(control_plane.kubeconfig_path).ca
    assert ca is not None
    context = ssl.create_default_context(cadata=ca.decode())
    if cert is not None:
        context.load_cert_chain(*cert)
    raw = socket.create_connection((control_plane.https.host, control_plane.https.port),
                                   timeout=10)
    sock = context.wrap_socket(raw, server_hostname=control_plane.https.host)
    sock.sendall(head)
    return sock


def _status_line(sock: ssl.SSLSocket) -> bytes:
    answer = b""
    while b"\r\n" not in answer and (chunk := sock.recv(1024)):
        answer += chunk
    return answer.partition(b"\r\n")[0]


POST_HEAD = (f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: kubeactor\r\nContent-Type: application/json"
             f"\r\nContent-Length: 3000000\r\n\r\n").encode()


def test_a_body_from_nobody_is_not_read_the_request_is_401_at_once(control_plane):
    """Before, the front read (and held) up to 3 MB from anyone, then the apiserver said 401:
    a client sending its body slowly held that connection and memory without credentials."""
    with _raw(control_plane, None, POST_HEAD + b"{") as sock:
        assert _status_line(sock) == b"HTTP/1.1 401 Unauthorized"
    with _raw(control_plane, None, POST_HEAD.replace(
            b"\r\n\r\n", b"\r\nAuthorization: Bearer made-up\r\n\r\n") + b"{") as sock:
        assert _status_line(sock) == b"HTTP/1.1 401 Unauthorized"


def test_a_body_that_does_not_arrive_in_time_is_504_and_writes_nothing(
        control_plane, admin, admin_cert):
    assert control_plane.https is not None
    control_plane.https.front.body_seconds = 1
    before = _revision(admin)
    with _raw(control_plane, admin_cert, POST_HEAD + b"{") as sock:
        assert _status_line(sock) == b"HTTP/1.1 504 Gateway Timeout"
    assert _revision(admin) == before


@pytest.mark.parametrize("body", [
    b"k8s\x00\x0a\x05broken",  # a TypeMeta longer than the body
    b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x03\x0a\x01\x08",  # metadata as a number
    b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x05\x0a\x03\x0a\x01\xff",  # not UTF-8
])
def test_a_malformed_protobuf_body_is_400_and_writes_nothing(call, admin, admin_cert, body):
    before = _revision(admin)
    status, answer = call("POST", CONFIGMAPS, body, client=admin_cert,
                          headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert (status, answer["reason"]) == (400, "BadRequest")
    assert _revision(admin) == before


def test_http_requests_are_handed_to_the_pipeline_in_the_process_and_audited_as_the_client(
        call, control_plane, tmp_path, admin, admin_cert, monkeypatch):
    """The front hands its requests to the apiserver's workers of its process (no NATS hop:
    the bus's API requests fail here), and they still go through authentication, RBAC,
    admission and the audit, as the client's, via the front; ``kubeactor trace`` sees each
    as a span."""
    bus_request = Connection.arequest

    async def no_api_over_nats(self: Connection, subject: str, *args: Any, **kwargs: Any) -> Any:
        assert ".api." not in subject, f"{subject} went over NATS"
        return await bus_request(self, subject, *args, **kwargs)

    monkeypatch.setattr(Connection, "arequest", no_api_over_nats)
    spans: list[Envelope] = []  # what ``kubeactor trace`` sees of them
    connection = admin.connection
    traced = connection.subscribe_raw(connection.subjects.trace("apiserver"),
                                      lambda subject, data: spans.append(decode(data)))
    untraced = A_CONFIGMAP.replace(b"over-https", b"while-nobody-traced")
    assert call("POST", "/api/v1/namespaces/kube-system/configmaps", untraced,
                client=admin_cert)[0] == 201  # no span: see below
    connection.publish(connection.subjects.tracers, Envelope(verb="listen"))  # as a tracer
    admin.get("namespaces", "default", None)  # after the announcement, on the same connections
    credentials = control_plane.credentials("nobody")
    nobody = _pems(tmp_path, "nobody", credentials.key, credentials.cert)
    before = _revision(admin)
    assert call("POST", CONFIGMAPS, A_CONFIGMAP, client=nobody)[0] == 403  # RBAC
    assert call("POST", CONFIGMAPS, A_CONFIGMAP)[0] == 401  # authentication
    ghost = "/api/v1/namespaces/ghost/configmaps"
    status, body = call("POST", ghost, A_CONFIGMAP, client=admin_cert)  # admission
    assert (status, body["message"]) == (404, 'namespaces "ghost" not found')
    assert _revision(admin) == before
    assert call("POST", CONFIGMAPS, A_CONFIGMAP, client=admin_cert)[0] == 201
    path = control_plane.config.data_dir / "audit.log"
    front = "system:kube-apiserver-https"

    def audited() -> list[tuple[str, str, int, str]]:
        return [(auditlog.user(e), e["objectRef"].get("namespace"), e["responseStatus"]["code"],
                 e.get("annotations", {}).get("kubeactor.io/via", ""))
                for e in auditlog.events(path) if e["stage"] == "ResponseComplete"
                and e["verb"] == "create" and e.get("objectRef", {}).get("resource") ==
                "configmaps"]

    until(lambda: ("admin", "default", 201, front) in audited(),
          failure="the HTTP create was not audited")
    assert {("nobody", "default", 403, front), ("admin", "ghost", 404, front)} <= set(audited())
    until(lambda: [span for span in spans if (span.verb, span.resource, span.name, span.status)
                   == ("create", "configmaps", "over-https", {"code": 201})],
          failure="the HTTP create was not traced")
    assert "while-nobody-traced" not in {span.name for span in spans}  # published before it
    connection.unsubscribe(traced)
