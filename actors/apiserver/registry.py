"""Resource semantics: how a create, update, binding or delete turns into the object stored.

Pure functions over dicts, called by the apiserver actor between admission and the store; they
never touch the store themselves. Kubernetes' rules: the server owns ``uid``,
``creationTimestamp``, ``generation`` and ``resourceVersion``; ``generation`` moves only when the
spec changes; ``status`` changes only through ``/status`` and the spec never does; a pod bound to
a node is deleted gracefully (``deletionTimestamp`` first, removal once its kubelet confirms).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.api import certificates, crds, jobs, replication, secrets, validation, workloadchecks
from actors.api.defaulting import DEFAULTERS, default_pod_spec, default_requests
from actors.api.meta import TRACE_ANNOTATION, meta, new_uid, now_rfc3339, set_condition
from actors.api.objects import INTERNED_CHARS, Object, interned
from actors.api.pods import gate_update_problems, pod_containers
from actors.api.resources import ResourceInfo
from actors.api.selectors import selector_text
from bus.errors import BadRequest, Conflict, InternalError, Invalid

SERVER_OWNED = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                "deletionGracePeriodSeconds", "resourceVersion")

UNGENERATED = frozenset((
    "configmaps", "secrets", "serviceaccounts", "services", "endpoints", "namespaces", "nodes",
    "events", "leases", "limitranges", "resourcequotas", "persistentvolumes",
    "persistentvolumeclaims", "storageclasses", "priorityclasses", "controllerrevisions",
    "roles", "rolebindings", "clusterroles", "clusterrolebindings"))
"""Kinds whose objects have no ``metadata.generation`` (kube-apiserver's strategies for them
set none: a ConfigMap reads back without one)."""

CREATED_STATUS: dict[str, Object] = {
    "pods": {}, "deployments": {}, "jobs": {}, "cronjobs": {},
    "replicasets": {"replicas": 0}, "replicationcontrollers": {"replicas": 0},
    "statefulsets": {"replicas": 0, "availableReplicas": 0},
    "daemonsets": {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                   "desiredNumberScheduled": 0, "numberReady": 0},
    "ingresses": {"loadBalancer": {}}, "horizontalpodautoscalers": {"desiredReplicas": 0},
}
"""The status a new object of these kinds is stored with, whatever was sent: the empty
status kube-apiserver's strategies set, as its JSON shows it (the counts without
``omitempty`` there, which the official clients require, as 0)."""


MAX_DEPTH = 64
"""Deepest nesting of maps and lists accepted in a body."""


class _NotPlain(Exception):
    """Why a value is not plain data, and where (the path, innermost first)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why, self.path = why, list[str]()


def plain_copy(value: Any, path: str = "body") -> Any:
    """A copy of ``value`` (one pass: the checks cost nothing more); BadRequest unless it is
    plain JSON data (string keys; no bytes, no NaN) nested at most MAX_DEPTH deep."""
    try:
        return _copy(value, 0)
    except _NotPlain as error:
        raise BadRequest(f"{path}{''.join(reversed(error.path))}: {error.why}") from None


