"""Authentication: who sent this request (step 1 of the apiserver pipeline).

An authenticator turns the envelope's ``auth`` map (and, for sessions, the MAC the message
carries) into a :class:`UserInfo` or raises :class:`~bus.errors.Unauthorized` saying why. Two
kinds, chosen by what ``auth`` holds:

- ``{"token": ...}``: a bearer token from a static token file in kube-apiserver's format,
  ``token,user,uid,"group1,group2"`` per line (:class:`TokenAuthenticator`), or a service
  account's JWT (:class:`ServiceAccountAuthenticator`; :class:`BearerAuthenticator` picks by
  the token's shape);
- ``{"ticket", "ts", "nonce"}`` with a MAC header: a session opened by a certificate
  handshake (:class:`Handshaker`, :class:`SessionAuthenticator`; the cryptography is in
  ``actors.api.certs``). The message must be fresh (``ts`` inside the window, ahead or behind),
  its nonce unseen while it is fresh (:class:`NonceCache`), its MAC right for its subject, reply
  subject and bytes, its session unexpired (a session ends with its certificate at the latest).

A front (the HTTPS listener) authenticates as itself and forwards its client's credentials in
``auth.forwarded`` (:class:`Forwarding`): the request is then its client's.

One instance of each is shared by the workers of an apiserver (calls from several threads).
"""

from __future__ import annotations

import csv
import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from cryptography import x509

from actors.api import certs, serviceaccounts, tokens
from actors.api.resources import lookup
from actors.api.users import UserInfo
from actors.store import StoreView
from bus.errors import BadRequest, Unauthorized

K = TypeVar("K")
V = TypeVar("V")

AUTHENTICATED = "system:authenticated"
"""Group every authenticated user is in, as in Kubernetes."""


@dataclass(frozen=True, slots=True)
class Signed:
    """A message as it travelled, with the MAC it carried (for session authentication)."""

    subject: str
    data: bytes
    mac: bytes | None
    reply_to: str = ""
    """Where its answer goes ("" for none): the MAC covers it too."""


class Authenticator(Protocol):
    def authenticate(self, auth: dict[str, Any] | None, signed: Signed | None = None
                     ) -> UserInfo:
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

    def authenticate(self, auth: dict[str, Any] | None, signed: Signed | None = None
                     ) -> UserInfo:
        token = (auth or {}).get("token")
        if not isinstance(token, str) or not token:
            raise Unauthorized("Unauthorized: no credentials in the request")
        user = self._by_digest.get(_digest(token))
        if user is None:
            raise Unauthorized("Unauthorized: invalid bearer token")
        return UserInfo(user.name, user.uid, (*user.groups, AUTHENTICATED))


class ServiceAccountAuthenticator:
    """Service account tokens (``actors.api.tokens``): the signature is verified once per
    token and the claims kept; every request then checks the dates, the audience and that
    the account and the object the token is bound to still exist (the store's view: a token
    dies with its pod), as kube-apiserver's service account authenticator."""

    CACHE = 4096
    """Verified tokens kept (a signature check costs far more than the rest)."""

    def __init__(self, public: tokens.PublicKey, lookup: tokens.Lookup,
                 audiences: tuple[str, ...] = tokens.API_AUDIENCES,
                 clock: Callable[[], float] = time.time) -> None:
        self.public, self.lookup, self.audiences, self.clock = public, lookup, audiences, clock
        self._verified: _Verified[bytes, tokens.Claims] = _Verified(self.CACHE)

    def claims(self, token: str, audiences: tuple[str, ...] | None = None) -> tokens.Claims:
        """The claims of ``token`` if it holds now for one of ``audiences`` (this server's
        when None); Unauthorized saying why not."""
        claims = self._verified.get(_digest(token), lambda: tokens.verify(self.public, token))
        now = self.clock()
        tokens.check(claims, now, audiences or self.audiences)
        problem = tokens.liveness_problem(claims, self.lookup, now)
        if problem:
            raise Unauthorized(f"Unauthorized: the service account token is invalid: {problem}")
        return claims

    def authenticate(self, auth: dict[str, Any] | None, signed: Signed | None = None
                     ) -> UserInfo:
        token = (auth or {}).get("token")
        if not isinstance(token, str) or not token:
            raise Unauthorized("Unauthorized: no credentials in the request")
        return self.user(self.claims(token))

    @staticmethod
    def user(claims: tokens.Claims) -> UserInfo:
        """The authenticated user of a token of ``claims``."""
        user = serviceaccounts.user(claims)
        return UserInfo(user.name, user.uid, (*user.groups, AUTHENTICATED))


