"""examples/custom_scheduler.py runs as a user would run it (simulated runtime: no Docker)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_scheduler.py"


def test_pods_naming_my_scheduler_go_through_its_own_plugin(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "fast-1: my-scheduler put it on node-3 (PreferLabel scored it)",
        "fast-2: my-scheduler put it on node-3 (PreferLabel scored it)",
        "fast-3: my-scheduler put it on node-3 (PreferLabel scored it)",
        "plain-1: default-scheduler put it on node-1",
    ]
