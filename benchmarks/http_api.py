"""Creates and gets over the HTTPS API against the same operations over the bus, in one run.

    .venv/bin/python benchmarks/http_api.py [--requests N] [--concurrency C] [--rounds R]

Starts one ``kubeactor up --runtime sim --nodes 0 --https-listen 127.0.0.1:0`` and, from this
process, creates N ConfigMaps and gets them, C in flight: over HTTPS with aiohttp (keep-alive,
at most C connections, the admin's client certificate from the kubeconfig: what kubectl and
client-go do), and over the bus with kubeactor's own ``Client`` (its futures, C in flight, the
admin's certificate session). The two doors take turns, R rounds of each (the shared machine's
noise then hits both); a door's figure is its best round. Prints a table, then one JSON line:
``http_create_rps``, ``bus_create_rps``, ``http_get_rps``, ``bus_get_rps``,
``http_create_ratio`` and ``http_get_ratio`` (HTTP over bus; issue 14's target: both >= 0.7),
then the latencies and the CPU time per request of the cluster process (``*_server_cpu_us``)
and of this one, the client (``*_client_cpu_us``: both share the machine's cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from _common import Measured, cpu_seconds, measure, start

from actors.client.client import Client
from bindings import kubeconfig
from bus import Connection, new_id

Call = Callable[[int], Awaitable[None]]


def tls_context(config: kubeconfig.KubeConfig, workdir: Path) -> ssl.SSLContext:
    """A client TLS context trusting the cluster CA and showing the kubeconfig's client
    certificate (``ssl`` loads them only from files)."""
    assert config.client_cert and config.client_key and config.ca, "a certificate kubeconfig"
    cert, key = workdir / "client.crt", workdir / "client.key"
    cert.write_bytes(config.client_cert)
    key.write_bytes(config.client_key)
    key.chmod(0o600)
    context = ssl.create_default_context(cadata=config.ca.decode())
    context.load_cert_chain(cert, key)
    return context


def http_calls(session: aiohttp.ClientSession, base: str) -> tuple[
        Callable[[str], Call], Callable[[str], Call]]:
    """``create(run)`` and ``get(run)``: the calls of one round over HTTPS."""
    url = f"{base}/api/v1/namespaces/default/configmaps"

    def create(run: str) -> Call:
        async def call(i: int) -> None:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"{run}-{i}"}, "data": {"k": "v"}}
            async with session.post(url, json=body) as reply:
                assert reply.status == 201, (reply.status, await reply.text())
                await reply.read()
        return call

    def get(run: str) -> Call:
        async def call(i: int) -> None:
            async with session.get(f"{url}/{run}-{i}") as reply:
                assert reply.status == 200, (reply.status, await reply.text())
                await reply.read()
        return call

    return create, get


def bus_calls(client: Client) -> tuple[Callable[[str], Call], Callable[[str], Call]]:
    """``create(run)`` and ``get(run)``: the calls of one round over the bus (the client's
    futures, awaited here; the bus loop is the connection's own thread)."""

    def create(run: str) -> Call:
        async def call(i: int) -> None:
            name = f"{run}-{i}"
            await asyncio.wrap_future(client.submit(
                "create", "configmaps", namespace="default", name=name,
                body={"metadata": {"name": name}, "data": {"k": "v"}}))
        return call

    def get(run: str) -> Call:
        async def call(i: int) -> None:
            await asyncio.wrap_future(client.submit("get", "configmaps", namespace="default",
                                                    name=f"{run}-{i}"))
        return call

    return create, get


async def timed(call: Call, total: int, concurrency: int,
                pid: int) -> tuple[Measured, float, float]:
    """``measure``, and the CPU µs per request the cluster process and this one (the client)
    spent meanwhile."""
    server, client = cpu_seconds(pid), time.process_time()
    measured = await measure(call, total, concurrency)
    return (measured, (cpu_seconds(pid) - server) / total * 1e6,
            (time.process_time() - client) / total * 1e6)


async def rounds(doors: dict[str, tuple[Callable[[str], Call], Callable[[str], Call]]],
                 total: int, concurrency: int, count: int, pid: int) -> dict[str, float]:
    """``count`` rounds, each a create then a get run through every door in turn; each
    figure is the best of its rounds."""
    best: dict[str, tuple[Measured, float, float]] = {}
    print(f"{'round':<7}{'what':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
          f"{'server µs':>11}{'client µs':>11}")
    for number in range(1, count + 1):
        for door, (create, get) in doors.items():
            run = f"bench-{door}-{new_id()[:6]}"
            for verb, calls in (("create", create), ("get", get)):
                key = f"{door}_{verb}"
                figures = await timed(calls(run), total, concurrency, pid)
                measured, server_us, client_us = figures
                print(f"{number:<7}{door + ' ' + verb:<14}{measured.rps:>10.0f}"
                      f"{measured.p50_ms:>10.2f}{measured.p99_ms:>10.2f}{server_us:>11.0f}"
                      f"{client_us:>11.0f}")
                if key not in best or measured.rps > best[key][0].rps:
                    best[key] = figures
    return summary(best)


def summary(best: dict[str, tuple[Measured, float, float]]) -> dict[str, float]:
    """The JSON line's figures, its contract's keys first."""
    rps = {f"{key}_rps": measured.rps for key, (measured, _, _) in best.items()}
    results = {key: rps[key] for key in ("http_create_rps", "bus_create_rps", "http_get_rps",
                                         "bus_get_rps")}
    results["http_create_ratio"] = rps["http_create_rps"] / rps["bus_create_rps"]
    results["http_get_ratio"] = rps["http_get_rps"] / rps["bus_get_rps"]
    for key, (measured, server_us, client_us) in best.items():
        results.update({f"{key}_p50_ms": measured.p50_ms, f"{key}_p99_ms": measured.p99_ms,
                        f"{key}_server_cpu_us": server_us, f"{key}_client_cpu_us": client_us})
    return {key: round(value, 3) for key, value in results.items()}


async def run(total: int, concurrency: int, count: int, workdir: Path) -> dict[str, float]:
    up = start([sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(workdir / "up"),
                "--runtime", "sim", "--nodes", "0", "--port", "0",
                "--https-listen", "127.0.0.1:0"])
    connection = None
    try:
        config = kubeconfig.load(workdir / "up" / "kubeconfig")
        assert config.https, "the kubeconfig names no HTTPS server"
        connection = Connection(config.bus(), "bench").connect()
        client = Client(connection, config.credentials())
        await asyncio.to_thread(client.credentials.prove, connection)  # opens the session
        connector = aiohttp.TCPConnector(ssl=tls_context(config, workdir), limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            doors = {"http": http_calls(session, config.https.rstrip("/")),
                     "bus": bus_calls(client)}
            return await rounds(doors, total, concurrency, count, up.pid)
    finally:
        if connection is not None:
            connection.close()
        up.terminate()
        up.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of each door, taking turns (each figure: the best)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(run(args.requests, args.concurrency, args.rounds,
                                  Path(workdir)))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
