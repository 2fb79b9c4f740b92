"""``kubeactor auth can-i`` and ``auth who-can`` against ``kubeactor up`` (simulated runtime:
Docker adds nothing to authorization)."""

from __future__ import annotations

import csv
import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bindings import kubeconfig
from tests.processes import UpProcess, start_up, stop_up

pytestmark = pytest.mark.e2e

RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Iterator[UpProcess]:
    data = tmp_path_factory.mktemp("auth")
    with (data / "tokens.csv").open("w", newline="") as handle:
        csv.writer(handle).writerow(["tok-dev", "dev", "dev", ""])
    up = start_up(data, "--nodes", "0", "--runtime", "sim")
    yield up
    stop_up(up)


@pytest.fixture(scope="module")
def dev_kubeconfig(sim: UpProcess) -> Path:
    """The user ``dev``, with ``edit`` in team-a through a RoleBinding."""
    manifest = sim.data_dir / "dev.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\n"
        f"apiVersion: {RBAC}/v1\nkind: RoleBinding\n"
        "metadata: {name: dev-edit, namespace: team-a}\n"
        f"roleRef: {{apiGroup: {RBAC}, kind: ClusterRole, name: edit}}\n"
        "subjects: [{kind: User, name: dev}]\n")
    sim.cli("apply", "-f", str(manifest))
    path = sim.data_dir / "dev-kubeconfig"
    admin = kubeconfig.load(sim.kubeconfig)
    kubeconfig.write(path, dataclasses.replace(  # on the bus too, as the token's user
        admin, token="tok-dev", user="dev", client_cert=None, client_key=None, nats_user=None,
        nats_password=None))
    return path


def as_dev(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bindings.cli", "--kubeconfig", str(path),
                           *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("args", "answer"), [
    (["create", "pods", "-n", "team-a"], "yes"),
    (["delete", "pods/exec", "-n", "team-a"], "yes"),
    (["create", "pods"], "no"),
    (["list", "nodes"], "no"),
    (["create", "rolebindings", "-n", "team-a"], "no"),
    (["get", "configmaps", "app-config", "-n", "team-a"], "yes"),
])
def test_can_i_answers_for_the_user_of_the_kubeconfig(dev_kubeconfig, args, answer):
    result = as_dev(dev_kubeconfig, "auth", "can-i", *args)
    assert (result.stdout, result.returncode) == (f"{answer}\n", 0 if answer == "yes" else 1)


def test_can_i_as_another_user_needs_impersonate(sim, dev_kubeconfig):
    assert sim.cli("auth", "can-i", "delete", "nodes").stdout == "yes\n"
    asked = sim.cli("auth", "can-i", "create", "pods", "-n", "team-a", "--as", "dev",
                    check=False)
    assert (asked.stdout, asked.returncode) == ("yes\n", 0)
    asked = sim.cli("auth", "can-i", "delete", "nodes", "--as", "dev", check=False)
    assert (asked.stdout, asked.returncode) == ("no\n", 1)
    asked = sim.cli("auth", "can-i", "delete", "nodes", "--as", "dev", "--as-group",
                    "system:masters", check=False)
    assert (asked.stdout, asked.returncode) == ("yes\n", 0)
    refused = as_dev(dev_kubeconfig, "auth", "can-i", "get", "pods", "--as", "admin")
    assert refused.returncode == 1
    assert refused.stderr == ('Error from server (Forbidden): users "admin" is forbidden: User '
                              '"dev" cannot impersonate resource "users" in API group "" at the '
                              "cluster scope\n")


def test_can_i_warns_about_an_unknown_resource(sim):
    result = sim.cli("auth", "can-i", "create", "widgets", check=False)
    assert result.stderr == "Warning: the server doesn't have a resource type 'widgets'\n"
    assert result.stdout == "yes\n"  # cluster-admin's "*" covers it


def test_who_can_lists_subjects_and_their_bindings(sim, dev_kubeconfig):
    lines = sim.cli("auth", "who-can", "create", "pods", "-n", "team-a").stdout.splitlines()
    assert lines[0].split() == ["ROLEBINDING", "NAMESPACE", "SUBJECT", "TYPE", "SA-NAMESPACE"]
    assert lines[1].split() == ["dev-edit", "team-a", "dev", "User"]
    assert lines[2] == ""
    assert lines[3].split() == ["CLUSTERROLEBINDING", "SUBJECT", "TYPE", "SA-NAMESPACE"]
    assert lines[4].split() == ["cluster-admin", "system:masters", "Group"]
    assert lines[5].split() == ["system:kube-controller-manager",  # its garbage collector
                                "system:kube-controller-manager", "User"]
    assert len(lines) == 6
    binders = sim.cli("auth", "who-can", "create", "pods/binding").stdout.splitlines()
    assert binders[0] == ("No subjects found with permissions to create pods/binding assigned "
                          "through RoleBindings")
    assert [line.split()[:2] for line in binders[3:]] == [
        ["cluster-admin", "system:masters"], ["system:kube-scheduler", "system:kube-scheduler"]]


def test_certs_issue_writes_a_kubeconfig_whose_user_rbac_judges_at_once(sim):
    path = sim.data_dir / "grace-kubeconfig"
    issued = sim.cli("certs", "issue", "--user", "grace", "--group", "qa",
                     "--kubeconfig-out", str(path))
    assert issued.stdout.splitlines()[-1] == f'kubeconfig of user "grace" written to {path}'
    assert as_dev(path, "auth", "can-i", "list", "pods").stdout == "no\n"
    denied = as_dev(path, "get", "pods")
    assert (denied.returncode, denied.stderr) == (1, (
        'Error from server (Forbidden): pods is forbidden: User "grace" cannot list resource '
        '"pods" in API group "" in the namespace "default"\n'))
    manifest = sim.data_dir / "qa.yaml"
    manifest.write_text(
        f"apiVersion: {RBAC}/v1\nkind: RoleBinding\n"
        "metadata: {name: qa-view, namespace: default}\n"
        f"roleRef: {{apiGroup: {RBAC}, kind: ClusterRole, name: view}}\n"
        "subjects: [{kind: Group, name: qa}]\n")
    sim.cli("apply", "-f", str(manifest))
    assert as_dev(path, "auth", "can-i", "list", "pods").stdout == "yes\n"
    assert as_dev(path, "get", "pods").returncode == 0
    snooping = as_dev(path, "trace", "--timeout", "1")  # its own NATS identity, not the admin's
    assert "NATS user 'grace' may not subscribe to kubeactor.>" in snooping.stderr
    rows = [line.split() for line in sim.cli("get", "csr").stdout.splitlines()]
    assert rows[0][-1] == "CONDITION" and rows[1][-1] == "Approved,Issued"
