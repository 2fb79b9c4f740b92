"""Secrets, ConfigMaps and the downward API in a pod on real Docker: as env and as files (read
back with ``exec``), ``get``/``describe`` that never print a value, an update that reaches the
files of a restarted container, and the host layout of the kubelet's atomic writer."""

from __future__ import annotations

import base64
import json
import os

import pytest
import yaml

from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE
from tests.processes import UpProcess

pytestmark = pytest.mark.e2e

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
          "type": "kubernetes.io/basic-auth",
          "data": {"username": base64.b64encode(b"admin").decode()},
          "stringData": {"password": "hunter2"}}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
             "data": {"mode": "fast", "greeting": "hello"}}


def reader_pod() -> dict:
    ref = {"name": "db", "key": "password"}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "reader", "labels": {"app": "reader"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "app", "image": IMAGE, "command": ["sleep", "3600"],
                "resources": {"limits": {"memory": "64Mi"}},
                "env": [{"name": "PASS", "valueFrom": {"secretKeyRef": ref}},
                        {"name": "MODE", "valueFrom": {"configMapKeyRef": {
                            "name": "cfg", "key": "mode"}}},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {
                            "fieldPath": "metadata.name"}}},
                        {"name": "NODE", "valueFrom": {"fieldRef": {
                            "fieldPath": "spec.nodeName"}}},
                        {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {
                            "resource": "limits.memory", "divisor": "1Mi"}}}],
                "envFrom": [{"secretRef": {"name": "db"}, "prefix": "DB_"}],
                "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"},
                                 {"name": "config", "mountPath": "/etc/config"},
                                 {"name": "info", "mountPath": "/etc/info"}]}],
                "volumes": [
                    {"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400}},
                    {"name": "config", "configMap": {"name": "cfg", "items": [
                        {"key": "greeting", "path": "nested/hello.txt"}]}},
                    {"name": "info", "downwardAPI": {"items": [
                        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}}


def test_a_pod_reads_a_secret_and_a_configmap_as_env_and_files(
        cluster: UpProcess, admin, tmp_path):
    manifest = tmp_path / "all.yaml"
    manifest.write_text(yaml.safe_dump_all([SECRET, CONFIGMAP, reader_pod()]))
    cluster.cli("create", "-f", str(manifest))
    running = wait_for(admin, "pods", "reader",
                       lambda pod: pod.get("status", {}).get("phase") == "Running")

    def run(*command: str) -> str:
        return cluster.cli("exec", "reader", "--", *command).stdout

    env = dict(line.split("=", 1) for line in run("env").splitlines() if "=" in line)
    assert {k: env.get(k) for k in ("PASS", "MODE", "POD_NAME", "NODE", "MEM_MI", "DB_username",
                                    "DB_password")} == {
        "PASS": "hunter2", "MODE": "fast", "POD_NAME": "reader", "NODE": "node-1",
        "MEM_MI": "64", "DB_username": "admin", "DB_password": "hunter2"}
    assert run("cat", "/etc/creds/password") == "hunter2"
    assert run("cat", "/etc/creds/username") == "admin"
    assert run("stat", "-L", "-c", "%a", "/etc/creds/password").strip() == "400"
    assert run("cat", "/etc/config/nested/hello.txt") == "hello"
    assert run("cat", "/etc/info/labels") == 'app="reader"'
    assert run("cat", "/etc/info/name") == "reader"
    assert run("readlink", "/etc/creds/..data").startswith("..")
    refused = cluster.cli("exec", "reader", "--", "sh", "-c", "echo x > /etc/creds/new",
                          check=False)
    assert refused.returncode != 0  # mounted read-only

    host = cluster.data_dir / "kubelet" / "node-1" / "pods" / running["metadata"]["uid"]
    creds = host / "volumes" / "creds"
    assert os.readlink(creds / "password") == "..data/password"

    table = cluster.cli("get", "secrets").stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert table[1].split()[:3] == ["db", "kubernetes.io/basic-auth", "2"]
    described = cluster.cli("describe", "secret", "db").stdout
    assert "password:  7 bytes" in described and "hunter2" not in described
    stored = json.loads(cluster.cli("get", "secret", "db", "-o", "json").stdout)
    assert "stringData" not in stored
    assert base64.b64decode(stored["data"]["password"]) == b"hunter2"

    cluster.cli("delete", "pod", "reader", "--grace-period", "1")
    assert not host.exists()  # the pod's volume files went with it


def test_an_immutable_secret_refuses_a_new_value_and_bad_base64_is_refused(
        cluster: UpProcess, tmp_path):
    manifest = tmp_path / "frozen.yaml"
    frozen = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "frozen"},
              "immutable": True, "stringData": {"k": "v1"}}
    manifest.write_text(yaml.safe_dump(frozen))
    cluster.cli("create", "-f", str(manifest))
    manifest.write_text(yaml.safe_dump({**frozen, "stringData": {"k": "v2"}}))
    refused = cluster.cli("apply", "-f", str(manifest), check=False)
    assert refused.returncode == 1
    assert ('Secret "frozen" is invalid: data: Forbidden: field is immutable when `immutable` '
            "is set") in refused.stderr
    manifest.write_text(yaml.safe_dump({**frozen, "metadata": {"name": "bad"},
                                        "stringData": None, "data": {"k": "not base64!"}}))
    bad = cluster.cli("create", "-f", str(manifest), check=False)
    assert bad.returncode == 1
    assert ('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at '
            "input byte 3") in bad.stderr
