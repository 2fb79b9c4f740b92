"""The documents kubectl reads before it acts, against kubeactor (``up --runtime sim``):
aggregated discovery (kubectl reads all of it from ``/api`` and ``/apis``, custom resources
included, and fetches no group version), and the OpenAPI documents, which carry every served
kind's schema (Kubernetes' own, with its field descriptions) and a CRD's ``openAPIV3Schema``,
so ``kubectl explain`` prints what it prints against Kubernetes, from v3 or (as protobuf) v2;
each document has an ETag."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from kubernetes import config as k8s_config

from tests.integration.test_crds import WIDGETS
from tests.processes import UpProcess

pytestmark = pytest.mark.integration


def _explained(cluster: UpProcess, *args: str) -> str:
    done = cluster.kubectl("explain", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_explain_prints_a_built_in_fields_descriptions(cluster: UpProcess):
    containers = _explained(cluster, "pod.spec.containers")
    assert "KIND:       Pod\nVERSION:    v1\n" in containers
    assert "FIELD: containers <[]Container>" in containers
    assert "List of containers belonging to the pod." in containers
    assert "A single application container that you want to run within a pod." in containers
    assert "  name\t<string> -required-\n" in containers
    assert "  image\t<string>\n" in containers


def test_explain_from_openapi_v2_which_kubectl_reads_as_protobuf(cluster: UpProcess):
    containers = _explained(cluster, "pod.spec.containers", "--output=plaintext-openapiv2")
    assert "KIND:     Pod\nVERSION:  v1\n" in containers
    assert "A single application container that you want to run within a pod." in containers
    assert "   name\t<string> -required-\n" in containers


def test_explain_recursive_walks_a_deployments_spec(cluster: UpProcess):
    spec = _explained(cluster, "deployment.spec", "--recursive")
    assert "GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n" in spec
    assert "  replicas\t<integer>\n" in spec
    assert "  template\t<PodTemplateSpec> -required-\n" in spec
    assert "      containers\t<[]Container> -required-\n" in spec


def test_explain_reads_a_crds_schema(cluster: UpProcess, tmp_path: Path):
    manifest = tmp_path / "crd.json"
    manifest.write_text(json.dumps(WIDGETS))
    assert cluster.kubectl("apply", "-f", str(manifest)).returncode == 0
    spec = _explained(cluster, "widgets.spec")
    assert "GROUP:      example.com\nKIND:       Widget\nVERSION:    v1\n" in spec
    assert "  size\t<integer>\n" in spec


def test_client_side_validation_is_left_to_the_server_which_refuses_unknown_fields(
        cluster: UpProcess):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "strict"},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.35", "imagee": "x"}]}}
    refused = cluster.kubectl("create", "--validate=strict", "-f", "-", stdin=json.dumps(pod))
    assert refused.returncode == 1
    assert 'unknown field "spec.containers[0].imagee"' in refused.stderr
    assert cluster.kubectl("get", "pod", "strict").returncode == 1


def test_documents_carry_an_etag_and_are_not_sent_again_to_who_holds_them(cluster: UpProcess):
    api = k8s_config.new_client_from_config(str(cluster.kubeconfig))
    try:
        def fetched(path: str, **headers: str) -> Any:
            answer = api.call_api("GET", api.configuration.host + path, header_params=headers)
            answer.read()
            return answer
        index = json.loads(fetched("/openapi/v3").data)
        url = index["paths"]["api/v1"]["serverRelativeURL"]
        first = fetched(url)
        etag = first.getheader("ETag")
        assert url.endswith(f"?hash={etag.strip(chr(34))}")
        assert first.getheader("Cache-Control") == "public, immutable"
        schemas = json.loads(first.data)["components"]["schemas"]
        assert schemas["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"] == [
            {"group": "", "kind": "Pod", "version": "v1"}]
        assert fetched("/openapi/v3/api/v1", **{"If-None-Match": etag}).status == 304
        assert json.loads(fetched("/openapi/v2", Accept="application/json").data)[
            "swagger"] == "2.0"
        assert fetched("/openapi/v2", Accept="application/yaml").status == 406
    finally:
        api.close()


def test_kubectl_reads_aggregated_discovery_and_fetches_no_group_version(
        cluster: UpProcess, tmp_path: Path):
    manifest = tmp_path / "crd.json"
    manifest.write_text(json.dumps(WIDGETS))
    assert cluster.kubectl("apply", "-f", str(manifest)).returncode == 0
    listed = cluster.kubectl("--cache-dir", str(tmp_path / "cache"), "api-resources", "-v=6")
    assert listed.returncode == 0, listed.stderr
    fetched = re.findall(r'verb="GET" url="https://[^/]+(/[^"?]*)', listed.stderr)
    assert fetched == ["/api", "/apis"]
    rows = {line.split()[-1]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows["Widget"] == ["widgets", "wd", "example.com/v1", "true", "Widget"]
    assert rows["Deployment"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert rows["Node"] == ["nodes", "no", "v1", "false", "Node"]
    assert rows["NodeMetrics"] == ["nodes", "metrics.k8s.io/v1beta1", "false", "NodeMetrics"]
