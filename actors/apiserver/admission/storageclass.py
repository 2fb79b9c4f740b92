"""The DefaultStorageClass admission plugin: a claim that names no class gets the default one.

Mutating, on PersistentVolumeClaim creation: a claim whose ``spec.storageClassName`` is unset
(not even ``""``, which asks for no class) and which has no beta class annotation is given the
cluster's default StorageClass (``storage.default_class_of``: the newest marked, as
kube-apiserver picks among several), so that the claim is stored, and shown, with its class.
No default class: the claim is stored as it came (the persistent volume controller gives it the
default made later, as Kubernetes' retroactive assignment).

The classes are read from the apiserver's in-memory Mirror (``ObjectAccess.list``), not the
store. Neighbours: ``admission`` (the chain), ``actors.api.storage`` (the rules),
``actors.controllers.persistentvolume`` (the retroactive assignment).
"""

from __future__ import annotations

from actors.api import storage
from actors.apiserver.admission.chain import AdmissionRequest, ObjectAccess

BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


class DefaultStorageClass:
    """See the module docstring."""

    name = "DefaultStorageClass"

    def __init__(self, access: ObjectAccess) -> None:
        self._access = access

    def admit(self, request: AdmissionRequest) -> None:
        """Give a claim that names no class the default one."""
        claim = request.object or {}
        spec = claim.get("spec")
        if request.info.name != storage.CLAIMS or request.operation != "CREATE" or \
                request.subresource or not isinstance(spec, dict):
            return
        annotations = (claim.get("metadata") or {}).get("annotations") or {}
        if spec.get("storageClassName") is not None or BETA_CLASS_ANNOTATION in annotations:
            return
        default = storage.default_class_of(self._access.list(storage.CLASSES, None))
        if default is not None:
            spec["storageClassName"] = default["metadata"]["name"]
