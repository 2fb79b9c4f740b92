"""Who a NATS connection is: the apiserver's answer to nats-server's auth callout.

Every apiserver process serves ``$SYS.REQ.USER.AUTH`` (queue group ``apiserver``): for each
connection that is not one of the control plane's password users, nats-server asks who it is
(``bus.callout``), and :func:`identify` decides from what the client sent, with the cluster's
CA certificate (never its key) and the static token file:

- a certificate: it must chain to the cluster CA, be valid now and meant for clients, and its
  key must have signed this connection's nonce (new for every connection, so nothing can be
  replayed). The NATS user is the certificate's user (CN); ``system:node:<n>`` must also be in
  ``system:nodes``;
- a token, as NATS user and password: the token must be that user's. A static token, or a
  service account's (``system:serviceaccount:<ns>:<name>``): its connection ends when the
  token expires. The bus only carries API requests and their answers, which go to the
  sender's own inbox, so a client of a service account token must be its NATS identity to
  hear them; every request it sends is authenticated again (a token whose pod is gone is
  refused at the next one);
- nothing: refused. A connection the apiserver cannot tie to a user may not even read its own
  inbox on this bus.

The names of the control plane's password users (``admin``, ``apiserver``,
``system:node-sim``) are never given out here. The permissions are ``bus.permissions``' for
that user. Which thread: :func:`serve`'s handler runs on the bus loop; it does not block (one
signature check, two signatures).

Neighbours: ``bus.callout`` (the wire), ``actors.api.certs`` (the chain), ``actors.apiserver.authn``
(the tokens), ``bindings.cluster.launcher`` (starts it beside the apiserver).
"""

from __future__ import annotations

import base64
import functools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509

from actors.api import certs
from actors.api.tokens import expiry, looks_like_jwt
from actors.api.users import UserInfo
from actors.apiserver.admission.chain import NODES_GROUP, node_of
from actors.apiserver.authn import Authenticator
from bus import callout
from bus.connection import Connection
from bus.errors import BadRequest, Forbidden, Unauthorized
from bus.nkeys import KeyPair, NkeyError
from bus.permissions import (
    ADMIN,
    APISERVER,
    NODE_PREFIX,
    NODE_SIM,
    STORE,
    Role,
    permissions,
    role_of,
)
from bus.subjects import Subjects, owner_token

log = logging.getLogger(__name__)

MASTERS = "system:masters"
SERVICES = frozenset((APISERVER, STORE))
"""The control plane's services, whose inboxes no unauthenticated error is answered into."""


@dataclass(frozen=True, slots=True)
class Admitted:
    """Who a connection is on the bus, and until when."""

    user: str
    expires: float | None = None
    """Seconds since the epoch after which the server closes it (the certificate's end)."""


def identify(request: callout.AuthRequest, ca: x509.Certificate, tokens: Authenticator,
             now: float) -> Admitted:
    """The NATS user of the connection ``request`` describes; Unauthorized saying why
    not."""
    expires: float | None
    if request.signature:
        user, expires = _by_certificate(request, ca, now)
    elif request.user and request.password:
        user = _by_token(request, tokens)
        expires = expiry(request.password) if looks_like_jwt(request.password) else None
    elif request.token:
        raise Unauthorized("Unauthorized: a bearer token connects as NATS user <its user> "
                           "with the token as password")
    else:
        raise Unauthorized("Unauthorized: no credentials (a certificate or a token)")
    if role_of(user.name) not in (Role.CLIENT, Role.NODE):
        raise Unauthorized(f"Unauthorized: NATS user {user.name!r} is the control plane's")
    if user.name.startswith(NODE_PREFIX) and node_of(user) is None:
        raise Unauthorized(f"Unauthorized: {user.name} is not in {NODES_GROUP}")
    return Admitted(user.name, expires)


def _by_certificate(request: callout.AuthRequest, ca: x509.Certificate,
                    now: float) -> tuple[UserInfo, float]:
    """The certificate's user, and when the certificate ends."""
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(request.token, validate=True))
    except ValueError:
        raise Unauthorized("Unauthorized: the certificate cannot be read") from None
    identity = certs.verify(cert, ca, datetime.fromtimestamp(now, UTC))
    message, signature = callout.signed_nonce(request)
    wrong = "the signature over this connection's nonce does not match the certificate"
    if not request.nonce:
        raise Unauthorized(f"Unauthorized: {wrong}")
    certs.check_signature(cert, signature, message, wrong)
    return (UserInfo(identity.user, groups=identity.groups),
            cert.not_valid_after_utc.timestamp())


