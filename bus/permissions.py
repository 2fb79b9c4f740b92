"""Who may publish and subscribe where on a locked-down bus: one table, and the nats-server
``authorization`` configuration rendered from it.

Each identity connects as its own NATS user (see docs/PROTOCOL.md, Bus permissions): the
control plane's components with a password (users of the server's configuration), everyone else
through the auth callout (``bus.callout``), which the apiservers answer with the permissions this
table gives the certificate's or the token's user. The name of that user is also the owner token
of its inbox and watch subjects (``bus.subjects.owner_token``), so the table can give each
identity its own and nobody else's. The roles:

- ``admin``: everything (the admin's kubeconfig, ``kubeactor trace``).
- ``apiserver``: the door. Serves the API subjects and the exempt lane's (only it may subscribe
  there; nobody but the admin may publish on the lane, ``<prefix>.exempt``) and publishes
  replies (into inboxes), watch events, spans, calls to kubelets and admission actors, and the
  auth callout's answers; nothing else (never JetStream's subjects), and it may not answer
  elsewhere (no ``allow_responses``: NATS lets a response go to any subject, a denied one
  included).
- ``system:store``: the JetStream store (``--store jetstream``), the only one but the admin
  that may publish on JetStream's API and KV subjects.
- ``system:node:<n>``: a kubelet. A client, plus the calls to its own node and the spans and
  followed logs it sends.
- ``system:node-sim``: the one connection of every simulated node of ``up --runtime sim``: a
  kubelet of every node (a single process hosts them all; no agent gets it).
- anyone else (``system:kube-scheduler``, ``system:kube-controller-manager``, the users of
  ``kubeactor certs issue`` and of the static tokens): a client, which sends API requests and
  reads its own inbox and watches, and may serve admission actors under its own name
  (``<prefix>.admission.<user>.<actor>``). A connection without credentials is refused.
- every identity but the admin's, the apiserver's and the store's may also publish the spans of
  fault injection (``<prefix>.trace.chaos``: ``actors.client.faultinjection``, in every process
  hosting components); a span is a report, not a request: nobody acts on it.

Every other identity (not the admin, the apiserver or the store) answers only requests it
received (NATS ``allow_responses``).
Pure: no I/O, unit-tested in tests/unit/bus/test_permissions.py. Neighbours: ``bus.server`` (starts
nats-server with the rendered text), ``bindings.cluster.bususers`` (the passwords and the callout's
issuer key), ``bus.callout`` (the callout's answers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from bus.subjects import CALLOUT_REPLIES, EXEMPT_LANE, JETSTREAM, Subjects, owner_token

ADMIN = "admin"
APISERVER = "apiserver"
STORE = "system:store"
NODE_PREFIX = "system:node:"
NODE_SIM = "system:node-sim"
RESPONSE_WINDOW_SECONDS = 3600
RESPONSE_WINDOW = "1h"
"""How long a request received may be answered (NATS ``allow_responses.expires``): an exec may
run for minutes; requesters give up far sooner."""


class Role(Enum):
    ADMIN = "admin"
    APISERVER = "apiserver"
    STORE = "store"
    NODE = "node"
    NODE_SIM = "node-sim"
    CLIENT = "client"


def lane_of(user: str) -> str:
    """The lane NATS user ``user`` sends its requests on (``Subjects.api``): the admin's, the
    exempt lane, which only it may publish on (docs/DESIGN.md, "Priority lanes")."""
    return EXEMPT_LANE if role_of(user) is Role.ADMIN else "api"


def role_of(user: str) -> Role:
    """The role of NATS user ``user`` (see the module docstring)."""
    if user == ADMIN:
        return Role.ADMIN
    if user == APISERVER:
        return Role.APISERVER
    if user == STORE:
        return Role.STORE
    if user == NODE_SIM:
        return Role.NODE_SIM
    return Role.NODE if user.startswith(NODE_PREFIX) else Role.CLIENT


Subject = Callable[[Subjects, str], str]
"""Builds one subject (pattern) from the cluster's subjects and the NATS user."""


