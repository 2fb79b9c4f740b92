"""Pod startup latency on real Docker against the bare Docker SDK, measured in the same run.

    .venv/bin/python benchmarks/pod_startup.py [--pods 20]

Starts ``kubeactor up`` (one Docker node) in a subprocess, then creates N pods one after
another (busybox:1.35 running ``sleep 3600``), each time measuring from the create request to
the first watch event showing the pod Running: the whole path of a pod (apiserver, store,
scheduler, kubelet, Docker, status write, watch). The baseline runs the same image and command
with the Docker SDK's ``containers.run`` (create + start, as the kubelet does). Prints each
latency, then one JSON line with ``pod_p50_s``, ``pod_p99_s``, ``docker_p50_s``,
``docker_p99_s`` and ``p50_ratio`` (target: at most 1.3).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import docker

from actors.client import Client, WatchEvent
from bindings import kubeconfig
from bus import BusConfig, Connection

IMAGE = "busybox:1.35"
COMMAND = ["sleep", "3600"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_up(data: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "ready" in line:
            return process
    raise RuntimeError("kubeactor up did not start")


def pod_latencies(client: Client, count: int) -> list[float]:
    """Create-to-Running of ``count`` pods, one after another."""
    running: dict[str, threading.Event] = {f"bench-{i}": threading.Event() for i in range(count)}

    def seen(event: WatchEvent) -> None:
        name = event.object["metadata"]["name"]
        if event.object.get("status", {}).get("phase") == "Running" and name in running:
            running[name].set()

    watch = client.watch("pods", seen, namespace="default")
    latencies = []
    try:
        for name, event in running.items():
            began = time.monotonic()
            client.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                                   "spec": {"containers": [{"name": "app", "image": IMAGE,
                                                            "command": COMMAND}]}})
            if not event.wait(60):
                raise RuntimeError(f"pod {name} never ran")
            latencies.append(time.monotonic() - began)
            print(f"pod {name}: {latencies[-1]:.3f}s", file=sys.stderr)
    finally:
        watch.stop()
    return latencies


def docker_latencies(engine: docker.DockerClient, count: int) -> list[float]:
    """The same container run by the SDK: create and start, until ``run`` returns."""
    latencies = []
    made = []
    try:
        for index in range(count):
            began = time.monotonic()
            made.append(engine.containers.run(IMAGE, COMMAND, detach=True, init=True,
                                              network_mode="none",
                                              labels={"bench": "pod_startup"}))
            latencies.append(time.monotonic() - began)
            print(f"docker {index}: {latencies[-1]:.3f}s", file=sys.stderr)
    finally:
        for container in made:
            container.remove(force=True)
    return latencies


def remove_cluster_containers(engine: docker.DockerClient, data: Path) -> None:
    cluster = (data / "cluster-id").read_text().strip()
    for container in engine.containers.list(
            all=True, filters={"label": f"io.kubeactor.cluster.id={cluster}"}):
        container.remove(force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=20)
    args = parser.parse_args()
    engine = docker.from_env()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "up"
        up = start_up(data)
        config = kubeconfig.load(data / "kubeconfig")
        connection = Connection(BusConfig(url=config.server, prefix=config.prefix),
                                "bench").connect()
        try:
            pods = pod_latencies(Client(connection, config.token), args.pods)
        finally:
            connection.close()
            up.terminate()
            up.wait(timeout=120)
            remove_cluster_containers(engine, data)
    bare = docker_latencies(engine, args.pods)
    result = {"pods": args.pods,
              "pod_p50_s": round(statistics.median(pods), 3),
              "pod_p99_s": round(percentile(pods, 0.99), 3),
              "docker_p50_s": round(statistics.median(bare), 3),
              "docker_p99_s": round(percentile(bare, 0.99), 3)}
    result["p50_ratio"] = round(result["pod_p50_s"] / result["docker_p50_s"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
