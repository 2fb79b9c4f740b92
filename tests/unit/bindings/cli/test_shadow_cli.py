"""``kubeactor scheduler --profile FILE`` read as --plugin and --weight are, refused in
kubectl's words when wrong; ``shadow report``'s table from a shadow's Events."""

from __future__ import annotations

from pathlib import Path

import pytest

from bindings.cli.extending import profile_file
from bindings.cli.main import parser
from bindings.cli.shadow import report_rows
from bus.errors import UsageError


def test_a_profile_file_gives_plugins_and_weights_and_the_flags_add_to_it(
        tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("plugins: [custom_scheduler:PreferLabel]\nweights: {NodeResourcesFit: 10}\n")
    assert profile_file(path) == (["custom_scheduler:PreferLabel"], {"NodeResourcesFit": 10})
    args = parser().parse_args(["scheduler", "--shadow", "--profile", str(path),
                                "--weight", "NodeAffinity=4"])
    assert (args.shadow, args.shadow_name, args.profile) == (True, "shadow-scheduler", path)


@pytest.mark.parametrize("text", ["weights: {NodeResourcesFit: -1}\n", "weights: [1]\n",
                                  "plugins: x\n", "wieghts: {A: 1}\n", "- a\n",
                                  "weights: {A: true}\n"])
def test_a_profile_file_of_another_shape_is_a_usage_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match="expected only `plugins:`"):
        profile_file(path)


def test_a_missing_profile_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file"):
        profile_file(tmp_path / "nowhere.yaml")


def test_the_report_has_one_row_per_shadow_event_oldest_first() -> None:
    def event(name: str, when: str, message: str) -> dict:
        return {"involvedObject": {"namespace": "default", "name": name}, "message": message,
                "lastTimestamp": when}

    top, rows = report_rows([
        event("b", "2026-12-07T03:00:02Z", "default-scheduler bound n1 (F 1x1: 1); "
                                           "shadow chose n2 (F 9x1: 9)"),
        event("a", "2026-12-07T03:00:01Z", "default-scheduler bound n2 (F 1x1: 1); "
                                           "shadow chose <none> (0/2 nodes are available.)"),
        event("c", "2026-12-07T03:00:00Z", "something else")], namespaced=True)
    assert top[:5] == ["NAMESPACE", "POD", "SHADOW", "ACTIVE NODE", "SHADOW NODE"]
    assert rows == [
        ["default", "a", "shadow", "n2", "<none>", "F 1x1: 1", "0/2 nodes are available."],
        ["default", "b", "shadow", "n1", "n2", "F 1x1: 1", "F 9x1: 9"]]
