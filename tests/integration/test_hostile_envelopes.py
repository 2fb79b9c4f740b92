"""Ten thousand malformed or hostile messages at the apiserver, over a real nats-server.

The cluster runs without scheduler and controllers, so nothing but the test writes. Each hostile
message must get a 4xx reply (never a 2xx, a 5xx, a timeout or no responders), but a replayed
request none at all, and leave exactly one audit record; valid requests sent in between (token
reads, and creates and deletes of a certificate session) keep succeeding; the store's revision
moves by those valid writes and by nothing else. The messages are generated from a seeded
random source, so a failure names the seed and the kind of message that caused it.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import random
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import msgpack
import nats
import pytest
from cryptography import x509
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from actors.api import certs
from actors.client.credentials import CertificateCredentials
from bindings.cluster import Cluster
from bus import Envelope, decode
from bus.config import tls_options
from bus.envelope import MAC_HEADER, mac
from bus.subjects import Subjects
from tests.conftest import NOBODY_TOKEN

pytestmark = pytest.mark.integration

MESSAGES = 10_000
OWN_COMPONENT = re.compile(r'"user":\{"username":"system:')
"""An audit record of the cluster's own components (a controller renewing its watch every
20 s): not of the storm's messages, which come from the admin, a user or nobody."""
BATCH = 100
REPLAYED_WITHIN = 15.0
"""Seconds after its original a replay is sent: inside the server's 30 s window, where only its
nonce tells it from the original (later, its timestamp alone gets it a 401, answered)."""
SEED = int(os.environ.get("HOSTILE_SEED", "20261126"))
VALID_NS = "valid-writes"
"""Where the valid writes between the batches go."""
UNAUTHORIZED = {401}
UNANSWERED: set[int] = {0}
"""Audited, never answered: a replayed request (its reply subject is its original sender's,
who has the original's answer)."""


@pytest.fixture
def with_controllers() -> bool:
    """Nothing but the test writes: the store's revision is the test's to account for."""
    return False


class Sent(NamedTuple):
    subject: str
    data: bytes
    headers: dict[str, str] | None = None
    reply: str | None = None
    """Its reply subject (a MAC covers it); None: a new one in the admin's inbox."""


ADMIN_INBOX = Subjects().inbox("admin")
STORM_INBOXES = (ADMIN_INBOX, Subjects().inbox("nobody"))
"""Every reply subject the storm names is in one of these."""
_replies = itertools.count()


def reply_in(inbox: str = ADMIN_INBOX) -> str:
    """A new reply subject in ``inbox``: the sender's own, so that the apiserver answers."""
    return f"{inbox}.hostile.{next(_replies)}"


@dataclass
class Session:
    """A certificate session opened with a raw handshake: what a client would keep."""

    ticket: bytes
    key: bytes
    used: list[tuple[float, Sent]] = field(default_factory=list)
    """Valid session requests already answered, for replays, with when they were sent."""


def pack(wire: Any) -> bytes:
    return msgpack.packb(wire, use_bin_type=True)


def macked(subject: str, reply: str, data: bytes, key: bytes) -> dict[str, str]:
    return {MAC_HEADER: base64.b64encode(mac(key, subject, reply, data)).decode()}


