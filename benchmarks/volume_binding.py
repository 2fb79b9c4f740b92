"""The persistent volume binder's throughput: static volumes bound to claims.

    .venv/bin/python benchmarks/volume_binding.py [--volumes 500]

Starts a control plane in this process (store, apiserver, scheduler, controller manager; no
kubelet), creates N PersistentVolumes of distinct sizes (1..N Gi, class ``bench``) and then N
claims asking 1..N Gi in reverse order, as fast as the API takes them, and follows the claims
with a watch until every one is Bound. ``claims_per_s`` is N over the time from the first claim
created to the last Bound; each claim costs the binder four writes (the volume's claimRef, the
claim's volumeName, both statuses) plus the protection controller's finalizers, so the
baseline is ``create_rps``, the raw create rate of the claims themselves. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import percentile

from actors.client.client import Client, WatchEvent
from bindings import kubeconfig
from bindings.cluster import Cluster, ClusterConfig
from bus import Connection


def _volume(i: int) -> dict:
    return {"metadata": {"name": f"pv-{i:05}"}, "spec": {
        "storageClassName": "bench", "capacity": {"storage": f"{i}Gi"},
        "accessModes": ["ReadWriteOnce"], "hostPath": {"path": f"/bench/{i}"}}}


def _claim(i: int) -> dict:
    return {"metadata": {"name": f"claim-{i:05}"}, "spec": {
        "storageClassName": "bench", "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{i}Gi"}}}}


def run(volumes: int, workdir: Path) -> dict:
    cluster = Cluster.start(ClusterConfig(data_dir=workdir / "up", nodes=0))
    config = kubeconfig.load(cluster.kubeconfig_path)
    connection = Connection(config.bus(), "bench").connect()
    try:
        client = Client(connection, config.token)
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: client.create("persistentvolumes", _volume(i), None),
                          range(1, volumes + 1)))
        bound_at: dict[str, float] = {}
        done = threading.Event()

        def on_event(event: WatchEvent) -> None:
            if event.object.get("status", {}).get("phase") == "Bound":
                bound_at.setdefault(event.object["metadata"]["name"], time.perf_counter())
                if len(bound_at) >= volumes:
                    done.set()

        watch = client.watch("persistentvolumeclaims", on_event, namespace="default")
        created_at: dict[str, float] = {}

        def create(i: int) -> None:
            claim = _claim(i)
            created_at[claim["metadata"]["name"]] = time.perf_counter()
            client.create("persistentvolumeclaims", claim)

        began = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(create, range(volumes, 0, -1)))
        created = time.perf_counter() - began
        assert done.wait(600), f"only {len(bound_at)} of {volumes} claims bound"
        watch.stop()
        latencies = sorted(bound_at[name] - created_at[name] for name in bound_at)
        return {"volumes": volumes, "create_rps": round(volumes / created, 1),
                "claims_per_s": round(volumes / (max(bound_at.values()) - began), 1),
                "bound_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
                "bound_p99_ms": round(percentile(latencies, 0.99) * 1000, 1)}
    finally:
        connection.close()
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        print(json.dumps(run(args.volumes, Path(workdir))))


if __name__ == "__main__":
    main()
