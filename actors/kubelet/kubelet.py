"""The kubelet: runs the pods bound to its node(s) and reports their status (seed steps 5-7).

Two parts:

- :class:`~actors.kubelet.nodeagent.NodeAgent`, one node's kubelet without a thread of its
  own (registration, Lease, its pods, node calls: ``actors.kubelet.nodeagent``).
- :class:`Kubelet`, the actor hosting one agent (a real node, one NATS identity) or many (the
  simulated nodes of ``--runtime sim``: one connection, one informer, one pool of pod workers,
  one timer thread, one heartbeat and two status writers for all of them, so a thousand nodes
  need no thread each).

Pod statuses and Lease renewals go out through :class:`~actors.kubelet.statuswriter.StatusWriter` s
(one for pods, one for Leases, so a burst of pod statuses never delays a heartbeat): the latest
per pod or node, many in flight, nobody waiting for the answers.

Which thread: pod work on the pod workers (never two at once for one pod); Lease renewals on
the heartbeat pool; node calls on the call pool; the actor thread only wires messages. Nothing
here blocks the bus loop: informer and runtime callbacks just submit work.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from actors.api.objects import Object
from actors.client.client import Client, WatchEvent
from actors.client.informer import Informer, Transform, compact
from actors.kubelet.config import KubeletConfig
from actors.kubelet.nodeagent import NODE_CALLS, NodeAgent, Writers
from actors.kubelet.podworkers import PodWorkers
from actors.kubelet.runtime import Runtime
from actors.kubelet.statuswriter import StatusWriter
from actors.kubelet.timers import Timers
from bus.actor import BusActor
from bus.connection import Connection, Incoming
from bus.envelope import Envelope
from bus.errors import BadRequest, NotFound
from bus.permissions import APISERVER


@dataclass(frozen=True, slots=True)
class Node:
    """One node for the :class:`Kubelet` actor to host."""

    client: Client
    """The node's own identity (``system:node:<name>``)."""
    runtime: Runtime
    config: KubeletConfig


def hosted(nodes: frozenset[str], *path: str) -> Transform:
    """An informer's transform keeping (compacted, as every informer keeps objects) only the
    objects whose field at ``path`` (a pod's ``spec.nodeName``, a Node's ``metadata.name``)
    names one of ``nodes``: what the kubelets of those nodes would each hold, in one cache."""

    def keep(obj: Object) -> Object | None:
        value: object = obj
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return compact(obj) if isinstance(value, str) and value in nodes else None

    return keep


