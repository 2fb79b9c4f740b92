"""Authorization: may this user do this (step 2 of the apiserver pipeline), by RBAC.

Roles and bindings are API objects; the :class:`Authorizer` keeps them in memory, fed by the
store's commit events, so a change takes effect at the next request. RBAC is additive only: a
request is allowed when any rule of any role bound to the user (or one of its groups) covers
it. Authorizers asked before RBAC (:class:`Opinion`: the Node authorizer of ``nodeauthz``, as
kube-apiserver's ``--authorization-mode=Node,RBAC``) may allow first; their reasons end the
denial. A denial names the user, verb, resource and namespace as kube-apiserver does.

Decisions are cheap: the rules that reach one identity (user and groups) are compiled once into
a :class:`UserRules` (cluster-wide rules, and rules per namespace, each a set lookup), and
RBAC's answer to each question asked (identity, verb, group, resource, namespace: a flood asks
the same few again and again) is remembered beside them, the object's name left out unless a
rule with ``resourceNames`` could decide; both are kept until the next change of a role or a
binding, which starts a new generation with empty caches (copy on write: the apiserver's
workers read the policy on their own threads while a commit replaces it).

Also here, as pure functions over RBAC objects: :func:`grants` (which bindings allow a request:
``auth who-can`` and review reasons),
:func:`missing_rules` (privilege escalation prevention, applied by the :class:`PreventEscalation`
admission plugin: a user grants only what they hold). The roles and bindings every cluster
starts with are ``bootstrappolicy``'s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

from actors.api.objects import Object
from actors.api.resources import qualify
from actors.api.users import UserInfo
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.mirror import Key, Mirror, key_of
from bus.errors import Forbidden

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
ALL = "*"
MAX_CACHED_IDENTITIES = 10_000
"""Compiled identities kept between policy changes; past this the cache starts again (memory
stays bounded whatever the number of users)."""
MAX_CACHED_DECISIONS = 10_000
"""RBAC answers kept between policy changes, by question; past this the cache starts again."""
Question = tuple[str, tuple[str, ...], str, str, str, str | None]
"""What RBAC is asked, the object's name aside: user, groups, verb, group, resource[/sub],
namespace."""


@dataclass(frozen=True, slots=True)
class Attributes:
    """What a request asks to do, in RBAC's terms."""

    user: UserInfo
    verb: str
    _: KW_ONLY
    group: str
    resource: str
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None
    field_selector: str | None = None
    """A list's or watch's field selector (the Node authorizer reads ``spec.nodeName``)."""

    @property
    def resource_path(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    @property
    def scope(self) -> str:
        """Kubernetes' words for where: ``in the namespace "x"`` or ``at the cluster scope``."""
        return (f'in the namespace "{self.namespace}"' if self.namespace
                else "at the cluster scope")


def _strings(value: Any) -> frozenset[str]:
    """The strings of a rule field; anything malformed counts as nothing (validation, which
    runs before the store, reports it)."""
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) \
        else frozenset()


