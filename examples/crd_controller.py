"""Write your own resource and its controller: a CustomResourceDefinition and a ``Controller``
actor that reconciles it into pods.

    .venv/bin/python examples/crd_controller.py [DATA_DIR]

Starts a one-node cluster on the simulated runtime (no Docker needed), creates the CRD of
``PodSet`` (``podsets.demo.kubeactor.io``: ``spec.replicas`` pods of ``spec.image``, defaulted
by its schema; a ``status`` subresource; printer columns), and starts :class:`PodSetController`
(kubeactor's ``Controller``: informers on podsets and pods, a work queue, a level-based
``reconcile``). It then creates a PodSet of two, waits for both pods to be ready, shows the
table, scales it to one, and deletes it: its pods go with it (their ownerReference to it, and
the garbage collector).
"""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from actors.api.meta import controller_ref, owner_reference
from actors.api.objects import Object
from actors.api.pods import is_pod_ready
from actors.client.client import Client, WatchEvent
from actors.controllers.controller import Controller, Key
from bindings.cli import printers
from bindings.cluster import Cluster, ClusterConfig

GROUP = "demo.kubeactor.io"
PODSETS = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"podsets.{GROUP}"},
    "spec": {
        "group": GROUP, "scope": "Namespaced",
        "names": {"plural": "podsets", "singular": "podset", "kind": "PodSet"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "additionalPrinterColumns": [
                {"name": "Desired", "type": "integer", "jsonPath": ".spec.replicas"},
                {"name": "Ready", "type": "integer", "jsonPath": ".status.ready"}],
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer", "minimum": 0, "default": 1},
                    "image": {"type": "string", "default": "busybox:1.35"}}},
                "status": {"type": "object", "properties": {
                    "ready": {"type": "integer"}}}}}},
        }],
    },
}


class PodSetController(Controller):
    """Keeps ``spec.replicas`` pods of each PodSet, and its ``status.ready`` true."""

    component = "podset-controller"
    resources = ("podsets", "pods")

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == "podsets":
            return super().keys_for(resource, obj, event)
        owner = controller_ref(obj)  # a pod: its PodSet's key, if it has one
        if owner is None or owner.get("kind") != "PodSet":
            return []
        return [Key("podsets", obj["metadata"].get("namespace", ""), owner["name"])]

    def reconcile(self, key: Key) -> float | None:
        podset = self.cached(key)
        if podset is None or podset["metadata"].get("deletionTimestamp"):
            return None  # its pods go with it: the garbage collector follows their owner
        pods = [pod for pod in self.listed("pods", key.namespace)
                if (controller_ref(pod) or {}).get("uid") == podset["metadata"]["uid"]
                and not pod["metadata"].get("deletionTimestamp")]
        wanted = int(podset["spec"]["replicas"])
        for _ in range(wanted - len(pods)):
            self.remember(self.client.create("pods", pod_of(podset), key.namespace))
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"])[wanted:]:
            self.client.delete("pods", pod["metadata"]["name"], key.namespace)
        ready = sum(is_pod_ready(pod) for pod in pods[:wanted])
        if (podset.get("status") or {}).get("ready") != ready:
            self.remember(self.client.update("podsets", {**podset, "status": {"ready": ready}},
                                             subresource="status"))
        return None


def pod_of(podset: Object) -> Object:
    name = podset["metadata"]["name"]
    return {"metadata": {"generateName": f"{name}-", "labels": {"podset": name},
                         "ownerReferences": [owner_reference(podset)]},
            "spec": {"containers": [{"name": "main", "image": podset["spec"]["image"],
                                     "command": ["sleep", "3600"]}]}}


def wait_until(client: Client, resource: str, done: Callable[[list[Object]], bool]) -> None:
    """Block until ``done`` holds of the objects of ``resource`` in ``default``, looked at
    after every watch event (no polling)."""
    objects: dict[str, Object] = {}
    reached = threading.Event()

    def on_event(event: WatchEvent) -> None:
        if event.type == "DELETED":
            objects.pop(event.object["metadata"]["name"], None)
        elif event.type in ("ADDED", "MODIFIED"):
            objects[event.object["metadata"]["name"]] = event.object
        if done(list(objects.values())):
            reached.set()

    watch = client.watch(resource, on_event, namespace="default")
    try:
        if not reached.wait(120) and not done(client.list(resource, "default")["items"]):
            raise TimeoutError(f"{resource} never reached the state waited for")
    finally:
        watch.stop()


def ready_pods(count: int) -> Callable[[list[Object]], bool]:
    return lambda pods: sum(is_pod_ready(p) for p in pods) == count == len(pods)


def main(data_dir: Path) -> None:
    cluster = Cluster.start(ClusterConfig(data_dir=data_dir, nodes=1, runtime="sim"))
    admin = cluster.admin_client()
    admin.create("customresourcedefinitions", PODSETS, None)
    controller_client = cluster.admin_client("podset-controller")
    controller = PodSetController.start(controller_client.connection, controller_client)
    try:
        admin.create("podsets", {"apiVersion": f"{GROUP}/v1", "kind": "PodSet",
                                 "metadata": {"name": "web"}, "spec": {"replicas": 2}})
        wait_until(admin, "podsets", lambda sets: any(
            (s.get("status") or {}).get("ready") == 2 for s in sets))
        wait_until(admin, "pods", ready_pods(2))
        print(printers.table(admin.info("podsets"), admin.list("podsets", "default")["items"]))
        web = admin.get("podsets", "web")
        admin.update("podsets", {**web, "spec": {**web["spec"], "replicas": 1}})
        wait_until(admin, "pods", ready_pods(1))
        print("scaled to 1: 1 pod left")
        admin.delete("podsets", "web")
        wait_until(admin, "pods", lambda pods: not pods)
        print("deleted: its pods are gone")
    finally:
        controller.stop()
        cluster.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            main(Path(scratch))
