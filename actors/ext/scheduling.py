"""Scheduler plugins and profiles run offline: fake nodes and pods in memory, the framework's
real cycle, no bus, no cluster, no threads (for a plugin's unit tests).

    bench = SchedulingBench([FewestPods()], weights={"FewestPods": 5},
                            nodes=[node("a"), node("b")], pods=[pod("old", node="a")])
    assert bench.place(pod("web")).node == "b"

:class:`SchedulingBench` runs what the scheduler runs for one pod (PreFilter, Filter,
PostFilter, PreScore, Score, NormalizeScore, Reserve, Permit, and the profile's own Bind
plugins if it has any) over a :class:`Cache` it fills from the objects it is given; by
default the profile is the default plugins that only read (``placement_plugins``: no
preemption, no API binding) followed by yours, with the default weights updated by yours,
and refused as the scheduler refuses it. A placed pod is counted on its node, so the next
placement sees it. :func:`node` and :func:`pod` make the objects.

Which thread: the caller's. Neighbours: ``actors.scheduler.framework`` (the cycle),
``actors.scheduler.plugins`` (the defaults), ``actors.ext`` (the face).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actors.api.objects import Object
from actors.scheduler.cache import Cache
from actors.scheduler.framework import Framework, Profile
from actors.scheduler.interface import SUCCESS, Code, CycleState, Plugin, Status
from actors.scheduler.nodeinfo import PodInfo
from actors.scheduler.plugins import DEFAULT_WEIGHTS, placement_plugins


def node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
         labels: Mapping[str, str] | None = None, taints: Sequence[Object] = (),
         ready: bool = True, unschedulable: bool = False) -> Object:
    """A Node object as a kubelet reports it (allocatable = capacity)."""
    resources = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": dict(labels or {})},
            "spec": {"taints": list(taints), "unschedulable": unschedulable},
            "status": {"capacity": resources, "allocatable": resources, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def pod(name: str, *, namespace: str = "default", cpu: str | None = None,
        memory: str | None = None, node: str | None = None,
        labels: Mapping[str, str] | None = None, **spec: Any) -> Object:
    """A Pod object with one container requesting ``cpu`` and ``memory``; bound to ``node``
    when given; ``spec`` entries added as they are (``nodeSelector=...``,
    ``tolerations=...``)."""
    requests = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value}
    container: Object = {"name": "app", "image": "busybox:1.35"}
    if requests:
        container["resources"] = {"requests": requests}
    body: Object = {"containers": [container], **spec}
    if node:
        body["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "spec": body, "status": {"phase": "Pending"},
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})}}


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one pod went, or why not."""

    node: str | None
    """The node chosen (and, with Bind plugins, bound); None: see ``status``."""
    status: Status
    """Success; Unschedulable (no node fits: ``message`` is the FailedScheduling message);
    Error (a plugin failed: ``message`` names it, the extension point and the node); or
    Wait (held at Permit)."""

    @property
    def message(self) -> str:
        return self.status.message


class SchedulingBench:
    """See the module docstring."""

    def __init__(self, plugins: Sequence[Plugin] = (), weights: Mapping[str, int] | None = None,
                 *, defaults: bool = True, nodes: Iterable[Object] = (),
                 pods: Iterable[Object] = ()) -> None:
        """``defaults``: the default placement plugins first (else ``plugins`` alone)."""
        chosen = [*placement_plugins(), *plugins] if defaults else list(plugins)
        self.profile = Profile(tuple(chosen), {**(DEFAULT_WEIGHTS if defaults else {}),
                                               **(weights or {})})
        self.cache = Cache()
        self.framework = Framework(self.profile, self.cache)
        for each in nodes:
            self.add_node(each)
        for each in pods:
            self.add_pod(each)

    def add_node(self, obj: Object) -> None:
        self.cache.set_node(obj)

    def add_pod(self, obj: Object) -> None:
        """Count a pod bound to a node (``spec.nodeName``) on it."""
        if not obj.get("spec", {}).get("nodeName"):
            raise ValueError(f"pod {obj['metadata']['name']} is bound to no node: give it one, "
                             "or place() it")
        self.cache.pod_changed(obj)

    def schedule(self, obj: Object) -> Placement:
        """Where ``obj`` would go, changing nothing."""
        return self._cycle(obj, keep=False)

    def place(self, obj: Object) -> Placement:
        """Where ``obj`` goes; when placed, it is counted there from now on."""
        return self._cycle(obj, keep=True)

    def _cycle(self, obj: Object, keep: bool) -> Placement:
        info, state = PodInfo.of(copy.deepcopy(obj)), CycleState()
        result = self.framework.schedule(state, info, self.cache.node_list())
        if result.node is None:
            code = Code.ERROR if result.diagnosis.error else Code.UNSCHEDULABLE
            return Placement(None, Status(code, (result.message,)))
        self.cache.assume(info, result.node)
        status = self._after_choice(state, info, result.node)
        if not (status.ok and keep):
            self.cache.forget(info.key)
        return Placement(result.node if status.ok else None, status)

    def _after_choice(self, state: CycleState, info: PodInfo, chosen: str) -> Status:
        """Reserve, Permit, and Bind when the profile has binders."""
        status = self.framework.run_reserve(state, info, chosen)
        if not status.ok:
            return status
        status, _ = self.framework.run_permit(state, info, chosen, lambda outcome: None)
        if status.ok and self.framework.binders:
            status = self.framework.run_bind(state, info, chosen)
        if not status.ok:
            self.framework.run_unreserve(state, info, chosen)
        return status if not status.ok else SUCCESS