@dataclass(frozen=True, slots=True)
class Rule:
    """One PolicyRule, compiled to sets."""

    verbs: frozenset[str]
    groups: frozenset[str]
    resources: frozenset[str]
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, rule: Any) -> Rule:
        rule = rule if isinstance(rule, dict) else {}
        return cls(_strings(rule.get("verbs")), _strings(rule.get("apiGroups")),
                   _strings(rule.get("resources")), _strings(rule.get("resourceNames")))

    def allows(self, verb: str, group: str, resource_path: str, name: str | None) -> bool:
        """Kubernetes' RuleAllows: ``*`` matches any verb, group or (sub)resource;
        ``*/<sub>`` any resource's subresource; resourceNames restrict to those objects (a
        request without a name, like a list, never matches a rule that has them)."""
        return self.covers(verb, group, resource_path) and (not self.names or name in self.names)

    def covers(self, verb: str, group: str, resource_path: str) -> bool:
        """The verb, group and (sub)resource match, whatever the object's name."""
        _, _, subresource = resource_path.partition("/")
        return ((ALL in self.verbs or verb in self.verbs)
                and (ALL in self.groups or group in self.groups)
                and (ALL in self.resources or resource_path in self.resources
                     or (bool(subresource) and f"*/{subresource}" in self.resources)))

    def atoms(self) -> Iterator[tuple[str, str, str, str | None]]:
        """(verb, group, resource, name) of everything this rule grants, ``*`` as a literal
        that only a ``*`` covers (for :func:`missing_rules`)."""
        names: Iterable[str | None] = sorted(self.names) or [None]
        return itertools.product(sorted(self.verbs), sorted(self.groups),
                                 sorted(self.resources), names)

    def show(self) -> str:
        """As kube-apiserver prints a rule it refuses to grant."""
        parts = [f"APIGroups:{_quoted(self.groups)}", f"Resources:{_quoted(self.resources)}"]
        if self.names:
            parts.append(f"ResourceNames:{_quoted(self.names)}")
        return "{" + ", ".join([*parts, f"Verbs:{_quoted(self.verbs)}"]) + "}"


def _quoted(values: frozenset[str]) -> str:
    return "[" + " ".join(f'"{v}"' for v in sorted(values)) + "]"


@dataclass(frozen=True, slots=True)
class UserRules:
    """Every rule that reaches one identity: cluster-wide (ClusterRoleBindings) and per
    namespace (RoleBindings)."""

    cluster: tuple[Rule, ...] = ()
    namespaced: dict[str, tuple[Rule, ...]] = field(default_factory=dict)

    def in_scope(self, namespace: str | None) -> tuple[Rule, ...]:
        """The rules that apply in ``namespace`` (None: at the cluster scope)."""
        return self.cluster + self.namespaced.get(namespace, ()) if namespace else self.cluster

    def allows(self, attrs: Attributes) -> bool:
        path = attrs.resource_path
        return any(rule.allows(attrs.verb, attrs.group, path, attrs.name)
                   for rule in self.in_scope(attrs.namespace))

    def allows_any_name(self, attrs: Attributes) -> bool | None:
        """True: a rule without ``resourceNames`` allows ``attrs`` whatever its name; False:
        no rule does for any name; None: it depends on the name (a rule naming objects)."""
        path = attrs.resource_path
        covering = [rule for rule in self.in_scope(attrs.namespace)
                    if rule.covers(attrs.verb, attrs.group, path)]
        if any(not rule.names for rule in covering):
            return True
        return None if covering else False


def subject_matches(subject: Any, user: UserInfo) -> bool:
    key = _subject_key(subject)
    return key is not None and (key == ("User", user.name) or (
        key[0] == "Group" and key[1] in user.groups))


class _Policy:
    """One generation of the policy: its objects, its bindings by subject (indexed on first
    use) and the identities compiled from it. Never changed but to fill those caches."""

    __slots__ = ("_by_subject", "compiled", "decisions", "objects")

    def __init__(self, objects: dict[Key, Object] | None = None) -> None:
        self.objects: dict[Key, Object] = objects or {}
        self.compiled: dict[tuple[str, tuple[str, ...]], UserRules] = {}
        self.decisions: dict[Question, bool | None] = {}
        self._by_subject: dict[tuple[str, str], list[Key]] | None = None

    def bindings_of(self, user: UserInfo) -> Iterator[tuple[Key, Object]]:
        """The bindings naming ``user`` or one of its groups, each once."""
        index = self._by_subject
        if index is None:  # built whole, then published: other threads see all or nothing
            index = {}
            for key, binding in _bindings(self.objects):
                subjects = binding.get("subjects")
                for subject in subjects if isinstance(subjects, list) else []:
                    if (named := _subject_key(subject)) is not None:
                        index.setdefault(named, []).append(key)
            self._by_subject = index
        keys = [key for subject in (("User", user.name), *(("Group", g) for g in user.groups))
                for key in index.get(subject, ())]
        return ((key, self.objects[key]) for key in dict.fromkeys(keys))


