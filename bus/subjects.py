"""Every NATS subject kubeactor uses is built here, and nowhere else (see docs/PROTOCOL.md).

All subjects live under one cluster prefix (default ``kubeactor``) so that a single wildcard
subscription, ``<prefix>.>``, sees the whole control plane, replies included. Replies, watch
events and streamed node calls (followed logs, execs) go to subjects that name their owner
(the NATS user of the connection that receives them: ``<prefix>.inbox.<owner>``,
``<prefix>.watch.<owner>.<id>``),
so that a locked-down bus (``bus.permissions``) can let each identity read only its own.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

_TOKEN = re.compile(r"^[A-Za-z0-9_\-:/]+$")

ANONYMOUS = "anonymous"
"""Owner of the subjects of a connection that has no NATS identity (an open bus; a
locked-down one refuses such connections)."""

_OWNER_CHAR = re.compile(r"[^A-Za-z0-9\-:/]")

AUTH_CALLOUT = "$SYS.REQ.USER.AUTH"
CALLOUT_REPLIES = "$SYS._INBOX."
"""Where nats-server wants the auth callout's answers: ``$SYS._INBOX.<server>.<id>``."""
JETSTREAM = ("$JS.>", "$KV.>")
"""JetStream's API (``$JS.API.>``, with its flow control and acks) and its KV buckets' subjects:
only the JetStream store (and the admin) may publish there."""

STREAM_OPS = ("logs", "exec")
"""The node calls a kubelet may stream to their caller (``Subjects.stream``)."""

EXEMPT_LANE = "exempt"
"""The family token of the exempt lane's request subjects (``Subjects.api``), which the admin
alone may publish on: its requests travel apart from everyone else's (docs/DESIGN.md, "Priority
lanes")."""

CORE_GROUP_TOKEN = "core"
"""Subject token standing for the core API group, whose name is the empty string."""


