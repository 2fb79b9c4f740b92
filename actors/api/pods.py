"""Pods as every component reads them: their containers and sidecars, whether they count, the
taints of unhealthy nodes they tolerate, the scheduler that places them unless they say, and the
objects they refer to (:func:`references`: what the Node authorizer lets their kubelet read).

Pure functions over plain dicts.

Neighbours: ``actors.api.meta`` (conditions), ``actors.api.amounts`` (what a pod requests),
``actors.api.defaulting`` (the tolerations a pod gets), ``actors.controllers`` (active and ready
pods, taint eviction), ``actors.scheduler``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from actors.api.meta import condition, set_condition
from actors.api.objects import Object

Reference = tuple[str, str]
"""(resource, name) of an object a pod refers to, in the pod's namespace."""

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
"""Marks a mirror pod: the API's copy of a kubelet's static pod (the only pods a kubelet may
create)."""
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


def is_sidecar(container: Object) -> bool:
    """An init container with ``restartPolicy: Always``: a sidecar, which starts in its turn
    among the init containers, lets the next one start once running, and runs (restarted
    whatever the pod's policy) beside the app containers."""
    return container.get("restartPolicy") == "Always"


def sidecar_names(pod: Object) -> set[str]:
    """The names of the pod's sidecars (:func:`is_sidecar`)."""
    return {_name(c) for c in listed(_map(pod.get("spec")).get("initContainers"))
            if is_sidecar(c)}


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


SCHEDULING_GATED = "SchedulingGated"
"""The reason of the ``PodScheduled=False`` condition of a pod its scheduling gates hold back
(and kubectl's STATUS word for it)."""


def scheduling_gates(pod: Object) -> list[str]:
    """The names of the gates (``spec.schedulingGates``) that keep ``pod`` from the scheduler
    until they are all removed."""
    return [_name(gate) for gate in listed(_map(pod.get("spec")).get("schedulingGates"))]


def mark_gated(pod: Object) -> None:
    """kube-apiserver's applySchedulingGatedCondition on a new pod: one with gates and no
    ``PodScheduled`` condition yet gets it False, reason :data:`SCHEDULING_GATED`."""
    if scheduling_gates(pod) and condition(pod, "PodScheduled") is None:
        set_condition(pod, "PodScheduled", "False", SCHEDULING_GATED,
                      "Scheduling is blocked due to non-empty scheduling gates")


def gate_problems(pod: Object) -> list[str]:
    """kube-apiserver's refusals of a new pod's gates: named twice, or bound to a node
    already."""
    gates, problems = scheduling_gates(pod), []
    for index, name in enumerate(gates):
        if name in gates[:index]:
            problems.append(f'spec.schedulingGates[{index}].name: Duplicate value: "{name}"')
    if gates and bound_node(pod):
        problems.append("spec.nodeName: Forbidden: cannot be set until all schedulingGates "
                        "have been cleared")
    return problems


def gate_update_problems(old: Object, new: Object) -> list[str]:
    """A pod's gates may only be removed, never added (kube-apiserver's
    validateOnlyDeletedSchedulingGates)."""
    before = scheduling_gates(old)
    return [f"spec.schedulingGates[{index}].name: Forbidden: only deletion is allowed, but "
            f"found new scheduling gate '{name}'"
            for index, name in enumerate(scheduling_gates(new)) if name not in before]


def bound_node(pod: Object) -> str:
    """The node ``pod`` is bound to (``spec.nodeName``); "" when none."""
    return _name(pod.get("spec"), "nodeName")


def _map(value: Any) -> Object:
    return value if isinstance(value, dict) else {}


def _name(value: Any, field: str = "name") -> str:
    name = _map(value).get(field)
    return name if isinstance(name, str) else ""


def _containers(spec: Object) -> Iterator[Object]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from listed(spec.get(field))


def _from_env(container: Object) -> Iterator[Reference]:
    """``env[].valueFrom.{configMap,secret}KeyRef`` and ``envFrom[].{configMap,secret}Ref``."""
    for item in listed(container.get("env")):
        source = _map(item.get("valueFrom"))
        yield "configmaps", _name(source.get("configMapKeyRef"))
        yield "secrets", _name(source.get("secretKeyRef"))
    for source in listed(container.get("envFrom")):
        yield "configmaps", _name(source.get("configMapRef"))
        yield "secrets", _name(source.get("secretRef"))


def _from_volume(pod: str, volume: Object) -> Iterator[Reference]:
    """A volume's ConfigMap, Secret, claim (an ephemeral volume's is ``<pod>-<volume>``),
    projected sources, and the secrets of volume plugins (``secretRef``,
    ``nodePublishSecretRef``)."""
    yield "configmaps", _name(volume.get("configMap"))
    yield "secrets", _name(volume.get("secret"), "secretName")
    yield "persistentvolumeclaims", _name(volume.get("persistentVolumeClaim"), "claimName")
    if isinstance(volume.get("ephemeral"), dict):
        yield "persistentvolumeclaims", f"{pod}-{_name(volume)}"
    for source in listed(_map(volume.get("projected")).get("sources")):
        yield "configmaps", _name(source.get("configMap"))
        yield "secrets", _name(source.get("secret"))
    for plugin in volume.values():
        for field in ("secretRef", "nodePublishSecretRef"):
            yield "secrets", _name(_map(plugin).get(field))


def references(pod: Object) -> frozenset[Reference]:
    """Every object ``pod`` refers to, as Kubernetes' graph populator finds them: its
    service account, image pull secrets, env and envFrom sources, and volumes."""
    spec = _map(pod.get("spec"))
    name = _name(pod.get("metadata"))
    found: list[Reference] = [("serviceaccounts", _name(spec, "serviceAccountName"))]
    found += [("secrets", _name(item)) for item in listed(spec.get("imagePullSecrets"))]
    for container in _containers(spec):
        found += _from_env(container)
    for volume in listed(spec.get("volumes")):
        found += _from_volume(name, volume)
    return frozenset(ref for ref in found if ref[1])
