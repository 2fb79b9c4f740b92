"""Real kubectl against ``kubeactor up --runtime sim`` through the HTTPS API: ``get``'s tables
(the Table form, kubectl's columns), ``logs``, ``auth whoami`` and ``auth can-i``, and ``exec``
over WebSocket, with kubectl's own words and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kubernetes import client as kube_client
from kubernetes import config as kube_config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream as kube_stream

from tests.processes import UpProcess
from tests.support import until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(cluster: UpProcess) -> str:
    """A running pod (whose env has GREETING) and a Deployment of two replicas."""
    run = cluster.kubectl("run", "demo", "--image", "busybox:1.35", "--env", "GREETING=hello",
                          "--", "sleep", "3600")
    assert run.returncode == 0, run.stderr
    assert cluster.kubectl("apply", "-f", "-", stdin=DEPLOYMENT).returncode == 0
    until(lambda: _cells(cluster, "pods", "demo")[2] == "Running", timeout=30, interval=0.2)
    until(lambda: _cells(cluster, "deployments", "web")[1] == "2/2", timeout=30, interval=0.2)
    return "demo"


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "busybox:1.35", command: [sleep, "3600"]}]}
"""


def _cells(cluster: UpProcess, *args: str) -> list[str]:
    shown = cluster.kubectl("get", *args, "--no-headers")
    return shown.stdout.split() if shown.returncode == 0 else []


def _header(cluster: UpProcess, *args: str) -> list[str]:
    shown = cluster.kubectl("get", *args)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.splitlines()[0].split()


def test_get_prints_kubectls_columns_for_pods_nodes_and_deployments(cluster, demo):
    assert _header(cluster, "pods") == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert _cells(cluster, "pods", demo)[:4] == ["demo", "1/1", "Running", "0"]
    assert _header(cluster, "nodes") == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert _cells(cluster, "nodes", "node-1")[:3] == ["node-1", "Ready", "<none>"]
    assert _header(cluster, "deploy") == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert _cells(cluster, "deploy", "web")[:4] == ["web", "2/2", "2", "2"]


