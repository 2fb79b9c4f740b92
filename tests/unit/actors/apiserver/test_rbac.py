"""Authorization by RBAC (actors/apiserver/rbac.py) over the bootstrap policy, the mirrors that
hold it (actors/apiserver/mirror.py), and static token authentication
(actors/apiserver/authn.py)."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from actors.api.objects import Object
from actors.api.resources import resolve
from actors.api.users import UserInfo
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.authn import AUTHENTICATED, TokenAuthenticator, impersonation
from actors.apiserver.bootstrappolicy import bootstrap_policy
from actors.apiserver.mirror import Mirror
from actors.apiserver.nodeauthz import NodeAuthorizer
from actors.apiserver.rbac import (
    RBAC_GROUP,
    Attributes,
    Authorizer,
    PreventEscalation,
    grants,
)
from actors.apiserver.reviews import access_review, non_resource_allowed, rules_review
from bus.errors import BadRequest, Forbidden, Unauthorized

ADMIN = UserInfo("admin", groups=("system:masters",))
SCHEDULER = UserInfo("system:kube-scheduler")
NODE = UserInfo("system:node:node-1", groups=("system:nodes",))
ALICE = UserInfo("alice", groups=(AUTHENTICATED,))


def ask(user: UserInfo, verb: str, resource: str, namespace: str | None = "default", *,
        name: str | None = None, group: str = "") -> Attributes:
    """The request ``verb resource[/subresource]`` by ``user``."""
    resource, _, subresource = resource.partition("/")
    return Attributes(user, verb, group=group, resource=resource, subresource=subresource or None,
                      namespace=namespace, name=name)


def rbac_object(kind: str, name: str, namespace: str | None = None, **fields: Any) -> Object:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind, "metadata": metadata, **fields}


def role_binding(name: str, namespace: str, role: str, user: str,
                 role_kind: str = "Role") -> Object:
    return rbac_object("RoleBinding", name, namespace,
                       roleRef={"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role},
                       subjects=[{"kind": "User", "name": user}])


def rule(resources: list[str], verbs: list[str], **extra: Any) -> dict[str, Any]:
    return {"apiGroups": [""], "resources": resources, "verbs": verbs, **extra}


@pytest.fixture
def authorizer() -> Authorizer:
    """The bootstrap policy, behind the Node authorizer (no pod bound anywhere)."""
    authorizer = Authorizer(NodeAuthorizer())
    for obj in bootstrap_policy():
        authorizer.observe(obj)
    return authorizer


@pytest.mark.parametrize(
    "request_",
    [ask(ADMIN, "delete", "nodes", None), ask(ADMIN, "create", "pods/binding"),
     ask(ADMIN, "update", "leases", group="coordination.k8s.io"),
     ask(ADMIN, "escalate", "clusterroles", None, group=RBAC_GROUP)],
)
def test_system_masters_may_do_anything(authorizer: Authorizer, request_: Attributes):
    assert authorizer.allowed(request_)


@pytest.mark.parametrize(
    ("request_", "allowed"),
    [
        (ask(SCHEDULER, "create", "pods/binding"), True),
        (ask(SCHEDULER, "list", "nodes", None), True),
        (ask(SCHEDULER, "watch", "pods", None), True),
        (ask(SCHEDULER, "create", "pods"), False),
        (ask(SCHEDULER, "delete", "nodes", None, name="node-1"), False),
        (ask(NODE, "update", "pods/status", name="web"), True),
        (ask(NODE, "delete", "pods", name="web"), True),
        (ask(NODE, "create", "pods/binding", name="web"), False),
        (ask(NODE, "update", "pods", name="web"), False),
        (ask(ALICE, "get", "pods", name="web"), False),
    ],
)
def test_bootstrap_policy_grants_components_only_their_own_permissions(
    authorizer: Authorizer, request_: Attributes, allowed: bool
):
    assert authorizer.allowed(request_) is allowed


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ask(UserInfo("x"), "create", "pods"),
         'pods is forbidden: User "x" cannot create resource "pods" in API group "" in the '
         'namespace "default"'),
        (ask(NODE, "create", "pods/binding", name="web"),
         'pods "web" is forbidden: User "system:node:node-1" cannot create resource '
         '"pods/binding" in API group "" in the namespace "default"'),
        (ask(SCHEDULER, "delete", "nodes", None, name="node-1"),
         'nodes "node-1" is forbidden: User "system:kube-scheduler" cannot delete resource '
         '"nodes" in API group "" at the cluster scope'),
    ],
)
def test_denial_names_user_verb_resource_and_scope_like_kube_apiserver(
    authorizer: Authorizer, request_: Attributes, message: str
):
    with pytest.raises(Forbidden) as denied:
        authorizer.authorize(request_)
    assert denied.value.message == message


def test_denial_outside_the_core_group_names_the_resource_with_its_group(
    authorizer: Authorizer,
):
    with pytest.raises(Forbidden) as denied:
        authorizer.authorize(ask(ALICE, "list", "deployments", group="apps"))
    assert denied.value.message == (
        'deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API '
        'group "apps" in the namespace "default"')


def test_authorize_returns_quietly_when_allowed(authorizer: Authorizer):
    authorizer.authorize(ask(SCHEDULER, "create", "pods/binding", name="web"))


def test_role_binding_applies_only_in_its_namespace(authorizer: Authorizer):
    authorizer.observe(rbac_object("Role", "reader", "team-a", rules=[rule(["pods"], ["get"])]))
    authorizer.observe(role_binding("alice-reads", "team-a", "reader", "alice"))
    assert authorizer.allowed(ask(ALICE, "get", "pods", "team-a", name="web"))
    assert not authorizer.allowed(ask(ALICE, "get", "pods", "team-b", name="web"))
    assert not authorizer.allowed(ask(ALICE, "get", "pods", None, name="web"))


def test_role_binding_to_a_cluster_role_grants_it_in_the_binding_namespace_only(
    authorizer: Authorizer,
):
    authorizer.observe(role_binding("alice-sched", "team-a", "system:kube-scheduler", "alice",
                                    role_kind="ClusterRole"))
    assert authorizer.allowed(ask(ALICE, "create", "pods/binding", "team-a"))
    assert not authorizer.allowed(ask(ALICE, "create", "pods/binding", "default"))


def test_resource_names_restrict_a_rule_to_those_objects(authorizer: Authorizer):
    authorizer.observe(rbac_object("Role", "one-config", "default", rules=[
        rule(["configmaps"], ["get", "update"], resourceNames=["app-config"])]))
    authorizer.observe(role_binding("alice-config", "default", "one-config", "alice"))
    assert authorizer.allowed(ask(ALICE, "get", "configmaps", name="app-config"))
    assert not authorizer.allowed(ask(ALICE, "get", "configmaps", name="db-config"))
    assert not authorizer.allowed(ask(ALICE, "list", "configmaps"))


def test_deleting_a_binding_revokes_at_once(authorizer: Authorizer):
    binding = role_binding("alice-sched", "default", "system:kube-scheduler", "alice",
                           role_kind="ClusterRole")
    authorizer.observe(binding)
    assert authorizer.allowed(ask(ALICE, "list", "pods"))
    authorizer.observe(binding, deleted=True)
    assert not authorizer.allowed(ask(ALICE, "list", "pods"))


def test_a_replayed_older_change_does_not_bring_back_a_revoked_binding(authorizer: Authorizer):
    binding = role_binding("alice-sched", "default", "system:kube-scheduler", "alice",
                           role_kind="ClusterRole")
    binding["metadata"]["resourceVersion"] = "5"
    removed = dict(binding, metadata=dict(binding["metadata"], resourceVersion="6"))
    authorizer.observe(binding)
    authorizer.observe(removed, deleted=True)
    authorizer.observe(binding)  # the store's event for revision 5, arriving late
    assert not authorizer.allowed(ask(ALICE, "list", "pods"))


# -- authentication -----------------------------------------------------------------------------


@pytest.fixture
def tokens(tmp_path: Path) -> TokenAuthenticator:
    path = tmp_path / "tokens.csv"
    path.write_text('# token,user,uid,groups\n'
                    'tok-alice,alice,uid-1,"dev,ops"\n'
                    '\n'
                    'tok-bob,bob,uid-2\n')
    return TokenAuthenticator.from_file(path)


def test_token_file_maps_each_token_to_its_user_and_groups(tokens: TokenAuthenticator):
    assert tokens.authenticate({"token": "tok-alice"}) == UserInfo(
        "alice", "uid-1", ("dev", "ops", AUTHENTICATED))
    assert tokens.authenticate({"token": "tok-bob"}) == UserInfo("bob", "uid-2", (AUTHENTICATED,))


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": 42}, {"token": "tok-eve"},
                                  {"token": "tok-alic"}])
def test_missing_or_unknown_token_is_unauthorized(tokens: TokenAuthenticator,
                                                  auth: dict[str, Any] | None):
    with pytest.raises(Unauthorized):
        tokens.authenticate(auth)


def test_token_file_line_without_a_uid_is_refused(tmp_path: Path):
    path = tmp_path / "tokens.csv"
    path.write_text("tok-alice,alice\n")
    with pytest.raises(ValueError, match="token,user,uid"):
        TokenAuthenticator.from_file(path)


# -- the bootstrap roles, decision by decision ----------------------------------------------------

APPS, COORD, AUTHZ, POLICY = "apps", "coordination.k8s.io", "authorization.k8s.io", "policy"
NAMESPACED = [("", "pods"), ("", "pods/log"), ("", "pods/status"), ("", "pods/exec"),
              ("", "pods/attach"), ("", "pods/binding"), ("", "configmaps"), ("", "secrets"),
              ("", "events"),
              ("", "limitranges"), ("", "resourcequotas"), (RBAC_GROUP, "roles"),
              (RBAC_GROUP, "rolebindings"), (APPS, "deployments"), (COORD, "leases"),
              ("", "pods/eviction"), (POLICY, "poddisruptionbudgets"), ("", "endpoints"),
              ("discovery.k8s.io", "endpointslices")]
CLUSTER = [("", "nodes"), ("", "nodes/status"), ("", "namespaces"), (RBAC_GROUP, "clusterroles"),
           (AUTHZ, "selfsubjectaccessreviews")]
VERBS = ["get", "list", "watch", "create", "update", "delete", "deletecollection"]
READS = ["get", "list", "watch"]
WRITES = ["create", "update", "delete", "deletecollection"]
TEAMS = ["team-a", "team-b"]

Decision = tuple[str, str, str, str | None]
"""(verb, group, resource[/sub], namespace)."""


def every_request() -> list[Decision]:
    return ([(v, g, r, ns) for v in VERBS for g, r in NAMESPACED for ns in TEAMS]
            + [(v, g, r, None) for v in VERBS for g, r in CLUSTER])


def grant(verbs: list[str], group: str, resources: list[str],
          namespaces: list[str | None]) -> set[Decision]:
    return {(v, group, r, ns) for v in verbs for r in resources for ns in namespaces}


SELF_REVIEW = grant(["create"], AUTHZ, ["selfsubjectaccessreviews"], [None])
"""system:basic-user: every authenticated identity may ask what it may do."""
VIEW_A = (grant(READS, "", ["pods", "pods/log", "pods/status", "configmaps", "events",
                            "limitranges", "resourcequotas", "endpoints"], ["team-a"])
          | grant(READS, "discovery.k8s.io", ["endpointslices"], ["team-a"])
          | grant(READS, APPS, ["deployments"], ["team-a"])
          | grant(READS, POLICY, ["poddisruptionbudgets"], ["team-a"]))
EDIT_A = (VIEW_A | grant(READS + WRITES, "", ["pods", "pods/exec", "pods/attach", "configmaps",
                                             "secrets"], ["team-a"])
          | grant(READS + WRITES, APPS, ["deployments"], ["team-a"])
          | grant(["create"], "", ["pods/eviction"], ["team-a"])  # kubectl drain
          | grant(READS + WRITES, POLICY, ["poddisruptionbudgets"], ["team-a"]))
ADMIN_A = EDIT_A | grant(READS + WRITES, RBAC_GROUP, ["roles", "rolebindings"], ["team-a"])
BOTH: list[str | None] = list(TEAMS)
EXPECTED: dict[str, set[Decision]] = {
    "admin": set(every_request()),
    "ns-admin": ADMIN_A | SELF_REVIEW,
    "ns-editor": EDIT_A | SELF_REVIEW,
    "ns-viewer": VIEW_A | SELF_REVIEW,
    "system:kube-scheduler": (
        grant([*READS, "delete"], "", ["pods"], BOTH)  # delete: preemption
        | grant(["create"], "", ["pods/binding"], BOTH)
        | grant(["get", "update"], "", ["pods/status"], BOTH)
        | grant(["create", "update"], "", ["events"], BOTH)
        | grant(["get", "create", "update"], COORD, ["leases"], BOTH)
        | grant(READS, POLICY, ["poddisruptionbudgets"], BOTH)  # preemption prefers them
        | grant(READS, "", ["nodes", "namespaces"], [None]) | SELF_REVIEW),
    "system:kube-controller-manager": (  # the garbage collector reaches every resource
        {(v, g, r, ns) for v in [*READS, "update", "delete"] for g, r in NAMESPACED
         for ns in TEAMS}
        | {(v, g, r, None) for v in [*READS, "update", "delete"] for g, r in CLUSTER}
        | grant(["get", "update"], "", ["nodes/status"], [None])
        | grant(["create"], "", ["pods", "events", "configmaps"], BOTH)  # configmaps: the CA
        | grant(["create"], APPS, ["deployments"], BOTH)
        | grant(["create"], "", ["endpoints"], BOTH)  # the EndpointSlice controllers
        | grant(["create"], "discovery.k8s.io", ["endpointslices"], BOTH)
        | grant(["get", "update"], "", ["pods/status"], BOTH)
        | grant(["create"], COORD, ["leases"], BOTH) | SELF_REVIEW),
    "system:node:node-1": (  # the Node authorizer's: nothing read of another node's
        grant(["create", "delete"], "", ["pods"], BOTH)  # NodeRestriction: its own
        | grant(["create"], "", ["pods/eviction"], BOTH)  # NodeRestriction: its own
        | grant(["update"], "", ["pods/status"], BOTH)
        | grant(["get"], "", ["endpoints"], BOTH)
        | grant(READS, "discovery.k8s.io", ["endpointslices"], BOTH)  # its service proxy
        | grant(["create", "update"], "", ["nodes"], [None])
        | grant(["update"], "", ["nodes/status"], [None])
        | grant(["create", "update"], "", ["events"], BOTH) | SELF_REVIEW),
    "nobody": SELF_REVIEW,
}
IDENTITIES = {
    "admin": UserInfo("admin", groups=("system:masters", AUTHENTICATED)),
    "ns-admin": UserInfo("ns-admin", groups=(AUTHENTICATED,)),
    "ns-editor": UserInfo("ns-editor", groups=(AUTHENTICATED,)),
    "ns-viewer": UserInfo("ns-viewer", groups=(AUTHENTICATED,)),
    "system:kube-scheduler": UserInfo("system:kube-scheduler", groups=(AUTHENTICATED,)),
    "system:kube-controller-manager": UserInfo("system:kube-controller-manager",
                                               groups=(AUTHENTICATED,)),
    "system:node:node-1": UserInfo("system:node:node-1", groups=("system:nodes",
                                                                   AUTHENTICATED)),
    "nobody": UserInfo("nobody", groups=(AUTHENTICATED,)),
}


@pytest.fixture
def team_policy(authorizer: Authorizer) -> Authorizer:
    """The bootstrap policy, with admin, edit and view bound in team-a by RoleBindings."""
    for user, role in (("ns-admin", "admin"), ("ns-editor", "edit"), ("ns-viewer", "view")):
        authorizer.observe(role_binding(f"{user}-{role}", "team-a", role, user,
                                        role_kind="ClusterRole"))
    return authorizer


@pytest.mark.parametrize("identity", sorted(IDENTITIES))
def test_every_decision_of_the_bootstrap_roles(team_policy: Authorizer, identity: str):
    user = IDENTITIES[identity]
    allowed = set()
    for verb, group, path, namespace in every_request():
        resource, _, sub = path.partition("/")
        if team_policy.allowed(Attributes(user, verb, group=group, resource=resource,
                                          subresource=sub or None, namespace=namespace,
                                          name="some-name")):
            allowed.add((verb, group, path, namespace))
    assert sorted(allowed - EXPECTED[identity], key=str) == []  # allowed, but should not be
    assert sorted(EXPECTED[identity] - allowed, key=str) == []  # denied, but should not be


def test_edit_reads_endpoints_but_never_writes_them(team_policy: Authorizer):
    editor = IDENTITIES["ns-editor"]  # CVE-2021-25740: a Service pointed anywhere
    assert team_policy.allowed(ask(editor, "get", "endpoints", "team-a", name="web"))
    for verb in ("create", "update", "patch", "delete"):
        assert not team_policy.allowed(ask(editor, verb, "endpoints", "team-a", name="web"))


def test_view_never_reads_secrets_and_edit_does(team_policy: Authorizer):
    viewer, editor = IDENTITIES["ns-viewer"], IDENTITIES["ns-editor"]
    assert not team_policy.allowed(ask(viewer, "get", "secrets", "team-a", name="db"))
    assert team_policy.allowed(ask(editor, "get", "secrets", "team-a", name="db"))


def test_a_role_change_reaches_a_compiled_identity_at_once(authorizer: Authorizer):
    role = rbac_object("Role", "reader", "default", rules=[rule(["pods"], ["get"])])
    authorizer.observe(role)
    authorizer.observe(role_binding("alice-reads", "default", "reader", "alice"))
    assert not authorizer.allowed(ask(ALICE, "delete", "pods", name="web"))  # now compiled
    authorizer.observe(dict(role, rules=[rule(["pods"], ["get", "delete"])]))
    assert authorizer.allowed(ask(ALICE, "delete", "pods", name="web"))
    authorizer.observe(role, deleted=True)
    assert not authorizer.allowed(ask(ALICE, "get", "pods", name="web"))


def test_wildcards_and_subresource_wildcards(authorizer: Authorizer):
    authorizer.observe(rbac_object("Role", "statuses", "default", rules=[
        {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["update"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]))
    authorizer.observe(role_binding("alice-statuses", "default", "statuses", "alice"))
    assert authorizer.allowed(ask(ALICE, "update", "pods/status"))
    assert authorizer.allowed(ask(ALICE, "update", "deployments/status", group="apps"))
    assert not authorizer.allowed(ask(ALICE, "update", "pods"))
    assert authorizer.allowed(ask(ALICE, "deletecollection", "configmaps"))


def test_reason_names_the_binding_that_allows(authorizer: Authorizer):
    assert authorizer.reason(ask(ADMIN, "delete", "nodes", None)) == (
        'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to '
        'Group "system:masters"')
    assert authorizer.reason(ask(ALICE, "delete", "nodes", None)) == ""


def test_grants_list_who_can_with_their_bindings(team_policy: Authorizer):
    everything = team_policy.objects.values()
    found = grants(everything, ask(UserInfo(""), "create", "pods/binding", "team-a"))
    assert [(g.binding_kind, g.binding, g.subject_kind, g.subject) for g in found] == [
        ("ClusterRoleBinding", "cluster-admin", "Group", "system:masters"),
        ("ClusterRoleBinding", "system:kube-scheduler", "User", "system:kube-scheduler")]
    readers = grants(team_policy.objects.values(), ask(UserInfo(""), "list", "pods", "team-a"))
    assert {g.subject for g in readers if g.binding_kind == "RoleBinding"} == {
        "ns-admin", "ns-editor", "ns-viewer"}
    assert not [g for g in grants(team_policy.objects.values(), ask(UserInfo(""), "list", "pods",
                                                              "team-b"))
                if g.binding_kind == "RoleBinding"]


# -- privilege escalation prevention ---------------------------------------------------------------


def admission_for(user: UserInfo, obj: Object, operation: str = "CREATE") -> AdmissionRequest:
    info = resolve(f"{obj['kind'].lower()}s.{RBAC_GROUP}")
    return AdmissionRequest(operation, info, subresource=None,
                            namespace=obj["metadata"].get("namespace"),
                            name=obj["metadata"]["name"], object=obj, old_object=None, user=user)


def test_a_namespace_admin_may_grant_only_what_they_hold(team_policy: Authorizer):
    guard, alice = PreventEscalation(team_policy), IDENTITIES["ns-admin"]
    guard.validate(admission_for(alice, rbac_object(
        "Role", "pod-reader", "team-a", rules=[rule(["pods"], ["get", "list"])])))
    with pytest.raises(Forbidden) as denied:
        guard.validate(admission_for(alice, rbac_object(
            "Role", "node-killer", "team-a", rules=[rule(["nodes", "pods"], ["delete"])])))
    assert denied.value.message == (
        'roles.rbac.authorization.k8s.io "node-killer" is forbidden: user "ns-admin" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not '
        "currently held:\n"
        '{APIGroups:[""], Resources:["nodes"], Verbs:["delete"]}')
    with pytest.raises(Forbidden):  # what alice holds in team-a she does not hold in team-b
        guard.validate(admission_for(alice, rbac_object(
            "Role", "pod-reader", "team-b", rules=[rule(["pods"], ["get"])])))
    with pytest.raises(Forbidden):  # a "*" is covered only by a "*"
        guard.validate(admission_for(alice, rbac_object(
            "Role", "all-pods", "team-a", rules=[rule(["pods"], ["*"])])))


def test_a_binding_needs_the_roles_rules_or_the_bind_verb(team_policy: Authorizer):
    guard, alice = PreventEscalation(team_policy), IDENTITIES["ns-admin"]
    guard.validate(admission_for(alice, role_binding("bob-edits", "team-a", "edit", "bob",
                                                     role_kind="ClusterRole")))
    with pytest.raises(Forbidden, match="attempting to grant RBAC permissions"):
        guard.validate(admission_for(alice, role_binding(
            "bob-rules", "team-a", "cluster-admin", "bob", role_kind="ClusterRole")))
    with pytest.raises(Forbidden, match=re.escape(
            'roles.rbac.authorization.k8s.io "ghost" not found')):
        guard.validate(admission_for(alice, role_binding("bob-ghost", "team-a", "ghost", "bob")))
    team_policy.observe(rbac_object("ClusterRole", "binder", rules=[{
        "apiGroups": [RBAC_GROUP], "resources": ["clusterroles"], "verbs": ["bind"],
        "resourceNames": ["cluster-admin"]}]))
    team_policy.observe(role_binding("alice-binds", "team-a", "binder", "ns-admin",
                                     role_kind="ClusterRole"))
    guard.validate(admission_for(alice, role_binding(
        "bob-rules", "team-a", "cluster-admin", "bob", role_kind="ClusterRole")))


def test_escalate_verb_allows_any_rules(authorizer: Authorizer):
    guard = PreventEscalation(authorizer)
    guard.validate(admission_for(ADMIN, rbac_object("ClusterRole", "anything", rules=[
        rule(["*"], ["*"])])))
    with pytest.raises(Forbidden):
        guard.validate(admission_for(SCHEDULER, rbac_object("ClusterRole", "more", rules=[
            rule(["pods"], ["create"])])))


# -- impersonation ---------------------------------------------------------------------------------


def test_impersonation_names_the_user_and_adds_authenticated():
    assert impersonation({"token": "t"}) is None
    assert impersonation({"impersonate": {"user": "alice", "groups": ["dev"]}}) == UserInfo(
        "alice", "", ("dev", AUTHENTICATED))


@pytest.mark.parametrize("wanted", [{"user": ""}, {"user": 3}, {"groups": []}, "alice",
                                    {"user": "alice", "groups": "dev"},
                                    {"user": "alice", "groups": [1]}])
def test_malformed_impersonation_is_a_bad_request(wanted: Any):
    with pytest.raises(BadRequest):
        impersonation({"impersonate": wanted})


# -- access reviews --------------------------------------------------------------------------------

SSAR = resolve("selfsubjectaccessreviews")
SAR = resolve("subjectaccessreviews")


def test_self_review_answers_for_the_caller_and_says_why(authorizer: Authorizer):
    body = {"spec": {"resourceAttributes": {"verb": "create", "resource": "pods",
                                            "subresource": "binding", "namespace": "default"}}}
    answer = access_review(authorizer, SSAR, body, SCHEDULER)
    assert answer["status"] == {"allowed": True, "reason": (
        'RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole '
        '"system:kube-scheduler" to User "system:kube-scheduler"')}
    assert answer["kind"] == "SelfSubjectAccessReview"
    assert access_review(authorizer, SSAR, body, ALICE)["status"] == {"allowed": False}


def test_subject_review_answers_for_the_named_subject(authorizer: Authorizer):
    body = {"spec": {"user": "someone", "groups": ["system:masters"],
                     "resourceAttributes": {"verb": "delete", "resource": "nodes"}}}
    assert access_review(authorizer, SAR, body, ALICE)["status"]["allowed"] is True


@pytest.mark.parametrize("body", [None, {}, {"spec": {}}, {"spec": {"resourceAttributes": {
    "verb": "get"}}}, {"spec": {"resourceAttributes": {"verb": "get", "resource": 3}}}])
def test_a_malformed_review_is_a_bad_request(authorizer: Authorizer, body: Any):
    with pytest.raises(BadRequest):
        access_review(authorizer, SSAR, body, ALICE)


SSRR = resolve("selfsubjectrulesreviews")


def test_rules_review_lists_the_rules_that_apply_in_the_namespace_asked(authorizer: Authorizer):
    authorizer.observe(rbac_object("Role", "reader", "dev", rules=[
        rule(["pods"], ["get", "list"], resourceNames=["web"])]))
    authorizer.observe(role_binding("readers", "dev", "reader", "alice"))
    authorizer.observe(rbac_object("ClusterRole", "health", rules=[
        {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]))
    authorizer.observe(rbac_object(
        "ClusterRoleBinding", "health", roleRef={"kind": "ClusterRole", "name": "health"},
        subjects=[{"kind": "Group", "name": AUTHENTICATED}]))
    in_dev = rules_review(authorizer, SSRR, {"spec": {"namespace": "dev"}}, ALICE)["status"]
    assert {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"],
            "resourceNames": ["web"]} in in_dev["resourceRules"]
    assert in_dev["nonResourceRules"] == [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]
    assert in_dev["incomplete"] is False
    elsewhere = rules_review(authorizer, SSRR, {"spec": {"namespace": "prod"}}, ALICE)
    assert all("pods" not in found["resources"]
               for found in elsewhere["status"]["resourceRules"])
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": [
        "selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in elsewhere["status"][
        "resourceRules"]  # system:basic-user's, bound cluster-wide
    with pytest.raises(BadRequest):
        rules_review(authorizer, SSRR, {"spec": {"namespace": 3}}, ALICE)


def test_changes_observed_at_once_by_several_workers_are_all_kept():
    authorizer = Authorizer()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show
    try:
        def commit(worker: int) -> None:
            for i in range(200):
                authorizer.observe(rbac_object("Role", f"r{worker}-{i}", "x", rules=[]))

        workers = [threading.Thread(target=commit, args=(w,)) for w in range(8)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert len(authorizer.objects) == 8 * 200


def test_a_mirror_lists_one_kind_in_one_namespace_by_name():
    mirror = Mirror(("LimitRange",))
    for namespace, name in (("b", "z"), ("a", "y"), ("a", "x")):
        mirror.observe({"kind": "LimitRange", "metadata": {"name": name,
                                                           "namespace": namespace}})
    mirror.observe({"kind": "ConfigMap", "metadata": {"name": "ignored", "namespace": "a"}})
    assert [o["metadata"]["name"] for o in mirror.list("LimitRange", "a")] == ["x", "y"]
    assert len(mirror.list("LimitRange", None)) == 3


def test_non_resource_urls_are_granted_by_cluster_roles_bound_cluster_wide(
        authorizer: Authorizer):
    monitor = UserInfo("prometheus", groups=("system:monitoring", AUTHENTICATED))
    assert non_resource_allowed(authorizer, monitor, "get", "/metrics")
    assert non_resource_allowed(authorizer, monitor, "get", "/readyz/store")  # /readyz/*
    assert not non_resource_allowed(authorizer, monitor, "post", "/metrics")
    assert not non_resource_allowed(authorizer, monitor, "get", "/api")
    assert not non_resource_allowed(authorizer, ALICE, "get", "/metrics")
    assert non_resource_allowed(authorizer, ADMIN, "get", "/anything")  # cluster-admin's *
    authorizer.observe(rbac_object("ClusterRole", "scrape", "", rules=[
        {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]))
    authorizer.observe(role_binding("scrape", "team-a", "scrape", "alice", "ClusterRole"))
    assert not non_resource_allowed(authorizer, ALICE, "get", "/metrics")  # a RoleBinding's
    body = {"spec": {"nonResourceAttributes": {"verb": "get", "path": "/metrics"}}}
    assert access_review(authorizer, SSAR, body, monitor)["status"] == {"allowed": True}
    assert access_review(authorizer, SSAR, body, ALICE)["status"] == {"allowed": False}
    with pytest.raises(BadRequest, match="nonResourceAttributes"):
        access_review(authorizer, SSAR, {"spec": {"nonResourceAttributes": {"verb": 3}}},
                      ALICE)


def test_a_remembered_allow_is_forgotten_when_its_binding_is_deleted(authorizer: Authorizer):
    binding = role_binding("alice-sched", "default", "system:kube-scheduler", "alice",
                           role_kind="ClusterRole")
    authorizer.observe(binding)
    for _ in range(2):  # the second is answered from the remembered decision
        assert authorizer.allowed(ask(ALICE, "get", "pods", name="web"))
    authorizer.observe(binding, deleted=True)
    assert not authorizer.allowed(ask(ALICE, "get", "pods", name="web"))


def test_a_remembered_denial_is_forgotten_when_the_bound_role_grows(authorizer: Authorizer):
    role = rbac_object("Role", "reader", "default", rules=[rule(["secrets"], ["get"])])
    authorizer.observe(role)
    authorizer.observe(role_binding("alice-reads", "default", "reader", "alice"))
    assert not authorizer.allowed(ask(ALICE, "get", "configmaps", name="a"))
    authorizer.observe(dict(role, rules=[rule(["secrets", "configmaps"], ["get"])]))
    assert authorizer.allowed(ask(ALICE, "get", "configmaps", name="a"))


def test_a_remembered_decision_of_a_named_rule_is_still_taken_by_name(authorizer: Authorizer):
    authorizer.observe(rbac_object("Role", "one-config", "default", rules=[
        rule(["configmaps"], ["get"], resourceNames=["app-config"])]))
    authorizer.observe(role_binding("alice-config", "default", "one-config", "alice"))
    names = ["app-config", "db-config", "app-config", "db-config"]
    assert [authorizer.allowed(ask(ALICE, "get", "configmaps", name=n)) for n in names] == \
        [True, False, True, False]


def test_decisions_are_remembered_per_identity_groups_included(authorizer: Authorizer):
    authorizer.observe(rbac_object("RoleBinding", "ops-read", "default",
                                   roleRef={"apiGroup": RBAC_GROUP, "kind": "ClusterRole",
                                            "name": "view"},
                                   subjects=[{"kind": "Group", "name": "ops"}]))
    ops = UserInfo("alice", groups=(AUTHENTICATED, "ops"))
    assert authorizer.allowed(ask(ops, "list", "pods"))
    assert not authorizer.allowed(ask(ALICE, "list", "pods"))
