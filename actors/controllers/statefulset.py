"""The StatefulSet controller: pods with a stable identity, made, removed and updated in order.

For each StatefulSet it keeps the history of its template (``actors.controllers.revisions``),
claims its pods and gives each ordinal ``start..start+replicas-1`` one pod named
``<set>-<ordinal>`` with that hostname, the set's ``serviceName`` as subdomain and the labels
``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/pod-index`` and
``controller-revision-hash`` (the revision's name). :func:`next_step` decides one reconcile's
actions, as Kubernetes' updateStatefulSet:

- ``OrderedReady``: the lowest missing ordinal is created, and nothing more happens until it is
  Running and Ready (and available for ``minReadySeconds``); a failed pod is deleted to be made
  again; surplus ordinals go highest first, one at a time, each once the others are healthy;
- ``Parallel``: every missing pod is created and every surplus one deleted at once;
- ``RollingUpdate``: once the others are settled, the highest ordinal at or above
  ``partition`` that runs an old revision is deleted (and made again from the new one), one at a
  time, each once the one above is healthy; pods below the partition are made from the current
  revision; ``OnDelete``: a pod is replaced only once someone deletes it.

Each ``volumeClaimTemplates`` entry gives each ordinal a claim ``<template>-<set>-<ordinal>``
(:func:`new_claims`), made before its pod when missing and named in the pod's volumes; claims
outlive their pods (a pod made again finds its data), are owned by the set under
``persistentVolumeClaimRetentionPolicy.whenDeleted: Delete`` (the garbage collector removes
them with it) and deleted once their pod is gone under ``whenScaled: Delete`` when their
ordinal is scaled away (:func:`scaled_away`).

Status (:func:`statefulset_status`): replicas, readyReplicas, availableReplicas,
currentReplicas, updatedReplicas, currentRevision (becomes updateRevision once every pod runs
it and is ready), updateRevision, collisionCount, observedGeneration.

Neighbours: ``actors.controllers.controller`` (base), ``actors.controllers.revisions`` (the
history), ``actors.controllers.daemonset`` (what "available" means).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from actors.api import storage
from actors.api.meta import controller_ref, owner_reference
from actors.api.objects import Object
from actors.api.pods import is_pod_ready
from actors.api.selectors import selector_matches
from actors.controllers import revisions
from actors.controllers.controller import Controller, Key, without_zeros
from actors.controllers.daemonset import is_available
from bus.errors import AlreadyExists, ApiError, NotFound, TemporaryError

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
FINISHED = ("Succeeded", "Failed")

OMITTED_WHEN_ZERO = ("observedGeneration", "readyReplicas", "currentReplicas",
                     "updatedReplicas")
"""StatefulSetStatus's counts Go's omitempty leaves out at 0 (``replicas`` and
``availableReplicas`` are always written)."""


# -- decisions ----------------------------------------------------------------------------------


def ordinal_of(set_name: str, pod: Object) -> int | None:
    """The ordinal in a pod's name ``<set>-<n>`` (None: not such a name)."""
    prefix, _, number = pod["metadata"]["name"].rpartition("-")
    return int(number) if prefix == set_name and number.isdigit() else None


def revision_of(pod: Object) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(revisions.HASH_LABEL)


def claim_name(template: Object, statefulset: Object, ordinal: int) -> str:
    """``<template>-<set>-<ordinal>``: the claim of one ordinal from one template."""
    return f"{template['metadata']['name']}-{statefulset['metadata']['name']}-{ordinal}"


def new_claims(statefulset: Object, ordinal: int) -> list[Object]:
    """The claims of pod ``ordinal`` from the set's ``volumeClaimTemplates``: the template's
    labels and the selector's, owned by the set when ``whenDeleted: Delete``."""
    spec, metadata = statefulset["spec"], statefulset["metadata"]
    selected = (spec.get("selector") or {}).get("matchLabels") or {}
    deleted = (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted")
    owners = [owner_reference(statefulset)] if deleted == "Delete" else []
    claims = []
    for template in spec.get("volumeClaimTemplates") or []:
        own = template.get("metadata") or {}
        claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
            "name": claim_name(template, statefulset, ordinal),
            "namespace": metadata["namespace"],
            "labels": {**(own.get("labels") or {}), **selected},
            "annotations": own.get("annotations") or {}, "ownerReferences": owners},
            "spec": template.get("spec") or {}})
    return claims


