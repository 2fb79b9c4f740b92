"""Who a request is from, once authenticated: the user the authorizer, admission and the audit
log speak of (Kubernetes' ``user.Info``).

Neighbours: ``actors.apiserver.authn`` (makes one from a request's credentials),
``actors.apiserver.rbac`` (authorizes it), ``actors.api.admission`` (carries it to external
admission actors), ``actors.apiserver.auditing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = field(default=())
