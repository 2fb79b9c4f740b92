"""The access reviews: what a user may do, asked of the :class:`~actors.apiserver.rbac.Authorizer`.

:func:`access_review` answers a SelfSubjectAccessReview or a SubjectAccessReview (``auth
can-i``), :func:`rules_review` a SelfSubjectRulesReview (``auth can-i --list``); pure
functions of the authorizer's policy and the review's body.

Neighbours: ``rbac`` (the policy and its decisions), ``verbs`` (serves the reviews).

Which thread: an apiserver worker's, like every decision of ``rbac``.
"""

from __future__ import annotations

from typing import Any

from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.users import UserInfo
from actors.apiserver.rbac import Attributes, Authorizer
from bus.errors import BadRequest


def access_review(authorizer: Authorizer, info: ResourceInfo, body: Any,
                  user: UserInfo) -> Object:
    """The answer to a SelfSubjectAccessReview (about ``user``) or a SubjectAccessReview
    (about ``spec.user`` and ``spec.groups``): may they do ``spec.resourceAttributes``?"""
    spec = body.get("spec") if isinstance(body, dict) else None
    attributes = spec.get("resourceAttributes") if isinstance(spec, dict) else None
    fields = ("namespace", "verb", "group", "resource", "subresource", "name")
    if not isinstance(spec, dict) or not isinstance(attributes, dict) or not all(
        isinstance(attributes.get(k, ""), str) for k in fields
    ) or not attributes.get("verb") or not attributes.get("resource"):
        raise BadRequest("spec.resourceAttributes needs verb and resource (strings)")
    if info.kind == "SubjectAccessReview":
        groups = spec.get("groups") or []
        if not isinstance(spec.get("user"), str) or not isinstance(groups, list):
            raise BadRequest("spec.user (a string) and spec.groups (a list) are required")
        user = UserInfo(spec["user"], str(spec.get("uid", "")), tuple(str(g) for g in groups))
    selector = attributes.get("fieldSelector")
    raw = selector.get("rawSelector") if isinstance(selector, dict) else None
    asked = Attributes(user, attributes["verb"], group=attributes.get("group", ""),
                       resource=attributes["resource"],
                       subresource=attributes.get("subresource") or None,
                       namespace=attributes.get("namespace") or None,
                       name=attributes.get("name") or None,
                       field_selector=raw if isinstance(raw, str) else None)
    decision = authorizer.decide(asked)
    status: Object = {"allowed": decision.allowed}
    reason = authorizer.reason(asked) if decision.allowed else decision.reason
    if reason:
        status["reason"] = reason
    return {"apiVersion": info.api_version, "kind": info.kind, "metadata": {}, "spec": spec,
            "status": status}


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
