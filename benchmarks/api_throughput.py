"""API throughput against a raw NATS request/reply baseline, measured in the same run.

    .venv/bin/python benchmarks/api_throughput.py [--requests N] [--concurrency C]
        [--store sqlite|jetstream] [--auth cert|token] [--plaintext] [--profile FILE]
        [--kind configmap|pod]

Starts one nats-server (TLS, as the embedded one, with a certificate of a CA made for the run;
``--plaintext``: without TLS), an echo responder process (the baseline: raw nats-py
request/reply over the same transport)
and a ``kubeactor up --nodes 0`` process (store, apiserver, scheduler, controllers), then
measures, from this process with raw nats-py clients, echo, ``create configmaps`` and ``get
configmaps`` (``--kind pod``: pods of one container, as a Deployment's, that no scheduler
takes) through the full pipeline (authentication, RBAC, admission, the durable store:
SQLite, or JetStream KV on the same nats-server with ``--store jetstream``): sequentially and
with C concurrent clients. Authentication is the CLI's by default: the admin's certificate
session, each request carrying the session ticket and an HMAC of its bytes (``--auth token``:
the static bearer token instead). Prints a table, then one JSON line whose
throughputs are also given as ratios to the echo baseline (these machines are shared and
noisy; only ratios compare across runs), and the CPU time the cluster process spent per
request (``*_server_cpu_us``: what the hot path costs, less disturbed by the noise).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import signal
import sys
import tempfile
from pathlib import Path

import nats
import nats.aio.client
import nats.aio.msg
from _common import cpu_seconds, measure, profiler, start

from actors.client.credentials import TokenCredentials
from bindings import kubeconfig
from bindings.cluster.pki import ensure_pki
from bus import BusConfig, Connection, Envelope, NatsServer, Subjects, encode, new_id
from bus.config import tls_options
from bus.envelope import MAC_HEADER, mac

ECHO = """
import asyncio, sys, nats
from bus.config import tls_options
async def main():
    ca = open(sys.argv[2], "rb").read() if len(sys.argv) > 2 else None
    nc = await nats.connect(sys.argv[1], **tls_options(sys.argv[1], ca))
    async def echo(msg):
        await msg.respond(msg.data)
    await nc.subscribe("bench.echo", cb=echo)
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


class Caller:
    """Requests to the apiserver over raw nats-py, proved as the CLI proves them: with the
    admin's certificate session (a ticket, and an HMAC of each message in a header), or with
    the bearer token."""

    def __init__(self, nc: nats.aio.client.Client, config: kubeconfig.KubeConfig,
                 auth: str, connection: Connection) -> None:
        self.nc, self.subjects, self.connection = nc, Subjects(config.prefix), connection
        self.credentials = config.credentials() if auth == "cert" else TokenCredentials(
            config.token)
        self.credentials.prove(connection)  # opens the session: later proofs do not block
        self.inbox = f"{self.subjects.inbox('admin')}.{new_id()}"
        """The admin's requests are answered only in its inbox (nats-py's request picks its
        reply subject itself, too late for the MAC: the tokens are this class's)."""
        self.waiting: dict[str, asyncio.Future[bytes]] = {}
        self.tokens = itertools.count()

    async def start(self) -> None:
        async def on_reply(msg: nats.aio.msg.Msg) -> None:
            waiting = self.waiting.pop(msg.subject, None)
            if waiting is not None:
                waiting.set_result(msg.data)

        await self.nc.subscribe(f"{self.inbox}.*", cb=on_reply)

    async def __call__(self, verb: str, resource: str, name: str, body: object = None
                       ) -> None:
        proof = self.credentials.prove(self.connection)
        envelope = Envelope(trace_id=new_id(), verb=verb, resource=resource,
                            namespace="default", name=name, body=body, auth=proof.auth)
        subject, data = self.subjects.api("", resource, verb), encode(envelope)
        reply_to = f"{self.inbox}.{next(self.tokens)}"
        headers = None if proof.mac_key is None else {MAC_HEADER: base64.b64encode(
            mac(proof.mac_key, subject, reply_to, data)).decode()}
        answered = self.waiting[reply_to] = asyncio.get_running_loop().create_future()
        await self.nc.publish(subject, data, reply=reply_to, headers=headers)
        reply = await asyncio.wait_for(answered, 10)
        assert b"OK" in reply, reply[:200]


