"""What the locked-down bus costs: request/reply through a nats-server with kubeactor's users
and permissions (bus/permissions.py) against the same on an open one, in the same run.

    .venv/bin/python benchmarks/bus_permissions.py [--requests N] [--concurrency C]

A client (NATS password user ``anonymous``, of the client role) sends API-subject requests
that a responder of the ``apiserver`` role answers (so the server checks the client's publish
permission, the responder's subscription and its reply through ``allow_responses``), then a
kubelet's ``system:node:n1`` answers the apiserver's calls. Prints a table, then one JSON line
with the throughputs and their ratios to the open server's (these machines are shared and
noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import nats

from bus import NatsServer
from bus.permissions import APISERVER, authorization
from bus.subjects import ANONYMOUS, Subjects

SUBJECTS = Subjects()
PASSWORDS = {ANONYMOUS: "a", APISERVER: "s", "system:node:n1": "n"}
CASES = {"request": (ANONYMOUS, APISERVER, SUBJECTS.api("", "configmaps", "get")),
         "node call": (APISERVER, "system:node:n1", SUBJECTS.node("n1", "logs"))}


async def throughput(server: NatsServer, caller: str, callee: str, subject: str, total: int,
                     concurrency: int) -> float:
    """Requests per second of ``total`` requests on ``subject`` by ``concurrency`` workers."""
    def connect(user: str) -> asyncio.Future[nats.NATS]:
        return asyncio.ensure_future(nats.connect(
            server.url, user=user, password=PASSWORDS[user],
            inbox_prefix=SUBJECTS.inbox(user).encode()))

    responder, requester = await connect(callee), await connect(caller)

    async def answer(msg) -> None:
        await msg.respond(msg.data)

    await responder.subscribe(subject, cb=answer)
    await responder.flush()
    for _ in range(100):  # warm up, and wait until the subscription serves
        try:
            await requester.request(subject, b"x" * 200, timeout=1)
        except nats.errors.NoRespondersError:
            await requester.flush()
    counter = iter(range(total))

    async def worker() -> None:
        for _ in counter:
            await requester.request(subject, b"x" * 200, timeout=10)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    await requester.close()
    await responder.close()
    return total / elapsed


async def run(total: int, concurrency: int, workdir: Path) -> dict[str, float]:
    result: dict[str, float] = {}
    with NatsServer(workdir / "open") as open_server, \
            NatsServer(workdir / "locked",
                       authorization=authorization(PASSWORDS, SUBJECTS)) as locked:
        for case, (caller, callee, subject) in CASES.items():
            rates = {"open": 0.0, "locked": 0.0}
            for _round in range(2):  # alternate, so that noise hits both alike; keep the best
                for label, server in (("open", open_server), ("locked", locked)):
                    rates[label] = max(rates[label], await throughput(
                        server, caller, callee, subject, total, concurrency))
            ratio = rates["locked"] / rates["open"]
            print(f"{case:<10} open {rates['open']:>9.0f}/s  locked {rates['locked']:>9.0f}/s"
                  f"  ratio {ratio:.3f}", flush=True)
            key = case.replace(" ", "_")
            result.update({f"{key}_open_per_s": round(rates["open"]),
                           f"{key}_locked_per_s": round(rates["locked"]),
                           f"{key}_locked_ratio": round(ratio, 3)})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        result = asyncio.run(run(args.requests, args.concurrency, Path(workdir)))
    print(json.dumps({"benchmark": "bus_permissions", "requests": args.requests,
                      "concurrency": args.concurrency, **result}))


if __name__ == "__main__":
    main()
