"""The Kubernetes documentation's tasks as a docs reader does them, with real kubectl and the
official Python client against ``kubeactor up`` on Docker (the docs' manifests, their image
changed to busybox:1.35 where it was another)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import IMAGE

pytestmark = pytest.mark.e2e

# docs: concepts/workloads/pods/init-containers (the init containers wait for a Service
# that never comes: kubeactor serves no cluster DNS, so they keep waiting, as there)
INIT_PODS = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: myapp-pod
  labels:
    app.kubernetes.io/name: MyApp
spec:
  containers:
  - name: myapp-container
    image: {IMAGE}
    command: ['sh', '-c', 'echo The app is running! && sleep 3600']
  initContainers:
  - name: init-myservice
    image: {IMAGE}
    command: ['sh', '-c', "until nslookup myservice.default.svc.cluster.local; do
      echo waiting for myservice; sleep 2; done"]
  - name: init-mydb
    image: {IMAGE}
    command: ['sh', '-c', "until nslookup mydb.default.svc.cluster.local; do
      echo waiting for mydb; sleep 2; done"]
"""


def test_logs_and_exec_reach_a_running_init_container(cluster):
    made = cluster.kubectl("apply", "-f", "-", stdin=INIT_PODS)
    assert made.returncode == 0, made.stderr
    running = cluster.kubectl("wait", "pod/myapp-pod", "--timeout=60s", "--for=jsonpath="
                              "{.status.initContainerStatuses[0].state.running.startedAt}")
    assert running.returncode == 0, running.stderr
    said = cluster.kubectl("wait", "pod/myapp-pod", "--timeout=30s", "--for=jsonpath="
                           "{.status.initContainerStatuses[0].ready}=false")
    assert said.returncode == 0, said.stderr  # running, not ready (the prober manager's)
    for _ in range(60):  # the docs' step: what is it waiting for (once it has said it)
        logs = cluster.kubectl("logs", "myapp-pod", "-c", "init-myservice")
        assert logs.returncode == 0, logs.stderr
        if "waiting for myservice\n" in logs.stdout:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the init container never said it waited: {logs.stdout}")
    inside = cluster.kubectl("exec", "myapp-pod", "-c", "init-myservice", "--", "echo", "in")
    assert (inside.returncode, inside.stdout) == (0, "in\n"), inside.stderr
    waiting = cluster.kubectl("logs", "myapp-pod", "-c", "init-mydb")  # not started yet
    assert waiting.returncode == 1
    assert waiting.stderr == ('Error from server (BadRequest): container "init-mydb" in pod '
                              '"myapp-pod" is waiting to start: PodInitializing\n')
    wrong = cluster.kubectl("logs", "myapp-pod", "-c", "nope")
    assert wrong.stderr.startswith("error: container nope is not valid for pod myapp-pod")
    cluster.kubectl("delete", "pod", "myapp-pod", "--wait=false")


def test_debug_with_an_ephemeral_container_is_refused_as_kubectl_understands(cluster):
    """docs: tasks/debug/debug-application/debug-running-pod (ephemeral containers are not
    served yet: kubectl must say so, not crash on the 404's missing details)."""
    made = cluster.kubectl("run", "ephemeral-demo", f"--image={IMAGE}", "--restart=Never",
                           "--", "sleep", "3600")
    assert made.returncode == 0, made.stderr
    debugged = cluster.kubectl("debug", "ephemeral-demo", f"--image={IMAGE}")
    assert debugged.returncode == 1, debugged.stderr
    assert debugged.stderr.startswith(
        "error: ephemeral containers are disabled for this cluster (error from server: "
        '"the server could not find the requested resource'), debugged.stderr
    cluster.kubectl("delete", "pod", "ephemeral-demo", "--wait=false")


# docs: tasks/inject-data-application/downward-api-volume-expose-pod-information
DOWNWARD = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: kubernetes-downwardapi-volume-example
  labels:
    zone: us-est-coast
    cluster: test-cluster1
    rack: rack-22
  annotations:
    build: two
    builder: john-doe
spec:
  containers:
    - name: client-container
      image: {IMAGE}
      command: ["sh", "-c"]
      args:
      - while true; do
          if [[ -e /etc/podinfo/labels ]]; then
            echo -en '\\n\\n'; cat /etc/podinfo/labels; fi;
          if [[ -e /etc/podinfo/annotations ]]; then
            echo -en '\\n\\n'; cat /etc/podinfo/annotations; fi;
          sleep 5;
        done;
      volumeMounts:
        - name: podinfo
          mountPath: /etc/podinfo
  volumes:
    - name: podinfo
      downwardAPI:
        items:
          - path: "labels"
            fieldRef:
              fieldPath: metadata.labels
          - path: "annotations"
            fieldRef:
              fieldPath: metadata.annotations
