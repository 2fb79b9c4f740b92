"""Scale of the simulated runtime: N simulated nodes in one ``kubeactor up`` holding P pods.

    .venv/bin/python benchmarks/sim_scale.py [--nodes 1000] [--pods 10000] [--assign]

Starts ``kubeactor up --runtime sim --nodes N`` in a subprocess, creates P pods from this
process (several clients at once), waits until every one is Running (counted from a watch),
then reads the resident memory of the ``up`` process (``/proc/PID/status`` VmRSS, and its
peak VmHWM; children excluded: the embedded nats-server is its own process). Prints progress,
then one JSON line: ``nodes``, ``pods``, ``rss_mb``, ``rss_peak_mb``, ``seconds_to_created``,
``seconds_to_running``, ``threads`` (of the up process), ``deleted`` (pods deleted on the way,
as by a taint eviction of a node whose Lease went stale: 0 when the kubelets kept up),
``assigned``. By default every pod goes through the scheduler; with ``--assign`` the pods
name their node (``spec.nodeName``, round-robin) and skip it, which measures the kubelets
alone. Targets: 1,000 nodes and 10,000 pods in at most 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from actors.client.client import Client, WatchEvent
from bindings import kubeconfig
from bus import Connection


def proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def start_up(data: Path, nodes: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(data), "--runtime", "sim",
         "--nodes", str(nodes), "--no-sim-events"],  # as measured before sim had Events
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "ready" in line:
            return process
    raise RuntimeError("kubeactor up did not start")


def pod(index: int, node: str | None) -> dict[str, object]:
    spec: dict[str, object] = {"containers": [{"name": "app", "image": "busybox:1.35",
                                               "resources": {"requests": {"cpu": "1m"}}}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"sim-{index}"},
            "spec": spec}


def run(nodes: int, pods: int, assign: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        up = start_up(Path(tmp) / "up", nodes)
        print(f"up with {nodes} nodes in {time.monotonic() - started:.1f}s", file=sys.stderr)
        config = kubeconfig.load(Path(tmp) / "up" / "kubeconfig")
        connection = Connection(config.bus(), "bench").connect()
        try:
            client = Client(connection, config.credentials(), timeout=60)
            running: set[str] = set()
            deleted: set[str] = set()
            all_running = threading.Event()

            def count(event: WatchEvent) -> None:
                if event.type == "DELETED":
                    deleted.add(event.object["metadata"]["name"])
                elif event.object.get("status", {}).get("phase") == "Running":
                    running.add(event.object["metadata"]["name"])
                    if len(running) >= pods:
                        all_running.set()

            watch = client.watch("pods", count, namespace="default")
            began = time.monotonic()
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(lambda i: client.create("pods", pod(
                    i, f"node-{i % nodes + 1}" if assign else None)), range(pods)))
            created = time.monotonic() - began
            print(f"{pods} pods created in {created:.1f}s", file=sys.stderr)
            while not all_running.wait(10):
                print(f"  {len(running)}/{pods} running, {len(deleted)} deleted",
                      file=sys.stderr)
                if deleted and len(running | deleted) >= pods:
                    break  # the deleted ones will not come back: report what happened
            elapsed = time.monotonic() - began
            watch.stop()
            return {"nodes": nodes, "pods": pods,
                    "rss_mb": round(proc_status(up.pid, "VmRSS") / 1024, 1),
                    "rss_peak_mb": round(proc_status(up.pid, "VmHWM") / 1024, 1),
                    "seconds_to_created": round(created, 1),
                    "seconds_to_running": round(elapsed, 1),
                    "threads": proc_status(up.pid, "Threads"), "deleted": len(deleted),
                    "assigned": assign}
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
    args = parser.parse_args()
    print(json.dumps(run(args.nodes, args.pods, args.assign)))


if __name__ == "__main__":
    main()
