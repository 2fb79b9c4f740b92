"""Storage kinds: ``v1`` PersistentVolume and PersistentVolumeClaim, ``storage.k8s.io/v1``
StorageClass — their defaults, their checks (kube-apiserver's words), and the cells kubectl
prints for them.

A PersistentVolume is cluster-scoped: one volume source (here ``hostPath`` and ``local`` are
the ones a node can mount; the others are stored, as a cluster without their plugins stores
them), a ``capacity.storage``, ``accessModes``, a reclaim policy (Retain unless set), and for a
``local`` volume the node affinity saying where it is. A claim asks for at least
``resources.requests.storage`` with some access modes, of a class (a claim naming none gets the
default class at admission), perhaps a ``selector`` or a ``volumeName``. A StorageClass names
its ``provisioner``, its ``reclaimPolicy`` (Delete unless set) and its ``volumeBindingMode``
(Immediate unless set; WaitForFirstConsumer delays binding until the scheduler picks a node).

Pure functions over plain dicts. Neighbours: ``actors.api.volumebinding`` (which claim binds
which volume), ``actors.api.validation`` (registers the checks), ``actors.api.columns`` (the
cells), ``actors.controllers.persistentvolume`` (binds), ``actors.storage`` (provisions).

Which thread: any.
"""

from __future__ import annotations

from typing import Any

from actors.api.objects import Object
from actors.api.quantity import parse_quantity
from actors.api.selectors import selector_requirements

VOLUMES, CLAIMS, CLASSES = "persistentvolumes", "persistentvolumeclaims", "storageclasses"
GROUP = "storage.k8s.io"
KINDS = {"PersistentVolumeClaim": CLAIMS, "PersistentVolume": VOLUMES, "StorageClass": CLASSES}
"""Resource by kind."""
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
ACCESS_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                "ReadWriteOncePod": "RWOP"}
"""kubectl's abbreviations in the ACCESS MODES column."""
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
CLASS_RECLAIM_POLICIES = ("Delete", "Retain")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
VOLUME_MODES = ("Block", "Filesystem")
NODE_MOUNTED = ("hostPath", "local")
"""The volume sources a kubelet here mounts (a directory of the node)."""
SOURCES = ("hostPath", "local", "nfs", "csi", "iscsi", "fc", "cephfs", "rbd", "glusterfs",
           "awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile", "cinder",
           "flexVolume", "flocker", "photonPersistentDisk", "portworxVolume", "quobyte",
           "scaleIO", "storageos", "vsphereVolume")
"""PersistentVolume sources (PersistentVolumeSource's fields)."""
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
"""Set on a WaitForFirstConsumer claim by the scheduler: the node its first pod goes to."""
PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"
BETA_PROVISIONER_ANNOTATION = "volume.beta.kubernetes.io/storage-provisioner"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
CLAIM_PROTECTION = "kubernetes.io/pvc-protection"
VOLUME_PROTECTION = "kubernetes.io/pv-protection"
HOSTNAME = "kubernetes.io/hostname"
LOCAL_PATH = "local-path"
"""The default StorageClass every cluster starts with (k3s's)."""
LOCAL_PATH_PROVISIONER = "rancher.io/local-path"
"""Its provisioner's name: k3s's, so that manifests written for k3s find it."""


def default_volume(volume: Object) -> None:
    """SetDefaults_PersistentVolume: Retain, Filesystem, phase Pending; a ``hostPath``'s
    ``type`` "" (SetDefaults_HostPathVolumeSource)."""
    spec = volume.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        if isinstance(host := spec.get("hostPath"), dict):
            host.setdefault("type", "")
    status = volume.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Pending")


def default_claim(claim: Object) -> None:
    """SetDefaults_PersistentVolumeClaim: Filesystem, phase Pending."""
    spec = claim.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
    status = claim.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Pending")


def default_class(storage_class: Object) -> None:
    """SetDefaults_StorageClass: Delete, Immediate."""
    storage_class.setdefault("reclaimPolicy", "Delete")
    storage_class.setdefault("volumeBindingMode", "Immediate")


def _unsupported(at: str, value: Any, supported: tuple[str, ...]) -> str:
    return (f'{at}: Unsupported value: "{value}": supported values: '
            + ", ".join(f'"{s}"' for s in supported))


