"""The process's metrics, gathered and served: what ``actors.instruments`` cannot see itself.

- :class:`TimedBackend` wraps the store's backend (SQLite, JetStream) and times its commits
  and reads into ``etcd_request_duration_seconds`` (``operation``: ``commit``, ``load``,
  ``records``; ``type``: the resource of the keys written).
- :func:`storage_counts` counts the stored objects by resource, kube-apiserver's
  ``apiserver_storage_objects``, from the store's view at each scrape.
- :class:`MeteredRuntime` wraps a kubelet's container runtime: ``kubelet_running_pods`` (pods
  with a container started and not stopped or removed since: the kubelet's sandboxes) and
  ``kubelet_pod_start_sli_duration_seconds`` (from the pod's creation to the start of the
  last of its containers, its image pulls on this node left out, as the SLI's).
- :class:`BusCollector` reads each NATS connection's own counters (nats-py's ``stats``) at
  each scrape: ``kubeactor_bus_messages_total`` and ``kubeactor_bus_bytes_total`` by
  ``component`` (the connection's name) and ``direction`` (``in``, ``out``).
- :func:`health_checks`: what ``/livez``, ``/readyz`` and ``/healthz`` check in an apiserver
  process (``actors.apiserver.http.health`` answers them).
- :class:`MetricsListener` serves ``/metrics`` in the Prometheus text format, and the health
  endpoints, on ``--metrics-listen HOST:PORT`` (plain HTTP, no authentication, as
  kube-scheduler's ``--bind-address`` once did: keep it on loopback, or scrape the HTTPS
  port instead, where RBAC's ``nonResourceURLs`` decide); :func:`bus_checks` are the health
  of a process without an apiserver (scheduler, controller manager, kubelets).

Neighbours: ``actors.instruments`` (the registry), ``bindings.cluster.launcher`` (wires it),
``bindings.https.front`` (``/metrics`` on the HTTPS port).

Which thread: the store's (TimedBackend); the serving thread of a scrape (the rest).
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pykka
from prometheus_client import make_wsgi_app
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from actors.api.objects import Object
from actors.api.resources import RESOURCES
from actors.apiserver.http import health
from actors.instruments import Instruments
from actors.kubelet.runtime import ContainerInfo, Runtime
from actors.store import Backend, Packed
from actors.store.backend import Change, Outcome, Record, Undecodable
from bindings.https import parse_listen
from bus import Connection
from bus.errors import KubeactorError

_BY_PREFIX = {info.prefix(None): info.qualified for info in RESOURCES}


def resource_of(key: str) -> str:
    """The resource a store key is of (``/apps/deployments/ns/x``: ``deployments.apps``;
    a custom resource's ``/example.com/widgets/...``: ``widgets.example.com``)."""
    parts = key.split("/")
    for prefix in ("/".join(parts[:3]) + "/", "/".join(parts[:2]) + "/"):
        if prefix in _BY_PREFIX:
            return _BY_PREFIX[prefix]
    if len(parts) > 2 and "." in parts[1]:
        return f"{parts[2]}.{parts[1]}"
    return parts[1] if len(parts) > 1 else ""


def storage_counts(state: Callable[[], tuple[dict[str, Packed], int]]
                   ) -> Callable[[], dict[tuple[str, ...], float]]:
    """A reader of ``apiserver_storage_objects`` over the store view's ``state``."""
    def read() -> dict[tuple[str, ...], float]:
        counts: dict[tuple[str, ...], float] = {}
        for key in state()[0]:
            label = (resource_of(key),)
            counts[label] = counts.get(label, 0) + 1
        return counts
    return read


class TimedBackend:
    """A :class:`~actors.store.Backend` that times ``backend``'s calls (see the module
    docstring); everything else passes through."""

    def __init__(self, backend: Backend, instruments: Instruments) -> None:
        self.backend, self.instruments = backend, instruments

    def _timed(self, operation: str, types: Iterable[str], began: float) -> None:
        took = time.monotonic() - began
        for kind in set(types) or {""}:
            self.instruments.store_duration.labels(operation=operation, type=kind).observe(took)

    def load(self) -> tuple[int, dict[str, Object]]:
        began = time.monotonic()
        loaded = self.backend.load()
        self._timed("load", (), began)
        return loaded

    def commit(self, changes: builtins.list[Change]) -> builtins.list[Outcome]:
        began = time.monotonic()
        try:
            return self.backend.commit(changes)
        finally:
            self._timed("commit", (resource_of(change.key) for change in changes), began)

    def records(self, until: int) -> builtins.list[Record]:
        began = time.monotonic()
        records = self.backend.records(until)
        self._timed("records", (), began)
        return records

    def follow(self, notify: Callable[[], None]) -> None:
        self.backend.follow(notify)

    def latest(self) -> int | None:
        return self.backend.latest()

    def close(self) -> None:
        self.backend.close()

    @property
    def undecodable(self) -> builtins.list[Undecodable]:
        return self.backend.undecodable


class MeteredRuntime:
    """``runtime`` (a kubelet's), measured (see the module docstring); every other call
    passes through. Thread-safe: pod workers call it side by side."""

    def __init__(self, runtime: Runtime, instruments: Instruments, node: str) -> None:
        self.runtime, self.instruments = runtime, instruments
        self._lock = threading.Lock()
        self._started: dict[str, set[str]] = {}
        """Pod uid -> the containers started once (the pod counts as running)."""
        self._pulled: dict[str, float] = {}
        """Image -> seconds its last pull took (left out of the next start using it)."""
        instruments.gauge_from("kubelet_running_pods", "Number of pods that have a running "
                               "pod sandbox", (), node, lambda: {(): len(self._started)})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runtime, name)

    def pull_image(self, image: str) -> None:
        began = time.monotonic()
        self.runtime.pull_image(image)
        with self._lock:
            self._pulled[image] = time.monotonic() - began

    def start_container(self, pod: Object, container: Object, attempt: int,
                        prepare: Callable[[], None] | None = None,
                        created: Callable[[], None] | None = None) -> ContainerInfo:
        info = self.runtime.start_container(pod, container, attempt, prepare, created)
        names = [c.get("name") for c in pod.get("spec", {}).get("containers") or []]
        with self._lock:
            started = self._started.setdefault(pod["metadata"]["uid"], set())
            first = len(started) < len(names)
            started.add(container["name"])
            if first and len(started) == len(names):
                self._observe_start(pod)
        return info

    def _observe_start(self, pod: Object) -> None:
        """The pod's last container started: its start SLI (lock held)."""
        images = {c.get("image") for c in pod["spec"].get("containers") or []}
        pulls = sum(self._pulled.pop(image, 0.0) for image in images if image)
        created = parse_time(pod["metadata"].get("creationTimestamp"))
        if created is not None:
            self.instruments.pod_start.observe(max(0.0, time.time() - created - pulls))

    def stop_pod(self, pod_uid: str, grace_seconds: int) -> None:
        self.runtime.stop_pod(pod_uid, grace_seconds)
        with self._lock:
            self._started.pop(pod_uid, None)

    def remove_pod(self, pod_uid: str) -> None:
        self.runtime.remove_pod(pod_uid)
        with self._lock:
            self._started.pop(pod_uid, None)


