"""The search for the nodes a pod fits: the Filters over the nodes, from where the last cycle
stopped, until enough fit (kube-scheduler's findNodesThatPassFilters and
numFeasibleNodesToFind, its percentageOfNodesToScore).

When every Filter left for the pod has ``filter_nodes`` (a Filter's statuses of many nodes at
once), the nodes go to them in chunks, each of as many nodes as still wanted: no chunk holds a
node the one-by-one search would not have looked at, so the nodes found, those looked at and
the rejections are the same. A chunk that gives anything but Success or a rejection (an Error,
no Status, an exception) sends the whole search back to one node at a time, which says where.

Which thread: the scheduler's actor thread (a scheduling cycle). Neighbours:
``actors.scheduler.framework`` (calls it in a cycle), ``actors.scheduler.interface`` (what a
Filter returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.scheduler import guarding
from actors.scheduler.interface import SUCCESS, Code, CycleState, Status
from actors.scheduler.nodeinfo import NodeInfo, PodInfo

MIN_FEASIBLE_NODES_TO_FIND = 100
"""Below this many nodes every node is checked (kube-scheduler's minFeasibleNodesToFind)."""
MIN_FEASIBLE_NODES_PERCENTAGE = 5
"""The adaptive percentage of nodes to score never goes below this."""


def nodes_to_find(total: int, percentage: int) -> int:
    """How many feasible nodes to look for before scoring (kube-scheduler's
    numFeasibleNodesToFind)."""
    if total < MIN_FEASIBLE_NODES_TO_FIND:
        return total
    if percentage <= 0:
        percentage = max(50 - total // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    wanted = total * percentage // 100
    return min(total, max(wanted, MIN_FEASIBLE_NODES_TO_FIND))


_CALLING: Any = object()
"""What a Filter's status is while the plugin runs (an exception then is the plugin's)."""


def _filter_failed(plugin: str, node: NodeInfo | None, status: Any,
                   failure: Exception) -> str:
    """The Error message of a Filter that raised ``failure`` or returned ``status``, which
    is no Status."""
    what = (guarding.raised(failure) if status is _CALLING
            else guarding.returned(status, "a Status"))
    if status is _CALLING:
        guarding.log.error("Filter plugin %s failed", plugin, exc_info=failure)
    return guarding.failed("Filter", plugin, node.name if node else "", what).message


@dataclass(slots=True)
class Search:
    """What :func:`find_feasible` found."""

    feasible: list[NodeInfo] = field(default_factory=list)
    evaluated: int = 0
    """Nodes looked at."""
    error: str = ""
    """Set when a Filter failed with Error (or raised): the cycle ends there."""


class _OneByOne(Exception):
    """A chunk gave what only the one-by-one search says right."""


def find_feasible(state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                  filters: list[Any], wanted: int, statuses: dict[str, Status],
                  rejecting: set[str]) -> Search:
    """Run ``filters`` over ``nodes`` in order until ``wanted`` fit; each rejection goes to
    ``statuses`` (by node) and its plugin's name to ``rejecting`` (both empty: this
    cycle's)."""
    if filters and all(hasattr(plugin, "filter_nodes") for plugin in filters):
        try:
            return _in_chunks(state, pod, nodes, filters, wanted, statuses, rejecting)
        except _OneByOne:
            statuses.clear()
            rejecting.clear()
    return _one_by_one(state, pod, nodes, filters, wanted, statuses, rejecting)


def _in_chunks(state: CycleState, pod: PodInfo, nodes: list[NodeInfo], filters: list[Any],
               wanted: int, statuses: dict[str, Status], rejecting: set[str]) -> Search:
    """The search with ``filter_nodes``, a chunk of as many nodes as still wanted at a time;
    _OneByOne when a chunk gives other than Success or rejections."""
    search = Search()
    feasible, looked = search.feasible, 0
    while len(feasible) < wanted and looked < len(nodes):
        chunk = nodes[looked:looked + wanted - len(feasible)]
        looked += len(chunk)
        rejected: dict[int, tuple[str, Status]] = {}
        alive = list(range(len(chunk)))
        for plugin in filters:
            try:
                results = plugin.filter_nodes(state, pod, [chunk[i] for i in alive])
            except Exception as failure:
                raise _OneByOne from failure
            if not isinstance(results, list) or len(results) != len(alive):
                raise _OneByOne
            if results.count(SUCCESS) != len(results):  # identity first: the common case
                alive = _survivors(plugin.name, alive, results, rejected)
        feasible += [chunk[i] for i in alive]
        for i in sorted(rejected):  # in the nodes' order, as one by one
            rejecting.add(rejected[i][0])
            statuses[chunk[i].name] = rejected[i][1]
    search.evaluated = looked
    return search


def _survivors(plugin: str, alive: list[int], results: list[Any],
               rejected: dict[int, tuple[str, Status]]) -> list[int]:
    """The nodes (indices) ``plugin`` let through; those it rejected go to ``rejected``."""
    survivors = []
    for i, status in zip(alive, results, strict=True):
        if not isinstance(status, Status) or status.code is Code.ERROR:
            raise _OneByOne
        if status is SUCCESS or status.code is Code.SUCCESS:
            survivors.append(i)
        else:
            rejected[i] = (plugin, status)
    return survivors


def _one_by_one(state: CycleState, pod: PodInfo, nodes: list[NodeInfo], filters: list[Any],
                wanted: int, statuses: dict[str, Status], rejecting: set[str]) -> Search:
    """The search a node at a time. The hot loop of the scheduler when a Filter has no
    ``filter_nodes``: keep it lean (a plugin that raises, or returns no Status, is caught
    around the loop, not guarded call by call)."""
    search = Search()
    feasible = search.feasible
    checks = [(plugin.name, plugin.filter) for plugin in filters]
    evaluated, failed_by, node, status = 0, "", None, _CALLING
    try:
        for node in nodes:
            evaluated += 1
            for failed_by, check in checks:  # noqa: B007 (named after a break)
                status = _CALLING
                status = check(state, pod, node)
                if status is not SUCCESS and status.code is not Code.SUCCESS:
                    break
            else:
                feasible.append(node)
                if len(feasible) >= wanted:
                    break
                continue
            if status.code is Code.ERROR:
                search.error = guarding.failed("Filter", failed_by, node.name,
                                               status.message).message
                return search
            statuses[node.name] = status
            rejecting.add(failed_by)
    except Exception as failure:
        search.error = _filter_failed(failed_by, node, status, failure)
        return search
    search.evaluated = evaluated
    return search
