"""The access reviews: what a user may do, asked of the :class:`~actors.apiserver.rbac.Authorizer`.

:func:`access_review` answers a SelfSubjectAccessReview or a SubjectAccessReview (``auth
can-i``, of a resource or of a non-resource URL: :func:`non_resource_allowed`), :func:`rules_review`
a SelfSubjectRulesReview (``auth can-i --list``); pure functions of the authorizer's policy and
the review's body.

Neighbours: ``rbac`` (the policy and its decisions), ``verbs`` (serves the reviews).

Which thread: an apiserver worker's, like every decision of ``rbac``.
"""

from __future__ import annotations

from typing import Any

from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.users import UserInfo
from actors.apiserver.rbac import ALL, Attributes, Authorizer
from bus.errors import BadRequest


def access_review(authorizer: Authorizer, info: ResourceInfo, body: Any,
                  user: UserInfo) -> Object:
    """The answer to a SelfSubjectAccessReview (about ``user``) or a SubjectAccessReview
    (about ``spec.user`` and ``spec.groups``): may they do ``spec.resourceAttributes``?"""
    spec = body.get("spec") if isinstance(body, dict) else None
    if isinstance(spec, dict) and info.kind == "SubjectAccessReview":
        groups = spec.get("groups") or []
        if not isinstance(spec.get("user"), str) or not isinstance(groups, list):
            raise BadRequest("spec.user (a string) and spec.groups (a list) are required")
        user = UserInfo(spec["user"], str(spec.get("uid", "")), tuple(str(g) for g in groups))
    if isinstance(spec, dict) and "nonResourceAttributes" in spec:
        return _answer(info, spec, _non_resource_review(authorizer, spec, user), "")
    attributes = spec.get("resourceAttributes") if isinstance(spec, dict) else None
    fields = ("namespace", "verb", "group", "resource", "subresource", "name")
    if not isinstance(spec, dict) or not isinstance(attributes, dict) or not all(
        isinstance(attributes.get(k, ""), str) for k in fields
    ) or not attributes.get("verb") or not attributes.get("resource"):
        raise BadRequest("spec.resourceAttributes (verb and resource) or "
                         "spec.nonResourceAttributes (verb and path) are required, as strings")
    selector = attributes.get("fieldSelector")
    raw = selector.get("rawSelector") if isinstance(selector, dict) else None
    asked = Attributes(user, attributes["verb"], group=attributes.get("group", ""),
                       resource=attributes["resource"],
                       subresource=attributes.get("subresource") or None,
                       namespace=attributes.get("namespace") or None,
                       name=attributes.get("name") or None,
                       field_selector=raw if isinstance(raw, str) else None)
    decision = authorizer.decide(asked)
    reason = authorizer.reason(asked) if decision.allowed else decision.reason
    return _answer(info, spec, decision.allowed, reason)


def _answer(info: ResourceInfo, spec: Object, allowed: bool, reason: str) -> Object:
    status: Object = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return {"apiVersion": info.api_version, "kind": info.kind, "metadata": {}, "spec": spec,
            "status": status}


def _non_resource_review(authorizer: Authorizer, spec: Object, user: UserInfo) -> bool:
    attributes = spec["nonResourceAttributes"]
    if not isinstance(attributes, dict) or not all(
            isinstance(attributes.get(k), str) and attributes[k] for k in ("verb", "path")):
        raise BadRequest("spec.nonResourceAttributes needs verb and path (strings)")
    return non_resource_allowed(authorizer, user, attributes["verb"], attributes["path"])


def non_resource_allowed(authorizer: Authorizer, user: UserInfo, verb: str, path: str
                         ) -> bool:
    """May ``user`` ``verb`` the non-resource URL ``path`` (``/metrics``, ``/readyz``)? As
    Kubernetes' RBAC: by the ``nonResourceURLs`` of ClusterRoles bound cluster-wide, each
    the path itself, ``*``, or a prefix ending in ``*``."""
    for rule in authorizer.policy_rules(user, ""):
        if not isinstance(rule, dict):
            continue
        verbs, urls = rule.get("verbs") or [], rule.get("nonResourceURLs") or []
        if (ALL in verbs or verb in verbs) and any(
                isinstance(url, str) and (url == path or (url.endswith(ALL) and path.startswith(
                    url[:-1]))) for url in urls):
            return True
    return False


def rules_review(authorizer: Authorizer, info: ResourceInfo, body: Any,
                 user: UserInfo) -> Object:
    """The answer to a SelfSubjectRulesReview (``kubectl auth can-i --list``): the rules bound
    to ``user`` that apply in ``spec.namespace``, split as Kubernetes does into resource
    rules and non-resource rules. ``incomplete`` stays false: the Node authorizer, which
    cannot list rules, speaks for nodes only, whose RBAC rules are listed."""
    spec = body.get("spec") if isinstance(body, dict) else None
    namespace = spec.get("namespace", "") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(namespace, str):
        raise BadRequest("spec.namespace must be a string")
    resource_rules, non_resource_rules = [], []
    for rule in authorizer.policy_rules(user, namespace):
        if not isinstance(rule, dict):
            continue
        if rule.get("resources"):
            resource_rules.append({key: rule[key] for key in (
                "verbs", "apiGroups", "resources", "resourceNames") if rule.get(key)})
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": rule.get("verbs") or [],
                                       "nonResourceURLs": rule["nonResourceURLs"]})
    return {"apiVersion": info.api_version, "kind": info.kind, "metadata": {}, "spec": spec,
            "status": {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                       "incomplete": False}}