def body(kind: str, name: str) -> dict[str, object]:
    """What a create sends: a ConfigMap of one key, or a pod as a Deployment's template
    makes it (labels, a container with ports, resources and env) for a scheduler that does not
    run, so that nothing but the create works on it."""
    if kind == "configmap":
        return {"metadata": {"name": name}, "data": {"k": "v"}}
    container = {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                               "limits": {"cpu": "200m", "memory": "128Mi"}},
                 "env": [{"name": "MODE", "value": "bench"}]}
    return {"metadata": {"name": name, "labels": {"app": "web", "tier": "front"}},
            "spec": {"containers": [container], "schedulerName": "unscheduled",
                     "automountServiceAccountToken": False}}


async def run(total: int, concurrency: int, store: str, auth: str, workdir: Path,
              profile: Path | None, plaintext: bool, kind: str) -> dict[str, float]:
    tls = None if plaintext else ensure_pki(workdir / "pki").bus_tls(workdir / "tls",
                                                                     ("127.0.0.1",))
    ca = ["--nats-ca", str(tls.ca_file)] if tls else []
    server = NatsServer(workdir / "nats", sync_always=store == "jetstream", tls=tls).start()
    echo = start([sys.executable, "-c", ECHO, server.url, *ca[1:]])
    up = start([sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(workdir / "up"),
                "--nodes", "0", "--nats", server.url, *ca, "--store", store,
                "--https-listen", "127.0.0.1:0"])  # 6443 may be another cluster's
    connection = None
    try:
        config = kubeconfig.load(workdir / "up" / "kubeconfig")
        trusted = config.bus().ca
        # An open bus: the user name is only the inbox's.
        connection = Connection(BusConfig(url=server.url, prefix=config.prefix, user="admin",
                                          ca=trusted), "bench").connect()
        nc = await nats.connect(server.url, **tls_options(server.url, trusted),
                                inbox_prefix=Subjects(config.prefix).inbox_prefix.encode())
        api = await asyncio.to_thread(Caller, nc, config, auth, connection)
        await api.start()
        run_id, resource = new_id()[:6], f"{kind}s"

        async def echo_call(i: int) -> None:
            await nc.request("bench.echo", b"x" * 200, timeout=10)

        async def create_call(i: int) -> None:
            name = f"bench-{run_id}-{i}"
            await api("create", resource, name, body(kind, name))

        async def get_call(i: int) -> None:
            await api("get", resource, f"bench-{run_id}-{i % total}")

        results: dict[str, float] = {}
        print(f"{'what':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ratio':>8}"
              f"{'cpu µs':>10}")
        for label, call, workers in (
            ("echo sequential", echo_call, 1), ("echo", echo_call, concurrency),
            ("create sequential", create_call, 1), ("create", create_call, concurrency),
            ("get sequential", get_call, 1), ("get", get_call, concurrency),
        ):
            if label.startswith("create"):
                run_id = new_id()[:6]  # fresh names for each create round
            key = label.split()[0] + ("_seq" if workers == 1 else "")
            profiled = profile is not None and workers > 1 and key != "echo"
            spy = profiler(up.pid, profile.with_suffix(f".{key}.txt") if profiled else None)
            cpu = cpu_seconds(up.pid)
            measured = await measure(call, total, workers)
            cpu_us = (cpu_seconds(up.pid) - cpu) / total * 1e6
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            base = results.get("echo_rps" if workers > 1 else "echo_seq_rps", measured.rps)
            print(f"{label:<22}{measured.rps:>10.0f}{measured.p50_ms:>10.2f}"
                  f"{measured.p99_ms:>10.2f}{measured.rps / base:>8.2f}{cpu_us:>10.0f}")
            results.update({f"{key}_rps": measured.rps, f"{key}_p50_ms": measured.p50_ms,
                            f"{key}_p99_ms": measured.p99_ms})
            if not key.startswith("echo"):
                results[f"{key}_server_cpu_us"] = cpu_us
        await nc.close()
    finally:
        if connection is not None:
            connection.close()
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
    parser.add_argument("--auth", choices=["cert", "token"], default="cert",
                        help="certificate session with a MAC per request (as the CLI), or "
                             "bearer token")
    parser.add_argument("--plaintext", action="store_true",
                        help="the bus without TLS (the comparison: what TLS costs)")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="write py-spy profiles (raw, the thread holding the GIL) of the "
                             "cluster process during the concurrent create and get runs, to "
                             "FILE with suffixes .create.txt and .get.txt")
    parser.add_argument("--kind", choices=["configmap", "pod"], default="configmap",
                        help="what is created and read")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(run(args.requests, args.concurrency, args.store, args.auth,
                                  Path(workdir), args.profile, args.plaintext, args.kind))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
