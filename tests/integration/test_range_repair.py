"""The apiserver's repair of the ClusterIP and NodePort bitmaps (kube-apiserver's repair
loops), on a cluster started in this process with a short repair period: a crash between a
bitmap write and a Service write (simulated by writing the bitmap straight to the store, as
the crash would have left it) leaks an offset or loses one; the repair frees the one and
marks the other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from actors.api import addresses, ranges
from actors.store import Store
from bindings.cluster import Cluster, ClusterConfig
from tests.support import until

pytestmark = pytest.mark.integration

CIDR = addresses.SERVICE_CIDR


@pytest.fixture
def repairing(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(
        data_dir=tmp_path / "repair", nodes=0, runtime="sim",
        ranges=addresses.Ranges(repair_seconds=0.2)))
    yield cluster
    cluster.stop()


def _bitmap(store: pykka.ActorProxy, key: str) -> tuple[int, int]:
    stored = store.get(key).get()
    return ranges.bits_of(stored), int(stored["metadata"]["resourceVersion"])


def _service(name: str, **spec: object) -> dict:
    return {"metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def test_a_leaked_cluster_ip_is_freed_and_a_lost_one_marked_again(repairing):
    admin = repairing.admin_client()
    held = admin.create("services", _service("held"))["spec"]["clusterIP"]
    held_bit = 1 << addresses.offset_of(CIDR, held)
    stray = 1 << 4000
    store = pykka.ActorRegistry.get_by_class(Store)[0].proxy()
    bits, revision = _bitmap(store, ranges.SERVICE_IPS)
    crashed = ranges.with_bits(store.get(ranges.SERVICE_IPS).get(), (bits & ~held_bit) | stray)
    store.update(ranges.SERVICE_IPS, crashed, revision).get()
    until(lambda: _bitmap(store, ranges.SERVICE_IPS)[0] & (held_bit | stray) == held_bit,
          timeout=30, failure="the repair did not set the bitmap right")
    taken = {admin.create("services", _service(f"after-{i}"))["spec"]["clusterIP"]
             for i in range(20)}
    assert held not in taken


def test_a_leaked_node_port_is_freed(repairing):
    admin = repairing.admin_client()
    admin.create("services", _service("np", type="NodePort",
                                      ports=[{"port": 80, "nodePort": 30007}]))
    span = addresses.PortRange.parse(addresses.NODE_PORTS)
    store = pykka.ActorRegistry.get_by_class(Store)[0].proxy()
    bits, revision = _bitmap(store, ranges.NODE_PORTS)
    stray = 1 << (30500 - span.first)
    store.update(ranges.NODE_PORTS, ranges.with_bits(store.get(ranges.NODE_PORTS).get(),
                                                     bits | stray), revision).get()
    until(lambda: not _bitmap(store, ranges.NODE_PORTS)[0] & stray, timeout=30,
          failure="the leaked NodePort stayed taken")
    assert _bitmap(store, ranges.NODE_PORTS)[0] & 1 << (30007 - span.first)
    admin.create("services", _service("np2", type="NodePort",
                                      ports=[{"port": 80, "nodePort": 30500}]))
