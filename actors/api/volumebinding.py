"""Which PersistentVolume a claim binds, and the phases both then show (kube-controller-manager's
persistent volume binder, ``pkg/controller/volume/persistentvolume``, and the scheduler's
VolumeBinding plugin share these decisions).

A volume fits a claim when it is not bound to another claim (a ``claimRef`` naming this claim
pre-binds it), its class is the claim's, its volume mode is the claim's, its access modes hold
all of the claim's, its capacity is at least the request, the claim's ``selector`` matches its
labels, and (when the claim waits for its first consumer) its node affinity admits the node the
scheduler picked. Among those that fit, a volume pre-bound to the claim wins, then the
smallest (Kubernetes' ``findBestMatchForClaim``).

Phases: a volume without a claim is Available, one bound to a live claim Bound, one whose claim
is gone Released (then its reclaim policy says what follows); a claim is Pending until bound,
Bound, and Lost when the volume it was bound to is gone.

Pure functions over plain dicts. Neighbours: ``actors.api.storage`` (the kinds),
``actors.controllers.persistentvolume`` (binds), ``actors.scheduler.volumebinding`` (filters
nodes).

Which thread: any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from actors.api import storage
from actors.api.objects import Object
from actors.api.placement import term_matches
from actors.api.selectors import selector_matches

Labels = Mapping[str, str]


def claim_ref(claim: Object) -> Object:
    """The ``claimRef`` a volume bound to ``claim`` carries."""
    metadata = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "namespace": metadata.get("namespace", ""), "name": metadata["name"],
            "uid": metadata.get("uid", "")}


def refers_to(volume: Object, claim: Object) -> bool:
    """Whether the volume's ``claimRef`` names this claim (same uid when it has one)."""
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    metadata = claim["metadata"]
    return (ref.get("name") == metadata["name"]
            and ref.get("namespace") == metadata.get("namespace")
            and ref.get("uid", "") in ("", metadata.get("uid")))


def admits(volume: Object, labels: Labels, node: str) -> bool:
    """Whether the volume's required node affinity lets ``node`` (with ``labels``) use it; a
    volume without one is reachable from every node."""
    required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    return any(term_matches(term, labels, node) for term in required.get("nodeSelectorTerms")
               or [])


def fits(volume: Object, claim: Object, node: tuple[str, Labels] | None = None) -> bool:
    """Whether ``volume`` may be bound to ``claim`` (see the module docstring); ``node``:
    the node (name, labels) the claim's first consumer goes to, when it waits for one."""
    spec, wants = volume.get("spec") or {}, claim.get("spec") or {}
    if spec.get("claimRef") and not refers_to(volume, claim):
        return False
    if volume.get("status", {}).get("phase") in ("Released", "Failed") \
            or volume["metadata"].get("deletionTimestamp"):
        return False
    if unsatisfied(volume, claim) is not None:
        return False
    selector = wants.get("selector")
    if selector and not selector_matches(selector, volume["metadata"].get("labels")):
        return False
    return node is None or admits(volume, node[1], node[0])


def unsatisfied(volume: Object, claim: Object) -> str | None:
    """Why ``volume`` cannot serve ``claim`` whatever else holds (class, size, access modes,
    volume mode; Kubernetes' checkVolumeSatisfyClaim words); None when it can."""
    spec, wants = volume.get("spec") or {}, claim.get("spec") or {}
    if (spec.get("storageClassName") or "") != storage.class_name(claim):
        return "storageClassName does not match"
    if storage.capacity(volume) < storage.requested(claim):
        return "requested PV is too small"
    if spec.get("volumeMode", "Filesystem") != wants.get("volumeMode", "Filesystem"):
        return "incompatible volumeMode"
    if not set(wants.get("accessModes") or []) <= set(spec.get("accessModes") or []):
        return "incompatible accessMode"
    return None


def best_volume(claim: Object, volumes: Iterable[Object],
                node: tuple[str, Labels] | None = None) -> Object | None:
    """The volume ``claim`` binds (see the module docstring); None when none fits. A claim
    naming its volume (``spec.volumeName``) gets that one or none."""
    named = (claim.get("spec") or {}).get("volumeName")
    fitting = [v for v in volumes if fits(v, claim, node)
               and (not named or v["metadata"]["name"] == named)]
    if not fitting:
        return None
    return min(fitting, key=lambda v: (not refers_to(v, claim), storage.capacity(v),
                                       v["metadata"]["name"]))


def volume_phase(volume: Object, claim: Object | None) -> str:
    """The phase ``volume`` should show, given the claim its ``claimRef`` names (None: that
    claim is gone, or it names none)."""
    ref = (volume.get("spec") or {}).get("claimRef")
    if not ref:
        return "Available"
    if claim is None or not refers_to(volume, claim):
        current = volume.get("status", {}).get("phase")
        return "Failed" if current == "Failed" else "Released" if ref.get("uid") else \
            "Available"
    bound = (claim.get("spec") or {}).get("volumeName") == volume["metadata"]["name"]
    return "Bound" if bound else "Available"


def reclaim_failure(volume: Object) -> str | None:
    """Why a Released volume becomes Failed (the controller has no deleter or recycler for
    it); None when it stays Released (Retain) or its provisioner deletes it."""
    spec = volume.get("spec") or {}
    policy = spec.get("persistentVolumeReclaimPolicy", "Retain")
    if policy == "Retain":
        return None
    if policy == "Delete" and volume["metadata"].get("annotations", {}).get(
            storage.PROVISIONED_BY):
        return None
    if policy == "Recycle":
        return "No recycler plugin found for the volume!"
    return (f'error getting deleter volume plugin for volume "{volume["metadata"]["name"]}": '
            "no deletable volume plugin matched")


def claim_status(claim: Object, volume: Object | None) -> Object:
    """The status a claim should show, given the volume it names (None: none, or gone)."""
    named = (claim.get("spec") or {}).get("volumeName")
    if volume is None or not refers_to(volume, claim):
        lost = bool(named) and volume is None and \
            claim.get("status", {}).get("phase") in ("Bound", "Lost")
        return {"phase": "Lost" if lost else "Pending"}
    spec = volume.get("spec") or {}
    return {"phase": "Bound", "accessModes": list(spec.get("accessModes") or []),
            "capacity": dict(spec.get("capacity") or {})}


def waits_for_consumer(claim: Object, classes: Mapping[str, Object]) -> bool:
    """Whether the claim's class delays binding until a pod using it is scheduled."""
    found = classes.get(storage.class_name(claim)) or {}
    return found.get("volumeBindingMode") == "WaitForFirstConsumer"


def pod_claims(pod: Object) -> list[str]:
    """The names of the claims the pod's volumes use (``persistentVolumeClaim`` ones)."""
    return [v["persistentVolumeClaim"]["claimName"]
            for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v.get("persistentVolumeClaim"), dict)
            and v["persistentVolumeClaim"].get("claimName")]


def uses(pod: Object, claim: str) -> bool:
    """Whether a pod that has not finished uses the claim (pvc-protection's test)."""
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed") \
        and claim in pod_claims(pod)
