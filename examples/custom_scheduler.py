"""Run a second scheduler, with a plugin of its own, beside the default one.

    .venv/bin/python examples/custom_scheduler.py [DATA_DIR]

Starts a cluster on the simulated runtime (no Docker) with three nodes and labels node-3
``example.kubeactor.io/disk=fast``. Then starts ``my-scheduler`` in one call
(``cluster.start_scheduler``, as the scheduler's own certificate identity): the default plugins
plus ``PreferLabel``, a Score plugin of this file that prefers nodes with that label, weighted
10 (a weight's key is the plugin's ``name``). Pods that set ``spec.schedulerName:
my-scheduler`` go through it; the others through the default scheduler. Prints who placed each
pod where, from the ``Scheduled`` Events.

The same plugin in a scheduler process of its own, beside any cluster:

    kubeactor scheduler --kubeconfig DATA_DIR/scheduler.kubeconfig \
        --scheduler-name my-scheduler --plugin custom_scheduler:PreferLabel \
        --weight PreferLabel=10

(with this directory on PYTHONPATH). ``test_custom_scheduler.py`` beside it tests the plugin
offline, without a cluster.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors import ext
from actors.client.client import Client, WatchEvent
from bindings.cluster import Cluster, ClusterConfig

LABEL, VALUE = "example.kubeactor.io/disk", "fast"
PODS = {"fast-1": "my-scheduler", "fast-2": "my-scheduler", "fast-3": "my-scheduler",
        "plain-1": "default-scheduler"}


@dataclass
class PreferLabel(ext.ScorePlugin):
    """Score plugin: full marks on nodes labelled ``key=value``, none elsewhere. Declaring
    ``ext.ScorePlugin`` has the class checked when it is defined (a misspelt ``scores`` is
    refused with "did you mean score()?"); having a ``score`` method is what the framework
    calls."""

    key: str = LABEL
    value: str = VALUE
    name: str = "PreferLabel"
    scored: set[str] = field(default_factory=set)
    """Pods this plugin has scored nodes for (shows they went through it)."""

    def score(self, state: ext.CycleState, pod: ext.PodInfo,
              node: ext.NodeInfo) -> tuple[int, ext.Status]:
        """An integer in 0..MAX_NODE_SCORE and the shared SUCCESS. Anything else (raising,
        returning None or a bare int) fails the pod's cycle with an Error naming this plugin
        and the node: a FailedScheduling Event, and a retry after a back-off."""
        self.scored.add(pod.key)
        return (ext.MAX_NODE_SCORE if node.labels.get(self.key) == self.value else 0), \
            ext.SUCCESS


def main(data_dir: Path) -> list[str]:
    cluster = Cluster.start(ClusterConfig(data_dir=data_dir, nodes=3, runtime="sim"))
    try:
        admin = cluster.admin_client()
        fast = admin.get("nodes", "node-3", None)
        fast["metadata"].setdefault("labels", {})[LABEL] = VALUE
        admin.update("nodes", fast)

        plugin = PreferLabel()
        scheduler = cluster.start_scheduler("my-scheduler", plugins=[plugin],
                                            weights={plugin.name: 10})
        lines = scheduled_lines(admin, plugin)
        for line in lines:
            print(line)
        scheduler.stop()
        return lines
    finally:
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
