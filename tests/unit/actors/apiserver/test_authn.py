"""Certificate sessions on the apiserver's side (actors/apiserver/authn.py) and the client's
(actors/client/credentials.py), on a clock the test moves: no session outlives its certificate, and
no replay is accepted at any moment its original would be."""

from __future__ import annotations

import os
import time
from concurrent.futures import Future
from typing import Any

import msgpack
import pytest

from actors.api import certs
from actors.api.certs import Identity
from actors.apiserver.authn import (
    EitherAuthenticator,
    Handshaker,
    NonceCache,
    Replayed,
    SessionAuthenticator,
    Signed,
    TokenAuthenticator,
)
from actors.client.credentials import CertificateCredentials
from bus.config import BusConfig
from bus.envelope import Envelope, mac
from bus.errors import BusTimeout, Unauthorized
from bus.subjects import Subjects

CA_KEY, CA = certs.new_ca()
SERVER_KEY = certs.new_key()
SERVER = certs.issue(CA_KEY, CA, SERVER_KEY.public_key(), Identity("kube-apiserver"),
                     server=True)
TICKETS = os.urandom(32)
WINDOW = 30.0
SUBJECT = "kubeactor.api.core.configmaps.create"
REPLY = "kubeactor.inbox.alice.1.2"
LATE = WINDOW - 0.5
"""How long after the server started answering the replayed request is first sent: late in
whatever generation a cache began with."""


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class HelloOnly:
    """The part of a Connection that CertificateCredentials use for a handshake: each hello is
    answered by ``handshaker`` (and counted)."""

    config = BusConfig(user="alice")

    def __init__(self, handshaker: Handshaker) -> None:
        self.handshaker, self.subjects, self.hellos = handshaker, Subjects(), 0

    def request(self, subject: str, envelope: Envelope) -> Future[Envelope]:
        assert subject == self.subjects.hello
        self.hellos += 1
        answered: Future[Envelope] = Future()
        answered.set_result(Envelope(body=self.handshaker.answer(envelope.body)))
        return answered


def client(minutes: float = 60 * 24) -> tuple[certs.PrivateKey, Any]:
    """A key and a client certificate for alice, valid from now for ``minutes``."""
    key = certs.new_key()
    return key, certs.issue(CA_KEY, CA, key.public_key(), Identity("alice", ("devs",)),
                            days=minutes / (24 * 60))


def request(auth: dict[str, Any], key: bytes) -> tuple[dict[str, Any], Signed]:
    """``auth`` on a request MACed with the session ``key`` (its bytes stand for an envelope)."""
    data = msgpack.packb(auth)
    return auth, Signed(SUBJECT, data, mac(key, SUBJECT, REPLY, data), REPLY)


def session_request(ticket: bytes, key: bytes, stamp: float) -> tuple[dict[str, Any], Signed]:
    return request({"ticket": ticket, "ts": stamp, "nonce": os.urandom(12)}, key)


# -- a session ends with its certificate --------------------------------------------------------


def test_a_request_after_the_certificates_end_is_refused_saying_so():
    key, cert = client(minutes=10)
    ends = cert.not_valid_after_utc.timestamp()
    clock = Clock(ends - 600)
    handshaker = Handshaker(CA, SERVER, SERVER_KEY, TICKETS, lifetime=3600, clock=clock)
    sessions = SessionAuthenticator(TICKETS, WINDOW, clock)
    message, pending = certs.hello(cert, key, clock())
    ticket, session_key, expires = certs.finish(handshaker.answer(message), pending, CA, clock())
    assert expires == ends
    clock.now = ends - 1
    assert sessions.authenticate(*session_request(ticket, session_key, clock())).name == "alice"
    clock.now = ends + 1
    with pytest.raises(Unauthorized, match=r"certificate has expired or is not yet valid: "
                                           r".* the session ended with it$"):
        sessions.authenticate(*session_request(ticket, session_key, clock()))


def test_the_client_renews_its_session_before_the_certificate_ends_then_says_it_expired():
    key, cert = client(minutes=10)
    ends = cert.not_valid_after_utc.timestamp()
    clock = Clock(ends - 600)
    connection = HelloOnly(Handshaker(CA, SERVER, SERVER_KEY, TICKETS, clock=clock))
    sessions = SessionAuthenticator(TICKETS, WINDOW, clock)
    credentials = CertificateCredentials(cert, key, CA, clock)
    for now, hellos in ((ends - 600, 1), (ends - 300, 1), (ends - 60, 2), (ends - 5, 3)):
        clock.now = now
        proof = credentials.prove(connection)  # type: ignore[arg-type]
        assert connection.hellos == hellos
        assert proof.auth is not None and proof.mac_key is not None
        assert sessions.authenticate(*request(proof.auth, proof.mac_key)).name == "alice"
    clock.now = ends + 1
    with pytest.raises(Unauthorized, match="certificate has expired or is not yet valid"):
        credentials.prove(connection)  # type: ignore[arg-type]


def test_the_proofs_of_two_clients_never_repeat_a_nonce_and_are_all_accepted():
    clock = Clock(time.time())
    handshaker = Handshaker(CA, SERVER, SERVER_KEY, TICKETS, clock=clock)
    sessions = SessionAuthenticator(TICKETS, WINDOW, clock)
    connection = HelloOnly(handshaker)
    nonces = set()
    for key, cert in (client(), client()):
        credentials = CertificateCredentials(cert, key, CA, clock)
        for _ in range(500):
            proof = credentials.prove(connection)  # type: ignore[arg-type]
            assert proof.auth is not None and proof.mac_key is not None
            nonces.add(proof.auth["nonce"])
            assert sessions.authenticate(*request(proof.auth, proof.mac_key)).name == "alice"
    assert len(nonces) == 1000