def _subject_key(subject: Any) -> tuple[str, str] | None:
    """Whom a binding's subject names: ("User", name) or ("Group", name); a ServiceAccount
    is the user Kubernetes names ``system:serviceaccount:<namespace>:<name>``."""
    if not isinstance(subject, dict) or not isinstance(subject.get("name"), str):
        return None
    kind, name = subject.get("kind"), subject["name"]
    if kind == "ServiceAccount":
        return "User", f"system:serviceaccount:{subject.get('namespace', '')}:{name}"
    return (kind, name) if kind in ("User", "Group") else None


def role_rules(objects: dict[Key, Object], binding: Object) -> tuple[Rule, ...] | None:
    """The rules of the role a binding refers to; None when that role does not exist."""
    rules = _policy_rules(objects, binding)
    return None if rules is None else tuple(Rule.of(r) for r in rules)


def _policy_rules(objects: dict[Key, Object], binding: Object) -> list[Any] | None:
    """The PolicyRules, as stored, of the role a binding refers to; None when that role does
    not exist."""
    ref = binding.get("roleRef") if isinstance(binding.get("roleRef"), dict) else {}
    assert isinstance(ref, dict)
    kind = ref.get("kind")
    namespace = binding.get("metadata", {}).get("namespace", "") if kind == "Role" else ""
    role = objects.get((str(kind), namespace, str(ref.get("name", ""))))
    if role is None:
        return None
    rules = role.get("rules")
    return rules if isinstance(rules, list) else []


def _bindings(objects: dict[Key, Object]) -> Iterator[tuple[Key, Object]]:
    return ((key, obj) for key, obj in objects.items()
            if key[0] in ("RoleBinding", "ClusterRoleBinding"))


def compile_rules(policy: _Policy, user: UserInfo) -> UserRules:
    """Every rule bound to ``user`` or one of its groups."""
    cluster: list[Rule] = []
    namespaced: dict[str, list[Rule]] = {}
    for (kind, namespace, _), binding in policy.bindings_of(user):
        rules = role_rules(policy.objects, binding) or ()
        target = cluster if kind == "ClusterRoleBinding" else namespaced.setdefault(namespace, [])
        target.extend(rules)
    return UserRules(tuple(cluster), {ns: tuple(rules) for ns, rules in namespaced.items()})


@dataclass(frozen=True, slots=True)
class Grant:
    """One subject of one binding that allows a request (a row of ``auth who-can``)."""

    binding_kind: str
    binding: str
    _: KW_ONLY
    namespace: str
    """The RoleBinding's namespace; empty for a ClusterRoleBinding."""
    subject_kind: str
    subject: str
    subject_namespace: str
    """A ServiceAccount's namespace; empty otherwise."""
    role_kind: str
    role: str


def grants(objects: Iterable[Object], attrs: Attributes) -> list[Grant]:
    """Every (binding, subject) whose role allows ``attrs`` (its user is not looked at), in
    binding order: who can do it, and why."""
    by_key = {key_of(obj): obj for obj in objects if obj.get("kind") in RBAC_KINDS}
    found = []
    path = attrs.resource_path
    for (kind, namespace, name), binding in sorted(_bindings(by_key)):
        if kind == "RoleBinding" and namespace != attrs.namespace:
            continue
        rules = role_rules(by_key, binding) or ()
        if not any(rule.allows(attrs.verb, attrs.group, path, attrs.name) for rule in rules):
            continue
        ref = binding.get("roleRef") or {}
        for subject in binding.get("subjects") or []:
            if isinstance(subject, dict):
                found.append(Grant(
                    kind, name, namespace=namespace, subject_kind=str(subject.get("kind", "")),
                    subject=str(subject.get("name", "")),
                    subject_namespace=str(subject.get("namespace", ""))
                    if subject.get("kind") == "ServiceAccount" else "",
                    role_kind=str(ref.get("kind", "")), role=str(ref.get("name", ""))))
    return found


