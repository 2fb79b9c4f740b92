"""What a client shows the apiserver on each request: a bearer token, or a certificate session.

:class:`TokenCredentials` put ``{"token": ...}`` in every envelope. :class:`CertificateCredentials`
hold a certificate and its key: before the first request (and again before the session ends)
they run the handshake of ``actors.api.certs`` with the apiservers over ``<prefix>.authn.hello``
(a session ends with the certificate at the latest, and is renewed before it ends); each
request then carries ``{"ticket", "ts", "nonce"}`` and is MACed with the session key by the
connection (a MAC, not a signature: see ``actors.api.certs``). :class:`ForwardedCredentials`
are a front's (the HTTPS listener's) for one client: its own proof, and the client's credentials
beside it for the apiserver to check (``actors.apiserver.authn.Forwarding``).

Which thread: :meth:`Credentials.prove` blocks for a handshake (never call it on the bus loop);
:meth:`Credentials.aprove` is its coroutine twin for code already on the loop (watch renewals).

Neighbours: ``actors.client.client`` (uses them), ``actors.api.certs`` (the cryptography),
``actors.apiserver.authn`` (the other side).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from actors.api import certs
from bus.config import BusConfig
from bus.connection import Connection
from bus.envelope import Envelope
from bus.errors import BusError, BusTimeout, Unauthorized, api_error
from bus.permissions import lane_of


@dataclass(frozen=True, slots=True)
class Proof:
    """What one request carries: its ``auth`` map, and the key its MAC is made with (if any)."""

    auth: dict[str, Any] | None
    mac_key: bytes | None = None


class Credentials(Protocol):
    def prove(self, connection: Connection) -> Proof:
        """The proof for one more request (may block for a handshake)."""
        ...

    async def aprove(self, connection: Connection) -> Proof:
        """:meth:`prove` on the bus loop."""
        ...


@dataclass(frozen=True, slots=True)
class TokenCredentials:
    token: str | None

    def prove(self, connection: Connection) -> Proof:
        return Proof({"token": self.token} if self.token else None)

    async def aprove(self, connection: Connection) -> Proof:
        return self.prove(connection)


@dataclass(frozen=True, slots=True)
class ForwardedCredentials:
    """A front's own credentials, carrying ``forwarded``: a client's certificate
    (``{"certificate": DER}``) or bearer token (``{"token"}``), or ``{}`` (none: refused)."""

    front: Credentials
    forwarded: dict[str, Any]

    def prove(self, connection: Connection) -> Proof:
        return self._with(self.front.prove(connection))

    async def aprove(self, connection: Connection) -> Proof:
        return self._with(await self.front.aprove(connection))

    def _with(self, proof: Proof) -> Proof:
        return Proof({**(proof.auth or {}), "forwarded": self.forwarded}, proof.mac_key)


@dataclass(frozen=True, slots=True)
class _Session:
    ticket: bytes
    key: bytes
    expires: float


class CertificateCredentials:
    """A client certificate, its key and the cluster CA; sessions opened as needed."""

    RENEW_BEFORE = 0.2
    """Share of a session's life left when a new one is opened (so none expires in flight)."""

    def __init__(self, cert: x509.Certificate, key: certs.PrivateKey, ca: x509.Certificate,
                 clock: Callable[[], float] = time.time) -> None:
        self.cert, self.key, self.ca, self.clock = cert, key, ca, clock
        self._session: _Session | None = None
        self._opened = 0.0
        self._lock = threading.Lock()
        self._nonces = _Nonces()

    @classmethod
    def from_pem(cls, cert: bytes, key: bytes, ca: bytes) -> CertificateCredentials:
        return cls(certs.load_cert(cert), certs.load_key(key), certs.load_cert(ca))

    def bus(self, where: BusConfig) -> BusConfig:
        """``where`` to connect, as this certificate's NATS identity."""
        return certificate_bus(where, self.cert, self.key)

    def prove(self, connection: Connection) -> Proof:
        session = self._fresh()
        if session is None:
            with self._lock:  # one handshake at a time per identity
                session = self._fresh()
                if session is None:
                    session = self._handshake(connection)
        return self._proof(session)

    def _handshake(self, connection: Connection) -> _Session:
        """A new session; a hello left unanswered is sent once more (a fresh one): at a
        cluster's start every component's first hello waits in one paced flow (unverified
        claims share one account, ``actors.apiserver.classifying``)."""
        try:
            try:
                return self._greet(connection)
            except BusTimeout:
                return self._greet(connection)
        except BusError as error:
            raise api_error(error) from error

    def _greet(self, connection: Connection) -> _Session:
        hello, pending = certs.hello(self.cert, self.key, self.clock())
        reply = connection.request(_hello(connection), Envelope(body=hello)).result()
        return self._accept(reply, pending)

    async def aprove(self, connection: Connection) -> Proof:
        session = self._fresh()
        if session is None:
            hello, pending = certs.hello(self.cert, self.key, self.clock())
            reply = await connection.arequest(_hello(connection), Envelope(body=hello))
            session = self._accept(reply, pending)
        return self._proof(session)

    def _fresh(self) -> _Session | None:
        session, now = self._session, self.clock()
        if session is None:
            return None
        margin = (session.expires - self._opened) * self.RENEW_BEFORE
        return session if now < session.expires - margin else None

    def _accept(self, reply: Envelope, pending: certs.Pending) -> _Session:
        reply.raise_for_status()
        if not isinstance(reply.body, dict):
            raise Unauthorized("Unauthorized: malformed handshake answer")
        now = self.clock()
        ticket, key, expires = certs.finish(reply.body, pending, self.ca, now)
        self._session, self._opened = _Session(ticket, key, expires), now
        return self._session

    def _proof(self, session: _Session) -> Proof:
        return Proof({"ticket": session.ticket, "ts": self.clock(), "nonce": self._nonces.next()},
                     session.key)


def _hello(connection: Connection) -> str:
    """Where ``connection``'s user sends its handshake: on its lane (the admin's, apart from
    everyone else's requests)."""
    return connection.subjects.hello_on(lane_of(connection.config.user or ""))


class _Nonces:
    """The nonces of a session's requests. The apiserver refuses a nonce it has seen from
    anybody within the freshness window (``actors.apiserver.authn.NonceCache``, checked after
    the MAC), so they must be unique across every client, and unpredictable so that nobody who
    sees some could spend the next ones first. Each is a keyed BLAKE2b of a counter: a
    pseudo-random function under a key of this process's, so unique and unpredictable without
    the key; one ``os.urandom`` per credentials, not per request (a system call that gives up
    the GIL, which a busy process then waits milliseconds to get back)."""

    def __init__(self) -> None:
        self._key = os.urandom(32)
        self._counter = itertools.count()

    def next(self) -> bytes:
        """16 bytes never returned before (any thread: ``itertools.count`` is atomic)."""
        return hashlib.blake2b(next(self._counter).to_bytes(8, "big"), key=self._key,
                               digest_size=16).digest()


def certificate_bus(where: BusConfig, cert: x509.Certificate, key: certs.PrivateKey
                    ) -> BusConfig:
    """``where`` to connect, as the NATS identity of ``cert`` (its user, CN): the auth callout
    admits the connection once ``key`` has signed the server's nonce (``bus.callout``)."""
    return replace(where, user=certs.identity_of(cert.subject).user, password=None, token=None,
                   certificate=cert.public_bytes(serialization.Encoding.DER), key=key)
