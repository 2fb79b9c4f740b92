"""PodDisruptionBudgets (``policy/v1``): how many of a set of pods must stay up while they are
evicted on purpose (``kubectl drain``), and the status that says how many may go now.

A budget selects pods by ``spec.selector`` in its namespace (as policy/v1: an empty selector,
every pod there; none, no pod), for its count and for evictions alike, and asks for
``minAvailable`` or ``maxUnavailable`` of them, each a number or a percentage.
:func:`budget_status` is the disruption controller's count: ``expectedPods`` (the pods
selected; Kubernetes takes percentages of the owning controllers' scale, kubeactor of the pods
selected), ``currentHealthy`` (Ready, not being deleted, not evicted a moment
ago), ``desiredHealthy`` and ``disruptionsAllowed`` (their difference, never below 0). The
eviction subresource (``actors.apiserver.evictions``) spends one disruption per eviction and
writes the pod in ``disruptedPods``, so that two evictions racing ahead of the controller
cannot both spend the last one; an entry lasts until its pod is seen deleted, or two minutes.

Pure functions over plain dicts. Neighbours: ``actors.api.validation`` (calls
:func:`problems`), ``actors.controllers.disruptionbudget`` (writes :func:`budget_status`),
``actors.apiserver.evictions`` (reads it).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from actors.api.meta import controller_ref, parse_time
from actors.api.objects import Object
from actors.api.pods import is_pod_ready
from actors.api.selectors import selector_matches, selector_requirements

GROUP = "policy"
SCALED = {"deployments": "Deployment", "replicasets": "ReplicaSet",
          "statefulsets": "StatefulSet", "replicationcontrollers": "ReplicationController"}
"""The controllers whose ``spec.replicas`` a percentage is taken of (Kubernetes' finders)."""
UNHEALTHY_POLICIES = ("IfHealthyBudget", "AlwaysAllow")
RESOURCE = "poddisruptionbudgets"
DELETION_TIMEOUT = timedelta(minutes=2)
"""How long a pod evicted but not yet seen deleted is not counted healthy (Kubernetes'
DeletionTimeout)."""


def problems(obj: Object) -> list[str]:
    """kube-apiserver's checks of a budget's spec, in its words."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    found = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        found.append("spec: Invalid value: minAvailable and maxUnavailable cannot be both set")
    for field in ("minAvailable", "maxUnavailable"):
        value = spec.get(field)
        if value is not None and _amount(value) is None:
            found.append(f'spec.{field}: Invalid value: "{value}": must be a non-negative '
                         "integer or a percentage between 0% and 100%")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POLICIES:
        found.append(f'spec.unhealthyPodEvictionPolicy: Unsupported value: "{policy}": '
                     'supported values: "AlwaysAllow", "IfHealthyBudget"')
    try:
        selector_requirements(spec.get("selector") or {})
    except (ValueError, TypeError, AttributeError) as error:
        found.append(f"spec.selector: Invalid value: {error}")
    return found


def _amount(value: Any) -> tuple[int, bool] | None:
    """(n, is a percentage) of an IntOrString; None when it is neither."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, False
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        percent = int(value[:-1])
        return (percent, True) if percent <= 100 else None
    return None


def selects(budget: Object, pod: Object) -> bool:
    """Whether the budget counts ``pod``, and guards its eviction (same namespace; as
    policy/v1: an empty selector, every pod; none, no pod)."""
    if pod["metadata"].get("namespace") != budget["metadata"].get("namespace"):
        return False
    selector = (budget.get("spec") or {}).get("selector")
    if not isinstance(selector, dict):
        return False
    try:
        if not selector_requirements(selector):
            return True
        return selector_matches(selector, pod["metadata"].get("labels"))
    except (ValueError, TypeError, AttributeError):
        return False


def controller_scales(controllers: list[Object]) -> dict[str, tuple[str, int]]:
    """controller uid -> (uid of the controller whose scale counts, its ``spec.replicas``),
    from the objects of :data:`SCALED`: a ReplicaSet a Deployment controls counts as the
    Deployment, so two ReplicaSets of one rollout count once."""
    scales = {obj["metadata"]["uid"]: (obj["metadata"]["uid"],
                                       int((obj.get("spec") or {}).get("replicas", 1)))
              for obj in controllers if obj["metadata"].get("uid")}
    for obj in controllers:
        owner = controller_ref(obj)
        if obj.get("kind") == "ReplicaSet" and owner and owner.get("kind") == "Deployment":
            uid = obj["metadata"].get("uid")
            if owner.get("uid") in scales and uid:
                scales[uid] = scales[owner["uid"]]
    return scales


def expected_pods(spec: Object, pods: list[Object],
                  scales: dict[str, tuple[str, int]] | None) -> int | str:
    """How many pods the budget expects (see the module docstring), or why it cannot tell
    (a pod no known controller owns). ``scales`` None: the pods themselves are counted."""
    minimum = _amount(spec.get("minAvailable"))
    if scales is None or (minimum is not None and not minimum[1]):
        return len(pods)
    counted: dict[str, int] = {}
    for pod in pods:
        ref = controller_ref(pod)
        if ref is None or ref.get("uid") not in scales:
            return f"found no controllers for pod {pod['metadata']['name']!r}"
        uid, replicas = scales[ref["uid"]]
        counted[uid] = replicas
    return sum(counted.values())


def budget_status(budget: Object, pods: list[Object], now: datetime,
                  scales: dict[str, tuple[str, int]] | None = None) -> Object:
    """The budget's status from the pods it selects (finished ones left out) and, for a
    percentage or ``maxUnavailable``, the scale of their controllers (:func:`expected_pods`)."""
    spec, old = budget.get("spec") or {}, budget.get("status") or {}
    counted = [pod for pod in pods if (pod.get("status") or {}).get("phase") not in (
        "Succeeded", "Failed")]
    disrupted = _still_disrupted(old.get("disruptedPods") or {}, counted, now)
    healthy = sum(1 for pod in counted if is_pod_ready(pod)
                  and not pod["metadata"].get("deletionTimestamp")
                  and pod["metadata"]["name"] not in disrupted)
    expected = expected_pods(spec, counted, scales)
    generation = budget["metadata"].get("generation", 1)
    if isinstance(expected, str):  # Kubernetes' failSafe: nothing may go
        return {**old, "observedGeneration": generation, "disruptionsAllowed": 0,
                "conditions": [_condition(old, 0, generation, now, ("SyncFailed", expected))]}
    desired = _desired(spec, expected)
    allowed = max(0, healthy - desired)
    status: Object = {
        "observedGeneration": generation,
        "disruptionsAllowed": allowed, "currentHealthy": healthy, "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [_condition(old, allowed, generation, now)]}
    if disrupted:
        status["disruptedPods"] = disrupted
    return status


def _desired(spec: Object, expected: int) -> int:
    """How many pods must stay healthy: minAvailable, or expected - maxUnavailable
    (percentages of ``expected``, rounded up as Kubernetes rounds them)."""
    if (minimum := _amount(spec.get("minAvailable"))) is not None:
        count, percent = minimum
        return math.ceil(count * expected / 100) if percent else count
    if (maximum := _amount(spec.get("maxUnavailable"))) is not None:
        count, percent = maximum
        unavailable = math.ceil(count * expected / 100) if percent else count
        return max(0, expected - unavailable)
    return 0


def _still_disrupted(disrupted: dict[str, Any], pods: list[Object],
                     now: datetime) -> dict[str, str]:
    """The evicted pods still there, not yet being deleted, evicted less than two minutes
    ago."""
    live = {pod["metadata"]["name"] for pod in pods
            if not pod["metadata"].get("deletionTimestamp")}
    kept = {}
    for name, when in disrupted.items():
        try:
            recent = now - parse_time(str(when)) < DELETION_TIMEOUT
        except ValueError:
            recent = False
        if name in live and recent:
            kept[name] = str(when)
    return kept


def expiry(status: Object, now: datetime) -> float | None:
    """Seconds until the oldest ``disruptedPods`` entry times out (None: there is none)."""
    times = []
    for when in (status.get("disruptedPods") or {}).values():
        try:
            times.append(parse_time(str(when)))
        except ValueError:
            continue
    if not times:
        return None
    return max(0.0, (min(times) + DELETION_TIMEOUT - now).total_seconds())


def _condition(old: Object, allowed: int, generation: int, now: datetime,
               failed: tuple[str, str] | None = None) -> Object:
    status = "True" if allowed > 0 else "False"
    reason, message = failed or (
        "SufficientPods" if allowed > 0 else "InsufficientPods", "")
    before: Object = next((c for c in old.get("conditions") or []
                   if c.get("type") == "DisruptionAllowed"), {})
    since = before.get("lastTransitionTime") if before.get("status") == status else None
    return {"type": "DisruptionAllowed", "status": status,
            "reason": reason, "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": since or now.strftime("%Y-%m-%dT%H:%M:%SZ")}