def missing_rules(owned: Iterable[Rule], wanted: Iterable[Rule]) -> list[Rule]:
    """The parts of ``wanted`` that no rule in ``owned`` covers, one atom per Rule, as
    Kubernetes' ConfirmNoEscalation breaks them down (a ``*`` is covered only by a ``*``)."""
    owned = tuple(owned)
    missing = []
    for rule in wanted:
        for verb, group, resource, name in rule.atoms():
            if not any(o.allows(verb, group, resource, name) for o in owned):
                missing.append(Rule(frozenset([verb]), frozenset([group]), frozenset([resource]),
                                    frozenset([name]) if name else frozenset()))
    return missing


@dataclass(frozen=True, slots=True)
class Decision:
    """An authorizer's answer: allowed, or not (no opinion) with why, in Kubernetes' words."""

    allowed: bool
    reason: str = ""


class Opinion(Protocol):
    """An authorizer asked before RBAC; it allows, or leaves the request to the next."""

    def decide(self, attrs: Attributes) -> Decision: ...


class Authorizer(Mirror):
    """RBAC over an in-memory copy of roles and bindings (a :class:`Mirror`), shared by the
    apiserver's workers: changes come in on whichever worker commits or hears them, decisions
    are made on every worker's thread without a lock. ``first``: authorizers asked before
    RBAC, in order (mirrors among them are listed by :attr:`mirrors`, to be fed too)."""

    def __init__(self, *first: Opinion) -> None:
        super().__init__(RBAC_KINDS)
        self._policy = _Policy()
        self._first = first
        self.mirrors: tuple[Mirror, ...] = (self, *(o for o in first if isinstance(o, Mirror)))

    def changed(self, objects: dict[Key, Object]) -> None:
        self._policy = _Policy(objects)  # a new generation: nothing compiled yet

    def policy_objects(self) -> dict[Key, Object]:
        """Every role and binding in force, by (kind, namespace, name)."""
        return self._policy.objects

    def rules_for(self, user: UserInfo) -> UserRules:
        """The compiled rules of ``user``; compiled on first use after each policy change."""
        return self._rules_in(self._policy, user)

    @staticmethod
    def _rules_in(policy: _Policy, user: UserInfo) -> UserRules:
        """The compiled rules of ``user`` in the generation ``policy`` (cached there)."""
        identity = (user.name, user.groups)
        rules = policy.compiled.get(identity)
        if rules is None:
            if len(policy.compiled) >= MAX_CACHED_IDENTITIES:
                policy.compiled.clear()
            rules = policy.compiled[identity] = compile_rules(policy, user)
        return rules

    def rbac_allows(self, attrs: Attributes) -> bool:
        """RBAC's answer, remembered by question in the policy's generation (a change of a
        role or binding starts a new one: the next request is decided afresh)."""
        policy = self._policy  # decide from, and cache into, the same generation
        user = attrs.user
        question = (user.name, user.groups, attrs.verb, attrs.group, attrs.resource_path,
                    attrs.namespace)
        try:
            known = policy.decisions[question]
        except KeyError:
            if len(policy.decisions) >= MAX_CACHED_DECISIONS:
                policy.decisions.clear()
            known = policy.decisions[question] = self._rules_in(
                policy, user).allows_any_name(attrs)
        return self._rules_in(policy, user).allows(attrs) if known is None else known

    def policy_rules(self, user: UserInfo, namespace: str) -> Iterator[Any]:
        """The PolicyRules, as stored, bound to ``user`` or its groups that apply in
        ``namespace`` (every ClusterRoleBinding's, and the RoleBindings' of ``namespace``;
        "": the cluster-wide ones only), as kube-apiserver's RBAC ``RulesFor``."""
        policy = self._policy
        for (kind, bound_in, _), binding in policy.bindings_of(user):
            if kind == "ClusterRoleBinding" or (namespace and bound_in == namespace):
                yield from _policy_rules(policy.objects, binding) or ()

    def decide(self, attrs: Attributes) -> Decision:
        """The first authorizer that allows decides; else RBAC; a denial keeps the reasons
        the others gave (kube-apiserver's union of authorizers)."""
        reasons = []
        for opinion in self._first:
            decision = opinion.decide(attrs)
            if decision.allowed:
                return decision
            reasons.append(decision.reason)
        if self.rbac_allows(attrs):
            return Decision(True)
        return Decision(False, ", ".join(reason for reason in reasons if reason))

    def allowed(self, attrs: Attributes) -> bool:
        return self.decide(attrs).allowed

    def authorize(self, attrs: Attributes) -> None:
        """Return when allowed; raise Forbidden naming the missing permission otherwise."""
        decision = self.decide(attrs)
        if not decision.allowed:
            why = f": {decision.reason}" if decision.reason else ""
            raise forbidden(attrs, f'User "{attrs.user.name}" cannot {attrs.verb} resource '
                                   f'"{attrs.resource_path}" in API group "{attrs.group}" '
                                   f"{attrs.scope}{why}")

    def reason(self, attrs: Attributes) -> str:
        """Why a request is allowed, in kube-apiserver's words (empty when it is not)."""
        for grant in grants(self._policy.objects.values(), attrs):
            subject = {"kind": grant.subject_kind, "name": grant.subject,
                       "namespace": grant.subject_namespace}
            if subject_matches(subject, attrs.user):
                where = f' in namespace "{grant.namespace}"' if grant.namespace else ""
                return (f'RBAC: allowed by {grant.binding_kind} "{grant.binding}" of '
                        f'{grant.role_kind} "{grant.role}" to {grant.subject_kind} '
                        f'"{grant.subject}"{where}')
        return ""


