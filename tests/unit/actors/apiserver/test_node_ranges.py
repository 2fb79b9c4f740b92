"""A Node's pod range is set once (by the node IPAM controller) and never changed after: a
compromised kubelet must not take another node's range, or one outside the cluster's."""

from __future__ import annotations

import pytest

from actors.api.resources import lookup
from actors.apiserver.registry import prepare_update
from bus.errors import Invalid

NODES = lookup("", "nodes")


def _node(cidr: str | None) -> dict:
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "resourceVersion": "5", "uid": "u"}, "spec": spec}


def test_a_pod_range_once_set_may_not_change():
    old = _node("127.64.0.0/24")
    for cidr in ("127.64.1.0/24", "10.0.0.0/8", "0.0.0.0/0"):
        with pytest.raises(Invalid, match="may not change podCIDR"):
            prepare_update(NODES, None, _node(cidr), old)
    with pytest.raises(Invalid, match="may not change podCIDR"):
        prepare_update(NODES, None, _node(None), old)


def test_a_pod_range_may_be_set_once_from_none_to_a_valid_one():
    new, _ = prepare_update(NODES, None, _node("127.64.3.0/24"), _node(None))
    assert new["spec"]["podCIDR"] == "127.64.3.0/24"
    with pytest.raises(Invalid):
        prepare_update(NODES, None, _node("not-a-cidr"), _node(None))
    same, _ = prepare_update(NODES, None, _node("127.64.0.0/24"), _node("127.64.0.0/24"))
    assert same["spec"]["podCIDRs"] == ["127.64.0.0/24"]
