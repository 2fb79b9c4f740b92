"""Service account tokens (actors/api/tokens.py) and the accounts' rules
(actors/api/serviceaccounts.py), as pure functions."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime

import pytest

from actors.api import serviceaccounts, tokens
from bus.errors import BadRequest, Invalid, Unauthorized

NOW = 1_800_000_000.0
KEY = tokens.new_key()
ACCOUNT = {"metadata": {"name": "builder", "namespace": "ci", "uid": "sa-uid"}}
POD = {"metadata": {"name": "job", "namespace": "ci", "uid": "pod-uid"},
       "spec": {"serviceAccountName": "builder"}}
BOUND = tokens.Bound("Pod", "job", "pod-uid")


def issued(seconds: int = 3600, audiences: tuple[str, ...] = tokens.API_AUDIENCES,
           bound: tokens.Bound | None = BOUND) -> str:
    return tokens.issue(KEY, ACCOUNT, audiences, NOW, seconds, bound)[0]


def part(token: str, index: int) -> dict:
    text = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def store(*objects: tuple[str, dict]):
    held = {(resource, obj["metadata"]["namespace"], obj["metadata"]["name"]): obj
            for resource, obj in objects}
    return lambda resource, namespace, name: held.get((resource, namespace, name))


def test_a_token_carries_kubernetes_claims_and_verifies_with_the_key():
    token = issued()
    assert part(token, 0) == {"alg": "ES256", "kid": tokens.key_id(KEY.public_key())}
    claims = part(token, 1)
    assert claims["iss"] == tokens.ISSUER and claims["aud"] == list(tokens.API_AUDIENCES)
    assert claims["sub"] == "system:serviceaccount:ci:builder"
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 3600)
    assert claims["kubernetes.io"] == {"namespace": "ci", "serviceaccount": {
        "name": "builder", "uid": "sa-uid"}, "pod": {"name": "job", "uid": "pod-uid"}}
    verified = tokens.verify(KEY.public_key(), token)
    assert (verified.namespace, verified.name, verified.uid, verified.bound) == (
        "ci", "builder", "sa-uid", BOUND)
    tokens.check(verified, NOW + 3599)


@pytest.mark.parametrize("forge", [
    lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
    lambda t: ".".join([t.split(".")[0], base64.urlsafe_b64encode(json.dumps(
        {**part(t, 1), "sub": "system:serviceaccount:kube-system:admin"}).encode()).decode()
        .rstrip("="), t.split(".")[2]]),
    lambda t: tokens.issue(tokens.new_key(), ACCOUNT, tokens.API_AUDIENCES, NOW, 3600)[0],
    lambda t: "eyJhbGciOiJub25lIn0." + t.split(".")[1] + ".",
    lambda t: "not.a.jwt",
])
def test_a_forged_or_foreign_token_is_refused(forge):
    with pytest.raises(Unauthorized):
        tokens.verify(KEY.public_key(), forge(issued()))


def test_an_expired_token_or_one_for_another_audience_is_refused():
    claims = tokens.verify(KEY.public_key(), issued(seconds=600))
    with pytest.raises(Unauthorized, match="expired"):
        tokens.check(claims, NOW + 600)
    vault = tokens.verify(KEY.public_key(), issued(audiences=("vault",)))
    with pytest.raises(Unauthorized, match=r"audiences \(vault\) are not this server's"):
        tokens.check(vault, NOW)
    tokens.check(vault, NOW, ("vault",))
    with pytest.raises(Unauthorized, match="not valid yet"):
        tokens.check(claims, NOW - 120)


def test_a_token_dies_with_its_pod_or_its_account():
    claims = tokens.verify(KEY.public_key(), issued())
    alive = store(("serviceaccounts", ACCOUNT), ("pods", POD))
    assert tokens.liveness_problem(claims, alive, NOW) is None
    assert tokens.liveness_problem(claims, store(("serviceaccounts", ACCOUNT)), NOW) == \
        'the pod "job" it is bound to is gone'
    assert tokens.liveness_problem(claims, store(("pods", POD)), NOW) == \
        "service account ci/builder is gone"
    again = {**POD, "metadata": {**POD["metadata"], "uid": "other"}}
    assert "uid differs" in str(tokens.liveness_problem(
        claims, store(("serviceaccounts", ACCOUNT), ("pods", again)), NOW))


def test_a_terminating_pod_keeps_its_token_for_a_minute_past_its_deletion():
    claims = tokens.verify(KEY.public_key(), issued())
    stopping = {**POD, "metadata": {**POD["metadata"],
                                    "deletionTimestamp": "2027-01-15T08:00:00Z"}}
    deleted_at = datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()
    lookup = store(("serviceaccounts", ACCOUNT), ("pods", stopping))
    assert tokens.liveness_problem(claims, lookup, deleted_at + 59) is None
    assert tokens.liveness_problem(claims, lookup, deleted_at + 61) == \
        'the pod "job" it is bound to has been deleted'


def test_a_token_request_is_defaulted_and_checked_in_kubernetes_words():
    spec, audiences, seconds = serviceaccounts.token_request({"spec": {}}, "ci")
    assert (audiences, seconds) == (tokens.API_AUDIENCES, 3600)
    assert spec == {"audiences": list(tokens.API_AUDIENCES), "expirationSeconds": 3600}
    with pytest.raises(Invalid, match="may not specify a duration less than 10 minutes"):
        serviceaccounts.token_request({"spec": {"expirationSeconds": 599}}, "ci")
    with pytest.raises(Invalid, match="larger than 2\\^32 seconds"):
        serviceaccounts.token_request({"spec": {"expirationSeconds": 2 ** 32 + 1}}, "ci")
    with pytest.raises(BadRequest, match="cannot bind token to object of type apps/v1"):
        serviceaccounts.bound_reference({"boundObjectRef": {
            "kind": "Deployment", "apiVersion": "apps/v1", "name": "x"}})


def pod_spec(**spec) -> dict:
    return {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "i", "volumeMounts": [
            {"name": "own", "mountPath": serviceaccounts.MOUNT_PATH}]}],
        "initContainers": [{"name": "init", "image": "i"}], **spec}}


def test_the_api_access_volume_is_mounted_where_nothing_is_mounted_yet():
    pod = pod_spec(volumes=[{"name": "own", "emptyDir": {}}])
    serviceaccounts.mount_api_access(pod, random.Random(1))
    volume = pod["spec"]["volumes"][-1]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    sources = volume["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == \
        "metadata.namespace"
    mounted = {c["name"]: [m["name"] for m in c.get("volumeMounts", [])]
               for c in [*pod["spec"]["initContainers"], *pod["spec"]["containers"]]}
    assert mounted == {"init": [volume["name"]], "a": [volume["name"]], "b": ["own"]}


def test_automount_follows_the_pod_then_the_account():
    assert serviceaccounts.automounts(pod_spec(), {})
    assert not serviceaccounts.automounts(pod_spec(), {"automountServiceAccountToken": False})
    assert serviceaccounts.automounts(pod_spec(automountServiceAccountToken=True),
                                      {"automountServiceAccountToken": False})
    assert not serviceaccounts.automounts(pod_spec(automountServiceAccountToken=False), {})
