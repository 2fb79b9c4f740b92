"""Scheduler throughput, in the spirit of Kubernetes' scheduler_perf (SchedulingBasic).

    .venv/bin/python benchmarks/scheduler_throughput.py [--nodes 1000] [--pods 10000]
        [--in-process]

Starts one nats-server, a ``kubeactor server`` process (store, apiserver; no kubelet) and
``kubeactor scheduler`` and ``kubeactor controller-manager`` processes beside it, with the
kubeconfigs the server wrote for them, as kube-scheduler and kube-controller-manager run beside
kube-apiserver (``--in-process``: both inside the server's process instead, the shape before;
for comparison). Creates N
Node objects through the API and marks them Ready through
``nodes/status`` (4 cpu, 32Gi, 110 pods: scheduler_perf's node-default), measures the raw API
create throughput with configmaps (the baseline, scheduler idle), then creates M pods (100m
cpu, 500Mi: pod-default) as fast as the API takes them and follows the bound pods with a watch
on ``spec.nodeName!=``. ``pods_per_s`` is M over the time from the first create to the last
pod bound. Last, the scheduler's own capacity: the same cluster's scheduling cycles run in this
process without the API (``scheduler_only_pods_per_s``). Prints a table, then one JSON line:
``nodes``, ``pods``, ``pods_per_s``, ``create_rps`` (baseline), ``pod_create_rps`` (pods,
while the scheduler runs), their ratio, the pods' ``Scheduled`` Events stored by the end
(``scheduled_events``), create->bound latency percentiles, and each process's
CPU per pod over the pods phase (``server_cpu_us_per_pod``, ``scheduler_cpu_us_per_pod``,
``controller_manager_cpu_us_per_pod``, then ``nats_cpu_us_per_pod`` and this benchmark's own,
``benchmark_cpu_us_per_pod``). Machines here
are shared: compare ratios, not numbers.
``--count-bindings`` also counts the ``pods/binding`` messages and the bindings they hold
(a batch's items: ``actors.api.bindingbatches``), at the cost of a copy of each to this
process. ``--profile FILE`` samples the server process with py-spy while the pods are scheduled (the
scheduler's into ``FILE.scheduler``, the controller manager's into
``FILE.controller-manager``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import nats
from _common import cpu_seconds, measure, percentile, profiler, start

from actors.client.client import Client, WatchEvent
from actors.scheduler import Framework, PodInfo, Profile, default_plugins
from actors.scheduler.cache import Cache
from bindings import kubeconfig
from bus import Connection, Envelope, NatsServer, Subjects, decode, encode, new_id

NODE_RESOURCES = {"cpu": "4", "memory": "32Gi", "pods": "110"}
POD_REQUESTS = {"cpu": "100m", "memory": "500Mi"}


class BoundWatch:
    """Counts pods entering ``spec.nodeName!=`` (bound) and when each did."""

    def __init__(self, client: Client, total: int) -> None:
        self.total = total
        self.bound_at: dict[str, float] = {}
        self.done = threading.Event()
        self.watch = client.watch("pods", self._on_event, namespace="bench",
                                  field_selector="spec.nodeName!=")

    def _on_event(self, event: WatchEvent) -> None:  # bus loop thread
        if event.type == "ADDED":
            self.bound_at.setdefault(event.object["metadata"]["name"], time.perf_counter())
            if len(self.bound_at) >= self.total:
                self.done.set()


async def count_binding_messages(nc: Any, subjects: Subjects) -> list[int]:
    """Count the ``create pods/binding`` messages from now on, and the bindings they hold
    (a batch's items): ``[messages, bindings]``, kept up to date. Costs a copy of each on the
    bus and its decode here: for a run of its own, not one measured for CPU."""
    counted = [0, 0]

    async def heard(message: Any) -> None:
        body = decode(message.data).body
        counted[0] += 1
        counted[1] += len(body["items"]) if isinstance(body, dict) and "items" in body else 1

    await nc.subscribe(subjects.api("", "pods/binding", "create"), cb=heard)
    return counted


def cycles_per_second(nodes: int, pods: int) -> float:
    """The scheduler's own capacity: full scheduling cycles (default plugins, adaptive share
    of nodes, assume) per second in this process, with no API in the way."""
    cache = Cache()
    for i in range(nodes):
        cache.set_node({"metadata": {"name": f"node-{i:05}"}, "status": {
            "allocatable": NODE_RESOURCES, "conditions": [{"type": "Ready", "status": "True"}]}})
    plugins = default_plugins(client=None)  # type: ignore[arg-type]  # never binds here
    framework = Framework(Profile(tuple(p for p in plugins if p.name != "DefaultBinder")))
    began = time.perf_counter()
    for i in range(pods):
        info = PodInfo.of({"metadata": {"name": f"pod-{i:06}", "namespace": "bench"}, "spec": {
            "containers": [{"name": "c", "resources": {"requests": POD_REQUESTS}}]}})
        node = framework.schedule({}, info, cache.node_list()).node
        assert node is not None
        cache.assume(info, node)
    return pods / (time.perf_counter() - began)


def cpu_per_pod(used: list[float], pods: int, in_process: bool) -> dict[str, float]:
    """CPU microseconds per pod of each process over the pods phase (created, scheduled,
    bound): the stable figure on a shared machine. ``server_cpu_us_per_pod`` is the server's
    (with the scheduler and controllers inside it under ``--in-process``); the last two are
    nats-server's and this benchmark's own (its creates and its watch)."""
    names = ("server",) if in_process else ("server", "scheduler", "controller_manager")
    names = (*names, "nats", "benchmark")
    return {f"{name}_cpu_us_per_pod": seconds * 1e6 / pods
            for name, seconds in zip(names, used, strict=True)}


def child_named(name: str) -> int:
    """The pid of this process's child whose command is ``name`` (Linux ``/proc``)."""
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                return int(pid)
    raise LookupError(f"no child process {name}")


