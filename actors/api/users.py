"""Who a request is from, once authenticated: the user the authorizer, admission and the audit
log speak of (Kubernetes' ``user.Info``).

Neighbours: ``actors.apiserver.authn`` (makes one from a request's credentials),
``actors.apiserver.rbac`` (authorizes it), ``actors.apiserver.verbs`` (answers a
SelfSubjectReview with it), ``actors.api.admission`` (carries it to external
admission actors), ``actors.apiserver.auditing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = field(default=())


def self_review(user: UserInfo) -> dict[str, Any]:
    """The answer to a SelfSubjectReview (``kubectl auth whoami``): who the caller is."""
    info: dict[str, Any] = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
            "metadata": {}, "status": {"userInfo": info}}
