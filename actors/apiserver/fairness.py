"""API Priority and Fairness in the pipeline: every request is classified as it leaves the
worker's mailbox, waits in its priority level's queues, and is served when the fair order
reaches it.

kube-apiserver classifies a request once it is authenticated. Here authentication is most of
a worker's work on a read (a ticket and an HMAC per request), and the worker is the very
resource a flood takes: classifying after it would serve a flood's requests in the order they
came, before everyone else's. So the worker takes each request out of its mailbox
(:meth:`Fairness.arrived`, a tenth of the cost of serving it) and classifies it by the
identity it claims: the owner of its reply inbox (the NATS identity that may read the answer)
and its credentials (the token or session ticket it carries and, for a front's request, the
one it forwards): anyone may name another's inbox as reply subject, or forward a certificate
(no secret), but only its holder has a token or ticket. That claim is looked up in
:class:`Identities`, what the workers learnt from the requests of that claim they
authenticated; a claim not seen yet is an authenticated user of its own (global-default, by
user, named after its inbox's owner and a digest of its credentials), never the owner's flow:
a flood naming the admin's inbox is not exempt, one naming another's fills no queue of
theirs. Where flows are paced, the time of every claim not seen yet is counted on one account
(``classifying.UNVERIFIED_DEBTOR``): a flood making up a credential per request is a flow per
request, but paced as one sender (a newcomer's first request shares that pace).
A false claim gains nothing lasting: the worker
authenticates the request before any work and answers only into its sender's inboxes
(``busauth.check_reply``), so a request claiming another's inbox is refused (400) at the price
of a refusal, and learns nothing. Impersonation does not change the flow (the sender's is
used).

The queued message waits in the worker's :class:`~actors.apiserver.queueing.Dispatcher`. One
marker at a time is handed to the worker (``tell_soon``: behind the whole batch the mailbox
held, which is queued first); each marker serves the next :data:`SERVED_PER_TURN` requests the
dispatcher chooses, then hands over the next marker, behind what arrived meanwhile. So what
arrives is queued within a few requests' time, and a request of the exempt level
(``system:masters``) or of a level served less than its share overtakes the flood. (Classifying
on the bus loop, before the mailbox, was tried and measured worse: every message and reply
crosses the loop, and what it does per message delays everyone's.)

A flow the dispatcher paces (``queueing.Pacing``: a user's) that took its part of the worker's
time waits: :meth:`Fairness._dispatch` then serves the others, and a timer (RESUME) comes back
to it when it may go. The admin's requests mostly never reach this worker: they travel on the
exempt lane, served by a worker of their own (``ApiServerConfig.lanes``).

The request holds its seat until answered (:meth:`Fairness._unseat`); its answer carries the
UIDs of its FlowSchema and level (``opts``), which the HTTPS front sends as kube-apiserver's
``X-Kubernetes-PF-FlowSchema-UID`` and ``X-Kubernetes-PF-PriorityLevel-UID`` headers. A refusal
is a 429 with ``details.retryAfterSeconds`` (``Retry-After`` over HTTP).

Neighbours: ``classifying`` (the flows), ``queueing`` (the queues), ``server`` (mixes this in,
calls :meth:`Fairness._seat`, :meth:`Fairness._learn` and :meth:`Fairness._unseat`).

Which thread: the worker's actor thread (the dispatcher's lock is shared with nobody else);
what :class:`Identities` learnt is shared by the workers of one apiserver (a dict's reads and
writes, each atomic).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from actors.api import bindingbatches
from actors.api.users import UserInfo
from actors.apiserver.authn import AUTHENTICATED, Authenticator, EitherAuthenticator
from actors.apiserver.classifying import UNVERIFIED, Asked, Flow, FlowControl
from actors.apiserver.queueing import Dispatcher, Ticket
from actors.apiserver.requests import ApiServerConfig, Pending, Request
from bus.connection import Incoming
from bus.envelope import Envelope
from bus.errors import ApiError, BadRequest, TooManyRequests
from bus.subjects import ApiSubject, Subjects

DISPATCH = object()
"""Worker message: serve what the dispatcher chooses now (one is in the mailbox at a time)."""
RESUME = object()
"""Worker message: a paced flow may be served again (a timer's)."""
MIN_PAUSE = 0.001
"""The shortest wait for the worker's time (s): a timer per request would cost more than it
saves."""
SERVED_PER_TURN = 4
"""Requests served per DISPATCH before the mailbox is looked at again: what arrived meanwhile
waits at most this many requests' time to be queued (and, if it is the exempt level's, to be
served). More saves a mailbox round trip per request; fewer makes the wait shorter."""
MAX_IDENTITIES = 4096
"""Claims the workers of one apiserver keep (:class:`Identities`); past it, the least recently
learnt is forgotten."""

Credential = str | bytes | None
Claim = tuple[str | None, Credential, Credential]
"""Who a message says it is from: its reply inbox's owner, its own credential (a token or a
session ticket: a secret of its sender's) and, from a front, the one it forwards (a token or a
certificate, which is no secret)."""


class Identities:
    """The users a worker authenticated, by the claim their requests made (see the module
    docstring)."""

    def __init__(self, subjects: Subjects,
                 users: OrderedDict[Claim, UserInfo] | None = None) -> None:
        """``users``: what was learnt, least recently first, shared by the workers of one
        apiserver (``FlowControl.learnt``: each of its operations is atomic)."""
        self.subjects = subjects
        self._users: OrderedDict[Claim, UserInfo] = OrderedDict() if users is None else users

    def claim(self, incoming: Incoming) -> Claim:
        """The claim of ``incoming``: read, not checked (the worker checks the reply subject
        and the credentials before any work)."""
        reply, inbox = incoming.reply_to or "", self.subjects.inbox_prefix + "."
        owner = reply[len(inbox):].partition(".")[0] if reply.startswith(inbox) else None
        auth = incoming.envelope.auth if isinstance(incoming.envelope.auth, dict) else {}
        forwarded = auth.get("forwarded")
        return owner, _credential(auth), _credential(forwarded)

    def user(self, incoming: Incoming) -> UserInfo:
        """Who ``incoming`` is, as far as is known before authenticating it."""
        claim = self.claim(incoming)
        return self._users.get(claim) or unverified(claim)

    def learn(self, incoming: Incoming, user: UserInfo) -> None:
        """``incoming``, now authenticated, was from ``user``. Past :data:`MAX_IDENTITIES`
        the claim least recently learnt is forgotten: a user opening thousands of sessions
        pushes out only claims idle meanwhile, not the control plane's."""
        claim, users = self.claim(incoming), self._users
        with contextlib.suppress(KeyError):  # another worker forgot it meanwhile
            if users.get(claim) == user:
                users.move_to_end(claim)
                return
            users[claim] = user
            while len(users) > MAX_IDENTITIES:
                users.popitem(last=False)


def _credential(auth: object) -> Credential:
    """The ticket, certificate or token of an ``auth`` map (None: not a map, or none): the
    one that authenticates it, as ``authn`` chooses (a session's ticket, a forwarded
    certificate, before a token). Any other is the sender's to make up: a token beside a
    ticket would make each request a claim of its own, learnt anew, and a few thousand would
    have the workers forget every claim they knew (:data:`MAX_IDENTITIES`)."""
    held = auth if isinstance(auth, dict) else {}
    found = held.get("ticket") or held.get("certificate") or held.get("token")
    return found if isinstance(found, str | bytes) else None


def unverified(claim: Claim) -> UserInfo:
    """The user a claim not authenticated yet is classified as: a flow of its own, told apart
    by its credentials, never the flow of the inbox's owner it names; of the group
    :data:`~actors.apiserver.classifying.UNVERIFIED`, so that the worker's time it takes is
    counted with every other such claim's (a credential made up per request is paced as one
    sender). Its name starts with ``?``, as no user's does: the inbox's owner is the sender's
    choice, and a name starting ``system:serviceaccount:kube-system:`` would match that
    namespace's service accounts' FlowSchemas (an unpaced level; a cluster's exempt one)."""
    digest = hashlib.blake2b(digest_size=6)
    for credential in claim[1:]:
        digest.update(credential.encode() if isinstance(credential, str) else credential or b"")
        digest.update(b"\0")
    return UserInfo(f"?{claim[0] or ''}?{digest.hexdigest()}",
                    groups=(AUTHENTICATED, UNVERIFIED))


def asked(incoming: Incoming, subjects: Subjects, user: UserInfo, namespace: object = None
          ) -> Asked:
    """What classification reads of a message naming ``namespace`` (None: its envelope's;
    for a batch of bindings, one its items name: a batch is no cluster-scoped request, each
    binding is classified in its namespace); a handshake is a create of ``hello``."""
    parsed = _parsed(subjects, incoming.subject)
    if parsed is None:
        return Asked(user, "create", "", "hello", None)
    namespace = incoming.envelope.namespace if namespace is None else namespace
    return Asked(user, parsed.verb, parsed.group, parsed.resource,
                 namespace if isinstance(namespace, str) and namespace else None)


@functools.lru_cache(maxsize=1024)
def _parsed(subjects: Subjects, subject: str) -> ApiSubject | None:
    """``subjects.parse_api``, remembered: a flood sends the same few subjects."""
    return subjects.parse_api(subject)


def refusal(flow: Flow, why: str) -> TooManyRequests:
    """The 429 of a request its level cannot take (kube-apiserver's words)."""
    return TooManyRequests(f"Too many requests, please try again later. ({why}: flow schema "
                           f'"{flow.schema}", priority level "{flow.level.name}")',
                           details={"retryAfterSeconds": 1})


class Fairness:
    """See the module docstring. What it uses of the pipeline is declared here."""

    config: ApiServerConfig
    subjects: Subjects
    authenticator: Authenticator
    flow_control: FlowControl
    identities: Identities
    dispatcher: Dispatcher
    _seated: Ticket | None
    _dispatching: bool
    """A DISPATCH is in the mailbox."""
    _resumes: tuple[float, ...] = ()
    """When each RESUME on its way comes (``time.monotonic``), soonest first."""

    if TYPE_CHECKING:
        def tell_soon(self, message: Any) -> None: ...

        def tell_later(self, delay: float, message: Any) -> Any: ...

        def serve(self, message: Incoming) -> None: ...

        def rejected(self, subject: str, error: ApiError) -> None: ...

    def arrived(self, incoming: Incoming) -> ApiError | None:
        """Queue ``incoming`` for its flow; the 429 when its level is full (audited and not
        answered when it is a copy of a request taken: :meth:`_first_answer`)."""
        policy = self.flow_control.policy
        user = self.identities.user(incoming)
        named: list[object] = [*bindingbatches.namespaces(incoming.envelope)]
        flows = [self._classified(incoming, user, namespace)
                 for namespace in named or [incoming.envelope.namespace]]
        flow = flows[0]
        if mixed := sorted({other.schema for other in flows} - {flow.schema}):
            return BadRequest(f"the bindings of a batch fall under FlowSchemas {flow.schema!r} "
                              f"and {mixed[0]!r} (by their namespaces): send them apart")
        if self.dispatcher.offer(flow, incoming, time.monotonic(), policy.total_shares,
                                 bindingbatches.width(incoming.envelope)) is None:
            refused = refusal(flow, "queue full" if flow.level.queues else "concurrency limit")
            if self._first_answer(incoming):
                return refused
            self.rejected(incoming.subject, refused)  # audited, not answered
            return None
        self._dispatch_soon()
        return None

    def _classified(self, incoming: Incoming, user: UserInfo, namespace: object) -> Flow:
        """The flow of ``incoming`` from ``user``, asking in ``namespace``."""
        return self.flow_control.policy.classify_message(
            user, incoming.subject, namespace,
            lambda: asked(incoming, self.subjects, user, namespace))

    def _first_answer(self, incoming: Incoming) -> bool:
        """Whether flow control's refusal of ``incoming`` (made before authenticating it) may
        be answered: never a copy of a session request answered already, and once refused no
        copy of it is served (``authn.SessionAuthenticator.first_answer``). Any thread."""
        authenticator = self.authenticator
        return not isinstance(authenticator, EitherAuthenticator) or \
            authenticator.first_answer(incoming.envelope.auth)

    def _dispatch_soon(self) -> None:
        if not self._dispatching:
            self._dispatching = True
            self.tell_soon(DISPATCH)

    def _dispatch(self) -> None:
        """Serve what the dispatcher chooses, SERVED_PER_TURN at most; the next turn behind
        what arrived meanwhile, or, when only paced flows that had their part of the worker's
        time wait, once the first may go again (a timer: what arrives meanwhile is queued, and
        served if it may)."""
        self._dispatching = False
        served = 0
        while served < SERVED_PER_TURN:
            started = time.monotonic()
            ticket = self.dispatcher.next(started)
            if ticket is None:
                self._resume_later(self.dispatcher.pause(started))
                return  # nothing waits, or no seat is free: a seat given back calls again
            self._seated, served = ticket, served + ticket.width
            self.serve(ticket.item)  # the pipeline's handle() takes the ticket
            now = time.monotonic()
            self.dispatcher.served(ticket, now - started, now)
        self._dispatch_soon()

    def _resume_later(self, pause: float) -> None:
        """A RESUME in ``pause`` seconds, unless one comes sooner. One due later does not
        do: set when nothing waited, at a paced flow's turn (its debt over its share: 36 s
        after a write of 1.8 s), it held the request that came next past its expiry (5 s,
        its 429) and its client's patience (10 s: a 504 instead)."""
        if pause <= 0:
            return
        pause = max(pause, MIN_PAUSE)
        if not self._resumes or time.monotonic() + pause < self._resumes[0]:
            self._resumes = (time.monotonic() + pause, *self._resumes)
            self.tell_later(pause, RESUME)

    def _resume(self) -> None:
        self._resumes = self._resumes[1:]  # the soonest came
        self._dispatch_soon()

    def _seat(self, pending: Pending) -> ApiError | None:
        """Give ``pending`` the ticket it was dispatched with; the 429 when it waited too
        long."""
        ticket, self._seated = self._seated, None
        pending.ticket = ticket
        if ticket is not None:
            pending.started = ticket.arrived  # its wait in the queue is its latency too
        if ticket is not None and ticket.expired:
            return refusal(ticket.flow, f"waited {self.dispatcher.max_wait:g} s in its queue")
        return None

    def _learn(self, pending: Pending, request: Request) -> None:
        """The request is authenticated: its claim is its sender's from now on."""
        self.identities.learn(pending.incoming, request.impersonator or request.user)

    def _unseat(self, pending: Pending, reply: Envelope | None) -> None:
        """The request is answered (or relayed): give its seat back, and tell who its flow
        was (``opts``) in ``reply``."""
        ticket = pending.ticket
        if ticket is None:
            return
        if self.dispatcher.release(ticket):
            self._dispatch_soon()
        if reply is not None:
            reply.options = {**(reply.options or {}), **flow_options(ticket.flow)}


def flow_options(flow: Flow) -> dict[str, str]:
    """The reply options naming a request's FlowSchema and level (their UIDs)."""
    return {"flowSchemaUID": flow.schema_uid, "priorityLevelUID": flow.level.uid}
