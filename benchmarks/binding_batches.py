"""What a binding costs the apiserver and the bus, sent alone or in a batch.

    .venv/bin/python benchmarks/binding_batches.py [--pods 8000] [--batch 16] [--rounds 4]

Starts nats-server and the control plane as ``scheduler_throughput.py`` does, creates
``--pods`` pods no scheduler serves (``schedulerName: nobody-runs-this``), then binds them
through the API in ``2 x --rounds`` alternating phases of equal size: single ``create
pods/binding`` requests (64 in flight, as the scheduler's binding loop), and batches of
``--batch`` (``actors.api.bindingbatches``; 64 bindings in flight too). Measures the server's,
nats-server's and this process's CPU per binding in each phase, and their sums per mode. Only
the wire differs: each binding is authorized, admitted, written and audited as its own request
in both. Needs a tree with the batch (s12-batch12 on). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from _common import cpu_seconds, measure
from scheduler_throughput import child_named, start_cluster

from actors.api import bindingbatches
from bindings import kubeconfig
from bus import Envelope, NatsServer, Subjects, decode, encode, new_id

IN_FLIGHT = 64
"""Bindings unanswered at once in either mode."""


async def run(pods: int, batch: int, rounds: int, workdir: Path) -> dict[str, Any]:
    server = NatsServer(workdir / "nats").start()
    cluster = start_cluster(server.url, workdir / "up", in_process=False)
    try:
        config = kubeconfig.load(workdir / "up" / "kubeconfig")
        subjects = Subjects(config.prefix)
        nc = await nats.connect(server.url, inbox_prefix=subjects.inbox("admin").encode())
        auth = {"token": config.token}

        async def api(verb: str, path: str, body: object, namespace: str | None = None,
                      name: str | None = None, subresource: str | None = None) -> Any:
            resource = path.partition("/")[0]
            envelope = Envelope(trace_id=new_id(), verb=verb, resource=resource,
                                subresource=subresource, namespace=namespace, name=name,
                                body=body, auth=auth)
            reply = decode((await nc.request(subjects.api("", path, verb), encode(envelope),
                                             timeout=60)).data)
            assert reply.status and reply.status.get("code", 200) < 300, reply.status
            return reply.body

        def binding(i: int) -> Any:
            where = {"name": f"pod-{i:06}", "namespace": "bench"}
            return {"apiVersion": "v1", "kind": "Binding", "metadata": where,
                    "target": {"apiVersion": "v1", "kind": "Node", "name": "node-0"}}

        async def create_pod(i: int) -> None:
            await api("create", "pods", {"metadata": {"name": f"pod-{i:06}"}, "spec": {
                "schedulerName": "nobody-runs-this",
                "containers": [{"name": "c", "image": "busybox:1.35"}]}}, "bench")

        await api("create", "namespaces", {"metadata": {"name": "bench"}})
        await measure(create_pod, pods, IN_FLIGHT)
        measured = [cluster[0].pid, child_named("nats-server"), os.getpid()]
        share = pods // (2 * rounds)
        used: dict[str, list[float]] = {"single": [0.0] * 3, "batch": [0.0] * 3}
        seconds = {"single": 0.0, "batch": 0.0}
        first = 0
        for _ in range(rounds):
            for mode in ("single", "batch"):
                start = first

                async def single(i: int, start: int = start) -> None:
                    item = binding(start + i)
                    await api("create", "pods/binding", item, "bench",
                              item["metadata"]["name"], "binding")

                async def batched(i: int, start: int = start) -> None:
                    items = [binding(start + i * batch + j) for j in range(batch)]
                    answer = await api("create", "pods/binding", bindingbatches.batch_body(
                        items, [None] * batch), subresource="binding")
                    assert all(item["code"] == 201 for item in answer["items"]), answer

                before = [cpu_seconds(pid) for pid in measured]
                began = time.perf_counter()
                if mode == "single":
                    await measure(single, share, IN_FLIGHT)
                else:
                    await measure(batched, share // batch, max(1, IN_FLIGHT // batch))
                seconds[mode] += time.perf_counter() - began
                for k, (pid, was) in enumerate(zip(measured, before, strict=True)):
                    used[mode][k] += cpu_seconds(pid) - was
                first += share
        await nc.close()
    finally:
        for process in reversed(cluster):
            process.terminate()
            process.wait(60)
        server.stop()
    bound = {"single": share * rounds, "batch": share // batch * batch * rounds}
    results: dict[str, Any] = {"pods": pods, "batch": batch, "rounds": rounds}
    for mode in ("single", "batch"):
        per = [seconds_used * 1e6 / bound[mode] for seconds_used in used[mode]]
        results.update({f"{mode}_bindings_per_s": bound[mode] / seconds[mode],
                        f"{mode}_server_cpu_us_per_binding": per[0],
                        f"{mode}_nats_cpu_us_per_binding": per[1],
                        f"{mode}_client_cpu_us_per_binding": per[2],
                        f"{mode}_all_cpu_us_per_binding": sum(per)})
    return {key: round(value, 1) if isinstance(value, float) else value
            for key, value in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(run(args.pods, args.batch, args.rounds, Path(workdir)))
    print(f"{'what':<40}{'value':>12}")
    for key, value in results.items():
        print(f"{key:<40}{value:>12}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
