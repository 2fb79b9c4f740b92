"""The unit test of examples/tracing.py's reading of a kubeconfig: the bus URL with the NATS
user and password, and the subject prefix, as ``kubeactor config view --raw`` shows them."""

from __future__ import annotations

from pathlib import Path

from tracing import bus_of

from bindings import kubeconfig


def test_the_tracer_reads_url_credentials_and_prefix_from_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig.write(tmp_path / "k", kubeconfig.KubeConfig(
        server="nats://127.0.0.1:4222", prefix="team-a", token=None, nats_user="admin",
        nats_password="s3cret", https="https://127.0.0.1:6443"))
    assert bus_of(tmp_path / "k") == ("nats://admin:s3cret@127.0.0.1:4222", "team-a")