def test_get_wide_all_namespaces_and_labels_read_the_tables_rows(cluster, demo):
    wide = cluster.kubectl("get", "pods", demo, "-o", "wide")
    assert wide.stdout.splitlines()[0].split() == [
        "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
        "READINESS", "GATES"]
    assert wide.stdout.splitlines()[1].split()[-3:] in (
        ["node-1", "<none>", "<none>"], ["node-2", "<none>", "<none>"])
    assert _header(cluster, "deploy", "-o", "wide")[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert _cells(cluster, "deploy", "web", "-o", "wide")[5:] == ["web", "busybox:1.35",
                                                                  "app=web"]
    labelled = cluster.kubectl("get", "pods", "-A", "--show-labels", "-l", "run=demo")
    assert [line.split() for line in labelled.stdout.splitlines()][1][::6] == [
        "default", "run=demo"]
    assert cluster.kubectl("get", "pods", "-l", "app=web", "--sort-by=.metadata.name",
                           "-o", "name").stdout.count("pod/web-") == 2


def test_kubeactors_own_cli_prints_the_same_table(cluster, demo):
    ours = cluster.cli("get", "deployments", "web").stdout.splitlines()
    theirs = cluster.kubectl("get", "deployments", "web").stdout.splitlines()
    assert [line.split()[:4] for line in ours] == [line.split()[:4] for line in theirs]


def test_logs_are_plain_text_with_every_option_kubectl_sends(cluster, demo):
    """A simulated container prints nothing: the log is empty, not ``""`` in JSON quotes."""
    for args in ((), ("--tail", "5"), ("-c", "demo"), ("-f",)):
        shown = cluster.kubectl("logs", demo, *args)
        assert (shown.returncode, shown.stdout, shown.stderr) == (0, "", ""), args
    previous = cluster.kubectl("logs", demo, "--previous")  # it never restarted
    assert (previous.returncode, previous.stderr) == (
        1, 'Error from server (BadRequest): previous terminated container "demo" in pod "demo" '
           'not found\n')
    for args in (("--timestamps",), ("--since", "10s"), ("--limit-bytes", "3"),
                 ("--since-time", "2026-12-06T22:00:00Z")):
        shown = cluster.kubectl("logs", demo, *args)
        assert (shown.returncode, shown.stdout, shown.stderr) == (0, "", ""), args
    slow = cluster.kubectl("run", "slow", "--image", "busybox:1.35", "--annotations",
                           "sim.kubeactor.io/start-seconds=600", "--", "sleep", "3600")
    assert slow.returncode == 0, slow.stderr
    until(lambda: _cells(cluster, "pods", "slow")[2:3] == ["ContainerCreating"], timeout=30,
          interval=0.2)
    waiting = cluster.kubectl("logs", "slow")  # the kubelet's words for what it waits for
    assert (waiting.returncode, waiting.stderr) == (1, (
        'Error from server (BadRequest): container "slow" in pod "slow" is waiting to start: '
        'ContainerCreating\n'))
    assert cluster.kubectl("delete", "pod", "slow", "--wait=false").returncode == 0
    wrong = cluster.kubectl("logs", demo, "-c", "nope")
    assert (wrong.returncode, wrong.stderr) == (
        1, "error: container nope is not valid for pod demo out of: demo\n")


def test_auth_whoami_names_the_user_of_the_certificate_or_the_impersonated_one(cluster):
    admin = cluster.kubectl("auth", "whoami")
    assert admin.returncode == 0, admin.stderr
    assert admin.stdout.splitlines() == [
        "ATTRIBUTE   VALUE", "Username    admin",
        "Groups      [system:masters system:authenticated]"]
    nobody = cluster.kubectl("auth", "whoami", "--as", "nobody", "-o", "jsonpath={.status}")
    assert nobody.stdout == '{"userInfo":{"groups":["system:authenticated"],"username":"nobody"}}'


def test_auth_can_i_answers_yes_or_no_with_kubectls_exit_codes(cluster):
    assert cluster.kubectl("auth", "can-i", "get", "pods").stdout == "yes\n"
    denied = cluster.kubectl("auth", "can-i", "create", "pods/exec", "--as", "nobody")
    assert (denied.returncode, denied.stdout) == (1, "no\n")
    reader = cluster.kubectl("auth", "can-i", "create", "selfsubjectreviews.authentication.k8s.io",
                             "--as", "nobody", "--as-group", "system:authenticated")
    assert (reader.returncode, reader.stdout) == (0, "yes\n")


def test_exec_over_websocket_prints_the_output_and_exits_with_the_commands_code(cluster, demo):
    said = cluster.kubectl("exec", demo, "--", "printenv", "GREETING")
    assert (said.returncode, said.stdout, said.stderr) == (0, "hello\n", "")
    missing = cluster.kubectl("exec", demo, "-c", "demo", "--", "cat", "/nope")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == ("cat: can't open '/nope': No such file or directory\n"
                              "command terminated with exit code 1\n")
    unset = cluster.kubectl("exec", demo, "--", "printenv", "UNSET")
    assert (unset.returncode, unset.stderr) == (1, "command terminated with exit code 1\n")


def test_exec_is_authorized_as_create_pods_exec_for_the_caller(cluster, demo):
    applied = cluster.kubectl("apply", "-f", "-", stdin=READER)
    assert applied.returncode == 0, applied.stderr
    refused = cluster.kubectl("exec", demo, "--as", "reader", "--", "printenv", "GREETING")
    assert (refused.returncode, refused.stdout) == (1, "")
    # refused before the upgrade (WebSocket, then kubectl's SPDY fallback), as kube-apiserver
    # refuses it: kubectl's words for a refused upgrade
    assert refused.stderr == ('error: unable to upgrade connection: pods "demo" is forbidden: '
                              'User "reader" cannot create resource "pods/exec" in API group "" '
                              'in the namespace "default"\n')
    logs = cluster.kubectl("logs", demo, "--as", "reader")
    assert logs.returncode == 1 and 'cannot get resource "pods/log"' in logs.stderr


def test_exec_with_input_streams_stdin_to_the_command_and_its_output_back(cluster, demo):
    echoed = cluster.kubectl("exec", "-i", demo, "--", "cat", stdin="line one\nline two\n")
    assert (echoed.returncode, echoed.stdout, echoed.stderr) == (
        0, "line one\nline two\n", "")
    big = "".join(f"{n:07d}\n" for n in range(40_000))  # 320 KB: many pieces, acknowledged
    assert cluster.kubectl("exec", "-i", demo, "--", "cat", stdin=big).stdout == big


def test_kubeactors_own_exec_i_streams_stdin_over_the_same_bus_stream(cluster, demo):
    echoed = subprocess.run(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig), "exec",
         "-i", demo, "--", "cat"], input=b"\x00binary\xff\n" * 5000, capture_output=True,
        timeout=120)
    assert echoed.stderr == b"", echoed.stderr.decode()
    assert (echoed.returncode, echoed.stdout, echoed.stderr) == (
        0, b"\x00binary\xff\n" * 5000, b"")
    failed = cluster.cli("exec", "-i", demo, "--", "sh", "-c", "exit 5", check=False)
    assert (failed.returncode, failed.stderr) == (5, "command terminated with exit code 5\n")
    refused = cluster.cli("exec", "-i", "nope", "--", "cat", check=False)
    assert refused.returncode == 1 and 'pods "nope" not found' in refused.stderr


