"""The local-path provisioner: k3s's ``rancher.io/local-path``, as an actor of the kubelet's
process (as the service proxy is), for the nodes of that process.

It follows claims, volumes and StorageClasses (informers, as the kubelet's node identity). A
claim of a class whose provisioner is ``rancher.io/local-path``, not bound, whose selected node
(``volume.kubernetes.io/selected-node``, the scheduler's) is one of this process's nodes, gets a
directory ``<node data dir>/storage/pvc-<uid>_<namespace>_<name>`` and a volume ``pvc-<uid>``:
``hostPath`` of that directory, node affinity to that node (``kubernetes.io/hostname``), the
claim's size and access modes, the class's reclaim policy, pre-bound to the claim (the binder
then binds both). A volume it made that is Released with ``Delete`` reclaim loses its directory,
then is deleted. Each decision is a pure function (:func:`wanted_volume`, :func:`to_remove`).

Neighbours: ``actors.api.storage`` (the names), ``bindings.storage`` (the directories),
``bindings.cluster.launcher`` (starts it beside the kubelet),
``actors.controllers.persistentvolume`` (binds what it makes).

Which thread: informer events arrive on the bus loop and are handed to the actor thread, which
makes directories and writes volumes.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, Protocol

from actors.api import storage
from actors.api import volumebinding as binding
from actors.api.objects import Object
from actors.client.client import Client, WatchEvent
from actors.client.informer import Informer
from bus.actor import BusActor
from bus.connection import Connection
from bus.errors import AlreadyExists, ApiError, NotFound

log = logging.getLogger(__name__)

REFRESH = object()
"""Local message: something followed changed; look again."""
HOSTNAME = storage.HOSTNAME


class Disk(Protocol):
    """Makes and removes the volumes' directories (``bindings.storage``)."""

    def make(self, path: Path) -> None:
        """Make the directory (and its parents), writable by any container user."""

    def remove(self, path: Path) -> None:
        """Remove the directory and all it holds; nothing when it is gone already."""


def volume_name(claim: Object) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def wanted_volume(claim: Object, storage_class: Object, base: Path) -> Object:
    """The volume the provisioner makes for ``claim`` under ``base`` (its node's storage
    dir), pre-bound to it."""
    metadata = claim["metadata"]
    node = metadata["annotations"][storage.SELECTED_NODE]
    path = base / f"{volume_name(claim)}_{metadata.get('namespace')}_{metadata['name']}"
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {
        "name": volume_name(claim),
        "annotations": {storage.PROVISIONED_BY: storage.LOCAL_PATH_PROVISIONER}},
        "spec": {
            "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
            "accessModes": list(claim["spec"].get("accessModes") or []),
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
            "storageClassName": storage_class["metadata"]["name"],
            "volumeMode": claim["spec"].get("volumeMode", "Filesystem"),
            "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
            "claimRef": binding.claim_ref(claim),
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME, "operator": "In", "values": [node]}]}]}}}}


def wants_provisioning(claim: Object, classes: dict[str, Object], nodes: set[str],
                       volumes: set[str]) -> bool:
    """Whether this provisioner makes a volume for ``claim`` now."""
    found = classes.get(storage.class_name(claim)) or {}
    node = (claim["metadata"].get("annotations") or {}).get(storage.SELECTED_NODE)
    return (found.get("provisioner") == storage.LOCAL_PATH_PROVISIONER
            and not claim["spec"].get("volumeName") and node in nodes
            and not claim["metadata"].get("deletionTimestamp")
            and volume_name(claim) not in volumes)


def to_remove(volume: Object, nodes: set[str]) -> str | None:
    """The directory of a volume this provisioner made on one of ``nodes`` that is Released
    with Delete reclaim (None: keep it)."""
    spec = volume.get("spec") or {}
    if (volume["metadata"].get("annotations") or {}).get(storage.PROVISIONED_BY) != \
            storage.LOCAL_PATH_PROVISIONER:
        return None
    if spec.get("persistentVolumeReclaimPolicy") != "Delete" or \
            volume.get("status", {}).get("phase") != "Released":
        return None
    return storage.path_of(volume) if storage.volume_nodes(volume) & nodes else None


class LocalPathProvisioner(BusActor):
    """See the module docstring. ``dirs``: each node of this process -> its storage dir;
    ``writers``: each node -> its client (a kubelet may make and delete only its own node's
    volumes: ``NodeRestriction``), ``client`` reads for them all."""

    def __init__(self, connection: Connection, client: Client, disk: Disk,
                 dirs: dict[str, Path], writers: dict[str, Client] | None = None) -> None:
        super().__init__(connection)
        self.client, self.disk, self.dirs = client, disk, dirs
        self.writers = writers or {}
        self._informers: dict[str, Informer] = {}
        self._seen: dict[str, dict[tuple[str, str], Object]] = {
            r: {} for r in (storage.CLAIMS, storage.VOLUMES, storage.CLASSES)}
        self._pending = False

    def on_start(self) -> None:
        super().on_start()
        for resource in self._seen:
            self._informers[resource] = Informer(self.client, resource, self._changed).start()

    def on_stop(self) -> None:
        for informer in self._informers.values():
            informer.stop()
        super().on_stop()

    def _changed(self, event: WatchEvent) -> None:  # bus loop thread: hand over
        self.tell_soon(event)

    def on_local(self, message: Any) -> Any:
        if isinstance(message, WatchEvent):
            obj = message.object
            found = self._seen[storage.KINDS[obj["kind"]]]
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if message.type == "DELETED":
                found.pop(key, None)
            else:
                found[key] = obj
            if not self._pending:
                self._pending = True
                self.tell_soon(REFRESH)
            return None
        if message is REFRESH:
            self._pending = False
            self._refresh()
            return None
        return super().on_local(message)

    def _refresh(self) -> None:
        classes = {k[1]: c for k, c in self._seen[storage.CLASSES].items()}
        volumes = {k[1]: v for k, v in self._seen[storage.VOLUMES].items()}
        nodes = set(self.dirs)
        for claim in list(self._seen[storage.CLAIMS].values()):
            if wants_provisioning(claim, classes, nodes, set(volumes)):
                self._provision(claim, classes[storage.class_name(claim)])
        for volume in volumes.values():
            path = to_remove(volume, nodes)
            if path is not None:
                self._delete(volume, Path(path), nodes)

    def _provision(self, claim: Object, storage_class: Object) -> None:
        node = claim["metadata"]["annotations"][storage.SELECTED_NODE]
        volume = wanted_volume(claim, storage_class, self.dirs[node])
        try:
            self.disk.make(Path(volume["spec"]["hostPath"]["path"]))
            with contextlib.suppress(AlreadyExists):
                self._writer(node).create(storage.VOLUMES, volume, None)
        except (ApiError, OSError) as failure:
            log.warning("provisioning %s failed: %s", volume_name(claim), failure)

    def _writer(self, node: str) -> Client:
        return self.writers.get(node, self.client)

    def _delete(self, volume: Object, path: Path, nodes: set[str]) -> None:
        writer = self._writer(min(storage.volume_nodes(volume) & nodes))
        try:
            self.disk.remove(path)
            with contextlib.suppress(NotFound):
                writer.delete(storage.VOLUMES, volume["metadata"]["name"], None)
        except (ApiError, OSError) as failure:
            log.warning("deleting %s failed: %s", volume["metadata"]["name"], failure)
