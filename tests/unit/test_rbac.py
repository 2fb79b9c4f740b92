"""Authorization by RBAC (actors/apiserver/rbac.py) over the bootstrap policy, and static token
authentication (actors/apiserver/authn.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.apiserver.authn import AUTHENTICATED, TokenAuthenticator, UserInfo
from actors.apiserver.rbac import RBAC_GROUP, Attributes, Authorizer, bootstrap_policy
from bus.errors import Forbidden, Unauthorized

Object = dict[str, Any]

ADMIN = UserInfo("admin", groups=("system:masters",))
SCHEDULER = UserInfo("system:kube-scheduler")
NODE = UserInfo("system:node:node-1", groups=("system:nodes",))
ALICE = UserInfo("alice", groups=(AUTHENTICATED,))


def ask(user: UserInfo, verb: str, resource: str, namespace: str | None = "default", *,
        name: str | None = None, group: str = "") -> Attributes:
    """The request ``verb resource[/subresource]`` by ``user``."""
    resource, _, subresource = resource.partition("/")
    return Attributes(user, verb, group, resource, subresource or None, namespace, name)


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
    authorizer = Authorizer()
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
