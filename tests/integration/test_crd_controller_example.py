"""examples/crd_controller.py runs as a user would run it (simulated runtime: no Docker): its
PodSet CRD is served, its controller reconciles a PodSet into ready pods, scales it down, and
the garbage collector deletes the pods with their PodSet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "crd_controller.py"


def test_a_podset_is_reconciled_into_pods_scaled_and_deleted_with_them(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "NAME   DESIRED   READY",
        "web    2         2",
        "scaled to 1: 1 pod left",
        "deleted: its pods are gone",
    ]
