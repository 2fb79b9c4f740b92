"""A kubelet of many simulated nodes keeps only its own nodes' pods and Nodes
(``actors.kubelet.kubelet.hosted``): an agent of a third of the nodes holds a third of the
pods, trimmed of their ``managedFields``."""

from __future__ import annotations

from actors.api.objects import Object
from actors.kubelet.kubelet import hosted


def pod(node: object) -> Object:
    return {"metadata": {"name": "p", "managedFields": [{"manager": "kubelet"}]},
            "spec": {"nodeName": node}}


def test_pods_of_hosted_nodes_are_kept_trimmed_and_others_left_out() -> None:
    keep = hosted(frozenset({"node-1", "node-2"}), "spec", "nodeName")
    kept = keep(pod("node-2"))
    assert kept is not None and kept["metadata"] == {"name": "p"}
    assert [keep(pod(node)) for node in ("node-3", "", None, {"a": 1})] == [None] * 4
    assert keep({"metadata": {"name": "p"}}) is None


def test_nodes_are_kept_by_their_own_name() -> None:
    keep = hosted(frozenset({"node-1"}), "metadata", "name")
    assert keep({"metadata": {"name": "node-1"}}) == {"metadata": {"name": "node-1"}}
    assert keep({"metadata": {"name": "node-9"}}) is None
