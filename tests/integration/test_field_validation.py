"""Kubernetes' schema over the bus: a misspelt field is refused under ``fieldValidation:
Strict``, dropped with a warning in the reply under the default ``Warn``; a wrong type is a 422
naming its path; nothing refused reaches the store."""

from __future__ import annotations

import pytest

from actors.client.client import Client
from bindings.cluster import Cluster
from bus.errors import BadRequest, NotFound
from tests.conftest import pod

pytestmark = pytest.mark.integration


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


@pytest.fixture
def with_controllers() -> bool:
    return False


@pytest.fixture
def admin(control_plane: Cluster) -> Client:
    return control_plane.admin_client()


def misspelt(name: str) -> dict:
    body = pod(name)
    body["spec"]["containers"][0]["imagPullPolicy"] = "Always"
    return body


def test_strict_refuses_a_misspelt_field_and_stores_nothing(admin: Client):
    admin.field_validation = "Strict"
    with pytest.raises(BadRequest) as raised:
        admin.create("pods", misspelt("strict"))
    assert raised.value.message == ('Pod in version "v1" cannot be handled as a Pod: strict '
                                    'decoding error: unknown field '
                                    '"spec.containers[0].imagPullPolicy"')
    with pytest.raises(NotFound):
        admin.get("pods", "strict")


def test_warn_drops_the_field_and_the_reply_says_so(admin: Client):
    warnings: list[str] = []
    admin.warn = warnings.append
    created = admin.create("pods", misspelt("warned"))
    assert warnings == ['unknown field "spec.containers[0].imagPullPolicy"']
    assert "imagPullPolicy" not in admin.get("pods", "warned")["spec"]["containers"][0]
    assert created["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_a_list_where_a_map_belongs_is_a_bad_request_naming_the_go_field(admin: Client):
    body = pod("listy")
    body["spec"]["affinity"] = []
    with pytest.raises(BadRequest) as raised:
        admin.create("pods", body)
    assert raised.value.code == 400
    assert raised.value.message == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal array into Go '
        "struct field PodSpec.spec.affinity of type v1.Affinity")


def test_an_rbac_name_with_a_colon_is_accepted(admin: Client):
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "example:reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    admin.create("clusterroles", role, None)
    assert admin.get("clusterroles", "example:reader", None)["metadata"]["name"] == \
        "example:reader"
