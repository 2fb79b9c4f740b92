"""nats-server's auth callout (NATS ADR-26), the wire side: read the server's authorization
request, write the answer that admits the connection as one NATS user with its permissions, or
refuses it.

For a connection that is none of its configured users, nats-server publishes on
``$SYS.REQ.USER.AUTH`` a JWT signed by the server's own nkey (claims ``nats.server_id``,
``nats.user_nkey``: a key the server made for this connection, ``nats.client_info.nonce``: the
nonce it sent this connection, ``nats.connect_opts``: what the client sent in CONNECT). The
answer is a JWT signed by the *issuer* (an account nkey named in the server's configuration)
for ``sub`` = that user nkey and ``aud`` = that server; it holds either an error or a user JWT,
signed by the same issuer, carrying the user's name and publish/subscribe permissions. The user
nkey is new for every connection and the answer names the server, so an answer is good for one
connection only.

What kubeactor clients send (``bus.connection``):

- a certificate: its DER, base64, as ``auth_token``, and as ``sig`` the base64 Ed25519 signature
  of its key over :data:`NONCE_CONTEXT` and the server's nonce to this connection;
- a static token: the user name as ``user``, the token as ``pass``.

Pure: no I/O. Neighbours: ``bus.nkeys`` (the encodings), ``bus.permissions`` (what the user
may do), ``actors.apiserver.busauth`` (who the credentials prove; the service).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bus.nkeys import (
    ACCOUNT,
    SERVER,
    USER,
    KeyPair,
    NkeyError,
    decode_jwt,
    decode_public,
    encode_jwt,
)
from bus.permissions import RESPONSE_WINDOW_SECONDS, Permissions

REQUEST_AUDIENCE = "nats-authorization-request"
GLOBAL_ACCOUNT = "$G"
"""The account of every user of a nats-server configured without accounts."""
NONCE_CONTEXT = b"kubeactor-nats-connect-v1|"
"""Signed before the nonce, so that a signature made for NATS can never pass for one made for
anything else (a handshake with the apiserver) with the same key."""


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """What the server asks about one connection."""

    server: str
    """The server's id: the audience of the answer."""
    user_nkey: str
    """The key the server made for this connection: the subject of the answer."""
    nonce: str
    """The nonce the server sent this connection ("" when the client signed nothing)."""
    signature: str
    """The client's ``sig`` (base64), or ""."""
    token: str
    """The client's ``auth_token``, or ""."""
    user: str
    """The client's ``user``, or ""."""
    password: str
    """The client's ``pass``, or ""."""
    host: str = ""
    """Where the client connects from (for the log)."""


def read_request(data: bytes, now: float | None = None) -> AuthRequest:
    """The request in ``data``, once its JWT is shown to be a server's and unexpired;
    NkeyError saying why not."""
    claims = decode_jwt(data.decode(errors="replace"), SERVER)
    nats = claims.get("nats")
    if claims.get("aud") != REQUEST_AUDIENCE or not isinstance(nats, dict):
        raise NkeyError("not an authorization request")
    expires = claims.get("exp") or 0
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise NkeyError("the authorization request's exp is not a time")
    if expires and expires < (now or time.time()) - 1:
        raise NkeyError("the authorization request has expired")
    server, client, connect = (nats.get(key) or {} for key in (
        "server_id", "client_info", "connect_opts"))
    if not all(isinstance(part, dict) for part in (server, client, connect)):
        raise NkeyError("the authorization request's server_id, client_info and "
                        "connect_opts must be maps")
    user_nkey = str(nats.get("user_nkey", ""))
    decode_public(user_nkey, USER)
    if server.get("id") != claims.get("iss"):
        raise NkeyError("the authorization request is not signed by the server it names")
    return AuthRequest(
        server=str(server["id"]), user_nkey=user_nkey, nonce=str(client.get("nonce", "")),
        signature=str(connect.get("sig", "")), token=str(connect.get("auth_token", "")),
        user=str(connect.get("user", "")), password=str(connect.get("pass", "")),
        host=str(client.get("host", "")))


def signed_nonce(request: AuthRequest) -> tuple[bytes, bytes]:
    """(message, signature) a certificate client signed: :data:`NONCE_CONTEXT` + the nonce,
    and its signature (b"" when it is not base64)."""
    try:
        signature = base64.b64decode(request.signature, validate=True)
    except ValueError:
        signature = b""
    return NONCE_CONTEXT + request.nonce.encode(), signature


def sign_nonce(sign: Callable[[bytes], bytes], nonce: str) -> bytes:
    """The ``sig`` a client sends: base64 of ``sign`` (its key's signing function) over
    :data:`NONCE_CONTEXT` + ``nonce``."""
    return base64.b64encode(sign(NONCE_CONTEXT + nonce.encode()))


def user_claims(permissions: Permissions) -> dict[str, object]:
    """The ``nats`` claims of a user JWT with these permissions."""
    claims: dict[str, object] = {
        "pub": permissions.publishing(), "sub": permissions.subscribing(),
        "subs": -1, "data": -1, "payload": -1, "type": "user", "version": 2}
    if permissions.responses:
        claims["resp"] = {"max": 1, "ttl": RESPONSE_WINDOW_SECONDS * 1_000_000_000}
    return claims


def admit(request: AuthRequest, issuer: KeyPair, user: str, permissions: Permissions,
          expires: float | None = None) -> bytes:
    """The answer admitting the connection as NATS user ``user`` with ``permissions``, until
    ``expires`` (seconds since the epoch; the server then closes it) when given."""
    claims: dict[str, Any] = {"sub": request.user_nkey, "aud": GLOBAL_ACCOUNT, "name": user,
                              "nats": user_claims(permissions)}
    if expires is not None:
        claims["exp"] = int(expires)
    return _answer(request, issuer, {"jwt": encode_jwt(claims, issuer)})


def refuse(request: AuthRequest, issuer: KeyPair, reason: str) -> bytes:
    """The answer refusing the connection; nats-server logs ``reason`` and tells the client
    only ``Authorization Violation``."""
    return _answer(request, issuer, {"error": reason})


def _answer(request: AuthRequest, issuer: KeyPair, body: dict[str, object]) -> bytes:
    if issuer.prefix != ACCOUNT:
        raise ValueError("the auth callout's issuer must be an account nkey")
    return encode_jwt({"sub": request.user_nkey, "aud": request.server, "nats": {
        **body, "type": "authorization_response", "version": 2}}, issuer).encode()
