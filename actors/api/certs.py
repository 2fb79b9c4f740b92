"""Certificates and sessions: who a request comes from, proven on an untrusted bus.

Pure functions over keys and bytes (the ``cryptography`` package); files are the caller's.

- The cluster CA (Ed25519, self-signed) issues client certificates whose subject says who the
  holder is, as in Kubernetes: ``CN`` the user name, each ``O`` a group (``system:masters``,
  ``system:nodes``...). A new user's key pair is made where it will be used; only a signing
  request (:func:`make_csr`) travels to the CA (:func:`sign_csr`).
- A signature verified per request would cost far more than a MAC (benchmarks/RESULTS.md,
  One-off measurements), so, as TLS does, a client proves its certificate once in a
  handshake: it sends its certificate, an ephemeral X25519 key, a timestamp and a nonce,
  signed with its certificate's key (:func:`hello`). The apiserver checks the chain to the
  CA, the validity dates, the signature and the freshness
  (:func:`check_hello`; the nonce is the caller's), and answers with its own ephemeral key,
  signed by its own certificate (:func:`welcome`). Both derive the session key from the X25519
  secret; the apiserver also returns a *ticket*: the session (user, groups, key, expiry) sealed
  with AES-GCM under a key only apiservers hold, so that any apiserver can serve the session
  without shared state. A session never outlives the certificate that opened it (as
  kube-apiserver checks a client certificate's dates on every request).
- Each request then carries the ticket, a timestamp and a nonce in its ``auth`` map, and an
  HMAC-SHA256 over its subject, reply subject and bytes (:func:`mac`).

Neighbours: ``actors.apiserver.authn`` (the checks, with the nonce cache), ``actors.client.client``
(the client side), ``bindings.cluster.launcher`` (keeps the CA in the data dir).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgpack
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bus.envelope import mac
from bus.errors import BadRequest, Unauthorized

PrivateKey = ed25519.Ed25519PrivateKey

HELLO = b"kubeactor-hello-v1"
WELCOME = b"kubeactor-welcome-v1"
SESSION_INFO = b"kubeactor-session-v1"
CLOCK_SKEW = timedelta(minutes=5)
"""Certificates are valid from this long before their issue (clocks of machines differ)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a certificate names."""

    user: str
    groups: tuple[str, ...] = ()


# -- keys, certificates and signing requests ----------------------------------------------------


def new_key() -> PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError("kubeactor keys are Ed25519 keys")
    return key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _name(identity: Identity) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity.user)] + [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in identity.groups])


def identity_of(name: x509.Name) -> Identity:
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not common:
        raise Unauthorized("Unauthorized: the certificate names no user (no CN)")
    groups = tuple(str(a.value) for a in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return Identity(str(common[0].value), groups)


def new_ca(name: str = "kubeactor-ca", days: int = 3650) -> tuple[PrivateKey, x509.Certificate]:
    """A self-signed cluster CA."""
    key, now = new_key(), datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, None))
    return key, cert


def issue(ca_key: PrivateKey, ca_cert: x509.Certificate, public_key: ed25519.Ed25519PublicKey,
          identity: Identity, days: float = 365, server: bool = False,
          hosts: tuple[str, ...] = (), peer: bool = False) -> x509.Certificate:
    """A certificate for ``identity``'s key, signed by the CA (for clients unless ``server``;
    for both with ``peer``: a NATS server's, which both ends of a route check); ``hosts`` (names
    or IP addresses) become its subject alternative names, which TLS clients check a server's
    address against."""
    now = datetime.now(UTC)
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server or peer else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if peer or not server else [])
    builder = (x509.CertificateBuilder().subject_name(_name(identity))
               .issuer_name(ca_cert.subject).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [_alternative_name(host) for host in dict.fromkeys(hosts)]), critical=False)
    return builder.sign(ca_key, None)


def _alternative_name(host: str) -> x509.GeneralName:
    """An IP address SAN for an address, else a DNS name SAN."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_csr(key: PrivateKey, identity: Identity) -> bytes:
    """A PEM signing request for ``identity``, signed by ``key`` (which never leaves here)."""
    request = x509.CertificateSigningRequestBuilder().subject_name(_name(identity)).sign(key, None)
    return request.public_bytes(serialization.Encoding.PEM)


def read_csr(pem: bytes) -> tuple[x509.CertificateSigningRequest, Identity]:
    """The request and who it asks to be; BadRequest when it is malformed or mis-signed."""
    try:
        request = x509.load_pem_x509_csr(pem)
    except ValueError as error:
        raise BadRequest(f"the certificate signing request cannot be read: {error}") from None
    if not request.is_signature_valid:
        raise BadRequest("the certificate signing request is not signed by its own key")
    if not isinstance(request.public_key(), ed25519.Ed25519PublicKey):
        raise BadRequest("the certificate signing request must be for an Ed25519 key")
    try:
        return request, identity_of(request.subject)
    except Unauthorized as error:
        raise BadRequest(error.message.removeprefix("Unauthorized: ")) from None


