"""The credentials a front (the HTTPS listener) forwards for its client, checked by the
apiserver: a certificate of the cluster CA or a bearer token, and only from a front."""

from __future__ import annotations

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