def store_lookup(view: StoreView) -> tokens.Lookup:
    """What a token's liveness check reads: the store's view, by resource and name."""
    return lambda resource, namespace, name: view.get(lookup("", resource).key(namespace, name))


class BearerAuthenticator:
    """Bearer tokens: a service account's JWT (three dot-separated parts) or a static one."""

    def __init__(self, static: Authenticator,
                 service_accounts: ServiceAccountAuthenticator | None) -> None:
        self.static, self.service_accounts = static, service_accounts

    def authenticate(self, auth: dict[str, Any] | None, signed: Signed | None = None
                     ) -> UserInfo:
        token = (auth or {}).get("token")
        if self.service_accounts is not None and isinstance(token, str) and \
                tokens.looks_like_jwt(token):
            return self.service_accounts.authenticate(auth, signed)
        return self.static.authenticate(auth, signed)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class _Verified(Generic[K, V]):
    """What checking a credential found (the claims of a token, a session's ticket opened, a
    certificate's identity), kept for the next request showing the same credential: checking it
    costs a signature or a decryption, looking it up a dict. The ``size`` most recently used
    are kept. Safe from several threads; a credential checked twice at once is checked twice."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._found: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, check: Callable[[], V]) -> V:
        """What ``check()`` found for the credential ``key`` names, from the cache or by
        calling it (what it raises is not kept)."""
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
                return found
        found = check()
        with self._lock:
            self._found[key] = found
            while len(self._found) > self.size:
                self._found.popitem(last=False)
        return found

    def forget(self, key: K) -> None:
        with self._lock:
            self._found.pop(key, None)


def _user(identity: certs.Identity) -> UserInfo:
    return UserInfo(identity.user, "", (*identity.groups, AUTHENTICATED))


class NonceCache:
    """The nonces of requests that could still be accepted. A request is fresh while its
    timestamp is within the window of the server's clock, ahead or behind, so its nonce is
    remembered until its timestamp plus the window (``until``), however far ahead the sender's
    clock is: a replay is refused at every moment the original would be accepted. Kept in
    generations of ``window`` seconds of ``until``, each dropped whole once past. Safe from
    several threads: check and remember are one step under a lock."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._generations: dict[int, set[bytes]] = {}
        """Nonces by ``floor(until / window)``: three at most are live (``until`` lies
        between now and two windows on)."""
        self._next_sweep = -math.inf
        """When the clock next crosses a generation's end (nothing can be dropped before)."""
        self._lock = threading.Lock()

    def first_time(self, nonce: bytes, until: float, now: float) -> bool:
        """True the first time ``nonce`` is seen, False on a replay. The caller refuses the
        request after ``until``; the nonce is remembered till then."""
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            generations = self._generations
            for known in generations.values():
                if nonce in known:
                    return False
            generation = math.floor(until / self.window)
            if generation not in generations:
                generations[generation] = set()
            generations[generation].add(nonce)
            return True

    def _sweep(self, now: float) -> None:
        """Drop the generations whose every ``until`` is past."""
        for generation in [g for g in self._generations if (g + 1) * self.window <= now]:
            del self._generations[generation]
        self._next_sweep = (math.floor(now / self.window) + 1) * self.window


