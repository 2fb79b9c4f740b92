"""Certificates, signing requests, the handshake and session MACs (actors.api.certs)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from actors.api import certs
from actors.api.certs import Identity
from bus.envelope import mac
from bus.errors import BadRequest, Unauthorized

CA_KEY, CA = certs.new_ca()
SERVER_KEY = certs.new_key()
SERVER = certs.issue(CA_KEY, CA, SERVER_KEY.public_key(), Identity("kube-apiserver"),
                     server=True)
TICKETS = os.urandom(32)


def client(user: str = "alice", groups: tuple[str, ...] = ("devs",), ca=(CA_KEY, CA)):
    key = certs.new_key()
    return key, certs.issue(ca[0], ca[1], key.public_key(), Identity(user, groups))


def test_a_certificate_of_the_ca_names_its_user_and_groups():
    _, cert = client("system:node:east", ("system:nodes",))
    assert certs.verify(cert, CA, datetime.now(UTC)) == Identity("system:node:east",
                                                                ("system:nodes",))


@pytest.mark.parametrize(("when", "words"), [
    (timedelta(days=400), "has expired or is not yet valid"),
    (timedelta(days=-1), "has expired or is not yet valid"),
])
def test_certificates_outside_their_dates_are_refused(when, words):
    _, cert = client()
    with pytest.raises(Unauthorized, match=words):
        certs.verify(cert, CA, datetime.now(UTC) + when)


def test_certificates_of_another_ca_or_for_servers_are_refused():
    _, foreign = client(ca=certs.new_ca())
    with pytest.raises(Unauthorized, match="signed by unknown authority"):
        certs.verify(foreign, CA, datetime.now(UTC))
    with pytest.raises(Unauthorized, match="incompatible key usage"):
        certs.verify(SERVER, CA, datetime.now(UTC))


def test_a_signing_request_becomes_a_certificate_for_the_requesters_key():
    key = certs.new_key()
    request = certs.make_csr(key, Identity("bob", ("qa", "devs")))
    cert = certs.load_cert(certs.sign_csr(CA_KEY, CA, request))
    assert certs.verify(cert, CA, datetime.now(UTC)) == Identity("bob", ("qa", "devs"))
    assert cert.public_key() == key.public_key()


def test_malformed_or_nameless_signing_requests_are_bad_requests():
    with pytest.raises(BadRequest, match="cannot be read"):
        certs.sign_csr(CA_KEY, CA, b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")
    nameless = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")])).sign(
        certs.new_key(), None).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(BadRequest, match="no user"):
        certs.sign_csr(CA_KEY, CA, nameless)


def test_a_handshake_gives_both_sides_one_session_key_and_a_ticket_any_apiserver_opens():
    key, cert = client()
    message, pending = certs.hello(cert, key)
    now = time.time()
    hello = certs.check_hello(message, CA, now, window=30)
    answer = certs.welcome(hello, SERVER, SERVER_KEY, TICKETS, 3600, now)
    ticket, session_key, expires = certs.finish(answer, pending, CA, now)
    session = certs.open_ticket(ticket, TICKETS)
    assert session.identity == Identity("alice", ("devs",))
    assert session.key == session_key and session.expires == expires == now + 3600
    get, reply = "kubeactor.api.core.pods.get", "kubeactor.inbox.alice.1.2"
    claimed = mac(session_key, get, reply, b"body")
    assert certs.mac_matches(session.key, get, reply, b"body", claimed)
    assert not certs.mac_matches(session.key, "kubeactor.api.core.pods.delete", reply, b"body",
                                 claimed)
    assert not certs.mac_matches(session.key, get, reply, b"bodz", claimed)
    assert not certs.mac_matches(session.key, get, "kubeactor.inbox.eve.1.2", b"body", claimed)


def test_hellos_that_are_forged_stale_or_malformed_are_refused_with_the_reason():
    key, cert = client()
    forged, _ = certs.hello(cert, certs.new_key())
    with pytest.raises(Unauthorized, match="signature does not match"):
        certs.check_hello(forged, CA, time.time(), window=30)
    stale, _ = certs.hello(cert, key, now=time.time() - 120)
    with pytest.raises(Unauthorized, match="away from the server's clock"):
        certs.check_hello(stale, CA, time.time(), window=30)
    with pytest.raises(Unauthorized, match="malformed handshake"):
        certs.check_hello({"cert": "x"}, CA, time.time(), window=30)


def test_an_answer_not_signed_by_the_clusters_apiserver_is_refused():
    key, cert = client()
    message, pending = certs.hello(cert, key)
    now = time.time()
    hello = certs.check_hello(message, CA, now, window=30)
    impostor_key = certs.new_key()
    impostor = certs.issue(*certs.new_ca(), impostor_key.public_key(), Identity("x"),
                           server=True)
    answer = certs.welcome(hello, impostor, impostor_key, TICKETS, 60, now)
    with pytest.raises(Unauthorized, match="unknown authority"):
        certs.finish(answer, pending, CA, now)


def test_tickets_of_another_key_or_tampered_are_refused():
    session = certs.Session(Identity("alice"), os.urandom(32), time.time() + 60)
    ticket = certs.seal(session, TICKETS)
    assert certs.open_ticket(ticket, TICKETS) == session
    with pytest.raises(Unauthorized, match="not one of this cluster's"):
        certs.open_ticket(ticket, os.urandom(32))
    with pytest.raises(Unauthorized):
        certs.open_ticket(ticket[:-1] + bytes([ticket[-1] ^ 1]), TICKETS)


def test_a_session_ends_when_its_certificate_does():
    key = certs.new_key()
    cert = certs.issue(CA_KEY, CA, key.public_key(), Identity("alice"), days=10 / (24 * 60))
    ends = cert.not_valid_after_utc.timestamp()
    message, pending = certs.hello(cert, key)
    now = time.time()
    hello = certs.check_hello(message, CA, now, window=30)
    assert hello.certificate_ends == ends
    ticket, _, expires = certs.finish(
        certs.welcome(hello, SERVER, SERVER_KEY, TICKETS, 3600, now), pending, CA, now)
    assert expires == ends < now + 3600
    session = certs.open_ticket(ticket, TICKETS)
    assert session.expires == session.certificate_ends == ends
    certs.check_unexpired(session, ends)
    with pytest.raises(Unauthorized) as expired:
        certs.check_unexpired(session, ends + 1)
    assert expired.value.message == (
        f"Unauthorized: x509: certificate has expired or is not yet valid: current time "
        f"{datetime.fromtimestamp(ends + 1, UTC):%Y-%m-%dT%H:%M:%SZ} is after "
        f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}; the session ended with it")


def test_a_session_shorter_than_its_certificate_just_expires():
    session = certs.Session(Identity("alice"), os.urandom(32), 1000.0, 5000.0)
    certs.check_unexpired(session, 1000.0)
    with pytest.raises(Unauthorized) as expired:
        certs.check_unexpired(session, 1001.0)
    assert expired.value.message == "Unauthorized: the session has expired; handshake again"


@pytest.mark.parametrize("stamp", [float("nan"), float("inf"), float("-inf")])
def test_timestamps_that_are_not_times_are_never_fresh(stamp):
    with pytest.raises(Unauthorized, match="away from the server's clock"):
        certs.check_fresh("request", stamp, time.time(), 30)
