"""Start a whole kubeactor cluster inside this Python process, run a pod, print its status.

    .venv/bin/python examples/quickstart.py [DATA_DIR]

Needs a Docker engine with busybox:1.35 (scripts/setup provides both).
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from actors.client.client import WatchEvent
from bindings.cluster import Cluster, ClusterConfig


def main(data_dir: Path) -> str:
    cluster = Cluster.start(ClusterConfig(data_dir=data_dir, nodes=1))
    try:
        client = cluster.admin_client()
        finished = threading.Event()
        phases: list[str] = []

        gone = threading.Event()

        def on_event(event: WatchEvent) -> None:  # runs on the bus thread: just record
            if event.type == "BOOKMARK":
                return
            phases.append(event.object.get("status", {}).get("phase", ""))
            if phases[-1] in ("Succeeded", "Failed"):
                finished.set()
            if event.type == "DELETED":
                gone.set()

        watch = client.watch("pods", on_event, namespace="default",
                             field_selector="metadata.name=hello")
        client.create("pods", {
            "metadata": {"name": "hello"},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "hello", "image": "busybox:1.35",
                "command": ["sh", "-c", "echo hello from kubeactor"]}]},
        })
        finished.wait(60)
        pod = client.get("pods", "hello")
        print(f"pod hello on {pod['spec'].get('nodeName')}: {pod['status']['phase']}")
        client.delete("pods", "hello")
        gone.wait(60)  # the kubelet removed the container and confirmed the deletion
        watch.stop()
        return str(pod["status"]["phase"])
    finally:
        cluster.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            main(Path(scratch))
