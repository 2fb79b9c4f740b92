"""Which flow a request belongs to (API Priority and Fairness' classification).

The FlowSchemas are tried by ``matchingPrecedence`` (then name), the first whose rules match
the request wins: a rule matches when one of its subjects is the user (by name, one of its
groups, or as the service account it is) and one of its resource rules the verb, API group,
resource (``pods/log`` for a subresource) and namespace (``clusterScope`` for a request
without one). The winner names the priority level and how the request's flow is told apart
from others at that level: by user, by namespace, or not at all. A schema whose level does not
exist is skipped (Kubernetes calls it dangling); nothing matching, the request is the
mandatory ``catch-all``'s.

:class:`Policy` is the compiled configuration, one immutable value replaced whole on every
change of a FlowSchema or a level (:class:`FlowControl`, a Mirror shared by the workers), so a
reader on any thread sees one configuration or the next. It keeps the flows it found by the
request's attributes (bounded): a flood asks the same few questions again and again; and by
the request as it came (its user, subject and namespace: :meth:`Policy.classify_message`), so
that a request asked before is classified without building its question. A FlowSchema or level
changed, the next Policy starts with neither.

Pure (:class:`FlowControl` keeps the one Policy current). Neighbours:
``actors.api.flowcontrol`` (the objects), ``queueing`` (what a flow waits in), ``fairness``
(the pipeline's side), ``mirror``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from actors.api import flowcontrol
from actors.api.objects import Object
from actors.api.users import UserInfo
from actors.apiserver.mirror import Key, Mirror

K = TypeVar("K")
V = TypeVar("V")
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
MAX_REMEMBERED = 4096
"""Classifications a Policy keeps (by the request's attributes) before starting afresh."""
UNVERIFIED = "kubeactor.io:unverified"
"""The group of a user known only by a claim not authenticated yet (``fairness.unverified``)."""
UNVERIFIED_DEBTOR = "?unverified"
"""The one :attr:`Flow.debtor` of every such user's flow."""


@dataclass(frozen=True, slots=True)
class Level:
    """A priority level as the dispatcher uses it."""

    name: str
    uid: str = ""
    exempt: bool = False
    shares: int = 30
    """``nominalConcurrencyShares``: its part of the server's concurrency."""
    queues: int = 0
    """0: the level rejects what it cannot seat at once (``limitResponse: Reject``)."""
    hand_size: int = 1
    queue_length_limit: int = 0


@dataclass(frozen=True, slots=True)
class Flow:
    """A request's classification: its schema, its level, and its flow's key."""

    schema: str
    schema_uid: str
    level: Level
    key: str
    """Tells this flow from the others of its level: ``<schema>/<user or namespace>``."""
    debtor: str = ""
    """Whose account the worker's time its requests take is counted on, when its level is
    paced (``queueing.Pacing``): its own ("") or, for a user known only by a claim not
    authenticated yet, :data:`UNVERIFIED_DEBTOR`, shared by all of them (a credential made
    up per request makes a flow per request: their queues stay apart, their time is one
    sender's)."""


@dataclass(frozen=True, slots=True)
class Asked:
    """What classification reads of a request."""

    user: UserInfo
    verb: str
    group: str
    resource: str
    """With the subresource: ``pods/log``."""
    namespace: str | None


CATCH_ALL_LEVEL = Level(flowcontrol.CATCH_ALL, shares=5)
"""The level of ``catch-all`` before its object is read (Kubernetes' mandatory one)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """The FlowSchemas that are not dangling, in matching order, and the levels."""

    schemas: tuple[Object, ...] = ()
    levels: dict[str, Level] = field(default_factory=dict)
    remembered: dict[Asked, Flow] = field(default_factory=dict, compare=False)
    by_message: dict[tuple[UserInfo, str, object], Flow] = field(default_factory=dict,
                                                                  compare=False)
    total_shares: int = field(init=False)
    """The shares of every level but the exempt ones: the seats' denominator."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_shares", sum(
            level.shares for level in self.levels.values() if not level.exempt))

    def classify(self, asked: Asked) -> Flow:
        """The flow of ``asked`` (see the module docstring). Any thread."""
        return remembered(self.remembered, asked, MAX_REMEMBERED, lambda: classify(self, asked))

    def classify_message(self, user: UserInfo, subject: str, namespace: object,
                         asking: Callable[[], Asked]) -> Flow:
        """The flow of a message from ``user`` on ``subject`` naming ``namespace`` (as it
        came: any value), whose question ``asking`` builds: remembered by those. Any
        thread."""
        key = (user, subject, namespace if isinstance(namespace, str) else None)
        return remembered(self.by_message, key, MAX_REMEMBERED,
                          lambda: self.classify(asking()))


def remembered(memo: dict[K, V], key: K, limit: int, make: Callable[[], V]) -> V:
    """``memo[key]``, made by ``make`` when missing; ``memo`` starts afresh at ``limit``
    entries (what a flood asks again and again stays cheap; what it asks once, bounded)."""
    value = memo.get(key)
    if value is None:
        if len(memo) >= limit:
            memo.clear()
        value = memo[key] = make()
    return value


