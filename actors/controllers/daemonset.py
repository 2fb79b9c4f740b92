"""The DaemonSet controller: one pod of the template on every node that should run it.

For each DaemonSet it keeps the history of its template (``actors.controllers.revisions``),
claims its pods, and looks at every node (:func:`node_state`): a node should run the daemon pod
when its labels match the template's ``nodeSelector`` and required node affinity and its
NoSchedule and NoExecute taints are tolerated, with the tolerations every daemon pod gets
(:data:`DAEMON_TOLERATIONS`: not-ready and unreachable NoExecute, the pressure and
unschedulable NoSchedule taints); a pod already there may stay while no NoExecute taint is
untolerated. Each pod is bound to its node by node affinity (a ``metadata.name`` matchFields
term, as Kubernetes since 1.12), so the scheduler places it. :func:`daemon_plan` decides what to
create and delete: a pod for each node that should run one and has none, surplus and failed pods
and pods of nodes that should not (or no longer exist) go; a ``RollingUpdate`` replaces pods of
an old template within ``maxUnavailable`` (old unavailable ones go at once), or with
``maxSurge`` starts the new pod beside the old one and deletes the old one once the new is
available; ``OnDelete`` replaces a pod only once it was deleted. Status
(:func:`daemonset_status`): desired/current/updated numbers scheduled, misscheduled, ready,
available (``minReadySeconds``) and unavailable, observedGeneration.

Neighbours: ``actors.controllers.controller`` (base), ``actors.controllers.revisions`` (the
history), ``actors.controllers.replicaset`` (expectations, the pod deletion rank),
``actors.api.placement`` (affinity and taints).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from actors.api import placement
from actors.api.amounts import int_or_percent
from actors.api.meta import condition, controller_ref, owner_reference, parse_time
from actors.api.objects import Object
from actors.api.pods import NOT_READY_TAINT, UNREACHABLE_TAINT, bound_node, is_pod_ready
from actors.api.selectors import selector_matches
from actors.client.client import Client
from actors.controllers import revisions
from actors.controllers.controller import Controller, ControllerConfig, Key, without_zeros
from actors.controllers.replicaset import Expectations
from bus.connection import Connection
from bus.errors import ApiError, NotFound, TemporaryError

_EXISTS = "Exists"
DAEMON_TOLERATIONS: tuple[Object, ...] = (
    *({"key": key, "operator": _EXISTS, "effect": "NoExecute"}
      for key in (NOT_READY_TAINT, UNREACHABLE_TAINT)),
    *({"key": f"node.kubernetes.io/{name}", "operator": _EXISTS, "effect": "NoSchedule"}
      for name in ("disk-pressure", "memory-pressure", "pid-pressure", "unschedulable")),
)
"""What every daemon pod tolerates (Kubernetes' AddOrUpdateDaemonPodTolerations; a host
network pod also ``network-unavailable``)."""
NETWORK_UNAVAILABLE = {"key": "node.kubernetes.io/network-unavailable", "operator": _EXISTS,
                       "effect": "NoSchedule"}

OMITTED_WHEN_ZERO = ("observedGeneration", "updatedNumberScheduled", "numberAvailable",
                     "numberUnavailable")
"""DaemonSetStatus's counts Go's omitempty leaves out at 0 (the scheduled, misscheduled,
desired and ready numbers are always written)."""


# -- decisions ----------------------------------------------------------------------------------


def daemon_pod_spec(template_spec: Object, node_name: str | None) -> Object:
    """The template's pod spec with the daemon tolerations added (those it lacks) and, for a
    node, its required node affinity replaced by one term naming that node."""
    spec = copy.deepcopy(template_spec)
    tolerations = list(spec.get("tolerations") or [])
    extra = [*DAEMON_TOLERATIONS, *([NETWORK_UNAVAILABLE] if spec.get("hostNetwork") else [])]
    tolerations += [t for t in extra if not any(
        (have.get("key"), have.get("effect")) == (t["key"], t["effect"]) for have in tolerations)]
    spec["tolerations"] = tolerations
    if node_name is not None:
        affinity = spec.setdefault("affinity", {})
        affinity["nodeAffinity"] = {**(affinity.get("nodeAffinity") or {}),
                                    "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                    "values": [node_name]}]}]}}
    return spec


def should_run(template_spec: Object, node: Object) -> tuple[bool, bool]:
    """(should a daemon pod start on ``node``, may one already there stay): Kubernetes'
    NodeShouldRunDaemonPod. The node's labels must match the selector and required affinity;
    an untolerated NoSchedule taint keeps new pods off, an untolerated NoExecute one evicts."""
    spec = daemon_pod_spec(template_spec, None)
    name = node["metadata"]["name"]
    if spec.get("nodeName") not in (None, "", name) or not placement.node_matches(
            spec, node["metadata"].get("labels") or {}, name):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = spec["tolerations"]
    evicting = [t for t in taints if t.get("effect") == "NoExecute"]
    if placement.untolerated_taint(evicting, tolerations) is not None:
        return False, False
    blocking = [t for t in taints if t.get("effect") == "NoSchedule"]
    return placement.untolerated_taint(blocking, tolerations) is None, True


def target_node(pod: Object) -> str:
    """The node a daemon pod is for: its ``nodeName``, or the one its affinity names
    (Kubernetes' GetTargetNodeName)."""
    if name := bound_node(pod):
        return name
    affinity = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    terms = (affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
        "nodeSelectorTerms") or []
    for term in terms:
        for requirement in term.get("matchFields") or []:
            if requirement.get("key") == "metadata.name" and len(
                    requirement.get("values") or []) == 1:
                return str(requirement["values"][0])
    return ""


def is_available(pod: Object, min_ready: int, now: datetime) -> bool:
    """Ready for ``min_ready`` seconds (Kubernetes' IsPodAvailable)."""
    if not is_pod_ready(pod) or pod["metadata"].get("deletionTimestamp"):
        return False
    since = (condition(pod, "Ready") or {}).get("lastTransitionTime")
    return not min_ready or not since or (now - parse_time(since)).total_seconds() >= min_ready


@dataclass(frozen=True, slots=True)
class NodeState:
    """One node as the plan sees it."""

    name: str
    run: bool
    """A daemon pod should start here."""
    stay: bool
    """A daemon pod here may keep running."""
    pods: list[Object] = field(default_factory=list)
    """The DaemonSet's pods for this node, not being deleted, oldest first."""


@dataclass(frozen=True, slots=True)
class Plan:
    create: list[str] = field(default_factory=list)
    """Nodes to create a pod for."""
    delete: list[str] = field(default_factory=list)
    """Pods to delete, by name."""


def _hash(pod: Object) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(revisions.HASH_LABEL)


def _age(pod: Object) -> tuple[str, str]:
    return pod["metadata"].get("creationTimestamp") or "", pod["metadata"]["name"]


def daemon_plan(nodes: list[NodeState], current: str, strategy: Object, min_ready: int,
                now: datetime) -> Plan:
    """What one reconcile creates and deletes (Kubernetes' manage and rollingUpdate)."""
    plan = Plan()
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    desired = [n for n in nodes if n.run or (n.stay and n.pods)]
    surge, unavailable = fenceposts(strategy, len(desired)) if rolling else (0, 0)
    for node in nodes:
        failed = [p for p in node.pods if p.get("status", {}).get("phase") == "Failed"]
        plan.delete.extend(p["metadata"]["name"] for p in failed)
        pods = [p for p in node.pods if p not in failed]
        if not node.stay:
            plan.delete.extend(p["metadata"]["name"] for p in pods)
        elif not node.pods and node.run:  # a failed one goes first (no hot loop)
            plan.create.append(node.name)
        else:
            new = [p for p in pods if _hash(p) == current]
            old = [p for p in pods if _hash(p) != current]
            keep = [*old[:1], *new[:1]] if surge else sorted(pods, key=_age)[:1]
            plan.delete.extend(p["metadata"]["name"] for p in pods if p not in keep)
    if rolling:
        _roll(plan, desired, current, surge, unavailable, min_ready, now)
    return plan


def fenceposts(strategy: Object, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods of ``desired``: surge rounds up, unavailable up too
    (Kubernetes' DaemonSet rounding); both 0 makes unavailable 1."""
    rolling = strategy.get("rollingUpdate") or {}
    surge = int_or_percent(rolling.get("maxSurge", 0), desired, round_up=True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", 1), desired, round_up=True)
    return surge, unavailable if surge or unavailable else 1


def _roll(plan: Plan, desired: list[NodeState], current: str, surge: int, unavailable: int,
          min_ready: int, now: datetime) -> None:
    """Replace old pods: within ``unavailable`` (old unavailable pods at once), or, with a
    surge, a new pod beside the old until it is available."""
    candidates: list[str] = []
    down, surging = 0, 0
    for node in desired:
        pods = [p for p in node.pods if p["metadata"]["name"] not in plan.delete
                and p.get("status", {}).get("phase") != "Failed"]
        new = next((p for p in pods if _hash(p) == current), None)
        old = next((p for p in pods if _hash(p) != current), None)
        if not any(is_available(p, min_ready, now) for p in pods):
            down += 1
        if old is None:
            continue
        if not surge:  # an unavailable old pod goes at once, an available one in turn
            (candidates if is_available(old, min_ready, now) else plan.delete).append(
                old["metadata"]["name"])
        elif new is None:  # the new one starts beside it: at once when it serves nobody
            (candidates if is_available(old, min_ready, now) else plan.create).append(
                node.name)
        elif is_available(new, min_ready, now):
            plan.delete.append(old["metadata"]["name"])
        else:
            surging += 1
    if surge:
        plan.create.extend(candidates[:max(surge - surging, 0)])
    else:
        plan.delete.extend(candidates[:max(unavailable - down, 0)])


def daemonset_status(daemonset: Object, nodes: list[NodeState], current: str,
                     now: datetime) -> Object:
    """The DaemonSet's status from its nodes' pods."""
    min_ready = int(daemonset["spec"].get("minReadySeconds") or 0)
    scheduled = [n for n in nodes if n.pods]
    wanted = [n for n in nodes if n.run or (n.stay and n.pods)]
    ready = [n for n in wanted if any(is_pod_ready(p) for p in n.pods)]
    available = [n for n in wanted if any(is_available(p, min_ready, now) for p in n.pods)]
    status = dict(daemonset.get("status") or {})
    status.update(
        desiredNumberScheduled=len(wanted),
        currentNumberScheduled=sum(1 for n in scheduled if n in wanted),
        numberMisscheduled=sum(1 for n in scheduled if n not in wanted),
        numberReady=len(ready), numberAvailable=len(available),
        numberUnavailable=len(wanted) - len(available),
        updatedNumberScheduled=sum(1 for n in wanted if any(_hash(p) == current
                                                            for p in n.pods)),
        observedGeneration=daemonset["metadata"].get("generation", 1))
    return status


def new_pod(daemonset: Object, template: Object, pod_hash: str, node_name: str) -> Object:
    """A daemon pod of ``template`` for ``node_name``, controlled by ``daemonset``."""
    metadata = template.get("metadata") or {}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": f"{daemonset['metadata']['name']}-",
                     "namespace": daemonset["metadata"]["namespace"],
                     "labels": {**(metadata.get("labels") or {}),
                                revisions.HASH_LABEL: pod_hash},
                     "annotations": metadata.get("annotations") or {},
                     "ownerReferences": [owner_reference(daemonset)]},
        "spec": daemon_pod_spec(template.get("spec") or {}, node_name),
    }


# -- the controller -----------------------------------------------------------------------------


class DaemonSetController(Controller):
    """See the module docstring."""

    component = "daemonset-controller"
    resources = ("nodes", "daemonsets", "controllerrevisions", "pods")

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None) -> None:
        super().__init__(connection, client, config)
        self.expectations = Expectations()

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == "daemonsets":
            return [Key.of(obj)]
        if resource == "nodes":
            return [Key.of(ds) for ds in self.listed("daemonsets")]
        namespace = obj["metadata"]["namespace"]
        ref = controller_ref(obj)
        if ref is None:
            labels = obj["metadata"].get("labels")
            return [Key.of(ds) for ds in self.listed("daemonsets", namespace)
                    if selector_matches(ds["spec"].get("selector") or {}, labels)]
        if ref.get("kind") != "DaemonSet":
            return []
        key = Key("daemonsets", namespace, ref["name"])
        if resource == "pods" and event == "ADDED":
            self.expectations.created(key)
        if resource == "pods" and (event == "DELETED" or obj["metadata"].get(
                "deletionTimestamp")):
            self.expectations.deleted(key, obj["metadata"]["name"])
        return [key]

    def reconcile(self, key: Key) -> float | None:
        daemonset = self.cached(key)
        if daemonset is None:
            self.expectations.forget(key)
            return None
        if daemonset["metadata"].get("deletionTimestamp"):
            return None
        history = revisions.sync(self, daemonset, "daemonsets")
        current = (history.update["metadata"].get("labels") or {}).get(revisions.HASH_LABEL, "")
        pods = self.claim(daemonset, "pods")
        self.expectations.still_there(key, {p["metadata"]["name"] for p in pods
                                            if not p["metadata"].get("deletionTimestamp")})
        now = datetime.now(UTC)
        nodes = self._nodes(daemonset, pods)
        if self.expectations.satisfied(key):
            plan = daemon_plan(nodes, current, daemonset["spec"].get("updateStrategy") or {},
                               int(daemonset["spec"].get("minReadySeconds") or 0), now)
            self._apply(key, daemonset, history.update, current, plan)
        revisions.prune(self, daemonset, history, {_hash(p) or "" for p in pods})
        status = without_zeros(daemonset_status(daemonset, nodes, current, now),
                               OMITTED_WHEN_ZERO)
        if status != daemonset.get("status"):
            self.remember(self.client.update("daemonsets", dict(daemonset, status=status),
                                             subresource="status"))
        return 1.0 if status.get("numberAvailable", 0) < status["numberReady"] else None

    def _nodes(self, daemonset: Object, pods: list[Object]) -> list[NodeState]:
        """Every node with the DaemonSet's pods for it; a node gone keeps its pods in a
        state that deletes them."""
        spec = (daemonset["spec"].get("template") or {}).get("spec") or {}
        by_node: dict[str, list[Object]] = {}
        for pod in sorted(pods, key=_age):
            if not pod["metadata"].get("deletionTimestamp"):
                by_node.setdefault(target_node(pod), []).append(pod)
        states = []
        for node in sorted(self.listed("nodes"), key=lambda n: n["metadata"]["name"]):
            run, stay = should_run(spec, node)
            states.append(NodeState(node["metadata"]["name"], run, stay,
                                    by_node.pop(node["metadata"]["name"], [])))
        return states + [NodeState(name, False, False, left) for name, left in by_node.items()]

    def _apply(self, key: Key, daemonset: Object, revision: Object, pod_hash: str,
               plan: Plan) -> None:
        self.expectations.expect(key, adds=len(plan.create), deletes=plan.delete)
        template = revisions.template_of(revision)
        creates = [self.pool.submit(self.client.create, "pods",
                                    new_pod(daemonset, template, pod_hash, node),
                                    key.namespace) for node in plan.create]
        deletes = {name: self.pool.submit(self.client.delete, "pods", name, key.namespace)
                   for name in plan.delete}
        failure: ApiError | None = None
        for node, future in zip(plan.create, creates, strict=True):
            try:
                pod = self.remember(future.result())
            except ApiError as error:
                self.expectations.created(key)
                failure = failure or error
                self.record_event(daemonset, "Warning", "FailedCreate",
                                  f"Error creating: {error.message}")
                continue
            self.record_event(daemonset, "Normal", "SuccessfulCreate",
                              f"Created pod: {pod['metadata']['name']} on node {node}")
        for name, future in deletes.items():
            try:
                future.result()
            except ApiError as error:
                self.expectations.deleted(key, name)
                failure = failure or (None if isinstance(error, NotFound) else error)
                continue
            self.record_event(daemonset, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
        if failure is not None:
            raise TemporaryError(str(failure)) from failure