@dataclass
class Handshaker:
    """Answers certificate handshakes (``<prefix>.authn.hello``) with a session."""

    ca: x509.Certificate
    cert: x509.Certificate
    """This apiserver's own certificate (server usage), signed by the CA."""
    key: certs.PrivateKey
    ticket_key: bytes
    """Seals session tickets; every apiserver of a cluster holds the same one."""
    lifetime: float = 3600.0
    """Seconds a session lasts; clients open a new one before it ends."""
    window: float = 30.0
    """Seconds a hello or a request stays fresh (clock skew allowed, nonces remembered)."""
    clock: Callable[[], float] = time.time
    """Seconds since the epoch (a fake one in tests)."""

    def __post_init__(self) -> None:
        self.nonces = NonceCache(self.window)

    def answer(self, message: Any) -> dict[str, object]:
        """The welcome for a valid hello; Unauthorized saying what is wrong otherwise."""
        return self.welcome(self.check(message))

    def check(self, message: Any) -> certs.Hello:
        """The hello, authenticated and its nonce remembered; Unauthorized saying what is
        wrong otherwise. Its user is :func:`hello_user`."""
        if not isinstance(message, dict):
            raise Unauthorized("Unauthorized: malformed handshake (expected a map)")
        now = self.clock()
        hello = certs.check_hello(message, self.ca, now, self.window)
        if not self.nonces.first_time(hello.nonce, hello.stamp + self.window, now):
            raise Unauthorized("Unauthorized: replayed handshake (nonce already seen)")
        return hello

    def welcome(self, hello: certs.Hello) -> dict[str, object]:
        """The answer to a hello :meth:`check` found valid: a new session."""
        return certs.welcome(hello, self.cert, self.key, self.ticket_key, self.lifetime,
                             self.clock())


def hello_user(hello: certs.Hello) -> UserInfo:
    """The user of a certificate handshake (its certificate's)."""
    return _user(hello.identity)