def _copy(value: Any, depth: int) -> Any:
    """(Keys and short strings interned, inline: the store keeps what this makes, thousands
    of objects alike; a call of :func:`interned` for each would double the time.)"""
    if isinstance(value, str):
        return interned(value)
    if isinstance(value, int) or value is None:  # bool is an int
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotPlain(f"{value} is not a JSON number")
        return value
    if depth > MAX_DEPTH:
        raise _NotPlain(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain(f"map keys must be strings, got {key!r}")
            try:
                copied[sys.intern(key)] = (
                    (sys.intern(item) if len(item) <= INTERNED_CHARS else item)
                    if type(item) is str else _copy(item, depth + 1))
            except _NotPlain as error:
                error.path.append(f".{key}")
                raise
        return copied
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            try:
                items.append((sys.intern(item) if len(item) <= INTERNED_CHARS else item)
                             if type(item) is str else _copy(item, depth + 1))
            except _NotPlain as error:
                error.path.append(f"[{index}]")
                raise
        return items
    raise _NotPlain(f"{type(value).__name__} values are not allowed")


NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The characters of a generated name's suffix (apimachinery's rand.String: no vowels, no
0, 1 or 3, so that no word is spelled and none is mistaken for another)."""


def generated_suffix(request_id: str | None) -> str:
    """Five characters of :data:`NAME_ALPHABET` after a ``generateName``: of the request's
    id (a keyless hash), or random without one."""
    seed = (request_id or new_uid()).encode()
    digest = hashlib.blake2b(seed, digest_size=8).digest()
    return "".join(NAME_ALPHABET[byte % len(NAME_ALPHABET)] for byte in digest[:5])


def prepare_create(
    info: ResourceInfo, body: Any, namespace: str | None, trace_id: str | None,
    request_id: str | None = None,
) -> Object:
    """The object to store for a create request (a copy; ``body`` is untouched). A
    ``generateName`` gets its suffix from ``request_id`` (the envelope's id) when given: the
    same message delivered twice (``bus.faults`` duplicates) names the same object, and its
    second create meets AlreadyExists instead of making a second object; a client that
    sends again sends a new message, with a new id, as kubectl's retry makes a new name."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be an object")
    obj = plain_copy(body)
    obj["apiVersion"], obj["kind"] = _api_version(info, obj), info.kind
    metadata = meta(obj)
    _check_namespace(info, metadata, namespace)
    if _version_set(metadata.get("resourceVersion")):  # kube-apiserver's storage refuses it
        raise InternalError("Internal error occurred: resourceVersion should not be set on "
                            "objects to be created")
    if not metadata.get("name") and metadata.get("generateName"):
        metadata["name"] = f"{metadata['generateName']}{generated_suffix(request_id)}"
    for owned in SERVER_OWNED:
        metadata.pop(owned, None)
    metadata.update(uid=new_uid(), creationTimestamp=now_rfc3339())
    if info.name not in UNGENERATED or isinstance(info, crds.CustomResource):
        metadata["generation"] = 1
    if info.namespaced:
        metadata["namespace"] = namespace
    if trace_id and isinstance(metadata.setdefault("annotations", {}), dict):  # else refused
        metadata["annotations"].setdefault(TRACE_ANNOTATION, trace_id)
    if info.name in CREATED_STATUS:  # kube-apiserver's PrepareForCreate: what was sent goes
        obj["status"] = plain_copy(CREATED_STATUS[info.name])
    if defaulter := DEFAULTERS.get(info.name):
        defaulter(obj)
    return obj


def _api_version(info: ResourceInfo, obj: Object) -> str:
    """The ``apiVersion`` an object sent is read in: the resource's, or for a custom resource
    the served version it names (its schema applies; it is stored in the storage version)."""
    if isinstance(info, crds.CustomResource):
        return f"{info.group}/{crds.decoded_version(info, obj)}"
    return info.api_version


def _version_set(version: Any) -> bool:
    """A ``resourceVersion`` that names a version (as kube-apiserver's versioner parses one:
    an unsigned decimal but 0; anything else counts as unset and is dropped, as there)."""
    return isinstance(version, str) and version.isascii() and version.isdigit() \
        and int(version) > 0


def sent_version(body: Any) -> int | None:
    """The ``metadata.resourceVersion`` an update must still find (None: any)."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be an object")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be a map")
    sent = metadata.get("resourceVersion")
    try:
        return int(sent) if sent not in (None, "") else None
    except (TypeError, ValueError):
        raise BadRequest(f"metadata.resourceVersion {sent!r} is not a resource version") from None


def prepare_update(
    info: ResourceInfo, subresource: str | None, body: Any, old: Object
) -> tuple[Object, int | None]:
    """The object to store for an update, and the resourceVersion it must still have."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be an object")
    body = plain_copy(body)
    expected = sent_version(body)
    if subresource == "status":
        new = plain_copy(old)
        new["status"] = body.get("status") or {}
        if info.name == certificates.RESOURCE:
            certificates.prepare_update(subresource, body, new, old)
        return new, expected
    if subresource in ("scale", "finalize"):
        return _spec_field_update(info, subresource, body, old), expected
    new = dict(body)  # its own top level: ``body`` keeps what was sent (status)
    new["apiVersion"], new["kind"] = _api_version(info, new), info.kind
    metadata = meta(new)
    if metadata.get("name") != old["metadata"]["name"]:
        raise BadRequest("the name of the object does not match the name on the request")
    for owned in SERVER_OWNED:
        if owned in old["metadata"]:
            metadata[owned] = old["metadata"][owned]
        else:
            metadata.pop(owned, None)
    if info.namespaced:
        metadata["namespace"] = old["metadata"].get("namespace")
    if "status" in old or info.subresources:
        new["status"] = plain_copy(old.get("status", {}))
    if defaulter := DEFAULTERS.get(info.name):
        defaulter(new)
    if info.name == "pods":
        check_pod_update(old, new)
    elif info.name == "namespaces" and isinstance(new.get("spec"), dict):
        # Only namespaces/finalize changes them, as in Kubernetes.
        new["spec"].pop("finalizers", None)
        if "finalizers" in (old.get("spec") or {}):
            new["spec"]["finalizers"] = list(old["spec"]["finalizers"])
    elif info.group == "apps" and isinstance(new.get("spec"), dict) and (
            new["spec"].get("selector") != (old.get("spec") or {}).get("selector")):
        raise _invalid(info, old, [f"spec.selector: Invalid value: "
                                   f"{new['spec'].get('selector')}: field is immutable"])
    elif problems := _changed_immutables(info, old, new):
        raise _invalid(info, old, problems)
    elif info.name == certificates.RESOURCE:  # its main update and ``approval``
        certificates.prepare_update(subresource, body, new, old)
    if new.get("spec") != old.get("spec") and "generation" in old["metadata"]:
        metadata["generation"] = int(old["metadata"]["generation"]) + 1
    return new, expected


