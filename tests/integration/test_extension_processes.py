"""Extensions as processes of their own, with certificate identities, joining a cluster run by
``kubeactor up`` (simulated nodes): ``kubeactor scheduler --plugin module:Class --weight
Name=N`` places pods as its plugin says, and ``kubeactor admission --actor module:Class --name
N`` (with a kubeconfig from ``kubeactor certs issue``) denies and patches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bus.errors import BadRequest
from tests.conftest import pod, wait_for
from tests.processes import UpProcess, start_joining, start_up, stop_up

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def sim_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHONPATH", str(EXAMPLES))  # where the plugin and the actor live
    up = start_up(tmp_path / "up", "--nodes", "3", "--runtime", "sim")
    yield up
    assert stop_up(up) == 0


def stopped(process: UpProcess) -> None:
    if process.process.poll() is None:
        assert stop_up(process) == 0


def test_a_scheduler_process_places_pods_as_its_plugin_says(sim_up: UpProcess,
                                                            admin_for) -> None:
    admin = admin_for(sim_up)
    fast = admin.get("nodes", "node-2", None)
    fast["metadata"].setdefault("labels", {})["example.kubeactor.io/disk"] = "fast"
    admin.update("nodes", fast)
    scheduler = start_joining(sim_up, "scheduler", "--scheduler-name", "my-scheduler",
                              "--plugin", "custom_scheduler:PreferLabel",
                              "--weight", "PreferLabel=10")
    try:
        for name in ("fast-1", "fast-2"):
            obj = pod(name)
            obj["spec"]["schedulerName"] = "my-scheduler"
            admin.create("pods", obj)
        for name in ("fast-1", "fast-2"):
            bound = wait_for(admin, "pods", name, lambda p: bool(p["spec"].get("nodeName")))
            assert bound["spec"]["nodeName"] == "node-2"
    finally:
        stopped(scheduler)


def test_a_scheduler_process_refuses_a_weight_for_no_plugin(sim_up: UpProcess) -> None:
    result = sim_up.cli("scheduler", "--kubeconfig", str(sim_up.data_dir / "scheduler.kubeconfig"),
                        "--plugin", "custom_scheduler:PreferLabel", "--weight", "Prefer=10",
                        check=False)
    assert result.returncode == 1
    assert 'error: a weight for plugin "Prefer", which is not in the profile' in result.stderr


def test_an_admission_process_with_its_own_certificate_denies_and_patches(sim_up: UpProcess,
                                                                          admin_for) -> None:
    sim_up.cli("certs", "issue", "--user", "image-policy", "--kubeconfig-out",
               str(sim_up.data_dir / "admission.kubeconfig"))
    actor = start_joining(sim_up, "admission", "--actor", "custom_admission:ImagePolicy",
                          "--name", "images")
    try:
        admin = admin_for(sim_up)
        admin.create("admissionregistrations", {"metadata": {"name": "image-policy"}, "spec": {
            "subject": "image-policy.images", "operations": ["CREATE"], "resources": ["pods"],
            "timeoutSeconds": 5, "failurePolicy": "Fail", "mutating": True}}, None)
        bad = pod("untrusted")
        bad["spec"]["containers"][0]["image"] = "evil.example.org/miner:1"
        with pytest.raises(BadRequest, match=re.escape(
                'admission webhook "image-policy" denied the request: image '
                "evil.example.org/miner:1")):
            admin.create("pods", bad)
        assert admin.create("pods", pod("trusted"))["metadata"]["labels"] == {
            "image-policy": "checked"}
    finally:
        stopped(actor)