def _modes_problems(at: str, spec: Object) -> list[str]:
    modes = spec.get("accessModes") or []
    if not modes:
        return [f"{at}.accessModes: Required value: at least 1 access mode is required"]
    found = [_unsupported(f"{at}.accessModes", mode, ACCESS_MODES)
             for mode in modes if mode not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        found.append(f'{at}.accessModes: Forbidden: may not use ReadWriteOncePod with other '
                     "access modes")
    if spec.get("volumeMode", "Filesystem") not in VOLUME_MODES:
        found.append(_unsupported(f"{at}.volumeMode", spec["volumeMode"], VOLUME_MODES))
    return found


def _storage_problems(at: str, amounts: Any) -> list[str]:
    """``at`` must hold a positive ``storage`` quantity."""
    value = (amounts or {}).get("storage") if isinstance(amounts, dict) else None
    if value is None:
        return [f"{at}: Required value"]
    try:
        if parse_quantity(value) <= 0:
            return [f'{at}: Invalid value: "{value}": must be greater than zero']
    except ValueError:
        return []  # the schema's quantity check said it
    return []


def volume_problems(volume: Object) -> list[str]:
    """ValidatePersistentVolume, in kube-apiserver's words."""
    spec = volume.get("spec") or {}
    found = _modes_problems("spec", spec)
    capacity = spec.get("capacity")
    if not capacity:
        found.append("spec.capacity: Required value")
    else:
        found += [_unsupported("spec.capacity", key, ("storage",))
                  for key in capacity if key != "storage"]
        found += _storage_problems("spec.capacity[storage]", capacity)
    policy = spec.get("persistentVolumeReclaimPolicy", "Retain")
    if policy not in RECLAIM_POLICIES:
        found.append(_unsupported("spec.persistentVolumeReclaimPolicy", policy,
                                  RECLAIM_POLICIES))
    sources = [name for name in SOURCES if spec.get(name) is not None]
    if not sources:
        found.append("spec: Required value: must specify a volume type")
    found += [f"spec.{name}: Forbidden: may not specify more than 1 volume type"
              for name in sources[1:]]
    for name in set(sources) & set(NODE_MOUNTED):
        if not (spec[name] or {}).get("path"):
            found.append(f"spec.{name}.path: Required value")
    if "local" in sources and not (spec.get("nodeAffinity") or {}).get("required"):
        found.append("spec.nodeAffinity: Required value: Local volume requires node affinity")
    return found


def claim_problems(claim: Object) -> list[str]:
    """ValidatePersistentVolumeClaim, in kube-apiserver's words."""
    spec = claim.get("spec") or {}
    found = _modes_problems("spec", spec)
    requests = (spec.get("resources") or {}).get("requests")
    found += _storage_problems("spec.resources[storage]", requests)
    try:
        selector_requirements(spec.get("selector") or {})
    except (ValueError, TypeError, AttributeError) as error:
        found.append(f"spec.selector: Invalid value: {error}")
    return found


def template_problems(at: str, template: Object) -> list[str]:
    """A StatefulSet's claim template at ``at``: a name, and a claim's checks."""
    found = [] if (template.get("metadata") or {}).get("name") else [
        f"{at}.metadata.name: Required value: name or generateName is required"]
    return found + [f"{at}.{problem}" for problem in claim_problems(template)]


def class_problems(storage_class: Object) -> list[str]:
    """ValidateStorageClass, in kube-apiserver's words."""
    found = []
    if not storage_class.get("provisioner"):
        found.append("provisioner: Required value")
    policy = storage_class.get("reclaimPolicy", "Delete")
    if policy not in CLASS_RECLAIM_POLICIES:
        found.append(_unsupported("reclaimPolicy", policy, CLASS_RECLAIM_POLICIES))
    mode = storage_class.get("volumeBindingMode", "Immediate")
    if mode not in BINDING_MODES:
        found.append(_unsupported("volumeBindingMode", mode, BINDING_MODES))
    return found


# -- what the others read ------------------------------------------------------------------------


def is_default(storage_class: Object) -> bool:
    """Whether the class is marked the cluster's default (either annotation)."""
    annotations = storage_class.get("metadata", {}).get("annotations") or {}
    return "true" in (annotations.get(DEFAULT_CLASS_ANNOTATION),
                      annotations.get(BETA_DEFAULT_CLASS_ANNOTATION))


def default_class_of(classes: list[Object]) -> Object | None:
    """The default class, as the DefaultStorageClass admission plugin picks it among several
    marked: the newest, then the first by name."""
    marked = [c for c in classes if is_default(c)]
    if not marked:
        return None
    newest = max(c["metadata"].get("creationTimestamp", "") for c in marked)
    return min((c for c in marked if c["metadata"].get("creationTimestamp", "") == newest),
               key=lambda c: str(c["metadata"]["name"]))


def class_name(claim: Object) -> str:
    """The claim's class ("" for none): ``spec.storageClassName``, else the beta annotation
    Kubernetes still reads first."""
    annotations = claim.get("metadata", {}).get("annotations") or {}
    beta = annotations.get("volume.beta.kubernetes.io/storage-class")
    return str(beta if beta is not None else (claim.get("spec") or {}).get(
        "storageClassName") or "")


def requested(claim: Object) -> int:
    """Bytes the claim asks for (its ``requests.storage``, rounded up)."""
    amount = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get(
        "storage", 0)
    return int(-(-parse_quantity(amount) // 1))


def capacity(volume: Object) -> int:
    amount = ((volume.get("spec") or {}).get("capacity") or {}).get("storage", 0)
    return int(-(-parse_quantity(amount) // 1))


def path_of(volume: Object) -> str | None:
    """The directory of a ``hostPath`` or ``local`` volume on its node (None: another kind)."""
    spec = volume.get("spec") or {}
    for source in NODE_MOUNTED:
        if isinstance(spec.get(source), dict) and spec[source].get("path"):
            return str(spec[source]["path"])
    return None


def volume_nodes(volume: Object) -> set[str]:
    """The nodes a volume's required node affinity names by ``kubernetes.io/hostname`` (the
    local-path provisioner's volumes name one); malformed parts name none."""
    required = _field(_field(_field(volume, "spec"), "nodeAffinity"), "required")
    terms = required.get("nodeSelectorTerms")
    found: set[str] = set()
    for term in terms if isinstance(terms, list) else []:
        expressions = term.get("matchExpressions") if isinstance(term, dict) else None
        for e in expressions if isinstance(expressions, list) else []:
            if isinstance(e, dict) and (e.get("key"), e.get("operator")) == (HOSTNAME, "In") \
                    and isinstance(e.get("values"), list):
                found.update(str(value) for value in e["values"])
    return found


def _field(obj: Any, name: str) -> dict[str, Any]:
    """The map ``obj[name]`` (an empty one when ``obj`` or it is not a map)."""
    value = obj.get(name) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def modes_text(modes: list[str] | None) -> str:
    """kubectl's ACCESS MODES cell: ``RWO,ROX``."""
    return ",".join(ACCESS_SHORT.get(mode, mode) for mode in modes or [])


def volume_cells(volume: Object, age: str) -> list[str]:
    """``get pv``: NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS
    VOLUMEATTRIBUTESCLASS REASON AGE; VOLUMEMODE with ``-o wide``."""
    spec, status = volume.get("spec") or {}, volume.get("status") or {}
    ref = spec.get("claimRef") or {}
    claim = f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("name") else ""
    return [volume["metadata"]["name"], str((spec.get("capacity") or {}).get("storage", "")),
            modes_text(spec.get("accessModes")), str(spec.get("persistentVolumeReclaimPolicy",
                                                              "")),
            str(status.get("phase", "")), claim, str(spec.get("storageClassName") or ""),
            spec.get("volumeAttributesClassName") or "<unset>", str(status.get("reason", "")),
            age, str(spec.get("volumeMode", "Filesystem"))]


def claim_cells(claim: Object, age: str) -> list[str]:
    """``get pvc``: NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS
    VOLUMEATTRIBUTESCLASS AGE, VOLUMEMODE with ``-o wide`` (capacity and modes are the bound
    volume's, from status)."""
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    bound = status.get("phase") == "Bound"
    return [claim["metadata"]["name"], str(status.get("phase", "")),
            str(spec.get("volumeName") or ""),
            str((status.get("capacity") or {}).get("storage", "")) if bound else "",
            modes_text(status.get("accessModes")) if bound else "",
            class_name(claim), spec.get("volumeAttributesClassName") or "<unset>", age,
            str(spec.get("volumeMode", "Filesystem"))]


def class_cells(storage_class: Object, age: str) -> list[str]:
    """``get sc``: NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE,
    the name followed by `` (default)`` for the default class."""
    name = storage_class["metadata"]["name"] + (" (default)" if is_default(storage_class)
                                                else "")
    return [name, str(storage_class.get("provisioner", "")),
            str(storage_class.get("reclaimPolicy", "Delete")),
            str(storage_class.get("volumeBindingMode", "Immediate")),
            str(bool(storage_class.get("allowVolumeExpansion"))).lower(), age]


def local_path_class() -> Object:
    """The ``local-path`` StorageClass every cluster starts with (k3s's local-storage
    manifest): the default class, provisioned by the kubelets' local-path provisioner."""
    return {"apiVersion": f"{GROUP}/v1", "kind": "StorageClass",
            "metadata": {"name": LOCAL_PATH, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": LOCAL_PATH_PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}
