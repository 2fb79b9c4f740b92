"""The unit test of examples/tracing.py's reading of a kubeconfig: the bus URL with the NATS
user and password, the subject prefix and the CA the bus is checked against, as ``kubeactor
config view --raw`` shows them."""

from __future__ import annotations

from pathlib import Path

from tracing import bus_of

from actors.api import certs
from bindings import kubeconfig


def test_the_tracer_reads_url_credentials_and_prefix_from_a_kubeconfig(tmp_path: Path) -> None:
    ca = certs.cert_pem(certs.new_ca()[1])
    kubeconfig.write(tmp_path / "k", kubeconfig.KubeConfig(
        server="tls://127.0.0.1:4222", prefix="team-a", token=None, nats_user="admin",
        nats_password="s3cret", https="https://127.0.0.1:6443", ca=ca))
    assert bus_of(tmp_path / "k") == ("tls://admin:s3cret@127.0.0.1:4222", "team-a",
                                      ca.decode())
