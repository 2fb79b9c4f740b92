"""Authorization: may this user do this (step 2 of the apiserver pipeline), by RBAC.

Roles and bindings are API objects; the :class:`Authorizer` keeps them in memory, fed by the
store's commit events, so a change takes effect at the next request. RBAC is additive only: a
request is allowed when any rule of any role bound to the user (or one of its groups) covers
it. A denial names the user, verb, resource and namespace as kube-apiserver does.

:func:`bootstrap_policy` returns the roles and bindings every cluster starts with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.apiserver.authn import UserInfo
from bus.errors import Forbidden

Object = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")


@dataclass(frozen=True, slots=True)
class Attributes:
    """What a request asks to do, in RBAC's terms."""

    user: UserInfo
    verb: str
    group: str
    resource: str
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None

    @property
    def resource_path(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    """True when one PolicyRule covers the request."""

    def has(field: str, value: str) -> bool:
        values = rule.get(field) or []
        return "*" in values or value in values

    resource_ok = has("resources", attrs.resource_path) or (
        attrs.subresource is not None and f"*/{attrs.subresource}" in (rule.get("resources") or [])
    )
    names = rule.get("resourceNames") or []
    return (
        has("verbs", attrs.verb)
        and has("apiGroups", attrs.group)
        and resource_ok
        and (not names or attrs.name in names)
    )


def subject_matches(subject: dict[str, Any], user: UserInfo) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    return (kind == "User" and name == user.name) or (kind == "Group" and name in user.groups)


class Authorizer:
    """RBAC over an in-memory copy of roles and bindings. Used from the apiserver thread."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str, str], Object] = {}
        """(kind, namespace, name) -> role or binding."""
        self._revisions: dict[tuple[str, str, str], int] = {}
        """Revision of the last change taken in per key, deletions included."""

    def observe(self, obj: Object, deleted: bool = False) -> None:
        """Take in a committed change of an RBAC object (ignores other kinds). The same change
        may arrive twice (from the commit and from the store's event); an older one than the
        last taken in is ignored, so a replay never brings back a revoked permission."""
        kind = obj.get("kind", "")
        if kind not in RBAC_KINDS:
            return
        meta = obj.get("metadata", {})
        key = (kind, meta.get("namespace", ""), meta.get("name", ""))
        revision = int(meta.get("resourceVersion") or 0)
        if revision and revision < self._revisions.get(key, 0):
            return
        self._revisions[key] = revision
        # Copy on write: workers read the mapping on other threads while this replaces it.
        objects = dict(self._objects)
        if deleted:
            objects.pop(key, None)
        else:
            objects[key] = obj
        self._objects = objects

    def allowed(self, attrs: Attributes) -> bool:
        for (kind, namespace, _), binding in self._objects.items():
            if kind == "ClusterRoleBinding" or (
                kind == "RoleBinding" and namespace == attrs.namespace
            ):
                if not any(subject_matches(s, attrs.user) for s in binding.get("subjects") or []):
                    continue
                if any(rule_allows(rule, attrs) for rule in self._rules(binding, namespace)):
                    return True
        return False

    def authorize(self, attrs: Attributes) -> None:
        """Return when allowed; raise Forbidden naming the missing permission otherwise."""
        if self.allowed(attrs):
            return
        where = (f' in the namespace "{attrs.namespace}"' if attrs.namespace
                 else " at the cluster scope")
        named = f"{attrs.resource} \"{attrs.name}\"" if attrs.name else attrs.resource
        raise Forbidden(
            f'{named} is forbidden: User "{attrs.user.name}" cannot {attrs.verb} resource '
            f'"{attrs.resource_path}" in API group "{attrs.group}"{where}',
            details={"kind": attrs.resource, "name": attrs.name or ""},
        )

    def _rules(self, binding: Object, namespace: str) -> list[dict[str, Any]]:
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            role = self._objects.get(("ClusterRole", "", ref.get("name", "")))
        else:
            role = self._objects.get(("Role", namespace, ref.get("name", "")))
        return list((role or {}).get("rules") or [])


# -- bootstrap policy ---------------------------------------------------------------------------

ALL = ["*"]
READ = ["get", "list", "watch"]
WRITE_STATUS = ["get", "update", "patch"]


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> Object:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "rules": rules,
    }


def _cluster_binding(name: str, kind: str, subject: str) -> Object:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": kind, "name": subject}],
    }


def bootstrap_policy() -> list[Object]:
    """Cluster roles and bindings every cluster starts with, after Kubernetes' defaults."""
    coordination = "coordination.k8s.io"
    return [
        _cluster_role("cluster-admin", [_rule(ALL, ALL, ALL)]),
        _cluster_binding("cluster-admin", "Group", "system:masters"),
        _cluster_role("system:kube-scheduler", [
            _rule([""], ["pods", "nodes", "namespaces"], READ),
            _rule([""], ["pods/binding"], ["create"]),
            _rule([""], ["pods/status"], WRITE_STATUS),
            _rule([""], ["events"], ["create", "update", "patch"]),
            _rule([coordination], ["leases"], ["get", "create", "update"]),
        ]),
        _cluster_binding("system:kube-scheduler", "User", "system:kube-scheduler"),
        _cluster_role("system:kube-controller-manager", [
            _rule([""], ["nodes"], [*READ, "update", "patch"]),
            _rule([""], ["nodes/status"], WRITE_STATUS),
            _rule([""], ["pods"], [*READ, "create", "delete", "update", "patch"]),
            _rule([""], ["pods/status"], WRITE_STATUS),
            _rule([""], ["events"], ["create", "update", "patch"]),
            _rule([coordination], ["leases"], [*READ, "create", "update"]),
            _rule(["apps"], ["replicasets", "deployments"], [*READ, "create", "update",
                                                             "patch", "delete"]),
            _rule(["apps"], ["replicasets/status", "deployments/status"], WRITE_STATUS),
            _rule([""], ["namespaces/finalize", "namespaces/status"], ["update"]),
            # The garbage collector and the namespace controller reach every resource.
            _rule(ALL, ALL, [*READ, "update", "patch", "delete"]),
        ]),
        _cluster_binding("system:kube-controller-manager", "User",
                         "system:kube-controller-manager"),
        _cluster_role("system:node", [
            _rule([""], ["pods"], [*READ, "delete"]),
            _rule([""], ["pods/status"], WRITE_STATUS),
            _rule([""], ["nodes"], [*READ, "create", "update", "patch"]),
            _rule([""], ["nodes/status"], WRITE_STATUS),
            _rule([""], ["configmaps"], READ),
            _rule([""], ["events"], ["create", "update", "patch"]),
            _rule([coordination], ["leases"], ["get", "create", "update", "delete"]),
        ]),
        # Kubernetes authorizes kubelets with the Node authorizer plus NodeRestriction; until
        # that lands here, the system:node role is bound to the system:nodes group.
        _cluster_binding("system:node", "Group", "system:nodes"),
    ]
