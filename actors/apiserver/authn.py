"""Authentication: who sent this request (step 1 of the apiserver pipeline).

An authenticator turns the envelope's ``auth`` map into a :class:`UserInfo` or raises
:class:`~bus.errors.Unauthorized` saying why. The static token file has kube-apiserver's
format: ``token,user,uid,"group1,group2"`` per line.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bus.errors import BadRequest, Unauthorized

AUTHENTICATED = "system:authenticated"
"""Group every authenticated user is in, as in Kubernetes."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = field(default=())


class Authenticator(Protocol):
    def authenticate(self, auth: dict[str, Any] | None) -> UserInfo:
        """The user behind ``auth``; Unauthorized when it proves nobody."""
        ...


class TokenAuthenticator:
    """Bearer tokens from a static token file (or a dict, for tests)."""

    def __init__(self, tokens: dict[str, UserInfo]) -> None:
        # Keyed by digest: a lookup then takes the same time whatever prefix a guess shares.
        self._by_digest = {_digest(token): user for token, user in tokens.items()}

    @classmethod
    def from_file(cls, path: Path) -> TokenAuthenticator:
        tokens = {}
        with path.open(newline="") as handle:
            for row in csv.reader(handle):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) < 3:
                    raise ValueError(f"{path}: token lines need token,user,uid[,groups]: {row}")
                groups = tuple(g for g in (row[3] if len(row) > 3 else "").split(",") if g)
                tokens[row[0]] = UserInfo(row[1], row[2], groups)
        return cls(tokens)

    def authenticate(self, auth: dict[str, Any] | None) -> UserInfo:
        token = (auth or {}).get("token")
        if not isinstance(token, str) or not token:
            raise Unauthorized("Unauthorized: no credentials in the request")
        user = self._by_digest.get(_digest(token))
        if user is None:
            raise Unauthorized("Unauthorized: invalid bearer token")
        return UserInfo(user.name, user.uid, (*user.groups, AUTHENTICATED))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def impersonation(auth: dict[str, Any] | None) -> UserInfo | None:
    """The identity a request asks to act as (``auth.impersonate: {"user", "groups"}``, as
    kubectl's ``--as`` and ``--as-group``), or None. Kubernetes adds the impersonated user to
    ``system:authenticated``. BadRequest when malformed; whether the caller may is RBAC's
    ``impersonate`` verb on ``users`` and ``groups``."""
    wanted = (auth or {}).get("impersonate")
    if wanted is None:
        return None
    user = wanted.get("user") if isinstance(wanted, dict) else None
    groups = wanted.get("groups", []) if isinstance(wanted, dict) else None
    if not isinstance(user, str) or not user or not isinstance(groups, list) or not all(
        isinstance(g, str) and g for g in groups
    ):
        raise BadRequest("auth.impersonate needs a user name and a list of group names")
    return UserInfo(user, "", (*dict.fromkeys(groups), *(
        () if AUTHENTICATED in groups else (AUTHENTICATED,))))
