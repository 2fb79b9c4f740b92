"""Real kubectl against ``kubeactor up --runtime sim`` with the Kubernetes documentation's own
example manifests (copied unchanged into ``manifests/``, each naming its docs path), stepped
through as the docs' tasks do: what kubectl prints and what the cluster does must be what the
docs say a Kubernetes cluster prints and does."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from tests.processes import KUBECTL

pytestmark = pytest.mark.integration

PODS = Path(__file__).parent / "manifests" / "pods"
APPLICATION = Path(__file__).parent / "manifests" / "application"
CONTROLLERS = Path(__file__).parent / "manifests" / "controllers"


def _kubectl(cluster, *args: str, stdin: str | None = None) -> str:
    result = cluster.kubectl(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_gated_pod_waits_for_its_gates_and_runs_once_they_are_removed(cluster):
    """concepts/scheduling-eviction/pod-scheduling-readiness: the pod stays SchedulingGated
    (no node) while it has gates; gates may be removed but not added; re-applying the
    manifest without them lets the scheduler place it."""
    gated = str(PODS / "pod-with-scheduling-gates.yaml")
    assert _kubectl(cluster, "apply", "-f", gated) == "pod/test-pod created\n"
    row = _kubectl(cluster, "get", "pod", "test-pod").splitlines()[1].split()
    assert row[:3] == ["test-pod", "0/1", "SchedulingGated"]
    assert json.loads(_kubectl(cluster, "get", "pod", "test-pod", "-o",
                               "jsonpath={.spec.schedulingGates}")) == [
        {"name": "example.com/foo"}, {"name": "example.com/bar"}]
    scheduled = json.loads(_kubectl(
        cluster, "get", "pod", "test-pod", "-o",
        'jsonpath={.status.conditions[?(@.type=="PodScheduled")]}'))
    assert (scheduled["status"], scheduled["reason"], scheduled["message"]) == (
        "False", "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates")
    added = cluster.kubectl("patch", "pod", "test-pod", "--type=json", "-p",
                            '[{"op": "add", "path": "/spec/schedulingGates/-", '
                            '"value": {"name": "example.com/baz"}}]')
    assert added.returncode == 1
    assert added.stderr == (
        'The Pod "test-pod" is invalid: spec.schedulingGates[2].name: Forbidden: only '
        "deletion is allowed, but found new scheduling gate 'example.com/baz'\n")
    assert _kubectl(cluster, "get", "pod", "test-pod", "-o", "jsonpath={.spec.nodeName}") == ""

    ungated = str(PODS / "pod-without-scheduling-gates.yaml")
    assert _kubectl(cluster, "apply", "-f", ungated) == "pod/test-pod configured\n"
    _kubectl(cluster, "wait", "--for=condition=Ready", "pod/test-pod", "--timeout=60s")
    row = _kubectl(cluster, "get", "pod", "test-pod", "-o", "wide").splitlines()[1].split()
    assert row[:3] == ["test-pod", "1/1", "Running"]
    assert row[6].startswith("node-")


def test_a_pod_bound_and_gated_at_once_is_refused(cluster):
    pod = ('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bound-gated"}, "spec": '
           '{"nodeName": "node-1", "schedulingGates": [{"name": "a"}, {"name": "a"}], '
           '"containers": [{"name": "c", "image": "busybox:1.35"}]}}')
    refused = cluster.kubectl("create", "-f", "-", stdin=pod)
    assert refused.returncode == 1
    assert refused.stderr == (
        'The Pod "bound-gated" is invalid: \n'
        '* spec.schedulingGates[1].name: Duplicate value: "a"\n'
        "* spec.nodeName: Forbidden: cannot be set until all schedulingGates have been "
        "cleared\n")


def test_the_docs_deployment_and_its_pods_read_back_with_kube_apiservers_defaults(cluster):
    """concepts/workloads/controllers/deployment: ``get -o yaml`` of the docs' Deployment and
    of its pods shows the fields kube-apiserver defaults (SetDefaults_PodSpec,
    SetDefaults_Container, SetDefaults_Pod), not only those sent."""
    manifest = str(Path(__file__).parent / "manifests" / "nginx-deployment.yaml")
    _kubectl(cluster, "apply", "-f", manifest)
    template = json.loads(_kubectl(cluster, "get", "deployment", "nginx-deployment", "-o",
                                   "jsonpath={.spec.template.spec}"))
    assert (template["dnsPolicy"], template["securityContext"]) == ("ClusterFirst", {})
    assert "enableServiceLinks" not in template  # a pod's default, not a template's
    container = template["containers"][0]
    assert (container["terminationMessagePath"], container["terminationMessagePolicy"]) == (
        "/dev/termination-log", "File")
    _kubectl(cluster, "wait", "--for=condition=Available", "deployment/nginx-deployment",
             "--timeout=60s")
    pod = json.loads(_kubectl(cluster, "get", "pods", "-l", "app=nginx", "-o",
                              "jsonpath={.items[0].spec}"))
    assert (pod["dnsPolicy"], pod["enableServiceLinks"], pod["securityContext"]) == (
        "ClusterFirst", True, {})
    assert pod["containers"][0]["terminationMessagePolicy"] == "File"
    assert container["resources"] == pod["containers"][0]["resources"] == {}


def _wait(cluster, *args: str) -> None:
    _kubectl(cluster, "wait", *args, "--timeout=50s")


def test_a_pod_with_required_pod_affinity_waits_for_a_pod_in_its_zone(cluster):
    """concepts/scheduling-eviction/assign-pod-node: the docs' pod must run in a zone where a
    ``security=S1`` pod runs; none does, so it stays Pending saying why, and runs in that
    pod's zone once there is one."""
    _kubectl(cluster, "label", "node", "node-1", "topology.kubernetes.io/zone=east")
    _kubectl(cluster, "label", "node", "node-2", "topology.kubernetes.io/zone=west")
    _kubectl(cluster, "apply", "-f", str(PODS / "pod-with-pod-affinity.yaml"))
    _wait(cluster, "--for=jsonpath={.status.conditions[0].reason}=Unschedulable",
          "pod/with-pod-affinity")
    message = _kubectl(cluster, "get", "pod", "with-pod-affinity", "-o",
                       "jsonpath={.status.conditions[0].message}")
    assert message.startswith(
        "0/2 nodes are available: 2 node(s) didn't match pod affinity rules.")
    s1 = ('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "s1", "labels": '
          '{"security": "S1"}}, "spec": {"nodeSelector": {"topology.kubernetes.io/zone": '
          '"west"}, "containers": [{"name": "c", "image": "busybox:1.35"}]}}')
    assert cluster.kubectl("create", "-f", "-", stdin=s1).returncode == 0
    _wait(cluster, "--for=condition=Ready", "pod/with-pod-affinity")
    assert _kubectl(cluster, "get", "pod", "with-pod-affinity", "-o",
                    "jsonpath={.spec.nodeName}") == "node-2"


