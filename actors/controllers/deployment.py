"""The Deployment controller: one ReplicaSet per pod template, rolled over by the strategy.

For each Deployment it claims the ReplicaSets of its namespace, finds the one whose template is
the Deployment's (both :func:`as_read`, with today's defaults, ignoring the
``pod-template-hash`` label) or creates it (named
``<deployment>-<hash>``, the hash label added to its selector and template, the revision in the
``deployment.kubernetes.io/revision`` annotation, one more than any older one, with the
Deployment's other annotations such as ``kubernetes.io/change-cause``), then moves replicas
from the old ReplicaSets to the new one:

- ``RollingUpdate`` (:func:`rolling_plan`, Kubernetes' reconcileNewReplicaSet and
  reconcileOldReplicaSets): the new ReplicaSet grows while the total stays within
  ``replicas + maxSurge``; old ones shrink (unhealthy pods first) while at least
  ``replicas - maxUnavailable`` pods stay available;
- ``Recreate``: every old ReplicaSet goes to 0, and the new one is scaled up once their pods
  are gone, terminating ones included (this is what it follows pods for).

When the Deployment's replicas change (its active ReplicaSets' ``desired-replicas`` annotation
differs), or while it is ``spec.paused``, no rollout step happens: the replicas are spread over
the ReplicaSets in proportion (:func:`proportional_plan`, Kubernetes' proportional scaling), and
a paused Deployment gets no ReplicaSet for a new template until it is resumed.

When a rollout is complete, old ReplicaSets at 0 beyond ``revisionHistoryLimit`` are deleted.
Status: replicas, updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas,
observedGeneration and the Available and Progressing conditions (ProgressDeadlineExceeded once
``progressDeadlineSeconds`` pass without progress).

Neighbours: ``actors.controllers.controller`` (base), ``actors.controllers.replicaset`` (runs the
pods).
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from actors.api.amounts import int_or_percent
from actors.api.defaulting import default_pod_spec
from actors.api.meta import controller_ref, now_rfc3339, owner_reference, parse_time
from actors.api.objects import Object
from actors.api.selectors import selector_matches
from actors.controllers.controller import Controller, Key, without_zeros
from bus.errors import AlreadyExists, ApiError, TemporaryError

log = logging.getLogger(__name__)

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
NOT_COPIED = frozenset({REVISION, DESIRED_REPLICAS, MAX_REPLICAS,
                        "deployment.kubernetes.io/revision-history",
                        "deprecated.deployment.rollback.to",
                        "kubectl.kubernetes.io/last-applied-configuration"})
"""A Deployment's annotations its ReplicaSets do not get (and a rollback does not bring
back); every other one (``kubernetes.io/change-cause``) is copied, as Kubernetes does."""
FINISHED = ("Succeeded", "Failed")
_SAFE = "bcdfghjklmnpqrstvwxz2456789"
"""Kubernetes' alphabet for generated names (no vowels: no words)."""

OMITTED_WHEN_ZERO = ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                     "availableReplicas", "unavailableReplicas")
"""DeploymentStatus's counts Go's omitempty leaves out at 0."""


# -- decisions ----------------------------------------------------------------------------------