def _immutable_problems(info: ResourceInfo, old: Object, new: Object) -> list[str]:
    """What an update changes of what may not change: a Secret's or ConfigMap's data once
    ``immutable``, a StatefulSet's fixed fields, a Node's pod range once set, a Job's selector,
    template, completions..."""
    if secrets.has_immutable_data(info.name):
        return secrets.update_problems(info.name, old, new)
    if info.name == "statefulsets":
        return workloadchecks.statefulset_update_problems(old, new)
    if info.name == "nodes":
        return validation.node_update_problems(old, new)
    return jobs.update_problems(info.name, old, new)


def _changed_immutables(info: ResourceInfo, old: Object, new: Object) -> list[str]:
    """:func:`_immutable_problems`, ``old`` read with today's defaults when it differs (as
    kube-apiserver defaults what it reads from etcd): an object stored before a default was
    added (a Job's template without ``resources: {}``) is not refused for what the
    defaulter adds to every update of it."""
    problems = _immutable_problems(info, old, new)
    if problems and (defaulter := DEFAULTERS.get(info.name)):
        read = plain_copy(old)
        defaulter(read)
        problems = _immutable_problems(info, read, new)
    return problems


def unchanged(new: Object, old: Object) -> bool:
    """Whether writing ``new`` over ``old`` would store the same object (resourceVersion
    aside): kube-apiserver's storage then does not write."""
    def versionless(obj: Object) -> Object:
        return {**obj, "metadata": {k: v for k, v in obj["metadata"].items()
                                    if k != "resourceVersion"}}
    return versionless(new) == versionless(old)


def _invalid(info: ResourceInfo, old: Object, problems: list[str]) -> Invalid:
    """The 422 of an update that changes what may not change, as kube-apiserver words it."""
    name = old["metadata"]["name"]
    return Invalid(f'{info.kind} "{name}" is invalid: ' + ", ".join(problems),
                   details={"name": name, "kind": info.singular, "causes": problems})


