"""InterPodAffinity's Filter on plain NodeInfos: required affinity and anti-affinity by
topology domain, the first pod of a self-affine group, namespaces."""

from __future__ import annotations

from actors.api.objects import Object
from actors.scheduler.interface import SKIP, Code, CycleState
from actors.scheduler.nodeinfo import NodeInfo, PodInfo
from actors.scheduler.podaffinity import InterPodAffinity


def _node(name: str, zone: str | None, *placed: Object) -> NodeInfo:
    info = NodeInfo(name, labels={"zone": zone} if zone else {})
    for other in placed:
        info.add_pod(PodInfo.of(other))
    return info


def _pod(name: str, labels: dict[str, str], namespace: str = "default", **affinity: Object
         ) -> Object:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": [{"name": "c"}], "affinity": affinity}}


def _term(app: str, **extra: object) -> Object:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "zone", **extra}


def _required(*terms: Object) -> Object:
    return {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}


def _fits(incoming: Object, nodes: list[NodeInfo]) -> list[str]:
    plugin, info = InterPodAffinity(), PodInfo.of(incoming)
    state: CycleState = {}
    assert plugin.pre_filter(state, info, nodes).code == Code.SUCCESS
    return [n.name for n in nodes if plugin.filter(state, info, n).ok]


def test_affinity_needs_a_matching_pod_in_the_nodes_domain_and_the_key_on_the_node():
    db = _pod("db", {"app": "db"})
    nodes = [_node("a1", "a", db), _node("a2", "a"), _node("b1", "b"), _node("none", None)]
    web = _pod("web", {"app": "web"}, podAffinity=_required(_term("db")))
    assert _fits(web, nodes) == ["a1", "a2"]
    elsewhere = _pod("web", {"app": "web"}, "other", podAffinity=_required(_term("db")))
    assert _fits(elsewhere, nodes) == []
    named = _required(_term("db", namespaces=["default"]))
    assert _fits(_pod("web", {}, "other", podAffinity=named), nodes) == ["a1", "a2"]


def test_the_first_pod_of_a_self_affine_group_fits_where_the_key_is():
    nodes = [_node("a1", "a"), _node("none", None)]
    first = _pod("s", {"app": "s"}, podAffinity=_required(_term("s")))
    assert _fits(first, nodes) == ["a1"]
    assert _fits(_pod("t", {"app": "t"}, podAffinity=_required(_term("s"))), nodes) == []


def test_anti_affinity_keeps_a_pod_out_of_domains_holding_a_matching_pod():
    store = _pod("store-0", {"app": "store"})
    nodes = [_node("a1", "a", store), _node("a2", "a"), _node("b1", "b"), _node("none", None)]
    incoming = _pod("store-1", {"app": "store"}, podAntiAffinity=_required(_term("store")))
    assert _fits(incoming, nodes) == ["b1", "none"]


def test_a_pod_without_required_terms_is_skipped():
    assert InterPodAffinity().pre_filter({}, PodInfo.of(_pod("p", {})), []) == SKIP
