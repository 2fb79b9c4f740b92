"""CertificateSigningRequests on a real nats-server and control plane: ``certs issue`` gives a
new user a working kubeconfig while only a signing request travels; approving needs its own
permission; a bad request is a 422 that stores nothing."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from actors.api import certificates, certs
from actors.client.client import Client
from bindings import kubeconfig
from bindings.cli import main as cli
from bindings.cluster import Cluster
from bus.errors import Forbidden, Invalid
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

CSR = certificates.RESOURCE
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    return control_plane.admin_client()


def run(control_plane: Cluster, *args: str, kubeconfig_path: Path | None = None) -> int:
    """``kubeactor ARGS`` in this process, with the admin's kubeconfig unless told."""
    path = kubeconfig_path or control_plane.kubeconfig_path
    return cli.main(["--kubeconfig", str(path), *args])


def revision(admin: Client) -> int:
    return int(admin.list("namespaces")["metadata"]["resourceVersion"])


def grant(admin: Client, name: str, user: str, rules: list[dict]) -> None:
    admin.create("clusterroles", {"metadata": {"name": name}, "rules": rules}, None)
    admin.create("clusterrolebindings", {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}]}, None)


def request_for(user: str, *groups: str, **spec: object) -> dict:
    csr = certificates.signing_request("csr-", certs.make_csr(certs.new_key(),
                                                             certs.Identity(user, groups)))
    csr["spec"].update(spec)
    return csr


def test_certs_issue_gives_the_new_user_a_kubeconfig_that_rbac_then_judges(
        control_plane, admin, tmp_path, capsys):
    out = tmp_path / "alice.kubeconfig"
    assert run(control_plane, "certs", "issue", "--user", "alice", "--group", "devs",
               "--kubeconfig-out", str(out)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("certificatesigningrequest.certificates.k8s.io/csr-")
    assert lines[0].endswith(" created") and lines[1].endswith(" approved")
    assert lines[2] == f'kubeconfig of user "alice" written to {out}'
    assert out.stat().st_mode & 0o777 == 0o600
    config = kubeconfig.load(out)
    assert (config.user, config.token, config.server) == ("alice", None, control_plane.url)
    issued = certs.load_cert(config.client_cert or b"")
    assert certs.identity_of(issued.subject) == certs.Identity("alice", ("devs",))

    assert run(control_plane, "auth", "can-i", "list", "pods", kubeconfig_path=out) == 1
    assert run(control_plane, "get", "pods", kubeconfig_path=out) == 1
    assert 'User "alice" cannot list resource "pods"' in capsys.readouterr().err
    admin.create("rolebindings", {
        "metadata": {"name": "devs-view"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "devs"}]})
    assert run(control_plane, "auth", "can-i", "list", "pods", kubeconfig_path=out) == 0
    assert run(control_plane, "get", "pods", kubeconfig_path=out) == 0

    name = lines[0].split("/")[1].split()[0]
    csr = admin.get(CSR, name, None)
    assert csr["spec"]["username"] == "admin"  # who asked, set by the apiserver
    assert certificates.condition_word(csr) == "Approved,Issued"
    capsys.readouterr()
    assert run(control_plane, "get", "csr") == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[0] == name and row[2:] == [certificates.CLIENT_SIGNER, "admin", "<none>",
                                          "Approved,Issued"]


def test_the_private_key_never_travels_on_the_bus(control_plane, connect, tmp_path):
    seen: list[bytes] = []
    lock = threading.Lock()

    def record(subject: str, data: bytes) -> None:  # bus loop thread
        with lock:
            seen.append(subject.encode() + b" " + data)

    sniffer = connect(control_plane.bus(), "sniffer")  # the admin: it may read everything
    sniffer.subscribe_raw(">", record)
    out = tmp_path / "bob.kubeconfig"
    assert run(control_plane, "certs", "issue", "--user", "bob",
               "--kubeconfig-out", str(out)) == 0
    config = kubeconfig.load(out)
    key = certs.load_key(config.client_key or b"")
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    pem = certs.key_pem(key)
    secrets = [raw, pem, base64.b64encode(pem), base64.b64encode(raw), pem.split(b"\n")[1]]
    with lock:
        traffic = b"\n".join(seen)
    issued = certificates.encode(config.client_cert or b"").encode()
    assert issued in traffic  # the sniffer did see the exchange: the certificate came back
    assert not [secret for secret in secrets if secret in traffic]


