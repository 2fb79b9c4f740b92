"""Scale of the simulated runtime: N simulated nodes under one ``kubeactor up`` running P pods.

    .venv/bin/python benchmarks/sim_scale.py [--nodes 1000] [--pods 10000] [--assign]
                                             [--processes auto|1|N]
                                             [--store jetstream] [--apiservers N]

Starts ``kubeactor up --runtime sim --nodes N`` (with ``--processes``, ``--store`` and
``--apiservers`` when given) in a subprocess, creates a ReplicaSet of P pods from this process
(with ``--assign``: P pods that name their node, ``spec.nodeName`` round-robin, created by
several clients at once, which skips the scheduler and measures the kubelets alone), waits
until every one is Running (counted from a watch), then reads the resident memory of the
cluster: ``up`` and every process it started (its children's children too: agents,
scheduler, controller manager, other apiservers, the embedded nats-server), from ``/proc``.
Prints progress, a table, then one JSON line:

- ``nodes``, ``pods``, ``processes`` (the ``--processes`` asked for; ``null``: ``up``'s default);
- ``seconds_to_running`` (from the ReplicaSet's create, or the first pod's, to all Running),
  ``pods_per_s`` (pods / that), ``seconds_to_created`` (``--assign``: until the last create
  returned; else until the ReplicaSet's pods all exist);
- ``rss_mb`` (all the cluster's processes together), ``rss_up_mb``, ``rss_peak_mb`` (the
  ``up`` process alone: now and its peak), ``rss_by_process_mb`` (each process's, by verb),
  ``threads`` (of ``up``);
- ``server_cpu_us_per_pod``: CPU time of ``up``'s process (the store and the apiserver: the
  server) from create to all Running, per pod; ``cluster_cpu_us_per_pod``: of every process
  of the cluster; ``cpu_by_process_us_per_pod``: each process's, named as in
  ``rss_by_process_mb``; the stable figures on a shared machine, beside ``load`` (the
  1-minute load average at the end);
- ``deleted`` (pods deleted on the way, as by a taint eviction of a node whose Lease went
  stale: 0 when the kubelets kept up), ``assigned``.

Targets (issue 18): 10,000 pods Running on 1,000 nodes within 60 s (``pods_per_s`` >= 166),
``rss_mb`` <= 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import cpu_seconds, start

from actors.client.client import Client, WatchEvent
from bindings import kubeconfig
from bus import Connection

REPLICASET = "sim"


def proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it (from ``/proc/*/stat``'s parent ids)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo.extend(parents.get(current, []))
    return found


def _total(pids: list[int], measure: Callable[[int], float]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += measure(pid)
        except (OSError, KeyError):
            continue  # ended in between
    return total


def by_process(pids: list[int], measure: Callable[[int], float]) -> dict[int, tuple[str, float]]:
    """``measure`` of each process by pid, with its name: its kubeactor verb (``agent-2``: the
    second agent) or its program."""
    found: dict[int, tuple[str, float]] = {}
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            value = measure(pid)
        except (OSError, KeyError):
            continue
        name = (argv[argv.index("bindings.cli") + 1] if "bindings.cli" in argv
                else Path(argv[0]).name)
        number = sum(key.startswith(name) for key, _ in found.values())
        found[pid] = (f"{name}-{number + 1}" if number else name, value)
    return found


def rss_by_process(pids: list[int]) -> dict[str, float]:
    """MB of resident memory of each process, by name (``by_process``)."""
    return {name: round(rss / 1024, 1) for name, rss in
            by_process(pids, lambda pid: proc_status(pid, "VmRSS")).values()}


def cpu_by_process(before: dict[int, tuple[str, float]], pids: list[int],
                   pods: int) -> dict[str, int]:
    """Microseconds of CPU per pod of each process since ``before`` (``by_process`` of
    ``cpu_seconds``), by name."""
    return {name: round((now - before.get(pid, (name, 0.0))[1]) / pods * 1e6)
            for pid, (name, now) in by_process(pids, cpu_seconds).items()}


def pod(index: int, node: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"sim-{index}"},
            "spec": {**_pod_spec(), "nodeName": node}}


def _pod_spec() -> dict[str, object]:
    return {"containers": [{"name": "app", "image": "busybox:1.35",
                            "resources": {"requests": {"cpu": "1m"}}}]}


def replicaset(pods: int) -> dict[str, object]:
    labels = {"app": REPLICASET}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": REPLICASET},
            "spec": {"replicas": pods, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": _pod_spec()}}}


class Counter:
    """Pods seen, bound to a node, Running and deleted, from a watch (the bus loop's
    thread)."""

    def __init__(self, pods: int) -> None:
        self.pods = pods
        self.seen: set[str] = set()
        self.bound: set[str] = set()
        self.running: set[str] = set()
        self.deleted: set[str] = set()
        self.all_seen_at: float | None = None
        """When the last pod was first seen (monotonic)."""
        self.all_running = threading.Event()

    def __call__(self, event: WatchEvent) -> None:
        if event.type not in ("ADDED", "MODIFIED", "DELETED"):
            return  # a BOOKMARK, or an ERROR (whose object is a Status)
        name = event.object["metadata"]["name"]
        if event.type == "DELETED":
            self.deleted.add(name)
            return
        self.seen.add(name)
        if event.object.get("spec", {}).get("nodeName"):
            self.bound.add(name)
        if len(self.seen) >= self.pods and self.all_seen_at is None:
            self.all_seen_at = time.monotonic()
        if event.object.get("status", {}).get("phase") == "Running":
            self.running.add(name)
            if len(self.running) >= self.pods:
                self.all_running.set()


def up_command(data: Path, nodes: int, processes: str | None,
               *more: str) -> list[str]:
    return [sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(data), "--runtime",
            "sim", "--nodes", str(nodes), "--https-listen", "127.0.0.1:0",
            "--no-sim-events",  # as measured before simulated kubelets had Events
            *(["--processes", processes] if processes else []), *more]


def create_all(client: Client, nodes: int, pods: int, assign: bool) -> None:
    if not assign:
        client.create("replicasets", replicaset(pods))
        return
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda i: client.create("pods", pod(i, f"node-{i % nodes + 1}")),
                      range(pods)))


def run(nodes: int, pods: int, assign: bool, processes: str | None,
        *more: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        up = start(up_command(Path(tmp) / "up", nodes, processes, *more))
        threading.Thread(target=lambda: list(up.stdout or ()), daemon=True).start()  # drained
        print(f"up with {nodes} nodes in {time.monotonic() - started:.1f}s", file=sys.stderr)
        config = kubeconfig.load(Path(tmp) / "up" / "kubeconfig")
        connection = Connection(config.bus(), "bench").connect()
        try:
            client = Client(connection, config.credentials(), timeout=60)
            counter = Counter(pods)
            watch = client.watch("pods", counter, namespace="default")
            pids = descendants(up.pid)
            cpu_before = (cpu_seconds(up.pid), _total(pids, cpu_seconds),
                          by_process(pids, cpu_seconds))
            began = time.monotonic()
            create_all(client, nodes, pods, assign)
            created = time.monotonic() - began
            while not counter.all_running.wait(10):
                print(f"  {time.monotonic() - began:.0f}s: {len(counter.seen)} created, "
                      f"{len(counter.bound)} bound, {len(counter.running)}/{pods} running, "
                      f"{len(counter.deleted)} deleted", file=sys.stderr)
                if counter.deleted and len(counter.running | counter.deleted) >= pods:
                    break  # the deleted ones will not come back: report what happened
            elapsed = time.monotonic() - began
            if not assign:
                created = (counter.all_seen_at or time.monotonic()) - began
            print(f"{pods} pods created in {created:.1f}s", file=sys.stderr)
            watch.stop()
            pids = descendants(up.pid)
            server_cpu = cpu_seconds(up.pid) - cpu_before[0]
            cluster_cpu = _total(pids, cpu_seconds) - cpu_before[1]
            return {"nodes": nodes, "pods": pods, "processes": processes, "up_flags": more,
                    "seconds_to_running": round(elapsed, 1),
                    "pods_per_s": round(pods / elapsed, 1),
                    "seconds_to_created": round(created, 1),
                    "rss_mb": round(_total(pids, lambda p: proc_status(p, "VmRSS")) / 1024, 1),
                    "rss_up_mb": round(proc_status(up.pid, "VmRSS") / 1024, 1),
                    "rss_by_process_mb": rss_by_process(pids),
                    "rss_peak_mb": round(proc_status(up.pid, "VmHWM") / 1024, 1),
                    "server_cpu_us_per_pod": round(server_cpu / pods * 1e6),
                    "cluster_cpu_us_per_pod": round(cluster_cpu / pods * 1e6),
                    "cpu_by_process_us_per_pod": cpu_by_process(cpu_before[2], pids, pods),
                    "cluster_processes": len(pids),
                    "threads": proc_status(up.pid, "Threads"),
                    "deleted": len(counter.deleted), "assigned": assign,
                    "load": round(os.getloadavg()[0], 1)}
        finally:
            connection.close()
            up.terminate()
            up.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--assign", action="store_true",
                        help="pods name their node and skip the scheduler")
    parser.add_argument("--processes", default=None,
                        help="up's --processes (default: up's own default)")
    parser.add_argument("--store", default=None, help="up's --store (default: up's own)")
    parser.add_argument("--apiservers", default=None,
                        help="up's --apiservers (several need --store jetstream)")
    args = parser.parse_args()
    more = [*(["--store", args.store] if args.store else []),
            *(["--apiservers", args.apiservers] if args.apiservers else [])]
    results = run(args.nodes, args.pods, args.assign, args.processes, *more)
    for key, value in results.items():
        print(f"{key:<28}{value!s:>12}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
