"""Kubeconfig files (bindings/kubeconfig.py): the NATS credentials of a locked-down bus travel
in the user's ``kubeactor`` extension, and a kubeconfig without them still loads."""

from __future__ import annotations

import os

import yaml

from bindings import kubeconfig
from bus import Connection
from bus.subjects import ANONYMOUS


def test_nats_credentials_round_trip_through_a_private_file(tmp_path):
    path = tmp_path / "kubeconfig"
    kubeconfig.write(path, kubeconfig.KubeConfig(
        server="nats://127.0.0.1:4222", prefix="kubeactor", token="t0k", user="system:node:n1",
        nats_user="system:node:n1", nats_password="s3cret"))
    assert os.stat(path).st_mode & 0o777 == 0o600
    bus = kubeconfig.load(path).bus()
    assert (bus.url, bus.user, bus.password) == ("nats://127.0.0.1:4222", "system:node:n1",
                                                 "s3cret")


def test_a_kubeconfig_without_nats_credentials_connects_as_anonymous(tmp_path):
    path = tmp_path / "kubeconfig"
    kubeconfig.write(path, kubeconfig.KubeConfig(server="nats://h:1", prefix="p", token="t"))
    assert "extensions" not in yaml.safe_load(path.read_text())["users"][0]["user"]
    config = kubeconfig.load(path)
    assert (config.bus().user, config.bus().password) == (None, None)
    assert Connection(config.bus(), "old").owner == ANONYMOUS


def test_config_view_redacts_the_nats_password():
    shown = kubeconfig.render(kubeconfig.KubeConfig(
        server="nats://h:1", prefix="p", token=None, nats_user="admin", nats_password="s3cret"),
        redact=True)
    assert "natsUser: admin" in shown and "natsPassword: REDACTED" in shown
    assert "s3cret" not in shown
