"""Pod GC of orphans (actors/controllers/podgc.py): their status write, the quarantine of the
node names they are bound to."""

from __future__ import annotations

from types import SimpleNamespace

from actors.api.discovery import Served
from actors.client.watching import WatchEvent
from actors.controllers.controller import ControllerConfig, Key
from actors.controllers.podgc import PodGCController, orphan_failed
from bus.errors import NotFound


def test_an_orphan_that_has_not_ended_is_failed_as_a_disruption_target():
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}]}}
    failed = orphan_failed(pod)
    assert failed is not None and failed["status"]["phase"] == "Failed"
    target = failed["status"]["conditions"][1]
    assert (target["type"], target["status"], target["reason"], target["message"]) == (
        "DisruptionTarget", "True", "DeletionByPodGC", "PodGC: node no longer exists")
    assert pod["status"]["phase"] == "Running" and len(pod["status"]["conditions"]) == 1


def test_an_orphan_that_ended_keeps_its_status():
    assert orphan_failed({"metadata": {"name": "p"}, "status": {"phase": "Succeeded"}}) is None


class Collector(PodGCController):
    """Pod GC on a cache fed by hand; the apiserver has no node, and deletes what it is told."""

    def __init__(self) -> None:
        super().__init__(SimpleNamespace(subjects=None), SimpleNamespace(  # type: ignore[arg-type]
            get=self._no_node, update=lambda *_, **__: None, delete=self._deleted,
            served=Served()), ControllerConfig(workers=1), quarantine_seconds=0)
        self.deleted: list[str] = []

    @staticmethod
    def _no_node(resource: str, name: str, namespace: str | None) -> dict:
        raise NotFound(f'nodes "{name}" not found')

    def _deleted(self, resource: str, name: str, namespace: str, grace_period: int) -> None:
        self.deleted.append(name)


def bound(name: str, node: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running"},
            "metadata": {"name": name, "namespace": "default", "uid": name,
                         "resourceVersion": "1"}, "spec": {"nodeName": node}}


def test_a_node_name_gone_for_good_is_forgotten_once_its_last_orphan_is_gone():
    """The quarantine of a node name lasts while pods are bound to it: once they are
    deleted, the name is not kept (a cluster that loses many nodes over time would keep them
    all), and a pod bound to that name much later gets a quarantine of its own."""
    gc = Collector()
    try:
        for name in ("a", "b"):
            gc._observe(WatchEvent("ADDED", bound(name, "gone-node")))
        gc.reconcile(Key("pods", "default", "a"))
        gc._observe(WatchEvent("DELETED", bound("a", "gone-node")))
        assert "gone-node" in gc.missing  # "b" is still bound to it
        gc.reconcile(Key("pods", "default", "b"))
        gc._observe(WatchEvent("DELETED", bound("b", "gone-node")))
    finally:
        gc.pool.shutdown()
    assert gc.deleted == ["a", "b"]
    assert gc.missing == {}
