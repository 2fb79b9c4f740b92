"""Certificate sessions on a real nats-server: who a certificate names is who the apiserver
sees, and every way of faking one gets a 401 that says why, changing nothing."""

from __future__ import annotations

import os
import stat
import time
from datetime import UTC, datetime, timedelta

import nats.errors
import pytest
from cryptography import x509

from actors.api import certs
from actors.client.client import Client
from actors.client.credentials import CertificateCredentials, Proof
from bindings.cluster import Cluster
from bus import Envelope, decode, encode
from bus import loop as bus_loop
from bus.envelope import MAC_HEADER, mac
from bus.errors import Forbidden, Unauthorized
from tests.conftest import pod

pytestmark = pytest.mark.integration


@pytest.fixture
def with_controllers() -> bool:
    return False  # the API alone: nothing but the test writes


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    return control_plane.admin_client()


@pytest.fixture
def client_for(control_plane: Cluster, connect):
    """A client of ``credentials`` on a connection of NATS identity ``test:cert-client``
    (with ``own_bus``, of the credentials' own: the apiserver answers a user only there)."""
    def make(credentials, own_bus: bool = False) -> Client:
        bus = control_plane.bus_of(credentials) if own_bus else control_plane
        return Client(connect(bus, "cert-client"), credentials)
    return make


def revision(admin: Client) -> int:
    return int(admin.list("namespaces")["metadata"]["resourceVersion"])