class Hostile:
    """Generators of bad messages; each returns what to send."""

    def __init__(self, rng: random.Random, admin: str, good: CertificateCredentials,
                 ca_key: certs.PrivateKey, ticket_key: bytes, session: Session,
                 prefix: str = "kubeactor") -> None:
        self.rng, self.admin, self.prefix = rng, admin, prefix
        self.good, self.ca_key, self.ticket_key, self.session = good, ca_key, ticket_key, session
        self.replayed_hello = certs.hello(good.cert, good.key)[0]
        self.foreign_key, self.foreign_ca = certs.new_ca()

    def subject(self, group: str = "core", resource: str = "pods", verb: str = "create") -> str:
        return f"{self.prefix}.api.{group}.{resource}.{verb}"

    def envelope(self, **fields: Any) -> dict[str, Any]:
        """A well-formed create of a valid pod by the admin; generators spoil one part."""
        name = f"h{self.rng.randrange(10**9)}"
        wire = {"v": 1, "id": os.urandom(8).hex(), "verb": "create", "resource": "pods",
                "ns": "default", "name": name, "auth": {"token": self.admin},
                "body": {"metadata": {"name": name},
                         "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]}}}
        wire.update(fields)
        return {key: value for key, value in wire.items() if value is not DROP}

    def session_write(self, ticket: bytes | None = None, key: bytes | None = None,
                      ts: Any = None, nonce: bytes | None = None) -> Sent:
        """A create of a config map by the admin's session, which would be stored if the
        apiserver took it, MACed with ``key`` (the session's by default)."""
        subject = self.subject(resource="configmaps")
        name = f"s{self.rng.randrange(10**9)}"
        data = pack(self.envelope(
            resource="configmaps", ns=VALID_NS, name=name, body={"metadata": {"name": name}},
            auth={"ticket": ticket or self.session.ticket,
                  "ts": time.time() if ts is None else ts, "nonce": nonce or os.urandom(12)}))
        reply = reply_in()
        return Sent(subject, data, macked(subject, reply, data, key or self.session.key), reply)

    def sealed(self, ticket_key: bytes, expires: float, key: bytes) -> bytes:
        return certs.seal(certs.Session(certs.Identity("admin", ("system:masters",)), key,
                                        expires), ticket_key)

    # -- the kinds ---------------------------------------------------------------------------

    def random_bytes(self) -> Sent:
        return Sent(self.subject(), self.rng.randbytes(self.rng.randrange(0, 300)))

    def not_a_map(self) -> Sent:
        return Sent(self.subject(), pack(self.rng.choice([1, "x", [1, 2], None, True, 2.5,
                                                          b"bin", []])))

    def bad_version(self) -> Sent:
        return Sent(self.subject(), pack(self.envelope(v=self.rng.choice(
            ["1", 2, 99, 0, -1, None, 1.0, [1], DROP]))))

    def bad_id(self) -> Sent:
        return Sent(self.subject(), pack(self.envelope(id=self.rng.choice([None, 7, [], {},
                                                                           DROP]))))

    def missing_fields(self) -> Sent:
        gone = self.rng.sample(["v", "id", "auth", "body", "ns"], self.rng.randrange(1, 4))
        return Sent(self.subject(), pack(self.envelope(**dict.fromkeys(gone, DROP))))

    def wrong_types(self) -> Sent:
        key = self.rng.choice(["verb", "resource", "ns", "name", "opts", "auth", "trace",
                               "span", "parent", "from", "to", "group", "sub", "ts", "status"])
        wrong = {"opts": MAPS_WRONG, "auth": MAPS_WRONG, "status": MAPS_WRONG,
                 "ts": ["soon", [1], {"a": 1}, True, b"\x00"]}.get(key, STRINGS_WRONG)
        return Sent(self.subject(), pack(self.envelope(**{key: self.rng.choice(wrong)})))

    def bad_subject(self) -> Sent:
        """Unknown verbs, resources, groups, subresources; subjects of other shapes."""
        subject = self.rng.choice([
            self.subject(verb="frobnicate"), self.subject(verb="proxy"),
            self.subject(resource="widgets"), self.subject(group="nope"),
            self.subject(group="apps", resource="deployments", verb="escalate"),
            self.subject(verb="create") + ".extra", self.subject(verb="create") + ".a.b",
            self.subject(resource="pods/nope"), self.subject(resource="pods/log", verb="delete"),
            self.subject(resource="nodes/binding"), f"{self.prefix}.api.core",
            f"{self.prefix}.api.x",
        ])
        return Sent(subject, pack(self.envelope()))

    def contradiction(self) -> Sent:
        return Sent(self.subject(verb="get"), pack(self.envelope(verb="delete")))

    def deep_nesting(self) -> Sent:
        body: Any = "bottom"
        for _ in range(self.rng.randrange(70, 200)):
            body = {"x": body} if self.rng.random() < 0.5 else [body]
        spoiled = self.envelope()
        spoiled["body"]["metadata"]["annotations"] = {"deep": body}
        return Sent(self.subject(), pack(spoiled))

    def bad_auth(self) -> Sent:
        auth = self.rng.choice([DROP, None, {}, {"token": 123}, {"token": "not-a-token"},
                                {"token": ""}, {"ticket": b"garbage", "mac": b"x"},
                                {"token": self.admin + "x"}, "token-as-string"])
        return Sent(self.subject(), pack(self.envelope(auth=auth)))

    def forbidden(self) -> Sent:
        return Sent(self.subject(), pack(self.envelope(auth={"token": NOBODY_TOKEN})),
                    reply=reply_in(Subjects().inbox("nobody")))

    def invalid_object(self) -> Sent:
        body = self.rng.choice([
            {"metadata": {"name": "UPPER"}, "spec": {"containers": [{"name": "c",
                                                                     "image": "i"}]}},
            {"metadata": {"name": "nocontainers"}, "spec": {"containers": []}},
            {"metadata": {"name": "l", "labels": {"a": 1}}, "spec": {}},
            {"metadata": []}, "a string", [1, 2, 3], None,
            {"metadata": {"name": "x", "namespace": "other"}, "spec": {"containers": []}},
            {"metadata": {"name": "n"}, "spec": {"containers": [{"name": "c", "image": "i",
                                                                 "resources": {"requests": {
                                                                     "cpu": "lots"}}}]}},
            {"metadata": {"name": "k"}, 1: "non-string key"},
            {"metadata": {"name": "f", "annotations": {"x": float("nan")}}},
        ])
        return Sent(self.subject(), pack(self.envelope(body=body, name=DROP)))

    def bad_options(self) -> Sent:
        verb, opts = self.rng.choice([
            ("list", {"limit": "x"}), ("list", {"limit": -5}), ("list", {"continue": "garbage"}),
            ("list", {"resourceVersion": "abc"}), ("list", {"labelSelector": "a in ("}),
            ("list", {"fieldSelector": "spec.unknown=1"}), ("list", {"labelSelector": 5}),
            ("watch", {"watchId": "../../etc"}), ("watch", {"watchId": "w", "leaseSeconds": -1}),
            ("get", {"resourceVersion": "abc"}),
            ("delete", {"gracePeriodSeconds": "soon"}), ("delete", {"gracePeriodSeconds": -3}),
        ])
        name = None if verb in ("list", "watch") else "missing"
        return Sent(self.subject(verb=verb), pack(self.envelope(verb=verb, opts=opts,
                                                                name=name, body=DROP)))

    def missing_target(self) -> Sent:
        verb = self.rng.choice(["update", "delete", "get"])
        return Sent(self.subject(verb=verb), pack(self.envelope(
            verb=verb, name=f"absent-{self.rng.randrange(1000)}",
            body=DROP if verb != "update" else {"metadata": {"name": "other-name"}})))

    def bad_strings(self) -> Sent:
        wire = pack(self.envelope(name="PLACEHOLDER"))
        return Sent(self.subject(), wire.replace(b"\xabPLACEHOLDER",
                                                 b"\xab\xff\xfe\xfd" + b"A" * 8))

    def forged_mac(self) -> Sent:
        """The session's real ticket, fresh, with a MAC its holder did not make."""
        write = self.session_write()
        forged = self.rng.choice([
            lambda: {MAC_HEADER: base64.b64encode(self.rng.randbytes(32)).decode()},
            lambda: macked(write.subject, str(write.reply), write.data, os.urandom(32)),
            lambda: macked(self.subject(resource="configmaps", verb="delete"),
                           str(write.reply), write.data, self.session.key),
            lambda: macked(write.subject, reply_in(), write.data, self.session.key),
            lambda: macked(write.subject, str(write.reply), write.data + b"\x00",
                           self.session.key),
            lambda: {MAC_HEADER: "not base64!"}, lambda: {},
        ])()
        return write._replace(headers=forged)

    def replayed_request(self) -> Sent:
        """A valid session create sent again, byte for byte (its object was deleted since:
        taken again, it would be stored again)."""
        fresh = [sent for at, sent in self.session.used if time.time() - at < REPLAYED_WITHIN]
        return self.rng.choice(fresh or [self.session.used[-1][1]])

    def skewed_timestamp(self) -> Sent:
        skew = self.rng.choice([-1, 1]) * self.rng.uniform(120, 10**7)
        return self.session_write(ts=time.time() + skew)

    def foreign_ticket(self) -> Sent:
        """A ticket sealed with another cluster's ticket key, a ticket of this cluster's
        that expired, or no ticket at all; each MACed with the key it claims."""
        key, now = os.urandom(32), time.time()
        ticket = self.rng.choice([
            lambda: self.sealed(os.urandom(32), now + 3600, key),
            lambda: self.sealed(self.ticket_key, now - self.rng.uniform(1, 10**6), key),
            lambda: self.rng.randbytes(self.rng.randrange(1, 200)),
        ])()
        return self.session_write(ticket=ticket, key=key)

    def bad_hello(self) -> Sent:
        """A certificate handshake that must fail: forged, foreign, out of date, stale,
        replayed or malformed."""
        good = self.good
        foreign = certs.issue(self.foreign_key, self.foreign_ca, good.key.public_key(),
                              certs.Identity("admin", ("system:masters",)))
        body = self.rng.choice([
            lambda: certs.hello(good.cert, certs.new_key())[0],
            lambda: certs.hello(foreign, good.key)[0],
            lambda: certs.hello(self.dated(-9, -1), good.key)[0],
            lambda: certs.hello(self.dated(1, 9), good.key)[0],
            lambda: certs.hello(good.cert, good.key, now=time.time() - 3600)[0],
            lambda: self.replayed_hello,
            lambda: dict(certs.hello(good.cert, good.key)[0], eph=b"short"),
            lambda: {"cert": "text"}, lambda: "hello",
        ])()
        return Sent(f"{self.prefix}.authn.hello", pack({"v": 1, "id": "h", "body": body}))

    def dated(self, since_days: int, until_days: int) -> x509.Certificate:
        """The admin's certificate from the cluster's CA, valid between these days from now
        (an expired or a not yet valid one)."""
        now = datetime.now(UTC)
        return (x509.CertificateBuilder().subject_name(self.good.cert.subject)
                .issuer_name(self.good.ca.subject).public_key(self.good.key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now + timedelta(days=since_days))
                .not_valid_after(now + timedelta(days=until_days))
                .sign(self.ca_key, None))

    def kinds(self) -> dict[Callable[[], Sent], set[int] | None]:
        """Each kind with the codes it may get (None: any 4xx)."""
        return {self.random_bytes: {400}, self.not_a_map: {400}, self.bad_version: {400},
                self.bad_id: {400}, self.missing_fields: None, self.wrong_types: None,
                self.bad_subject: {404, 405}, self.contradiction: {400},
                self.deep_nesting: None, self.bad_auth: {400, 401}, self.forbidden: {403},
                self.invalid_object: None, self.bad_options: None, self.missing_target: None,
                self.bad_strings: {400}, self.forged_mac: UNAUTHORIZED,
                self.replayed_request: UNANSWERED, self.skewed_timestamp: UNAUTHORIZED,
                self.foreign_ticket: UNAUTHORIZED, self.bad_hello: UNAUTHORIZED}


STRINGS_WRONG = [7, [1], {"a": 1}, True, 1.5, b"\x00bytes"]
MAPS_WRONG = [7, [1], "str", True, 1.5, b"\x00bytes"]
DROP = object()
"""A field value meaning: leave the field out."""


class Asker:
    """Requests over one raw connection of the bus admin, counted (each must leave one audit
    record). Each is answered in the inbox its reply subject names (the admin reads them
    all): the apiserver answers only into an inbox of the request's sender."""

    def __init__(self, nc: NatsClient, audit: Path) -> None:
        self.nc, self.audit, self.sent, self.unasked = nc, audit, 0, 0
        self.waiting: dict[str, deque[asyncio.Future[bytes]]] = defaultdict(deque)
        """Futures by reply subject, oldest first (a replay reuses its original's)."""

    async def start(self) -> None:
        async def on_reply(msg: Msg) -> None:
            waiting = self.waiting.get(msg.subject)
            if waiting:
                waiting.popleft().set_result(msg.data)
            else:  # an answer nobody waits for (an unanswered kind's)
                self.unasked += 1

        for inbox in STORM_INBOXES:  # not the components' (their watch renewals' answers)
            await self.nc.subscribe(f"{inbox}.>", cb=on_reply)
        await self.nc.flush()

    async def tell(self, sent: Sent) -> None:
        """Send what must not be answered (an answer counts in ``unasked``)."""
        self.sent += 1
        await self.nc.publish(sent.subject, sent.data, reply=sent.reply or reply_in(),
                              headers=sent.headers)

    async def ask(self, sent: Sent) -> Envelope:
        self.sent += 1
        reply = sent.reply or reply_in()
        answered = asyncio.get_running_loop().create_future()
        self.waiting[reply].append(answered)
        await self.nc.publish(sent.subject, sent.data, reply=reply, headers=sent.headers)
        return decode(await asyncio.wait_for(answered, 30))

    async def audited(self, token: str, trace: str) -> int:
        """Audit lines once a request with trace id ``trace`` is recorded: the records of
        every request answered before it are written by then (one writer, in order)."""
        await self.ask(Sent("kubeactor.api.core.namespaces.get", pack(
            {"v": 1, "id": trace, "trace": trace, "name": "default", "auth": {"token": token}})))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = [line for line in self.audit.read_text().splitlines()
                     if not OWN_COMPONENT.search(line)]
            if any(f'"kubeactor.io/trace-id":"{trace}"' in line for line in lines):
                return len(lines)
            await asyncio.sleep(0.05)
        raise AssertionError(f"the audit record of {trace} was never written")


def code_of(reply: Envelope) -> int:
    return int((reply.status or {}).get("code", 200))


async def open_session(asker: Asker, good: CertificateCredentials) -> Session:
    hello, pending = certs.hello(good.cert, good.key)
    reply = await asker.ask(Sent("kubeactor.authn.hello", pack({"v": 1, "id": "s",
                                                                "body": hello})))
    ticket, key, _ = certs.finish(reply.raise_for_status().body, pending, good.ca, time.time())
    return Session(ticket, key)


async def valid_round(asker: Asker, hostile: Hostile, token: str, round_: int) -> None:
    """A token read, then a create and a delete by the certificate session (two writes)."""
    read = await asker.ask(Sent(hostile.subject(verb="get", resource="namespaces"), pack(
        hostile.envelope(verb="get", resource="namespaces", ns=DROP, name="default",
                         body=DROP, auth={"token": token}))))
    assert code_of(read) == 200, read.status
    create, sent_at = hostile.session_write(), time.time()
    created = await asker.ask(create)
    assert code_of(created) == 201, (round_, created.status)
    name = created.body["metadata"]["name"]
    subject = hostile.subject(resource="configmaps", verb="delete")
    data = pack(hostile.envelope(verb="delete", resource="configmaps", ns=VALID_NS, name=name,
                                 body=DROP, auth={"ticket": hostile.session.ticket,
                                                  "ts": time.time(), "nonce": os.urandom(12)}))
    reply = reply_in()
    deleted = await asker.ask(Sent(subject, data, macked(subject, reply, data,
                                                         hostile.session.key), reply))
    assert code_of(deleted) == 200, (round_, deleted.status)
    hostile.session.used.append((sent_at, create))


async def store_revision(asker: Asker, token: str) -> int:
    """The store's revision: a list's resourceVersion (etcd's header revision)."""
    listed = await asker.ask(Sent("kubeactor.api.core.namespaces.list", pack(
        {"v": 1, "id": "rv", "auth": {"token": token}})))
    return int(listed.raise_for_status().body["metadata"]["resourceVersion"])


async def test_ten_thousand_hostile_messages_get_4xx_and_change_nothing(control_plane: Cluster):
    rng = random.Random(SEED)
    token = control_plane.token("admin")
    nc = await nats.connect(control_plane.url, user="admin",
                            password=control_plane._passwords["admin"],
                            **tls_options(control_plane.url, control_plane.bus_ca))
    asker = Asker(nc, control_plane.config.data_dir / "audit.log")
    try:
        await asker.start()
        made = await asker.ask(Sent("kubeactor.api.core.namespaces.create", pack(
            {"v": 1, "id": "ns", "auth": {"token": token},
             "body": {"metadata": {"name": VALID_NS}}})))
        assert code_of(made) == 201, made.status
        good = control_plane.credentials("admin", "system:masters")
        assert control_plane._pki is not None
        session = await open_session(asker, good)
        hostile = Hostile(rng, token, good, control_plane._pki.ca_key,
                          control_plane._pki.ticket_key, session)
        first = await asker.ask(Sent("kubeactor.authn.hello", pack(
            {"v": 1, "id": "first", "body": hostile.replayed_hello})))
        assert code_of(first) == 200  # so that later copies replay it
        await valid_round(asker, hostile, token, -1)  # a request to replay from the start
        revision = await store_revision(asker, token)
        lines = await asker.audited(token, "before-the-storm")
        asker.sent, writes = 0, 0
        kinds = hostile.kinds()
        codes: Counter[tuple[str, int]] = Counter()
        for round_ in range(MESSAGES // BATCH):
            batch = [rng.choice(list(kinds)) for _ in range(BATCH)]
            sent = [(kind, kind()) for kind in batch]
            replies = await asyncio.gather(
                *(asker.tell(message) if kinds[kind] is UNANSWERED else asker.ask(message)
                  for kind, message in sent), return_exceptions=True)
            for (kind, message), reply in zip(sent, replies, strict=True):
                name = kind.__name__
                if kinds[kind] is UNANSWERED:
                    codes[name, 0] += 1
                    continue
                assert isinstance(reply, Envelope), (
                    f"seed {SEED}: {name} on {message.subject}: {reply!r}")
                code = code_of(reply)
                codes[name, code] += 1
                if code == 429:  # flow control pacing the flood (unverified claims: one sender)
                    continue
                assert 400 <= code < 500 and code in (kinds[kind] or {code}), (
                    f"seed {SEED}: {name} on {message.subject} got {code}: "
                    f"{(reply.status or {}).get('message')}")
            await valid_round(asker, hostile, token, round_)
            writes += 2
        for oversize in range(3):  # a few near the bus's payload limit
            body = {"metadata": {"name": f"big-{oversize}"}, "data": {"x": "y" * 900_000}}
            reply = await asker.ask(Sent(hostile.subject(resource="configmaps"), pack(
                hostile.envelope(resource="configmaps", body=body, name=DROP))))
            assert code_of(reply) == 413
        assert await store_revision(asker, token) == revision + writes
        sent = asker.sent
        assert await asker.audited(token, "after-the-storm") == lines + sent + 1
        assert asker.unasked == 0  # no replay was answered, not even by flow control's 429
    finally:
        await nc.close()
    assert {kind.__name__ for kind in kinds} == {kind for kind, _ in codes}
    paced = sum(n for (_, code), n in codes.items() if code == 429)
    assert paced < MESSAGES // 10, f"{paced} of {MESSAGES} refused by flow control alone"
