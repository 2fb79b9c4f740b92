"""Pod startup latency on real Docker against the bare Docker SDK, measured in the same run.

    .venv/bin/python benchmarks/pod_startup.py [--pods 20]

Starts ``kubeactor up`` (one Docker node) in a subprocess, then creates N pods one after
another (busybox:1.35 running ``sleep 3600``), each time measuring from the create request to
the first watch event showing the pod Running: the whole path of a pod (apiserver, store,
scheduler, kubelet, Docker, status write, watch). The baseline runs the same image and command
with the Docker SDK's ``containers.run`` (create + start, as the kubelet does), interleaved
with the pods so that both see the same load of this shared machine. Prints each
latency, then one JSON line with ``pod_p50_s``, ``pod_p99_s``, ``docker_p50_s``,
``docker_p99_s`` and ``p50_ratio`` (target: at most 1.3), and ``over_p50_ms``: the median of
each pod's time less the ``containers.run`` right after it (the pair sees the same load, so
this moves less with the machine's load than the ratio of two medians does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import docker
from _common import start

from actors.client.client import Client, WatchEvent
from bindings import kubeconfig
from bus import Connection

IMAGE = "busybox:1.35"
COMMAND = ["sleep", "3600"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class PodTimer:
    """Create-to-Running of pods, one at a time, seen through one watch."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.running: dict[str, threading.Event] = {}
        self.watch = client.watch("pods", self._seen, namespace="default")

    def _seen(self, event: WatchEvent) -> None:  # bus loop thread
        name = event.object["metadata"]["name"]
        if event.object.get("status", {}).get("phase") == "Running" and name in self.running:
            self.running[name].set()

    def measure(self, name: str) -> float:
        self.running[name] = threading.Event()
        began = time.monotonic()
        self.client.create("pods", {"apiVersion": "v1", "kind": "Pod",
                                    "metadata": {"name": name},
                                    "spec": {"containers": [{"name": "app", "image": IMAGE,
                                                             "command": COMMAND}]}})
        if not self.running[name].wait(60):
            raise RuntimeError(f"pod {name} never ran")
        return time.monotonic() - began


def docker_latency(engine: docker.DockerClient, made: list[Any]) -> float:
    """The same container run by the SDK: create and start, until ``run`` returns."""
    began = time.monotonic()
    made.append(engine.containers.run(IMAGE, COMMAND, detach=True, init=True,
                                      network_mode="none", labels={"bench": "pod_startup"}))
    return time.monotonic() - began


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
        up = start([sys.executable, "-m", "bindings.cli", "up", "--data-dir", str(data)])
        config = kubeconfig.load(data / "kubeconfig")
        connection = Connection(config.bus(), "bench").connect()
        pods: list[float] = []
        bare: list[float] = []
        made: list[Any] = []
        try:
            timer = PodTimer(Client(connection, config.credentials()))
            for index in range(args.pods):  # interleaved: both see the same machine load
                pods.append(timer.measure(f"bench-{index}"))
                bare.append(docker_latency(engine, made))
                print(f"{index}: pod {pods[-1]:.3f}s docker {bare[-1]:.3f}s", file=sys.stderr)
            timer.watch.stop()
        finally:
            connection.close()
            up.terminate()
            up.wait(timeout=120)
            remove_cluster_containers(engine, data)
            for container in made:
                container.remove(force=True)
    result = {"pods": args.pods,
              "pod_p50_s": round(statistics.median(pods), 3),
              "pod_p99_s": round(percentile(pods, 0.99), 3),
              "docker_p50_s": round(statistics.median(bare), 3),
              "docker_p99_s": round(percentile(bare, 0.99), 3)}
    result["p50_ratio"] = round(result["pod_p50_s"] / result["docker_p50_s"], 2)
    result["over_p50_ms"] = round(1000 * statistics.median(
        pod - docker for pod, docker in zip(pods, bare, strict=True)), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
