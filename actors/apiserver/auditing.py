"""Audit in Kubernetes' shape: ``audit.k8s.io/v1`` Events under an audit Policy.

:class:`Policy` is kube-apiserver's (``--audit-policy-file``): rules tried in order, the first
whose ``users``, ``userGroups``, ``verbs``, ``resources`` (group, resources with ``*`` and
``pods/*``, ``*/status``, resourceNames), ``namespaces`` and ``nonResourceURLs`` all match
gives the level (``None``, ``Metadata``, ``Request``, ``RequestResponse``) and the stages
left out (its ``omitStages`` and the policy's); a request no rule matches is not audited.
:data:`DEFAULT_POLICY`, when no file is given, audits every request at ``Metadata`` (who,
what, the answer's code), what kubeactor always logged; kube-apiserver without a policy file
logs nothing, which would leave an operator blind. Whatever the policy, :data:`NO_BODIES`
(Secrets, TokenReviews, token requests, the certificate handshake) are never logged above
``Metadata``: no secret's data reaches the log.

:class:`Auditor` is an ``outcomes.Observer``: for each answered request it writes the
``RequestReceived`` (unless omitted) and ``ResponseComplete`` Events (``Panic`` for a 500) to
an :class:`AuditSink`. The pipeline answers a request at once, so ``ResponseStarted`` (a
long-running request's) is never made. ``requestURI`` is the REST path the request is the
bus form of (``/api/v1/namespaces/x/pods/web``, with ``?dryRun=All``), or the bus subject
of a request not understood; ``sourceIPs`` the client's when the HTTPS front forwarded it;
kubeactor's own facts are annotations (``kubeactor.io/trace-id``, ``kubeactor.io/subject``,
``kubeactor.io/via``) beside Kubernetes' ``authorization.k8s.io/decision``.

Neighbours: ``outcomes`` (what it hears), ``bindings.cluster.audit`` (the file, an AuditSink).

Which thread: an apiserver worker's (or the bus loop's); nothing here blocks.
"""

from __future__ import annotations

import fnmatch
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from actors.api.meta import new_uid
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.users import UserInfo
from actors.apiserver.outcomes import Outcome
from bus.errors import UsageError

Event = dict[str, Any]
LEVELS = ("None", "Metadata", "Request", "RequestResponse")
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
NO_BODIES = frozenset({("", "secrets"), ("authentication.k8s.io", "tokenreviews"),
                       ("", "serviceaccounts/token"), ("", "")})
"""(group, resource[/subresource]) never logged above Metadata; ("", ""): a request not
understood, or the certificate handshake, whose body may hold credentials."""


class AuditSink(Protocol):
    def __call__(self, event: Event, /) -> None:
        """Take one Event; called on an apiserver worker's thread: must not block."""
        ...


def _strings(document: Object, key: str) -> frozenset[str]:
    value = document.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"audit policy: {key} must be a list of strings")
    return frozenset(value)


@dataclass(frozen=True, slots=True)
class Resources:
    """One ``resources`` entry of a rule: a group and, when given, its resources and names."""

    group: str
    resources: frozenset[str]
    names: frozenset[str]

    def matches(self, outcome: Outcome) -> bool:
        path = f"{outcome.resource}/{outcome.subresource}" if outcome.subresource \
            else outcome.resource
        return outcome.group == self.group and (not self.resources or any(
            wanted in ("*", path) or (wanted.startswith("*/") and outcome.subresource == wanted[2:])
            or (wanted.endswith("/*") and outcome.resource == wanted[:-2])
            for wanted in self.resources)) and (not self.names or outcome.name in self.names)


