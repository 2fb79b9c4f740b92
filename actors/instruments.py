"""The Prometheus metrics of one process, with Kubernetes' names, labels and buckets.

:class:`Instruments` holds a ``prometheus_client`` registry of its own and every metric the
components of a process update: the apiserver's requests (``apiserver_request_total``,
``apiserver_request_duration_seconds``, ``apiserver_current_inflight_requests``), its store
(``etcd_request_duration_seconds``, ``apiserver_storage_objects``) and watches
(``apiserver_watch_events_total``); the scheduler's attempts and queue
(``scheduler_schedule_attempts_total``, ``scheduler_scheduling_attempt_duration_seconds``,
``scheduler_pending_pods``; a shadow's ``scheduler_shadow_decisions_total``); the
controllers' work queues (``workqueue_*``, by controller); the kubelet's pods
(``kubelet_running_pods``, ``kubelet_pod_start_sli_duration_seconds``).
Gauges that are a count of something held elsewhere (objects stored, pods queued or running)
are read when scraped, from the callables given to :meth:`Instruments.gauge_from`.

One registry per process, never ``prometheus_client``'s global one: a ``kubeactor up`` process
runs every component on one registry (one ``/metrics`` shows them all), while tests start
several clusters in one interpreter, each with its own :class:`Instruments`, whose counts
must not mix (nor its metric names collide). A component given none makes its own, which
nobody serves.

Neighbours: the components that update it (``actors.apiserver.instrumenting``,
``actors.scheduler.scheduler``, ``actors.controllers.controller``, ``actors.kubelet``);
``bindings.cluster.monitoring`` (serves it, adds the bus's figures).

Which thread: any; ``prometheus_client``'s metrics lock for themselves, a scrape reads from
the serving thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

disable_created_metrics()  # no ``*_created`` series: Kubernetes' metrics have none
REQUEST_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0,
                   5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
"""kube-apiserver's buckets of request and etcd durations."""
SCHEDULING_BUCKETS = tuple(0.001 * 2 ** i for i in range(15))
"""kube-scheduler's: exponential from 1 ms, doubling, 15 buckets."""
QUEUE_BUCKETS = tuple(1e-8 * 10 ** i for i in range(10))
"""client-go's work queue latency: 10 ns to 10 s, powers of ten."""
POD_START_BUCKETS = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360,
                     480, 600, 900, 1200, 1800, 2700, 3600)
"""The kubelet's pod start SLI buckets."""
REQUEST_LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope",
                  "component")


class _Callbacks(Collector):
    """Gauges whose values are read when scraped: name -> (help, label names, readers by
    owner)."""

    def __init__(self) -> None:
        self.gauges: dict[str, tuple[str, tuple[str, ...],
                                     dict[str, Callable[[], dict[tuple[str, ...], float]]]]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (text, labels, readers) in list(self.gauges.items()):
            family = GaugeMetricFamily(name, text, labels=list(labels))
            totals: dict[tuple[str, ...], float] = {}
            for read in list(readers.values()):
                for key, value in read().items():
                    totals[key] = totals.get(key, 0.0) + value
            for key, value in sorted(totals.items()):
                family.add_metric(list(key), value)
            yield family


class Instruments:
    """Every metric of one process, in :attr:`registry` (see the module docstring)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._callbacks = _Callbacks()
        self.registry.register(self._callbacks)
        r = self.registry
        self.requests = Counter(
            "apiserver_request_total", "Counter of apiserver requests broken out for each verb, "
            "dry run value, group, version, resource, scope, component, and HTTP response code.",
            [*REQUEST_LABELS, "code"], registry=r)
        self.request_duration = Histogram(
            "apiserver_request_duration_seconds", "Response latency distribution in seconds "
            "for each verb, dry run value, group, version, resource, subresource, scope and "
            "component.", REQUEST_LABELS, buckets=REQUEST_BUCKETS, registry=r)
        self.inflight = Gauge(
            "apiserver_current_inflight_requests", "Maximal number of currently used inflight "
            "request limit of this apiserver per request kind in last second.",
            ["request_kind"], registry=r)
        self.store_duration = Histogram(
            "etcd_request_duration_seconds", "Store request latency in seconds for each "
            "operation and object type (kubeactor's store: SQLite or JetStream).",
            ["operation", "type"], buckets=REQUEST_BUCKETS, registry=r)
        self.watch_events = Counter(
            "apiserver_watch_events_total", "Number of events sent in watch clients",
            ["group", "version", "kind"], registry=r)
        self.schedule_attempts = Counter(
            "scheduler_schedule_attempts_total", "Number of attempts to schedule pods, by the "
            "result. 'unschedulable' means a pod could not be scheduled, while 'error' means "
            "an internal scheduler problem.", ["result", "profile"], registry=r)
        self.shadow_decisions = Counter(
            "scheduler_shadow_decisions_total", "Number of pods a shadow scheduler placed, by "
            "whether its profile's choice agrees with the node the active scheduler bound.",
            ["result", "profile"], registry=r)
        self.attempt_duration = Histogram(
            "scheduler_scheduling_attempt_duration_seconds", "Scheduling attempt latency in "
            "seconds (scheduling algorithm + binding)", ["result", "profile"],
            buckets=SCHEDULING_BUCKETS, registry=r)
        self.queue_adds = Counter("workqueue_adds_total", "Total number of adds handled by "
                                  "workqueue", ["name"], registry=r)
        self.queue_duration = Histogram(
            "workqueue_queue_duration_seconds", "How long in seconds an item stays in "
            "workqueue before being requested.", ["name"], buckets=QUEUE_BUCKETS, registry=r)
        self.pod_start = Histogram(
            "kubelet_pod_start_sli_duration_seconds", "Duration in seconds to start a pod, "
            "excluding time to pull images and run init containers, measured from pod "
            "creation timestamp to when all its containers are reported as started and "
            "observed via watch", buckets=POD_START_BUCKETS, registry=r)

    def gauge_from(self, name: str, text: str, labels: tuple[str, ...], owner: str,
                   read: Callable[[], dict[tuple[str, ...], float]]) -> None:
        """Have the gauge ``name`` read ``read`` at each scrape (label values -> value).
        Readers of several owners (two kubelets' running pods) are summed; a new reader of
        the same ``owner`` (a controller started again) replaces its old one."""
        entry = self._callbacks.gauges.setdefault(name, (text, labels, {}))
        entry[2][owner] = read


class Attempts:
    """The scheduler's attempts, timed from the pop of a pod to its outcome (scheduled,
    unschedulable, error), as kube-scheduler's ``scheduler_schedule_attempts_total`` and
    ``scheduler_scheduling_attempt_duration_seconds``. Used on the scheduler's thread."""

    def __init__(self, instruments: Instruments, profile: str) -> None:
        self.instruments, self.profile = instruments, profile
        self._started: dict[str, float] = {}

    def started(self, key: str) -> None:
        self._started[key] = time.monotonic()

    def ended(self, key: str, result: str) -> None:
        began = self._started.pop(key, None)
        labels: dict[str, Any] = {"result": result, "profile": self.profile}
        self.instruments.schedule_attempts.labels(**labels).inc()
        if began is not None:
            self.instruments.attempt_duration.labels(**labels).observe(time.monotonic() - began)
