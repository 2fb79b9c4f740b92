"""Service account tokens at the apiserver (actors/apiserver/authn.py, tokens.py): who a token
is, checked against what the store holds on every use; the signature checked once; TokenRequest's
binding rules and TokenReview's answers."""

from __future__ import annotations

import pytest

from actors.api import tokens
from actors.api.users import UserInfo
from actors.apiserver.authn import (
    BearerAuthenticator,
    ServiceAccountAuthenticator,
    TokenAuthenticator,
)
from actors.apiserver.tokens import TokenIssuer
from bus.errors import BadRequest, Conflict, NotFound, Unauthorized

NOW = 1_800_000_000.0
KEY = tokens.new_key()
ACCOUNT = {"metadata": {"name": "builder", "namespace": "ci", "uid": "sa-uid"}}
POD = {"metadata": {"name": "job", "namespace": "ci", "uid": "pod-uid"},
       "spec": {"serviceAccountName": "builder"}}


class Store(dict):
    def lookup(self, resource: str, namespace: str, name: str):
        return self.get((resource, namespace, name))


@pytest.fixture
def store() -> Store:
    return Store({("serviceaccounts", "ci", "builder"): ACCOUNT, ("pods", "ci", "job"): POD})


@pytest.fixture
def issuer(store) -> TokenIssuer:
    accounts = ServiceAccountAuthenticator(KEY.public_key(), store.lookup, clock=lambda: NOW)
    bearer = BearerAuthenticator(TokenAuthenticator({"static": UserInfo("bob", "b")}), accounts)
    return TokenIssuer(KEY, bearer, accounts, clock=lambda: NOW)


def request(issuer: TokenIssuer, store: Store, **spec) -> str:
    full = {"audiences": list(tokens.API_AUDIENCES), "expirationSeconds": 3600, **spec}
    answer = issuer.token_request(ACCOUNT, full, 3600, tokens.API_AUDIENCES, store.lookup)
    assert answer["status"]["expirationTimestamp"] == "2027-01-15T09:00:00Z"
    return answer["status"]["token"]


def test_a_token_is_its_account_in_kubernetes_groups_until_its_pod_goes(issuer, store):
    token = request(issuer, store, boundObjectRef={"kind": "Pod", "name": "job"})
    user = issuer.bearer.authenticate({"token": token})
    assert user == UserInfo("system:serviceaccount:ci:builder", "sa-uid", (
        "system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"))
    del store[("pods", "ci", "job")]
    with pytest.raises(Unauthorized, match='the pod "job" it is bound to is gone'):
        issuer.bearer.authenticate({"token": token})
    assert issuer.bearer.authenticate({"token": "static"}).name == "bob"


def test_the_signature_is_checked_once_per_token(issuer, store, monkeypatch):
    token = request(issuer, store)
    checked = []
    verify = tokens.verify
    monkeypatch.setattr(tokens, "verify", lambda *a: checked.append(1) or verify(*a))
    for _ in range(3):
        issuer.bearer.authenticate({"token": token})
    assert checked == [1]


def test_a_token_binds_only_to_a_pod_of_its_account_with_the_uid_asked(issuer, store):
    store[("pods", "ci", "other")] = {"metadata": {"name": "other", "uid": "o"},
                                      "spec": {"serviceAccountName": "default"}}
    with pytest.raises(BadRequest, match='cannot bind token for serviceaccount "builder" to '
                                         "pod running with different serviceaccount name"):
        request(issuer, store, boundObjectRef={"kind": "Pod", "name": "other"})
    with pytest.raises(Conflict, match=r"the UID in the bound object reference \(stale\)"):
        request(issuer, store, boundObjectRef={"kind": "Pod", "name": "job", "uid": "stale"})
    with pytest.raises(NotFound, match='pods "gone" not found'):
        request(issuer, store, boundObjectRef={"kind": "Pod", "name": "gone"})


def test_a_token_review_says_who_a_token_is_or_why_not(issuer, store):
    token = request(issuer, store)
    answer = issuer.review({"spec": {"token": token}})
    assert answer["status"]["authenticated"] is True
    assert answer["status"]["user"]["username"] == "system:serviceaccount:ci:builder"
    assert answer["status"]["audiences"] == list(tokens.API_AUDIENCES)
    refused = issuer.review({"spec": {"token": token, "audiences": ["vault"]}})["status"]
    assert refused["authenticated"] is False and "audiences" in refused["error"]
    assert issuer.review({"spec": {"token": "nope"}})["status"] == {
        "authenticated": False, "error": "Unauthorized: invalid bearer token"}
    with pytest.raises(BadRequest):
        issuer.review({"spec": {}})
