"""``kubeactor chaos`` on Docker (issue 19, item 5): a ReplicaSet of 20 pods reaches and keeps
20 Running under 10% drop and 5% duplicates on pod and binding subjects, no pod runs two
containers, and ``kubeactor trace`` shows the plan and its faults."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter

import docker
import pytest

from actors.kubelet.runtime import CLUSTER_ID, POD_UID
from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE
from tests.integration.test_chaos import CONVERGING_SECONDS, lost_a_pod, replica_set, running
from tests.processes import UpProcess

pytestmark = pytest.mark.e2e

CHAOS = ["chaos", "--subject", "kubeactor.api.*.pods.*",
         "--subject", "kubeactor.api.*.pods/binding.*", "--drop", "0.1", "--duplicate", "0.05",
         "--for", "300s", "--seed", "19"]


def containers_by_pod(engine: docker.DockerClient, cluster: UpProcess) -> Counter[str]:
    """Running containers of this cluster, counted by pod uid."""
    cluster_id = (cluster.data_dir / "cluster-id").read_text().strip()
    return Counter(container.labels[POD_UID] for container in engine.containers.list(
        filters={"label": f"{CLUSTER_ID}={cluster_id}"}))


@pytest.mark.timeout(CONVERGING_SECONDS)
def test_a_replicaset_of_20_keeps_20_running_under_chaos_with_one_container_each(
        cluster: UpProcess, admin, docker_engine) -> None:
    tracer = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
         "trace"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said = ""
    try:
        assert tracer.stderr is not None
        assert "tracing" in tracer.stderr.readline()  # subscribed: nothing will be missed
        said = cluster.cli(*CHAOS).stdout
        assert said.startswith("faultplan.chaos.kubeactor.io/chaos-"), said
        flock = replica_set("flock", 20)
        flock["spec"]["template"]["spec"]["containers"][0].update(
            image=IMAGE, command=["sleep", "3600"])
        admin.create("replicasets", flock)
        wait_for(admin, "replicasets", "flock", lambda rs: rs.get("status", {}).get(
            "readyReplicas") == 20, timeout=240)
        assert len(running(admin, "flock")) == 20
        assert not lost_a_pod(admin, "flock", seconds=5)
        pods = admin.list("pods", "default", label_selector="app=flock")["items"]
        uids = {pod["metadata"]["uid"] for pod in pods}
        assert containers_by_pod(docker_engine, cluster) == dict.fromkeys(uids, 1)
    finally:
        tracer.send_signal(signal.SIGINT)
        live, _ = tracer.communicate(timeout=30)
        if said:
            plan = said.split()[0].partition("/")[2]
            cluster.cli("delete", "faultplans", plan, check=False)
    assert "fault-injector -> chaos" in live and "chaos start" in live
    assert " -> apiserver " in live and "chaos drop create" in live, live[-2000:]
