"""The collector's thresholds of a cluster's processes (``bindings.cluster.collector``)."""

import argparse
import gc
from collections.abc import Iterator

import pytest

from bindings.cli import daemons
from bindings.cluster import ClusterConfig, ClusterError, collector


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    """This test process's thresholds, put back after each test."""
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_tune_makes_the_young_generation_large_and_keeps_the_others():
    collector.tune()
    assert gc.get_threshold() == collector.THRESHOLDS == (50_000, 10, 10)


def test_a_daemon_tunes_its_collector_before_it_starts_the_cluster(monkeypatch):
    seen = []

    def start(config: ClusterConfig, progress: object) -> None:
        seen.append(gc.get_threshold())
        raise ClusterError("enough")

    monkeypatch.setattr(daemons.Cluster, "start", start)
    monkeypatch.setattr(daemons, "stop_on_signals", lambda: None)
    gc.set_threshold(700, 10, 10)
    with pytest.raises(ClusterError, match="enough"):
        daemons._serve(argparse.Namespace(metrics_listen=None), ClusterConfig(), "a test")
    assert seen == [collector.THRESHOLDS]
