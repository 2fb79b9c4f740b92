"""The apiserver's request metrics (actors/apiserver/instrumenting.py) and the registry of a
process (actors/instruments.py)."""

from __future__ import annotations

from prometheus_client import generate_latest

from actors.api.resources import lookup
from actors.apiserver.instrumenting import RequestMetrics
from actors.apiserver.outcomes import Outcome
from actors.instruments import Instruments
from bus.subjects import Subjects


def sample(instruments: Instruments, name: str, **labels: str) -> float | None:
    return instruments.registry.get_sample_value(name, labels)


def answered(**fields: object) -> Outcome:
    base: dict[str, object] = dict(subject="kubeactor.api.core.pods.create", received=10.0,
                                   finished=10.25, code=201, authorized=True, verb="create",
                                   version="v1", resource="pods", namespace="dev", name="web",
                                   decoded=True)
    base.update(fields)
    return Outcome(**base)  # type: ignore[arg-type]


def test_a_request_is_counted_timed_and_in_flight_until_answered():
    instruments = Instruments()
    metrics = RequestMetrics(instruments, Subjects())
    metrics.received("kubeactor.api.core.pods.create")
    assert sample(instruments, "apiserver_current_inflight_requests",
                  request_kind="mutating") == 1
    metrics.answered(answered(), counted=True)
    labels = dict(verb="POST", dry_run="", group="", version="v1", resource="pods",
                  subresource="", scope="namespace", component="apiserver")
    assert sample(instruments, "apiserver_request_total", **labels, code="201") == 1
    assert sample(instruments, "apiserver_request_duration_seconds_bucket", **labels,
                  le="0.4") == 1
    assert sample(instruments, "apiserver_request_duration_seconds_bucket", **labels,
                  le="0.2") == 0
    assert sample(instruments, "apiserver_current_inflight_requests",
                  request_kind="mutating") == 0


def test_verbs_and_scopes_are_named_as_kube_apiserver_names_them():
    instruments = Instruments()
    metrics = RequestMetrics(instruments, Subjects())
    metrics.answered(answered(verb="list", name="", namespace="", code=200), counted=False)
    metrics.answered(answered(verb="create", subresource="exec", code=200), counted=False)
    assert sample(instruments, "apiserver_request_total", verb="LIST", dry_run="", group="",
                  version="v1", resource="pods", subresource="", scope="cluster",
                  component="apiserver", code="200") == 1
    assert sample(instruments, "apiserver_request_total", verb="CONNECT", dry_run="",
                  group="", version="v1", resource="pods", subresource="exec",
                  scope="resource", component="apiserver", code="200") == 1
    metrics.watched(lookup("apps", "deployments"))
    assert sample(instruments, "apiserver_watch_events_total", group="apps", version="v1",
                  kind="Deployment") == 1


def test_each_process_has_its_own_registry_and_read_gauges_sum_their_owners():
    one, two = Instruments(), Instruments()
    one.gauge_from("kubelet_running_pods", "Pods running.", (), "node-1", lambda: {(): 2})
    one.gauge_from("kubelet_running_pods", "Pods running.", (), "node-2", lambda: {(): 3})
    one.gauge_from("kubelet_running_pods", "Pods running.", (), "node-2", lambda: {(): 1})
    assert sample(one, "kubelet_running_pods") == 3  # node-2's reader was replaced
    assert sample(two, "kubelet_running_pods") is None
    assert b"_created" not in generate_latest(one.registry)


def test_a_request_not_understood_is_counted_without_the_names_its_subject_made_up():
    instruments = Instruments()
    metrics = RequestMetrics(instruments, Subjects())
    metrics.answered(answered(decoded=False, verb="frobnicate", group="made.up",
                              resource="widgets", subresource="knobs", version="", code=404),
                     counted=False)
    assert sample(instruments, "apiserver_request_total", verb="other", dry_run="", group="",
                  version="", resource="", subresource="", scope="", component="apiserver",
                  code="404") == 1
