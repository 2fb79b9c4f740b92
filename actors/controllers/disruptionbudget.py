"""The disruption controller: each PodDisruptionBudget's status, counted from the pods it
selects and the scale of the controllers that own them (kube-controller-manager's
``disruption`` controller).

Keys are budgets: a budget's own event queues it, a pod's event queues every budget in its
namespace that selects it, a Deployment's, ReplicaSet's, StatefulSet's or
ReplicationController's every budget in its namespace. A reconcile writes ``status``
(``/status``) when the count (``actors.api.disruptionbudgets.budget_status``) differs from
the stored one, and comes back when the oldest pod the eviction subresource marked
disrupted times out.

Neighbours: ``actors.controllers.controller`` (the base), ``actors.api.disruptionbudgets`` (the
count), ``actors.apiserver.evictions`` (spends what this counts), ``actors.controllers.manager``
(starts it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from actors.api import disruptionbudgets
from actors.api.objects import Object
from actors.controllers.controller import Controller, Key


class DisruptionBudgetController(Controller):
    """See the module docstring."""

    component = "controllermanager"
    resources = (disruptionbudgets.RESOURCE, "pods", *disruptionbudgets.SCALED)

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == disruptionbudgets.RESOURCE:
            return [Key.of(obj)]
        budgets = self.listed(disruptionbudgets.RESOURCE, obj["metadata"].get("namespace", ""))
        if resource in disruptionbudgets.SCALED:  # a scale changed: every budget there
            return [Key.of(budget) for budget in budgets]
        return [Key.of(budget) for budget in budgets if disruptionbudgets.selects(budget, obj)]

    def reconcile(self, key: Key) -> float | None:
        budget = self.cached(key)
        if budget is None:
            return None
        now = datetime.now(UTC)
        pods = [pod for pod in self.listed("pods", key.namespace)
                if disruptionbudgets.selects(budget, pod)]
        scales = disruptionbudgets.controller_scales([
            obj for resource in disruptionbudgets.SCALED
            for obj in self.listed(resource, key.namespace)])
        status = disruptionbudgets.budget_status(budget, pods, now, scales)
        if status != budget.get("status"):
            self.remember(self.client.update(disruptionbudgets.RESOURCE,
                                             dict(budget, status=status),
                                             subresource="status"))
        return disruptionbudgets.expiry(status, now)
