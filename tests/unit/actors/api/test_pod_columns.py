"""kubectl's columns of pods with sidecars (actors/api/columns.py, the rule in
actors/api/pods.py): a started sidecar counts among the containers and holds back no init."""

from __future__ import annotations

from actors.api import columns, pods
from actors.api.resources import lookup

SPEC = {"initContainers": [{"name": "setup", "image": "busybox"},
                           {"name": "proxy", "image": "busybox", "restartPolicy": "Always"}],
        "containers": [{"name": "app", "image": "busybox"}]}


def pod(inits: list[dict], apps: list[dict]) -> dict:
    return {"metadata": {"name": "web", "creationTimestamp": "2026-12-06T10:00:00Z"},
            "spec": SPEC, "status": {"phase": "Pending", "initContainerStatuses": inits,
                                     "containerStatuses": apps}}


def test_a_sidecar_is_an_init_container_that_restarts_always():
    assert pods.sidecar_names({"spec": SPEC}) == {"proxy"}
    assert pods.sidecar_names({"spec": {"initContainers": ["malformed"]}}) == set()
    assert pods.sidecar_names({"spec": None}) == set()


def test_a_started_sidecar_counts_as_ready_and_lets_the_pod_past_its_inits():
    done = {"name": "setup", "state": {"terminated": {"exitCode": 0}}}
    proxy = {"name": "proxy", "started": True, "ready": True, "state": {"running": {}}}
    app = {"name": "app", "ready": False, "state": {"waiting": {"reason": "ContainerCreating"}}}
    row = columns.of(lookup("", "pods")).cells(pod([done, proxy], [app]))
    assert row[1:3] == ["1/2", "ContainerCreating"]
    waiting = {**proxy, "started": False, "ready": False}
    assert columns.of(lookup("", "pods")).cells(pod([done, waiting], []))[1:3] == \
        ["0/2", "Init:1/2"]
