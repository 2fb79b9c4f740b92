"""Who may publish and subscribe where on a locked-down bus: one table, and the nats-server
``authorization`` configuration rendered from it.

Each component connects as its own NATS user (see docs/PROTOCOL.md, Bus permissions); the name
of that user is also the owner token of its inbox and watch subjects (``bus.subjects``), so the
table can give each identity its own and nobody else's. The roles:

- ``admin``: everything (the admin's kubeconfig, ``kubeactor trace``, admission actors).
- ``apiserver``: the door. Serves the API subjects (only it may subscribe there) and publishes
  replies, watch events, calls to kubelets and admission actors, and JetStream's traffic.
- ``system:node:<n>``: a kubelet. A client, plus the calls to its own node and the spans and
  followed logs it sends.
- ``system:node-sim``: the one connection of every simulated node of ``up --runtime sim``: a
  kubelet of every node (a single process hosts them all; no agent gets it).
- anyone else (``system:kube-scheduler``, ``system:kube-controller-manager``, ``anonymous`` for
  connections without NATS credentials): a client, which sends API requests and reads its own
  inbox and watches.

Every identity but the admin answers only requests it received (NATS ``allow_responses``).
Pure: no I/O, unit-tested in tests/unit/test_permissions.py. Neighbours: ``bus.server`` (starts
nats-server with the rendered text), ``bindings.bususers`` (the passwords).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from bus.subjects import ANONYMOUS, Subjects

ADMIN = "admin"
APISERVER = "apiserver"
NODE_PREFIX = "system:node:"
NODE_SIM = "system:node-sim"
RESPONSE_WINDOW = "1h"
"""How long a request received may be answered (NATS ``allow_responses.expires``): an exec may
run for minutes; requesters give up far sooner."""


class Role(Enum):
    ADMIN = "admin"
    APISERVER = "apiserver"
    NODE = "node"
    NODE_SIM = "node-sim"
    CLIENT = "client"


def role_of(user: str) -> Role:
    """The role of NATS user ``user`` (see the module docstring)."""
    if user == ADMIN:
        return Role.ADMIN
    if user == APISERVER:
        return Role.APISERVER
    if user == NODE_SIM:
        return Role.NODE_SIM
    return Role.NODE if user.startswith(NODE_PREFIX) else Role.CLIENT


Subject = Callable[[Subjects, str], str]
"""Builds one subject (pattern) from the cluster's subjects and the NATS user."""



def _everything(s: Subjects, user: str) -> str:
    return ">"


def _requests(s: Subjects, user: str) -> str:
    return s.api_all


def _hello(s: Subjects, user: str) -> str:
    return s.hello


def _own_inbox(s: Subjects, user: str) -> str:
    return f"{s.inbox(user)}.>"


def _own_watches(s: Subjects, user: str) -> str:
    return s.watches(user)


def _own_node(s: Subjects, user: str) -> str:
    return s.node_calls(user.removeprefix(NODE_PREFIX))


def _every_node(s: Subjects, user: str) -> str:
    return s.node_calls()


def _kubelet_spans(s: Subjects, user: str) -> str:
    return s.trace("kubelet")


def _log_streams(s: Subjects, user: str) -> str:
    return s.log_streams()


_CLIENTS = (Role.APISERVER, Role.NODE, Role.NODE_SIM, Role.CLIENT)
_KUBELETS = (Role.NODE, Role.NODE_SIM)

TABLE: tuple[tuple[tuple[Role, ...], str, Subject], ...] = (
    # roles                  may             subject
    ((Role.ADMIN,),          "publish",      _everything),
    ((Role.ADMIN,),          "subscribe",    _everything),
    ((Role.APISERVER,),      "publish",      _everything),
    ((Role.APISERVER,),      "deny-publish", _requests),
    ((Role.APISERVER,),      "deny-publish", _hello),
    ((Role.APISERVER,),      "subscribe",    _requests),
    ((Role.APISERVER,),      "subscribe",    _hello),
    (_CLIENTS,               "subscribe",    _own_inbox),
    ((Role.NODE, Role.NODE_SIM, Role.CLIENT), "publish", _requests),
    ((Role.NODE, Role.NODE_SIM, Role.CLIENT), "publish", _hello),
    ((Role.NODE, Role.NODE_SIM, Role.CLIENT), "subscribe", _own_watches),
    ((Role.NODE,),           "subscribe",    _own_node),
    ((Role.NODE_SIM,),       "subscribe",    _every_node),
    (_KUBELETS,              "publish",      _kubelet_spans),
    (_KUBELETS,              "publish",      _log_streams),
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

    def nats(self) -> dict[str, object]:
        """The ``permissions`` map of a nats-server user entry."""
        def lists(allow: tuple[str, ...], deny: tuple[str, ...]) -> dict[str, list[str]]:
            return {key: list(value) for key, value in (("allow", allow), ("deny", deny))
                    if value}

        rendered: dict[str, object] = {
            "publish": lists(self.publish, self.deny_publish),
            "subscribe": lists(self.subscribe, self.deny_subscribe)}
        if self.responses:
            rendered["allow_responses"] = {"max": 1, "expires": RESPONSE_WINDOW}
        return rendered


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
                       responses=role is not Role.ADMIN)


def authorization(passwords: Mapping[str, str], subjects: Subjects) -> str:
    """The nats-server configuration of these users (name -> password) with their
    permissions; connections without credentials are :data:`~bus.subjects.ANONYMOUS`, which
    must be among them."""
    if ANONYMOUS not in passwords:
        raise ValueError(f"the users of a locked-down bus must include {ANONYMOUS!r}")
    users = [{"user": user, "password": password,
              "permissions": permissions(user, subjects).nats()}
             for user, password in sorted(passwords.items())]
    return (f"authorization: {json.dumps({'users': users}, indent=1)}\n"
            f"no_auth_user: {json.dumps(ANONYMOUS)}\n")
