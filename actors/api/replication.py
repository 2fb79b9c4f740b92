"""ReplicationControllers (``v1``, ``rc``): the ReplicaSet of old manifests, whose
``spec.selector`` is a plain map of labels rather than a LabelSelector.

kubeactor serves them through the ReplicaSet machinery, as kube-controller-manager's
replication manager does (it converts each to a ReplicaSet and runs the ReplicaSet
controller): :func:`as_replicaset` is that view (the selector as ``matchLabels``, kind and
apiVersion kept, so that the pods' ownerReferences name the ReplicationController), and the
apiserver's validation, the columns, ``describe`` and the ``scale`` subresource read the
selector through it. :func:`default_replication_controller` is Kubernetes' defaulting (the
selector, and the labels when empty, from the template's labels).

Pure functions over plain dicts. Neighbours: ``actors.api.defaulting``,
``actors.api.validation``, ``actors.api.columns``, ``actors.apiserver.registry`` (Scale),
``actors.controllers.replicaset`` (``ReplicationManager``), ``bindings.cli.objects``.
"""

from __future__ import annotations

from actors.api.objects import Object

RESOURCE = "replicationcontrollers"
KIND = "ReplicationController"


def label_selector(selector: object) -> object:
    """A plain map of labels as a LabelSelector; anything else as it is (for validation to
    refuse)."""
    return {"matchLabels": selector} if isinstance(selector, dict) and selector else selector


def as_replicaset(rc: Object) -> Object:
    """``rc`` as the ReplicaSet machinery reads it (a shallow copy; the selector converted);
    an object of another kind as it is."""
    spec = rc.get("spec")
    if rc.get("kind") != KIND or not isinstance(spec, dict) or "selector" not in spec:
        return rc
    return {**rc, "spec": {**spec, "selector": label_selector(spec["selector"])}}


def default_replication_controller(rc: Object) -> None:
    """Kubernetes' SetDefaults_ReplicationController: an empty selector becomes the
    template's labels, so do empty labels (the rest is a ReplicaSet's defaulting)."""
    spec = rc.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    template = spec.get("template")
    labels = (template.get("metadata") or {}).get("labels") if isinstance(
        template, dict) else None
    if isinstance(labels, dict) and labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        metadata = rc.setdefault("metadata", {})
        if isinstance(metadata, dict) and not metadata.get("labels"):
            metadata["labels"] = dict(labels)
