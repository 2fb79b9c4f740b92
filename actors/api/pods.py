"""Pods as every component reads them: their containers, whether they count, the taints of
unhealthy nodes they tolerate, and the scheduler that places them unless they say.

Pure functions over plain dicts.

Neighbours: ``actors.api.meta`` (conditions), ``actors.api.amounts`` (what a pod requests),
``actors.api.defaulting`` (the tolerations a pod gets), ``actors.controllers`` (active and ready
pods, taint eviction), ``actors.scheduler``.
"""

from __future__ import annotations

from typing import Any

from actors.api.meta import condition

Object = dict[str, Any]

DEFAULT_SCHEDULER = "default-scheduler"
"""The ``spec.schedulerName`` of a pod that names no scheduler."""


def pod_containers(spec: Any) -> list[Object]:
    """The init containers, then the app containers, of a pod spec; leaves out what is too
    malformed to be a container (validation reports it)."""
    if not isinstance(spec, dict):
        return []
    return [*listed(spec.get("initContainers")), *listed(spec.get("containers"))]


def listed(containers: Any) -> list[Object]:
    """The maps of a list of containers (``containers``, ``initContainers``); nothing when it
    is not a list."""
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300
"""How long a pod stays on a not-ready or unreachable node before eviction, unless it says
otherwise (kube-apiserver's --default-not-ready-toleration-seconds and
--default-unreachable-toleration-seconds)."""


def toleration_matches(toleration: Object, taint: Object) -> bool:
    """Whether one toleration tolerates one taint (Kubernetes' rules: an empty key with
    ``Exists`` tolerates every taint, an empty effect every effect)."""
    key_ok = toleration.get("key") == taint.get("key") or (
        not toleration.get("key") and toleration.get("operator") == "Exists")
    value_ok = toleration.get("operator") == "Exists" or (
        toleration.get("value", "") == taint.get("value", ""))
    effect_ok = not toleration.get("effect") or toleration.get("effect") == taint.get("effect")
    return key_ok and value_ok and effect_ok


def is_pod_active(pod: Object) -> bool:
    """Counted by its controller: neither finished nor being deleted (Kubernetes'
    FilterActivePods)."""
    return (pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")
            and not pod.get("metadata", {}).get("deletionTimestamp"))


def is_pod_ready(pod: Object) -> bool:
    return (condition(pod, "Ready") or {}).get("status") == "True"
