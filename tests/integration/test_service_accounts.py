"""Service accounts on a real cluster (real NATS, simulated nodes): every namespace gets its
``default`` account and the root CA ConfigMap; a token from ``kubeactor create token`` is the
account on the bus (its own NATS identity) and over HTTPS (real kubectl with the token), RBAC
bound to the account applies; a pod's token (its projected volume, read with ``exec``) dies
with the pod; TokenReview says who a token is."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from actors.api import serviceaccounts
from actors.client.client import Client
from bindings.cluster import Cluster, ClusterConfig
from bus import BusConfig, Connection
from bus.errors import BusError, Forbidden, Unauthorized
from tests.conftest import pod, wait_for
from tests.integration.test_https_kubectl import KUBECTL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    cluster = Cluster.start(ClusterConfig(data_dir=tmp_path_factory.mktemp("sa"), nodes=1,
                                          runtime="sim"))
    yield cluster
    cluster.stop()


@pytest.fixture
def admin(cluster: Cluster) -> Client:
    return cluster.admin_client()


@pytest.fixture
def as_token(cluster: Cluster) -> Iterator:
    """``as_token(namespace, name, token)``: a client on the bus as that service account."""
    opened: list[Connection] = []

    def make(namespace: str, name: str, token: str) -> Client:
        bus = BusConfig(url=cluster.url, prefix=cluster.config.prefix, ca=cluster.bus_ca,
                        user=f"system:serviceaccount:{namespace}:{name}", password=token)
        opened.append(Connection(bus, f"sa-{name}").connect())
        return Client(opened[-1], token)

    yield make
    for connection in opened:
        connection.close()


def create_token(cluster: Cluster, name: str, namespace: str, *extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig_path),
         "create", "token", name, "-n", namespace, *extra],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def namespace(admin: Client, name: str) -> str:
    admin.create("namespaces", {"metadata": {"name": name}}, None)
    wait_for(admin, "serviceaccounts", "default", lambda _: True, namespace=name)
    return name


def grant_get_pods(admin: Client, ns: str, account: str) -> None:
    admin.create("roles", {"metadata": {"name": "pod-reader"}, "rules": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}, ns)
    admin.create("rolebindings", {
        "metadata": {"name": "pod-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}]}, ns)


def test_a_new_namespace_gets_the_default_account_and_the_root_ca(cluster, admin):
    ns = namespace(admin, "fresh")
    configmap = wait_for(admin, "configmaps", serviceaccounts.ROOT_CA_CONFIGMAP,
                         lambda _: True, namespace=ns)
    assert configmap["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    admin.delete("serviceaccounts", "default", ns)  # the controller makes it again
    wait_for(admin, "serviceaccounts", "default", lambda _: True, namespace=ns)


def test_a_token_from_create_token_is_the_account_on_the_bus_and_rbac_applies(
        cluster, admin, as_token):
    ns = namespace(admin, "team")
    admin.create("serviceaccounts", {"metadata": {"name": "reader"}}, ns)
    admin.create("pods", pod("web"), ns)
    token = create_token(cluster, "reader", ns)
    reader = as_token(ns, "reader", token)
    with pytest.raises(Forbidden) as refused:
        reader.get("pods", "web", ns)
    assert 'User "system:serviceaccount:team:reader" cannot get resource "pods"' in str(
        refused.value)
    grant_get_pods(admin, ns, "reader")
    assert reader.get("pods", "web", ns)["spec"]["serviceAccountName"] == "default"
    review = admin.request("create", "tokenreviews", body={"spec": {"token": token}})
    assert review["status"]["authenticated"] is True
    assert review["status"]["user"]["username"] == "system:serviceaccount:team:reader"
    assert review["status"]["user"]["groups"] == [
        "system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]


def test_a_token_for_another_audience_is_not_for_the_api(cluster, admin, as_token):
    ns = namespace(admin, "aud")
    token = create_token(cluster, "default", ns, "--audience", "vault", "--duration", "15m")
    with pytest.raises(BusError) as refused:  # the bus admits no connection of it
        as_token(ns, "default", token)
    assert "Authorization Violation" in str(refused.value)
    review = admin.request("create", "tokenreviews", body={"spec": {
        "token": token, "audiences": ["vault"]}})
    assert review["status"]["authenticated"] is True
    assert review["status"]["audiences"] == ["vault"]


def test_a_pods_mounted_token_dies_with_the_pod(cluster, admin, as_token):
    ns = namespace(admin, "mounted")
    grant_get_pods(admin, ns, "default")
    admin.create("pods", pod("holder"), ns)
    running = wait_for(admin, "pods", "holder",
                       lambda p: p.get("status", {}).get("phase") == "Running", namespace=ns)
    volume = next(v["name"] for v in running["spec"]["volumes"]
                  if v["name"].startswith(serviceaccounts.VOLUME_PREFIX))
    assert running["spec"]["containers"][0]["volumeMounts"][-1] == {
        "name": volume, "readOnly": True, "mountPath": serviceaccounts.MOUNT_PATH}
    read = admin.request("create", "pods", namespace=ns, name="holder", subresource="exec",
                         body={"command": ["cat", f"{serviceaccounts.MOUNT_PATH}/token"]})
    token = read["stdout"].strip()
    named = admin.request("create", "pods", namespace=ns, name="holder", subresource="exec",
                          body={"command": ["cat", f"{serviceaccounts.MOUNT_PATH}/namespace"]})
    assert named["stdout"] == ns
    holder = as_token(ns, "default", token)
    assert holder.get("pods", "holder", ns)["metadata"]["uid"] == running["metadata"]["uid"]
    admin.delete("pods", "holder", ns, grace_period=0)
    with pytest.raises(Unauthorized) as refused:
        holder.get("pods", "holder", ns)
    assert 'the pod "holder" it is bound to is gone' in str(refused.value)


def test_a_pod_naming_a_missing_account_is_refused(admin):
    ns = namespace(admin, "strict")
    spec = pod("orphan")
    spec["spec"]["serviceAccountName"] = "ghost"
    with pytest.raises(Forbidden) as refused:
        admin.create("pods", spec, ns)
    assert str(refused.value).endswith(
        'error looking up service account strict/ghost: serviceaccount "ghost" not found')


def test_kubectl_with_a_service_account_token_over_https(cluster, admin, tmp_path):
    ns = namespace(admin, "web")
    grant_get_pods(admin, ns, "default")
    admin.create("pods", pod("site"), ns)
    token = create_token(cluster, "default", ns)
    ca = tmp_path / "ca.crt"
    ca.write_text(admin.get("configmaps", serviceaccounts.ROOT_CA_CONFIGMAP, ns)["data"]["ca.crt"])
    assert cluster.https is not None
    config = tmp_path / "empty.kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\n")
    base = [KUBECTL, "--kubeconfig", str(config), "--server", cluster.https.url,
            "--certificate-authority", str(ca), "-n", ns]
    shown = subprocess.run([*base, "--token", token, "get", "pod", "site", "-o", "name"],
                           capture_output=True, text=True, timeout=60)
    assert (shown.returncode, shown.stdout) == (0, "pod/site\n"), shown.stderr
    denied = subprocess.run([*base, "--token", token, "get", "secrets"],
                            capture_output=True, text=True, timeout=60)
    assert denied.returncode == 1
    assert 'User "system:serviceaccount:web:default" cannot list resource "secrets"' in \
        denied.stderr
    forged = subprocess.run([*base, "--token", token[:-4] + "AAAA", "get", "pods"],
                            capture_output=True, text=True, timeout=60)
    assert forged.returncode == 1 and "Unauthorized" in forged.stderr


def test_get_serviceaccounts_prints_name_secrets_age(cluster, admin):
    ns = namespace(admin, "listed")
    result = subprocess.run(
        [sys.executable, "-m", "bindings.cli", "--kubeconfig", str(cluster.kubeconfig_path),
         "get", "sa", "-n", ns], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "SECRETS", "AGE"]
    assert row.split()[:2] == ["default", "0"]


def test_a_data_dir_of_an_older_version_gets_the_rules_its_controllers_now_need(tmp_path):
    config = ClusterConfig(data_dir=tmp_path / "old", nodes=0)
    first = Cluster.start(config)
    try:
        admin = first.admin_client()
        role = admin.get("clusterroles", "system:kube-controller-manager", None)
        rule = {"apiGroups": [""], "resources": ["serviceaccounts", "configmaps"],
                "verbs": ["create"]}
        role["rules"].remove(rule)  # as an older version stored it
        admin.update("clusterroles", role)
    finally:
        first.stop()
    again = Cluster.start(config)
    try:
        admin = again.admin_client()
        assert rule in admin.get("clusterroles", "system:kube-controller-manager", None)["rules"]
        namespace(admin, "after-upgrade")  # its default account is made
    finally:
        again.stop()
