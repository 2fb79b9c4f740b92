"""``kubeactor config view`` redacts credentials as kubectl does; ``--raw`` shows what a tracer
of the bus needs: the NATS URL, the subject prefix, the NATS user and password."""

from __future__ import annotations

from pathlib import Path

import yaml

from bindings import kubeconfig
from bindings.cli import main as cli

CONFIG = kubeconfig.KubeConfig(server="nats://127.0.0.1:4222", prefix="team-a", token="t0k",
                               user="admin", nats_user="admin", nats_password="s3cret",
                               https="https://127.0.0.1:6443")


def viewed(tmp_path: Path, capsys, *flags: str) -> dict:
    kubeconfig.write(tmp_path / "k", CONFIG)
    assert cli.main(["--kubeconfig", str(tmp_path / "k"), "config", "view", *flags]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def bus_settings(document: dict) -> tuple[str, str, str, str]:
    cluster = document["clusters"][0]["cluster"]["extensions"][0]["extension"]
    user = document["users"][0]["user"]["extensions"][0]["extension"]
    return (cluster["natsServers"], cluster["subjectPrefix"], user["natsUser"],
            user["natsPassword"])


def test_config_view_redacts_the_password_and_the_token(tmp_path, capsys) -> None:
    document = viewed(tmp_path, capsys)
    assert bus_settings(document) == ("nats://127.0.0.1:4222", "team-a", "admin", "REDACTED")
    assert document["users"][0]["user"]["token"] == "REDACTED"


def test_config_view_raw_shows_what_a_tracer_connects_with(tmp_path, capsys) -> None:
    document = viewed(tmp_path, capsys, "--raw")
    assert bus_settings(document) == ("nats://127.0.0.1:4222", "team-a", "admin", "s3cret")
    assert document["users"][0]["user"]["token"] == "t0k"