"""


def test_a_downward_api_volume_shows_the_pods_labels_and_follows_a_change(cluster):
    name = "kubernetes-downwardapi-volume-example"
    made = cluster.kubectl("apply", "-f", "-", stdin=DOWNWARD)
    assert made.returncode == 0, made.stderr
    ready = cluster.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    assert ready.returncode == 0, ready.stderr
    labels = cluster.kubectl("exec", name, "--", "cat", "/etc/podinfo/labels")
    assert labels.stdout == 'cluster="test-cluster1"\nrack="rack-22"\nzone="us-est-coast"'
    annotations = cluster.kubectl("exec", name, "--", "cat", "/etc/podinfo/annotations")
    assert 'build="two"\nbuilder="john-doe"\n' in annotations.stdout
    relabelled = cluster.kubectl("label", "pod", name, "rack=rack-23", "--overwrite")
    assert relabelled.returncode == 0, relabelled.stderr
    for _ in range(60):  # the kubelet writes the files again after the pod's change
        labels = cluster.kubectl("exec", name, "--", "cat", "/etc/podinfo/labels")
        if 'rack="rack-23"' in labels.stdout:
            break
        time.sleep(0.5)
    assert labels.stdout == 'cluster="test-cluster1"\nrack="rack-23"\nzone="us-est-coast"'
    cluster.kubectl("delete", "pod", name, "--wait=false")


def test_a_mounted_configmap_follows_its_update(cluster):
    """docs: tasks/configure-pod-container/configure-pod-configmap ("Mounted ConfigMaps are
    updated automatically"): the file shows the new value, the environment keeps the old."""
    made = cluster.kubectl("create", "configmap", "sport", "--from-literal=sport=football")
    assert made.returncode == 0, made.stderr
    pod = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: configmap-volume}}
spec:
  containers:
  - name: alpine
    image: {IMAGE}
    command: [sh, -c, "sleep 3600"]
    env: [{{name: SPORT, valueFrom: {{configMapKeyRef: {{name: sport, key: sport}}}}}}]
    volumeMounts: [{{name: config-volume, mountPath: /etc/config}}]
  volumes:
  - name: config-volume
    configMap: {{name: sport}}
"""
    made = cluster.kubectl("apply", "-f", "-", stdin=pod)
    assert made.returncode == 0, made.stderr
    ready = cluster.kubectl("wait", "--for=condition=Ready", "pod/configmap-volume",
                            "--timeout=60s")
    assert ready.returncode == 0, ready.stderr
    edited = cluster.kubectl("patch", "configmap", "sport", "-p", '{"data":{"sport":"cricket"}}')
    assert edited.returncode == 0, edited.stderr
    for _ in range(60):
        seen = cluster.kubectl("exec", "configmap-volume", "--", "cat", "/etc/config/sport")
        if seen.stdout == "cricket":
            break
        time.sleep(0.5)
    assert seen.stdout == "cricket"
    env = cluster.kubectl("exec", "configmap-volume", "--", "sh", "-c", "echo $SPORT")
    assert env.stdout == "football\n"  # an environment is set once, at the start
    cluster.kubectl("delete", "pod", "configmap-volume", "--wait=false")


# docs: tasks/inject-data-application/define-environment-variable-container (envars.yaml)
ENVARS = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: envar-demo
  labels:
    purpose: demonstrate-envars
spec:
  containers:
  - name: envar-demo-container
    image: {IMAGE}
    command: ['sleep', '3600']
    env:
    - name: DEMO_GREETING
      value: "Hello from the environment"
    - name: DEMO_FAREWELL
      value: "Such a sweet sorrow"
"""


def test_printenv_in_a_container_prints_its_environment_as_the_docs_show(cluster):
    """The docs' step ``kubectl exec envar-demo -- printenv``: busybox's printenv applet
    (which Debian's busybox leaves out; ``scripts/setup`` puts one in the image)."""
    made = cluster.kubectl("apply", "-f", "-", stdin=ENVARS)
    assert made.returncode == 0, made.stderr
    ready = cluster.kubectl("wait", "--for=condition=Ready", "pod/envar-demo", "--timeout=60s")
    assert ready.returncode == 0, ready.stderr
    one = cluster.kubectl("exec", "envar-demo", "--", "printenv", "DEMO_GREETING")
    assert (one.returncode, one.stdout) == (0, "Hello from the environment\n"), one.stderr
    every = cluster.kubectl("exec", "envar-demo", "--", "printenv")
    assert every.returncode == 0, every.stderr
    assert "DEMO_FAREWELL=Such a sweet sorrow\n" in every.stdout
    missing = cluster.kubectl("exec", "envar-demo", "--", "printenv", "NOT_SET")
    assert missing.returncode == 1
    assert cluster.kubectl("delete", "pod", "envar-demo", "--wait=false").returncode == 0
