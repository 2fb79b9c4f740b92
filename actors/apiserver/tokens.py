"""The token APIs: TokenRequest (``create serviceaccounts/token``, kubectl's ``create token``)
issues a service account's token; TokenReview (``create tokenreviews``) says who a token is.

:class:`TokenIssuer` holds the cluster's service account key and the authenticators a review
asks. :meth:`TokenIssuer.token_request` checks a request as kube-apiserver's token REST
storage does (the account exists; a bound Pod or Secret exists, has the uid the request names,
and a bound pod runs as this account) and signs the token; the admission chain has seen the
TokenRequest first (NodeRestriction: a kubelet's token must be bound to a pod on its node).

Neighbours: ``actors.api.tokens`` and ``actors.api.serviceaccounts`` (the rules),
``actors.apiserver.authn`` (accepts the tokens), ``actors.apiserver.verbs`` (the caller).

Which thread: an apiserver worker's (one signature per token).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actors.api import serviceaccounts, tokens
from actors.api.objects import Object
from actors.apiserver.authn import Authenticator, ServiceAccountAuthenticator
from bus.errors import BadRequest, Conflict, NotFound, Unauthorized

TOKEN_REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview"}


@dataclass(frozen=True)
class TokenIssuer:
    """The cluster's service account key, and what a TokenReview asks."""

    key: tokens.SigningKey
    bearer: Authenticator
    """Every bearer token the API takes (static and service accounts')."""
    service_accounts: ServiceAccountAuthenticator
    clock: Callable[[], float] = field(default=time.time)

    def token_request(self, account: Object, spec: Object, seconds: int,
                      audiences: tuple[str, ...], lookup: tokens.Lookup) -> Object:
        """The TokenRequest of ``account`` answered with a new token."""
        namespace, name = account["metadata"]["namespace"], account["metadata"]["name"]
        bound = _bound(spec, name, namespace, lookup)
        token, claims = tokens.issue(self.key, account, audiences, self.clock(), seconds, bound)
        expires = datetime.fromtimestamp(claims.expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return serviceaccounts.token_answer(name, namespace, spec, token, expires)

    def review(self, body: Any) -> Object:
        """The answer to a TokenReview: whether ``spec.token`` authenticates (for one of
        ``spec.audiences``, else this server's), as whom, or why not."""
        spec = body.get("spec") if isinstance(body, dict) else None
        token = spec.get("token") if isinstance(spec, dict) else None
        audiences = (spec or {}).get("audiences") or []
        if not isinstance(token, str) or not token:
            raise BadRequest("a TokenReview needs spec.token")
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise BadRequest("spec.audiences must be a list of strings")
        try:
            status = self._reviewed(token, tuple(audiences))
        except Unauthorized as error:
            status = {"authenticated": False, "error": error.message}
        return {**TOKEN_REVIEW, "metadata": {}, "spec": spec, "status": status}

    def _reviewed(self, token: str, audiences: tuple[str, ...]) -> Object:
        if tokens.looks_like_jwt(token):
            claims = self.service_accounts.claims(token, audiences or None)
            granted = [a for a in claims.audiences if a in (audiences or tokens.API_AUDIENCES)]
            user = self.service_accounts.user(claims)
        else:  # a static token is for this server alone
            granted = [a for a in tokens.API_AUDIENCES if not audiences or a in audiences]
            if not granted:
                raise Unauthorized("Unauthorized: the token is not for these audiences")
            user = self.bearer.authenticate({"token": token})
        return {"authenticated": True, "audiences": granted, "user": {
            "username": user.name, "uid": user.uid, "groups": list(user.groups)}}


def _bound(spec: Object, account: str, namespace: str, lookup: tokens.Lookup
           ) -> tokens.Bound | None:
    """The object the token is bound to, checked as kube-apiserver checks it."""
    ref = serviceaccounts.bound_reference(spec)
    if ref is None:
        return None
    kind, name, uid = ref
    bound = tokens.Bound(kind, name, "")
    obj = lookup(bound.resource, namespace, name)
    if obj is None:
        raise NotFound(f'{bound.resource} "{name}" not found',
                       details={"name": name, "kind": bound.resource})
    if kind == "Pod" and serviceaccounts.account_of(obj) != account:
        raise BadRequest(f'cannot bind token for serviceaccount "{account}" to pod running '
                         "with different serviceaccount name.")
    stored = obj["metadata"]["uid"]
    if uid and uid != stored:
        raise Conflict(f'Operation cannot be fulfilled on {kind} "{name}": the UID in the bound '
                       f"object reference ({uid}) does not match the UID in record. The object "
                       "might have been deleted and then recreated")
    return tokens.Bound(kind, name, stored)
