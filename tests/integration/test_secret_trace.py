"""No Secret value leaves the apiserver through ``kubeactor trace``: a recorded create, get,
update and watch of a Secret (``kubeactor up --runtime sim``, real NATS) holds its keys and not
one of its values, in any encoding, and neither does the audit log."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from tests.conftest import wait_for
from tests.processes import UpProcess, start_up, stop_up

pytestmark = pytest.mark.integration

VALUE = "s3cr3t-hunter2-value"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[UpProcess]:
    up = start_up(tmp_path_factory.mktemp("up"), "--runtime", "sim")
    yield up
    stop_up(up)


def test_a_recorded_trace_of_a_secret_holds_no_value(cluster: UpProcess, admin_for, tmp_path):
    capture = tmp_path / "secret.capture"
    manifest = tmp_path / "secret.yaml"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
              "stringData": {"password": VALUE}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.35", "env": [
               {"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
           ]}]}}
    tracer = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
         "trace", "--record", str(capture)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert tracer.stderr is not None
        assert "tracing" in tracer.stderr.readline()  # subscribed: nothing will be missed
        manifest.write_text(yaml.safe_dump_all([secret, pod]))
        cluster.cli("apply", "-f", str(manifest))  # create, with the last-applied annotation
        secret["stringData"] = {"password": VALUE, "other": VALUE}
        manifest.write_text(yaml.safe_dump(secret))
        cluster.cli("apply", "-f", str(manifest))  # get, then update
        assert "other" in cluster.cli("get", "secret", "db", "-o", "yaml").stdout
        wait_for(admin_for(cluster), "pods", "user",
                 lambda p: p["status"].get("phase") == "Running")
    finally:
        tracer.send_signal(signal.SIGINT)
        live, _ = tracer.communicate(timeout=30)
    assert tracer.returncode == 0 and "secrets/db" in live
    recorded = capture.read_bytes()
    assert b"password" in recorded and b"<redacted>" in recorded
    for form in (VALUE.encode(), base64.b64encode(VALUE.encode())):
        assert form not in recorded
        assert form not in (cluster.data_dir / "audit.log").read_bytes()
