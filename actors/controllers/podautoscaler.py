"""The horizontal pod autoscaler controller: each HorizontalPodAutoscaler's target is scaled,
through its ``scale`` subresource, to the replicas its pods' resource metrics ask for.

Every ``sync_seconds`` (Kubernetes' 15 s) per HPA, and when its spec changes: read the
target's Scale (its replicas and its pods' selector), the pods and their PodMetrics
(``metrics.k8s.io``, which the apiserver asks of the kubelets), let Kubernetes' replica
calculator (``actors.api.autoscaling``) recommend a count per metric, take the largest,
stabilize it (the highest recommendation of the scale-down window, the lowest of the scale-up
one), hold it to the behavior's policies and to min/max replicas, update the Scale when it
differs (a SuccessfulRescale event) and write the status: current and desired replicas,
current metrics, conditions AbleToScale, ScalingActive and ScalingLimited. The recommendations
and rescales the windows and policies look back on are kept in memory, as in Kubernetes (a new
leader starts without them).

Neighbours: ``actors.api.autoscaling`` (every decision), ``actors.controllers.controller``
(base), ``actors.apiserver.metrics`` (the figures).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from actors.api import autoscaling
from actors.api.autoscaling import MetricsUnavailable, Recommendation, Target
from actors.api.meta import now_rfc3339, set_condition
from actors.api.objects import Object
from actors.api.quantity import parse_quantity
from actors.client.client import Client
from actors.controllers.controller import Controller, ControllerConfig, Key
from bus.connection import Connection
from bus.errors import ApiError

METRICS = "pods.metrics.k8s.io"


@dataclass(frozen=True, slots=True)
class AutoscalerConfig:
    sync_seconds: float = 15.0
    """How often each HPA is looked at (``--horizontal-pod-autoscaler-sync-period``)."""
    downscale_stabilization_seconds: int = 300
    """The scale-down window of an HPA whose behavior does not set one
    (``--horizontal-pod-autoscaler-downscale-stabilization``). Small in tests."""
    tolerance: float = autoscaling.TOLERANCE
    """A usage within this fraction of the target changes nothing."""


class PodAutoscalerController(Controller):
    """See the module docstring."""

    component = "horizontal-pod-autoscaler"
    resources = (autoscaling.RESOURCE,)

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None,
                 settings: AutoscalerConfig | None = None) -> None:
        super().__init__(connection, client, config)
        self.settings = settings or AutoscalerConfig()
        self._recommended: dict[Key, list[tuple[float, int]]] = {}
        """(when, recommendation) of each HPA's recent syncs, for the stabilization windows."""
        self._rescaled: dict[Key, list[tuple[float, int]]] = {}
        """(when, replicas added; negative: removed) of each HPA's recent rescales."""

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        """A new or deleted HPA, or a spec not yet acted on; our own status writes are not."""
        observed = (obj.get("status") or {}).get("observedGeneration")
        if event == "MODIFIED" and observed == obj["metadata"].get("generation"):
            return []
        return super().keys_for(resource, obj, event)

    def reconcile(self, key: Key) -> float | None:
        hpa = self.cached(key)
        if hpa is None:
            self._recommended.pop(key, None)
            self._rescaled.pop(key, None)
            return None
        self._sync(key, hpa)
        return self.settings.sync_seconds

    def _sync(self, key: Key, hpa: Object) -> None:
        status = {**copy.deepcopy(hpa.get("status") or {}),
                  "observedGeneration": hpa["metadata"].get("generation")}
        found = {"status": status}
        spec, ref = hpa["spec"], hpa["spec"]["scaleTargetRef"]
        resource = autoscaling.SCALABLE.get(ref.get("kind", ""))
        try:
            scale = self.client.request("get", resource or "", namespace=key.namespace,
                                        name=ref["name"], subresource="scale") \
                if resource else f"the kind {ref.get('kind')} cannot be scaled by an HPA"
        except ApiError as error:
            scale = str(error)
        if resource is None or isinstance(scale, str):
            self._fail(hpa, found, "AbleToScale", "FailedGetScale",
                       f"the HPA controller was unable to get the target's current scale: "
                       f"{scale}")
            return self._write(hpa, status)
        current = int(scale["spec"].get("replicas") or 0)
        status["currentReplicas"] = int(scale.get("status", {}).get("replicas") or 0)
        if current == 0 and spec.get("minReplicas", 1) > 0:
            set_condition(found, "ScalingActive", "False", "ScalingDisabled",
                          "scaling is disabled since the replica count of the target is zero")
            status["desiredReplicas"] = 0
            return self._write(hpa, status)
        set_condition(found, "AbleToScale", "True", "SucceededGetScale",
                      "the HPA controller was able to get the target's current scale")
        try:
            wanted, reason = self._recommend(hpa, scale, status)
        except (MetricsUnavailable, ApiError) as error:
            why = error.reason if isinstance(error, MetricsUnavailable) else \
                "FailedGetResourceMetric"
            self._fail(hpa, found, "ScalingActive", why, f"the HPA was unable to compute the "
                       f"replica count: {getattr(error, 'message', error)}")
            status["desiredReplicas"] = current
            return self._write(hpa, status)
        desired = self._normalize(key, hpa, current, wanted, found)
        if desired != current:
            self._rescale(key, hpa, resource, scale, desired, reason, found)
        status["desiredReplicas"] = desired
        self._write(hpa, status)

    def _recommend(self, hpa: Object, scale: Object, status: Object) -> tuple[int, str]:
        """The largest recommendation over the HPA's metrics, the reason it is worded with,
        and each metric's current figure in ``status``."""
        selector = (scale.get("status") or {}).get("selector")
        if not selector:
            raise MetricsUnavailable("InvalidSelector", "the target's scale has no selector")
        namespace = hpa["metadata"]["namespace"]
        pods = self.client.list("pods", namespace, label_selector=selector)["items"]
        used = {m["metadata"]["name"]: m for m in self.client.list(
            METRICS, namespace, label_selector=selector)["items"]}
        current, chosen = int(scale["spec"]["replicas"]), (0, "")
        status["currentMetrics"] = []
        for metric in hpa["spec"].get("metrics") or []:
            target = Target.of(metric)
            samples = [autoscaling.sample_of(pod, target.resource, pod_usage(
                used.get(pod["metadata"]["name"]), target.resource)) for pod in pods]
            found = autoscaling.replicas_for(target, current, samples, self.settings.tolerance)
            status["currentMetrics"].append(metric_status(target, found))
            chosen = max(chosen, (found.replicas, f"{target.resource} resource"
                                  + (" utilization (percentage of request)"
                                     if target.utilization is not None else "")))
        return chosen

    def _normalize(self, key: Key, hpa: Object, current: int, wanted: int,
                   found: Object) -> int:
        """``wanted`` stabilized and held to the behavior and min/max (ScalingActive and
        ScalingLimited in ``found``)."""
        spec, now = hpa["spec"], time.monotonic()
        rules = autoscaling.behavior(hpa, self.settings.downscale_stabilization_seconds)
        longest = max(rules[w]["stabilizationWindowSeconds"] for w in ("scaleUp", "scaleDown"))
        history = self._recommended.setdefault(key, [])
        history[:] = [(t, r) for t, r in history if t > now - longest]
        stable = autoscaling.stabilized(current, wanted, history, now, rules)
        history.append((now, wanted))
        periods = [p["periodSeconds"] for w in ("scaleUp", "scaleDown")
                   for p in rules[w].get("policies") or []]
        changes = self._rescaled.setdefault(key, [])
        changes[:] = [(t, n) for t, n in changes if t > now - max(periods, default=0)]
        desired, reason, message = autoscaling.limited(
            current, stable, spec.get("minReplicas", 1), spec["maxReplicas"], changes, now,
            rules)
        set_condition(found, "ScalingActive", "True", "ValidMetricFound",
                      "the HPA was able to successfully calculate a replica count")
        if reason:
            set_condition(found, "ScalingLimited", "True", reason, message)
        else:
            set_condition(found, "ScalingLimited", "False", "DesiredWithinRange",
                          "the desired count is within the acceptable range")
        return desired

    def _rescale(self, key: Key, hpa: Object, resource: str, scale: Object, desired: int,
                 reason: str, found: Object) -> None:
        """Update the target's Scale to ``desired``; a SuccessfulRescale event, or
        AbleToScale False (FailedRescale) when it cannot be."""
        current = int(scale["spec"]["replicas"])
        try:
            self.client.update(resource, {**scale, "spec": {"replicas": desired}},
                               subresource="scale")
        except ApiError as error:
            self._fail(hpa, found, "AbleToScale", "FailedUpdateScale",
                       f"the HPA controller was unable to update the target scale: {error}")
            return
        self._rescaled.setdefault(key, []).append((time.monotonic(), desired - current))
        why = f"{reason} above target" if desired > current else "All metrics below target"
        self.record_event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: "
                          f"{why}")
        set_condition(found, "AbleToScale", "True", "SucceededRescale",
                      f"the HPA controller was able to update the target scale to {desired}")
        found["status"]["lastScaleTime"] = now_rfc3339()

    def _fail(self, hpa: Object, found: Object, kind: str, reason: str, message: str) -> None:
        set_condition(found, kind, "False", reason, message)
        self.record_event(hpa, "Warning", reason, message)

    def _write(self, hpa: Object, status: Object) -> None:
        if status != hpa.get("status"):
            self.remember(self.client.update(autoscaling.RESOURCE, {**hpa, "status": status},
                                             subresource="status"))


def pod_usage(metrics: Object | None, resource: str) -> float | None:
    """A pod's usage of ``resource`` (cores, bytes) from its PodMetrics; None without."""
    if metrics is None:
        return None
    return float(sum(parse_quantity((c.get("usage") or {}).get(resource, "0"))
                     for c in metrics.get("containers") or []))


def metric_status(target: Target, found: Recommendation) -> Object:
    """One entry of ``status.currentMetrics``."""
    current: dict[str, Any] = {"averageValue": _quantity(target.resource, found.average)}
    if found.utilization is not None:
        current["averageUtilization"] = found.utilization
    return {"type": "Resource", "resource": {"name": target.resource, "current": current}}


def _quantity(resource: str, amount: float) -> str:
    """Cores as millicores (``250m``), bytes as a whole number of them."""
    return f"{round(amount * 1000)}m" if resource == "cpu" else str(round(amount))