def test_the_docs_redis_cache_puts_one_replica_per_node(cluster):
    """concepts/scheduling-eviction/assign-pod-node: required anti-affinity on
    ``kubernetes.io/hostname`` keeps a third replica off two nodes."""
    _kubectl(cluster, "apply", "-f",
             str(Path(__file__).parent / "manifests" / "redis-cache.yaml"))
    _wait(cluster, "--for=jsonpath={.status.readyReplicas}=2", "deployment/redis-cache")
    pods = json.loads(_kubectl(cluster, "get", "pods", "-l", "app=store", "-o", "json"))
    nodes = sorted(p["spec"].get("nodeName", "") for p in pods["items"])
    assert nodes == ["", "node-1", "node-2"]
    pending = next(p for p in pods["items"] if not p["spec"].get("nodeName"))
    assert pending["status"]["conditions"][0]["message"].startswith(
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.")


def test_the_docs_sidecar_deployment_runs_its_app_beside_its_sidecar(cluster):
    """concepts/workloads/pods/sidecar-containers: an init container with ``restartPolicy:
    Always`` starts first and keeps running; the app container starts once it runs, and
    kubectl counts both (READY 2/2)."""
    _kubectl(cluster, "apply", "-f", str(Path(__file__).parent / "manifests" / "application"
                                        / "deployment-sidecar.yaml"))
    _wait(cluster, "--for=condition=Available", "deployment/myapp")
    row = _kubectl(cluster, "get", "pods", "-l", "app.kubernetes.io/name=myapp",
                   "--no-headers").split()
    assert row[1:4] == ["2/2", "Running", "0"]
    pod = json.loads(_kubectl(cluster, "get", "pods", "-l", "app.kubernetes.io/name=myapp",
                              "-o", "jsonpath={.items[0].status}"))
    sidecar = pod["initContainerStatuses"][0]
    assert (sidecar["name"], sidecar["started"], list(sidecar["state"])) == (
        "logshipper", True, ["running"])
    conditions = {c["type"]: c["status"] for c in pod["conditions"]}
    assert conditions["Initialized"] == conditions["Ready"] == "True"


def _pod_spec(cluster, name: str) -> dict:
    return json.loads(_kubectl(cluster, "get", "pod", name, "-o", "jsonpath={.spec}"))


def test_the_docs_probe_and_downward_api_pods_read_back_with_kube_apiservers_defaults(cluster):
    """tasks/configure-pod-container/configure-liveness-readiness-startup-probes and
    tasks/inject-data-application/downward-api-volume-expose-pod-information: ``get -o yaml``
    shows what kube-apiserver writes: a probe's timeouts and thresholds and its httpGet's
    scheme, ``resources: {}``, ``serviceAccount`` beside ``serviceAccountName``, a volume's
    ``defaultMode`` 420 and a fieldRef's ``apiVersion``."""
    _kubectl(cluster, "apply", "-f", str(PODS / "http-liveness.yaml"),
             "-f", str(PODS / "dapi-volume.yaml"))
    liveness = _pod_spec(cluster, "liveness-http")
    container = liveness["containers"][0]
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP", "httpHeaders": [
            {"name": "Custom-Header", "value": "Awesome"}]},
        "initialDelaySeconds": 3, "periodSeconds": 3, "timeoutSeconds": 1,
        "successThreshold": 1, "failureThreshold": 3}
    assert container["resources"] == {}
    assert (liveness["serviceAccount"], liveness["serviceAccountName"]) == ("default", "default")
    downward = _pod_spec(cluster, "kubernetes-downwardapi-volume-example")
    podinfo = next(v for v in downward["volumes"] if v["name"] == "podinfo")
    assert podinfo["downwardAPI"] == {"defaultMode": 420, "items": [
        {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}},
        {"path": "annotations",
         "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"}}]}


