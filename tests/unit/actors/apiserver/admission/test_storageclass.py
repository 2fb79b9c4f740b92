"""The DefaultStorageClass admission plugin, without servers: a claim naming no class is
stored with the default one, as kube-apiserver stores it (so no reader sees it classless)."""

from __future__ import annotations

from typing import Any

from actors.api import storage
from actors.api.objects import Object
from actors.api.resources import lookup
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.admission.storageclass import DefaultStorageClass
from tests.unit.actors.apiserver.admission.test_admission import ALICE, MemoryAccess


def storage_class(name: str, stamp: str, default: bool) -> Object:
    annotations = {storage.DEFAULT_CLASS_ANNOTATION: "true"} if default else {}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "x",
            "metadata": {"name": name, "creationTimestamp": stamp, "annotations": annotations}}


def claim(**spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}, **spec}}


def admitted(obj: Object, *classes: Object, operation: str = "CREATE") -> Object:
    plugin = DefaultStorageClass(MemoryAccess(*[(storage.CLASSES, c) for c in classes]))
    plugin.admit(AdmissionRequest(operation, lookup("", storage.CLAIMS), subresource=None,
                                  namespace="default", name="data", object=obj,
                                  old_object=None, user=ALICE))
    spec: Object = obj["spec"]
    return spec


CLASSES = (storage_class("slow", "2026-01-01T00:00:00Z", default=False),
           storage_class("local-path", "2026-01-02T00:00:00Z", default=True),
           storage_class("older-default", "2026-01-01T00:00:00Z", default=True))


def test_a_claim_naming_no_class_gets_the_newest_default():
    assert admitted(claim(), *CLASSES)["storageClassName"] == "local-path"


def test_a_claim_naming_a_class_or_none_or_the_beta_annotation_keeps_it():
    assert admitted(claim(storageClassName="slow"), *CLASSES)["storageClassName"] == "slow"
    assert admitted(claim(storageClassName=""), *CLASSES)["storageClassName"] == ""
    annotated = claim()
    annotated["metadata"]["annotations"] = {"volume.beta.kubernetes.io/storage-class": "slow"}
    assert "storageClassName" not in admitted(annotated, *CLASSES)


def test_no_default_class_or_an_update_leaves_the_claim_as_it_came():
    assert "storageClassName" not in admitted(claim(), CLASSES[0])
    assert "storageClassName" not in admitted(claim(), *CLASSES, operation="UPDATE")


def test_two_defaults_made_at_once_give_the_first_by_name():
    """kube-apiserver's GetDefaultClass: the newest, then the first name ("fast" before
    "fast-ssd": one kubectl apply makes both in the same second)."""
    stamp = "2026-01-03T00:00:00Z"
    tied = (storage_class("fast-ssd", stamp, default=True),
            storage_class("fast", stamp, default=True), *CLASSES)
    assert admitted(claim(), *tied)["storageClassName"] == "fast"
