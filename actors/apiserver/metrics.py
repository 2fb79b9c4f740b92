"""``metrics.k8s.io/v1beta1``: PodMetrics and NodeMetrics, asked of the kubelets when read.

Kubernetes' metrics-server scrapes every kubelet's summary API on a timer and keeps the
figures in memory. Here the apiserver asks each node it needs (``<prefix>.node.<node>.stats``,
as ``pods/log`` asks a pod's node) when a get or list of metrics comes, and keeps a node's
answer ``ApiServerConfig.metrics_cache_seconds``: an idle cluster costs nothing, a reader
(``kubectl top``, the HPA controller every 15 s) at most one call per node per period, and the
store never sees a sample. A node that does not answer in ``metrics_call_seconds`` is left
out, as metrics-server leaves out a kubelet it could not scrape, and not asked again for the
cache period either. A node is believed only for the pods bound to it (``spec.nodeName``),
and an object whose figures are garbage (not a number, negative, NaN, infinite, beyond
int64; a timestamp that is not a time) is left out: a compromised kubelet can neither write
another node's pods' figures (nor feed their HPA) nor make the read fail.

The choice of nodes and the objects made of their answers are pure functions
(:func:`nodes_to_ask`, :func:`answer`); :class:`Metrics` (mixed into the actor) asks the
nodes one after another through the pipeline's external calls, never holding the worker.

Neighbours: ``server`` (the pipeline that runs :meth:`Metrics._metrics` as the verb),
``actors.kubelet.kubelet`` (``NodeAgent.stats``, the other end), ``actors.api.resources``
(``METRICS_GROUP``).

Which thread: an apiserver worker's actor thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

from actors.api.meta import parse_time
from actors.api.objects import Object
from actors.api.resources import METRICS_GROUP
from actors.api.selectors import matcher
from actors.apiserver.admission.chain import ExternalCall
from bus.envelope import Envelope, new_id
from bus.errors import MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from actors.apiserver.requests import ApiServerConfig, Request, Result, Step
    from actors.store import StoreView
    from bus.subjects import Subjects

API_VERSION = f"{METRICS_GROUP}/v1beta1"
KIB = 1024
MAX_FIGURE = 2**63
"""Above any figure a node can report (int64 in Kubernetes' quantities)."""


class Metrics:
    """The metrics verb, mixed into :class:`~actors.apiserver.server.ApiServer`. What it uses
    of the actor is declared here."""

    config: ApiServerConfig
    subjects: Subjects
    view: StoreView | None
    _stats: dict[str, tuple[float, Object | None]]
    """Node -> (when, its last ``stats`` answer; None: it did not answer): this worker's
    cache."""

    def _metrics(self, request: Request) -> Generator[Step, Result, Object]:
        """A get or list of PodMetrics or NodeMetrics (any other verb: 405)."""
        if request.verb not in ("get", "list"):
            raise MethodNotAllowed(f'the server does not allow "{request.verb}" on '
                                   f"{request.info.qualified}")
        assert self.view is not None, "reads before on_start"
        pods = self.view.page(f"/pods/{request.namespace}/" if request.namespace else "/pods/")[0]
        nodes = [n["metadata"]["name"] for n in self.view.page("/nodes/")[0]]
        stats: dict[str, Object] = {}
        for node in nodes_to_ask(request.info.kind, request.name, pods, nodes):
            found = yield from self._node_stats(node, request.envelope)
            if found is not None:
                stats[node] = found
        return answer(request, stats, pods)

    def _node_stats(self, node: str, envelope: Envelope
                    ) -> Generator[Step, Result, Object | None]:
        """``node``'s ``stats`` answer: the cached one while fresh, else asked (None when the
        node did not answer, which is cached too: a dead or hostile node costs a reader the
        call's timeout once per cache period, not on every read)."""
        cache = self._stats
        when, stats = cache.get(node, (float("-inf"), None))
        if time.monotonic() - when < self.config.metrics_cache_seconds:
            return stats
        reply = yield ExternalCall(self.subjects.node(node, "stats"), Envelope(
            trace_id=envelope.trace_id, parent_id=envelope.span_id, span_id=new_id(),
            target=f"kubelet-{node}", verb="stats", resource="nodes", name=node, body={}),
            self.config.metrics_call_seconds)
        if not isinstance(reply, Envelope) or int((reply.status or {}).get("code", 200)) >= 400 \
                or not isinstance(reply.body, dict):
            cache[node] = (time.monotonic(), None)  # its silence is kept as an answer would be
            return None
        cache[node] = (time.monotonic(), reply.body)
        return reply.body


def nodes_to_ask(kind: str, name: str | None, pods: Iterable[Object],
                 nodes: Iterable[str]) -> list[str]:
    """The nodes whose answers a request needs: the named node, or every node (NodeMetrics);
    the named pod's node, or the nodes of the pods listed (PodMetrics)."""
    if kind == "NodeMetrics":
        return sorted(node for node in nodes if name is None or node == name)
    return sorted({pod["spec"]["nodeName"] for pod in pods if pod.get("spec", {}).get(
        "nodeName") and (name is None or pod["metadata"]["name"] == name)})


def answer(request: Request, stats: dict[str, Object], pods: list[Object]) -> Object:
    """The object or list the request asks for, made of the nodes' answers; NotFound for a
    named object without figures (as metrics-server answers)."""
    kind, options = request.info.kind, request.options
    if kind == "NodeMetrics":
        made = (_believed(node_metrics, node, found) for node, found in sorted(stats.items()))
    else:
        on_node = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}
        made = (_believed(pod_metrics, entry, found, on_node[key]["metadata"].get("labels") or {})
                for node, found in stats.items() for entry in _entries(found)
                if (key := (entry.get("namespace"), entry.get("name"))) in on_node
                and on_node[key].get("spec", {}).get("nodeName") == node)
    items = [item for item in made if item is not None]
    match = matcher(options.label_selector, options.field_selector)
    items = sorted((i for i in items if match(i) and request.name in (None, i["metadata"][
        "name"])), key=lambda i: (i["metadata"].get("namespace", ""), i["metadata"]["name"]))
    if request.name is None:
        return {"apiVersion": API_VERSION, "kind": f"{kind}List", "metadata": {},
                "items": items}
    if not items:
        raise NotFound(f'{request.info.qualified} "{request.name}" not found',
                       details={"name": request.name, "group": METRICS_GROUP,
                                "kind": request.info.name})
    return items[0]


