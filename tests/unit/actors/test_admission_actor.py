"""The external admission SDK (actors/admission_actor.py) stands on the API's vocabulary and the
bus alone: importing it loads neither the apiserver nor the store (issue 13, item 2)."""

from __future__ import annotations

import json
import subprocess
import sys

LOADED = ("import json, sys; import actors.admission_actor; "
          "print(json.dumps(sorted(m for m in sys.modules if m.startswith('actors'))))")


def test_importing_the_admission_sdk_loads_only_api_and_bus() -> None:
    done = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True,
                          timeout=60, check=True)
    loaded = json.loads(done.stdout)
    assert "actors.admission_actor" in loaded and "actors.api.admission" in loaded
    assert not [m for m in loaded if m.startswith(("actors.apiserver", "actors.store"))]
    outside_api = {m for m in loaded if m.split(".")[:2] != ["actors", "api"]}
    assert outside_api == {"actors", "actors.admission_actor"}
