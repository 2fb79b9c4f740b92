"""The official ``kubernetes`` Python client against ``kubeactor up --runtime sim`` with the
Kubernetes documentation's own example manifests (embedded unchanged, each naming its path
under content/en/examples), called as the client's users call it: what it returns must
deserialize as it does from kube-apiserver."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import utils as k8s_utils

pytestmark = pytest.mark.integration

FRONTEND = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: frontend
  labels:
    app: nginx
    tier: frontend
spec:
  # modify replicas according to your case
  replicas: 3
  selector:
    matchLabels:
      tier: frontend
  template:
    metadata:
      labels:
        tier: frontend
    spec:
      containers:
      - name: nginx
        image: nginx
"""
"""controllers/frontend.yaml"""

REPLICATION = """\
---
{
  apiVersion: "v1",
  kind: "ReplicationController",
  metadata: {
    name: "nginx",
  },
  spec: {
    replicas: 3,
    selector: {
      app: "nginx",
    },
    template: {
      metadata: {
        name: "nginx",
        labels: {
          app: "nginx",
        },
      },
      spec: {
        containers: [{
          name: "nginx",
          image: "nginx",
          ports: [{
            containerPort: 80,
          }],
        }],
      },
    },
  },
}
"""
"""controllers/replication.yaml"""

DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd-elasticsearch
  namespace: kube-system
  labels:
    k8s-app: fluentd-logging
spec:
  selector:
    matchLabels:
      name: fluentd-elasticsearch
  template:
    metadata:
      labels:
        name: fluentd-elasticsearch
    spec:
      tolerations:
      - key: node-role.kubernetes.io/master
        effect: NoSchedule
      containers:
      - name: fluentd-elasticsearch
        image: k8s.gcr.io/fluentd-elasticsearch:1.20
        resources:
          limits:
            memory: 200Mi
          requests:
            cpu: 100m
            memory: 200Mi
        volumeMounts:
        - name: varlog
          mountPath: /var/log
        - name: varlibdockercontainers
          mountPath: /var/lib/docker/containers
          readOnly: true
      terminationGracePeriodSeconds: 30
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
      - name: varlibdockercontainers
        hostPath:
          path: /var/lib/docker/containers
"""
"""controllers/daemonset.yaml"""

WEB = """\
apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: "nginx"
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.21
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      resources:
        requests:
          storage: 1Gi
"""
"""application/web/web.yaml"""

PI_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl",  "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
"""
"""controllers/job.yaml"""


def test_create_from_yaml_returns_each_docs_workload_with_the_status_the_client_requires(
        cluster, kube_api):
    """``utils.create_from_yaml`` (create_namespaced_replica_set, _daemon_set,
    _stateful_set...) deserializes what the create answers: a ReplicaSet's, StatefulSet's,
    DaemonSet's and ReplicationController's status has counts the client requires (Go's
    fields without ``omitempty``: 0 in a new object's status), a Job's status is there,
    empty; a status sent with the object is not kept."""
    api = kube_api(cluster.kubeconfig)
    created = [obj for manifest in (FRONTEND, REPLICATION, DAEMONSET, WEB, PI_JOB)
               for objs in k8s_utils.create_from_yaml(
                   api, yaml_objects=list(yaml.safe_load_all(manifest)))
               for obj in objs]
    statuses = {obj.kind: obj.status for obj in created}
    assert statuses["ReplicaSet"].replicas == statuses["ReplicationController"].replicas == 0
    assert (statuses["StatefulSet"].replicas, statuses["StatefulSet"].available_replicas) == (
        0, 0)
    daemonset = statuses["DaemonSet"]
    assert (daemonset.current_number_scheduled, daemonset.desired_number_scheduled,
            daemonset.number_misscheduled, daemonset.number_ready) == (0, 0, 0, 0)
    assert isinstance(statuses["Job"], k8s.V1JobStatus)
    assert statuses["Job"].active is None
    listed = k8s.AppsV1Api(api).list_daemon_set_for_all_namespaces()
    assert [ds.metadata.name for ds in listed.items] == ["fluentd-elasticsearch"]

    sent = {**yaml.safe_load(FRONTEND), "metadata": {"name": "claims-ready"},
            "status": {"replicas": 3, "readyReplicas": 3}}
    kept = k8s.AppsV1Api(api).create_namespaced_replica_set("default", sent)
    assert (kept.status.replicas, kept.status.ready_replicas) == (0, None)


def test_list_node_deserializes_each_nodes_system_info(cluster, kube_api):
    """The client's first example (``list_node``) reads every field of a Node's
    ``status.nodeInfo`` that kube's NodeSystemInfo always has; each node is a machine of its
    own; ``get nodes -o wide`` shows the host's OS image and kernel."""
    nodes = k8s.CoreV1Api(kube_api(cluster.kubeconfig)).list_node().items
    infos = [node.status.node_info for node in nodes]
    assert [node.metadata.name for node in nodes] == ["node-1", "node-2"]
    assert all(info.kubelet_version and info.os_image and info.kernel_version
               and info.boot_id for info in infos)
    assert infos[0].machine_id != infos[1].machine_id
    assert infos[0].system_uuid != infos[1].system_uuid
    row = cluster.kubectl("get", "node", "node-1", "-o", "wide").stdout.splitlines()[1]
    assert f"   {infos[0].os_image}   {infos[0].kernel_version}   " in row


PHP_APACHE_HPA = """\
---
{
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: {
    name: "php-apache",
  },
  spec: {
    scaleTargetRef: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "php-apache",
    },
    minReplicas: 1,
    maxReplicas: 10,
    metrics: [{
      type: "Resource",
      resource: {
        name: "cpu",
        target: {
          type: "Utilization",
          averageUtilization: 50,
        },
      },
    }],
  },
}
"""
"""application/hpa/php-apache.yaml"""


def test_an_hpa_whose_target_is_not_there_yet_reads_in_both_versions(cluster, kube_api):
    """tasks/run-application/horizontal-pod-autoscale-walkthrough: the HPA applied before its
    Deployment (FailedGetScale) is read by the client at autoscaling/v2 and v1 alike: its
    status has the replica counts kube's JSON always has (``desiredReplicas``; v1's
    ``currentReplicas`` too)."""
    result = cluster.kubectl("apply", "-f", "-", stdin=PHP_APACHE_HPA)
    assert result.stdout == "horizontalpodautoscaler.autoscaling/php-apache created\n"
    api = kube_api(cluster.kubeconfig)
    v2 = k8s.AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler("default")
    assert [hpa.status.desired_replicas for hpa in v2.items] == [0]
    v1 = k8s.AutoscalingV1Api(api).read_namespaced_horizontal_pod_autoscaler(
        "php-apache", "default")
    assert (v1.status.current_replicas, v1.status.desired_replicas) == (0, 0)
    assert v1.spec.target_cpu_utilization_percentage == 50
