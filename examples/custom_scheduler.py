"""Run a second scheduler, with a plugin of its own, beside the default one.

    .venv/bin/python examples/custom_scheduler.py [DATA_DIR]

Starts a cluster on the simulated runtime (no Docker) with three nodes and labels node-3
``example.kubeactor.io/disk=fast``. Then starts ``my-scheduler``: the default plugins plus
``PreferLabel``, a Score plugin of this file that prefers nodes with that label. Pods that set
``spec.schedulerName: my-scheduler`` go through it; the others through the default scheduler.
Prints who placed each pod where, from the ``Scheduled`` Events.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.client.client import Client, WatchEvent
from actors.scheduler import (
    MAX_NODE_SCORE,
    SUCCESS,
    CycleState,
    NodeInfo,
    PodInfo,
    Scheduler,
    SchedulerConfig,
    Status,
    default_profile,
)
from bindings.cluster import Cluster, ClusterConfig
from bindings.cluster.identities import SCHEDULER
from bus import Connection

LABEL, VALUE = "example.kubeactor.io/disk", "fast"
PODS = {"fast-1": "my-scheduler", "fast-2": "my-scheduler", "fast-3": "my-scheduler",
        "plain-1": "default-scheduler"}


@dataclass
class PreferLabel:
    """Score plugin: full marks on nodes labelled ``key=value``, none elsewhere. Having a
    ``score`` method is all it takes to be a Score plugin; the framework finds it."""

    key: str
    value: str
    name: str = "PreferLabel"
    scored: set[str] = field(default_factory=set)
    """Pods this plugin has scored nodes for (shows they went through it)."""

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[int, Status]:
        """An integer in 0..MAX_NODE_SCORE and the shared SUCCESS (any other status fails
        the pod's cycle with Error)."""
        self.scored.add(pod.key)
        return (MAX_NODE_SCORE if node.labels.get(self.key) == self.value else 0), SUCCESS


def main(data_dir: Path) -> list[str]:
    cluster = Cluster.start(ClusterConfig(data_dir=data_dir, nodes=3, runtime="sim"))
    # As the scheduler's identity, on the bus (its NATS user) as towards the apiserver.
    connection = Connection(cluster.bus(SCHEDULER[0]), "my-scheduler").connect()
    scheduler = None
    try:
        admin = cluster.admin_client()
        fast = admin.get("nodes", "node-3", None)
        fast["metadata"].setdefault("labels", {})[LABEL] = VALUE
        admin.update("nodes", fast)

        client = Client(connection, cluster.token(SCHEDULER[0]))
        plugin = PreferLabel(LABEL, VALUE)
        profile = default_profile(client, extra=[plugin], weights={plugin.name: 10})
        scheduler = Scheduler.start(connection, client, SchedulerConfig(name="my-scheduler"),
                                    profile)

        lines = scheduled_lines(admin, plugin)
        for line in lines:
            print(line)
        return lines
    finally:
        if scheduler is not None:
            scheduler.stop()
        connection.close()
        cluster.stop()


def scheduled_lines(admin: Client, plugin: PreferLabel) -> list[str]:
    """Create the pods, wait for their Scheduled Events, say who placed each where."""
    seen: dict[str, dict[str, Any]] = {}
    done = threading.Event()

    def on_event(event: WatchEvent) -> None:  # the bus thread: only record
        obj = event.object
        if obj.get("reason") == "Scheduled" and obj["involvedObject"]["name"] in PODS:
            seen[obj["involvedObject"]["name"]] = obj
            if len(seen) == len(PODS):
                done.set()

    watch = admin.watch("events", on_event, namespace="default")
    try:
        for name, scheduler_name in PODS.items():
            admin.create("pods", {"metadata": {"name": name}, "spec": {
                "schedulerName": scheduler_name,
                "containers": [{"name": "app", "image": "busybox:1.35"}]}})
        if not done.wait(60):
            raise SystemExit(f"not all pods were scheduled: {sorted(seen)}")
    finally:
        watch.stop()
    return [f"{name}: {seen[name]['source']['component']} put it on "
            f"{admin.get('pods', name)['spec']['nodeName']}"
            f"{' (PreferLabel scored it)' if f'default/{name}' in plugin.scored else ''}"
            for name in sorted(PODS)]


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            main(Path(scratch))
