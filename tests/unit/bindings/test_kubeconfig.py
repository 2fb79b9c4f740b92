"""Kubeconfig files (bindings/kubeconfig.py): a control plane user's NATS password travels in
the user's ``kubeactor`` extension; without it the bus identity is the certificate's, else the
token's."""

from __future__ import annotations

import dataclasses
import os
import re

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from actors.api import certs
from bindings import kubeconfig
from bus import BusConfig, Connection


def test_nats_credentials_round_trip_through_a_private_file(tmp_path):
    path = tmp_path / "kubeconfig"
    kubeconfig.write(path, kubeconfig.KubeConfig(
        server="nats://127.0.0.1:4222", prefix="kubeactor", token="t0k", user="system:node:n1",
        nats_user="system:node:n1", nats_password="s3cret"))
    assert os.stat(path).st_mode & 0o777 == 0o600
    bus = kubeconfig.load(path).bus()
    assert (bus.url, bus.user, bus.password) == ("nats://127.0.0.1:4222", "system:node:n1",
                                                 "s3cret")


def test_without_a_nats_password_the_bus_identity_is_the_certificates_then_the_tokens(
        tmp_path):
    key, ca = certs.new_ca()
    user_key = certs.new_key()
    cert = certs.issue(key, ca, user_key.public_key(), certs.Identity("alice", ("dev",)))
    path = tmp_path / "kubeconfig"
    kubeconfig.write(path, kubeconfig.KubeConfig(
        server="nats://h:1", prefix="p", token="t", user="alice-entry",
        client_cert=certs.cert_pem(cert), client_key=certs.key_pem(user_key),
        ca=certs.cert_pem(ca)))
    assert "extensions" not in yaml.safe_load(path.read_text())["users"][0]["user"]
    config = kubeconfig.load(path)
    bus = config.bus()
    assert (bus.user, bus.password, bus.token) == ("alice", None, None)
    assert bus.certificate == cert.public_bytes(serialization.Encoding.DER)
    tokens_only = dataclasses.replace(config, client_cert=None, client_key=None).bus()
    assert (tokens_only.user, tokens_only.token, tokens_only.certificate) == (
        "alice-entry", "t", None)
    assert Connection(tokens_only, "dev").owner == "alice-entry"


def test_config_view_redacts_the_nats_password():
    shown = kubeconfig.render(kubeconfig.KubeConfig(
        server="nats://h:1", prefix="p", token=None, nats_user="admin", nats_password="s3cret"),
        redact=True)
    assert "natsUser: admin" in shown and "natsPassword: REDACTED" in shown
    assert "s3cret" not in shown


def test_a_bus_configuration_never_shows_its_secrets():
    shown = repr(BusConfig(user="dev", password="s3cret", token="t0k"))
    assert "dev" in shown and "s3cret" not in shown and "t0k" not in shown


@pytest.mark.parametrize("text, words", [
    ("[]\n", "is not a Config: expected a mapping with clusters, contexts, users"),
    ("current-context: nope\ncontexts: []\n", 'no context exists with the name: "nope"'),
    ("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
     "clusters: [{name: x, cluster: {server: 'nats://h:1'}}]\n",
     'no cluster exists with the name: "k"'),
    ("current-context: c\ncontexts: [c]\n",
     "is malformed: clusters, contexts and users must be lists of entries with a name"),
    ("contexts: []\n", "is incomplete: missing 'current-context'"),
])
def test_a_malformed_kubeconfig_is_named_in_kubectl_words(tmp_path, text, words):
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(kubeconfig.KubeConfigError, match=re.escape(words)):
        kubeconfig.load(path)


def test_kubectls_server_is_the_https_url_and_the_nats_url_is_in_the_extension(tmp_path):
    path = tmp_path / "kubeconfig"
    kubeconfig.write(path, kubeconfig.KubeConfig(
        server="nats://127.0.0.1:4222", prefix="kubeactor", token="t",
        https="https://127.0.0.1:6443"))
    cluster = yaml.safe_load(path.read_text())["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert cluster["extensions"] == [{"name": "kubeactor", "extension": {
        "subjectPrefix": "kubeactor", "natsServers": "nats://127.0.0.1:4222"}}]
    loaded = kubeconfig.load(path)
    assert (loaded.server, loaded.https) == ("nats://127.0.0.1:4222", "https://127.0.0.1:6443")
    assert loaded.bus().url == "nats://127.0.0.1:4222"


def test_a_kubeconfig_from_before_the_https_api_still_names_the_bus(tmp_path):
    path = tmp_path / "kubeconfig"
    kubeconfig.write(path, kubeconfig.KubeConfig(server="nats://h:1", prefix="p", token="t"))
    cluster = yaml.safe_load(path.read_text())["clusters"][0]["cluster"]
    assert cluster["server"] == "nats://h:1"
    assert "natsServers" not in cluster["extensions"][0]["extension"]
    loaded = kubeconfig.load(path)
    assert (loaded.server, loaded.https) == ("nats://h:1", None)


def test_the_bus_is_checked_against_the_nats_ca_when_given_else_the_cluster_ca(tmp_path):
    cluster_ca, own_ca = (certs.cert_pem(certs.new_ca(name)[1]) for name in ("c", "own"))
    path = tmp_path / "kubeconfig"
    for nats_ca, trusted in ((None, cluster_ca), (own_ca, own_ca)):
        kubeconfig.write(path, kubeconfig.KubeConfig(
            server="tls://h:4222", prefix="p", token="t", ca=cluster_ca, nats_ca=nats_ca,
            https="https://h:6443"))
        loaded = kubeconfig.load(path)
        assert (loaded.nats_ca, loaded.bus().ca, loaded.bus().url) == (
            nats_ca, trusted, "tls://h:4222")