def sign_csr(ca_key: PrivateKey, ca_cert: x509.Certificate, pem: bytes,
             days: float = 365) -> bytes:
    """The PEM certificate answering a signing request."""
    request, identity = read_csr(pem)
    public_key = request.public_key()
    assert isinstance(public_key, ed25519.Ed25519PublicKey)  # read_csr checked it
    return cert_pem(issue(ca_key, ca_cert, public_key, identity, days))


def verify(cert: x509.Certificate, ca_cert: x509.Certificate, now: datetime,
           usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.CLIENT_AUTH) -> Identity:
    """Who ``cert`` names, once it is shown to be the CA's, valid now and meant for ``usage``;
    Unauthorized saying which check failed otherwise."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        raise Unauthorized("Unauthorized: x509: certificate signed by unknown authority"
                           ) from None
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise Unauthorized(
            f"Unauthorized: x509: certificate has expired or is not yet valid: current time "
            f"{now:%Y-%m-%dT%H:%M:%SZ} is outside {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
            f" .. {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}")
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = x509.ExtendedKeyUsage([usage])
    if usage not in usages:
        raise Unauthorized("Unauthorized: x509: certificate specifies an incompatible key usage")
    return identity_of(cert.subject)


# -- the handshake --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    """What a ticket seals: who, with which key, until when."""

    identity: Identity
    key: bytes
    expires: float
    """Seconds since the epoch; never after ``certificate_ends``."""
    certificate_ends: float = math.inf
    """When the certificate that opened the session stops being valid (seconds since the
    epoch): a session ending then ended with its certificate."""


def _signed(*parts: bytes) -> bytes:
    return b"|".join(parts)


@dataclass(frozen=True, slots=True)
class Pending:
    """What the client keeps between its hello and the apiserver's answer."""

    ephemeral: x25519.X25519PrivateKey
    public: bytes
    nonce: bytes


def hello(cert: x509.Certificate, key: PrivateKey,
          now: float | None = None) -> tuple[dict[str, object], Pending]:
    """The client's first message, and what to keep for :func:`finish`."""
    ephemeral = x25519.X25519PrivateKey.generate()
    public = ephemeral.public_key().public_bytes_raw()
    stamp, nonce = float(now if now is not None else time.time()), os.urandom(16)
    message = {"cert": cert_pem(cert), "eph": public, "ts": stamp, "nonce": nonce,
               "sig": key.sign(_signed(HELLO, public, repr(stamp).encode(), nonce))}
    return message, Pending(ephemeral, public, nonce)


@dataclass(frozen=True, slots=True)
class Hello:
    """A hello :func:`check_hello` found valid."""

    identity: Identity
    public: bytes
    """The client's ephemeral X25519 key."""
    nonce: bytes
    stamp: float
    """The client's timestamp (seconds since the epoch): fresh while within the window."""
    certificate_ends: float
    """The client certificate's ``notAfter`` (seconds since the epoch): the session's end at
    the latest."""


def check_hello(message: dict[str, object], ca_cert: x509.Certificate, now: float,
                window: float) -> Hello:
    """The hello, checked (certificate, dates, freshness, signature); Unauthorized saying
    why not. The caller still checks that the nonce is new (remembering it until ``stamp +
    window``, when the hello stops being fresh)."""
    cert_bytes, public, stamp = message.get("cert"), message.get("eph"), message.get("ts")
    nonce, signature = message.get("nonce"), message.get("sig")
    if not (isinstance(cert_bytes, bytes) and isinstance(public, bytes) and len(public) == 32
            and isinstance(stamp, float) and isinstance(nonce, bytes) and len(nonce) == 16
            and isinstance(signature, bytes)):
        raise Unauthorized("Unauthorized: malformed handshake (cert, eph, ts, nonce, sig)")
    try:
        cert = load_cert(cert_bytes)
    except ValueError:
        raise Unauthorized("Unauthorized: the certificate cannot be read") from None
    identity = verify(cert, ca_cert, datetime.fromtimestamp(now, UTC))
    check_fresh("handshake", stamp, now, window)
    check_signature(cert, signature, _signed(HELLO, public, repr(stamp).encode(), nonce),
                    "the handshake signature does not match the certificate")
    return Hello(identity, public, nonce, stamp, cert.not_valid_after_utc.timestamp())


def check_signature(cert: x509.Certificate, signature: bytes, message: bytes,
                    wrong: str) -> None:
    """Unauthorized saying ``wrong`` unless ``cert``'s key (an Ed25519 key) signed
    ``message``."""
    key = cert.public_key()
    try:
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise InvalidSignature
        key.verify(signature, message)
    except InvalidSignature:
        raise Unauthorized(f"Unauthorized: {wrong}") from None


