"""The persistent volume binder: claims bound to volumes, the phases of both, reclaim
(kube-controller-manager's ``persistentvolume-binder``).

Keys are claims and volumes. A claim's event queues it and the volume it names; a volume's
queues it and the claim its ``claimRef`` names; a StorageClass's queues the claims of that
class; a node's nothing (its labels are read when a claim waits on it).

A claim without ``spec.volumeName``:

- naming no class while a default class exists gets it (retroactive default class assignment);
- of a WaitForFirstConsumer class, waits until the scheduler names its node
  (``volume.kubernetes.io/selected-node``), then only volumes that node reaches may bind;
- binds the best fitting volume (``actors.api.volumebinding.best_volume``): the volume's
  ``claimRef`` is set, then the claim's ``volumeName`` with ``pv.kubernetes.io/bind-completed``,
  then both statuses (Bound);
- with none fitting and a class with a provisioner, is annotated
  ``volume.kubernetes.io/storage-provisioner`` for that provisioner (which makes a volume
  pre-bound to it: ``actors.storage.localpath``).

A claim naming its volume binds it when the volume is free, is Lost when the volume is gone
after it was Bound. A volume without claim is Available; one whose claim is gone is Released,
and with ``Delete`` reclaim left to its provisioner (or Failed when none made it, as a cluster
without a deleter plugin for it), with ``Retain`` kept.

Neighbours: ``actors.controllers.controller`` (the base), ``actors.api.volumebinding`` (the
decisions), ``actors.controllers.volumeprotection`` (the finalizers), ``actors.controllers.
manager`` (starts it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from actors.api import storage
from actors.api import volumebinding as binding
from actors.api.objects import Object
from actors.controllers.controller import Controller, Key
from bus.errors import NotFound

VOLUMES, CLAIMS, CLASSES = storage.VOLUMES, storage.CLAIMS, storage.CLASSES


class PersistentVolumeController(Controller):
    """See the module docstring."""

    component = "persistentvolume-controller"
    resources = (VOLUMES, CLAIMS, CLASSES, "nodes")

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == CLAIMS:  # and its volume: a claim gone releases it
            named = (obj.get("spec") or {}).get("volumeName")
            return [Key.of(obj), *([Key(VOLUMES, "", named)] if named else [])]
        if resource == VOLUMES:
            ref = (obj.get("spec") or {}).get("claimRef") or {}
            claim = [Key(CLAIMS, ref.get("namespace", ""), ref["name"])] if ref.get("name") \
                else []
            return [Key.of(obj), *claim]
        if resource == CLASSES:
            name = obj["metadata"]["name"]
            return [Key.of(c) for c in self.listed(CLAIMS) if storage.class_name(c) == name
                    or storage.is_default(obj)]
        return []

    def reconcile(self, key: Key) -> float | None:
        if key.resource == CLAIMS:
            claim = self.cached(key)
            if claim is not None:
                self._sync_claim(claim)
        else:
            volume = self.cached(key)
            if volume is not None:
                self._sync_volume(volume)
        return None

    # -- claims --------------------------------------------------------------------------------

    def _sync_claim(self, claim: Object) -> None:
        named = claim["spec"].get("volumeName")
        if not named:
            self._bind_new(claim)
            return
        volume = self.objects[VOLUMES].get(("", named))
        if volume is not None and not volume["spec"].get("claimRef"):
            if (why := binding.unsatisfied(volume, claim)) is None:
                self._bind(volume, claim)
            else:
                self._write_claim_status(claim, {"phase": "Pending"})
                self.record_event(claim, "Warning", "VolumeMismatch",
                                  f'Cannot bind to requested volume "{named}": {why}')
        elif volume is not None and not binding.refers_to(volume, claim):
            self._write_claim_status(claim, {"phase": "Pending"})
            self.record_event(claim, "Warning", "FailedBinding",
                              f'volume "{named}" already bound to a different claim.')
        else:
            if volume is not None:
                self._write_volume_status(volume, "Bound")
            self._write_claim_status(claim, binding.claim_status(claim, volume))

    def _bind_new(self, claim: Object) -> None:
        classes = {c["metadata"]["name"]: c for c in self.listed(CLASSES)}
        if claim["spec"].get("storageClassName") is None and not storage.class_name(claim):
            default = storage.default_class_of(list(classes.values()))
            if default is not None:
                claim = copy.deepcopy(claim)
                claim["spec"]["storageClassName"] = default["metadata"]["name"]
                self.remember(self.client.update(CLAIMS, claim))
                return
        node = self._selected_node(claim)
        waits = binding.waits_for_consumer(claim, classes)
        if waits and node is None:
            self.record_event(claim, "Normal", "WaitForFirstConsumer",
                              "waiting for first consumer to be created before binding")
            self._write_claim_status(claim, {"phase": "Pending"})
            return
        volume = binding.best_volume(claim, self.listed(VOLUMES), node if waits else None)
        if volume is not None:
            self._bind(volume, claim)
            return
        name = storage.class_name(claim)
        found = classes.get(name)
        if found is not None and found.get("provisioner"):
            self._ask_provisioner(claim, found["provisioner"])
        elif name and found is None:
            self.record_event(claim, "Warning", "ProvisioningFailed",
                              f'storageclass.storage.k8s.io "{name}" not found')
        elif not name:
            self.record_event(claim, "Normal", "FailedBinding",
                              "no persistent volumes available for this claim and no storage "
                              "class is set")
        self._write_claim_status(claim, {"phase": "Pending"})

    def _selected_node(self, claim: Object) -> tuple[str, dict[str, str]] | None:
        name = (claim["metadata"].get("annotations") or {}).get(storage.SELECTED_NODE)
        if not name:
            return None
        node = self.objects["nodes"].get(("", name)) or {"metadata": {}}
        return name, node["metadata"].get("labels") or {}

    def _ask_provisioner(self, claim: Object, provisioner: str) -> None:
        annotations = claim["metadata"].get("annotations") or {}
        if annotations.get(storage.PROVISIONER_ANNOTATION) == provisioner:
            return
        claim = copy.deepcopy(claim)
        claim["metadata"].setdefault("annotations", {}).update({
            storage.PROVISIONER_ANNOTATION: provisioner,
            storage.BETA_PROVISIONER_ANNOTATION: provisioner})
        self.remember(self.client.update(CLAIMS, claim))
        self.record_event(claim, "Normal", "ExternalProvisioning",
                          f"Waiting for a volume to be created either by the external "
                          f'provisioner "{provisioner}" or manually by the system '
                          "administrator. If volume creation is delayed, please verify that "
                          "the provisioner is running and correctly registered.")

    def _bind(self, volume: Object, claim: Object) -> None:
        """Volume first (its claimRef reserves it), then the claim, then both statuses."""
        if not binding.refers_to(volume, claim) or not volume["spec"]["claimRef"].get("uid"):
            volume = copy.deepcopy(volume)
            volume["spec"]["claimRef"] = binding.claim_ref(claim)
            volume["metadata"].setdefault("annotations", {})[storage.BOUND_BY_CONTROLLER] = "yes"
            volume = self.remember(self.client.update(VOLUMES, volume))
        name = volume["metadata"]["name"]
        annotations = claim["metadata"].get("annotations") or {}
        if claim["spec"].get("volumeName") != name or \
                annotations.get(storage.BIND_COMPLETED) != "yes":
            claim = copy.deepcopy(claim)
            if claim["spec"].get("volumeName") != name:
                claim["spec"]["volumeName"] = name
                claim["metadata"].setdefault("annotations", {})[
                    storage.BOUND_BY_CONTROLLER] = "yes"
            claim["metadata"].setdefault("annotations", {})[storage.BIND_COMPLETED] = "yes"
            claim = self.remember(self.client.update(CLAIMS, claim))
        self._write_volume_status(volume, "Bound")
        self._write_claim_status(claim, binding.claim_status(claim, volume))

    def _write_claim_status(self, claim: Object, status: Object) -> None:
        old = claim.get("status") or {}
        if all(old.get(k) == v for k, v in status.items()):
            return
        if old.get("phase") != "Lost" and status["phase"] == "Lost":
            self.record_event(claim, "Warning", "ClaimLost",
                              "Bound claim has lost its PersistentVolume. Data on the volume "
                              "is lost!")
        self.remember(self.client.update(CLAIMS, {**claim, "status": {**old, **status}},
                                         subresource="status"))

    # -- volumes -------------------------------------------------------------------------------

    def _sync_volume(self, volume: Object) -> None:
        ref = volume["spec"].get("claimRef") or {}
        claim = self._claim_of(ref) if ref.get("name") else None
        phase = binding.volume_phase(volume, claim)
        message = binding.reclaim_failure(volume) if phase == "Released" else None
        if message is not None:
            phase = "Failed"
            if volume.get("status", {}).get("phase") != "Failed":
                self.record_event(volume, "Warning", "VolumeFailedDelete", message)
        self._write_volume_status(volume, phase, message or "")

    def _claim_of(self, ref: Object) -> Object | None:
        """The claim a claimRef names: the cache's, else the apiserver's (a claim made a
        moment ago must not release its volume; Kubernetes asks the same way)."""
        found = self.objects[CLAIMS].get((ref.get("namespace", ""), ref["name"]))
        if found is not None:
            return found
        try:
            return self.remember(self.client.get(CLAIMS, ref["name"], ref.get("namespace")))
        except NotFound:
            return None

    def _write_volume_status(self, volume: Object, phase: str, message: str = "") -> None:
        old = volume.get("status") or {}
        if old.get("phase") == phase and old.get("message", "") == message:
            return
        status = {"phase": phase, **({"message": message} if message else {})}
        self.remember(self.client.update(VOLUMES, {**volume, "status": status},
                                         subresource="status"))