@dataclass(frozen=True, slots=True)
class Rule:
    """One PolicyRule: what it matches (empty: anything) and the level it gives."""

    level: str
    users: frozenset[str] = frozenset()
    user_groups: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()
    resources: tuple[Resources, ...] = ()
    namespaces: frozenset[str] = frozenset()
    non_resource_urls: frozenset[str] = frozenset()
    omit_stages: frozenset[str] = frozenset()

    @classmethod
    def of(cls, document: Any) -> Rule:
        if not isinstance(document, dict) or document.get("level") not in LEVELS:
            raise UsageError(f"audit policy: every rule needs a level, one of {', '.join(LEVELS)}")
        resources = document.get("resources") or []
        if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
            raise UsageError("audit policy: resources must be a list of {group, resources}")
        return cls(document["level"], _strings(document, "users"),
                   _strings(document, "userGroups"), _strings(document, "verbs"),
                   tuple(Resources(str(r.get("group", "")), _strings(r, "resources"),
                                   _strings(r, "resourceNames")) for r in resources),
                   _strings(document, "namespaces"), _strings(document, "nonResourceURLs"),
                   _stages(document))

    def matches(self, outcome: Outcome) -> bool:
        user = outcome.user or UserInfo("")
        return ((not self.users or user.name in self.users)
                and (not self.user_groups or bool(self.user_groups & set(user.groups)))
                and (not self.verbs or outcome.verb in self.verbs)
                and self._matches_what(outcome))

    def _matches_what(self, outcome: Outcome) -> bool:
        """Kubernetes': a rule with resources or namespaces matches resource requests only,
        one with nonResourceURLs the others only (paths, ``*`` as a suffix)."""
        if not outcome.decoded:
            return not (self.resources or self.namespaces) and (
                not self.non_resource_urls or any(fnmatch.fnmatchcase(outcome.subject, url)
                                                  for url in self.non_resource_urls))
        if self.non_resource_urls:
            return False
        return (not self.namespaces or outcome.namespace in self.namespaces) and (
            not self.resources or any(r.matches(outcome) for r in self.resources))


def _stages(document: Object) -> frozenset[str]:
    stages = _strings(document, "omitStages")
    if stages - set(STAGES):
        raise UsageError(f"audit policy: omitStages are among {', '.join(STAGES)}")
    return stages


@dataclass(frozen=True, slots=True)
class Policy:
    """An ``audit.k8s.io/v1`` Policy (see the module docstring)."""

    rules: tuple[Rule, ...]
    omit_stages: frozenset[str] = frozenset()

    @classmethod
    def of(cls, document: Any) -> Policy:
        """The policy a Policy document (parsed YAML or JSON) says; UsageError naming what
        is wrong with it."""
        if not isinstance(document, dict) or document.get("kind") != "Policy" or \
                document.get("apiVersion") not in ("audit.k8s.io/v1", None):
            raise UsageError("an audit policy is a Policy of apiVersion audit.k8s.io/v1")
        rules = document.get("rules")
        if not isinstance(rules, list) or not rules:
            raise UsageError("audit policy: rules must be a list of at least one rule")
        return cls(tuple(Rule.of(rule) for rule in rules), _stages(document))

    def decide(self, outcome: Outcome) -> tuple[str, frozenset[str]]:
        """The level of ``outcome`` (capped at Metadata for :data:`NO_BODIES`) and the
        stages not to log."""
        for rule in self.rules:
            if rule.matches(outcome):
                return _capped(rule.level, outcome), self.omit_stages | rule.omit_stages
        return "None", self.omit_stages


DEFAULT_POLICY = Policy((Rule("Metadata"),), frozenset({"RequestReceived"}))


def _capped(level: str, outcome: Outcome) -> str:
    resource = f"{outcome.resource}/{outcome.subresource}" if outcome.subresource \
        else outcome.resource
    secret = (outcome.group, resource) in NO_BODIES or (outcome.group, outcome.resource) in \
        NO_BODIES or not outcome.decoded
    return "Metadata" if secret and LEVELS.index(level) > 1 else level


def events(policy: Policy, outcome: Outcome, audit_id: str | None = None) -> list[Event]:
    """The Events ``policy`` logs of ``outcome`` (none at level None)."""
    level, omitted = policy.decide(outcome)
    if level == "None":
        return []
    audit_id = audit_id or new_uid()
    final = "Panic" if outcome.code == 500 else "ResponseComplete"
    return [_event(level, stage, outcome, audit_id)
            for stage in ("RequestReceived", final) if stage not in omitted]