# -- replays ------------------------------------------------------------------------------------


def moments(first: float, last: float, step: float) -> list[float]:
    return [first + i * step for i in range(int((last - first) / step) + 1)]


@pytest.mark.parametrize("skew", [-WINDOW, -12.5, 0.0, 12.5, WINDOW])
def test_a_replayed_request_is_refused_at_every_moment_of_its_window(skew):
    """The sender's clock is ``skew`` ahead of the server's: its request stays fresh until
    ``skew + WINDOW`` seconds after it was sent (a whole minute when the sender is a window
    ahead), and is refused as a replay all that time while other requests, sent a quarter
    second apart from a window before it until it is stale, are accepted."""
    start = time.time()
    sent, clock = start + LATE, Clock(start)
    sessions = SessionAuthenticator(TICKETS, WINDOW, clock)
    session_key = os.urandom(32)
    ticket = certs.seal(certs.Session(Identity("alice"), session_key, start + 3600), TICKETS)
    original = session_request(ticket, session_key, sent + skew)
    for now in moments(start, sent + skew + WINDOW + 5, 0.25):
        clock.now = now
        assert sessions.authenticate(*session_request(ticket, session_key, now)).name == "alice"
        if now == sent:
            assert sessions.authenticate(*original).name == "alice"
        elif now > sent:
            with pytest.raises(Unauthorized) as refused:
                sessions.authenticate(*original)
            fresh = abs(now - (sent + skew)) <= WINDOW
            assert ("replayed request" in refused.value.message) is fresh, now - sent


@pytest.mark.parametrize("skew", [-WINDOW, 0.0, WINDOW])
def test_a_replayed_hello_is_refused_at_every_moment_of_its_window(skew):
    key, cert = client()
    start = time.time()
    sent, clock = start + LATE, Clock(start)
    handshaker = Handshaker(CA, SERVER, SERVER_KEY, TICKETS, window=WINDOW, clock=clock)
    original, _ = certs.hello(cert, key, sent + skew)
    for now in moments(start, sent + skew + WINDOW + 5, 0.5):
        clock.now = now
        handshaker.answer(certs.hello(cert, key, now)[0])
        if now == sent:
            handshaker.answer(original)
        elif now > sent:
            with pytest.raises(Unauthorized) as refused:
                handshaker.answer(original)
            fresh = abs(now - (sent + skew)) <= WINDOW
            assert ("replayed handshake" in refused.value.message) is fresh, now - sent


def test_a_nonce_is_forgotten_only_once_its_request_is_stale():
    nonces = NonceCache(WINDOW)
    assert nonces.first_time(b"n" * 12, until=160.0, now=100.0)
    for now in moments(100.0, 160.0, 0.5):
        assert not nonces.first_time(b"n" * 12, until=now + WINDOW, now=now)
    assert nonces.first_time(b"n" * 12, until=250.0, now=220.0)


def test_flow_controls_refusal_answers_a_session_request_once_and_then_serves_no_copy():
    """A request refused with 429 before it was authenticated: its first refusal is answered
    and takes its nonce, so a copy of it is neither answered nor served; a copy of a request
    served is not answered either; a token request always is."""
    key, cert = client()
    clock = Clock(time.time())
    handshaker = Handshaker(CA, SERVER, SERVER_KEY, TICKETS, clock=clock)
    sessions = EitherAuthenticator(TokenAuthenticator({}), SessionAuthenticator(TICKETS, WINDOW,
                                                                                clock))
    message, pending = certs.hello(cert, key, clock())
    ticket, session_key, _ = certs.finish(handshaker.answer(message), pending, CA, clock())
    refused = session_request(ticket, session_key, clock())
    assert sessions.first_answer(refused[0])
    assert not sessions.first_answer(refused[0])
    with pytest.raises(Replayed):
        sessions.authenticate(*refused)
    served = session_request(ticket, session_key, clock())
    assert sessions.authenticate(*served).name == "alice"
    assert not sessions.first_answer(served[0])
    stale = session_request(ticket, session_key, clock() - 2 * WINDOW)
    assert sessions.first_answer(stale[0]) and sessions.first_answer(stale[0])
    assert sessions.first_answer({"token": "t"}) and sessions.first_answer("not a map")
    made_up = {**refused[0], "ticket": b"\0" * len(ticket), "nonce": b"made-up-nonce"}
    assert sessions.first_answer(made_up) and sessions.first_answer(made_up)
    assert sessions.sessions.nonces.first_time(  # type: ignore[attr-defined]
        b"made-up-nonce", clock() + WINDOW, clock())  # not taken


class FirstHelloLost(HelloOnly):
    """Leaves the first hello unanswered (the bus's timeout), answers the next ones."""

    def request(self, subject: str, envelope: Envelope) -> Future[Envelope]:
        if self.hellos == 0:
            self.hellos += 1
            lost: Future[Envelope] = Future()
            lost.set_exception(BusTimeout(f"no reply on {subject} within 10.0s"))
            return lost
        return super().request(subject, envelope)


def test_a_hello_left_unanswered_is_sent_once_more_before_the_client_gives_up():
    key, cert = client()
    clock = Clock(time.time())
    connection = FirstHelloLost(Handshaker(CA, SERVER, SERVER_KEY, TICKETS, clock=clock))
    sessions = SessionAuthenticator(TICKETS, WINDOW, clock)
    proof = CertificateCredentials(cert, key, CA, clock).prove(connection)  # type: ignore[arg-type]
    assert connection.hellos == 2
    assert proof.auth is not None and proof.mac_key is not None
    assert sessions.authenticate(*request(proof.auth, proof.mac_key)).name == "alice"