def test_the_docs_node_affinity_pod_misindented_is_refused_as_kube_apiservers_decoder_words_it(
        cluster):
    """concepts/scheduling-eviction/assign-pod-node with the required term written as a list
    item (a common slip): kube-apiserver cannot decode it, 400 BadRequest in Go's words, and
    kubectl says so; the manifest as the docs write it waits for an antarctica zone."""
    docs = PODS / "pod-with-node-affinity.yaml"
    slipped = docs.read_text().replace(
        "      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:",
        "      requiredDuringSchedulingIgnoredDuringExecution:\n      - nodeSelectorTerms:")
    refused = cluster.kubectl("apply", "-f", "-", stdin=slipped)
    assert (refused.returncode, refused.stderr) == (1, (
        'Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" '
        "cannot be handled as a Pod: json: cannot unmarshal array into Go struct field "
        "NodeAffinity.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        " of type v1.NodeSelector\n"))
    _kubectl(cluster, "apply", "-f", str(docs))
    _wait(cluster, "--for=jsonpath={.status.conditions[0].reason}=Unschedulable",
          "pod/with-node-affinity")
    _kubectl(cluster, "label", "node", "node-2", "topology.kubernetes.io/zone=antarctica-west1",
             "--overwrite")
    _wait(cluster, "--for=condition=Ready", "pod/with-node-affinity")
    assert _kubectl(cluster, "get", "pod", "with-node-affinity", "-o",
                    "jsonpath={.spec.nodeName}") == "node-2"


def test_the_docs_pod_bound_to_a_node_that_does_not_exist_is_failed_and_deleted_by_pod_gc(
        cluster):
    """concepts/scheduling-eviction/assign-pod-node (nodeName): no node ``kube-01`` appears in
    pod GC's 40 s quarantine, so it marks the pod Failed (DisruptionTarget, DeletionByPodGC)
    and deletes it, as kube-controller-manager's PodGC does with orphans."""
    _kubectl(cluster, "apply", "-f", str(PODS / "pod-nodename.yaml"))
    watch = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "get", "pod", "nginx", "--watch",
         "--output-watch-events", "-o",
         'jsonpath={.type} {.object.status.phase} {.object.status.conditions[*].reason}{"\\n"}'],
        stdout=subprocess.PIPE, text=True)
    timer = threading.Timer(90, watch.kill)  # the quarantine is 40 s
    timer.start()
    seen = []
    with watch:
        for line in watch.stdout or ():
            seen.append(line.strip())
            if line.startswith("DELETED"):
                break
        watch.kill()
    timer.cancel()
    assert seen == ["ADDED Pending", "MODIFIED Failed DeletionByPodGC",
                    "DELETED Failed DeletionByPodGC"]