class SessionAuthenticator:
    """Requests of sessions opened by :class:`Handshaker` (same ticket key and window)."""

    CACHE = 4096
    """Opened tickets kept (opening one costs a decryption; checking a MAC much less)."""

    def __init__(self, ticket_key: bytes, window: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.ticket_key, self.window, self.clock = ticket_key, window, clock
        self.nonces = NonceCache(window)
        self._sessions: _Verified[bytes, tuple[certs.Session, UserInfo]] = _Verified(self.CACHE)
        """Each ticket opened, and its user (one UserInfo for all the session's requests)."""

    def authenticate(self, auth: dict[str, Any] | None, signed: Signed | None = None
                     ) -> UserInfo:
        auth = auth or {}
        ticket, stamp, nonce = auth.get("ticket"), auth.get("ts"), auth.get("nonce")
        if not (isinstance(ticket, bytes) and isinstance(stamp, int | float)
                and not isinstance(stamp, bool) and isinstance(nonce, bytes)
                and 8 <= len(nonce) <= 64):
            raise Unauthorized("Unauthorized: a session request needs ticket, ts and nonce")
        if signed is None or signed.mac is None:
            raise Unauthorized("Unauthorized: the request carries no MAC")
        session, user = self._opened(ticket)
        now = self.clock()
        certs.check_unexpired(session, now)
        certs.check_fresh("request", stamp, now, self.window)
        if not certs.mac_matches(session.key, signed.subject, signed.reply_to, signed.data,
                                 signed.mac):
            raise Unauthorized("Unauthorized: the request's MAC does not match its session")
        if not self.nonces.first_time(nonce, stamp + self.window, now):
            raise Replayed("Unauthorized: replayed request (nonce already seen)")
        return user

    def first_answer(self, auth: object) -> bool:
        """Whether a refusal made before authenticating a request (flow control's 429) may
        answer it: not when it is a fresh session request whose nonce was taken (a copy of one
        answered already); else a fresh nonce is taken now, so a copy of the request arriving
        later is not served either: its sender gets one answer, and it tells what was done.
        (A nonce is random: nobody takes another's before it is sent.) Only the nonce of a
        ticket that opens is taken: one that does not is no session's, never served, and a
        flood of made-up tickets would otherwise fill the nonce cache for the window."""
        auth = auth if isinstance(auth, dict) else {}
        stamp, nonce, ticket = auth.get("ts"), auth.get("nonce"), auth.get("ticket")
        if not (isinstance(stamp, int | float) and not isinstance(stamp, bool)
                and isinstance(nonce, bytes) and 8 <= len(nonce) <= 64
                and isinstance(ticket, bytes)):
            return True
        now = self.clock()
        if not abs(now - stamp) <= self.window or not self._opens(ticket):
            return True  # stale or no session's: refused however often it comes
        return self.nonces.first_time(nonce, stamp + self.window, now)

    def _opens(self, ticket: bytes) -> bool:
        try:
            self._opened(ticket)
        except Unauthorized:
            return False
        return True

    def _opened(self, ticket: bytes) -> tuple[certs.Session, UserInfo]:
        """The session ``ticket`` seals, and its user: opened once, then from the cache;
        Unauthorized when it does not open with this server's ticket key."""
        def open_it() -> tuple[certs.Session, UserInfo]:
            session = certs.open_ticket(ticket, self.ticket_key)
            return session, _user(session.identity)

        return self._sessions.get(ticket, open_it)


class Replayed(Unauthorized):
    """A session request whose nonce was seen: a copy of one already taken (a replay, or the
    bus delivering it twice). Audited and not answered: its reply subject, which its MAC
    covers, is its original sender's inbox, who has the original's answer and never sent a
    second (``ApiServer._refused``)."""


class EitherAuthenticator:
    """Tokens or sessions, by what the request's ``auth`` holds."""

    def __init__(self, tokens: Authenticator, sessions: Authenticator | None) -> None:
        self.tokens, self.sessions = tokens, sessions

    def authenticate(self, auth: dict[str, Any] | None, signed: Signed | None = None
                     ) -> UserInfo:
        if self.sessions is not None and isinstance(auth, dict) and "ticket" in auth:
            return self.sessions.authenticate(auth, signed)
        return self.tokens.authenticate(auth, signed)

    def first_answer(self, auth: object) -> bool:
        """See :meth:`SessionAuthenticator.first_answer` (a token request: always)."""
        sessions = self.sessions
        return not (isinstance(sessions, SessionAuthenticator) and isinstance(auth, dict)
                    and "ticket" in auth) or sessions.first_answer(auth)


@dataclass(frozen=True, slots=True)
class _Certified:
    """What verifying a client certificate against the CA found: whom it names, and the
    dates outside which it proves nobody."""

    identity: certs.Identity
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class Forwarding:
    """The credentials a front forwards for its client (``auth.forwarded``): a certificate
    (``{"certificate": DER}``, whose key the client proved it holds in the front's TLS
    handshake) checked against the cluster CA here, as kube-apiserver's x509 authenticator
    (CN user, O groups); else a bearer token (``{"token"}``) checked as any. Only the
    identities in ``fronts`` may forward (kube-apiserver's request-header authentication and
    its allowed names; here the credentials travel, not a name the front vouches for).

    A certificate found valid is remembered by the SHA-256 of its DER (:data:`CACHE` of them),
    with its dates: the next request showing the very same bytes skips the parse and the
    signature check, never the dates. The cache is this instance's, so of its ``ca`` only;
    a certificate that fails is not remembered."""

    CACHE = 4096
    """Verified certificates kept (a parse and a signature check per request cost far more
    than a lookup)."""

    ca: x509.Certificate
    tokens: Authenticator
    fronts: frozenset[str]
    """The users that may forward: the HTTPS listener's identity."""
    clock: Callable[[], float] = time.time
    _certified: _Verified[bytes, _Certified] = field(
        default_factory=lambda: _Verified(Forwarding.CACHE), init=False, repr=False,
        compare=False)

    def user(self, forwarded: Any, front: UserInfo) -> UserInfo:
        """The client whose credentials ``front`` forwarded; Unauthorized saying why not."""
        if front.name not in self.fronts:
            raise Unauthorized(f'Unauthorized: user "{front.name}" may not forward credentials '
                               f"(only {', '.join(sorted(self.fronts)) or 'nobody'} may)")
        if not isinstance(forwarded, dict):
            raise BadRequest("auth.forwarded must be a map")
        certificate = forwarded.get("certificate")
        if certificate is None:
            return self.tokens.authenticate({"token": forwarded.get("token")})
        if not isinstance(certificate, bytes):
            raise Unauthorized("Unauthorized: the client certificate cannot be read")
        now = datetime.fromtimestamp(self.clock(), UTC)
        digest = hashlib.sha256(certificate).digest()
        found = self._certified.get(digest, lambda: self._verify(certificate, now))
        if not found.not_before <= now <= found.not_after:  # expired since: checked in full
            self._certified.forget(digest)
            found = self._verify(certificate, now)
        return _user(found.identity)

    def _verify(self, certificate: bytes, now: datetime) -> _Certified:
        """``certificate`` (DER) checked against the CA now; Unauthorized saying why not."""
        try:
            cert = x509.load_der_x509_certificate(certificate)
        except (ValueError, TypeError):
            raise Unauthorized("Unauthorized: the client certificate cannot be read") from None
        return _Certified(certs.verify(cert, self.ca, now), cert.not_valid_before_utc,
                          cert.not_valid_after_utc)


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
