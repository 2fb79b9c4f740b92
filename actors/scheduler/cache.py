"""The scheduler's cache: nodes and the pods placed on them, assumed pods included.

A pod is *assumed* on its node the moment the scheduling cycle chooses it (before Reserve),
so the next cycle already counts it and no two pods get one slot. When the bound pod's watch
event arrives the assumption is confirmed (the pod stays counted, from then on as seen by the
apiserver); when binding fails it is forgotten. An assumed pod keeps its node whatever older
event about it arrives meanwhile. Finished pods (Succeeded/Failed) and deleted ones hold
nothing.

It also keeps *nominated* pods: a pod that preempted others on a node waits there for their
room (``status.nominatedNodeName``); filters read :meth:`Cache.nominated` so that no pod of
lower priority takes that room first. A nomination ends when the pod is placed anywhere or
deleted, or when another preemption decides otherwise. And the PodDisruptionBudgets, which
preemption spares when it can.

Every change touches one :class:`NodeInfo` (add or remove one pod), never all pods. The
:class:`Snapshot` handed to cycles (the nodes by name) is updated incrementally, as
kube-scheduler's cache with its generation numbers: a node that changes (a status heartbeat, a
taint) is changed in place and only raises the snapshot's ``generation``; the list is rebuilt
only when a node comes or goes. Plugins that work something out over all nodes (``AnyNode``)
do it again only when the generation moved.

Pure data, on the scheduler's actor thread. Neighbours: ``actors.scheduler.scheduler`` (feeds it
from informers), ``actors.scheduler.nodeinfo``.
"""

from __future__ import annotations

from actors.api.objects import Object
from actors.scheduler.nodeinfo import NodeInfo, PodInfo, pod_key

FINISHED = ("Succeeded", "Failed")


class Snapshot(list[NodeInfo]):
    """The nodes a cycle may choose from, by name, and the cache's node ``generation`` when a
    node last came, changed or went (pods coming and going change the NodeInfos' totals in
    place and leave it)."""

    generation: int = 0


def holds_resources(pod: Object) -> bool:
    """Whether a pod counts on its node: bound and not finished (a pod being deleted still
    runs until the kubelet confirms)."""
    return bool(pod.get("spec", {}).get("nodeName")) and (
        pod.get("status", {}).get("phase") not in FINISHED)


