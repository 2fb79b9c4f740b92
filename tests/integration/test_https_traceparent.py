"""W3C Trace Context on the HTTPS port (a simulated cluster, real nats-server): the official
``kubernetes`` client's request with a ``traceparent`` header is made in the caller's trace;
the pod it creates carries that trace id, so the scheduler's binding and the kubelet's
messages on the bus, what ``kubeactor trace`` sees and exports as OTLP spans, are in it too. A
request without one, or with a malformed one, starts a trace of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.api.meta import trace_id_of
from bindings.cli.otlp import Spans
from bindings.cli.tracing import Record, hop
from bindings.cluster import Cluster, ClusterConfig
from tests.conftest import pod, wait_for
from tests.support import until

pytestmark = pytest.mark.integration

TRACE, CALLER = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path / "sim", nodes=1, runtime="sim",
                                          https_listen="127.0.0.1:0"))
    yield cluster
    cluster.stop()


def test_a_traceparent_makes_the_requests_and_what_follows_the_callers_trace(
        sim: Cluster, kube_api, connect) -> None:
    from kubernetes import client as k8s

    records: list[Record] = []
    tracer = connect(sim.bus(), "tracer")
    tracer.subscribe_raw(tracer.subjects.all, lambda subject, data: records.append(
        record) if (record := Record.capture(subject, data)) is not None else None)
    core = k8s.CoreV1Api(kube_api(sim.kubeconfig_path))
    core.create_namespaced_pod("default", pod("traced"),
                               _headers={"traceparent": f"00-{TRACE}-{CALLER}-01"})
    core.create_namespaced_pod("default", pod("untraced"))
    core.create_namespaced_pod("default", pod("malformed"),
                               _headers={"traceparent": f"00-{TRACE.upper()}-{CALLER}-01"})
    admin = sim.admin_client()
    traced = wait_for(admin, "pods", "traced", lambda p: bool(p["spec"].get("nodeName")))
    assert trace_id_of(traced) == TRACE
    for name in ("untraced", "malformed"):
        assert trace_id_of(admin.get("pods", name)) not in (None, TRACE)

    audit = sim.config.data_dir / "audit.log"  # the create, in the caller's trace
    assert until(lambda: [e["annotations"]["kubeactor.io/trace-id"] for e in map(
        json.loads, audit.read_text().splitlines()) if e["verb"] == "create"
        and e["requestURI"] == "/api/v1/namespaces/default/pods/traced"
        and e["stage"] == "ResponseComplete"])[0] == TRACE

    spans = Spans()
    found = until(lambda: [span for record in list(records)
                           for span in spans.add(hop(record), record.message)
                           if span.trace_id == int(TRACE, 16) and "binding" in span.name])
    assert found[0].parent_id is not None  # the binding the scheduler made, in the trace
