"""kubectl's verbs against a real cluster, compared with the shape of kubectl's output."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE
from tests.processes import UpProcess

pytestmark = pytest.mark.e2e

MANIFESTS = Path(__file__).resolve().parents[2] / "examples" / "manifests"


def running(pod):
    return pod.get("status", {}).get("phase") == "Running"


def test_apply_creates_then_leaves_unchanged_then_configures(cluster: UpProcess, admin):
    manifest = str(MANIFESTS / "pod.yaml")
    assert cluster.cli("apply", "-f", manifest).stdout == (
        "pod/hello created\nconfigmap/hello-settings created\n")
    wait_for(admin, "pods", "hello", running)
    assert cluster.cli("apply", "-f", manifest).stdout == (
        "pod/hello unchanged\nconfigmap/hello-settings unchanged\n")
    changed = (MANIFESTS / "pod.yaml").read_text().replace("greeting: hello", "greeting: hi")
    applied = subprocess.run(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
         "apply", "-f", "-"], input=changed, capture_output=True, text=True, timeout=60)
    assert applied.stdout == "pod/hello unchanged\nconfigmap/hello-settings configured\n"
    assert admin.get("configmaps", "hello-settings")["data"] == {"greeting": "hi"}
    cluster.cli("delete", "pod", "hello", "--grace-period", "0")
    cluster.cli("delete", "configmap", "hello-settings")


def test_create_reads_directories_and_multi_document_files_and_reports_duplicates(
    cluster, tmp_path
):
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: second}\n")
    (tmp_path / "b.json").write_text(
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "third"}}')
    (tmp_path / "notes.txt").write_text("not a manifest")
    assert cluster.cli("create", "-f", str(tmp_path)).stdout == (
        "configmap/first created\nconfigmap/second created\nconfigmap/third created\n")
    again = cluster.cli("create", "-f", str(tmp_path / "b.json"), check=False)
    assert again.returncode == 1
    assert again.stderr == ('Error from server (AlreadyExists): configmaps "third" already '
                            "exists\n")
    names = cluster.cli("get", "configmaps", "-o", "name").stdout.split()
    assert {"configmap/first", "configmap/second", "configmap/third"} <= set(names)


def test_get_watch_streams_a_row_per_change(cluster, admin):
    watcher = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
         "get", "pods", "-w", "-l", "run=watched"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watcher.stderr is not None and watcher.stdout is not None
        assert watcher.stderr.readline() == "No resources found in default namespace.\n"
        cluster.cli("run", "watched", "--image", IMAGE, "--", "sleep", "3600")
        first = watcher.stdout.readline().split()
        assert first[:3] == ["watched", "0/1", "Pending"]
        wait_for(admin, "pods", "watched", running)
        rows = []
        while not rows or rows[-1][2] != "Running":
            rows.append(watcher.stdout.readline().split())
        assert rows[-1][:3] == ["watched", "1/1", "Running"]
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.communicate(timeout=30)
    assert watcher.returncode == 0
    cluster.cli("delete", "pod", "watched", "--grace-period", "0")


def test_describe_get_events_and_show_labels(cluster, admin):
    cluster.cli("run", "described", "--image", IMAGE, "-l", "tier=demo", "--", "sleep", "3600")
    wait_for(admin, "pods", "described", running)
    labels = cluster.cli("get", "pods", "described", "--show-labels").stdout.splitlines()
    assert labels[0].split()[-1] == "LABELS" and labels[1].split()[-1] == "tier=demo"

    text = cluster.cli("describe", "pod", "described").stdout
    assert "Name:             described" in text and "Node:             node-1" in text
    assert "    State:          Running" in text
    events = text[text.index("Events:"):].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert any(line.split()[:2] == ["Normal", "Scheduled"] for line in events[3:])

    table = cluster.cli("get", "events").stdout.splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("Scheduled" in row and "pod/described" in row for row in table[1:])

    node = cluster.cli("describe", "node", "node-1").stdout
    assert "Non-terminated Pods:" in node and "default/described" in node
    cluster.cli("delete", "pod", "described", "--grace-period", "0")


def test_api_resources_and_config_view(cluster):
    rows = [line.split() for line in cluster.cli("api-resources").stdout.splitlines()]
    assert rows[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["pods", "po", "v1", "true", "Pod"] in rows
    view = cluster.cli("config", "view").stdout
    assert "token: REDACTED" in view and "current-context: kubeactor" in view
    assert "client-certificate-data: DATA+OMITTED" in view
    assert "client-key-data: DATA+OMITTED" in view and "BEGIN" not in view
    assert "natsUser: admin" in view and "natsPassword: REDACTED" in view


def test_logs_and_exec_go_through_the_apiserver_to_the_kubelet(cluster, admin):
    cluster.cli("run", "talker", "--image", IMAGE, "--restart", "Never", "--",
                "sh", "-c", "echo one; echo two >&2; echo three")
    wait_for(admin, "pods", "talker", lambda pod: pod["status"].get("phase") == "Succeeded")
    # stdout and stderr both, each stream in order (Docker does not order across streams)
    assert sorted(cluster.cli("logs", "talker").stdout.splitlines()) == ["one", "three", "two"]
    assert cluster.cli("logs", "pod/talker", "--tail", "1").stdout.strip() in ("two", "three")
    wrong = cluster.cli("logs", "talker", "-c", "nope", check=False)
    assert wrong.stderr == ("Error from server (BadRequest): container nope is not valid for "
                            "pod talker\n")

    cluster.cli("run", "shell", "--image", IMAGE, "--", "sleep", "3600")
    wait_for(admin, "pods", "shell", running)
    done = cluster.cli("exec", "shell", "--", "sh", "-c", "echo out; echo err >&2; exit 4",
                       check=False)
    assert (done.returncode, done.stdout) == (4, "out\n")
    assert done.stderr == "err\ncommand terminated with exit code 4\n"
    cluster.cli("delete", "pod", "talker", "shell", "--grace-period", "0")


def test_delete_by_selector_and_by_manifest(cluster, tmp_path):
    for name, tier in (("keep", "db"), ("drop-a", "web"), ("drop-b", "web")):
        (tmp_path / f"{name}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
            f"  labels: {{tier: {tier}}}\n")
    cluster.cli("create", "-f", str(tmp_path))
    assert cluster.cli("delete", "configmaps", "-l", "tier=web").stdout == (
        'configmap "drop-a" deleted\nconfigmap "drop-b" deleted\n')
    assert cluster.cli("delete", "-f", str(tmp_path / "keep.yaml")).stdout == (
        'configmap "keep" deleted\n')
    assert cluster.cli("get", "configmaps", "-l", "tier").stderr == (
        "No resources found in default namespace.\n")


def test_apply_reports_bad_objects_and_goes_on(cluster, tmp_path):
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        "apiVersion: apps/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
        "kind: ConfigMap\nmetadata: {name: no-version}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: kube-public}\n")
    result = cluster.cli("apply", "-f", str(mixed), check=False)
    assert result.returncode == 1
    assert result.stdout == "configmap/fine created\n"
    assert result.stderr.splitlines() == [
        'error: resource mapping not found for kind "Widget" in version "apps/v1": ensure '
        f'CRDs are installed first (in "{mixed}")',
        f'error: error validating data: apiVersion not set (ConfigMap) (in "{mixed}")']
    clash = cluster.cli("apply", "-f", str(mixed), "-n", "default", check=False)
    assert 'the namespace from the provided object "kube-public" does not match' in clash.stderr
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    empty = cluster.cli("apply", "-f", str(tmp_path / "empty.yaml"), check=False)
    assert (empty.returncode, empty.stderr) == (1, "error: no objects passed to apply\n")


def test_describe_goes_on_past_a_missing_name_and_get_watches_one_object(cluster, admin):
    cluster.cli("run", "solo", "--image", IMAGE, "--", "sleep", "3600")
    wait_for(admin, "pods", "solo", running)
    described = cluster.cli("describe", "pods", "solo", "ghost", check=False)
    assert described.returncode == 1
    assert described.stdout.startswith("Name:             solo\n")
    assert described.stderr == 'Error from server (NotFound): pods "ghost" not found\n'
    watcher = subprocess.Popen(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig),
         "get", "pod/solo", "-w"], stdout=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().split()[0] == "NAME"
        assert watcher.stdout.readline().split()[:3] == ["solo", "1/1", "Running"]
        cluster.cli("delete", "pod", "solo", "--grace-period", "0")
        assert watcher.stdout.readline().split()[0] == "solo"  # it keeps watching
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.communicate(timeout=30)


def test_get_several_types_all_jsonpath_and_custom_columns(cluster, admin):
    admin.create("namespaces", {"metadata": {"name": "shapes"}})
    admin.create("configmaps", {"metadata": {"name": "colors"}, "data": {"a": "1", "b": "2"}},
                 "shapes")
    cluster.cli("-n", "shapes", "run", "square", "--image", IMAGE, "--", "sleep", "3600")

    tables = cluster.cli("get", "pods,cm", "-n", "shapes").stdout.split("\n\n")
    assert [line.split()[:2] for line in tables[0].splitlines()] == [
        ["NAME", "READY"], ["pod/square", tables[0].splitlines()[1].split()[1]]]
    assert [line.split() for line in tables[1].splitlines()][1][:2] == ["configmap/colors", "2"]
    assert cluster.cli("get", "all", "-n", "shapes", "-o", "name").stdout == "pod/square\n"
    assert cluster.cli("get", "pod/square", "configmap/colors", "-n", "shapes",
                       "-o", "name").stdout == "pod/square\nconfigmap/colors\n"

    image = cluster.cli("get", "pod", "square", "-n", "shapes", "-o",
                        "jsonpath={.spec.containers[0].image}").stdout
    assert image == IMAGE
    names = cluster.cli("get", "pods,configmaps", "-n", "shapes", "-o",
                        'jsonpath={range .items[*]}{.kind}/{.metadata.name}{"\\n"}{end}').stdout
    # every namespace also holds the cluster CA's ConfigMap, as in Kubernetes
    assert names == "Pod/square\nConfigMap/colors\nConfigMap/kube-root-ca.crt\n"
    columns = cluster.cli("get", "cm", "-n", "shapes", "-o",
                          "custom-columns=NAME:.metadata.name,A:.data.a").stdout
    assert columns.splitlines() == ["NAME               A", "colors             1",
                                    "kube-root-ca.crt   <none>"]

    wrong = cluster.cli("get", "pods", "-o", "jsonpath", check=False)
    assert (wrong.returncode, wrong.stderr) == (
        1, "error: jsonpath format specified but no jsonpath template given\n")
    assert cluster.cli("get", "pods,cm", "-w", check=False).stderr == (
        "error: you may only specify a single resource type\n")
    cluster.cli("delete", "pod", "square", "-n", "shapes", "--grace-period", "0")
