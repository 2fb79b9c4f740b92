"""``kubeactor trace``: a recorded ``run`` replays to a diagram of the seed's eight steps, its
page, opened in headless Chromium, draws them, and its OTLP export is one trace of them."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from actors.client.client import Client
from bindings import kubeconfig
from bus.connection import Connection
from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE
from tests.processes import UpProcess

pytestmark = pytest.mark.e2e

SEED_ARROWS = [  # (step, sender, receiver, the arrow's label), in order
    ("1 request", "cli", "apiserver", r"create pods/seen"),
    ("2 stored", "apiserver", "store", r"commit pods/seen \(rev \d+\) 200"),
    ("3 scheduler invoked", "apiserver", "scheduler", r"ADDED pods/seen"),
    ("4 binding", "scheduler", "apiserver", r"create pods/seen/binding"),
    ("5 kubelet invoked", "apiserver", "kubelet-node-1", r"ADDED pods/seen"),
    ("6 container", "kubelet-node-1", "runtime", r"start pods/seen/containers 200"),
    ("7 status", "kubelet-node-1", "apiserver", r"update pods/seen/status"),
    ("8 status stored", "apiserver", "store", r"commit pods/seen/status \(rev \d+\) 200"),
]


def in_order(arrows: list[str], pattern_of) -> None:
    """Every seed step's arrow is in ``arrows`` after the one before; ``pattern_of(sender,
    receiver, label)`` is the pattern an arrow must match."""
    at = 0
    for step, sender, target, label in SEED_ARROWS:
        pattern = pattern_of(sender, target, label)
        found = next((i for i in range(at, len(arrows)) if re.search(pattern, arrows[i])), None)
        assert found is not None, f"step {step} missing after arrow {at}:\n" + "\n".join(arrows)
        at = found + 1


class Receiver(http.server.ThreadingHTTPServer):
    """A local OTLP/HTTP receiver: keeps the spans POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, Any]] = []  # (service.name, span)
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            service = next(a.value.string_value for a in resource.resource.attributes
                           if a.key == "service.name")
            self.server.spans += [(service, span) for scope in resource.scope_spans
                                  for span in scope.spans]
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@dataclass
class Recorded:
    capture: Path
    page: Path
    live: str
    exported: list[tuple[str, Any]]
    """The live tracer's OTLP export: (service.name, span) each."""


@pytest.fixture(scope="module")
def recorded(cluster: UpProcess, tmp_path_factory) -> Recorded:
    """One ``run`` seen by a live tracer that keeps its capture, draws its page and exports
    it to a local OTLP receiver."""
    folder, receiver = tmp_path_factory.mktemp("trace"), Receiver()
    capture, page = folder / "run.capture", folder / "run.html"
    tracer = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
         "trace", "--object", "pod/seen", "--record", str(capture), "--html", str(page),
         "--otlp-endpoint", receiver.endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert tracer.stderr is not None
        assert "tracing" in tracer.stderr.readline()  # subscribed: nothing will be missed
        cluster.cli("run", "seen", "--image", IMAGE, "--", "sleep", "3600")
        config = kubeconfig.load(cluster.kubeconfig)
        with contextlib.closing(Connection(config.bus(), "e2e").connect()) as connection:
            wait_for(Client(connection, config.token), "pods", "seen",
                     lambda p: p["status"].get("phase") == "Running")
    finally:
        tracer.send_signal(signal.SIGINT)
        live, _ = tracer.communicate(timeout=30)  # the export is sent before it exits
        receiver.close()
    assert tracer.returncode == 0
    cluster.cli("delete", "pod", "seen", "--grace-period", "0")
    return Recorded(capture, page, live, receiver.spans)


def test_recorded_run_replays_to_the_seeds_eight_steps(cluster: UpProcess, recorded, tmp_path):
    diagram = tmp_path / "run.mmd"
    assert "cli -> apiserver" in recorded.live
    captured, token = recorded.capture.read_bytes(), kubeconfig.load(cluster.kubeconfig).token
    assert token and token.encode() not in captured  # no credential is kept
    assert b"\xa4auth" not in captured  # no envelope's auth map (tickets, MACs, tokens)
    assert b"eyJ" not in captured  # no JWT: the pod's service-account token stays out

    replay = cluster.cli("trace", "replay", str(recorded.capture), "--mermaid", str(diagram))
    assert replay.stdout == recorded.live  # the capture renders exactly as the live trace did
    lines = diagram.read_text().splitlines()
    assert lines[0] == "sequenceDiagram"
    for name in ("apiserver", "store", "scheduler", "kubelet_node_1 as kubelet-node-1"):
        assert f"    participant {name}" in lines
    in_order(lines, lambda sender, target, label:
             f"{sender}->>{target}: {label}$".replace("kubelet-node-1", "kubelet_node_1"))