def test_a_certificate_names_the_user_rbac_then_judges(control_plane, admin, client_for):
    alice = client_for(control_plane.credentials("alice", "devs"), own_bus=True)
    with pytest.raises(Forbidden) as denied:
        alice.create("pods", pod("from-alice"))
    assert 'User "alice" cannot create resource "pods"' in denied.value.message
    admin.create("clusterrolebindings", {
        "metadata": {"name": "devs-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                      "name": "devs"}]})
    assert alice.create("pods", pod("from-alice"))["metadata"]["name"] == "from-alice"


def foreign_credentials(user: str = "admin") -> CertificateCredentials:
    ca_key, ca = certs.new_ca()
    key = certs.new_key()
    cert = certs.issue(ca_key, ca, key.public_key(), certs.Identity(user, ("system:masters",)))
    return CertificateCredentials(cert, key, ca)


def test_certificates_of_another_ca_or_out_of_date_are_refused(control_plane, admin,
                                                               client_for):
    before = revision(admin)
    with pytest.raises(Unauthorized, match="signed by unknown authority"):
        client_for(foreign_credentials()).create("pods", pod("forged"))
    good = control_plane.credentials("admin", "system:masters")
    stale = (x509.CertificateBuilder().subject_name(good.cert.subject)
             .issuer_name(good.ca.subject).public_key(good.key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(datetime.now(UTC) - timedelta(days=30))
             .not_valid_after(datetime.now(UTC) - timedelta(days=1))
             .sign(control_plane._pki.ca_key, None))
    with pytest.raises(Unauthorized, match="has expired or is not yet valid"):
        client_for(CertificateCredentials(stale, good.key, good.ca)).create("pods", pod("old"))
    assert revision(admin) == before


def signed_request(control_plane, connect, *, stamp: float | None = None):
    """A valid admin create, as (connection, subject, data, MAC key, name), proven by a fresh
    session."""
    connection = connect(control_plane.bus("admin"), "raw")
    proof = control_plane.credentials("admin", "system:masters").prove(connection)
    return (connection, *create_request(connection, proof, stamp))


def create_request(connection, proof: Proof, stamp: float | None = None):
    """A configmap create of ``proof``'s session (a new nonce), as (subject, data, MAC key,
    name)."""
    auth = dict(proof.auth, ts=stamp if stamp is not None else time.time(),
                nonce=os.urandom(12))
    subject = connection.subjects.api("", "configmaps", "create")
    name = f"cm-{os.urandom(3).hex()}"
    data = encode(Envelope(verb="create", resource="configmaps", namespace="default",
                           name=name, body={"metadata": {"name": name}}, auth=auth))
    return subject, data, proof.mac_key, name


def inbox_of(connection) -> str:
    """A new reply subject in ``connection``'s inbox."""
    return f"{connection.subjects.inbox(connection.owner)}.raw.{os.urandom(4).hex()}"


def send(connection, subject: str, data: bytes, mac_value: bytes, reply: str,
         timeout: float = 10) -> Envelope:
    """``data`` on ``subject`` with ``mac_value`` in its header; the answer on ``reply``
    (nats' TimeoutError when none comes within ``timeout`` seconds)."""
    import base64

    async def go():
        sub = await connection.nc.subscribe(reply, max_msgs=1)
        await connection.nc.publish(subject, data, reply=reply, headers={
            MAC_HEADER: base64.b64encode(mac_value).decode()})
        return await sub.next_msg(timeout=timeout)
    return decode(bus_loop.wait(go()).data)


def sent(connection, subject: str, data: bytes, key: bytes, macked: bytes | None = None,
         timeout: float = 10) -> Envelope:
    """``data`` sent on ``subject`` with a MAC by ``key`` over subject, reply and
    ``macked`` (``data`` by default)."""
    reply = inbox_of(connection)
    return send(connection, subject, data, mac(key, subject, reply, macked or data), reply,
                timeout)


def code(reply: Envelope) -> tuple[int, str]:
    return int(reply.status["code"]), str(reply.status["message"])


def test_a_replayed_request_is_not_answered_and_writes_nothing_twice(control_plane, admin,
                                                                      connect):
    """A replay is audited and never answered: a copy the bus delivered twice must not put a
    401 in its sender's inbox before the original's answer."""
    connection, subject, data, key, _ = signed_request(control_plane, connect)
    first = sent(connection, subject, data, key)
    assert code(first)[0] == 201
    before = revision(admin)
    with pytest.raises(nats.errors.TimeoutError):
        sent(connection, subject, data, key, timeout=2)
    assert revision(admin) == before


def test_tampered_stale_or_unmaced_requests_are_refused(control_plane, admin, connect):
    before = revision(admin)
    connection, subject, data, key, name = signed_request(control_plane, connect)
    tampered = data.replace(name.encode(), b"cm-evil00")  # same length: still msgpack
    assert code(sent(connection, subject, tampered, key, data)) == (
        401, "Unauthorized: the request's MAC does not match its session")
    other_subject, reply = connection.subjects.api("", "configmaps", "delete"), inbox_of(connection)
    macked = mac(key, subject, reply, data)
    assert code(send(connection, other_subject, data, macked, reply))[0] in (400, 401)
    assert code(send(connection, subject, data, os.urandom(32), reply))[0] == 401
    elsewhere = inbox_of(connection)  # a MAC made for another reply subject
    assert code(send(connection, subject, data, mac(key, subject, elsewhere, data), reply)) == (
        401, "Unauthorized: the request's MAC does not match its session")
    connection, subject, data, key, name = signed_request(control_plane, connect,
                                                          stamp=time.time() - 300)
    status, message = code(sent(connection, subject, data, key))
    assert status == 401 and "away from the server's clock" in message
    assert revision(admin) == before


def test_forged_handshakes_and_foreign_tickets_are_refused(control_plane, connect):
    connection = connect(control_plane.bus("admin"), "raw")
    good = control_plane.credentials("admin", "system:masters")
    hello, _ = certs.hello(good.cert, certs.new_key())  # signed with the wrong key
    reply = connection.request(connection.subjects.hello, Envelope(body=hello)).result(10)
    assert code(reply) == (401, "Unauthorized: the handshake signature does not match the "
                                "certificate")
    hello, _ = certs.hello(good.cert, good.key)
    assert code(connection.request(connection.subjects.hello,
                                   Envelope(body=hello)).result(10))[0] == 200
    assert code(connection.request(connection.subjects.hello, Envelope(body=hello)).result(10)
                ) == (401, "Unauthorized: replayed handshake (nonce already seen)")
    session = certs.Session(certs.Identity("admin", ("system:masters",)), os.urandom(32),
                            time.time() + 60)
    ticket = certs.seal(session, os.urandom(32))  # another cluster's ticket key
    subject = connection.subjects.api("", "namespaces", "list")
    data = encode(Envelope(verb="list", resource="namespaces",
                           auth={"ticket": ticket, "ts": time.time(),
                                 "nonce": os.urandom(12)}))
    status, message = code(sent(connection, subject, data, session.key))
    assert status == 401 and "not one of this cluster's" in message


def test_a_session_ends_with_its_certificate(control_plane, admin, connect):
    """kube-apiserver checks a client certificate's dates on every request: a session opened
    with a certificate that ends in a few seconds ends with it, not an hour later."""
    good = control_plane.credentials("admin", "system:masters")
    short = certs.issue(control_plane._pki.ca_key, good.ca, good.key.public_key(),
                        certs.Identity("admin", ("system:masters",)), days=8 / 86400)
    ends = short.not_valid_after_utc.timestamp()
    connection = connect(control_plane.bus("admin"), "raw")
    proof = CertificateCredentials(short, good.key, good.ca).prove(connection)
    subject, data, key, _ = create_request(connection, proof)
    assert code(sent(connection, subject, data, key))[0] == 201
    while time.time() <= ends + 1:  # the certificate's own end: what this test is about
        time.sleep(0.2)
    before = revision(admin)
    subject, data, key, _ = create_request(connection, proof)
    status, message = code(sent(connection, subject, data, key))
    assert status == 401
    assert message.startswith("Unauthorized: x509: certificate has expired or is not yet valid: "
                              "current time ")
    assert message.endswith(f"is after {short.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}; the "
                            "session ended with it")
    assert revision(admin) == before


def test_the_secrets_a_control_plane_writes_are_its_own(control_plane):
    pki = control_plane.config.data_dir / "pki"
    assert stat.S_IMODE(pki.stat().st_mode) == 0o700
    secrets = [p for p in pki.iterdir() if p.suffix != ".crt"]
    assert {"ca.key", "ticket.key", "admin.key"} <= {p.name for p in secrets}
    for path in [*secrets, control_plane.config.data_dir / "kubeconfig"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
