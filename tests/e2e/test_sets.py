"""A DaemonSet and a StatefulSet on a real Docker engine: the daemon pod runs on the node, the
StatefulSet's pods start in order with their stable names as hostnames, and an image change
rolls through both."""

from __future__ import annotations

from actors.api.objects import Object
from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE

SLEEP = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def workload(kind: str, name: str, **spec: object) -> Object:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": labels}, **spec, "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [
                    {"name": "main", "image": IMAGE, "command": SLEEP}]}}}}


def settled(**wanted: int):
    return lambda obj: obj.get("status", {}).get("observedGeneration") == obj["metadata"][
        "generation"] and all(obj["status"].get(k) == v for k, v in wanted.items())


def test_a_daemonset_and_a_statefulset_run_and_roll_on_docker(cluster, admin):
    admin.create("daemonsets", workload("DaemonSet", "agent"))
    admin.create("statefulsets", workload("StatefulSet", "web", replicas=2, serviceName="web"))
    wait_for(admin, "daemonsets", "agent", settled(desiredNumberScheduled=1, numberReady=1))
    wait_for(admin, "statefulsets", "web", settled(readyReplicas=2))
    web0, web1 = (admin.get("pods", f"web-{i}") for i in range(2))
    started = [p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
               for p in (web0, web1)]
    assert started[0] <= started[1]
    assert cluster.cli("exec", "web-1", "--", "hostname").stdout == "web-1\n"

    for resource, name in (("daemonsets", "agent"), ("statefulsets", "web")):
        obj = admin.get(resource, name)
        obj["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "V", "value": "2"}]
        admin.update(resource, obj)
    wait_for(admin, "daemonsets", "agent", settled(updatedNumberScheduled=1, numberAvailable=1),
             timeout=90)
    rolled = wait_for(admin, "statefulsets", "web", lambda sts: settled(
        updatedReplicas=2, readyReplicas=2)(sts) and sts["status"]["currentRevision"] == sts[
        "status"]["updateRevision"], timeout=90)
    assert rolled["status"]["currentReplicas"] == 2
    assert cluster.cli("exec", "web-0", "--", "sh", "-c", "echo $V").stdout == "2\n"
    cluster.cli("delete", "daemonset", "agent")
    cluster.cli("delete", "statefulset", "web")
