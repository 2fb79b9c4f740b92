"""InterPodAffinity's Filter, as kube-scheduler's: a pod's required pod affinity and
anti-affinity (``spec.affinity.podAffinity`` / ``podAntiAffinity``,
``requiredDuringSchedulingIgnoredDuringExecution``) against the pods already placed.

A term names the pods it is about (``labelSelector``, in ``namespaces``, or in every namespace
when ``namespaceSelector`` is ``{}``; the pod's own namespace when it names none) and a
``topologyKey``: two nodes are in one domain when they carry the same value of that node label.

- affinity: a node fits when, for every term, it has the key and some placed pod matching
  every term runs in its domain; when no placed pod matches them all, the first pod of a group
  that matches its own terms fits anywhere that has the keys (kube-scheduler's exception, so
  such a group can start);
- anti-affinity: a node fits when no placed pod matching a term runs in its domain (a node
  without the key is a domain of its own).

Not done: preferred terms (scoring), ``namespaceSelector`` other than ``{}`` (such a term
matches pods of its listed namespaces only), and placed pods' own anti-affinity against the
incoming pod (the symmetric rule): each needs state kept across cycles.

Neighbours: ``actors.scheduler.plugins`` (the default profile holds this plugin),
``actors.api.selectors`` (label selectors), ``actors.scheduler.nodeinfo`` (placed pods).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from actors.api.objects import Object
from actors.api.selectors import selector_matches
from actors.scheduler.interface import (
    SKIP,
    SUCCESS,
    ClusterEvent,
    CycleState,
    Status,
    unschedulable,
)
from actors.scheduler.nodeinfo import NodeInfo, PodInfo

REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
Domains = frozenset[tuple[str, str]]
"""(topologyKey, value) pairs: the domains where matching pods run."""


def required_pod_terms(spec: Object, kind: str) -> list[Object]:
    """The required terms of ``spec.affinity.<kind>`` (``podAffinity``,
    ``podAntiAffinity``)."""
    affinity = spec.get("affinity")
    section = affinity.get(kind) if isinstance(affinity, dict) else None
    terms = section.get(REQUIRED) if isinstance(section, dict) else None
    return [term for term in terms if isinstance(term, dict)] if isinstance(terms, list) else []


def term_selects(term: Object, namespace: str, other: Object) -> bool:
    """Whether ``term`` of a pod in ``namespace`` is about the pod ``other``."""
    metadata = other.get("metadata") or {}
    namespaces = term.get("namespaces") or []
    everywhere = term.get("namespaceSelector") == {}
    if not everywhere and metadata.get("namespace") not in (namespaces or [namespace]):
        return False
    selector = term.get("labelSelector")
    return isinstance(selector, dict) and selector_matches(selector, metadata.get("labels"))


def _domain(term: Object, node: NodeInfo) -> tuple[str, str] | None:
    key = term.get("topologyKey", "")
    return (key, node.labels[key]) if key in node.labels else None


def affinity_domains(terms: Sequence[Object], namespace: str,
                     nodes: Sequence[NodeInfo]) -> Domains:
    """The domains (of every term's key) holding a placed pod that matches all ``terms``."""
    found: set[tuple[str, str]] = set()
    for node in nodes:
        if any(all(term_selects(term, namespace, placed.pod) for term in terms)
               for placed in node.pods.values()):
            found.update(d for term in terms if (d := _domain(term, node)) is not None)
    return frozenset(found)


def anti_affinity_domains(terms: Sequence[Object], namespace: str,
                          nodes: Sequence[NodeInfo]) -> Domains:
    """The domains holding a placed pod that some anti-affinity term is about."""
    found: set[tuple[str, str]] = set()
    for node in nodes:
        for term in terms:
            domain = _domain(term, node)
            if domain is not None and any(term_selects(term, namespace, placed.pod)
                                          for placed in node.pods.values()):
                found.add(domain)
    return frozenset(found)


def fits_affinity(terms: Sequence[Object], domains: Domains, first_of_group: bool,
                  node: NodeInfo) -> bool:
    """kube-scheduler's satisfyPodAffinity on one node."""
    wanted = [_domain(term, node) for term in terms]
    if None in wanted:
        return False
    return first_of_group or all(domain in domains for domain in wanted)


class InterPodAffinity:
    """Filter: required pod affinity and anti-affinity (module docstring)."""

    name: ClassVar[str] = "InterPodAffinity"
    events = frozenset({ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE,
                        ClusterEvent.ASSIGNED_POD_ADD, ClusterEvent.ASSIGNED_POD_DELETE})
    _no_affinity = unschedulable("node(s) didn't match pod affinity rules", resolvable=False)
    _anti_affinity = unschedulable("node(s) didn't match pod anti-affinity rules")
    _key: ClassVar[str] = "InterPodAffinity"

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        affinity = required_pod_terms(pod.spec, "podAffinity")
        anti = required_pod_terms(pod.spec, "podAntiAffinity")
        if not affinity and not anti:
            return SKIP
        namespace = pod.pod.get("metadata", {}).get("namespace", "")
        domains = affinity_domains(affinity, namespace, nodes)
        first = not domains and all(term_selects(t, namespace, pod.pod) for t in affinity)
        state[self._key] = (affinity, domains, first, anti,
                            anti_affinity_domains(anti, namespace, nodes))
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        affinity, domains, first, anti, taken = self._state(state)
        if affinity and not fits_affinity(affinity, domains, first, node):
            return self._no_affinity
        if any(_domain(term, node) in taken for term in anti):
            return self._anti_affinity
        return SUCCESS

    def _state(self, state: CycleState) -> Any:
        return state[self._key]
