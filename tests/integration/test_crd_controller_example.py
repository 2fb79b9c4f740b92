"""examples/crd_controller.py, its ``main`` run in this process (simulated runtime: no
Docker): its PodSet CRD is served, its controller reconciles a PodSet into ready pods and
scales it down, and the garbage collector deletes the pods with their PodSet."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "crd_controller.py"


def test_a_podset_is_reconciled_into_pods_scaled_and_deleted_with_them(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("crd_controller", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main(tmp_path)
    assert capsys.readouterr().out.splitlines() == [
        "NAME   DESIRED   READY",
        "web    2         2",
        "scaled to 1: 1 pod left",
        "deleted: its pods are gone",
    ]