def parse_time(stamp: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp; None when it is not one."""
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class BusCollector(Collector):
    """The bus traffic of ``connections`` (read at each scrape; a closed one says nothing)."""

    def __init__(self, connections: list[Connection]) -> None:
        self.connections = connections

    def collect(self) -> Iterator[CounterMetricFamily]:
        messages = CounterMetricFamily("kubeactor_bus_messages", "NATS messages by component "
                                       "and direction.", labels=["component", "direction"])
        sizes = CounterMetricFamily("kubeactor_bus_bytes", "NATS payload bytes by component "
                                    "and direction.", labels=["component", "direction"])
        totals: dict[tuple[str, str], list[float]] = {}
        for connection in list(self.connections):
            stats = _stats(connection)
            for direction in ("in", "out"):
                entry = totals.setdefault((connection.name, direction), [0.0, 0.0])
                entry[0] += stats.get(f"{direction}_msgs", 0)
                entry[1] += stats.get(f"{direction}_bytes", 0)
        for (component, direction), (count, size) in sorted(totals.items()):
            messages.add_metric([component, direction], count)
            sizes.add_metric([component, direction], size)
        yield messages
        yield sizes


def _stats(connection: Connection) -> dict[str, Any]:
    try:
        return dict(connection.nc.stats)
    except KubeactorError:  # lost or closed
        return {}


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Nothing: a scrape every few seconds is no news."""


class MetricsListener:
    """``/metrics`` of ``instruments`` over plain HTTP on ``listen`` (``HOST:PORT``; port 0: a
    free one), and the health endpoints of ``checks`` (by endpoint; read at each request, so
    the process may fill them once its components run), on threads of its own until
    :meth:`stop`."""

    def __init__(self, listen: str, instruments: Instruments,
                 checks: Mapping[str, Sequence[health.Check]]) -> None:
        host, port = parse_listen(listen)
        self.checks = checks
        self._metrics = make_wsgi_app(instruments.registry)
        self._server = make_server(host, port, self._app, ThreadingWSGIServer, _Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics",
                                        daemon=True)
        self._thread.start()
        self.host, self.port = host, int(self._server.server_address[1])

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not health.is_health(path):
            return self._metrics(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        endpoint = "/" + path.lstrip("/").partition("/")[0]
        code, text = health.answer(path, self.checks.get(endpoint, ()), "verbose" in query,
                                   query.get("exclude", []))
        start_response(f"{code} {HTTPStatus(code).phrase}",
                       [("Content-Type", "text/plain; charset=utf-8")])
        return [text.encode()]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def bus_checks(connections: list[Connection]) -> dict[str, list[health.Check]]:
    """The health of a process without an apiserver (a scheduler's, a kubelet's): alive
    while it runs, ready while every bus connection of ``connections`` is up."""
    alive: list[health.Check] = [("ping", lambda: None)]
    ready = [*alive, ("bus", lambda: next((f"{c.name}: {c.down}" for c in list(connections)
                                          if c.down), None))]
    return {"/livez": alive, "/readyz": ready, "/healthz": ready}


def health_checks(store: pykka.ActorRef[Any], connection: Connection,
                  workers: list[pykka.ActorRef[Any]], connections: list[Connection]
                  ) -> dict[str, list[health.Check]]:
    """The health checks of an apiserver process, by endpoint: ``/livez`` its apiserver
    ``workers`` (``informer-sync``: each loads its mirrors of the policy, CRDs and admission
    objects before it serves); ``/readyz`` and ``/healthz`` also the apiserver's bus
    ``connection`` and the ``store`` (answering, and connected, when on JetStream: the
    connection named ``store`` among ``connections``)."""
    store_bus = next((c for c in connections if c.name == "store"), None)
    checks: list[health.Check] = [
        ("ping", lambda: None),
        ("informer-sync", lambda: None if all(w.is_alive() for w in workers)
         else "an apiserver worker has stopped"),
    ]
    ready = [*checks, ("bus", lambda: connection.down),
             ("store", lambda: (store_bus.down if store_bus else None) or _answers(store))]
    return {"/livez": checks, "/readyz": ready, "/healthz": ready}


def _answers(store: pykka.ActorRef[Any], seconds: float = 2.0) -> str | None:
    """None when the store actor answers within ``seconds``, else why not."""
    try:
        store.proxy().revision().get(timeout=seconds)
    except pykka.ActorDeadError:
        return "the store has stopped"
    except pykka.Timeout:
        return f"the store did not answer within {seconds:g}s"
    return None