def _entries(found: Object) -> list[Object]:
    """The pods' entries of a node's answer (those that are objects)."""
    entries = found.get("pods")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _believed(make: Callable[..., Object], *args: Any) -> Object | None:
    """``make(*args)``, or None when a node's answer has garbage where a figure, name or
    timestamp should be: that object is left out (as metrics-server drops a bad sample)
    rather than the read failing."""
    try:
        return make(*args)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def pod_metrics(entry: Object, stats: Object, labels: dict[str, Any]) -> Object:
    """One PodMetrics from a pod's entry of a node's ``stats`` answer."""
    return {"apiVersion": API_VERSION, "kind": "PodMetrics",
            "metadata": {"name": entry["name"], "namespace": entry["namespace"],
                         "labels": labels, "creationTimestamp": stamp(stats)},
            "timestamp": stamp(stats), "window": window(stats),
            "containers": [{"name": c["name"], "usage": usage(c)}
                           for c in entry.get("containers") or []]}


def node_metrics(node: str, stats: Object) -> Object:
    """One NodeMetrics from a node's ``stats`` answer."""
    return {"apiVersion": API_VERSION, "kind": "NodeMetrics",
            "metadata": {"name": node, "creationTimestamp": stamp(stats)},
            "timestamp": stamp(stats), "window": window(stats),
            "usage": usage(stats.get("node") or {})}


def usage(figures: Object) -> Object:
    """Kubernetes' quantities of nanocores and bytes, as metrics-server writes them."""
    return {"cpu": f"{count(figures.get('cpu', 0))}n",
            "memory": f"{count(figures.get('memory', 0)) // KIB}Ki"}


def count(value: object) -> int:
    """A figure of a node's answer: a finite number from 0 to 2**63 (ValueError otherwise:
    a string, a bool, NaN, infinity, a negative or absurd number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 <= value < MAX_FIGURE:
        raise ValueError(f"not a figure: {value!r}")
    return int(value)


def stamp(stats: Object) -> str:
    """The answer's RFC 3339 ``timestamp`` (TypeError or ValueError when it is not one)."""
    parse_time(stats["timestamp"])
    return str(stats["timestamp"])


def window(stats: Object) -> str:
    """A duration as Kubernetes writes one: ``1s``, ``1.5s``."""
    seconds = float(stats.get("window") or 0)
    if not 0 <= seconds < MAX_FIGURE:
        raise ValueError(f"not a window: {seconds!r}")
    return f"{seconds:g}s"
