"""Fuzz through a whole cluster (issue 15): seeded mutations of valid pods, ConfigMaps,
ReplicaSets, Deployments and Nodes sent to a running control plane with its scheduler, its
controllers and simulated kubelets. Every object is refused with a 4xx or handled: no
component logs an exception, and no pod is left Pending without an event or a condition that
says why."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api.objects import Object
from actors.client.client import Client, WatchEvent
from bindings.cluster import Cluster, ClusterConfig
from bus.errors import ApiError
from tests.conftest import node
from tests.unit.actors.api.test_fuzz import JUNK, mutated
from tests.unit.actors.api.test_schema import _doc_pod, _workload

pytestmark = pytest.mark.integration

SEED = 15
ROUNDS = 200
"""Each round sends one mutation of every valid object below."""
CONFIGMAPS = 20
"""The kubelet's pod of round ``i`` reads ConfigMap ``fuzz-<i % CONFIGMAPS>``."""
WIRE_JUNK = tuple(2**40 if value == 2**70 else value for value in JUNK)
"""msgpack carries 64 bits: a bigger integer never leaves the client."""
SAID = frozenset({"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "CrashLoopBackOff",
                  "CreateContainerConfigError", "CreateContainerError", "InvalidImageName"})
"""Waiting reasons that say by themselves why a container does not run."""


def _kubelet_pod(index: int) -> Object:
    """A pod whose containers take what the kubelet resolves: ConfigMap and Secret keys as
    env and files, the downward API, a projected volume, an exec probe."""
    config = _configmap(index)["metadata"]["name"]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"kubelet-{index}", "labels": {"app": "k"}},
        "spec": {
            "containers": [{
                "name": "app", "image": "busybox:1.35", "command": ["sh", "-c", "sleep 1d"],
                "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {
                            "name": config, "key": "mode"}}},
                        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {
                            "name": "fuzz", "key": "token", "optional": True}}},
                        {"name": "APP", "valueFrom": {"fieldRef": {
                            "fieldPath": "metadata.labels['app']"}}},
                        {"name": "MEMORY", "valueFrom": {"resourceFieldRef": {
                            "resource": "limits.memory", "divisor": "1Mi"}}}],
                "envFrom": [{"configMapRef": {"name": config}, "prefix": "CFG_"}],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                              "limits": {"memory": "64Mi"}},
                "startupProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/config"},
                                 {"name": "info", "mountPath": "/etc/info"},
                                 {"name": "all", "mountPath": "/etc/all"}],
            }],
            "volumes": [
                {"name": "config", "configMap": {"name": config, "defaultMode": 0o644,
                                                 "items": [{"key": "mode", "path": "mode"}]}},
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                    {"path": "cpu", "resourceFieldRef": {
                        "containerName": "app", "resource": "requests.cpu", "divisor": "1m"}}]}},
                {"name": "all", "projected": {"sources": [
                    {"secret": {"name": "fuzz", "optional": True}},
                    {"configMap": {"name": config}}]}}],
            "restartPolicy": "OnFailure", "nodeSelector": {"kubernetes.io/os": "linux"},
        },
    }


