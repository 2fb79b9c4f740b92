"""PriorityClasses (``scheduling.k8s.io/v1``): what a pod's priority is, and who may preempt.

A PriorityClass maps a name to an integer ``value``; the Priority admission plugin
(``actors.apiserver.admission.priority``) copies the value of the class a pod names
(``spec.priorityClassName``), or of the one ``globalDefault`` class, or 0, into the pod's
``spec.priority``, with the class's ``preemptionPolicy``. The scheduling queue pops higher
priorities first and the scheduler's DefaultPreemption (``actors.scheduler.preemption``) may
evict lower-priority pods for a pod whose policy is ``PreemptLowerPriority``.

As in Kubernetes, user classes go up to HIGHEST_USER_PRIORITY; names starting ``system-`` are
reserved for the two built-in classes the apiserver creates at start (:func:`system_classes`).

Pure functions over plain dicts. Neighbours: ``actors.api.defaulting`` and
``actors.api.validation`` (they call in here), ``actors.apiserver.admission.priority``
(admission).
"""

from __future__ import annotations

from typing import Any

from actors.api.objects import Object

GROUP = "scheduling.k8s.io"
RESOURCE = "priorityclasses"
HIGHEST_USER_PRIORITY = 1_000_000_000
"""The largest value a user's PriorityClass may have (kube-apiserver's
HighestUserDefinablePriority)."""
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_PRIORITY
SYSTEM_PREFIX = "system-"
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"
PREEMPTION_POLICIES = (PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER)
INT32 = (-(2**31), 2**31 - 1)


def system_classes() -> list[Object]:
    """The built-in classes every cluster has (kube-apiserver creates them at start)."""
    return [_class("system-node-critical", SYSTEM_CRITICAL_PRIORITY + 1000,
                   "Used for system critical pods that must not be moved from their current "
                   "node."),
            _class("system-cluster-critical", SYSTEM_CRITICAL_PRIORITY,
                   "Used for system critical pods that must run in the cluster, but can be "
                   "moved to another node if necessary.")]


def _class(name: str, value: int, description: str) -> Object:
    return {"apiVersion": f"{GROUP}/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, "globalDefault": False, "description": description,
            "preemptionPolicy": PREEMPT_LOWER_PRIORITY}


def default_priority_class(obj: Object) -> None:
    """Kubernetes' defaults: ``preemptionPolicy: PreemptLowerPriority``, and ``value: 0`` when
    none is given (an int32 that Kubernetes always serializes)."""
    obj.setdefault("value", 0)
    obj.setdefault("preemptionPolicy", PREEMPT_LOWER_PRIORITY)


def problems(obj: Object) -> list[str]:
    """kube-apiserver's ValidatePriorityClass, in its words."""
    found = []
    name, value = str(obj.get("metadata", {}).get("name") or ""), obj.get("value", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not (
            INT32[0] <= value <= INT32[1]):
        found.append(f"value: Invalid value: {value!r}: must be a 32-bit integer")
    elif name.startswith(SYSTEM_PREFIX):
        why = system_class_problem(name, value, obj.get("globalDefault", False))
        if why:
            found.append(f"metadata.name: Forbidden: priority class names with "
                         f"'{SYSTEM_PREFIX}' prefix are reserved for system use only. "
                         f"error: {why}")
    elif value > HIGHEST_USER_PRIORITY:
        found.append("value: Forbidden: maximum allowed value of a user defined priority is "
                     f"{HIGHEST_USER_PRIORITY}")
    if not isinstance(obj.get("globalDefault", False), bool):
        found.append("globalDefault: Invalid value: must be true or false")
    if not isinstance(obj.get("description", ""), str):
        found.append("description: Invalid value: must be a string")
    policy = obj.get("preemptionPolicy")
    if policy not in PREEMPTION_POLICIES:
        found.append("preemptionPolicy: Required value" if not policy else
                     f'preemptionPolicy: Unsupported value: "{policy}": supported values: '
                     f'"{PREEMPT_LOWER_PRIORITY}", "{PREEMPT_NEVER}"')
    return found


def system_class_problem(name: str, value: Any, global_default: Any) -> str:
    """Why ``name`` may not be a class with these fields ("" when it is a known system
    class with them: kube-apiserver's IsKnownSystemPriorityClass)."""
    for known in system_classes():
        if known["metadata"]["name"] == name:
            if known["value"] != value:
                return f"value of {name} PriorityClass must be {known['value']}"
            if known["globalDefault"] != global_default:
                return f"globalDefault of {name} PriorityClass must be {known['globalDefault']}"
            return ""
    return f"{name} is not a known system priority class"


def default_class(classes: list[Object]) -> Object | None:
    """The ``globalDefault`` class; when a race made several, the lowest value (as
    Kubernetes)."""
    defaults = [pc for pc in classes if pc.get("globalDefault")]
    return min(defaults, key=lambda pc: pc.get("value", 0), default=None)


def resolve(pod_spec: Object, classes: list[Object]) -> tuple[str, int, str]:
    """(class name, priority, preemption policy) a new pod gets: its named class's, else the
    global default's, else ``("", 0, PreemptLowerPriority)``. KeyError naming the class when
    the pod names one that does not exist."""
    wanted = pod_spec.get("priorityClassName") or ""
    if wanted:
        named = next((pc for pc in classes if pc["metadata"]["name"] == wanted), None)
        if named is None:
            raise KeyError(wanted)
        chosen: Object | None = named
    else:
        chosen = default_class(classes)
    if chosen is None:
        return "", 0, PREEMPT_LOWER_PRIORITY
    return (chosen["metadata"]["name"], int(chosen.get("value", 0)),
            str(chosen.get("preemptionPolicy") or PREEMPT_LOWER_PRIORITY))
