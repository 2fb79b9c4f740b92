"""The seed's 8-step pod creation sequence, observed on the bus by a plain nats-py subscriber
decoding msgpack (no kubeactor code on the listening side)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import msgpack
import nats
import pytest

from bindings import kubeconfig
from bus.config import tls_options
from tests.e2e.conftest import IMAGE
from tests.processes import UpProcess

pytestmark = pytest.mark.e2e

Message = tuple[str, dict[str, Any]]


def step(subject_part: str, **fields: Any) -> Callable[[Message], bool]:
    """Matches a message on a subject containing ``subject_part`` whose envelope has ``fields``
    (wire keys; ``sender``/``target`` stand for ``from``/``to``)."""
    fields = {{"sender": "from", "target": "to"}.get(k, k): v for k, v in fields.items()}

    def matches(message: Message) -> bool:
        subject, envelope = message
        return subject_part in subject and all(envelope.get(k) == v for k, v in fields.items())

    return matches


def body_has(**fields: Any) -> Callable[[Message], bool]:
    return lambda message: all(
        (message[1].get("body") or {}).get(k) == v for k, v in fields.items())


def both(*checks: Callable[[Message], bool]) -> Callable[[Message], bool]:
    return lambda message: all(check(message) for check in checks)


SEED_STEPS = [
    # the admin's requests travel on its lane (docs/DESIGN.md, "Priority lanes")
    ("1 kubectl writes to the API server", step(".exempt.core.pods.create", sender="cli")),
    ("2 API server writes it to etcd", both(step(".trace.store", resource="pods"),
                                            body_has(requestVerb="create"))),
    ("3 API server invokes the scheduler", both(step(".watch.", target="scheduler"),
                                                body_has(type="ADDED"))),
    ("4 scheduler binds through the API server", step(".api.core.pods/binding.create",
                                                      sender="scheduler")),
    ("5 API server invokes the kubelet", step(".watch.", target="kubelet-node-1")),
    ("6 kubelet creates the container", step(".trace.kubelet", verb="start")),
    ("7 kubelet updates the pod status", step(".api.core.pods/status.update",
                                              sender="kubelet-node-1")),
    ("8 API server writes the status to etcd", step(".trace.store", resource="pods",
                                                    sub="status")),
]


def first_in_order(messages: list[Message]) -> list[int]:
    """Index of each seed step's first message after the previous step's."""
    found, at = [], -1
    for _, matches in SEED_STEPS:
        at = next((i for i in range(at + 1, len(messages)) if matches(messages[i])), -1)
        if at < 0:
            break
        found.append(at)
    return found


async def test_one_run_shows_the_seeds_eight_steps_in_order(cluster: UpProcess):
    config = kubeconfig.load(cluster.kubeconfig)
    nc = await nats.connect(config.server, user=config.nats_user,  # the admin sees all
                            password=config.nats_password, **tls_options(config.server, config.ca))
    messages: list[Message] = []
    trace: dict[str, str] = {}
    complete = asyncio.Event()

    async def record(msg) -> None:
        envelope = msgpack.unpackb(msg.data, raw=False)
        created = step(".exempt.core.pods.create", name="traced")
        if "id" not in trace and created((msg.subject, envelope)):
            trace["id"] = envelope["trace"]
        if trace and envelope.get("trace") == trace["id"]:
            messages.append((msg.subject, envelope))
            if len(first_in_order(messages)) == len(SEED_STEPS):
                complete.set()

    await nc.subscribe(f"{config.prefix}.>", cb=record)
    await nc.flush()
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
        "run", "traced", "--image", IMAGE, "--", "sleep", "3600")
    assert await asyncio.wait_for(run.wait(), 60) == 0
    try:
        await asyncio.wait_for(complete.wait(), 60)
    except TimeoutError:
        seen = [(s, e.get("from"), e.get("to"), e.get("verb")) for s, e in messages]
        steps = [name for name, _ in SEED_STEPS[:len(first_in_order(messages))]]
        raise AssertionError(f"steps seen in order: {steps}; messages: {seen}") from None
    finally:
        await nc.close()
    order = first_in_order(messages)
    assert order == sorted(order) and len(order) == 8
    # Credentials travel only in requests to the apiserver (on the shared lane, or the
    # admin's), never in replies, events or spans. (Requests themselves are readable by anyone
    # on the bus until it is locked down.)
    assert {subject.split(".")[1] for subject, envelope in messages if "auth" in envelope} == {
        "api", "exempt"}
    cluster.cli("delete", "pod", "traced", "--grace-period", "0")
