"""Service account tokens: JWTs signed by the cluster's service account key, as Kubernetes'
``pkg/serviceaccount`` (jwt.go, claims.go) makes and checks them.

A token names a service account (namespace, name, uid), its audiences, when it was issued and
when it expires, and the object it is bound to (a Pod or a Secret: name and uid), in
Kubernetes' claims (``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``nbf``, ``jti`` and the
private ``kubernetes.io`` claim). :func:`sign` makes one, :func:`verify` checks its signature,
issuer, dates and audience and returns its :class:`Claims`; :func:`liveness_problem` says
whether what it names still exists (the account, the bound object, same uids), which the
caller asks of the store on every use: a token dies with its pod.

The key is ECDSA P-256 and the JWS algorithm ES256: the algorithms kube-apiserver's
``--service-account-signing-key-file`` takes are RSA and ECDSA (never Ed25519), and ES256 is
what OIDC relying parties reading a cluster's ``/openid/v1/jwks`` accept, so the key and the
tokens stay Kubernetes' own. A signature check costs tens of microseconds: the apiserver
keeps tokens it verified (``actors.apiserver.authn``), only the cheap checks run per request.

Pure functions over keys, bytes and plain dicts. Neighbours: ``actors.api.serviceaccounts``
(the accounts' rules), ``actors.apiserver.authn`` (accepts tokens), ``actors.apiserver.verbs``
(issues them: TokenRequest), ``bindings.cluster.pki`` (keeps the key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from actors.api.meta import new_uid, parse_time
from actors.api.objects import Object
from bus.errors import Unauthorized

SigningKey = ec.EllipticCurvePrivateKey
PublicKey = ec.EllipticCurvePublicKey
ALGORITHM = "ES256"
ISSUER = "https://kubernetes.default.svc.cluster.local"
"""kube-apiserver's ``--service-account-issuer`` as kubeadm sets it."""
API_AUDIENCES = (ISSUER,)
"""``--api-audiences``: a token is for this apiserver when its audience is one of these
(kube-apiserver's default: the issuer)."""
NOT_BEFORE_LEEWAY = 60.0
"""Seconds a token's ``nbf``/``iat`` may lie ahead of this clock (another apiserver's)."""
DELETION_GRACE = 60.0
"""A bound object being deleted keeps its tokens this long past its ``deletionTimestamp``
(claims.go's invalidIfDeletedBefore)."""
_BOUND_KINDS = {"Pod": "pods", "Secret": "secrets"}
"""Kinds a token may be bound to -> their resource."""


def new_key() -> SigningKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: SigningKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(pem: bytes) -> SigningKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the service account key must be an ECDSA P-256 key")
    return key


def key_id(public: PublicKey) -> str:
    """Kubernetes' ``kid``: the unpadded base64url SHA-256 of the public key's DER."""
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64(hashlib.sha256(der).digest())


@dataclass(frozen=True, slots=True)
class Bound:
    """The object a token is bound to: it dies with it."""

    kind: str
    name: str
    uid: str

    @property
    def resource(self) -> str:
        return _BOUND_KINDS[self.kind]


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says."""

    namespace: str
    name: str
    """The service account's name."""
    uid: str
    """The service account's uid."""
    audiences: tuple[str, ...]
    issued: float
    expires: float
    """Seconds since the epoch."""
    bound: Bound | None = None
    jti: str = ""


def issue(key: SigningKey, account: Object, audiences: tuple[str, ...], now: float,
          seconds: int, bound: Bound | None = None) -> tuple[str, Claims]:
    """A new token for service account ``account`` (the stored object), valid from ``now``
    for ``seconds``; and its claims."""
    metadata = account["metadata"]
    claims = Claims(metadata["namespace"], metadata["name"], metadata["uid"], audiences,
                    int(now), int(now) + seconds, bound, new_uid())
    return sign(key, claims), claims