def test_exec_exits_with_the_code_of_the_command_run_with_input(cluster, demo):
    failed = cluster.kubectl("exec", "-i", demo, "--", "sh", "-c", "exit 7", stdin="ignored")
    assert (failed.returncode, failed.stderr) == (7, "command terminated with exit code 7\n")


READER = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: User, name: reader, apiGroup: rbac.authorization.k8s.io}]
"""



def test_the_python_clients_exec_into_a_missing_pod_is_refused_before_the_upgrade(cluster):
    """kube-apiserver looks the pod up before it upgrades the connection: the official
    client's ``stream`` raises (404 on the handshake), not an empty output."""
    with kube_config.new_client_from_config(str(cluster.kubeconfig)) as api_client:
        core = kube_client.CoreV1Api(api_client)
        with pytest.raises(ApiException, match="404"):
            kube_stream(core.connect_get_namespaced_pod_exec, "no-such-pod", "default",
                        command=["ls"], stderr=True, stdin=False, stdout=True, tty=False)


@pytest.mark.parametrize("upgrade", [True, False], ids=["websocket", "spdy-fallback"])
def test_an_exec_refused_before_the_upgrade_tells_no_pod_apart_from_another(cluster, demo,
                                                                             upgrade):
    """A caller who may not exec (a service account's token) is refused 403 before the pod is
    looked up, as kube-apiserver refuses it: the answer before the upgrade (and the dry run
    that answers kubectl's SPDY fallback) is no oracle of which pods exist, here or in
    another namespace."""
    if cluster.kubectl("get", "serviceaccount", "nobody").returncode != 0:
        assert cluster.kubectl("create", "serviceaccount", "nobody").returncode == 0
    token = cluster.kubectl("create", "token", "nobody")
    assert token.returncode == 0, token.stderr
    admin = kube_client.Configuration()
    kube_config.load_kube_config(str(cluster.kubeconfig), client_configuration=admin)
    configuration = kube_client.Configuration(host=admin.host)  # the token alone
    configuration.ssl_ca_cert = admin.ssl_ca_cert
    configuration.api_key = {"authorization": f"Bearer {token.stdout.strip()}"}
    with kube_client.ApiClient(configuration) as api_client:
        core = kube_client.CoreV1Api(api_client)
        seen = []
        for pod, namespace in ((demo, "default"), ("no-such-pod", "default"),
                               ("no-such-pod", "kube-system"), (demo, "no-such-namespace")):
            with pytest.raises(ApiException) as refused:
                if upgrade:
                    kube_stream(core.connect_get_namespaced_pod_exec, pod, namespace,
                                command=["true"], stderr=True, stdin=False, stdout=True,
                                tty=False)
                else:  # a plain POST, as kubectl's SPDY fallback comes
                    core.connect_post_namespaced_pod_exec(pod, namespace, command=["true"])
            seen.append(_answered(refused.value))
    user = "system:serviceaccount:default:nobody"
    assert seen == [(403, f'pods "{pod}" is forbidden: User "{user}" cannot create resource '
                          f'"pods/exec" in API group "" in the namespace "{namespace}"')
                    for pod, namespace in ((demo, "default"), ("no-such-pod", "default"),
                                           ("no-such-pod", "kube-system"),
                                           (demo, "no-such-namespace"))]


def _answered(refused: ApiException) -> tuple[int, str]:
    """The code and message of a refusal: a plain answer's, or the WebSocket handshake's (the
    client gives its status, headers and body as one text: ``Handshake status ... -+-+- ...``)."""
    if refused.body is not None:
        return refused.status, json.loads(refused.body)["message"]
    status, _, body = str(refused.reason).split(" -+-+- ")
    return int(status.split()[2]), json.loads(body)["message"]