def _spec_field_update(info: ResourceInfo, subresource: str, body: Object, old: Object
                       ) -> Object:
    """``scale`` sets ``spec.replicas`` from a Scale (a custom resource's
    ``specReplicasPath``); ``finalize`` sets a namespace's ``spec.finalizers``. Nothing else
    of the object changes but its generation."""
    new = plain_copy(old)
    spec = body.get("spec")
    if not isinstance(spec, dict):
        raise BadRequest(f"a {subresource} update needs a spec")
    field = "replicas" if subresource == "scale" else "finalizers"
    if field not in spec:
        raise BadRequest(f"a {subresource} update needs spec.{field}")
    if subresource == "scale":
        _check_replicas(spec["replicas"], old["metadata"]["name"])
    crds.with_path_value(new, _scale_paths(info).spec_replicas if subresource == "scale"
                         else ".spec.finalizers", plain_copy(spec[field]))
    if new.get("spec") != old.get("spec") and "generation" in old["metadata"]:
        new["metadata"]["generation"] = int(old["metadata"]["generation"]) + 1
    return new


def _check_replicas(replicas: Any, name: str) -> None:
    """A Scale's ``spec.replicas`` as autoscaling/v1 holds it (an int32) and kube-apiserver's
    ValidateScale allows it (not negative), whatever the object's own schema says."""
    if type(replicas) is not int or replicas >= 1 << 31:
        raise BadRequest(f"Scale.spec.replicas must be a 32-bit integer, not "
                         f"{json.dumps(replicas)[:40]}")
    if replicas < 0:
        problem = f"spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
        raise Invalid(f'Scale.autoscaling "{name}" is invalid: {problem}',
                      details={"name": name, "kind": "Scale", "causes": [problem]})


APPS_SCALE = crds.ScalePaths(".spec.replicas", ".status.replicas")
"""Where a ReplicaSet, ReplicationController or Deployment keeps its Scale (its selector is
``spec.selector``)."""


def _scale_paths(info: ResourceInfo) -> crds.ScalePaths:
    return info.scale if isinstance(info, crds.CustomResource) and info.scale else APPS_SCALE


def to_scale(info: ResourceInfo, obj: Object) -> Object:
    """The ``autoscaling/v1`` Scale of a ReplicaSet, a Deployment or a custom object (its
    ``scale`` subresource; a custom resource's ``*Path``s say where its numbers are)."""
    metadata, paths = obj["metadata"], _scale_paths(info)
    if paths is APPS_SCALE:  # a ReplicationController's plain map as a LabelSelector
        selector = selector_text((replication.as_replicaset(obj).get("spec") or {}).get(
            "selector") or {})
    else:
        found = crds.path_value(obj, paths.label_selector) if paths.label_selector else None
        selector = found if isinstance(found, str) else ""
    return {
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {key: metadata[key] for key in ("name", "namespace", "uid",
                                                    "resourceVersion", "creationTimestamp")
                     if key in metadata},
        "spec": {"replicas": crds.path_value(obj, paths.spec_replicas) or 0},
        "status": {"replicas": crds.path_value(obj, paths.status_replicas) or 0,
                   **({"selector": selector} if selector else {})},  # Go's omitempty
    }


PROPAGATION_FINALIZERS = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}
"""The finalizer that hands a deletion to the garbage collector, by propagationPolicy."""


def with_propagation(obj: Object, policy: str | None) -> Object:
    """``obj`` with the finalizer its deletion's ``propagationPolicy`` asks the garbage
    collector for (a copy), or ``obj`` itself when there is nothing to add (Background)."""
    finalizer = PROPAGATION_FINALIZERS.get(policy or "Background")
    finalizers = obj["metadata"].get("finalizers") or []
    if finalizer is None or finalizer in finalizers:
        return obj
    marked = plain_copy(obj)
    others = [f for f in finalizers if f not in PROPAGATION_FINALIZERS.values()]
    marked["metadata"]["finalizers"] = [*others, finalizer]
    return marked


def check_pod_update(old: Object, new: Object) -> None:
    """Invalid unless only what Kubernetes lets change in a pod's spec changed: container
    images, ``activeDeadlineSeconds``, ``tolerations``, and gates removed."""

    def mutable_masked(pod: Object) -> Any:
        spec = plain_copy(pod.get("spec") or {})
        if not isinstance(spec, dict):
            return spec
        default_pod_spec(spec)  # as a pod stored before a default was added reads
        spec.setdefault("enableServiceLinks", True)
        for container in pod_containers(spec):
            container.pop("image", None)
            default_requests(container)
        for field in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
            spec.pop(field, None)
        return spec

    problems = gate_update_problems(old, new)
    if not problems and mutable_masked(old) != mutable_masked(new):
        problems = [
            "spec: Forbidden: pod updates may not change fields other than "
            "`spec.containers[*].image`, `spec.initContainers[*].image`, "
            "`spec.activeDeadlineSeconds` or `spec.tolerations`"]
    if problems:
        name = old["metadata"]["name"]
        raise Invalid(f'Pod "{name}" is invalid: ' + ", ".join(problems),
                      details={"name": name, "kind": "pod", "causes": problems})