def _event(level: str, stage: str, outcome: Outcome, audit_id: str) -> Event:
    done = stage != "RequestReceived"
    event: Event = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": level, "auditID": audit_id,
        "stage": stage, "requestURI": request_uri(outcome), "verb": outcome.verb,
        "user": _user(outcome.user), "requestReceivedTimestamp": _stamp(outcome.received),
        "stageTimestamp": _stamp(outcome.finished if done else outcome.received),
        "annotations": _annotations(outcome)}
    if outcome.impersonated is not None:
        event["impersonatedUser"] = _user(outcome.impersonated)
    if outcome.source_ip:
        event["sourceIPs"] = [outcome.source_ip]
    if outcome.resource:
        event["objectRef"] = _object_ref(outcome)
    if done:
        event["responseStatus"] = _status(outcome)
    if level in ("Request", "RequestResponse") and outcome.request_object is not None:
        event["requestObject"] = outcome.request_object
    if done and level == "RequestResponse" and outcome.response_object is not None:
        event["responseObject"] = outcome.response_object
    return event


def request_uri(outcome: Outcome) -> str:
    """The REST path of a request understood (what kube-apiserver logs), else its subject."""
    if not outcome.decoded:
        return outcome.subject
    root = f"/apis/{outcome.group}/{outcome.version}" if outcome.group \
        else f"/api/{outcome.version}"
    parts = [root]
    if outcome.namespace:
        parts.append(f"namespaces/{outcome.namespace}")
    parts.append(outcome.resource)
    parts += [part for part in (outcome.name, outcome.subresource) if part]
    query = "?dryRun=All" if outcome.dry_run else ""
    return "/".join(parts) + query


def _user(user: UserInfo | None) -> Object:
    if user is None:
        return {}
    info: Object = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    return info


def _object_ref(outcome: Outcome) -> Object:
    ref = {"resource": outcome.resource, "namespace": outcome.namespace,
           "name": outcome.name, "apiGroup": outcome.group, "apiVersion": outcome.version,
           "subresource": outcome.subresource}
    return {key: value for key, value in ref.items() if value}


def _status(outcome: Outcome) -> Object:
    status: Object = {"metadata": {}, "code": outcome.code}
    if outcome.code >= 400:
        status.update(status="Failure", reason=outcome.reason, message=outcome.message)
    return status


def _annotations(outcome: Outcome) -> dict[str, str]:
    notes = {"authorization.k8s.io/decision": "allow" if outcome.authorized else "forbid",
             "kubeactor.io/subject": outcome.subject}
    if outcome.trace_id:
        notes["kubeactor.io/trace-id"] = outcome.trace_id
    if outcome.via is not None:
        notes["kubeactor.io/via"] = outcome.via.name
    return notes


def _stamp(seconds: float) -> str:
    """RFC 3339 with microseconds, as kube-apiserver's MicroTime (rounded as
    ``datetime.fromtimestamp``; the whole seconds formatted once per second)."""
    global _formatted
    fraction, whole = math.modf(seconds)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1, micros + 1_000_000
    if _formatted[0] != whole:
        _formatted = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_formatted[1]}.{micros:06d}Z"


_formatted = (math.nan, "")
"""The last whole second :func:`_stamp` formatted, and its text (one tuple: replaced whole)."""


class Auditor:
    """The audit as an ``outcomes.Observer``: each answered request's Events, by ``policy``,
    to ``sink``."""

    def __init__(self, sink: AuditSink, policy: Policy = DEFAULT_POLICY) -> None:
        self.sink, self.policy = sink, policy

    def received(self, subject: str) -> None:
        """Nothing: a request's Events are made once it is answered."""

    def answered(self, outcome: Outcome, counted: bool) -> None:
        for event in events(self.policy, outcome):
            self.sink(event)

    def watched(self, info: ResourceInfo) -> None:
        """Nothing: a watch is audited when it is opened, not per event."""
