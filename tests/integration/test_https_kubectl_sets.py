"""DaemonSets and StatefulSets through real kubectl (and kubeactor's CLI) against ``kubeactor
up --runtime sim``: the Kubernetes documentation's manifests apply and run, ``get`` shows
kubectl's columns, ``scale``, ``set image`` and ``rollout status|history|undo`` work as on a
Kubernetes cluster, and the docs' web StatefulSet makes each pod's claim from its
volumeClaimTemplates before the pod."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support import until

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).resolve().parents[2] / "examples" / "manifests"
STORAGE = Path(__file__).resolve().parent / "manifests" / "storage"
FLUENTD = "fluentd-elasticsearch"


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def image_of(cluster, kind: str, name: str, *where: str) -> str:
    obj = json.loads(ok(cluster.kubectl("get", kind, name, *where, "-o", "json")))
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def test_the_docs_daemonset_rolls_out_and_back_with_kubectl(cluster):
    system = ("-n", "kube-system")
    assert ok(cluster.kubectl("apply", "-f", str(MANIFESTS / "daemonset.yaml"))) == (
        f"daemonset.apps/{FLUENTD} created\n")
    assert ok(cluster.kubectl("rollout", "status", f"ds/{FLUENTD}", *system,
                              "--timeout=60s")).splitlines()[-1] == (
        f'daemon set "{FLUENTD}" successfully rolled out')
    rows = [line.split() for line in ok(cluster.kubectl("get", "ds", *system)).splitlines()]
    assert rows[0] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE",
                       "SELECTOR", "AGE"]
    assert rows[1][:7] == [FLUENTD, "2", "2", "2", "2", "2", "<none>"]
    for described in (cluster.cli("describe", "ds", FLUENTD, *system).stdout,
                      ok(cluster.kubectl("describe", "ds", FLUENTD, *system))):
        assert "Desired Number of Nodes Scheduled: 2" in described
        assert "SuccessfulCreate" in described
    pods = json.loads(ok(cluster.kubectl("get", "pods", *system, "-l", f"name={FLUENTD}",
                                         "-o", "json")))["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-1", "node-2"]

    ok(cluster.kubectl("set", "image", f"ds/{FLUENTD}", f"{FLUENTD}=busybox:1.36", *system))
    ok(cluster.kubectl("rollout", "status", f"ds/{FLUENTD}", *system, "--timeout=60s"))
    assert ok(cluster.kubectl("rollout", "history", f"daemonset/{FLUENTD}", *system)) == (
        f"daemonset.apps/{FLUENTD} \nREVISION  CHANGE-CAUSE\n1         <none>\n"
        "2         <none>\n\n")
    assert ok(cluster.kubectl("rollout", "undo", f"ds/{FLUENTD}", *system)) == (
        f"daemonset.apps/{FLUENTD} rolled back\n")
    assert image_of(cluster, "ds", FLUENTD, *system) == "k8s.gcr.io/fluentd-elasticsearch:1.20"
    ok(cluster.kubectl("rollout", "status", f"ds/{FLUENTD}", *system, "--timeout=60s"))
    revisions = json.loads(ok(cluster.kubectl("get", "controllerrevisions", *system, "-o",
                                              "json")))["items"]
    assert sorted(r["revision"] for r in revisions) == [2, 3]  # revision 1 came back as 3
    assert cluster.cli("rollout", "history", f"ds/{FLUENTD}", *system).stdout == (
        f"daemonset.apps/{FLUENTD}\nREVISION  CHANGE-CAUSE\n2         <none>\n"
        "3         <none>\n\n")
    assert cluster.cli("rollout", "undo", f"ds/{FLUENTD}", "--to-revision", "3",
                       *system).stdout == (
        f"daemonset.apps/{FLUENTD} skipped rollback (current template already matches "
        "revision 3)\n")


def test_the_docs_statefulset_scales_rolls_and_undoes_with_kubectl(cluster):
    assert ok(cluster.kubectl("apply", "-f", str(MANIFESTS / "statefulset.yaml"))) == (
        "statefulset.apps/web created\n")
    assert ok(cluster.kubectl("rollout", "status", "sts/web", "--timeout=60s")).splitlines()[
        -1] == "partitioned roll out complete: 2 new pods have been updated..."
    assert ok(cluster.kubectl("scale", "sts", "web", "--replicas=3")) == (
        "statefulset.apps/web scaled\n")
    ok(cluster.kubectl("rollout", "status", "statefulset/web", "--timeout=60s"))
    rows = [line.split() for line in ok(cluster.kubectl("get", "sts", "-o", "wide")).splitlines()]
    assert rows[0] == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert [rows[1][i] for i in (0, 1, 3, 4)] == ["web", "3/3", "nginx",
                                                  "registry.k8s.io/nginx-slim:0.7"]
    described = cluster.cli("describe", "sts", "web").stdout
    assert "Replicas:       3 desired | 3 total" in described and "Partition:      0" in described
    assert "create Pod web-2 in StatefulSet web successful" in described
    assert "3 desired | 3 total" in ok(cluster.kubectl("describe", "statefulset", "web"))
    names = ok(cluster.kubectl("get", "pods", "-l", "app=nginx", "-o", "name")).split()
    assert names == ["pod/web-0", "pod/web-1", "pod/web-2"]

    ok(cluster.kubectl("set", "image", "sts/web", "nginx=registry.k8s.io/nginx-slim:0.8"))
    assert cluster.cli("rollout", "status", "sts/web", "--timeout", "60s").stdout.splitlines()[
        -1] == "partitioned roll out complete: 3 new pods have been updated..."
    assert ok(cluster.kubectl("rollout", "undo", "sts/web")) == "statefulset.apps/web rolled back\n"
    ok(cluster.kubectl("rollout", "status", "sts/web", "--timeout=60s"))
    assert image_of(cluster, "sts", "web") == "registry.k8s.io/nginx-slim:0.7"
    shown = ok(cluster.kubectl("rollout", "history", "sts/web", "--revision=3"))
    assert "registry.k8s.io/nginx-slim:0.7" in shown


def test_the_docs_web_statefulset_makes_each_pods_claim_before_the_pod(cluster):
    docs = (STORAGE / "web.yaml").read_text()  # as a set named site: web is the other docs'
    ok(cluster.kubectl("apply", "-f", "-", stdin=docs.replace("  name: web\n", "  name: site\n")))
    claim = yaml.safe_load(_until_shown(cluster, "pvc", "www-site-0"))
    assert claim["spec"]["storageClassName"] == "local-path"  # the default class
    assert claim["metadata"]["labels"] == {"app": "nginx"}
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    pod = yaml.safe_load(_until_shown(cluster, "pod", "site-0"))
    assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-site-0"}} in \
        pod["spec"]["volumes"]
    described = " ".join(ok(cluster.kubectl("describe", "sts", "site")).split())
    assert "Volume Claims: Name: www" in described


def _until_shown(cluster, kind: str, name: str) -> str:
    """``get KIND NAME -o yaml`` once the object exists (a controller makes it)."""
    return until(lambda: (done := cluster.kubectl("get", kind, name, "-o", "yaml")).returncode
                 == 0 and done.stdout, failure=f"{kind}/{name} was never made")


def test_kubectl_knows_the_kinds_from_discovery_and_openapi(cluster):
    resources = ok(cluster.kubectl("api-resources", "--api-group=apps", "--no-headers"))
    rows = {line.split()[0]: line.split() for line in resources.splitlines()}
    assert rows["daemonsets"][:2] == ["daemonsets", "ds"]
    assert rows["statefulsets"][:2] == ["statefulsets", "sts"]
    assert "controllerrevisions" in rows
    explained = ok(cluster.kubectl("explain", "statefulset.spec.podManagementPolicy"))
    assert "OrderedReady" in explained
    assert "daemonset.apps/" in ok(cluster.kubectl("get", "all", "-A", "-o", "name"))