def check_fresh(what: str, stamp: float, now: float, window: float) -> None:
    """Unauthorized unless ``stamp`` is within ``window`` seconds of ``now``, ahead or behind
    (a NaN is never fresh)."""
    if not abs(now - stamp) <= window:
        raise Unauthorized(f"Unauthorized: {what} timestamp is {now - stamp:+.0f}s away from "
                           f"the server's clock (allowed: {window:.0f}s)")


def _session_key(shared: bytes, nonce: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=nonce, info=SESSION_INFO).derive(shared)


def welcome(hello: Hello, server_cert: x509.Certificate, server_key: PrivateKey,
            ticket_key: bytes, lifetime: float, now: float) -> dict[str, object]:
    """The apiserver's answer to a valid hello: its ephemeral key (signed), the ticket and
    when the session expires: after ``lifetime`` seconds, or when the client's certificate
    does if that is sooner."""
    ephemeral = x25519.X25519PrivateKey.generate()
    public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(hello.public))
    session = Session(hello.identity, _session_key(shared, hello.nonce),
                      min(now + lifetime, hello.certificate_ends), hello.certificate_ends)
    return {"eph": public, "cert": cert_pem(server_cert), "expires": session.expires,
            "sig": server_key.sign(_signed(WELCOME, public, hello.public, hello.nonce)),
            "ticket": seal(session, ticket_key)}


def finish(reply: dict[str, object], pending: Pending, ca_cert: x509.Certificate,
           now: float) -> tuple[bytes, bytes, float]:
    """(ticket, session key, expiry) from the apiserver's answer, once its certificate and
    signature are checked; Unauthorized when they are not the cluster's apiserver's."""
    public, cert_bytes, signature = reply.get("eph"), reply.get("cert"), reply.get("sig")
    ticket, expires = reply.get("ticket"), reply.get("expires")
    if not (isinstance(public, bytes) and len(public) == 32 and isinstance(cert_bytes, bytes)
            and isinstance(signature, bytes) and isinstance(ticket, bytes)
            and isinstance(expires, float)):
        raise Unauthorized("Unauthorized: malformed handshake answer")
    try:
        cert = load_cert(cert_bytes)
    except ValueError:
        raise Unauthorized("Unauthorized: the apiserver's certificate cannot be read") from None
    verify(cert, ca_cert, datetime.fromtimestamp(now, UTC), ExtendedKeyUsageOID.SERVER_AUTH)
    check_signature(cert, signature, _signed(WELCOME, public, pending.public, pending.nonce),
                    "the apiserver's handshake signature is wrong")
    shared = pending.ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(public))
    return ticket, _session_key(shared, pending.nonce), expires


# -- tickets and per-request MACs -----------------------------------------------------------------


def seal(session: Session, ticket_key: bytes) -> bytes:
    """``session`` encrypted and authenticated under ``ticket_key`` (AES-256-GCM)."""
    iv = os.urandom(12)
    plain = msgpack.packb([session.identity.user, list(session.identity.groups), session.key,
                           session.expires, session.certificate_ends])
    return iv + AESGCM(ticket_key).encrypt(iv, plain, b"kubeactor-ticket-v1")


def open_ticket(ticket: bytes, ticket_key: bytes) -> Session:
    """The session a ticket seals; Unauthorized when it was not made with ``ticket_key``."""
    try:
        plain = AESGCM(ticket_key).decrypt(ticket[:12], ticket[12:], b"kubeactor-ticket-v1")
        user, groups, key, expires, certificate_ends = msgpack.unpackb(plain)
    except (InvalidTag, ValueError, TypeError):
        raise Unauthorized("Unauthorized: the session ticket is not one of this cluster's; "
                           "handshake again") from None
    return Session(Identity(user, tuple(groups)), key, expires, certificate_ends)


def check_unexpired(session: Session, now: float) -> None:
    """Unauthorized when ``session`` has ended, saying whether its certificate ended it (a
    new handshake then needs a new certificate)."""
    if now <= session.expires:
        return
    if now > session.certificate_ends:
        raise Unauthorized(
            f"Unauthorized: x509: certificate has expired or is not yet valid: current time "
            f"{_utc(now)} is after {_utc(session.certificate_ends)}; the session ended with it")
    raise Unauthorized("Unauthorized: the session has expired; handshake again")


def _utc(stamp: float) -> str:
    return f"{datetime.fromtimestamp(stamp, UTC):%Y-%m-%dT%H:%M:%SZ}"


def mac_matches(key: bytes, subject: str, reply_to: str, data: bytes, claimed: bytes) -> bool:
    """Whether ``claimed`` is the MAC of the holder of ``key`` over ``subject``, ``reply_to``
    and ``data``."""
    return hmac.compare_digest(mac(key, subject, reply_to, data), claimed)