def _token(value: str, what: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError(f"{what} {value!r} cannot be a subject token (use [A-Za-z0-9_-:/])")
    return value


def owner_token(user: str) -> str:
    """The subject token naming NATS identity ``user`` (a Kubernetes user name): itself when
    every character may stand in a token, else each other character (``_`` included) as
    ``_`` and its UTF-8 bytes in hex, so that two names never share a token
    (``alice@example.com`` -> ``alice_40example_2ecom``)."""
    if not user:
        raise ValueError("a NATS identity needs a name")
    return _OWNER_CHAR.sub(lambda m: "_" + m.group().encode().hex(), user)


def group_token(group: str) -> str:
    """The subject token for an API group: ``core`` for ``""``, dots turned into ``_``."""
    return CORE_GROUP_TOKEN if not group else _token(group.replace(".", "_"), "group")


def group_from_token(token: str) -> str:
    """Inverse of :func:`group_token`."""
    return "" if token == CORE_GROUP_TOKEN else token.replace("_", ".")


@dataclass(frozen=True, slots=True)
class ApiSubject:
    """The parts of an apiserver request subject."""

    group: str
    resource: str
    """Plural resource, with ``/subresource`` when there is one (``pods/binding``)."""
    verb: str
    server: str | None = None
    """The one apiserver process the request is addressed to; None: any of them."""


@dataclass(frozen=True, slots=True)
class Subjects:
    """Subject names for one cluster prefix."""

    prefix: str = "kubeactor"

    def __post_init__(self) -> None:
        for part in self.prefix.split("."):
            _token(part, "prefix part")

    @property
    def all(self) -> str:
        """Wildcard matching every subject of the cluster (for tracers)."""
        return f"{self.prefix}.>"

    @property
    def tracers(self) -> str:
        """``<prefix>.tracers``: a tracer says it listens, every few seconds; the apiserver
        publishes the spans of requests handed over in its process only while one does."""
        return f"{self.prefix}.tracers"

    @property
    def inbox_prefix(self) -> str:
        """Prefix of every reply subject, so replies stay under the cluster prefix."""
        return f"{self.prefix}.inbox"

    @property
    def inboxes(self) -> str:
        """Every identity's inbox (where the apiserver answers)."""
        return f"{self.inbox_prefix}.>"

    def inbox_owner(self, subject: str) -> str | None:
        """The owner token of a subject in an inbox, ``<prefix>.inbox.<owner>.<more>`` (one
        token or more after the owner, none a wildcard or empty); None when it is not one: a
        reply may only go there (see docs/PROTOCOL.md, Replies)."""
        head = f"{self.inbox_prefix}."
        if not subject.startswith(head):
            return None
        tokens = subject[len(head):].split(".")
        if len(tokens) < 2 or "" in tokens or "*" in tokens or ">" in tokens:
            return None
        return tokens[0]

    def is_inbox_of(self, subject: str, owners: Collection[str] | None) -> bool:
        """Whether ``subject`` is in the inbox of one of ``owners`` (None: of anyone): the
        one rule of every responder for where its answer may go."""
        owner = self.inbox_owner(subject)
        return owner is not None and (owners is None or owner in owners)

    @staticmethod
    def family(subject: str) -> str:
        """What a captured subject carries: its token after a one-token prefix (``api`` of
        ``kubeactor.api.core.pods.get``; ``watch``, ``trace``, ``node``, ``inbox``...); ""
        for a subject of one token. Needs no prefix: it reads replayed captures too."""
        return subject.split(".")[1] if "." in subject else ""

    @staticmethod
    def is_callout_reply(subject: str) -> bool:
        """Whether ``subject`` is where nats-server waits for an auth callout's answer
        (``$SYS._INBOX.<server>.<id>``)."""
        tokens = subject.removeprefix(CALLOUT_REPLIES).split(".")
        return subject.startswith(CALLOUT_REPLIES) and len(tokens) == 2 and all(
            t and t not in ("*", ">") for t in tokens)

    def inbox(self, owner: str) -> str:
        """``<prefix>.inbox.<owner>``: the inbox prefix of the connections of NATS user
        ``owner`` (their replies, and their followed logs)."""
        return f"{self.inbox_prefix}.{_token(owner, 'owner')}"

    @property
    def api_all(self) -> str:
        """Every apiserver request subject, and any other under ``<prefix>.api``."""
        return f"{self.prefix}.api.>"

    def api_unaddressed(self) -> tuple[str, ...]:
        """Every subject under ``<prefix>.api`` but those addressed to one apiserver process
        (four tokens after ``api``, see :meth:`api`): one to three tokens, or five and more."""
        head = f"{self.prefix}.api"
        return f"{head}.*", f"{head}.*.*", f"{head}.*.*.*", f"{head}.*.*.*.*.>"

    def api(self, group: str, resource: str, verb: str, server: str | None = None,
            lane: str = "api") -> str:
        """``<prefix>.api.<group>.<resource>[/<sub>].<verb>``: a request to the apiserver;
        with ``.<server>`` after it, to that one apiserver process (a watch's renewals). With
        ``lane`` :data:`EXEMPT_LANE`, the same request on the exempt lane (``<prefix>.exempt``:
        only the admin may publish there, and the apiservers serve it apart)."""
        subject = f"{self.prefix}.{lane}.{group_token(group)}.{_token(resource, 'resource')}." \
            + _token(verb, "verb")
        return subject if server is None else f"{subject}.{_token(server, 'server')}"

    @property
    def exempt_all(self) -> str:
        """Every subject of the exempt lane."""
        return f"{self.prefix}.{EXEMPT_LANE}.>"

    def api_server(self, server: str) -> str:
        """Every request addressed to apiserver process ``server``."""
        return f"{self.prefix}.api.*.*.*.{_token(server, 'server')}"

    def api_verb(self, verb: str, lane: str = "api") -> str:
        """Every apiserver request with this verb, whatever the group and resource (so that
        workers can split the verbs between them: watches to the one holding the watchers),
        on ``lane`` (see :meth:`api`)."""
        return f"{self.prefix}.{lane}.*.*.{_token(verb, 'verb')}"

    def parse_api(self, subject: str) -> ApiSubject | None:
        """Split an apiserver request subject; None when it is not one."""
        head, exempt = f"{self.prefix}.api.", f"{self.prefix}.{EXEMPT_LANE}."
        if subject.startswith(exempt):
            head = exempt
        elif not subject.startswith(head):
            return None
        parts = subject[len(head):].split(".")
        if len(parts) not in (3, 4):
            return None
        return ApiSubject(group_from_token(parts[0]), parts[1], parts[2],
                          parts[3] if len(parts) == 4 else None)

    @property
    def auth_callout(self) -> str:
        """``$SYS.REQ.USER.AUTH``: where nats-server asks who a connection is (its auth
        callout, ``bus.callout``); outside the cluster prefix, as nats-server names it."""
        return AUTH_CALLOUT

    @property
    def hello(self) -> str:
        """``<prefix>.authn.hello``: a client's certificate handshake with the apiservers."""
        return f"{self.prefix}.authn.hello"

    def hello_on(self, lane: str) -> str:
        """Where a client on ``lane`` sends its certificate handshake: :attr:`hello`, or on the
        exempt lane ``<prefix>.exempt.authn.hello`` (served by the lane's worker)."""
        return self.hello if lane == "api" else f"{self.prefix}.{_token(lane, 'lane')}.authn.hello"

    def is_hello(self, subject: str) -> bool:
        """Whether ``subject`` is a certificate handshake's, on either lane."""
        return subject in (self.hello, self.hello_on(EXEMPT_LANE))

    def watch(self, watch_id: str) -> str:
        """``<prefix>.watch.<owner>.<id>``: where the apiserver pushes one watcher's events;
        ``watch_id`` is ``<owner>.<id>`` (see :meth:`watch_id`)."""
        owner, dot, local = watch_id.partition(".")
        if not dot:
            raise ValueError(f"watch id {watch_id!r} must be <owner>.<id>")
        return f"{self.watches(owner)[:-1]}{_token(local, 'watch id')}"

    @staticmethod
    def watch_id(owner: str, local: str) -> str:
        """The id of a watch of NATS user ``owner``: ``<owner>.<local>``."""
        return f"{_token(owner, 'owner')}.{_token(local, 'watch id')}"

    @staticmethod
    def watch_owner(watch_id: str) -> str:
        """The owner token of a watch id (see :meth:`watch_id`)."""
        return watch_id.partition(".")[0]

    def watches(self, owner: str | None = None) -> str:
        """Every watch subject of NATS user ``owner`` (None: of everyone)."""
        return f"{self.prefix}.watch.>" if owner is None else \
            f"{self.prefix}.watch.{_token(owner, 'owner')}.>"

    def trace(self, component: str | None = None) -> str:
        """``<prefix>.trace.<component>``: spans of in-process hops (store commit, container);
        None: every component's."""
        return f"{self.prefix}.trace.>" if component is None else \
            f"{self.prefix}.trace.{_token(component, 'component')}"

    def node(self, node: str, op: str) -> str:
        """``<prefix>.node.<node>.<op>``: apiserver -> kubelet calls (logs, exec)."""
        return f"{self.prefix}.node.{_token(node, 'node')}.{_token(op, 'op')}"

    def node_calls(self, node: str | None = None) -> str:
        """Every call to the kubelet of ``node`` (None: of every node)."""
        return f"{self.prefix}.node.>" if node is None else \
            f"{self.prefix}.node.{_token(node, 'node')}.>"

    def admission(self, name: str) -> str:
        """``<prefix>.admission.<name>``: apiserver -> external admission actor reviews. A
        name ``<owner>.<actor>`` is served by NATS identity ``<owner>`` (see
        :meth:`admissions_of`); a plain ``<actor>``, by the admin."""
        owner, dot, actor = name.rpartition(".")
        head = f"{self.prefix}.admission.{_token(owner, 'admission actor owner')}" if dot \
            else f"{self.prefix}.admission"
        return f"{head}.{_token(actor, 'admission actor name')}"

    def admissions_of(self, owner: str | None) -> str:
        """The reviews of every admission actor NATS identity ``owner`` serves (None: of every
        admission actor, whoever serves it)."""
        return f"{self.prefix}.admission.>" if owner is None else \
            f"{self.prefix}.admission.{_token(owner, 'owner')}.*"

    def parse_node(self, subject: str) -> str | None:
        """The node of a ``<prefix>.node.<node>.<op>`` subject; None when it is not one."""
        head = f"{self.prefix}.node."
        if not subject.startswith(head):
            return None
        node, dot, _ = subject[len(head):].rpartition(".")
        return node if dot else None

    def stream(self, owner: str, stream_id: str, op: str = "logs") -> str:
        """``<prefix>.inbox.<owner>.<op>.<id>``: where a kubelet streams a node call to the
        one who opened it, NATS user ``owner`` (under its inbox: only that user subscribes to
        it): ``logs``, a followed log; ``exec``, an exec's output and its calls for input."""
        if op not in STREAM_OPS:
            raise ValueError(f"no stream of {op!r}: one of {', '.join(STREAM_OPS)}")
        return f"{self.inbox(owner)}.{op}.{_token(stream_id, 'stream id')}"

    def stream_op(self, subject: str) -> str | None:
        """The op of a stream's subject ``<prefix>.inbox.<owner>.<op>.<id>`` (one token
        each); None when ``subject`` is not one."""
        head = f"{self.inbox_prefix}."
        parts = subject[len(head):].split(".")
        try:
            return parts[1] if subject.startswith(head) and len(parts) == 3 and \
                self.stream(parts[0], parts[2], parts[1]) == subject else None
        except ValueError:
            return None

    def stream_owner(self, subject: str) -> str | None:
        """The owner token of a stream's subject; None when it is not one."""
        return self.inbox_owner(subject) if self.stream_op(subject) else None

    def streams(self, op: str) -> str:
        """Every stream of ``op``, whoever opened it (where kubelets may publish)."""
        return f"{self.inbox_prefix}.*.{op}.*"
