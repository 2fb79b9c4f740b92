"""The auth callout's decisions (bus/callout.py, actors/apiserver/busauth.py), without a server:
a request read from a server's JWT, who its credentials prove, the answer admitting or refusing
it, and whose subjects a user may have events sent to."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from actors.api import certs
from actors.api.users import UserInfo
from actors.apiserver.authn import AUTHENTICATED, TokenAuthenticator
from actors.apiserver.busauth import (
    Admitted,
    answer,
    check_owner,
    check_reply,
    identify,
    may_answer,
    owners,
)
from bus import callout
from bus.errors import BadRequest, Forbidden, Unauthorized
from bus.nkeys import ACCOUNT, SERVER, USER, KeyPair, decode_jwt, encode_jwt
from bus.subjects import Subjects

CA_KEY, CA = certs.new_ca()
TOKENS = TokenAuthenticator({"tok-dev": UserInfo("dev", "1", ("devs",)),
                             "tok-node": UserInfo("system:node:n1", "2")})
SERVER_KEY, ISSUER = KeyPair.generate(SERVER), KeyPair.generate(ACCOUNT)
NONCE = "a-fresh-nonce"


def server_request(connect_opts: dict[str, Any], nonce: str = NONCE) -> bytes:
    """What nats-server sends for a connection with these CONNECT options."""
    return encode_jwt({"aud": callout.REQUEST_AUDIENCE, "exp": int(time.time()) + 2,
                       "sub": ISSUER.public, "nats": {
                           "server_id": {"id": SERVER_KEY.public, "name": "n"},
                           "user_nkey": KeyPair.generate(USER).public,
                           "client_info": {"host": "127.0.0.1", "nonce": nonce},
                           "connect_opts": connect_opts, "type": "authorization_request",
                           "version": 2}}, SERVER_KEY).encode()


def certificate_opts(user: str, groups: tuple[str, ...] = (), ca_key=CA_KEY, ca=CA,
                     days: float = 1, signed_nonce: str = NONCE) -> dict[str, Any]:
    key = certs.new_key()
    cert = certs.issue(ca_key, ca, key.public_key(), certs.Identity(user, groups), days=days)
    return {"auth_token": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)
                                           ).decode(),
            "sig": callout.sign_nonce(key.sign, signed_nonce).decode()}


def decide(opts: dict[str, Any]) -> Admitted:
    return identify(callout.read_request(server_request(opts)), CA, TOKENS, time.time())


def test_a_certificate_that_signed_this_nonce_is_its_user_until_it_expires():
    admitted = decide(certificate_opts("alice", ("devs",)))
    assert admitted.user == "alice" and admitted.expires > time.time() + 3600
    assert decide(certificate_opts("system:node:n1", ("system:nodes",))).user == \
        "system:node:n1"


@pytest.mark.parametrize(("opts", "why"), [
    (certificate_opts("alice", signed_nonce="another nonce"), "nonce"),
    (certificate_opts("alice", ca_key=(other := certs.new_ca())[0], ca=other[1]),
     "unknown authority"),
    (certificate_opts("alice", days=-0.001), "expired"),
    (certificate_opts("system:node:n1"), "not in system:nodes"),
    (certificate_opts("admin", ("system:masters",)), "control plane"),
    (certificate_opts("system:node-sim"), "control plane"),
    ({"auth_token": "bm90IGEgY2VydA==", "sig": "c2ln"}, "cannot be read"),
    ({"user": "dev", "pass": "tok-wrong"}, "invalid bearer token"),
    ({"user": "alice", "pass": "tok-dev"}, "not user 'alice'"),
    ({"user": "system:node:n1", "pass": "tok-node"}, "not in system:nodes"),
    ({"auth_token": "tok-dev"}, "NATS user <its user>"),
    ({}, "no credentials"),
])
def test_what_proves_nobody_is_refused_saying_why(opts, why):
    with pytest.raises(Unauthorized, match=why):
        decide(opts)


def test_a_certificate_signing_an_empty_nonce_is_refused():
    # a server that sent no nonce (no nkey user configured) gives nothing to tie to the
    # connection: a signature over the bare context could be replayed
    request = callout.read_request(server_request(certificate_opts("alice", signed_nonce=""),
                                                  nonce=""))
    with pytest.raises(Unauthorized, match="nonce"):
        identify(request, CA, TOKENS, time.time())


def test_a_token_is_its_users_as_nats_user_and_password():
    assert decide({"user": "dev", "pass": "tok-dev"}) == Admitted("dev")


def test_a_request_not_signed_by_the_server_it_names_gets_no_answer():
    forged = encode_jwt({"aud": callout.REQUEST_AUDIENCE, "nats": {
        "server_id": {"id": SERVER_KEY.public}, "user_nkey": KeyPair.generate(USER).public}},
        KeyPair.generate(SERVER))  # signed by another server than the one it names
    assert answer(forged.encode(), ISSUER, CA, TOKENS, Subjects()) is None
    assert answer(b"garbage", ISSUER, CA, TOKENS, Subjects()) is None


@pytest.mark.parametrize("change", [{"exp": "soon"}, {"server_id": "n"}, {"client_info": [1]},
                                    {"connect_opts": "x"}])
def test_a_malformed_request_of_a_server_gets_no_answer_and_raises_nothing(change):
    nats_claims = {"server_id": {"id": SERVER_KEY.public}, "user_nkey":
                   KeyPair.generate(USER).public, "client_info": {}, "connect_opts": {}}
    claims: dict[str, Any] = {"aud": callout.REQUEST_AUDIENCE, "nats": nats_claims}
    if "exp" in change:
        claims.update(change)
    else:
        nats_claims.update(change)
    data = encode_jwt(claims, SERVER_KEY).encode()
    assert answer(data, ISSUER, CA, TOKENS, Subjects()) is None


def test_the_answer_admits_one_connection_with_the_tables_permissions():
    data = server_request(certificate_opts("bob"))
    request = callout.read_request(data)
    reply = decode_jwt(answer(data, ISSUER, CA, TOKENS, Subjects()).decode(), ACCOUNT)
    assert (reply["sub"], reply["aud"], reply["iss"]) == (
        request.user_nkey, SERVER_KEY.public, ISSUER.public)
    user = decode_jwt(reply["nats"]["jwt"], ACCOUNT)
    assert (user["sub"], user["aud"], user["name"]) == (request.user_nkey, "$G", "bob")
    assert user["nats"]["sub"] == {"allow": [
        "kubeactor.inbox.bob.>", "kubeactor.watch.bob.>", "kubeactor.admission.bob.*"]}
    assert user["nats"]["pub"] == {"allow": ["kubeactor.api.>", "kubeactor.authn.hello",
                                            "kubeactor.trace.chaos"]}
    assert user["nats"]["resp"] == {"max": 1, "ttl": 3600 * 10**9}
    assert user["exp"] > time.time()


def test_a_refusal_tells_the_server_why():
    data = server_request({})
    reply = decode_jwt(answer(data, ISSUER, CA, TOKENS, Subjects()).decode(), ACCOUNT)
    assert "jwt" not in reply["nats"] and "no credentials" in reply["nats"]["error"]


def test_a_user_has_events_sent_only_to_its_own_subjects():
    alice = UserInfo("alice", "", (AUTHENTICATED,))
    assert owners(alice) == {"alice"}
    assert owners(UserInfo("a.b", "", ())) == {"a_2eb"}
    assert owners(UserInfo("system:node:n1", "", ("system:nodes",))) == {"system:node:n1"}
    assert owners(UserInfo("system:node:n1", "", ("system:nodes", "system:node-sim"))) == {
        "system:node:n1", "system:node-sim"}
    assert owners(UserInfo("root", "", ("system:masters",))) == {"root", "admin"}
    check_owner(alice, "alice", "watch events")
    with pytest.raises(Forbidden, match=r'may not have watch events sent to .* "bob"'):
        check_owner(alice, "bob", "watch events")


@pytest.mark.parametrize("reply_to", [
    "kubeactor.inbox.bob.r.1", "kubeactor.node.n1.exec", "kubeactor.watch.alice.w1",
    "kubeactor.trace.store", "$JS.API.STREAM.DELETE.KV_kubeactor-store",
    "$KV.kubeactor-store.=2Fpods", "kubeactor.inbox.alice", "kubeactor.inbox.alice.>",
    "kubeactor.inbox.alice.*", "kubeactor.inbox.alice..x", "kubeactor.inbox.apiserver.1",
    "kubeactor.inboxes.alice.1", "$SYS._INBOX.abc.def"])
def test_an_answer_goes_only_into_an_inbox_its_sender_owns(reply_to: str):
    alice = UserInfo("alice", "", (AUTHENTICATED,))
    assert may_answer(alice, "kubeactor.inbox.alice.r1.7", Subjects())
    check_reply(alice, "kubeactor.inbox.alice.r1.7", Subjects())
    check_reply(alice, None, Subjects())  # no reply subject: nothing is sent
    assert not may_answer(alice, reply_to, Subjects())
    with pytest.raises(BadRequest, match=r'is not an inbox of user "alice"'):
        check_reply(alice, reply_to, Subjects())


def test_before_anyone_is_authenticated_an_answer_goes_only_into_some_inbox():
    assert may_answer(None, "kubeactor.inbox.bob.r.1", Subjects())
    for elsewhere in ("kubeactor.node.n1.exec", "$KV.kubeactor-store.x", "kubeactor.inbox.bob",
                      # the apiserver's own calls and the store's wait there
                      "kubeactor.inbox.apiserver.r.1", "kubeactor.inbox.system:store.r.1"):
        assert not may_answer(None, elsewhere, Subjects())


def test_the_admins_and_a_simulated_nodes_answers_may_go_to_their_shared_identities():
    root = UserInfo("root", "", ("system:masters",))
    simulated = UserInfo("system:node:n1", "", ("system:nodes", "system:node-sim"))
    node = UserInfo("system:node:n1", "", ("system:nodes",))
    assert may_answer(root, "kubeactor.inbox.admin.r.1", Subjects())
    assert may_answer(simulated, "kubeactor.inbox.system:node-sim.r.1", Subjects())
    assert not may_answer(node, "kubeactor.inbox.system:node-sim.r.1", Subjects())
    assert not may_answer(node, "kubeactor.inbox.system:node:n2.r.1", Subjects())


def test_a_node_name_that_cannot_be_a_subject_token_is_refused_not_dropped():
    data = server_request(certificate_opts("system:node:a*b", ("system:nodes",)))
    reply = decode_jwt(answer(data, ISSUER, CA, TOKENS, Subjects()).decode(), ACCOUNT)
    assert "cannot be a subject token" in reply["nats"]["error"]