def scaled_away(statefulset: Object, claims: list[Object], pods: dict[int, Object]) -> list[str]:
    """Claims to delete under ``whenScaled: Delete``: those of ordinals beyond the replicas
    whose pod is gone."""
    spec = statefulset["spec"]
    if (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenScaled") != "Delete":
        return []
    start = int((spec.get("ordinals") or {}).get("start", 0))
    kept = range(start, start + int(spec.get("replicas", 1)))
    stems = [f"{t['metadata']['name']}-{statefulset['metadata']['name']}-"
             for t in spec.get("volumeClaimTemplates") or []]
    ordinals = {claim["metadata"]["name"]: name[len(stem):] for claim in claims
                for stem in stems if (name := claim["metadata"]["name"]).startswith(stem)}
    return [name for name, number in ordinals.items()
            if number.isdigit() and int(number) not in kept and int(number) not in pods]


def new_pod(statefulset: Object, ordinal: int, revision: Object) -> Object:
    """Pod ``ordinal`` of ``statefulset``, from ``revision``'s template, with a volume per
    claim template (replacing the template's volume of that name)."""
    template = revisions.template_of(revision)
    name = f"{statefulset['metadata']['name']}-{ordinal}"
    metadata = template.get("metadata") or {}
    spec = dict(template.get("spec") or {}, hostname=name)
    claimed = {t["metadata"]["name"]: {"name": t["metadata"]["name"], "persistentVolumeClaim": {
        "claimName": claim_name(t, statefulset, ordinal)}}
        for t in statefulset["spec"].get("volumeClaimTemplates") or []}
    if claimed:
        spec["volumes"] = [v for v in spec.get("volumes") or [] if v.get("name") not in claimed
                           ] + list(claimed.values())
    if service := statefulset["spec"].get("serviceName"):
        spec["subdomain"] = service
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": statefulset["metadata"]["namespace"],
                     "labels": {**(metadata.get("labels") or {}), POD_NAME_LABEL: name,
                                POD_INDEX_LABEL: str(ordinal),
                                revisions.HASH_LABEL: revision["metadata"]["name"]},
                     "annotations": metadata.get("annotations") or {},
                     "ownerReferences": [owner_reference(statefulset)]},
        "spec": spec,
    }


@dataclass(frozen=True, slots=True)
class Step:
    """What one reconcile does."""

    create: list[int] = field(default_factory=list)
    """Ordinals to create, in order."""
    delete: list[str] = field(default_factory=list)
    """Pods to delete, by name, in order."""


def _terminating(pod: Object) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def next_step(statefulset: Object, pods: dict[int, Object], update: str, now: datetime
              ) -> Step:
    """One reconcile's creations and deletions for the pods by ordinal (Kubernetes'
    updateStatefulSet; see the module docstring)."""
    spec, step = statefulset["spec"], Step()
    start = int((spec.get("ordinals") or {}).get("start", 0))
    wanted = range(start, start + int(spec.get("replicas", 1)))
    ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    min_ready = int(spec.get("minReadySeconds") or 0)

    def healthy(pod: Object) -> bool:
        return (pod.get("status", {}).get("phase") == "Running" and not _terminating(pod)
                and is_available(pod, min_ready, now))

    for ordinal in wanted:
        pod = pods.get(ordinal)
        if pod is None:
            step.create.append(ordinal)
        elif pod.get("status", {}).get("phase") in FINISHED and not _terminating(pod):
            step.delete.append(pod["metadata"]["name"])
        elif healthy(pod) or not ordered:
            continue
        if ordered:
            return step
    condemned = sorted((o for o in pods if o not in wanted), reverse=True)
    for ordinal in condemned:
        pod = pods[ordinal]
        if ordered and (_terminating(pod) or any(
                not healthy(other) for o, other in pods.items() if o != ordinal)):
            return step
        if not _terminating(pod):
            step.delete.append(pod["metadata"]["name"])
        if ordered:
            return step
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return step
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    for ordinal in reversed(wanted):
        pod = pods.get(ordinal)
        if ordinal < start + partition or pod is None:
            break
        if revision_of(pod) != update and not _terminating(pod):
            step.delete.append(pod["metadata"]["name"])
            break
        if not healthy(pod):
            break
    return step


def creation_revision(statefulset: Object, ordinal: int) -> bool:
    """Whether pod ``ordinal`` is made from the current revision rather than the update one:
    it is below a RollingUpdate's partition."""
    spec = statefulset["spec"]
    strategy = spec.get("updateStrategy") or {}
    start = int((spec.get("ordinals") or {}).get("start", 0))
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    return strategy.get("type", "RollingUpdate") == "RollingUpdate" and (
        ordinal < start + partition)