def template_hash(template: Object, collision_count: int = 0) -> str:
    """A short stable hash of a pod template (FNV-1a 32 of its canonical JSON and the
    collision count), written as Kubernetes writes it (SafeEncodeString of the decimal)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    data += str(collision_count).encode() if collision_count else b""
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[ord(digit) % len(_SAFE)] for digit in str(value))


def as_read(template: Object) -> Object:
    """A pod template as Kubernetes reads it back: decoding from etcd applies today's
    defaults, so a workload stored before a default was added and its ReplicaSets (or
    revisions) compare equal after an unrelated update wrote that default into its template
    (else all its pods would roll). Empty maps and lists are dropped, which Kubernetes'
    semantic equality takes for absent ones (``kubectl rollout undo`` sends ``resources: {}``
    where the ReplicaSet's template has none, and must find that ReplicaSet). A copy."""
    read = copy.deepcopy(template)
    default_pod_spec(read.get("spec"))
    return _without_empties(read)


def without_hash(template: Object) -> Object:
    """The template :func:`as_read`, without its hash label."""
    read = as_read(template)
    (read.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL, None)
    return read


def _without_empties(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {key: _without_empties(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item != {} and item != []}
    if isinstance(value, list):
        return [_without_empties(item) for item in value]
    return value


def fenceposts(deployment: Object) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods: surge rounds up, unavailable down; both 0 becomes
    unavailable 1 (Kubernetes' ResolveFenceposts). Recreate: (0, replicas)."""
    spec = deployment["spec"]
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, replicas
    rolling = strategy.get("rollingUpdate") or {}
    surge = int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


@dataclass(frozen=True, slots=True)
class Counts:
    """What the rolling update needs to know of one ReplicaSet."""

    name: str
    replicas: int
    """``spec.replicas``."""
    available: int
    """``status.availableReplicas``, at most ``spec.replicas`` (a ReplicaSet just scaled down
    still reports the pods it is deleting)."""


def counts(rs: Object) -> Counts:
    replicas = int(rs["spec"].get("replicas", 0))
    available = int((rs.get("status") or {}).get("availableReplicas", 0))
    return Counts(rs["metadata"]["name"], replicas, min(available, replicas))


def rolling_plan(replicas: int, surge: int, unavailable: int, new: Counts,
                 olds: list[Counts]) -> dict[str, int]:
    """The ``spec.replicas`` to set, by ReplicaSet name, for one step of a rolling update;
    ``olds`` oldest first. Never more than ``replicas + surge`` pods declared, never fewer
    than ``replicas - unavailable`` available."""
    plan: dict[str, int] = {}
    total = new.replicas + sum(old.replicas for old in olds)
    target = new.replicas
    if new.replicas > replicas:
        target = replicas
    elif new.replicas < replicas and total < replicas + surge:
        target = new.replicas + min(replicas + surge - total, replicas - new.replicas)
    if target != new.replicas:
        plan[new.name] = target
    total += target - new.replicas
    if not any(old.replicas for old in olds):
        return plan
    min_available = replicas - unavailable
    budget = total - min_available - (target - new.available)
    if budget <= 0:
        return plan
    current = {old.name: old.replicas for old in olds}
    for old in olds:  # unhealthy pods of old ReplicaSets go first: they serve nobody
        cut = min(budget, current[old.name] - old.available)
        if cut > 0:
            current[old.name] -= cut
            budget -= cut
    available = new.available + sum(min(old.available, current[old.name]) for old in olds)
    excess = available - min_available
    for old in olds:
        cut = min(current[old.name], max(excess, 0))
        current[old.name] -= cut
        excess -= cut
    plan.update({name: value for name, value in current.items()
                 if value != next(o.replicas for o in olds if o.name == name)})
    return plan


def _size(rs: Object) -> int:
    return int(rs["spec"].get("replicas", 0))


def _age(rs: Object) -> tuple[str, str]:
    """Sort key, oldest first (Kubernetes' ReplicaSetsByCreationTimestamp)."""
    return rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"]


def _annotated(rs: Object, key: str) -> int | None:
    value = (rs["metadata"].get("annotations") or {}).get(key)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def is_scaling_event(deployment: Object, replicasets: list[Object]) -> bool:
    """Whether the Deployment's replicas changed since its active ReplicaSets were last
    sized for it (their ``desired-replicas`` annotation says otherwise)."""
    replicas = int(deployment["spec"].get("replicas", 1))
    return any(_size(rs) and _annotated(rs, DESIRED_REPLICAS) not in (None, replicas)
               for rs in replicasets)


def _round(value: float) -> int:
    """Half away from zero, as Go's math.Round (Python's round() goes to even)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def proportional_plan(deployment: Object, new: Object | None, olds: list[Object]
                      ) -> dict[str, int]:
    """The ``spec.replicas`` of the ReplicaSets (by name) after the Deployment's replicas
    changed, or while it is paused (Kubernetes' scale()):

    - one active ReplicaSet (or none: the newest) takes all the replicas;
    - a saturated new one (all replicas declared and available) leaves the old ones at 0;
    - else, in a rolling update, ``replicas + maxSurge`` less what the active ones declare
      is spread over them in proportion to their size (from ``max-replicas``, the total they
      were sized for), largest first (newer first when growing, older first when shrinking);
      the rounding's leftover goes to the first. Recreate: nothing (the rollout decides).
    """
    replicas = int(deployment["spec"].get("replicas", 1))
    everyone = sorted(olds + ([new] if new else []), key=_age)
    active = [rs for rs in everyone if _size(rs)]
    if len(active) <= 1:
        target = active[0] if active else new or (everyone[-1] if everyone else None)
        return {} if target is None else {target["metadata"]["name"]: replicas}
    if new is not None and _size(new) == replicas == _annotated(new, DESIRED_REPLICAS) == int(
            (new.get("status") or {}).get("availableReplicas", 0)):
        return {rs["metadata"]["name"]: 0 for rs in active if rs is not new}
    if (deployment["spec"].get("strategy") or {}).get("type") == "Recreate":
        return {}
    surge, _ = fenceposts(deployment)
    allowed = replicas + surge if replicas else 0
    to_add = allowed - sum(_size(rs) for rs in active)
    active.sort(key=_age, reverse=to_add > 0)  # ties: newer first when growing
    active.sort(key=_size, reverse=True)  # stable: largest first
    was = int((deployment.get("status") or {}).get("replicas", 0))
    sizes, added = {}, 0
    for rs in active:
        share = 0
        if to_add and to_add != added:
            share = _share(_size(rs), replicas, allowed, _annotated(rs, MAX_REPLICAS) or was)
            share = min(share, to_add - added) if to_add > 0 else max(share, to_add - added)
        sizes[rs["metadata"]["name"]] = _size(rs) + share
        added += share
    first = active[0]["metadata"]["name"]
    sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes


def _share(size: int, replicas: int, allowed: int, sized_for: int) -> int:
    """Replicas to add to (or, negative, take from) a ReplicaSet of ``size`` that was sized
    for a total of ``sized_for``, now that the total may be ``allowed``."""
    if replicas == 0:
        return -size
    if not sized_for:
        return 0  # nothing to scale from: the leftover goes to the largest
    return _round(size * allowed / sized_for) - size


def revision(obj: Object) -> int:
    value = (obj.get("metadata", {}).get("annotations") or {}).get(REVISION, "0")
    return int(value) if str(value).isdigit() else 0


def copied_annotations(obj: Object) -> dict[str, str]:
    """The annotations of ``obj`` that go from a Deployment to its ReplicaSet (and back, on a
    rollback): all but :data:`NOT_COPIED`."""
    return {key: value for key, value in (obj["metadata"].get("annotations") or {}).items()
            if key not in NOT_COPIED}


def new_replicaset(deployment: Object, pod_hash: str, replicas: int, rev: int) -> Object:
    """The ReplicaSet of ``deployment``'s current template."""
    spec, metadata = deployment["spec"], deployment["metadata"]
    template = copy.deepcopy(spec["template"])
    labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: pod_hash}
    template.setdefault("metadata", {})["labels"] = labels
    selector = copy.deepcopy(spec["selector"])
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    surge, _ = fenceposts(deployment)
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{metadata['name']}-{pod_hash}",
                     "namespace": metadata["namespace"], "labels": labels,
                     "annotations": {**copied_annotations(deployment), REVISION: str(rev),
                                     DESIRED_REPLICAS: str(spec.get("replicas", 1)),
                                     MAX_REPLICAS: str(int(spec.get("replicas", 1)) + surge)},
                     "ownerReferences": [owner_reference(deployment)]},
        "spec": {"replicas": replicas, "minReadySeconds": spec.get("minReadySeconds", 0),
                 "selector": selector, "template": template},
    }


def to_prune(deployment: Object, olds: list[Object]) -> list[Object]:
    """Old ReplicaSets with no pods left beyond ``revisionHistoryLimit``, oldest first."""
    limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
    idle = [rs for rs in olds if not rs["spec"].get("replicas")
            and not (rs.get("status") or {}).get("replicas")
            and not rs["metadata"].get("deletionTimestamp")]
    idle.sort(key=revision)
    return idle[:max(len(idle) - limit, 0)]


def deployment_status(deployment: Object, replicasets: list[Object], new: Object | None,
                      now: datetime) -> tuple[Object, float | None]:
    """The Deployment's status from its ReplicaSets, and the seconds until its progress
    deadline would pass (None when it is complete or paused: a paused Deployment is
    Progressing Unknown, DeploymentPaused; once resumed, DeploymentResumed and its deadline
    counts from then)."""
    spec, old = deployment["spec"], dict(deployment.get("status") or {})
    replicas = int(spec.get("replicas", 1))

    def total(field: str, of: list[Object]) -> int:
        return sum(int((rs.get("status") or {}).get(field, 0)) for rs in of)

    status: Object = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": total("replicas", replicasets),
        "updatedReplicas": total("replicas", [new] if new else []),
        "readyReplicas": total("readyReplicas", replicasets),
        "availableReplicas": total("availableReplicas", replicasets),
    }
    status["unavailableReplicas"] = max(replicas - status["availableReplicas"], 0)
    if "collisionCount" in old:
        status["collisionCount"] = old["collisionCount"]
    _, unavailable = fenceposts(deployment)
    conditions = {c["type"]: c for c in old.get("conditions") or []}
    if status["availableReplicas"] >= replicas - unavailable:
        _condition(conditions, "Available", "True", "MinimumReplicasAvailable",
                   "Deployment has minimum availability.")
    else:
        _condition(conditions, "Available", "False", "MinimumReplicasUnavailable",
                   "Deployment does not have minimum availability.")
    name = new["metadata"]["name"] if new else deployment["metadata"]["name"]
    complete = (status["updatedReplicas"] == replicas == status["replicas"]
                == status["availableReplicas"])
    deadline = float(spec.get("progressDeadlineSeconds", 600))
    progressing = conditions.get("Progressing")
    moved = any(old.get(f, 0) != status[f] for f in ("replicas", "updatedReplicas",
                                                   "availableReplicas", "readyReplicas"))
    left: float | None = None
    reason = (progressing or {}).get("reason")
    if spec.get("paused"):  # no progress expected, no deadline
        if reason not in ("DeploymentPaused", "ProgressDeadlineExceeded"):
            _condition(conditions, "Progressing", "Unknown", "DeploymentPaused",
                       "Deployment is paused")
        return _with_conditions(status, conditions), None
    resumed = reason == "DeploymentPaused"
    if resumed:
        _condition(conditions, "Progressing", "Unknown", "DeploymentResumed",
                   "Deployment is resumed")
    if complete:
        _condition(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                   f'ReplicaSet "{name}" has successfully progressed.')
    elif moved or progressing is None or (not resumed and old.get(
            "observedGeneration") != status["observedGeneration"]):
        _condition(conditions, "Progressing", "True", "ReplicaSetUpdated",
                   f'ReplicaSet "{name}" is progressing.', touch=True)
        left = deadline
    elif resumed:  # the deadline counts again from now
        left = deadline
    elif progressing.get("reason") != "ProgressDeadlineExceeded":
        since = (now - parse_time(progressing["lastUpdateTime"])).total_seconds()
        if since > deadline:
            _condition(conditions, "Progressing", "False", "ProgressDeadlineExceeded",
                       f'ReplicaSet "{name}" has timed out progressing.')
        else:
            left = deadline - since + 0.5
    return _with_conditions(status, conditions), left


def _with_conditions(status: Object, conditions: dict[str, Object]) -> Object:
    status["conditions"] = [conditions[kind] for kind in ("Available", "Progressing")
                            if kind in conditions]
    return status


def _condition(conditions: dict[str, Object], kind: str, status: str, reason: str,
               message: str, touch: bool = False) -> None:
    """Set a Deployment condition: ``lastTransitionTime`` moves when the status changes,
    ``lastUpdateTime`` when anything does (or ``touch``: progress was made)."""
    old = conditions.get(kind)
    stamp = now_rfc3339()
    same = old is not None and (old["status"], old.get("reason"), old.get("message")) == (
        status, reason, message)
    conditions[kind] = {
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastUpdateTime": old["lastUpdateTime"] if same and not touch and old else stamp,
        "lastTransitionTime": (old["lastTransitionTime"] if old and old["status"] == status
                               else stamp),
    }


# -- the controller -----------------------------------------------------------------------------


class DeploymentController(Controller):
    """See the module docstring."""

    component = "deployment-controller"
    resources = ("deployments", "replicasets", "pods")

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == "deployments":
            return [Key.of(obj)]
        namespace = obj["metadata"]["namespace"]
        if resource == "pods":  # only Recreate waits for pods: for the old ones to be gone
            if event != "DELETED" and obj.get("status", {}).get("phase") not in FINISHED:
                return []
            owner = self._owner_of(obj)
            return [Key.of(owner)] if owner and (owner["spec"].get("strategy") or {}).get(
                "type") == "Recreate" else []
        ref = controller_ref(obj)
        if ref is not None:
            return [Key("deployments", namespace, ref["name"])] if ref.get(
                "kind") == "Deployment" else []
        labels = obj["metadata"].get("labels")
        return [Key.of(d) for d in self.listed("deployments", namespace)
                if selector_matches(d["spec"].get("selector") or {}, labels)]

    def _owner_of(self, pod: Object) -> Object | None:
        """The Deployment whose ReplicaSet controls ``pod``, if cached."""
        namespace = pod["metadata"]["namespace"]
        ref = controller_ref(pod)
        rs = self.cached(Key("replicasets", namespace, ref["name"])) if ref and ref.get(
            "kind") == "ReplicaSet" else None
        up = controller_ref(rs) if rs else None
        return self.cached(Key("deployments", namespace, up["name"])) if up and up.get(
            "kind") == "Deployment" else None

    def reconcile(self, key: Key) -> float | None:
        deployment = self.cached(key)
        if deployment is None:
            return None
        owned = self.claim(deployment, "replicasets")
        owned.sort(key=lambda rs: (rs["metadata"].get("creationTimestamp", ""),
                                   rs["metadata"]["name"]))
        template = without_hash(deployment["spec"]["template"])
        new = next((rs for rs in owned if without_hash(rs["spec"]["template"]) == template),
                   None)
        olds = [rs for rs in owned if rs is not new]
        if not deployment["metadata"].get("deletionTimestamp"):
            if deployment["spec"].get("paused") or is_scaling_event(deployment, owned):
                new = self._sync(deployment, new, olds)
            elif deployment["spec"].get("strategy", {}).get("type") == "Recreate":
                new = self._recreate(deployment, new, olds)
            else:
                new = self._roll(deployment, new, olds)
            olds = [self.cached(Key.of(rs)) or rs for rs in olds]  # as scaled just now
            owned = olds + ([new] if new else [])
            deployment = self.cached(key) or deployment  # a revision written meanwhile
        return self._report(deployment, owned, new, olds)

    def _roll(self, deployment: Object, new: Object | None, olds: list[Object]
              ) -> Object | None:
        surge, unavailable = fenceposts(deployment)
        replicas = int(deployment["spec"].get("replicas", 1))
        if new is None:
            first = rolling_plan(replicas, surge, unavailable, Counts("", 0, 0),
                                 [counts(rs) for rs in olds]).get("", 0)
            new = self._create_new(deployment, olds, first)
        else:
            new = self._sync_revision(deployment, new, olds)
        plan = rolling_plan(replicas, surge, unavailable, counts(new),
                            [counts(rs) for rs in olds])
        return self._apply(deployment, plan, new, olds)

    def _sync(self, deployment: Object, new: Object | None, olds: list[Object]
              ) -> Object | None:
        """Paused, or its replicas changed: no new ReplicaSet (a paused Deployment does not
        roll its template out), replicas spread by :func:`proportional_plan`."""
        if new is not None:
            new = self._sync_revision(deployment, new, olds)
        return self._apply(deployment, proportional_plan(deployment, new, olds), new, olds)

    def _apply(self, deployment: Object, plan: dict[str, int], new: Object | None,
               olds: list[Object]) -> Object | None:
        """Scale the ReplicaSets ``plan`` names; the new one as it is now."""
        for rs in [*([new] if new else []), *olds]:
            if rs["metadata"]["name"] in plan:
                scaled = self._scale(deployment, rs, plan[rs["metadata"]["name"]])
                new = scaled if rs is new else new
        return new

    def _recreate(self, deployment: Object, new: Object | None, olds: list[Object]
                  ) -> Object | None:
        for rs in olds:
            if rs["spec"].get("replicas"):
                self._scale(deployment, rs, 0)
        old_uids = {rs["metadata"]["uid"] for rs in olds}
        if any((rs.get("status") or {}).get("replicas") or rs["spec"].get("replicas")
               for rs in olds) or any(
                (controller_ref(pod) or {}).get("uid") in old_uids
                and pod.get("status", {}).get("phase") not in FINISHED
                for pod in self.listed("pods", deployment["metadata"]["namespace"])):
            return new  # old pods still there, terminating ones too; the new ones wait
        replicas = int(deployment["spec"].get("replicas", 1))
        if new is None:
            return self._create_new(deployment, olds, replicas)
        new = self._sync_revision(deployment, new, olds)
        if new["spec"].get("replicas") != replicas:
            new = self._scale(deployment, new, replicas)
        return new

    def _create_new(self, deployment: Object, olds: list[Object], replicas: int) -> Object:
        """Create the ReplicaSet of the current template; on a name taken by another template
        count a collision (the next hash differs) and try again soon (a TemporaryError: an
        AlreadyExists alone would not be retried)."""
        collisions = int((deployment.get("status") or {}).get("collisionCount", 0))
        pod_hash = template_hash(without_hash(deployment["spec"]["template"]), collisions)
        rev = max([revision(rs) for rs in olds], default=0) + 1
        made = new_replicaset(deployment, pod_hash, replicas, rev)
        namespace = deployment["metadata"]["namespace"]
        try:
            rs = self.remember(self.client.create("replicasets", made, namespace))
        except AlreadyExists as error:
            taken = self.client.get("replicasets", made["metadata"]["name"], namespace)
            soon = self.controller_config.backoff_base_seconds
            if without_hash(taken["spec"]["template"]) == without_hash(made["spec"]["template"]):
                raise TemporaryError(f"{error} (ours, not yet seen: the retry adopts it)",
                                     delay=soon) from error
            status = dict(deployment.get("status") or {}, collisionCount=collisions + 1)
            self.remember(self.client.update("deployments", dict(deployment, status=status),
                                             subresource="status"))
            raise TemporaryError(f"{error} (a hash collision, counted)", delay=soon) from error
        except ApiError as error:  # refused (invalid, forbidden): said on the Deployment
            self.record_event(deployment, "Warning", "ReplicaSetCreateError",
                              f'Failed to create new replica set "{made["metadata"]["name"]}": '
                              f"{error}")
            raise
        self.record_event(deployment, "Normal", "ScalingReplicaSet",
                          f"Scaled up replica set {rs['metadata']['name']} to {replicas} from 0")
        self._set_revision(deployment, rev)
        return rs

    def _sync_revision(self, deployment: Object, new: Object, olds: list[Object]) -> Object:
        """The new ReplicaSet carries the highest revision (a rollback to an old template
        makes its ReplicaSet the newest) and the Deployment's copied annotations; the
        Deployment carries the revision too."""
        rev = max([revision(rs) for rs in olds], default=0) + 1
        current = new["metadata"].get("annotations") or {}
        annotations = {**current, **copied_annotations(deployment),
                       REVISION: str(max(revision(new), rev))}
        if annotations != current:
            new = self.remember(self.client.update("replicasets", dict(
                new, metadata=dict(new["metadata"], annotations=annotations))))
        self._set_revision(deployment, revision(new))
        return new

    def _set_revision(self, deployment: Object, rev: int) -> None:
        if revision(deployment) == rev:
            return
        annotations = {**(deployment["metadata"].get("annotations") or {}), REVISION: str(rev)}
        self.remember(self.client.update("deployments", dict(
            deployment, metadata=dict(deployment["metadata"], annotations=annotations))))

    def _scale(self, deployment: Object, rs: Object, replicas: int) -> Object:
        """Set ``rs``'s replicas and the Deployment size it is sized for (the
        ``desired-replicas`` and ``max-replicas`` annotations); no write when both hold."""
        before = int(rs["spec"].get("replicas", 0))
        surge, _ = fenceposts(deployment)
        wanted = int(deployment["spec"].get("replicas", 1))
        current = rs["metadata"].get("annotations") or {}
        annotations = {**current, DESIRED_REPLICAS: str(wanted), MAX_REPLICAS: str(wanted + surge)}
        if before == replicas and annotations == current:
            return rs
        scaled = self.remember(self.client.update("replicasets", dict(
            rs, metadata=dict(rs["metadata"], annotations=annotations),
            spec=dict(rs["spec"], replicas=replicas))))
        if before != replicas:
            way = "up" if replicas > before else "down"
            self.record_event(deployment, "Normal", "ScalingReplicaSet",
                              f"Scaled {way} replica set {rs['metadata']['name']} to "
                              f"{replicas} from {before}")
        return scaled

    def _report(self, deployment: Object, owned: list[Object], new: Object | None,
                olds: list[Object]) -> float | None:
        status, left = deployment_status(deployment, owned, new, datetime.now(UTC))
        status = without_zeros(status, OMITTED_WHEN_ZERO)
        if status != deployment.get("status"):
            deployment = self.remember(self.client.update(
                "deployments", dict(deployment, status=status), subresource="status"))
        complete = status["conditions"][-1].get("reason") == "NewReplicaSetAvailable"
        if complete and not deployment["metadata"].get("deletionTimestamp"):
            for rs in to_prune(deployment, olds):
                self.client.delete("replicasets", rs["metadata"]["name"],
                                   rs["metadata"]["namespace"])
        return left