class Kubelet(BusActor):
    """Hosts one or many :class:`NodeAgent` s on one connection (see the module docstring).
    One node follows its own pods and Node as itself (the Node authorizer lets a kubelet
    list only those); several share one informer of the bound pods (``spec.nodeName!=``)
    and one of every Node, read as ``lister`` (an identity that may: ``system:node-sim``),
    each keeping only the hosted nodes' (:func:`hosted`): an agent of a third of the nodes
    holds a third of the pods."""

    answers = (APISERVER,)
    """Node calls come from the apiserver: their answers go into its inbox, nowhere else."""

    def __init__(self, connection: Connection, nodes: list[Node],
                 lister: Client | None = None) -> None:
        super().__init__(connection)
        if not nodes:
            raise ValueError("a kubelet needs at least one node")
        if len(nodes) > 1 and lister is None:
            raise ValueError("a kubelet of several nodes needs a lister: a client that may "
                             "list every pod and node (a node may list only its own)")
        self._lister = lister or nodes[0].client
        first = nodes[0].config
        self.name = connection.name
        self.timers = Timers(f"{self.name}-timers")
        self.workers = PodWorkers(first.pod_workers, f"{self.name}-pod")
        self._calls = ThreadPoolExecutor(max_workers=first.call_workers,
                                         thread_name_prefix=f"{self.name}-call")
        self._beats = PodWorkers(min(len(nodes), 4), f"{self.name}-lease")
        self.writers = Writers(StatusWriter(first.writes_in_flight, f"{self.name}-status"),
                               StatusWriter(first.lease_writes_in_flight,
                                            f"{self.name}-leases"),
                               ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-events"))
        self.agents = {node.config.node_name: NodeAgent(
            node.client, node.runtime, config=node.config, workers=self.workers,
            timers=self.timers, writers=self.writers, publish=self.publish,
            subjects=self.subjects) for node in nodes}
        self._informer: Informer | None = None
        self._nodes: Informer | None = None
        """The hosted nodes as the API has them (their Ready condition, without a get)."""
        self._stopped = False

    def subscriptions(self) -> list[tuple[str, str]]:
        """The apiserver's calls for the hosted nodes: ``pods/log``, ``pods/exec`` (and
        ``pods/attach``, on ``exec``)."""
        return [(self.subjects.node(name, op), "") for name in self.agents
                for op in NODE_CALLS]

    def handle(self, incoming: Incoming) -> Envelope | None:
        """Check a node call and answer it on the call pool (a streamed one on a thread of its
        own), so that a long command or a followed log never holds up the pods, the heartbeat
        or another caller. A call to be answered anywhere
        but the apiserver's inbox is not made (logged)."""
        if not self.may_answer(incoming.reply_to or ""):
            return None
        envelope = incoming.envelope
        node = self.subjects.parse_node(incoming.subject)
        agent = self.agents.get(node or "")
        body = envelope.body if isinstance(envelope.body, dict) else {}
        if envelope.verb not in NODE_CALLS:
            raise BadRequest(f"unknown node call {envelope.verb!r}")
        if envelope.verb == "stats" and agent is not None:
            self._calls.submit(agent.stats, incoming, self.connection)
            return None
        if agent is None or body.get("uid") not in agent.pods:
            raise NotFound(f'pod "{envelope.name}" is not running on node {node}')
        if body.get("stream"):  # held while it lasts: never one of the pool's workers
            threading.Thread(target=agent.answer, args=(incoming, self.connection),
                             name=f"{self.name}-stream", daemon=True).start()
        else:
            self._calls.submit(agent.answer, incoming, self.connection)
        return None

    def on_start(self) -> None:
        super().on_start()
        agents = list(self.agents.values())
        self._heartbeat()  # renews each node from its registration on (a thousand take a while)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(NodeAgent.register, agents))
        one = agents[0] if len(agents) == 1 else None
        names = frozenset(self.agents)
        self._nodes = Informer(self._lister, "nodes", self._on_node_event,
                               field_selector=f"metadata.name={one.name}" if one else None,
                               transform=hosted(names, "metadata", "name"))
        self._nodes.start()
        for agent in agents:
            agent.runtime.watch(agent.on_runtime_event)
        self._informer = Informer(  # bound pods only (the lister's), of the hosted nodes kept
            self._lister, "pods", self._on_pod_event,
            field_selector=f"spec.nodeName={one.name}" if one else "spec.nodeName!=",
            transform=hosted(names, "spec", "nodeName"))
        self._informer.start()
        items = self._informer.items()
        for agent in agents:
            agent.adopt([p for p in items if p.get("spec", {}).get("nodeName") == agent.name])
        self._every(lambda config: config.relist_seconds, NodeAgent.resync_all)
        self._every(lambda config: config.status_sync_seconds, NodeAgent.reconcile_statuses)

    def on_stop(self) -> None:
        self._stopped = True
        self.timers.stop()
        self.workers.stop()
        self._beats.stop()
        self.writers.pods.stop()
        self.writers.leases.stop()
        self.writers.events.shutdown(wait=False, cancel_futures=True)
        self.writers.objects.stop()
        self._calls.shutdown(wait=False, cancel_futures=True)
        for agent in self.agents.values():
            agent.stop()
        for informer in (self._informer, self._nodes):
            if informer is not None:
                informer.stop()
        super().on_stop()

    def lose(self, node: str) -> bool:
        """Stop hosting ``node`` as if its machine were lost: no more heartbeats, pod status
        or calls; its containers and its Node object stay behind. False when it is not here."""
        agent = self.agents.pop(node, None)
        if agent is not None:
            agent.stop()
        return agent is not None

    def _on_pod_event(self, event: WatchEvent) -> None:  # bus loop thread: hand over
        agent = self.agents.get(event.object.get("spec", {}).get("nodeName") or "")
        if agent is not None:
            agent.on_pod_event(event)

    def _on_node_event(self, event: WatchEvent) -> None:  # bus loop thread: never blocks
        agent = self.agents.get(event.object["metadata"]["name"])
        if agent is not None and event.type != "DELETED":
            agent.on_node(event.object)

    def _heartbeat(self) -> None:
        """Renew every registered node's Lease now and every ``lease_renew_seconds`` (one
        timer for all nodes; renewals on the heartbeat pool, apart from pod work)."""
        agents = list(self.agents.items())  # lose() may take one away meanwhile
        if self._stopped or not agents:
            return
        config = agents[0][1].config
        every = min(config.lease_renew_seconds, config.lease_duration_seconds / 4)
        for name, agent in agents:
            if not agent.registered:
                continue
            node = self._nodes.get(name) if self._nodes is not None else None
            self._beats.submit(name, functools.partial(agent.renew_lease, node))
        self.timers.call_later(every, self._heartbeat)

    def _every(self, seconds: Callable[[KubeletConfig], float],
               act: Callable[[NodeAgent], None]) -> None:
        """``act`` on every agent now and every ``seconds`` of the config after (timer
        thread): syncing every pod again (``relist_seconds``, the safety net under the
        runtime's events), writing again the statuses the API has otherwise
        (``status_sync_seconds``). With no agent left it ends, as :meth:`_heartbeat` does:
        agents are only taken away (:meth:`lose`), never added after start, so there is
        nothing more to act on."""
        agents = list(self.agents.values())
        if self._stopped or not agents:
            return
        for agent in agents:
            act(agent)
        self.timers.call_later(seconds(agents[0].config), lambda: self._every(seconds, act))