def test_the_docs_sidecar_job_completes_with_its_sidecar_stopped(cluster):
    """concepts/workloads/pods/sidecar-containers (job-sidecar.yaml): once the Job's app
    container ended, the kubelet stops the sidecar, the pod completes (READY 0/2, Completed)
    and the Job succeeds. Its containers exit after a second here (the sim's annotation),
    the sidecar restarted while the app runs, never after."""
    job = yaml.safe_load((APPLICATION / "job" / "job-sidecar.yaml").read_text())
    job["spec"]["template"]["metadata"] = {"annotations": {"sim.kubeactor.io/run-seconds": "1"}}
    _kubectl(cluster, "apply", "-f", "-", stdin=json.dumps(job))
    _wait(cluster, "--for=condition=Complete", "job/myjob")
    row = _kubectl(cluster, "get", "pods", "-l", "job-name=myjob", "--no-headers").split()
    assert row[1:3] == ["0/2", "Completed"]
    sidecar = json.loads(_kubectl(cluster, "get", "pods", "-l", "job-name=myjob", "-o",
                                  "jsonpath={.items[0].status.initContainerStatuses[0]}"))
    assert (sidecar["name"], list(sidecar["state"])) == ("logshipper", ["terminated"])


def test_the_docs_pi_job_reads_back_labelled_as_kube_apiserver_shows_it(cluster):
    """concepts/workloads/controllers/job ("kubectl get job pi -o yaml"): the Job carries its
    template's generated labels (SetDefaults_Job), its uid the selector's."""
    _kubectl(cluster, "apply", "-f", str(CONTROLLERS / "job.yaml"))
    job = json.loads(_kubectl(cluster, "get", "job", "pi", "-o", "json"))
    uid = job["metadata"]["uid"]
    assert job["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid, "job-name": "pi"}
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def test_the_docs_qos_pods_are_classed_as_kube_apiserver_classes_them(cluster):
    """tasks/configure-pod-container/quality-service-pod: ``status.qosClass`` is Guaranteed,
    Burstable and BestEffort from creation, and stays so once the kubelet reports the pod
    running; ``kubectl describe`` says it."""
    _kubectl(cluster, "create", "namespace", "qos-example")
    assert _kubectl(cluster, "create", "--dry-run=server", "-f", str(PODS / "qos" / "qos-pod.yaml"),
                    "-o", "jsonpath={.status}") == '{"phase":"Pending","qosClass":"Guaranteed"}'
    _kubectl(cluster, "apply", "-f", str(PODS / "qos"))
    for name, qos in (("qos-demo", "Guaranteed"), ("qos-demo-2", "Burstable"),
                      ("qos-demo-3", "BestEffort")):
        _wait(cluster, "--for=condition=Ready", f"pod/{name}", "-n", "qos-example")
        assert _kubectl(cluster, "get", "pod", name, "-n", "qos-example", "-o",
                        "jsonpath={.status.qosClass}") == qos
    described = _kubectl(cluster, "describe", "pod", "qos-demo", "-n", "qos-example")
    assert "QoS Class:                   Guaranteed\n" in described


def test_the_docs_pi_jobs_status_leaves_out_the_counts_still_zero(cluster):
    """concepts/workloads/controllers/job: a running Job's status says ``active`` and the
    pointers ``ready`` and ``terminating``, not ``succeeded: 0`` nor ``failed: 0`` (Go's
    omitempty)."""
    _kubectl(cluster, "apply", "-f", str(CONTROLLERS / "job.yaml"))
    _wait(cluster, "--for=jsonpath={.status.ready}=1", "job/pi")
    status = json.loads(_kubectl(cluster, "get", "job", "pi", "-o", "jsonpath={.status}"))
    assert sorted(status) == ["active", "ready", "startTime", "terminating",
                              "uncountedTerminatedPods"]
    assert (status["active"], status["terminating"]) == (1, 0)


def test_the_docs_deployments_status_leaves_out_the_counts_that_are_zero(cluster):
    """concepts/workloads/controllers/deployment ("kubectl get deployment -o yaml"): once
    available, no ``unavailableReplicas: 0`` (Go's omitempty); its ReplicaSet's status says
    the counts it has."""
    _kubectl(cluster, "apply", "-f", str(Path(__file__).parent / "manifests"
                                         / "nginx-deployment.yaml"))
    _wait(cluster, "--for=condition=Available", "deployment/nginx-deployment")
    _wait(cluster, "--for=jsonpath={.status.updatedReplicas}=3", "deployment/nginx-deployment")
    status = json.loads(_kubectl(cluster, "get", "deployment", "nginx-deployment", "-o",
                                 "jsonpath={.status}"))
    assert sorted(status) == ["availableReplicas", "conditions", "observedGeneration",
                              "readyReplicas", "replicas", "updatedReplicas"]


def test_a_pod_without_resources_under_the_docs_quota_is_refused_naming_its_containers(
        cluster):
    """tasks/administer-cluster/manage-resources/quota-memory-cpu-namespace: under the docs'
    quota, a pod (the docs' BestEffort qos-demo-3) whose container gives no cpu or memory is
    refused as the ResourceQuota admission words it: each resource with the containers that
    do not give it."""
    _kubectl(cluster, "create", "namespace", "quota-mem-cpu-example")
    _kubectl(cluster, "apply", "-f", str(Path(__file__).parent / "manifests" / "admin"
                                         / "resource" / "quota-mem-cpu.yaml"),
             "-n", "quota-mem-cpu-example")
    pod = (PODS / "qos" / "qos-pod-3.yaml").read_text().replace(
        "namespace: qos-example", "namespace: quota-mem-cpu-example")
    refused = cluster.kubectl("apply", "-f", "-", stdin=pod)
    missing = "; ".join(f"{r} for: qos-demo-3-ctr" for r in (
        "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"))
    assert (refused.returncode, refused.stderr) == (1, (
        'Error from server (Forbidden): error when creating "STDIN": pods "qos-demo-3" is '
        f"forbidden: failed quota: mem-cpu-demo: must specify {missing}\n"))


def test_the_docs_memory_defaults_fill_the_pod_and_say_so(cluster):
    """tasks/administer-cluster/manage-resources/memory-default-namespace: the namespace's
    LimitRange gives the docs' pod its memory request and limit, and the LimitRanger says what
    it set in the ``kubernetes.io/limit-ranger`` annotation."""
    resource = Path(__file__).parent / "manifests" / "admin" / "resource"
    _kubectl(cluster, "create", "namespace", "default-mem-example")
    for manifest in ("memory-defaults.yaml", "memory-defaults-pod.yaml"):
        _kubectl(cluster, "apply", "-f", str(resource / manifest), "-n", "default-mem-example")
    pod = json.loads(_kubectl(cluster, "get", "pod", "default-mem-demo", "-n",
                              "default-mem-example", "-o", "json"))
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "512Mi"}, "requests": {"memory": "256Mi"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container default-mem-demo-ctr; memory "
        "limit for container default-mem-demo-ctr")
    assert pod["status"]["qosClass"] == "Burstable"


def test_the_docs_host_path_volume_reads_back_with_its_type_defaulted(cluster):
    """tasks/configure-pod-container/configure-persistent-volume-storage: ``kubectl get pv
    task-pv-volume -o yaml`` shows the hostPath's ``type: ""`` beside the volume defaults."""
    _kubectl(cluster, "apply", "-f", str(Path(__file__).parent / "manifests" / "storage"
                                         / "pv-volume.yaml"))
    spec = json.loads(_kubectl(cluster, "get", "pv", "task-pv-volume", "-o",
                               "jsonpath={.spec}"))
    assert spec["hostPath"] == {"path": "/mnt/data", "type": ""}
    assert (spec["persistentVolumeReclaimPolicy"], spec["volumeMode"]) == ("Retain",
                                                                           "Filesystem")