def _everything(s: Subjects, user: str) -> str:
    return ">"


def _requests(s: Subjects, user: str) -> str:
    return s.api_all


def _exempt_lane(s: Subjects, user: str) -> str:
    return s.exempt_all


def _hello(s: Subjects, user: str) -> str:
    return s.hello


def _auth_requests(s: Subjects, user: str) -> str:
    return s.auth_callout


def _auth_answers(s: Subjects, user: str) -> str:
    return f"{CALLOUT_REPLIES}>"


def _inboxes(s: Subjects, user: str) -> str:
    return s.inboxes


def _watches(s: Subjects, user: str) -> str:
    return s.watches()


def _admissions(s: Subjects, user: str) -> str:
    return s.admissions_of(None)


def _spans(s: Subjects, user: str) -> str:
    return s.trace()


def _tracers(s: Subjects, user: str) -> str:
    return s.tracers


def _jetstream_api(s: Subjects, user: str) -> str:
    return JETSTREAM[0]


def _kv(s: Subjects, user: str) -> str:
    return JETSTREAM[1]


def _own_inbox(s: Subjects, user: str) -> str:
    return f"{s.inbox(owner_token(user))}.>"


def _own_watches(s: Subjects, user: str) -> str:
    return s.watches(owner_token(user))


def _own_admissions(s: Subjects, user: str) -> str:
    return s.admissions_of(owner_token(user))


def _own_node(s: Subjects, user: str) -> str:
    return s.node_calls(user.removeprefix(NODE_PREFIX))


def _every_node(s: Subjects, user: str) -> str:
    return s.node_calls()


def _kubelet_spans(s: Subjects, user: str) -> str:
    return s.trace("kubelet")


def _chaos_spans(s: Subjects, user: str) -> str:
    return s.trace("chaos")


def _log_streams(s: Subjects, user: str) -> str:
    return s.streams("logs")


def _exec_streams(s: Subjects, user: str) -> str:
    return s.streams("exec")


_CLIENTS = (Role.APISERVER, Role.STORE, Role.NODE, Role.NODE_SIM, Role.CLIENT)
_KUBELETS = (Role.NODE, Role.NODE_SIM)

TABLE: tuple[tuple[tuple[Role, ...], str, Subject], ...] = (
    # roles                  may             subject
    ((Role.ADMIN,),          "publish",      _everything),
    ((Role.ADMIN,),          "subscribe",    _everything),
    ((Role.APISERVER,),      "publish",      _inboxes),
    ((Role.APISERVER,),      "publish",      _watches),
    ((Role.APISERVER,),      "publish",      _spans),
    ((Role.APISERVER,),      "publish",      _every_node),
    ((Role.APISERVER,),      "publish",      _admissions),
    ((Role.APISERVER,),      "publish",      _auth_answers),
    ((Role.APISERVER,),      "deny-publish", _jetstream_api),
    ((Role.APISERVER,),      "deny-publish", _kv),
    ((Role.APISERVER,),      "subscribe",    _requests),
    ((Role.APISERVER,),      "subscribe",    _exempt_lane),
    ((Role.APISERVER,),      "subscribe",    _hello),
    ((Role.APISERVER,),      "subscribe",    _auth_requests),
    ((Role.APISERVER,),      "subscribe",    _tracers),
    ((Role.STORE,),          "publish",      _jetstream_api),
    ((Role.STORE,),          "publish",      _kv),
    (_CLIENTS,               "subscribe",    _own_inbox),
    ((Role.NODE, Role.NODE_SIM, Role.CLIENT), "publish", _requests),
    ((Role.NODE, Role.NODE_SIM, Role.CLIENT), "publish", _hello),
    ((Role.NODE, Role.NODE_SIM, Role.CLIENT), "subscribe", _own_watches),
    ((Role.NODE, Role.NODE_SIM, Role.CLIENT), "subscribe", _own_admissions),
    ((Role.NODE,),           "subscribe",    _own_node),
    ((Role.NODE_SIM,),       "subscribe",    _every_node),
    (_KUBELETS,              "publish",      _kubelet_spans),
    (_KUBELETS,              "publish",      _log_streams),
    (_KUBELETS,              "publish",      _exec_streams),
    ((Role.NODE, Role.NODE_SIM, Role.CLIENT), "publish", _chaos_spans),
)
"""Who may do what: each row gives its roles one allowed (or, ``deny-``, refused) subject.
A refusal wins over an allowance, as in nats-server."""