def scheduled_events(client: Client) -> int:
    """The pods' ``Scheduled`` Events stored once the last pod was bound (the scheduler's
    recorder drops those past its queue, as client-go's broadcaster does)."""
    return sum(event.get("reason") == "Scheduled"
               for event in client.list("events", "bench")["items"])


def start_cluster(nats_url: str, data: Path, in_process: bool) -> list[subprocess.Popen[str]]:
    """The control plane, then (unless ``in_process``) the scheduler and the controller
    manager in processes of their own, with the kubeconfigs it wrote for them."""
    cli, grace = [sys.executable, "-m", "bindings.cli"], ("--node-monitor-grace-period", "86400")
    own = () if in_process else ("--disable-scheduler", "--disable-controller-manager")
    started = [start([*cli, "server", "--data-dir", str(data), "--nats", nats_url, *grace, *own,
                      "--https-listen", "127.0.0.1:0"])]  # 6443 may be another cluster's
    try:
        for verb, extra in (() if in_process else (("scheduler", ()), ("controller-manager",
                                                                        grace))):
            started.append(start([*cli, verb, "--kubeconfig", str(data / f"{verb}.kubeconfig"),
                                  *extra]))
    except BaseException:
        for process in started:
            process.terminate()
        raise
    return started


async def run(nodes: int, pods: int, concurrency: int, workdir: Path, in_process: bool = False,
              profile: Path | None = None, count_bindings: bool = False) -> dict[str, Any]:
    server = NatsServer(workdir / "nats").start()
    cluster = start_cluster(server.url, workdir / "up", in_process)
    connection = None
    try:
        config = kubeconfig.load(workdir / "up" / "kubeconfig")
        subjects = Subjects(config.prefix)
        nc = await nats.connect(server.url, inbox_prefix=subjects.inbox("admin").encode())
        auth = {"token": config.token}

        async def api(verb: str, resource: str, name: str, body: object,
                      namespace: str | None = None, subresource: str | None = None) -> None:
            envelope = Envelope(trace_id=new_id(), verb=verb, resource=resource,
                                subresource=subresource, namespace=namespace, name=name,
                                body=body, auth=auth)
            path = f"{resource}/{subresource}" if subresource else resource
            reply = await nc.request(subjects.api("", path, verb), encode(envelope),
                                     timeout=60)
            status = decode(reply.data).status
            assert status and status.get("code", 200) < 300, status

        status = {"capacity": NODE_RESOURCES, "allocatable": NODE_RESOURCES,
                  "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}

        async def create_node(i: int) -> None:
            name = f"node-{i:05}"
            await api("create", "nodes", name, {"metadata": {"name": name}})
            await api("update", "nodes", name, {"metadata": {"name": name}, "status": status},
                      subresource="status")

        async def create_configmap(i: int) -> None:
            name = f"baseline-{i}"
            await api("create", "configmaps", name, {"metadata": {"name": name},
                                                      "data": {"k": "v"}}, "bench")

        created_at: dict[str, float] = {}

        async def create_pod(i: int) -> None:
            name = f"pod-{i:06}"
            await api("create", "pods", name, {"metadata": {"name": name}, "spec": {
                "containers": [{"name": "c", "image": "busybox:1.35",
                                "resources": {"requests": POD_REQUESTS}}]}}, "bench")
            created_at[name] = time.perf_counter()

        await api("create", "namespaces", "bench", {"metadata": {"name": "bench"}})
        node_seconds = (await measure(create_node, nodes, concurrency)).seconds
        baseline = min(pods, 5000)
        create_rps = baseline / (await measure(create_configmap, baseline, concurrency)).seconds

        connection = Connection(config.bus(), "bench-watch").connect()  # the admin's identity
        admin = Client(connection, config.token)
        bound = BoundWatch(admin, pods)
        spies = [profiler(process.pid, profile and Path(f"{profile}{suffix}")) for process, suffix
                 in zip(cluster, ("", ".scheduler", ".controller-manager"), strict=False)]
        measured = [*(process.pid for process in cluster), child_named("nats-server"),
                    os.getpid()]
        counted = await count_binding_messages(nc, subjects) if count_bindings else None
        cpu_before = [cpu_seconds(pid) for pid in measured]
        began = time.perf_counter()
        pod_create_seconds = (await measure(create_pod, pods, concurrency)).seconds
        if not await asyncio.to_thread(bound.done.wait, 600):
            raise RuntimeError(f"only {len(bound.bound_at)}/{pods} pods were bound in 10 min")
        for spy in spies:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
        elapsed = max(bound.bound_at.values()) - began
        cpu_used = [cpu_seconds(pid) - before
                    for pid, before in zip(measured, cpu_before, strict=True)]
        events = await asyncio.to_thread(scheduled_events, admin)
        bound.watch.stop()
        await nc.close()
    finally:
        if connection is not None:
            connection.close()
        for process in reversed(cluster):
            process.terminate()
            process.wait(60)
        server.stop()
    cycles = cycles_per_second(nodes, min(pods, 5000))
    latencies = sorted(bound.bound_at[name] - created_at.get(name, began)
                       for name in bound.bound_at)
    results = {
        "nodes": nodes, "pods": pods, "pods_per_s": pods / elapsed,
        "scheduler": "in-process" if in_process else "own process",
        "create_rps": create_rps, "pod_create_rps": pods / pod_create_seconds,
        "node_setup_s": node_seconds,
        "ratio_to_create": pods / elapsed / create_rps,
        "scheduler_only_pods_per_s": cycles,
        "scheduled_events": events,
        "p50_bind_ms": percentile(latencies, 0.5) * 1000,
        "p99_bind_ms": percentile(latencies, 0.99) * 1000,
        **cpu_per_pod(cpu_used, pods, in_process),
        **({} if counted is None else {"binding_messages": counted[0],
                                       "bindings_per_message": counted[1] / max(counted[0], 1)}),
    }
    return {key: round(value, 3) if isinstance(value, float) else value
            for key, value in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--in-process", action="store_true",
                        help="run the scheduler and the controllers inside the server's process "
                             "(the shape before they had their own), for comparison")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="write a py-spy profile (raw, all threads) of the server process "
                             "while the pods are scheduled, and of the others' into "
                             "FILE.scheduler, FILE.controller-manager")
    parser.add_argument("--count-bindings", action="store_true",
                        help="count the pods/binding messages and the bindings they hold "
                             "(binding_messages, bindings_per_message): a copy of each to "
                             "this process, so not for a run measured for CPU")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(run(args.nodes, args.pods, args.concurrency, Path(workdir),
                                  args.in_process, args.profile, args.count_bindings))
    print(f"{'what':<36}{'value':>12}")
    for key in ("create_rps", "pod_create_rps", "pods_per_s", "ratio_to_create",
                "scheduler_only_pods_per_s",
                "scheduled_events", "p50_bind_ms", "p99_bind_ms", "server_cpu_us_per_pod",
                "scheduler_cpu_us_per_pod", "controller_manager_cpu_us_per_pod",
                "nats_cpu_us_per_pod", "benchmark_cpu_us_per_pod", "binding_messages",
                "bindings_per_message"):
        if key in results:
            print(f"{key:<36}{results[key]:>12}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