def _configmap(index: int) -> Object:
    """The ConfigMap the kubelet's pod of round ``index`` reads."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"fuzz-{index % CONFIGMAPS}"},
            "data": {"mode": "prod", "game.properties": "lives=3\n"}}


def _node(index: int) -> Object:
    """A node without a kubelet, tainted so that only a mutation brings pods to it."""
    fake = node(f"fuzz-{index}")
    fake["metadata"]["labels"] = {"disktype": "ssd", "kubernetes.io/hostname": "fake"}
    fake["spec"] = {"taints": [{"key": "fuzz/no-kubelet", "effect": "NoSchedule"}]}
    return fake


def _named(make: Callable[[], Object], index: int) -> Object:
    obj = make()
    obj["metadata"]["name"] = f"fuzz-{index}"
    return obj


VALID: list[tuple[str, Callable[[int], Object]]] = [
    ("configmaps", _configmap), ("pods", lambda i: _named(_doc_pod, i)), ("pods", _kubelet_pod),
    ("replicasets", lambda i: _named(lambda: _workload("ReplicaSet"), i)),
    ("deployments", lambda i: _named(lambda: _workload("Deployment"), i)), ("nodes", _node)]
"""What each round mutates: resource, the valid object of round ``i``."""


class Records(logging.Handler):
    """Every record at WARNING and above, from every component of the process."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Watched:
    """The pods and ReplicaSets of ``default`` and the Warning events about them, as watches
    tell them; ``settled`` is set while every one is handled or says why not."""

    def __init__(self, client: Client) -> None:
        self.objects: dict[str, Object] = {}
        self.warned: dict[str, str] = {}
        self.nodes = {"node-1", "node-2"}
        self.settled = threading.Event()
        self._lock = threading.Lock()
        self._watches = [client.watch(resource, self._seen, namespace="default")
                         for resource in ("pods", "replicasets", "events")]

    def _seen(self, event: WatchEvent) -> None:
        obj = event.object
        with self._lock:
            if obj.get("kind") == "Event":
                if obj.get("type") == "Warning":
                    involved = obj.get("involvedObject") or {}
                    self.warned[involved.get("uid", "")] = obj.get("reason", "")
            elif event.type == "DELETED":
                self.objects.pop(obj["metadata"]["uid"], None)
            else:
                self.objects[obj["metadata"]["uid"]] = obj
            if self.unexplained():
                self.settled.clear()
            else:
                self.settled.set()

    def unexplained(self) -> list[Object]:
        return [obj for uid, obj in self.objects.items()
                if uid not in self.warned and not explained(obj, self.nodes)]

    def quiet(self, timeout: float) -> list[Object]:
        """Wait (up to ``timeout`` seconds) for a moment when every object is explained;
        those that are not at the end."""
        self.settled.wait(timeout)
        with self._lock:
            return self.unexplained()

    def stop(self) -> None:
        for watch in self._watches:
            watch.stop()


def explained(obj: Object, kubelets: set[str]) -> bool:
    """Whether a ReplicaSet has its replicas, or a pod runs or ran, or its status says why it
    does not: unschedulable, a container waiting with a reason that says it, bound to a node
    without a kubelet."""
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    if obj.get("kind") == "ReplicaSet":
        return status.get("replicas", 0) == spec.get("replicas", 1)
    if status.get("phase") in ("Running", "Succeeded", "Failed"):
        return True
    if spec.get("nodeName") and spec["nodeName"] not in kubelets:
        return True
    if any(c.get("type") == "PodScheduled" and c.get("status") == "False"
           for c in status.get("conditions") or []):
        return True
    containers = [*(status.get("initContainerStatuses") or []),
                  *(status.get("containerStatuses") or [])]
    return any("running" in c.get("state", {}) or "terminated" in c.get("state", {})
               or c.get("state", {}).get("waiting", {}).get("reason") in SAID
               or c.get("state", {}).get("waiting", {}).get("message")
               for c in containers)


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def sim_cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path / "sim", nodes=2, runtime="sim",
                                          node_cpu="64", node_memory="256Gi",
                                          backoff_base=0.5))
    yield cluster
    cluster.stop()


def _prepare(admin: Client) -> None:
    """What the valid objects need: node-1 labelled as the docs' pod asks, its
    PriorityClass, the Secret the kubelet's pod reads."""
    first = admin.get("nodes", "node-1", None)
    first["metadata"]["labels"].update({"disktype": "ssd",
                                        "topology.kubernetes.io/zone": "antarctica-east1"})
    admin.update("nodes", first)
    admin.create("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1",
                                     "kind": "PriorityClass", "metadata": {"name": "high"},
                                     "value": 1000}, None)
    admin.create("secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fuzz"},
                             "stringData": {"token": "t0p"}})


def _send(admin: Client, resource: str, body: Any) -> bool:
    """Create ``body``: True when accepted, False when refused with a 4xx."""
    try:
        admin.create(resource, body, None if resource == "nodes" else "default")
    except ApiError as error:
        assert 400 <= error.code < 500, f"{resource}: {error}"
        return False
    return True


def test_mutated_objects_are_refused_or_handled_by_every_component(sim_cluster, records):
    admin = sim_cluster.admin_client()
    _prepare(admin)
    rng = random.Random(SEED)
    watched = Watched(admin)
    try:
        accepted = {resource: 0 for resource, _ in VALID}
        for index in range(ROUNDS):
            for resource, valid in VALID:
                accepted[resource] += _send(admin, resource,
                                            mutated(rng, valid(index), WIRE_JUNK))
        assert all(accepted.values()), accepted  # every kind got through at least once
        left = watched.quiet(45)
    finally:
        watched.stop()
    failures = [f"{r.name}: {r.getMessage()}" for r in records.records
                if r.exc_info or r.levelno >= logging.ERROR]
    assert not failures, "\n".join(failures[:20])
    assert not left, [(obj["kind"], obj["metadata"]["name"], obj.get("status"))
                      for obj in left[:5]]