def classify(policy: Policy, asked: Asked) -> Flow:
    """The flow of ``asked`` under ``policy``, found afresh."""
    for schema in policy.schemas:
        spec = schema["spec"]
        if any(_rule_matches(rule, asked) for rule in spec.get("rules") or ()):
            level = policy.levels[spec["priorityLevelConfiguration"]["name"]]
            return Flow(schema["metadata"]["name"], schema["metadata"].get("uid", ""), level,
                        _flow_key(schema, asked), _debtor(asked.user))
    level = policy.levels.get(flowcontrol.CATCH_ALL, CATCH_ALL_LEVEL)
    return Flow(flowcontrol.CATCH_ALL, "", level, f"{flowcontrol.CATCH_ALL}/{asked.user.name}",
                _debtor(asked.user))


def _debtor(user: UserInfo) -> str:
    return UNVERIFIED_DEBTOR if UNVERIFIED in user.groups else ""


def _flow_key(schema: Object, asked: Asked) -> str:
    method = (schema["spec"].get("distinguisherMethod") or {}).get("type")
    name = schema["metadata"]["name"]
    if method == flowcontrol.BY_USER:
        return f"{name}/{asked.user.name}"
    if method == flowcontrol.BY_NAMESPACE:
        return f"{name}/{asked.namespace or ''}"
    return name


def _rule_matches(rule: Object, asked: Asked) -> bool:
    return any(_subject_matches(s, asked.user) for s in rule.get("subjects") or ()) and any(
        _resource_matches(r, asked) for r in rule.get("resourceRules") or ())


def _subject_matches(subject: Object, user: UserInfo) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return _named(subject["user"].get("name"), user.name)
    if kind == "Group":
        wanted = subject["group"].get("name")
        return wanted == "*" or wanted in user.groups
    if kind == "ServiceAccount" and user.name.startswith(SERVICE_ACCOUNT_PREFIX):
        namespace, _, name = user.name[len(SERVICE_ACCOUNT_PREFIX):].partition(":")
        account = subject["serviceAccount"]
        return account.get("namespace") == namespace and _named(account.get("name"), name)
    return False


def _resource_matches(rule: Object, asked: Asked) -> bool:
    if not (_among(rule.get("verbs"), asked.verb) and _among(rule.get("apiGroups"), asked.group)
            and _among(rule.get("resources"), asked.resource)):
        return False
    if asked.namespace is None:
        return bool(rule.get("clusterScope"))
    return _among(rule.get("namespaces"), asked.namespace)


def _named(wanted: object, name: str) -> bool:
    return wanted in ("*", name)


def _among(values: Iterable[str] | None, value: str) -> bool:
    values = values or ()
    return "*" in values or value in values


def policy(objects: Iterable[Object]) -> Policy:
    """The Policy of these FlowSchemas and levels (any order)."""
    levels, schemas = {}, []
    for obj in objects:
        if obj.get("kind") == "PriorityLevelConfiguration":
            levels[obj["metadata"]["name"]] = level(obj)
        else:
            schemas.append(obj)
    usable = [s for s in schemas if (s.get("spec") or {}).get(
        "priorityLevelConfiguration", {}).get("name") in levels]
    usable.sort(key=lambda s: (s["spec"].get("matchingPrecedence", 1000),
                               s["metadata"]["name"]))
    return Policy(tuple(usable), levels)


def level(obj: Object) -> Level:
    """A PriorityLevelConfiguration as the dispatcher uses it."""
    spec, meta = obj.get("spec") or {}, obj["metadata"]
    if spec.get("type") == flowcontrol.EXEMPT:
        return Level(meta["name"], meta.get("uid", ""), exempt=True, shares=0)
    limited = spec.get("limited") or {}
    queuing = (limited.get("limitResponse") or {}).get("queuing") or {}
    return Level(meta["name"], meta.get("uid", ""),
                 shares=int(limited.get("nominalConcurrencyShares", 30)),
                 queues=int(queuing.get("queues", 0)),
                 hand_size=int(queuing.get("handSize", 1)),
                 queue_length_limit=int(queuing.get("queueLengthLimit", 0)))


class FlowControl(Mirror):
    """The FlowSchemas and levels of the store, compiled into :attr:`policy` on each change;
    shared by the workers of one apiserver, and with them :attr:`learnt`."""

    def __init__(self) -> None:
        super().__init__(("FlowSchema", "PriorityLevelConfiguration"))
        self.policy = Policy()
        self.learnt: OrderedDict[Any, UserInfo] = OrderedDict()
        """Who the claims the workers authenticated are (``fairness.Identities``): a claim
        one worker learnt is known to all, so that a client's requests are unverified only
        until its first is authenticated, whichever worker serves the next."""

    def changed(self, objects: dict[Key, Object]) -> None:
        self.policy = policy(objects.values())  # one assignment: readers see old or new
