"""The eviction subresource (``create pods/NAME/eviction``, a policy/v1 Eviction): a delete of
the pod that a PodDisruptionBudget may refuse, as ``kubectl drain`` asks for it.

Kubernetes' rules, as pure functions over the Eviction, the pod and the budgets: the Eviction
names the pod of the URL (and its namespace); its ``deleteOptions`` (gracePeriodSeconds,
propagationPolicy) are the delete's options; a pod that has finished (Succeeded, Failed), is
Pending, is being deleted, or that no budget selects is deleted at once (canIgnorePDB); a pod
that is not Ready goes without spending when its budget's ``unhealthyPodEvictionPolicy`` is
``AlwaysAllow``, or (``IfHealthyBudget``, the default) while the budget has its desired healthy
pods (``currentHealthy >= desiredHealthy > 0``); one selected by a budget is deleted only while the
budget allows a disruption (``status.disruptionsAllowed`` > 0, counted by the disruption
controller), which the eviction spends: the budget's status is written, one disruption fewer
and the pod in ``disruptedPods``, before the pod is deleted. Otherwise 429 TooManyRequests
with the budget named in a ``DisruptionBudget`` cause, as kube-apiserver answers; a pod under
two budgets is a 500, as there.

Neighbours: ``actors.apiserver.verbs`` (``_evict``: reads, writes and deletes with these
decisions), ``actors.controllers.disruption`` (counts each budget's status),
``actors.api.selectors`` (a budget's selector).

Which thread: any; pure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from actors.api import disruptionbudgets
from actors.api.objects import Object
from actors.api.pods import is_pod_ready
from bus.errors import BadRequest, InternalError, TooManyRequests

SUCCESS: Object = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
"""What an eviction answers (201), as kube-apiserver."""
IGNORED_PHASES = ("Succeeded", "Failed", "Pending")


def delete_options(body: Any, name: str | None, namespace: str | None) -> Object:
    """The bus options of the delete an Eviction asks for; BadRequest for an Eviction of
    another pod or namespace, or options not served."""
    if not isinstance(body, dict):
        raise BadRequest("an eviction's body is a policy/v1 Eviction")
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)
    if metadata.get("name") != name:
        raise BadRequest("name in URL does not match name in Eviction object")
    if metadata.get("namespace") not in (None, "", namespace):
        raise BadRequest("the namespace of the provided object does not match the namespace "
                         "sent on the request")
    options = body.get("deleteOptions") or {}
    if not isinstance(options, dict):
        raise BadRequest("deleteOptions of an Eviction is a DeleteOptions object")
    if options.get("dryRun"):
        raise BadRequest("dryRun is not served yet: nothing was done")
    if options.get("preconditions"):
        raise BadRequest("DeleteOptions.preconditions are not served yet: nothing was done")
    found = {key: options[key] for key in ("gracePeriodSeconds", "propagationPolicy")
             if options.get(key) is not None}
    if options.get("orphanDependents") is True:
        found["propagationPolicy"] = "Orphan"
    return found


def budgets_of(pod: Object, budgets: list[Object]) -> list[Object]:
    """The budgets that select ``pod`` (``disruptionbudgets.selects``: an empty selector
    selects every pod of the namespace, as kube-apiserver's policy/v1 eviction)."""
    return [budget for budget in budgets if disruptionbudgets.selects(budget, pod)]


def spend(pod: Object, budgets: list[Object]) -> Object | None:
    """The budget with one disruption spent on ``pod`` (its status to write), or None when
    the pod may go without one; TooManyRequests when the budget allows no disruption now."""
    if ((pod.get("status") or {}).get("phase") in IGNORED_PHASES
            or pod["metadata"].get("deletionTimestamp")):
        return None
    selecting = budgets_of(pod, budgets)
    if not selecting:
        return None
    if len(selecting) > 1:
        raise InternalError("This pod has more than one PodDisruptionBudget, which the "
                            "eviction subresource does not support.")
    budget = selecting[0]
    status = budget.get("status") or {}
    if not is_pod_ready(pod) and unhealthy_may_go(budget):
        return None
    name = budget["metadata"]["name"]
    if status.get("observedGeneration", 0) < budget["metadata"].get("generation", 1):
        raise _refused(f"The disruption budget {name} is still being processed by the "
                       "server.")
    if status.get("disruptionsAllowed", 0) <= 0:
        raise _refused(f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} "
                       f"healthy pods and has {status.get('currentHealthy', 0)} currently")
    disrupted = dict(status.get("disruptedPods") or {})
    disrupted[pod["metadata"]["name"]] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**budget, "status": {**status, "disruptionsAllowed":
                                 status["disruptionsAllowed"] - 1, "disruptedPods": disrupted}}


def unhealthy_may_go(budget: Object) -> bool:
    """Whether a pod that is not Ready may go without a disruption spent (the budget's
    ``unhealthyPodEvictionPolicy``, Kubernetes' rules)."""
    if (budget.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return True
    status = budget.get("status") or {}
    desired = status.get("desiredHealthy", 0)
    return bool(desired > 0 and status.get("currentHealthy", 0) >= desired)


def _refused(cause: str) -> TooManyRequests:
    return TooManyRequests(
        "Cannot evict pod as it would violate the pod's disruption budget.",
        details={"causes": [{"reason": "DisruptionBudget", "message": cause}]})