class Arrows(HTMLParser):
    """The arrows a rendered page holds: ``sender -> receiver: label`` each."""

    def __init__(self) -> None:
        super().__init__()
        self.arrows: list[str] = []
        self._label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "g" and (found.get("class") or "").startswith("message"):
            self.arrows.append(f"{found['data-from']} -> {found['data-to']}: ")
        self._label = tag == "text" and found.get("class") == "label"

    def handle_data(self, data: str) -> None:
        if self._label and self.arrows:
            self.arrows[-1] += data


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Debian's headless Chromium on a local file (no network), as root may run it."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.fail("this test needs Debian's chromium; run scripts/setup")
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--window-size=1900,1100", *args],
                          capture_output=True, text=True, timeout=90, check=True)


def test_the_page_of_a_run_draws_the_seeds_eight_steps_in_chromium(cluster: UpProcess,
                                                                    recorded, tmp_path):
    replayed = tmp_path / "replayed.html"
    cluster.cli("trace", "replay", str(recorded.capture), "--html", str(replayed))
    assert replayed.read_text() == recorded.page.read_text()  # live and replay draw alike
    page = recorded.page.read_text()
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)  # nothing fetched when viewed
    assert "\"auth\"" not in page and "eyJ" not in page  # no credential to hover over

    profile, shot = f"--user-data-dir={tmp_path / 'profile'}", tmp_path / "trace.png"
    dom = chromium(profile, "--dump-dom", recorded.page.as_uri()).stdout  # after its script
    parser = Arrows()
    parser.feed(dom)
    in_order(parser.arrows, lambda sender, target, label: f"^{sender} -> {target}: {label}$")
    assert re.search(r'<g class="message"[^>]*data-from="cli".*?>\d+\.\d ms</text>', dom)

    chromium(profile, f"--screenshot={shot}", recorded.page.as_uri())
    print(f"screenshot of the trace page: {shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


OTLP_STEPS = [  # (service, span name, receiver) of each seed step, in order
    ("cli", "create pods", "apiserver"),
    ("store", "commit pods", "store"),
    ("apiserver", "ADDED pods", "scheduler"),
    ("scheduler", "create pods/binding", "apiserver"),
    ("apiserver", "ADDED pods", "kubelet-node-1"),
    ("kubelet-node-1", "start pods/containers", "runtime"),
    ("kubelet-node-1", "update pods/status", "apiserver"),
    ("store", "commit pods/status", "store"),
]
CAUSES = {2: [1], 3: [2], 4: [3], 5: ["commit pods/binding", 4], 6: [5], 7: [5], 8: [7]}
"""Seed step -> its span's ancestors, nearest first, up to a seed step (a commit's parent is
the request it wrote, an event's the commit it tells of, the binding's the event that made
the scheduler bind...)."""


def test_one_run_exports_to_otlp_as_one_trace_of_the_eight_steps(cluster: UpProcess,
                                                                  recorded):
    receiver = Receiver()
    try:
        cluster.cli("trace", "replay", str(recorded.capture), "--otlp-endpoint",
                    receiver.endpoint)
    finally:
        receiver.close()

    def tree(exported: list[tuple[str, Any]]) -> set[tuple[str, bytes, bytes, str]]:
        return {(who, s.span_id, s.parent_span_id, s.name) for who, s in exported}

    assert tree(receiver.spans) == tree(recorded.exported)  # live and replay export alike

    def attribute(span: Any, key: str) -> str:
        return next((a.value.string_value for a in span.attributes if a.key == key), "")

    steps = []
    for service, name, target in OTLP_STEPS:
        steps.append(next(span for who, span in recorded.exported if who == service
                          and span.name == name and attribute(span, "kubeactor.to") == target))
    trace_id = steps[0].trace_id
    assert len(trace_id) == 16 and trace_id[:8] != bytes(8)  # 128 bits, W3C's
    assert all(span.trace_id == trace_id for span in steps)  # one trace
    assert steps[0].parent_span_id == b""  # the root: the CLI's request
    spans = {span.span_id: span for _, span in recorded.exported if span.trace_id == trace_id}
    assert all(span.parent_span_id in spans for span in spans.values() if span.parent_span_id)
    for step, ancestors in CAUSES.items():
        span = steps[step - 1]
        for ancestor in ancestors:
            span = spans[span.parent_span_id]
            assert span.name == ancestor if isinstance(ancestor, str) else (
                span is steps[ancestor - 1]), (step, ancestor)
    request = steps[0]
    assert request.end_time_unix_nano > request.start_time_unix_nano  # until its reply came