def test_a_user_who_may_create_requests_may_not_approve_them(control_plane, admin, connect):
    grant(admin, "csr-requester", "carol", [
        {"apiGroups": [certificates.GROUP], "resources": [CSR], "verbs": ["create", "get"]}])
    credentials = control_plane.credentials("carol")  # answered only on carol's own bus
    carol = Client(connect(control_plane.bus_of(credentials), "carol"), credentials)
    csr = carol.create(CSR, request_for("carol", username="admin",
                                        groups=["system:masters"]), None)
    name = csr["metadata"]["name"]
    assert (csr["spec"]["username"], csr["spec"]["groups"]) == (  # not the body's
        "carol", ["system:authenticated"])
    approve = certificates.decided(csr, certificates.APPROVED, "Mine", "self-approved")
    with pytest.raises(Forbidden) as refused:
        carol.request("update", CSR, name=name, subresource="approval", body=approve)
    assert refused.value.message == (
        f'certificatesigningrequests.certificates.k8s.io "{name}" is forbidden: User "carol" '
        'cannot update resource "certificatesigningrequests/approval" in API group '
        '"certificates.k8s.io" at the cluster scope')
    grant(admin, "csr-approval", "carol", [{"apiGroups": [certificates.GROUP],
                                            "resources": [f"{CSR}/approval"],
                                            "verbs": ["update"]}])
    with pytest.raises(Forbidden) as refused:
        carol.request("update", CSR, name=name, subresource="approval", body=approve)
    assert refused.value.message.endswith(
        'is forbidden: user not permitted to approve requests with signerName '
        f'"{certificates.CLIENT_SIGNER}"')
    assert not certificates.conditions(admin.get(CSR, name, None))
    grant(admin, "csr-approver", "carol", [{
        "apiGroups": [certificates.GROUP], "resources": ["signers"], "verbs": ["approve"],
        "resourceNames": ["kubernetes.io/*"]}])
    carol.request("update", CSR, name=name, subresource="approval", body=approve)
    issued = wait_for(admin, CSR, name, lambda obj: bool(obj["status"].get("certificate")),
                      namespace=None)
    assert certificates.condition_word(issued) == "Approved,Issued"


@pytest.mark.parametrize(("spec", "words"), [
    ({"request": "not base64!"}, "spec.request: Invalid value: must be base64-encoded PEM"),
    ({"request": certificates.encode(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")},
     "the certificate signing request cannot be read"),
    ({"tamper": True}, "the certificate signing request is not signed by its own key"),
    ({"signerName": "example.com/other"},
     'spec.signerName: Unsupported value: "example.com/other"'),
    ({"usages": ["server auth"]}, "spec.usages[0]: Unsupported value: 'server auth'"),
    ({"expirationSeconds": 60}, "may not specify a duration less than 600 seconds"),
])
def test_a_bad_signing_request_is_invalid_and_stores_nothing(control_plane, admin, spec, words):
    csr = request_for("mallory", **spec)
    if spec.get("tamper"):
        der = bytearray(x509.load_pem_x509_csr(certificates.decode(
            csr["spec"]["request"])).public_bytes(serialization.Encoding.DER))
        der[-1] ^= 1  # the signature's last byte
        csr["spec"]["request"] = certificates.encode(
            b"-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(der))
            + b"-----END CERTIFICATE REQUEST-----\n")
        del csr["spec"]["tamper"]
    before = revision(admin)
    with pytest.raises(Invalid) as refused:
        admin.create(CSR, csr, None)
    assert refused.value.code == 422 and words in refused.value.message
    assert revision(admin) == before and admin.list(CSR)["items"] == []


def test_nobody_gets_system_masters_from_the_client_signer(control_plane, admin):
    with pytest.raises(Forbidden) as refused:
        admin.create(CSR, request_for("root", "system:masters"), None)
    assert refused.value.message.endswith(
        "is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters "
        "group is not allowed")
    assert admin.list(CSR)["items"] == []


def test_nobody_gets_the_https_fronts_identity_from_the_client_signer(control_plane, admin):
    """A certificate naming the front could forward the admin's (public) certificate and be
    cluster-admin: an approver of client certificates must not be able to mint one."""
    with pytest.raises(Forbidden) as refused:
        admin.create(CSR, request_for("system:kube-apiserver-https"), None)
    assert refused.value.message.endswith(
        "is forbidden: use of kubernetes.io/kube-apiserver-client signer with "
        "system:kube-apiserver-https user is not allowed")
    assert admin.list(CSR)["items"] == []


def test_decisions_stay_and_a_denied_request_is_never_signed(control_plane, admin, capsys):
    name = admin.create(CSR, request_for("dave"), None)["metadata"]["name"]
    assert run(control_plane, "certificate", "deny", name) == 0
    assert capsys.readouterr().out == (
        f"certificatesigningrequest.certificates.k8s.io/{name} denied\n")
    assert run(control_plane, "certificate", "approve", name) == 1
    assert capsys.readouterr().err == (
        f'error: certificate signing request "{name}" is already Denied\n')
    denied = admin.get(CSR, name, None)
    assert certificates.condition_word(denied) == "Denied"
    undo = dict(denied, status={"conditions": []})
    with pytest.raises(Invalid, match='may not remove a condition of type "Denied"'):
        admin.request("update", CSR, name=name, subresource="approval", body=undo)
    both = certificates.decided(denied, certificates.APPROVED, "Both", "both")
    with pytest.raises(Invalid, match="Approved and Denied conditions are mutually exclusive"):
        admin.request("update", CSR, name=name, subresource="approval", body=both)
    assert not admin.get(CSR, name, None)["status"].get("certificate")


def test_an_issued_certificate_never_changes(control_plane, admin):
    name = admin.create(CSR, request_for("erin"), None)["metadata"]["name"]
    csr = admin.get(CSR, name, None)
    admin.request("update", CSR, name=name, subresource="approval",
                  body=certificates.decided(csr, certificates.APPROVED, "Ok", "ok"))
    issued = wait_for(admin, CSR, name, lambda obj: bool(obj["status"].get("certificate")),
                      namespace=None)
    other = certificates.sign(dict(issued, status={**issued["status"], "certificate": None}),
                              control_plane._pki.ca_key, control_plane._pki.ca)
    with pytest.raises(Invalid, match="may not modify existing certificate content"):
        admin.request("update", CSR, name=name, subresource="status", body=other)
    assert admin.get(CSR, name, None)["status"]["certificate"] == issued["status"]["certificate"]
