"""Classification of requests into flows (API Priority and Fairness), as pure functions over
Kubernetes' default FlowSchemas and levels."""

from __future__ import annotations

import pytest

from actors.api import flowcontrol
from actors.api.users import UserInfo
from actors.apiserver.classifying import Asked, FlowControl, Policy, classify, policy

AUTH = "system:authenticated"
ADMIN = UserInfo("admin", groups=("system:masters", AUTH))
NODE = UserInfo("system:node:n1", groups=("system:nodes", AUTH))
CONTROLLERS = UserInfo("system:kube-controller-manager", groups=(AUTH,))
SCHEDULER = UserInfo("system:kube-scheduler", groups=(AUTH,))
ALICE = UserInfo("alice", groups=(AUTH,))


def _defaults() -> Policy:
    objects = flowcontrol.defaults()
    for i, obj in enumerate(objects):
        obj["metadata"]["uid"] = f"uid-{i}"
    return policy(objects)


@pytest.mark.parametrize(("user", "verb", "group", "resource", "namespace", "schema", "level"), [
    (ADMIN, "list", "", "pods", "default", "exempt", "exempt"),
    (ADMIN, "delete", "", "nodes", None, "exempt", "exempt"),
    (NODE, "update", "", "nodes/status", None, "system-node-high", "node-high"),
    (NODE, "update", "coordination.k8s.io", "leases", "kube-node-lease", "system-node-high",
     "node-high"),
    (NODE, "list", "", "pods", None, "system-nodes", "system"),
    (CONTROLLERS, "update", "coordination.k8s.io", "leases", "kube-system",
     "system-leader-election", "leader-election"),
    (CONTROLLERS, "create", "apps", "replicasets", "default", "kube-controller-manager",
     "workload-high"),
    (SCHEDULER, "create", "", "pods/binding", "default", "kube-scheduler", "workload-high"),
    (UserInfo("system:serviceaccount:kube-system:coredns", groups=(
        "system:serviceaccounts", AUTH)), "list", "", "services", None,
     "kube-system-service-accounts", "workload-high"),
    (UserInfo("system:serviceaccount:default:app", groups=("system:serviceaccounts", AUTH)),
     "get", "", "configmaps", "default", "service-accounts", "workload-low"),
    (ALICE, "create", "", "configmaps", "default", "global-default", "global-default"),
])
def test_defaults_send_each_identity_to_kubernetes_level(user, verb, group, resource,
                                                         namespace, schema, level):
    flow = classify(_defaults(), Asked(user, verb, group, resource, namespace))
    assert (flow.schema, flow.level.name) == (schema, level)
    assert flow.schema_uid.startswith("uid-") and flow.level.uid.startswith("uid-")


def test_flows_are_told_apart_by_user_or_by_namespace():
    defaults = _defaults()
    bob = UserInfo("bob", groups=(AUTH,))
    assert classify(defaults, Asked(ALICE, "get", "", "pods", "a", )).key == \
        "global-default/alice"
    assert classify(defaults, Asked(bob, "get", "", "pods", "a")).key == "global-default/bob"
    in_a = classify(defaults, Asked(CONTROLLERS, "get", "", "pods", "a")).key
    in_b = classify(defaults, Asked(CONTROLLERS, "get", "", "pods", "b")).key
    assert (in_a, in_b) == ("kube-controller-manager/a", "kube-controller-manager/b")


def _schema(name: str, level: str, precedence: int, subjects: list, rule: dict) -> dict:
    return {"kind": "FlowSchema", "metadata": {"name": name, "uid": name},
            "spec": {"priorityLevelConfiguration": {"name": level},
                     "matchingPrecedence": precedence,
                     "rules": [{"subjects": subjects, "resourceRules": [rule]}]}}


ALICE_SUBJECT = [{"kind": "User", "user": {"name": "alice"}}]


def test_lower_precedence_wins_and_rules_narrow_by_verb_resource_and_namespace():
    objects = [*flowcontrol.defaults(), _schema(
        "alice-reads", "workload-low", 50, ALICE_SUBJECT,
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"],
         "namespaces": ["team"]})]
    rules = policy(objects)
    assert classify(rules, Asked(ALICE, "list", "", "pods", "team")).schema == "alice-reads"
    for other in (Asked(ALICE, "create", "", "pods", "team"),
                  Asked(ALICE, "list", "", "pods", "elsewhere"),
                  Asked(ALICE, "list", "", "pods", None),  # cluster scope not allowed
                  Asked(ALICE, "list", "", "secrets", "team")):
        assert classify(rules, other).schema == "global-default"


def test_a_schema_naming_a_missing_level_is_skipped_and_nothing_matching_is_catch_all():
    dangling = _schema("alice-first", "no-such-level", 1, ALICE_SUBJECT, {
        "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": True,
        "namespaces": ["*"]})
    rules = policy([*flowcontrol.defaults(), dangling])
    assert classify(rules, Asked(ALICE, "get", "", "pods", "x")).schema == "global-default"
    nothing = classify(Policy(), Asked(ALICE, "get", "", "pods", "x"))
    assert (nothing.schema, nothing.level.name) == ("catch-all", "catch-all")


def test_levels_carry_their_shares_and_queuing():
    levels = _defaults().levels
    assert levels["exempt"].exempt
    assert (levels["global-default"].shares, levels["global-default"].queues,
            levels["global-default"].hand_size,
            levels["global-default"].queue_length_limit) == (20, 128, 6, 50)
    assert levels["catch-all"].queues == 0  # Reject
    assert _defaults().total_shares == 245


def test_flow_control_recompiles_on_each_change_and_remembers_answers():
    mirror = FlowControl()
    for obj in flowcontrol.defaults():
        mirror.observe(obj)
    asked = Asked(ALICE, "get", "", "pods", "x")
    assert mirror.policy.classify(asked).schema == "global-default"
    assert asked in mirror.policy.remembered
    mirror.observe(_schema("alice-first", "workload-low", 5, ALICE_SUBJECT, {
        "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": True,
        "namespaces": ["*"]}))
    assert mirror.policy.classify(asked).schema == "alice-first"


def test_a_message_classified_before_is_classified_afresh_once_a_flowschema_changes():
    mirror = FlowControl()
    for obj in flowcontrol.defaults():
        mirror.observe(obj)
    asked = Asked(ALICE, "get", "", "pods", "x")
    built: list[Asked] = []

    def asking() -> Asked:
        built.append(asked)
        return asked

    def flow_of(user: UserInfo) -> str:
        return mirror.policy.classify_message(user, "kubeactor.api.core.pods.get", "x",
                                              asking).schema

    assert [flow_of(ALICE), flow_of(ALICE)] == ["global-default", "global-default"]
    assert len(built) == 1  # the second was remembered by the message
    mirror.observe(_schema("alice-first", "workload-low", 5, ALICE_SUBJECT, {
        "verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": True,
        "namespaces": ["*"]}))
    assert flow_of(ALICE) == "alice-first"


def test_a_message_is_remembered_by_its_user_and_a_malformed_namespace_as_none():
    rules = _defaults()
    admin = rules.classify_message(ADMIN, "s", ["not", "a", "string"],
                                   lambda: Asked(ADMIN, "get", "", "pods", None))
    alice = rules.classify_message(ALICE, "s", None, lambda: Asked(ALICE, "get", "", "pods", None))
    assert (admin.schema, alice.schema) == ("exempt", "global-default")