def forbidden(attrs: Attributes, why: str) -> Forbidden:
    """kube-apiserver's 403: ``<resource>[.<group>] "<name>" is forbidden: <why>``."""
    resource = qualify(attrs.resource, attrs.group)
    named = f'{resource} "{attrs.name}"' if attrs.name else resource
    return Forbidden(f"{named} is forbidden: {why}",
                     details={"kind": attrs.resource, "name": attrs.name or ""})


class PreventEscalation:
    """Kubernetes' privilege escalation prevention, as a validating admission plugin: a user
    may create or update a Role/ClusterRole only with rules they hold themselves (in that
    namespace, or cluster-wide for a ClusterRole) unless they may ``escalate`` it, and a
    binding only to a role whose rules they hold unless they may ``bind`` it."""

    name = "RBACEscalation"

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    def validate(self, request: AdmissionRequest) -> None:
        obj = request.object
        if request.info.group != RBAC_GROUP or request.operation not in ("CREATE", "UPDATE") \
                or obj is None:
            return
        namespace, user = request.namespace, request.user
        if request.info.kind in ("Role", "ClusterRole"):
            verb, resource, name = "escalate", request.info.name, request.name
            rules = obj.get("rules")
            wanted: tuple[Rule, ...] | None = tuple(Rule.of(r) for r in rules) \
                if isinstance(rules, list) else ()
        else:
            ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
            assert isinstance(ref, dict)
            resource = "roles" if ref.get("kind") == "Role" else "clusterroles"
            verb, name = "bind", str(ref.get("name", ""))
            wanted = role_rules(self._authorizer.policy_objects(), obj)
        if self._authorizer.allowed(Attributes(user, verb, group=RBAC_GROUP, resource=resource,
                                               subresource=None, namespace=namespace, name=name)):
            return
        if wanted is None:
            raise request.forbidden(f'{resource}.{RBAC_GROUP} "{name}" not found')
        missing = missing_rules(self._authorizer.rules_for(user).in_scope(namespace), wanted)
        if missing:
            groups = ",".join(f'"{g}"' for g in user.groups)
            raise request.forbidden(
                f'user "{user.name}" (groups=[{groups}]) is attempting to grant RBAC '
                "permissions not currently held:\n" + "\n".join(r.show() for r in missing))
