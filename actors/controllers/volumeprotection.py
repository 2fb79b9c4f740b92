"""Storage object in-use protection: a claim a pod still uses, and a volume still bound, are
not removed (kube-controller-manager's ``pvc-protection`` and ``pv-protection``).

Every claim gets the finalizer ``kubernetes.io/pvc-protection`` and every volume
``kubernetes.io/pv-protection`` (as the StorageObjectInUseProtection admission plugin adds them;
here the controller adds any that is missing). Once a claim is being deleted its finalizer is
removed when no pod that has not finished uses it (the cache says none, and so does a fresh
list of its namespace's pods, as Kubernetes asks the apiserver before letting go); a volume's
when it is no longer Bound.

Keys are claims and volumes; a pod's event queues the claims it uses.

Neighbours: ``actors.controllers.controller`` (the base), ``actors.api.volumebinding``
(``uses``), ``actors.controllers.persistentvolume`` (the binder), ``actors.controllers.manager``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from actors.api import storage
from actors.api import volumebinding as binding
from actors.api.objects import Object
from actors.controllers.controller import Controller, Key

FINALIZERS = {storage.CLAIMS: storage.CLAIM_PROTECTION,
              storage.VOLUMES: storage.VOLUME_PROTECTION}


class VolumeProtectionController(Controller):
    """See the module docstring."""

    component = "pvc-protection-controller"
    resources = (storage.CLAIMS, storage.VOLUMES, "pods")

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == "pods":
            namespace = obj["metadata"].get("namespace", "")
            return [Key(storage.CLAIMS, namespace, name) for name in binding.pod_claims(obj)]
        return [Key.of(obj)]

    def reconcile(self, key: Key) -> float | None:
        obj = self.cached(key)
        if obj is None:
            return None
        finalizer = FINALIZERS[key.resource]
        held = finalizer in (obj["metadata"].get("finalizers") or [])
        if not obj["metadata"].get("deletionTimestamp"):
            if not held:
                self._set(key.resource, obj, [*(obj["metadata"].get("finalizers") or []),
                                              finalizer])
            return None
        if held and not self._in_use(key, obj):
            self._set(key.resource, obj, [f for f in obj["metadata"]["finalizers"]
                                          if f != finalizer])
        return None

    def _in_use(self, key: Key, obj: Object) -> bool:
        if key.resource == storage.VOLUMES:
            return obj.get("status", {}).get("phase") == "Bound"
        if any(binding.uses(pod, key.name) for pod in self.listed("pods", key.namespace)):
            return True
        live = self.client.list("pods", key.namespace)["items"]
        return any(binding.uses(pod, key.name) for pod in live)

    def _set(self, resource: str, obj: Object, finalizers: list[str]) -> None:
        changed = copy.deepcopy(obj)
        changed["metadata"]["finalizers"] = finalizers
        self.remember(self.client.update(resource, changed))