@dataclass(frozen=True)
class Permissions:
    """What one NATS user may do; the lists are NATS subject patterns."""

    publish: tuple[str, ...] = ()
    deny_publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    deny_subscribe: tuple[str, ...] = ()
    responses: bool = False
    """May answer the requests it received (whatever their reply subject)."""

    def publishing(self) -> dict[str, list[str]]:
        """NATS's ``{"allow": [...], "deny": [...]}`` of publishing (empty lists left out),
        as the server's configuration and a user JWT (``bus.callout``) both write it."""
        return _allow_deny(self.publish, self.deny_publish)

    def subscribing(self) -> dict[str, list[str]]:
        """The same of subscribing."""
        return _allow_deny(self.subscribe, self.deny_subscribe)

    def nats(self) -> dict[str, object]:
        """The ``permissions`` map of a nats-server user entry."""
        rendered: dict[str, object] = {"publish": self.publishing(),
                                       "subscribe": self.subscribing()}
        if self.responses:
            rendered["allow_responses"] = {"max": 1, "expires": RESPONSE_WINDOW}
        return rendered


def _allow_deny(allow: tuple[str, ...], deny: tuple[str, ...]) -> dict[str, list[str]]:
    return {key: list(value) for key, value in (("allow", allow), ("deny", deny)) if value}


def permissions(user: str, subjects: Subjects) -> Permissions:
    """The permissions of NATS user ``user``, read off :data:`TABLE`."""
    role = role_of(user)
    lists: dict[str, list[str]] = {"publish": [], "deny-publish": [], "subscribe": [],
                                   "deny-subscribe": []}
    for roles, may, subject in TABLE:
        if role in roles:
            lists[may].append(subject(subjects, user))
    return Permissions(tuple(lists["publish"]), tuple(lists["deny-publish"]),
                       tuple(lists["subscribe"]), tuple(lists["deny-subscribe"]),
                       responses=role not in (Role.ADMIN, Role.APISERVER, Role.STORE))


def authorization(passwords: Mapping[str, str], subjects: Subjects,
                  issuer: str | None = None) -> str:
    """The nats-server configuration of these users (name -> password) with their
    permissions. With ``issuer`` (the public account nkey of ``bus.callout``'s issuer) every
    other connection is decided by the auth callout, which the apiserver answers; without, it
    is refused."""
    users: list[dict[str, object]] = [
        {"user": user, "password": password, "permissions": permissions(user, subjects).nats()}
        for user, password in sorted(passwords.items())]
    rendered: dict[str, object] = {"users": users}
    if issuer is not None:
        # nats-server sends a connection a nonce to sign only when some user signs one: this
        # user, whose key nobody holds, makes it send one to every client.
        users.append({"nkey": NONCE_USER, "permissions": Permissions(
            deny_publish=(">",), deny_subscribe=(">",)).nats()})
        rendered["auth_callout"] = {"issuer": issuer, "auth_users": sorted(passwords)}
    return f"authorization: {json.dumps(rendered, indent=1)}\n"


NONCE_USER = "UBYNSTAVAJKFTEDKQBEZTDBRNMK6E2U2OKFQOVOKVGU2AVJNSUQ7JAVJ"
"""A user nkey whose private key was thrown away when it was made, allowed nothing: in the
configuration only so that nats-server sends a nonce to every client."""