def statefulset_status(statefulset: Object, pods: list[Object], current: str, update: str,
                       now: datetime) -> Object:
    """The StatefulSet's status from its pods and revisions (Kubernetes' computeReplicaStatus
    and completeRollingUpdate)."""
    min_ready = int(statefulset["spec"].get("minReadySeconds") or 0)
    running = [p for p in pods if p.get("status", {}).get("phase") == "Running"]
    live = [p for p in pods if not _terminating(p)]
    status = dict(statefulset.get("status") or {})
    status.update(
        replicas=len(pods),
        readyReplicas=sum(1 for p in running if is_pod_ready(p)),
        availableReplicas=sum(1 for p in running if is_available(p, min_ready, now)),
        currentReplicas=sum(1 for p in live if revision_of(p) == current),
        updatedReplicas=sum(1 for p in live if revision_of(p) == update),
        currentRevision=current, updateRevision=update,
        collisionCount=int(status.get("collisionCount", 0)),
        observedGeneration=statefulset["metadata"].get("generation", 1))
    strategy = (statefulset["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "RollingUpdate" and status["updatedReplicas"] == status["replicas"] == \
            status["readyReplicas"]:
        status.update(currentRevision=update, currentReplicas=status["updatedReplicas"])
    return status


# -- the controller -----------------------------------------------------------------------------


class StatefulSetController(Controller):
    """See the module docstring."""

    component = "statefulset-controller"
    resources = ("statefulsets", "controllerrevisions", "pods", storage.CLAIMS)

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == "statefulsets":
            return [Key.of(obj)]
        if resource == storage.CLAIMS:
            return []  # read when a pod is made or scaled away
        namespace = obj["metadata"]["namespace"]
        ref = controller_ref(obj)
        if ref is not None:
            return [Key("statefulsets", namespace, ref["name"])] if ref.get(
                "kind") == "StatefulSet" else []
        labels = obj["metadata"].get("labels")
        return [Key.of(s) for s in self.listed("statefulsets", namespace)
                if selector_matches(s["spec"].get("selector") or {}, labels)]

    def reconcile(self, key: Key) -> float | None:
        statefulset = self.cached(key)
        if statefulset is None or statefulset["metadata"].get("deletionTimestamp"):
            return None
        history = revisions.sync(self, statefulset, "statefulsets")
        update = history.update
        current = history.named((statefulset.get("status") or {}).get(
            "currentRevision") or "") or update
        pods = self.claim(statefulset, "pods")
        name = statefulset["metadata"]["name"]
        by_ordinal = {o: p for p in pods if (o := ordinal_of(name, p)) is not None}
        now = datetime.now(UTC)
        step = next_step(statefulset, by_ordinal, update["metadata"]["name"], now)
        self._apply(statefulset, step, current, update, by_ordinal)
        pods = [self.cached(Key("pods", key.namespace, p["metadata"]["name"])) or p
                for p in pods]
        revisions.prune(self, statefulset, history,
                        {current["metadata"]["name"], *(revision_of(p) or "" for p in pods)})
        status = without_zeros(statefulset_status(
            statefulset, pods, current["metadata"]["name"], update["metadata"]["name"], now),
            OMITTED_WHEN_ZERO)
        if status != statefulset.get("status"):
            self.remember(self.client.update("statefulsets", dict(statefulset, status=status),
                                             subresource="status"))
        min_ready = int(statefulset["spec"].get("minReadySeconds") or 0)
        return min_ready / 2 if min_ready and status["availableReplicas"] < status.get(
            "readyReplicas", 0) else None

    def _make_claims(self, statefulset: Object, ordinal: int) -> None:
        """Each claim of pod ``ordinal`` that does not exist yet (kept from before: reused)."""
        name = statefulset["metadata"]["name"]
        for claim in new_claims(statefulset, ordinal):
            namespace, claimed = claim["metadata"]["namespace"], claim["metadata"]["name"]
            if self.objects[storage.CLAIMS].get((namespace, claimed)) is None:
                with contextlib.suppress(AlreadyExists):
                    self.remember(self.client.create(storage.CLAIMS, claim, namespace))
                    self.record_event(statefulset, "Normal", "SuccessfulCreate",
                                      f"create Claim {claimed} Pod {name}-{ordinal} in "
                                      f"StatefulSet {name} success")

    def _apply(self, statefulset: Object, step: Step, current: Object, update: Object,
               pods: dict[int, Object]) -> None:
        """Create and delete what ``step`` says, in its order; a refusal is retried with
        backoff (a name still held by a pod on its way out: soon)."""
        namespace, name = statefulset["metadata"]["namespace"], statefulset["metadata"]["name"]
        try:
            for ordinal in step.create:
                self._make_claims(statefulset, ordinal)
                made = new_pod(statefulset, ordinal,
                               current if creation_revision(statefulset, ordinal) else update)
                self.remember(self.client.create("pods", made, namespace))
                self.record_event(statefulset, "Normal", "SuccessfulCreate",
                                  f"create Pod {made['metadata']['name']} in StatefulSet "
                                  f"{name} successful")
            for pod in step.delete:
                self.client.delete("pods", pod, namespace)
                self.record_event(statefulset, "Normal", "SuccessfulDelete",
                                  f"delete Pod {pod} in StatefulSet {name} successful")
            for claim in scaled_away(statefulset, self.listed(storage.CLAIMS, namespace), pods):
                with contextlib.suppress(NotFound):
                    self.client.delete(storage.CLAIMS, claim, namespace)
        except (AlreadyExists, NotFound) as error:
            raise TemporaryError(str(error),
                                 delay=self.controller_config.backoff_base_seconds) from error
        except ApiError as error:
            self.record_event(statefulset, "Warning", "FailedCreate", str(error))
            raise TemporaryError(str(error)) from error
