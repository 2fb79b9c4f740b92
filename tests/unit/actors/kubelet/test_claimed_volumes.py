"""A pod's persistentVolumeClaim volumes as the runtime mounts them
(actors/kubelet/volumes.py: ``claimed``)."""

from __future__ import annotations

import pytest

from actors.kubelet.runtime import RuntimeFailure
from actors.kubelet.volumes import claimed
from bus.errors import NotFound

POD = {"metadata": {"name": "p", "namespace": "team"}, "spec": {"containers": [], "volumes": [
    {"name": "data", "persistentVolumeClaim": {"claimName": "keep"}},
    {"name": "scratch", "emptyDir": {}}]}}


def fetcher(objects: dict):
    def fetch(resource: str, name: str, namespace: str | None) -> dict:
        try:
            return objects[resource, name, namespace]
        except KeyError:
            raise NotFound(f'{resource} "{name}" not found') from None
    return fetch


def bound(phase: str = "Bound") -> dict:
    return {"spec": {"volumeName": "pv-1"}, "status": {"phase": phase}}


def test_a_bound_claim_becomes_its_volumes_directory():
    objects = {("persistentvolumeclaims", "keep", "team"): bound(),
               ("persistentvolumes", "pv-1", None): {"spec": {"local": {"path": "/disk/1"}}}}
    assert claimed(POD, fetcher(objects))["spec"]["volumes"] == [
        {"name": "data", "hostPath": {"path": "/disk/1"}}, {"name": "scratch", "emptyDir": {}}]
    assert POD["spec"]["volumes"][0]["persistentVolumeClaim"]  # the pod itself is unchanged


def test_a_pod_waits_in_container_creating_for_its_claim():
    with pytest.raises(RuntimeFailure, match='persistentvolumeclaim "keep" is not bound yet'):
        claimed(POD, fetcher({("persistentvolumeclaims", "keep", "team"): bound("Pending")}))
    with pytest.raises(RuntimeFailure, match="not found") as missing:
        claimed(POD, fetcher({}))
    assert missing.value.reason == "ContainerCreating"
    nfs = {("persistentvolumeclaims", "keep", "team"): bound(),
           ("persistentvolumes", "pv-1", None): {"spec": {"nfs": {"server": "s", "path": "/"}}}}
    with pytest.raises(RuntimeFailure, match="no plugin here mounts it"):
        claimed(POD, fetcher(nfs))