def sign(key: SigningKey, claims: Claims) -> str:
    header = {"alg": ALGORITHM, "kid": key_id(key.public_key())}
    signed = f"{_b64(_json(header))}.{_b64(_json(payload(claims)))}"
    r, s = decode_dss_signature(key.sign(signed.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signed}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def payload(claims: Claims) -> Object:
    """The JWT claims of ``claims``, in Kubernetes' shape."""
    private: Object = {"namespace": claims.namespace,
                       "serviceaccount": {"name": claims.name, "uid": claims.uid}}
    if claims.bound is not None:
        private[claims.bound.kind.lower()] = {"name": claims.bound.name, "uid": claims.bound.uid}
    return {"aud": list(claims.audiences), "exp": int(claims.expires),
            "iat": int(claims.issued), "iss": ISSUER, "jti": claims.jti,
            "kubernetes.io": private, "nbf": int(claims.issued),
            "sub": username(claims.namespace, claims.name)}


def username(namespace: str, name: str) -> str:
    """The user a service account is: ``system:serviceaccount:<namespace>:<name>``."""
    return f"system:serviceaccount:{namespace}:{name}"


def looks_like_jwt(token: str) -> bool:
    """Whether ``token`` has a JWT's three parts (a static token never has)."""
    return token.count(".") == 2


def verify(public: PublicKey, token: str) -> Claims:
    """The claims of ``token`` if this key signed it and they are Kubernetes' (issuer, a
    service account); Unauthorized saying why not. Dates and audiences are :func:`check`'s."""
    try:
        header_part, payload_part, signature_part = token.split(".")
        header = json.loads(_unb64(header_part))
        body = json.loads(_unb64(payload_part))
        signature = _unb64(signature_part)
    except (ValueError, binascii.Error):
        raise Unauthorized("Unauthorized: the token is not a JWT") from None
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        raise Unauthorized(f"Unauthorized: the token is not signed with {ALGORITHM}")
    if len(signature) != 64:
        raise Unauthorized("Unauthorized: the token's signature is malformed")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                               int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, f"{header_part}.{payload_part}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Unauthorized("Unauthorized: the token's signature does not match this cluster's "
                           "service account key") from None
    return _claims(body)


def _claims(body: Any) -> Claims:
    """The claims of a verified payload; Unauthorized when they are not a service account
    token of this issuer."""
    try:
        if body["iss"] != ISSUER:
            raise Unauthorized(f"Unauthorized: the token's issuer is not {ISSUER}")
        private = body["kubernetes.io"]
        account = private["serviceaccount"]
        audiences = body["aud"]
        audiences = (audiences,) if isinstance(audiences, str) else tuple(audiences)
        bound = next((Bound(kind, private[kind.lower()]["name"], private[kind.lower()]["uid"])
                      for kind in _BOUND_KINDS if kind.lower() in private), None)
        claims = Claims(private["namespace"], account["name"], account["uid"], audiences,
                        float(body["iat"]), float(body["exp"]), bound, str(body.get("jti", "")))
    except (KeyError, TypeError, ValueError):
        raise Unauthorized("Unauthorized: the token's claims are not a service account's"
                           ) from None
    if body.get("sub") != username(claims.namespace, claims.name):
        raise Unauthorized("Unauthorized: the token's subject is not its service account")
    return claims


def check(claims: Claims, now: float, audiences: tuple[str, ...] = API_AUDIENCES) -> None:
    """Unauthorized unless ``claims`` hold at ``now`` for one of ``audiences``."""
    if now >= claims.expires:
        raise Unauthorized("Unauthorized: the service account token has expired")
    if claims.issued > now + NOT_BEFORE_LEEWAY:
        raise Unauthorized("Unauthorized: the service account token is not valid yet")
    if not set(claims.audiences) & set(audiences):
        raise Unauthorized(f"Unauthorized: the token's audiences ({', '.join(claims.audiences)}) "
                           f"are not this server's ({', '.join(audiences)})")


Lookup = Callable[[str, str, str], Object | None]
"""(resource, namespace, name) -> the stored object, or None."""


def liveness_problem(claims: Claims, lookup: Lookup, now: float) -> str | None:
    """Why the objects ``claims`` name no longer hold the token (the account or the bound
    object gone, deleted long enough, or another of the same name), or None."""
    account = lookup("serviceaccounts", claims.namespace, claims.name)
    problem = _gone(account, claims.uid, now)
    if problem:
        return f"service account {claims.namespace}/{claims.name} {problem}"
    bound = claims.bound
    if bound is None:
        return None
    problem = _gone(lookup(bound.resource, claims.namespace, bound.name), bound.uid, now)
    return f'the {bound.kind.lower()} "{bound.name}" it is bound to {problem}' if problem \
        else None


def _gone(obj: Object | None, uid: str, now: float) -> str | None:
    if obj is None:
        return "is gone"
    metadata = obj["metadata"]
    if metadata.get("uid") != uid:
        return "was deleted and made again (its uid differs)"
    deleted = metadata.get("deletionTimestamp")
    if deleted and parse_time(deleted).timestamp() < now - DELETION_GRACE:
        return "has been deleted"
    return None


def expiry(token: str) -> float | None:
    """The ``exp`` of a JWT, unverified (for a caller that verified it already)."""
    try:
        exp = json.loads(_unb64(token.split(".")[1])).get("exp")
    except (ValueError, IndexError, binascii.Error, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) else None


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or any(c not in _URLSAFE for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_URLSAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
