"""A whole cluster on the simulated runtime (real NATS, real store, no Docker): pods spread,
run, finish with their exit codes, fail to pull, and go away when deleted."""

from __future__ import annotations

import threading

import pytest

from bindings.runtimes.sim import EXIT_CODE, PULL_ERROR, RUN_SECONDS, START_SECONDS
from tests.conftest import pod, wait_for
from tests.processes import start_up, stop_up

pytestmark = pytest.mark.integration


def phase(name):
    return lambda obj: obj.get("status", {}).get("phase") == name


def annotated(name: str, restart: str = "Always", **annotations: str) -> dict:
    obj = pod(name, restart=restart)
    obj["metadata"]["annotations"] = annotations
    return obj


def test_pods_spread_over_simulated_nodes_and_run(sim_cluster):
    admin = sim_cluster.admin_client()
    for name in ("a", "b", "c"):
        admin.create("pods", pod(name))
    nodes = {wait_for(admin, "pods", name, phase("Running"))["spec"]["nodeName"]
             for name in ("a", "b", "c")}
    assert nodes == {"node-1", "node-2", "node-3"}


def test_simulated_containers_end_with_their_exit_codes(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create("pods", annotated("fails", "Never", **{RUN_SECONDS: "0.1", EXIT_CODE: "3"}))
    admin.create("pods", annotated("done", "OnFailure", **{RUN_SECONDS: "0.1"}))
    failed = wait_for(admin, "pods", "fails", phase("Failed"))
    assert failed["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    done = wait_for(admin, "pods", "done", phase("Succeeded"))
    assert done["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


def test_pull_errors_and_deletion_on_the_simulated_runtime(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create("pods", annotated("unpullable", **{PULL_ERROR: "yes"}))

    def pull_failed(obj):
        statuses = obj.get("status", {}).get("containerStatuses") or [{}]
        return statuses[0].get("state", {}).get("waiting", {}).get("reason") == "ErrImagePull"

    wait_for(admin, "pods", "unpullable", pull_failed)
    admin.create("pods", pod("doomed"))
    wait_for(admin, "pods", "doomed", phase("Running"))
    gone = threading.Event()
    watch = admin.watch("pods", lambda event: event.type == "DELETED" and gone.set(),
                        namespace="default", field_selector="metadata.name=doomed")
    try:
        marked = admin.delete("pods", "doomed")
        assert marked["metadata"]["deletionTimestamp"]  # bound: the kubelet must confirm
        assert gone.wait(10)
    finally:
        watch.stop()


def test_a_pull_error_belongs_to_its_pod_not_to_the_image(sim_cluster):
    admin = sim_cluster.admin_client()
    failing = annotated("bad-pull", **{PULL_ERROR: "yes"})
    healthy = pod("good-pull")
    for obj in (failing, healthy):
        obj["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "node-1"}
        admin.create("pods", obj)
    assert wait_for(admin, "pods", "good-pull", phase("Running"))["spec"]["nodeName"] == "node-1"


def test_node_offers_what_the_flags_say_with_kubelet_labels_and_conditions(tmp_path, admin_for):
    up = start_up(tmp_path / "flags", "--runtime", "sim", "--node-cpu", "3",
                  "--node-memory", "5Gi", "--max-pods", "7")
    try:
        node = admin_for(up).get("nodes", "node-1", None)
    finally:
        stop_up(up)
    assert node["status"]["capacity"] == {"cpu": "3", "memory": "5Gi", "pods": "7"}
    assert node["status"]["allocatable"] == node["status"]["capacity"]
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "node-1"
    assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"]
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions == {"MemoryPressure": "False", "DiskPressure": "False",
                          "PIDPressure": "False", "Ready": "True"}


def test_a_simulated_start_delay_shows_container_creating_then_running(sim_cluster):
    admin = sim_cluster.admin_client()
    admin.create("pods", annotated("slow", **{START_SECONDS: "1"}))

    def creating(obj):
        statuses = obj.get("status", {}).get("containerStatuses") or [{}]
        waiting = statuses[0].get("state", {}).get("waiting", {})
        return waiting.get("reason") == "ContainerCreating" and "containerID" in statuses[0]

    wait_for(admin, "pods", "slow", creating)  # created, not yet running
    wait_for(admin, "pods", "slow", phase("Running"))
