"""API throughput against a raw NATS request/reply baseline, measured in the same run.

    .venv/bin/python benchmarks/api_throughput.py [--requests N] [--concurrency C]
                                                  [--store sqlite|jetstream]

Starts one nats-server, an echo responder process (the baseline: raw nats-py request/reply)
and a ``kubeactor up --nodes 0`` process (store, apiserver, scheduler), then measures, from
this process with raw nats-py clients, echo, ``create configmaps`` and ``get configmaps``
through the full pipeline (token authentication, RBAC, admission, the durable store: SQLite,
or JetStream KV on the same nats-server with ``--store jetstream``):
sequentially and with C concurrent clients. Prints a table, then one JSON line whose
throughputs are also given as ratios to the echo baseline (these machines are shared and
noisy; only ratios compare across runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats

from bindings import kubeconfig
from bus import Envelope, NatsServer, Subjects, encode, new_id

ECHO = """
import asyncio, sys, nats
async def main():
    nc = await nats.connect(sys.argv[1])
    async def echo(msg):
        await msg.respond(msg.data)
    await nc.subscribe("bench.echo", cb=echo)
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def start(args: list[str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "ready" in line:
            return process
    raise RuntimeError(f"{args[:4]} did not start")


async def measure(call: Callable[[int], Awaitable[None]], total: int,
                  concurrency: int) -> tuple[float, float, float]:
    """(requests per second, p50 ms, p99 ms) of ``total`` calls by ``concurrency`` workers."""
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            began = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return total / elapsed, p50, p99


async def run(total: int, concurrency: int, store: str, workdir: Path) -> dict[str, float]:
    server = NatsServer(workdir / "nats", sync_always=store == "jetstream").start()
    echo = start([sys.executable, "-c", ECHO, server.url])
    up = start([sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(workdir / "up"),
                "--nodes", "0", "--nats", server.url, "--store", store])
    try:
        config = kubeconfig.load(workdir / "up" / "kubeconfig")
        subjects = Subjects(config.prefix)
        nc = await nats.connect(server.url, inbox_prefix=subjects.inbox_prefix.encode())
        auth = {"token": config.token}
        run_id = new_id()[:6]

        async def echo_call(i: int) -> None:
            await nc.request("bench.echo", b"x" * 200, timeout=10)

        async def api(verb: str, name: str, body: object = None) -> None:
            envelope = Envelope(trace_id=new_id(), verb=verb, resource="configmaps",
                                namespace="default", name=name, body=body, auth=auth)
            reply = await nc.request(subjects.api("", "configmaps", verb), encode(envelope),
                                     timeout=10)
            assert b"OK" in reply.data, reply.data[:200]

        async def create_call(i: int) -> None:
            name = f"bench-{run_id}-{i}"
            await api("create", name, {"metadata": {"name": name}, "data": {"k": "v"}})

        async def get_call(i: int) -> None:
            await api("get", f"bench-{run_id}-{i % total}")

        results: dict[str, float] = {}
        print(f"{'what':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ratio':>8}")
        for label, call, workers in (
            ("echo sequential", echo_call, 1), ("echo", echo_call, concurrency),
            ("create sequential", create_call, 1), ("create", create_call, concurrency),
            ("get sequential", get_call, 1), ("get", get_call, concurrency),
        ):
            if label.startswith("create"):
                run_id = new_id()[:6]  # fresh names for each create round
            rps, p50, p99 = await measure(call, total, workers)
            base = results.get("echo_rps" if workers > 1 else "echo_seq_rps", rps)
            print(f"{label:<22}{rps:>10.0f}{p50:>10.2f}{p99:>10.2f}{rps / base:>8.2f}")
            key = label.split()[0] + ("_seq" if workers == 1 else "")
            results.update({f"{key}_rps": rps, f"{key}_p50_ms": p50, f"{key}_p99_ms": p99})
        await nc.close()
    finally:
        for process in (up, echo):
            process.terminate()
            process.wait(30)
        server.stop()
    results["create_ratio"] = results["create_rps"] / results["echo_rps"]
    results["get_ratio"] = results["get_rps"] / results["echo_rps"]
    return {key: round(value, 3) for key, value in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--store", choices=["sqlite", "jetstream"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(run(args.requests, args.concurrency, args.store, Path(workdir)))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
