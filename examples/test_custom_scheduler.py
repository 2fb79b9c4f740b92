"""The unit test of examples/custom_scheduler.py's plugin, offline: a SchedulingBench runs it
with the default plugins over fake nodes and pods, with no NATS and no cluster.

    .venv/bin/pytest examples/test_custom_scheduler.py
"""

from __future__ import annotations

import pytest
from custom_scheduler import LABEL, VALUE, PreferLabel

from actors import ext

NODES = [ext.node("node-1"), ext.node("node-2"), ext.node("node-3", labels={LABEL: VALUE})]


def test_prefer_label_puts_pods_on_the_labelled_node() -> None:
    bench = ext.SchedulingBench([PreferLabel()], weights={"PreferLabel": 10}, nodes=NODES)
    for name in ("fast-1", "fast-2", "fast-3"):
        assert bench.place(ext.pod(name, cpu="100m")).node == "node-3"


def test_a_full_labelled_node_leaves_the_pod_to_the_others() -> None:
    bench = ext.SchedulingBench([PreferLabel()], weights={"PreferLabel": 10}, nodes=NODES,
                                pods=[ext.pod("big", cpu="4", node="node-3")])
    assert bench.place(ext.pod("fast", cpu="1")).node in ("node-1", "node-2")


def test_a_weight_is_keyed_by_the_plugin_name_not_its_class() -> None:
    with pytest.raises(ValueError, match="a weight's key is the plugin's name"):
        ext.SchedulingBench([PreferLabel()], weights={"preferlabel": 10})
