"""Every example runs as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bindings import kubeconfig
from tests.e2e.conftest import remove_containers

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs_a_pod_to_completion_and_cleans_up(tmp_path, docker_engine):
    try:
        result = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py"), str(tmp_path)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "pod hello on node-1: Succeeded\n"
        cluster_id = (tmp_path / "cluster-id").read_text().strip()
        assert docker_engine.containers.list(
            all=True, filters={"label": f"io.kubeactor.cluster.id={cluster_id}"}) == []
    finally:
        remove_containers(docker_engine, tmp_path)


def test_tracing_example_reads_the_bus_with_plain_nats_and_msgpack(cluster, admin, tmp_path):
    config = kubeconfig.load(cluster.kubeconfig)
    assert config.ca is not None
    (tmp_path / "ca.crt").write_bytes(config.ca)
    follower = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "tracing.py"), config.server.replace(
            "tls://", f"tls://{config.nats_user}:{config.nats_password}@"),
         "--ca", str(tmp_path / "ca.crt"), "--seconds", "60"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().startswith("listening")
        admin.create("configmaps", {"metadata": {"name": "traced-example"}, "data": {}})
        seen: list[list[str]] = []  # other traffic (lease renewals, replies) may interleave
        while not any(line[0] == "kubeactor.trace.store" for line in seen):
            line = follower.stdout.readline().split()
            if line and line[-1] == "configmaps/traced-example":
                seen.append(line)
    finally:
        follower.kill()
        follower.communicate()
    assert seen[0] == ["kubeactor.exempt.core.configmaps.create", "e2e", "->", "?:", "create",
                       "configmaps/traced-example"]
    assert seen[-1][:5] == ["kubeactor.trace.store", "apiserver", "->", "store:", "commit"]


def test_custom_admission_example_denies_one_pod_and_labels_the_other(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_admission.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        'untrusted: refused (400): admission webhook "image-policy" denied the request: image '
        "evil.example.org/miner:1 is not from an allowed registry\n"
        "trusted: created with labels {'image-policy': 'checked'}\n")
