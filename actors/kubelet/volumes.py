"""The files of a pod's ``configMap``, ``secret``, ``downwardAPI`` and ``projected`` volumes, as
the kubelet's volume plugins make them (:func:`payload`); the runtime writes them
(``Runtime.write_volume``) with the kubelet's atomic writer. A ``persistentVolumeClaim`` volume
is its bound volume's directory on the node (:func:`claimed`).

Every key becomes a file (or, with ``items``, the keys listed, at their ``path``), with the
item's ``mode``, else the volume's ``defaultMode``, else 0644. A missing ConfigMap or Secret
of an ``optional`` volume gives no files; otherwise the volume cannot be set up
(``ContainerCreating``, with the kubelet's MountVolume message), nor can it when an item names a
key that is not there. A projected volume's ``serviceAccountToken`` source is the pod's token
(at ``path``), from the kubelet's token manager (``actors.kubelet.tokens``).

Pure functions over plain dicts (reads go through :class:`~actors.kubelet.podvalues.Sources`).
Neighbours: ``actors.kubelet.podvalues`` (the values), ``actors.kubelet.podsync`` (the caller),
``actors.kubelet.runtime`` (:class:`VolumeFile`).

Which thread: a pod worker's.
"""

from __future__ import annotations

from actors.api import secrets, storage
from actors.api.objects import Object
from actors.kubelet.podvalues import Fetch, Sources, field_value, resource_value
from actors.kubelet.runtime import RuntimeFailure, VolumeFile
from bus.errors import ApiError

FILE_VOLUMES = ("configMap", "secret", "downwardAPI", "projected")
"""The volume sources whose files the kubelet writes (the runtime mounts them read-only)."""
DEFAULT_MODE = 0o644
_SOURCES = {"configMap": ("configmaps", "name"), "secret": (secrets.RESOURCE, "secretName")}
"""Volume source -> (resource, the field naming the object)."""


def has_token(volume: Object) -> bool:
    """Whether ``volume`` holds a service account token (its files must be written again
    before the token expires)."""
    return any("serviceAccountToken" in source
               for source in ((volume.get("projected") or {}).get("sources") or []))


def file_volume(volume: Object) -> str | None:
    """Which of FILE_VOLUMES ``volume`` is; None for any other."""
    return next((kind for kind in FILE_VOLUMES if kind in volume), None)


def payload(pod: Object, volume: Object, sources: Sources,
            allocatable: Object) -> dict[str, VolumeFile]:
    """The files of one file volume by relative path; RuntimeFailure(ContainerCreating) with
    the kubelet's MountVolume.SetUp message when it cannot be made."""
    kind = file_volume(volume)
    assert kind is not None, f"volume {volume.get('name')} has no files"
    spec = volume[kind] or {}
    mode = spec.get("defaultMode", DEFAULT_MODE)
    try:
        if kind == "projected":
            files: dict[str, VolumeFile] = {}
            for source in spec.get("sources") or []:
                files.update(_projection(pod, source, mode, sources, allocatable))
            return files
        return _projection(pod, {kind: spec}, mode, sources, allocatable, volume_level=True)
    except RuntimeFailure as failure:
        raise RuntimeFailure("ContainerCreating", f"MountVolume.SetUp failed for volume "
                             f'"{volume.get("name")}" : {failure.message}') from None


def _projection(pod: Object, source: Object, mode: int, sources: Sources, allocatable: Object,
                volume_level: bool = False) -> dict[str, VolumeFile]:
    """The files of one source: a volume's own, or one of a projected volume's ``sources``.
    ``volume_level``: a ConfigMap or Secret volume names its object with its own field."""
    if "downwardAPI" in source:
        return {item["path"]: VolumeFile(_downward(pod, item, allocatable),
                                         item.get("mode", mode))
                for item in source["downwardAPI"].get("items") or []}
    if "serviceAccountToken" in source:
        token = source["serviceAccountToken"] or {}
        return {token.get("path") or "token": VolumeFile(sources.token(token), mode)}
    for kind, (resource, field) in _SOURCES.items():
        if kind in source:
            spec = source[kind] or {}
            name = spec.get(field if volume_level else "name", "")
            values = sources.data(resource, name, bool(spec.get("optional")))
            return _keyed(values or {}, spec, mode, _MISSING_KEY[resource])
    return {}  # a clusterTrustBundle source: not served yet


_MISSING_KEY = {"configmaps": "configmap references non-existent config key",
          secrets.RESOURCE: "references non-existent secret key"}


def _keyed(values: dict[str, bytes], spec: Object, mode: int, missing: str
           ) -> dict[str, VolumeFile]:
    """Every key as a file, or the ``items`` listed (a missing one refused unless the
    source is ``optional``)."""
    items = spec.get("items")
    if not items:
        return {key: VolumeFile(value, mode) for key, value in values.items()}
    files = {}
    for item in items:
        if item.get("key") in values:
            files[item["path"]] = VolumeFile(values[item["key"]], item.get("mode", mode))
        elif not spec.get("optional"):
            raise RuntimeFailure("ContainerCreating", f"{missing}: {item.get('key')}")
    return files


def _downward(pod: Object, item: Object, allocatable: Object) -> bytes:
    if "fieldRef" in item:
        return field_value(pod, item["fieldRef"].get("fieldPath", "")).encode()
    ref = item.get("resourceFieldRef") or {}
    return resource_value(pod, ref.get("containerName", ""), ref, allocatable).encode()


def claimed(pod: Object, fetch: Fetch) -> Object:
    """The pod as the runtime mounts it: each ``persistentVolumeClaim`` volume replaced by a
    ``hostPath`` one of its bound volume's directory (a ``hostPath`` or ``local`` volume).
    RuntimeFailure(ContainerCreating) while a claim is not bound (the kubelet waits for it, as
    its volume manager does) or its volume is of a kind no node here mounts."""
    volumes = (pod.get("spec") or {}).get("volumes") or []
    if not any("persistentVolumeClaim" in v for v in volumes):
        return pod
    namespace = pod["metadata"].get("namespace", "default")
    mounted = [_claim_mount(v, namespace, fetch) if "persistentVolumeClaim" in v else v
               for v in volumes]
    return {**pod, "spec": {**pod["spec"], "volumes": mounted}}


def _claim_mount(volume: Object, namespace: str, fetch: Fetch) -> Object:
    name = (volume.get("persistentVolumeClaim") or {}).get("claimName", "")
    try:
        claim = fetch(storage.CLAIMS, name, namespace)
        bound = claim.get("spec", {}).get("volumeName")
        if not bound or claim.get("status", {}).get("phase") != "Bound":
            raise RuntimeFailure("ContainerCreating", f'persistentvolumeclaim "{name}" is not '
                                 "bound yet")
        path = storage.path_of(fetch(storage.VOLUMES, bound, None))
    except ApiError as failure:
        raise RuntimeFailure("ContainerCreating", f'MountVolume.SetUp failed for volume '
                             f'"{volume.get("name")}" : {failure}') from failure
    if path is None:
        raise RuntimeFailure("ContainerCreating", f'volume "{bound}" of claim "{name}" is not a '
                             "hostPath or local volume: no plugin here mounts it")
    return {"name": volume["name"], "hostPath": {"path": path}}
