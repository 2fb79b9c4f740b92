"""``kubeactor apply`` and ``delete -f`` as kubectl's, against ``kubeactor up --runtime sim``
(real NATS, real store; the CLI as a subprocess): a manifest applied, then the object as ``get
-o yaml`` prints it, then the manifest again (kubectl's three-way strategic merge keeps what the
server set: namespace, defaults, a LimitRange's resources); a ``resourceVersion`` refused on
create; ``delete -f`` deleting what it knows and naming what it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.processes import UpProcess

pytestmark = pytest.mark.integration

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: game-config
data:
  color: blue
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
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
        image: nginx:1.14.2
        ports:
        - containerPort: 80
"""
"""The Deployment of Kubernetes' documentation (concepts/workloads/controllers/deployment)."""

LIMITED = """\
apiVersion: v1
kind: Namespace
metadata:
  name: limited
---
apiVersion: v1
kind: LimitRange
metadata:
  name: cpu-limit-range
  namespace: limited
spec:
  limits:
  - default:
      cpu: 1
    defaultRequest:
      cpu: 0.5
    type: Container
"""
"""A namespace whose containers get CPU requests and limits by default (Kubernetes'
documentation: administer-cluster/manage-resources/cpu-default-namespace)."""

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: default-cpu-demo
  namespace: limited
spec:
  containers:
  - name: default-cpu-demo-ctr
    image: nginx
"""


def written(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def round_trip(cluster: UpProcess, tmp_path: Path, manifest: str, kind_name: str) -> None:
    """apply the manifest, then ``get -o yaml`` of what it made, then the manifest again."""
    first = written(tmp_path / "first.yaml", manifest)
    got = cluster.cli("get", kind_name, "-o", "yaml").stdout
    assert cluster.cli("apply", "-f", written(tmp_path / "got.yaml", got)).stdout.endswith(
        " configured\n")  # the annotation now holds all of it
    assert cluster.cli("apply", "-f", first).stdout.endswith(" configured\n")
    assert cluster.cli("apply", "-f", first).stdout.endswith(" unchanged\n")


def test_a_configmap_survives_apply_get_apply_apply(cluster, admin, tmp_path):
    first = written(tmp_path / "first.yaml", CONFIGMAP)
    assert cluster.cli("apply", "-f", first).stdout == "configmap/game-config created\n"
    uid = admin.get("configmaps", "game-config")["metadata"]["uid"]
    round_trip(cluster, tmp_path, CONFIGMAP, "configmap/game-config")
    stored = admin.get("configmaps", "game-config")
    assert (stored["metadata"]["uid"], stored["data"]) == (uid, {"color": "blue"})
    changed = CONFIGMAP.replace("color: blue", "shape: round")
    assert cluster.cli("apply", "-f", written(tmp_path / "changed.yaml", changed)).stdout == (
        "configmap/game-config configured\n")
    assert admin.get("configmaps", "game-config")["data"] == {"shape": "round"}


def test_the_documentations_deployment_survives_it_without_a_rollout(cluster, admin, tmp_path):
    first = written(tmp_path / "first.yaml", DEPLOYMENT)
    assert cluster.cli("apply", "-f", first).stdout == (
        "deployment.apps/nginx-deployment created\n")
    ready = wait_for(admin, "deployments", "nginx-deployment",
                     lambda d: d["status"].get("availableReplicas") == 3)
    round_trip(cluster, tmp_path, DEPLOYMENT, "deployment/nginx-deployment")
    stored = admin.get("deployments", "nginx-deployment")
    assert stored["metadata"]["generation"] == ready["metadata"]["generation"]
    assert stored["spec"]["template"] == ready["spec"]["template"]
    assert len(admin.list("replicasets", "default",
                          label_selector="app=nginx")["items"]) == 1


def test_a_pod_defaulted_by_a_limitrange_applies_again_unchanged(cluster, admin, tmp_path):
    cluster.cli("apply", "-f", written(tmp_path / "limited.yaml", LIMITED))
    pod = written(tmp_path / "pod.yaml", POD)
    assert cluster.cli("apply", "-f", pod).stdout == "pod/default-cpu-demo created\n"
    resources = admin.get("pods", "default-cpu-demo", "limited")["spec"]["containers"][0][
        "resources"]
    assert set(resources) == {"limits", "requests"}  # the LimitRange's (quantities as written)
    assert cluster.cli("apply", "-f", pod).stdout == "pod/default-cpu-demo unchanged\n"
    got = cluster.cli("get", "pod", "default-cpu-demo", "-n", "limited", "-o", "yaml").stdout
    assert cluster.cli("apply", "-f", written(tmp_path / "got.yaml", got)).stdout == (
        "pod/default-cpu-demo configured\n")


def test_a_resource_version_is_refused_on_create_as_kube_apiserver_refuses_it(
    cluster, admin, tmp_path
):
    cluster.cli("apply", "-f", written(tmp_path / "cm.yaml", CONFIGMAP.replace(
        "game-config", "versioned")))
    got = cluster.cli("get", "configmap", "versioned", "-o", "yaml").stdout
    cluster.cli("delete", "configmap", "versioned")
    again = cluster.cli("apply", "-f", written(tmp_path / "got.yaml", got), check=False)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == ("Error from server (InternalError): Internal error occurred: "
                            "resourceVersion should not be set on objects to be created\n")


def test_delete_f_deletes_what_it_knows_and_names_what_it_does_not(cluster, admin, tmp_path):
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n"
        "apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: unknown}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: last}\n")
    for name in ("first", "last"):
        admin.create("configmaps", {"metadata": {"name": name}})
    deleted = cluster.cli("delete", "-f", str(mixed), check=False)
    assert deleted.returncode == 1
    assert deleted.stdout == 'configmap "first" deleted\nconfigmap "last" deleted\n'
    assert deleted.stderr == ('error: resource mapping not found for kind "Foo" in version '
                              f'"example.com/v1": ensure CRDs are installed first (in "{mixed}")\n')
    assert [cm["metadata"]["name"] for cm in admin.list("configmaps", "default")["items"]
            if cm["metadata"]["name"] in ("first", "last")] == []


def test_a_clusterrole_named_with_a_colon_applies_back_as_get_prints_it(cluster, tmp_path):
    got = cluster.cli("get", "clusterrole", "system:basic-user", "-o", "yaml").stdout
    back = cluster.cli("apply", "-f", written(tmp_path / "role.yaml", got))
    assert back.stdout == "clusterrole.rbac.authorization.k8s.io/system:basic-user configured\n"
