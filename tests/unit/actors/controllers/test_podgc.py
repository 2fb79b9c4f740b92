"""Pod GC of orphans' status write (actors/controllers/podgc.py)."""

from __future__ import annotations

from actors.controllers.podgc import orphan_failed


def test_an_orphan_that_has_not_ended_is_failed_as_a_disruption_target():
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}]}}
    failed = orphan_failed(pod)
    assert failed is not None and failed["status"]["phase"] == "Failed"
    target = failed["status"]["conditions"][1]
    assert (target["type"], target["status"], target["reason"], target["message"]) == (
        "DisruptionTarget", "True", "DeletionByPodGC", "PodGC: node no longer exists")
    assert pod["status"]["phase"] == "Running" and len(pod["status"]["conditions"]) == 1


def test_an_orphan_that_ended_keeps_its_status():
    assert orphan_failed({"metadata": {"name": "p"}, "status": {"phase": "Succeeded"}}) is None
