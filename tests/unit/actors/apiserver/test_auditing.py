"""The audit Policy and the audit.k8s.io/v1 Events (actors/apiserver/auditing.py)."""

from __future__ import annotations

import uuid

import jsonschema
import pytest

from actors.api.users import UserInfo
from actors.apiserver.auditing import (
    DEFAULT_POLICY,
    Auditor,
    Policy,
    events,
    request_uri,
)
from actors.apiserver.outcomes import Outcome
from bus.errors import UsageError
from tests.auditlog import EVENT

ALICE = UserInfo("alice", "u1", ("dev", "system:authenticated"))
SECRET = {"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "aHVudGVyMg=="}}


def outcome(**changes: object) -> Outcome:
    fields: dict[str, object] = dict(
        subject="kubeactor.api.core.secrets.create", received=1000.0, finished=1000.5,
        code=201, authorized=True, user=ALICE, verb="create", version="v1",
        resource="secrets", namespace="dev", name="db", decoded=True, trace_id="t1",
        request_object=SECRET, response_object=SECRET)
    fields.update(changes)
    return Outcome(**fields)  # type: ignore[arg-type]


def policy(*rules: dict[str, object], **top: object) -> Policy:
    return Policy.of({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": list(rules),
                      **top})


def test_the_default_policy_logs_every_request_once_at_metadata_as_a_valid_event():
    [event] = events(DEFAULT_POLICY, outcome(resource="configmaps"))
    jsonschema.validate(event, EVENT)
    assert {k: event[k] for k in ("level", "stage", "verb", "requestURI", "user")} == {
        "level": "Metadata", "stage": "ResponseComplete", "verb": "create",
        "requestURI": "/api/v1/namespaces/dev/configmaps/db",
        "user": {"username": "alice", "uid": "u1", "groups": ["dev", "system:authenticated"]}}
    assert event["requestReceivedTimestamp"] == "1970-01-01T00:16:40.000000Z"
    assert event["stageTimestamp"] == "1970-01-01T00:16:40.500000Z"
    assert event["annotations"]["kubeactor.io/trace-id"] == "t1"
    assert "requestObject" not in event and "responseObject" not in event


def test_a_policy_at_metadata_for_secrets_keeps_their_data_out():
    chosen = policy({"level": "Metadata", "resources": [{"group": "", "resources": ["secrets"]}]},
                    {"level": "RequestResponse"}, omitStages=["RequestReceived"])
    [secret] = events(chosen, outcome())
    assert secret["level"] == "Metadata" and "aHVudGVyMg" not in str(secret)
    [other] = events(chosen, outcome(resource="configmaps"))
    assert other["level"] == "RequestResponse" and other["requestObject"] == SECRET


def test_secrets_are_never_logged_above_metadata_whatever_the_policy():
    for level in ("Request", "RequestResponse"):
        [event] = events(policy({"level": level}, omitStages=["RequestReceived"]), outcome())
        assert event["level"] == "Metadata" and "requestObject" not in event


def test_rules_match_in_order_by_user_verb_namespace_and_subresource():
    chosen = policy({"level": "None", "users": ["system:kube-scheduler"]},
                    {"level": "None", "verbs": ["watch", "list"]},
                    {"level": "Request", "resources": [{"group": "", "resources": ["pods/*"]}],
                     "namespaces": ["dev"]},
                    {"level": "Metadata", "omitStages": ["RequestReceived"]})
    assert events(chosen, outcome(user=UserInfo("system:kube-scheduler"))) == []
    assert events(chosen, outcome(verb="list")) == []
    logged = events(chosen, outcome(resource="pods", subresource="log", verb="get"))
    assert [(e["stage"], e["level"]) for e in logged] == [
        ("RequestReceived", "Request"), ("ResponseComplete", "Request")]
    assert logged[0]["auditID"] == logged[1]["auditID"] and "responseStatus" not in logged[0]
    assert [e["stage"] for e in events(chosen, outcome(resource="pods", namespace="prod"))
            ] == ["ResponseComplete"]


def test_a_request_not_understood_is_named_by_its_subject_and_a_failure_by_its_reason():
    [event] = events(DEFAULT_POLICY, outcome(decoded=False, user=None, authorized=False,
                                             code=401, reason="Unauthorized", message="no",
                                             resource="pods", verb="list", name="",
                                             namespace="", version=""))
    jsonschema.validate(event, EVENT)
    assert (event["requestURI"], event["user"], event["objectRef"]) == (
        "kubeactor.api.core.secrets.create", {}, {"resource": "pods"})
    assert event["responseStatus"] == {"metadata": {}, "code": 401, "status": "Failure",
                                       "reason": "Unauthorized", "message": "no"}
    assert event["annotations"]["authorization.k8s.io/decision"] == "forbid"


def test_impersonation_dry_run_and_a_forwarded_address_are_kept():
    [event] = events(DEFAULT_POLICY, outcome(
        impersonated=UserInfo("bob"), dry_run=True, source_ip="127.0.0.7",
        via=UserInfo("system:kubeactor:https"), group="apps", resource="deployments",
        subresource="scale", name="web"))
    jsonschema.validate(event, EVENT)
    assert event["impersonatedUser"] == {"username": "bob", "groups": []}
    assert event["requestURI"] == "/apis/apps/v1/namespaces/dev/deployments/web/scale?dryRun=All"
    assert event["sourceIPs"] == ["127.0.0.7"]
    assert event["annotations"]["kubeactor.io/via"] == "system:kubeactor:https"


def test_a_cluster_scoped_list_has_a_short_uri():
    assert request_uri(outcome(namespace="", name="", resource="nodes", verb="list")) == \
        "/api/v1/nodes"


@pytest.mark.parametrize("document", [
    {"kind": "Policy", "rules": []},
    {"kind": "Policy", "rules": [{"level": "Everything"}]},
    {"kind": "Policy", "rules": [{"level": "None", "verbs": "get"}]},
    {"kind": "Policy", "rules": [{"level": "None"}], "omitStages": ["Later"]},
    {"kind": "Secret"},
    [],
])
def test_a_policy_that_is_not_one_is_refused_saying_why(document: object):
    with pytest.raises(UsageError, match=r"audit policy"):
        Policy.of(document)


def test_the_auditor_writes_what_the_policy_says():
    written: list[dict[str, object]] = []
    auditor = Auditor(written.append, policy({"level": "None"}))
    auditor.received("kubeactor.api.core.secrets.create")
    auditor.answered(outcome(), counted=True)
    assert written == []
    Auditor(written.append).answered(outcome(), counted=True)
    assert len(written) == 1


def test_audit_ids_are_random_version_4_uuids_as_uuid_writes_them():
    ids = [events(DEFAULT_POLICY, outcome())[0]["auditID"] for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert {text[19] for text in ids} == set("89ab")  # the variant's two random bits