def prepare_binding(pod: Object, body: Any) -> Object:
    """The pod bound to the node a ``Binding`` names; Conflict when it is bound already.
    BadRequest when it names no node: its ``target.name`` no string (Go's decoder refuses it;
    stored, ``spec.nodeName`` was any JSON value, and whoever keyed on it failed), or its
    ``target.kind`` neither empty nor ``Node`` (kube-apiserver's ValidatePodBinding)."""
    target = body.get("target") if isinstance(body, dict) else None
    if not isinstance(target, dict) or not target.get("name"):
        raise BadRequest("a Binding needs target.name (the node)")
    if not isinstance(target["name"], str):
        raise BadRequest('Binding in version "v1" cannot be handled as a Binding: json: cannot '
                         "unmarshal " + _go_value(target["name"]) + " into Go struct field "
                         "ObjectReference.target.name of type string")
    if target.get("kind") not in (None, "", "Node"):
        raise BadRequest(f"target.kind: Unsupported value: {json.dumps(target['kind'])}: "
                         'supported values: "Node", "<empty>"')
    name = pod["metadata"]["name"]
    if pod.get("spec", {}).get("nodeName"):
        raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is '
                       f'already assigned to node "{pod["spec"]["nodeName"]}"')
    if pod["metadata"].get("deletionTimestamp"):
        raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is '
                       "being deleted, cannot be assigned to a host")
    bound = plain_copy(pod)
    bound["spec"]["nodeName"] = target["name"]
    set_condition(bound, "PodScheduled", "True")
    return bound


def _go_value(value: Any) -> str:
    """How Go's decoder names a JSON value it cannot read into a string."""
    if isinstance(value, bool):
        return "bool"
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) \
        else "number"


def graceful_deletion(info: ResourceInfo, obj: Object, grace: int | None) -> Object | None:
    """The object marked for deletion, when it must linger; None when it can go at once.

    A pod on a node lingers until its kubelet has stopped its containers (it then deletes it
    with grace 0); any object with finalizers lingers until they are removed (a namespace's
    ``spec.finalizers`` too: it is Terminating until the namespace controller emptied it).
    """
    metadata = obj["metadata"]
    finalizers = [*(metadata.get("finalizers") or []), *(
        (obj.get("spec") or {}).get("finalizers") or [] if info.name == "namespaces" else [])]
    on_node = info.name == "pods" and bool(obj.get("spec", {}).get("nodeName"))
    if grace is None:
        grace = int(obj.get("spec", {}).get("terminationGracePeriodSeconds", 30)) if on_node else 0
    if not finalizers and (not on_node or grace == 0):
        return None
    if metadata.get("deletionTimestamp"):
        if on_node and grace < int(metadata.get("deletionGracePeriodSeconds", grace)):
            return _marked(info, obj, grace)  # a shorter grace (the kubelet's 0) is kept
        return obj
    return _marked(info, obj, grace)


def _marked(info: ResourceInfo, obj: Object, grace: int) -> Object:
    marked = plain_copy(obj)
    when = datetime.now(UTC) + timedelta(seconds=grace)
    marked["metadata"]["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    marked["metadata"]["deletionGracePeriodSeconds"] = grace
    if info.name == "namespaces":
        marked.setdefault("status", {})["phase"] = "Terminating"
    return marked


def _check_namespace(info: ResourceInfo, metadata: dict[str, Any], namespace: str | None) -> None:
    sent = metadata.get("namespace")
    if info.namespaced and sent and sent != namespace:
        raise BadRequest("the namespace of the provided object does not match the namespace "
                         "sent on the request")
