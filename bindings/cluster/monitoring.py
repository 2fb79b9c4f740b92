"""The process's metrics, gathered and served: what ``actors.instruments`` cannot see itself.

- :class:`TimedBackend` wraps the store's backend (SQLite, JetStream) and times its commits
  and reads into ``etcd_request_duration_seconds`` (``operation``: ``commit``, ``load``,
  ``records``; ``type``: the resource of the keys written).
- :func:`storage_counts` counts the stored objects by resource, kube-apiserver's
  ``apiserver_storage_objects``, from the store's view at each scrape.
- :class:`BusCollector` reads each NATS connection's own counters (nats-py's ``stats``) at
  each scrape: ``kubeactor_bus_messages_total`` and ``kubeactor_bus_bytes_total`` by
  ``component`` (the connection's name) and ``direction`` (``in``, ``out``).
- :func:`health_checks`: what ``/livez``, ``/readyz`` and ``/healthz`` check in an apiserver
  process (``actors.apiserver.http.health`` answers them).
- :class:`MetricsListener` serves ``/metrics`` in the Prometheus text format on
  ``--metrics-listen HOST:PORT`` (plain HTTP, no authentication, as kube-scheduler's
  ``--bind-address`` once did: keep it on loopback, or scrape the HTTPS port instead, where
  RBAC's ``nonResourceURLs`` decide).

Neighbours: ``actors.instruments`` (the registry), ``bindings.cluster.launcher`` (wires it),
``bindings.https.front`` (``/metrics`` on the HTTPS port).

Which thread: the store's (TimedBackend); the serving thread of a scrape (the rest).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pykka
from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from actors.api.objects import Object
from actors.api.resources import RESOURCES
from actors.apiserver.http import health
from actors.instruments import Instruments
from actors.store import Backend
from actors.store.backend import Change, Outcome, Record, Undecodable
from bindings.https import parse_listen
from bus import Connection
from bus.errors import KubeactorError

_BY_PREFIX = {info.prefix(None): info.qualified for info in RESOURCES}


def resource_of(key: str) -> str:
    """The resource a store key is of (``/apps/deployments/ns/x``: ``deployments.apps``);
    a custom resource's: its key's first part."""
    parts = key.split("/")
    for prefix in ("/".join(parts[:3]) + "/", "/".join(parts[:2]) + "/"):
        if prefix in _BY_PREFIX:
            return _BY_PREFIX[prefix]
    return parts[1] if len(parts) > 1 else ""


def storage_counts(snapshot: Callable[[], tuple[dict[str, Object], int]]
                   ) -> Callable[[], dict[tuple[str, ...], float]]:
    """A reader of ``apiserver_storage_objects`` over the store view's ``snapshot``."""
    def read() -> dict[tuple[str, ...], float]:
        counts: dict[tuple[str, ...], float] = {}
        for key in snapshot()[0]:
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

    def close(self) -> None:
        self.backend.close()

    @property
    def undecodable(self) -> builtins.list[Undecodable]:
        return self.backend.undecodable


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


class MetricsListener:
    """``/metrics`` of ``instruments`` over plain HTTP on ``listen`` (``HOST:PORT``; port 0: a
    free one), on a thread of its own until :meth:`stop`."""

    def __init__(self, listen: str, instruments: Instruments) -> None:
        host, port = parse_listen(listen)
        self._server, self._thread = start_http_server(port, host, instruments.registry)
        self.host, self.port = host, int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


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
