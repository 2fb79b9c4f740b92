"""A node the kubelet stops hosting (``Kubelet.lose``, ``NodeAgent.stop``;
actors/kubelet/nodeagent.py) lets go of the ConfigMaps and Secrets its pods read: the shared
cache's watches only its pods read stop, one it opened for another node's pods is opened again
as that node, and no sync of its pods runs after (which would read them again)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from actors.kubelet.config import KubeletConfig
from actors.kubelet.nodeagent import NodeAgent, Writers
from actors.kubelet.podrecord import PodRecord
from actors.kubelet.statuswriter import StatusWriter
from actors.kubelet.timers import Timers
from bindings.runtimes.sim import SimRuntime
from tests.unit.actors.kubelet.test_objectcache import Node, cm, read


@pytest.fixture
def writers() -> Iterator[Writers]:
    shared = Writers(StatusWriter(1), StatusWriter(1))
    yield shared
    shared.pods.stop()
    shared.leases.stop()


def agent(name: str, client: Node, writers: Writers, submitted: list[str]) -> NodeAgent:
    timers = Timers()
    workers: Any = SimpleNamespace(submit=lambda uid, work: submitted.append(uid))
    return NodeAgent(client, SimRuntime(name, timers),  # type: ignore[arg-type]
                     config=KubeletConfig(name, record_events=False), workers=workers,
                     timers=timers, writers=writers, publish=lambda subject, envelope: None,
                     subjects=None)


def hosting(node: NodeAgent, uid: str) -> None:
    node.pods[uid] = PodRecord({"metadata": {"uid": uid, "name": uid, "namespace": "default"},
                                "spec": {"nodeName": node.name}})


def test_a_lost_nodes_watches_stop_and_the_ones_it_opened_for_others_open_again(writers):
    objects = {"own": cm("own"), "shared": cm("shared")}
    lost_client, kept_client = Node(objects), Node(objects)
    submitted: list[str] = []
    lost = agent("lost", lost_client, writers, submitted)
    kept = agent("kept", kept_client, writers, submitted)
    hosting(lost, "p1")
    hosting(kept, "p2")
    read(writers.objects, "p1", lost_client, "own")
    read(writers.objects, "p1", lost_client, "shared")  # opened as the lost node
    read(writers.objects, "p2", kept_client, "shared")
    assert writers.objects.watches() == 2

    lost.stop()
    assert all(watch.stopped for watch in lost_client.watches)
    assert (writers.objects.watches(), kept_client.lists) == (1, ["shared"])
    assert not kept_client.watches[0].stopped
    lost.submit("p1")  # a runtime event or a timer of the lost node: no sync reads again
    kept.submit("p2")
    assert submitted == ["p2"]
    kept.stop()
    assert writers.objects.watches() == 0
