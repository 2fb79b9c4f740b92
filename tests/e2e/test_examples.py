"""Every example runs as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs_a_pod_to_completion(tmp_path, docker_engine):
    result = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pod hello on node-1: Succeeded\n"
