"""The credentials a front (the HTTPS listener) forwards for its client, checked by the
apiserver: a certificate of the cluster CA or a bearer token, and only from a front."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization

from actors.api import certs
from actors.api.users import UserInfo
from actors.apiserver.authn import Forwarding, TokenAuthenticator
from bus.errors import BadRequest, Unauthorized

FRONT = UserInfo("system:kube-apiserver-https", "", ("system:authenticated",))
CA_KEY, CA = certs.new_ca()


def _forwarding() -> Forwarding:
    tokens = TokenAuthenticator({"secret": UserInfo("robot", "r1", ("bots",))})
    return Forwarding(CA, tokens, frozenset((FRONT.name,)))


def _der(ca_key: certs.PrivateKey = CA_KEY, ca=CA, server: bool = False) -> bytes:
    key = certs.new_key()
    cert = certs.issue(ca_key, ca, key.public_key(),
                       certs.Identity("alice", ("devs", "ops")), server=server)
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_forwarded_certificate_is_its_cn_in_its_o_groups():
    user = _forwarding().user({"certificate": _der()}, FRONT)
    assert user == UserInfo("alice", "", ("devs", "ops", "system:authenticated"))


def test_a_forwarded_token_is_its_user():
    assert _forwarding().user({"token": "secret"}, FRONT).name == "robot"


@pytest.mark.parametrize("forwarded", [
    {}, {"token": "wrong"}, {"certificate": b"not a certificate"},
    {"certificate": _der(*certs.new_ca())}, {"certificate": _der(server=True)},
])
def test_forwarded_credentials_that_prove_nobody_are_401(forwarded):
    with pytest.raises(Unauthorized):
        _forwarding().user(forwarded, FRONT)


def test_only_a_front_may_forward():
    with pytest.raises(Unauthorized, match='user "mallory" may not forward credentials'):
        _forwarding().user({"token": "secret"}, UserInfo("mallory"))


def test_forwarded_credentials_must_be_a_map():
    with pytest.raises(BadRequest):
        _forwarding().user("secret", FRONT)


# -- the cache of verified certificates ---------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _cert_der(identity: certs.Identity, key: certs.PrivateKey, ca_key: certs.PrivateKey = CA_KEY,
              ca=CA, days: float = 365) -> bytes:
    cert = certs.issue(ca_key, ca, key.public_key(), identity, days=days)
    return cert.public_bytes(serialization.Encoding.DER)


def _cached(clock: _Clock | None = None) -> tuple[Forwarding, certs.PrivateKey]:
    """A forwarding that has verified alice's certificate once (so it is in its cache)."""
    forwarding = replace(_forwarding(), clock=clock or time.time)
    key = certs.new_key()
    assert forwarding.user({"certificate": _cert_der(ALICE, key)}, FRONT).name == "alice"
    return forwarding, key


ALICE = certs.Identity("alice", ("devs",))


def test_the_same_certificate_again_is_answered_without_verifying_it(monkeypatch):
    forwarding = _forwarding()
    der = _cert_der(ALICE, certs.new_key())
    forwarding.user({"certificate": der}, FRONT)
    monkeypatch.setattr(certs, "verify", _never)
    assert forwarding.user({"certificate": der}, FRONT).name == "alice"


def test_another_certificate_of_the_same_ca_is_its_own_user():
    forwarding, key = _cached()
    other = _cert_der(certs.Identity("bob", ("qa",)), key)
    assert forwarding.user({"certificate": other}, FRONT) == UserInfo(
        "bob", "", ("qa", "system:authenticated"))


def test_a_certificate_of_another_ca_is_refused_though_the_same_name_and_key_are_cached():
    forwarding, key = _cached()
    other_key, other_ca = certs.new_ca()
    with pytest.raises(Unauthorized, match="unknown authority"):
        forwarding.user({"certificate": _cert_der(ALICE, key, other_key, other_ca)}, FRONT)


def test_a_certificate_whose_signature_was_altered_is_refused_after_the_genuine_one():
    forwarding, key = _cached()
    der = bytearray(_cert_der(ALICE, key))
    der[-1] ^= 1  # the last byte of the CA's signature
    with pytest.raises(Unauthorized):
        forwarding.user({"certificate": bytes(der)}, FRONT)


def test_an_expired_certificate_of_the_same_name_and_key_is_refused():
    clock = _Clock()
    forwarding, key = _cached(clock)
    expiring = _cert_der(ALICE, key, days=1)
    assert forwarding.user({"certificate": expiring}, FRONT).name == "alice"
    clock.now += 2 * 86400
    with pytest.raises(Unauthorized, match="expired"):
        forwarding.user({"certificate": expiring}, FRONT)


def test_a_cached_certificate_is_refused_once_expired_and_before_it_is_valid():
    clock = _Clock()
    forwarding = replace(_forwarding(), clock=clock)
    der = _cert_der(ALICE, certs.new_key(), days=1)
    start = clock.now
    forwarding.user({"certificate": der}, FRONT)
    for moment in (start + 2 * 86400, start - 3600):
        clock.now = moment
        with pytest.raises(Unauthorized, match="expired or is not yet valid"):
            forwarding.user({"certificate": der}, FRONT)


def test_the_cache_keeps_a_bounded_number_of_certificates():
    forwarding = _forwarding()
    forwarding._certified.size = 2
    for name in ("a", "b", "c"):
        forwarding.user({"certificate": _cert_der(certs.Identity(name), certs.new_key())}, FRONT)
    assert len(forwarding._certified._found) == 2


def _never(*args: object) -> certs.Identity:
    raise AssertionError("the certificate was verified again")
