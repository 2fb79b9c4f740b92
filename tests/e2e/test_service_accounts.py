"""A pod's service account token on real Docker: the projected volume at
/var/run/secrets/kubernetes.io/serviceaccount holds ``token``, ``ca.crt`` and ``namespace``
(read back with ``exec``), and the token read there is the pod's account against the
apiserver, on the bus, until the pod is deleted."""

from __future__ import annotations

import pytest

from actors.api import serviceaccounts
from actors.client.client import Client
from bindings import kubeconfig
from bus import BusConfig, Connection
from bus.errors import Forbidden, Unauthorized
from tests.conftest import wait_for
from tests.e2e.conftest import IMAGE
from tests.processes import UpProcess

pytestmark = pytest.mark.e2e

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"},
       "spec": {"terminationGracePeriodSeconds": 1, "containers": [
           {"name": "app", "image": IMAGE, "command": ["sleep", "3600"]}]}}


def cat(cluster: UpProcess, name: str) -> str:
    return cluster.cli("exec", "reader", "--", "cat",
                       f"{serviceaccounts.MOUNT_PATH}/{name}").stdout


def test_a_pod_reads_its_token_and_the_token_is_its_account(cluster: UpProcess, admin):
    admin.create("pods", POD)
    wait_for(admin, "pods", "reader", lambda p: p.get("status", {}).get("phase") == "Running")
    token = cat(cluster, "token").strip()
    assert cat(cluster, "namespace") == "default"
    assert cat(cluster, "ca.crt").startswith("-----BEGIN CERTIFICATE-----")
    config = kubeconfig.load(cluster.kubeconfig)
    bus = BusConfig(url=config.bus().url, prefix=config.prefix, ca=config.ca,
                    user="system:serviceaccount:default:default", password=token)
    connection = Connection(bus, "pod-token").connect()
    try:
        pod = Client(connection, token)
        with pytest.raises(Forbidden, match='User "system:serviceaccount:default:default" '
                                            'cannot get resource "pods"'):
            pod.get("pods", "reader")
        admin.create("rolebindings", {
            "metadata": {"name": "pod-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "default",
                          "namespace": "default"}]}, "default")
        assert pod.get("pods", "reader")["spec"]["serviceAccountName"] == "default"
        cluster.cli("delete", "pod", "reader")
        with pytest.raises(Unauthorized, match='the pod "reader" it is bound to is gone'):
            pod.get("pods", "reader")
    finally:
        connection.close()