class Cache:
    """See the module docstring."""

    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._placed: dict[str, str] = {}
        """Pod key -> the node it is counted on."""
        self._assumed: set[str] = set()
        self._list: Snapshot | None = None
        self._generation = 0
        """Raised by every node that comes, changes or goes."""
        self._nominated: dict[str, dict[str, PodInfo]] = {}
        """Node name -> the pods nominated to it, by key."""
        self._nomination: dict[str, str] = {}
        """Pod key -> the node it is nominated to."""
        self._budgets: dict[tuple[str, str], Object] = {}
        """PodDisruptionBudgets by (namespace, name), for preemption to prefer what they
        allow."""
        self.storage: dict[str, dict[tuple[str, str], Object]] = {}
        """Claims, volumes and classes by resource, then (namespace, name): VolumeBinding's."""

    # -- storage -------------------------------------------------------------------------------

    def set_storage(self, resource: str, obj: Object, deleted: bool = False) -> None:
        metadata = obj["metadata"]
        found = self.storage.setdefault(resource, {})
        key = (metadata.get("namespace", ""), metadata["name"])
        if deleted:
            found.pop(key, None)
        else:
            found[key] = obj

    # -- disruption budgets --------------------------------------------------------------------

    def set_budget(self, budget: Object, deleted: bool = False) -> None:
        metadata = budget["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        if deleted:
            self._budgets.pop(key, None)
        else:
            self._budgets[key] = budget

    def budgets(self) -> list[Object]:
        return list(self._budgets.values())

    # -- nodes ---------------------------------------------------------------------------------

    def set_node(self, node: Object) -> bool:
        """Add or update a node; True when it is new."""
        name = node["metadata"]["name"]
        info = self._nodes.get(name)
        new = info is None or info.node is None
        if info is None:
            info = self._nodes[name] = NodeInfo(name)
        info.set_node(node)
        self._node_changed(rebuild=new)
        return new

    def remove_node(self, name: str) -> None:
        """The node is gone; its pods stay counted until their own events say otherwise
        (they come back with the node if it returns)."""
        info = self._nodes.get(name)
        if info is None:
            return
        if info.pods:
            info.node = None
        else:
            del self._nodes[name]
        self._node_changed(rebuild=True)

    def _node_changed(self, rebuild: bool) -> None:
        """A node came or went (``rebuild``: the next snapshot is a new list) or changed in
        place (the snapshot stays, its generation moves)."""
        self._generation += 1
        if rebuild:
            self._list = None
        elif self._list is not None:
            self._list.generation = self._generation

    def node_list(self) -> Snapshot:
        """The nodes a cycle may choose from, by name: the same list object until a node is
        added or removed (then a new one); its ``generation`` moves whenever a node changes,
        so plugins may remember what they worked out per (list, generation)."""
        if self._list is None:
            self._list = Snapshot(sorted(
                (info for info in self._nodes.values() if info.node is not None),
                key=lambda info: info.name))
            self._list.generation = self._generation
        return self._list

    def node(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    # -- pods ----------------------------------------------------------------------------------

    def assume(self, info: PodInfo, node: str) -> None:
        """Count ``info`` on ``node`` before it is bound."""
        if self._nomination:
            self.unnominate(info.key)
        self._place(info, node)
        self._assumed.add(info.key)

    def forget(self, key: str) -> None:
        """Binding failed: stop counting the assumed pod."""
        if key in self._assumed:
            self._assumed.discard(key)
            self._unplace(key)

    def is_assumed(self, key: str) -> bool:
        return key in self._assumed

    def pod_changed(self, pod: Object, info: PodInfo | None = None) -> bool:
        """A watch event (ADDED or MODIFIED) about ``pod``: count it where it is bound, stop
        counting it when it finished (then True: room was freed). ``info``: the pod's parsed
        form when the caller has it (saves parsing its requests again)."""
        key = pod_key(pod)
        if not holds_resources(pod):
            if pod.get("spec", {}).get("nodeName"):  # finished
                self._assumed.discard(key)
                return self._unplace(key)
            return False  # pending: an assumed pod stays where we put it
        node = pod["spec"]["nodeName"]
        self._assumed.discard(key)  # confirmed
        if self._nomination:
            self.unnominate(key)
        if self._placed.get(key) != node:
            self._place(info or PodInfo.of(pod), node)
        else:  # the latest (preemption must see it terminating), one copy with the informer's:
            self._nodes[node].pods[key].pod = pod  # not the pending one it was assumed as
        return False

    def pod_deleted(self, key: str) -> bool:
        """The pod is gone; True when it was counted on a node."""
        self._assumed.discard(key)
        if self._nomination:
            self.unnominate(key)
        return self._unplace(key)

    # -- nominated pods ------------------------------------------------------------------------

    def nominate(self, info: PodInfo, node: str) -> list[PodInfo]:
        """``info`` waits for room on ``node`` (it preempted pods there); pods of lower
        priority nominated there lose their nomination (it may no longer fit them): those
        pods."""
        self.unnominate(info.key)
        displaced = [other for other in self._nominated.get(node, {}).values()
                     if other.priority < info.priority]
        for other in displaced:
            self.unnominate(other.key)
        self._nominated.setdefault(node, {})[info.key] = info
        self._nomination[info.key] = node
        return displaced

    def unnominate(self, key: str) -> None:
        node = self._nomination.pop(key, None)
        if node is not None:
            waiting = self._nominated[node]
            del waiting[key]
            if not waiting:
                del self._nominated[node]

    def nominated(self, node: str) -> list[PodInfo]:
        """The pods nominated to ``node``."""
        return list(self._nominated.get(node, {}).values())

    def nominated_node(self, key: str) -> str | None:
        return self._nomination.get(key)

    def has_nominations(self) -> bool:
        return bool(self._nomination)

    def _place(self, info: PodInfo, node: str) -> None:
        self._unplace(info.key)
        target = self._nodes.get(node)
        if target is None:
            target = self._nodes[node] = NodeInfo(node)  # its node event has not come yet
        target.add_pod(info)
        self._placed[info.key] = node

    def _unplace(self, key: str) -> bool:
        node = self._placed.pop(key, None)
        if node is None:
            return False
        info = self._nodes.get(node)
        if info is not None:
            info.remove_pod(key)
            if info.node is None and not info.pods:
                del self._nodes[node]
        return True