def _by_token(request: callout.AuthRequest, tokens: Authenticator) -> UserInfo:
    user = tokens.authenticate({"token": request.password})
    if user.name != request.user:
        raise Unauthorized(f"Unauthorized: the token is not user {request.user!r}'s")
    return user


@functools.lru_cache(maxsize=4096)
def owners(user: UserInfo) -> frozenset[str]:
    """The NATS identities (owner tokens) to whose subjects ``user`` may have watch events,
    followed logs and replies sent: its own; also the simulated nodes' connection for a
    simulated node (group ``system:node-sim``, which only the control plane's certificates of
    its simulated nodes carry: a node's own kubeconfig does not reach the others' subjects),
    and the bus admin's for a member of ``system:masters`` (the admin's kubeconfig connects
    as it). Remembered per user: every request's answer asks."""
    return frozenset((owner_token(user.name),
                      *((NODE_SIM,) if NODE_SIM in user.groups else ()),
                      *((ADMIN,) if MASTERS in user.groups else ())))


def check_owner(user: UserInfo, owner: str, what: str) -> None:
    """Forbidden unless ``user`` may have ``what`` sent to NATS identity ``owner``: nobody
    has events or logs sent to another identity's subjects."""
    if owner not in owners(user):
        raise Forbidden(f'user "{user.name}" may not have {what} sent to the subjects of NATS '
                        f'identity "{owner}" (its own are "{owner_token(user.name)}")')


def may_answer(user: UserInfo | None, reply_to: str, subjects: Subjects) -> bool:
    """Whether a request's answer may go to ``reply_to``: into an inbox of an identity its
    authenticated sender owns (:func:`owners`; the impersonator's when impersonating), or of
    any identity but the control plane's services while nobody is authenticated (an
    undecodable request, a 401: the apiserver's own calls and the store's wait there). Anywhere
    else (another's inbox, a watch, a node's calls, JetStream's subjects) would have the
    apiserver publish what the sender may not: nothing is sent there."""
    if user is None:
        return subjects.is_inbox_of(reply_to, None) and \
            subjects.inbox_owner(reply_to) not in SERVICES
    return subjects.is_inbox_of(reply_to, owners(user))


def check_reply(user: UserInfo, reply_to: str | None, subjects: Subjects) -> None:
    """BadRequest unless the answer to ``user``'s request may go to ``reply_to`` (see
    :func:`may_answer`; no reply subject: nothing is sent)."""
    if reply_to and not may_answer(user, reply_to, subjects):
        raise BadRequest(
            f'reply subject "{reply_to}" is not an inbox of user "{user.name}": answers go '
            f"only to {subjects.inbox_prefix}.<owner>.<...> for a NATS identity <owner> it owns "
            f"({', '.join(sorted(owners(user)))}); nothing was done")


def answer(data: bytes, issuer: KeyPair, ca: x509.Certificate, tokens: Authenticator,
           subjects: Subjects) -> bytes | None:
    """The answer to one authorization request; None when it is not one a server sent (no
    answer: the server gives up on its own)."""
    now = time.time()
    try:
        request = callout.read_request(data, now)
    except (NkeyError, KeyError, UnicodeError) as error:
        log.warning("dropped a malformed NATS authorization request: %s", error)
        return None
    try:
        admitted = identify(request, ca, tokens, now)
        try:
            allowed = permissions(admitted.user, subjects)
        except ValueError as error:  # a node name that cannot be a subject token
            raise Unauthorized(f"Unauthorized: {error}") from None
    except Unauthorized as error:
        log.warning("NATS connection from %s refused: %s", request.host or "?", error.message)
        return callout.refuse(request, issuer, error.message)
    return callout.admit(request, issuer, admitted.user, allowed, admitted.expires)


def serve(connection: Connection, issuer: KeyPair, ca: x509.Certificate,
          tokens: Authenticator) -> None:
    """Answer nats-server's auth callout on ``connection`` (the apiserver's NATS user) until
    it closes; only where nats-server waits for the answers (``Subjects.is_callout_reply``):
    whoever else sends a request there gets none."""
    connection.serve_raw(connection.subjects.auth_callout, "apiserver",
                         lambda data: answer(data, issuer, ca, tokens, connection.subjects),
                         Subjects.is_callout_reply)
