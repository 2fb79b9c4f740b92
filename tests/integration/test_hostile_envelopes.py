"""Ten thousand malformed or hostile messages at the apiserver, over a real nats-server.

Each must get a 4xx reply (and never a 5xx, a timeout or a crash); valid requests sent in
between keep succeeding; no stored object changes. The messages are generated from a seeded
random source, so a failure names the seed and the kind of message that caused it.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack
import nats
import nats.errors
import pytest
from cryptography import x509

from actors import certs
from actors.client import Client
from actors.credentials import CertificateCredentials
from bindings.cluster import Cluster
from bus import decode
from bus.subjects import Subjects
from tests.conftest import NOBODY_TOKEN

pytestmark = pytest.mark.integration

MESSAGES = 10_000
BATCH = 100
SEED = int(os.environ.get("HOSTILE_SEED", "20261126"))
SERVED = re.compile(r"^kubeactor\.(api\.[^.]+\.[^.]+\.(get|list|watch|create|update|delete)|"
                    r"authn\.hello)$")
"""The request subjects apiservers answer; a request elsewhere has no responders."""
WATCHED = ("namespaces", "pods", "configmaps", "events", "nodes", "roles", "rolebindings",
           "clusterroles", "clusterrolebindings")

Message = tuple[str, bytes]


class Hostile:
    """Generators of bad messages; each returns (subject, bytes)."""

    def __init__(self, rng: random.Random, admin: str, good: CertificateCredentials,
                 ca_key: certs.PrivateKey, prefix: str = "kubeactor") -> None:
        self.rng, self.admin, self.prefix = rng, admin, prefix
        self.good, self.ca_key = good, ca_key
        self.replayed_hello = certs.hello(good.cert, good.key)[0]

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

    def pack(self, wire: Any) -> bytes:
        return msgpack.packb(wire, use_bin_type=True)

    # -- the kinds ---------------------------------------------------------------------------

    def random_bytes(self) -> Message:
        return self.subject(), self.rng.randbytes(self.rng.randrange(0, 300))

    def not_a_map(self) -> Message:
        return self.subject(), self.pack(self.rng.choice([1, "x", [1, 2], None, True, 2.5,
                                                          b"bin", []]))

    def bad_version(self) -> Message:
        return self.subject(), self.pack(self.envelope(v=self.rng.choice(
            ["1", 2, 99, 0, -1, None, 1.0, [1], DROP])))

    def bad_id(self) -> Message:
        return self.subject(), self.pack(self.envelope(id=self.rng.choice([None, 7, [], {}, DROP])))

    def wrong_types(self) -> Message:
        key = self.rng.choice(["verb", "resource", "ns", "name", "opts", "auth", "trace",
                               "span", "parent", "from", "to", "group", "sub", "ts", "status"])
        wrong = {"opts": MAPS_WRONG, "auth": MAPS_WRONG, "status": MAPS_WRONG,
                 "ts": ["soon", [1], {"a": 1}, True, b"\x00"]}.get(key, STRINGS_WRONG)
        return self.subject(), self.pack(self.envelope(**{key: self.rng.choice(wrong)}))

    def bad_subject(self) -> Message:
        subject = self.rng.choice([
            self.subject(verb="frobnicate"), self.subject(resource="widgets"),
            self.subject(group="nope"), self.subject(verb="create") + ".extra",
            self.subject(resource="pods/nope"), self.subject(resource="pods/log", verb="delete"),
            self.subject(resource="nodes/binding"), f"{self.prefix}.api.core",
        ])
        return subject, self.pack(self.envelope())

    def contradiction(self) -> Message:
        return self.subject(verb="get"), self.pack(self.envelope(verb="delete"))

    def deep_nesting(self) -> Message:
        body: Any = "bottom"
        for _ in range(self.rng.randrange(70, 200)):
            body = {"x": body} if self.rng.random() < 0.5 else [body]
        spoiled = self.envelope()
        spoiled["body"]["metadata"]["annotations"] = {"deep": body}
        return self.subject(), self.pack(spoiled)

    def bad_auth(self) -> Message:
        auth = self.rng.choice([DROP, None, {}, {"token": 123}, {"token": "not-a-token"},
                                {"token": ""}, {"ticket": b"garbage", "mac": b"x"},
                                {"token": self.admin + "x"}, "token-as-string"])
        return self.subject(), self.pack(self.envelope(auth=auth))

    def forbidden(self) -> Message:
        return self.subject(), self.pack(self.envelope(auth={"token": NOBODY_TOKEN}))

    def invalid_object(self) -> Message:
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
        return self.subject(), self.pack(self.envelope(body=body, name=DROP))

    def bad_options(self) -> Message:
        verb, opts = self.rng.choice([
            ("list", {"limit": "x"}), ("list", {"limit": -5}), ("list", {"continue": "garbage"}),
            ("list", {"resourceVersion": "abc"}), ("list", {"labelSelector": "a in ("}),
            ("list", {"fieldSelector": "spec.unknown=1"}), ("list", {"labelSelector": 5}),
            ("watch", {"watchId": "../../etc"}), ("watch", {"watchId": "w", "leaseSeconds": -1}),
            ("get", {"resourceVersion": "abc"}),
            ("delete", {"gracePeriodSeconds": "soon"}), ("delete", {"gracePeriodSeconds": -3}),
        ])
        name = None if verb in ("list", "watch") else "missing"
        return self.subject(verb=verb), self.pack(self.envelope(verb=verb, opts=opts,
                                                                name=name, body=DROP))

    def missing_target(self) -> Message:
        verb = self.rng.choice(["update", "delete", "get"])
        return self.subject(verb=verb), self.pack(self.envelope(
            verb=verb, name=f"absent-{self.rng.randrange(1000)}",
            body=DROP if verb != "update" else {"metadata": {"name": "other-name"}}))

    def bad_strings(self) -> Message:
        wire = self.pack(self.envelope(name="PLACEHOLDER"))
        return self.subject(), wire.replace(b"\xabPLACEHOLDER", b"\xab\xff\xfe\xfd" + b"A" * 8)

    def bad_hello(self) -> Message:
        """A certificate handshake that must fail: forged, foreign, out of date, stale,
        replayed or malformed."""
        good = self.good
        foreign_key, foreign_ca = certs.new_ca()
        foreign = certs.issue(foreign_key, foreign_ca, good.key.public_key(),
                              certs.Identity("admin", ("system:masters",)))
        expired = (x509.CertificateBuilder().subject_name(good.cert.subject)
                   .issuer_name(good.ca.subject).public_key(good.key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(datetime.now(UTC) - timedelta(days=9))
                   .not_valid_after(datetime.now(UTC) - timedelta(days=1))
                   .sign(self.ca_key, None))
        body = self.rng.choice([
            lambda: certs.hello(good.cert, certs.new_key())[0],
            lambda: certs.hello(foreign, good.key)[0],
            lambda: certs.hello(expired, good.key)[0],
            lambda: certs.hello(good.cert, good.key, now=time.time() - 3600)[0],
            lambda: self.replayed_hello,
            lambda: dict(certs.hello(good.cert, good.key)[0], eph=b"short"),
            lambda: {"cert": "text"}, lambda: "hello",
        ])()
        return f"{self.prefix}.authn.hello", self.pack({"v": 1, "id": "h", "body": body})

    def kinds(self) -> list[Callable[[], Message]]:
        return [self.random_bytes, self.not_a_map, self.bad_version, self.bad_id,
                self.wrong_types, self.bad_subject, self.contradiction, self.deep_nesting,
                self.bad_auth, self.forbidden, self.invalid_object, self.bad_options,
                self.missing_target, self.bad_strings, self.bad_hello]


STRINGS_WRONG = [7, [1], {"a": 1}, True, 1.5, b"\x00bytes"]
MAPS_WRONG = [7, [1], "str", True, 1.5, b"\x00bytes"]
DROP = object()
"""A field value meaning: leave the field out."""


def snapshot(admin: Client) -> dict[str, list[tuple[str, str]]]:
    """Every stored object (but leases, which heartbeats renew) by name and resourceVersion."""
    return {resource: sorted((f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}",
                              o["metadata"]["resourceVersion"])
                             for o in admin.list(resource)["items"]) for resource in WATCHED}


async def test_ten_thousand_hostile_messages_get_4xx_and_change_nothing(control_plane: Cluster):
    admin = control_plane.admin_client()
    before = snapshot(admin)
    rng = random.Random(SEED)
    nc = await nats.connect(control_plane.url, user="nobody", password=NOBODY_TOKEN,
                            inbox_prefix=Subjects().inbox("nobody").encode())
    good = control_plane.credentials("admin", "system:masters")
    assert control_plane._pki is not None
    hostile = Hostile(rng, control_plane.token("admin"), good, control_plane._pki.ca_key)
    replayed = await nc.request(f"{hostile.prefix}.authn.hello", hostile.pack(
        {"v": 1, "id": "first", "body": hostile.replayed_hello}), timeout=30)
    assert (decode(replayed.data).status or {}).get("code") == 200  # so later copies replay
    kinds = hostile.kinds()
    codes: Counter[tuple[str, int]] = Counter()
    try:
        for _ in range(MESSAGES // BATCH):
            batch = [rng.choice(kinds) for _kind in range(BATCH)]
            sent = [(kind.__name__, *kind()) for kind in batch]
            replies = await asyncio.gather(*(nc.request(subject, data, timeout=30)
                                             for _, subject, data in sent),
                                           return_exceptions=True)
            for (kind, subject, _), reply in zip(sent, replies, strict=True):
                if isinstance(reply, nats.errors.NoRespondersError):
                    # No apiserver serves this subject (no such verb): the bus says so
                    # at once and nothing saw the message.
                    assert not SERVED.match(subject), f"seed {SEED}: {subject} went unserved"
                    codes[kind, 0] += 1
                    continue
                assert not isinstance(reply, BaseException), f"seed {SEED}: {kind}: {reply!r}"
                status = decode(reply.data).status or {}
                code = int(status.get("code", 200))
                codes[kind, code] += 1
                assert 400 <= code < 500, (
                    f"seed {SEED}: {kind} on {subject} got {code}: {status.get('message')}")
            valid = await nc.request(hostile.subject(verb="get", resource="namespaces"),
                                     hostile.pack(hostile.envelope(
                                         verb="get", resource="namespaces", ns=DROP,
                                         name="default", body=DROP)), timeout=30)
            assert (decode(valid.data).status or {}).get("code") == 200
        for oversize in range(3):  # a few near the bus's payload limit
            body = {"metadata": {"name": f"big-{oversize}"}, "data": {"x": "y" * 900_000}}
            reply = await nc.request(hostile.subject(resource="configmaps"), hostile.pack(
                hostile.envelope(resource="configmaps", body=body, name=DROP)), timeout=30)
            assert (decode(reply.data).status or {}).get("code") == 413
    finally:
        await nc.close()
    assert {kind.__name__ for kind in kinds} == {kind for kind, _ in codes}
    assert snapshot(admin) == before
