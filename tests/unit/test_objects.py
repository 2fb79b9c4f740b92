"""The object model (actors/objects.py) and quantities (actors/quantity.py): validation as
kube-apiserver words it, pod defaults, resource names kubectl accepts, cpu and memory amounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actors.objects import default_pod, lookup, resolve, validate
from actors.quantity import parse_cpu, parse_memory
from bus.errors import BadRequest, Invalid
from tests.conftest import node, pod

Object = dict[str, Any]
PODS = lookup("", "pods")


def container(pod_: Object, index: int = 0) -> Object:
    return pod_["spec"]["containers"][index]


def no_containers(p: Object) -> None:
    p["spec"]["containers"] = []


def bad_name(p: Object) -> None:
    p["metadata"]["name"] = "Web_1"


def duplicate_container(p: Object) -> None:
    p["spec"]["containers"].append(dict(container(p)))


def bad_restart_policy(p: Object) -> None:
    p["spec"]["restartPolicy"] = "Sometimes"


def bad_quantity(p: Object) -> None:
    container(p)["resources"] = {"requests": {"cpu": "lots"}}


@pytest.mark.parametrize(
    ("breaks", "cause"),
    [
        (no_containers, "spec.containers: Required value"),
        (bad_name, "metadata.name: Invalid value: \"Web_1\""),
        (duplicate_container, "spec.containers[1].name: Duplicate value: 'web'"),
        (bad_restart_policy, "spec.restartPolicy: Unsupported value: 'Sometimes'"),
        (bad_quantity, "spec.containers[0].resources.requests[cpu]: Invalid value: 'lots'"),
    ],
)
def test_validate_rejects_an_invalid_pod_as_invalid_naming_the_cause(
    breaks: Callable[[Object], None], cause: str
):
    broken = pod("web")
    breaks(broken)
    with pytest.raises(Invalid) as raised:
        validate(PODS, broken)
    assert raised.value.code == 422
    assert cause in raised.value.message
    assert any(c.startswith(cause) for c in raised.value.details["causes"])


def test_validate_lists_every_cause_in_one_message():
    broken = pod("web")
    for breaks in (bad_name, duplicate_container, bad_restart_policy, bad_quantity):
        breaks(broken)
    with pytest.raises(Invalid) as raised:
        validate(PODS, broken)
    causes = raised.value.details["causes"]
    assert len(causes) == 4
    assert raised.value.message == "Pod \"Web_1\" is invalid: " + ", ".join(causes)


def test_validate_accepts_a_well_formed_pod():
    good = pod("web", cpu="250m", memory="64Mi", command=["sleep", "1"])
    validate(PODS, good)


def test_validate_reports_a_non_string_quantity_as_invalid():
    # YAML 1.1 reads `cpu: yes` as True: it must be a 422, not an escaped ArithmeticError.
    broken = pod("web")
    container(broken)["resources"] = {"limits": {"cpu": True}}
    with pytest.raises(Invalid, match=r"resources.limits\[cpu\]"):
        validate(PODS, broken)


def test_default_pod_fills_what_kubernetes_defaults():
    filled = pod("web")
    del filled["spec"]["restartPolicy"]
    default_pod(filled)
    assert filled["spec"]["restartPolicy"] == "Always"
    assert filled["spec"]["schedulerName"] == "default-scheduler"
    assert filled["status"]["phase"] == "Pending"


def test_default_pod_keeps_what_the_user_set():
    chosen = pod("web", restart="Never")
    chosen["spec"]["schedulerName"] = "my-scheduler"
    container(chosen)["imagePullPolicy"] = "Never"
    default_pod(chosen)
    assert chosen["spec"]["restartPolicy"] == "Never"
    assert chosen["spec"]["schedulerName"] == "my-scheduler"
    assert container(chosen)["imagePullPolicy"] == "Never"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("localhost:5000/busybox", "Always"),
        ("busybox:1.36", "IfNotPresent"),
        ("localhost:5000/tools/busybox:1.36", "IfNotPresent"),
        ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_default_pull_policy_depends_on_the_image_tag(image: str, policy: str):
    defaulted = pod("web")
    container(defaulted)["image"] = image
    default_pod(defaulted)
    assert container(defaulted)["imagePullPolicy"] == policy


@pytest.mark.parametrize(
    ("word", "resource"),
    [("po", "pods"), ("pod", "pods"), ("pods", "pods"), ("Pod", "pods"),
     ("no", "nodes"), ("nodes", "nodes"), ("roles.rbac.authorization.k8s.io", "roles")],
)
def test_resolve_knows_the_names_kubectl_users_type(word: str, resource: str):
    assert resolve(word).name == resource


def test_resolve_of_an_unknown_word_is_bad_request():
    with pytest.raises(BadRequest, match='resource type "widgets"'):
        resolve("widgets")


@pytest.mark.parametrize(
    ("amount", "millicores"), [("250m", 250), ("2", 2000), ("0.5", 500), ("1.5", 1500), (1, 1000)]
)
def test_parse_cpu_gives_millicores(amount: Any, millicores: int):
    assert parse_cpu(amount) == millicores


@pytest.mark.parametrize(
    ("amount", "size"),
    [("64Mi", 64 * 2**20), ("1G", 10**9), ("1Gi", 2**30), ("128974848", 128974848),
     ("1k", 1000)],
)
def test_parse_memory_gives_bytes(amount: Any, size: int):
    assert parse_memory(amount) == size


@pytest.mark.parametrize(
    "junk", ["", "lots", "1.2.3", "12Q", "-1", "64 Mi", None, ["1"], True]
)
@pytest.mark.parametrize("parse", [parse_cpu, parse_memory])
def test_junk_quantity_raises_value_error(parse: Callable[[Any], int], junk: Any):
    with pytest.raises(ValueError):
        parse(junk)


def test_node_with_a_bad_quantity_is_invalid():
    bad = node("n1")
    bad["status"]["allocatable"]["cpu"] = "lots"
    with pytest.raises(Invalid, match=r"status.allocatable\[cpu\]"):
        validate(lookup("", "nodes"), bad)


def test_malformed_rbac_objects_are_invalid():
    rbac = "rbac.authorization.k8s.io"
    binding = {"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
               "subjects": ["x"]}
    with pytest.raises(Invalid, match=r"subjects\[0\]"):
        validate(lookup(rbac, "clusterrolebindings"), binding)
    role = {"metadata": {"name": "r"}, "rules": [{"verbs": "get"}]}
    with pytest.raises(Invalid, match=r"rules\[0\].verbs"):
        validate(lookup(rbac, "clusterroles"), role)


def test_configmap_data_must_be_strings():
    with pytest.raises(Invalid, match=r"data\[replicas\]"):
        validate(lookup("", "configmaps"), {"metadata": {"name": "c"}, "data": {"replicas": 3}})


def test_a_lease_with_an_unreadable_renew_time_is_invalid():
    lease = {"metadata": {"name": "n1"}, "spec": {"renewTime": "2026-11-26T12:00:00+00:00"}}
    with pytest.raises(Invalid, match=r"spec\.renewTime"):
        validate(lookup("coordination.k8s.io", "leases"), lease)


@pytest.mark.parametrize(("resource", "obj", "problem"), [
    ("limitranges", {"spec": {}}, "spec.limits: Required value"),
    ("limitranges", {"spec": {"limits": [{"type": "Node"}]}}, "spec.limits[0].type: Unsupported"),
    ("limitranges", {"spec": {"limits": [{"default": {"cpu": "lots"}}]}},
     "spec.limits[0].default[cpu]: Invalid value"),
    ("resourcequotas", {"spec": {"hard": {"requests.memory": "1Zz"}}},
     "spec.hard[memory]: Invalid value"),
    ("resourcequotas", {"spec": {}}, "spec.hard: Required value"),
    ("admissionregistrations", {"spec": {"subject": "a.b", "resources": ["pods"]}},
     "spec.subject: Invalid value"),
    ("admissionregistrations", {"spec": {"subject": "a", "resources": ["pods"],
                                         "operations": ["PATCH"]}},
     "spec.operations: Unsupported value: 'PATCH'"),
    ("admissionregistrations", {"spec": {"subject": "a", "resources": ["pods"],
                                         "timeoutSeconds": 31}}, "spec.timeoutSeconds"),
    ("admissionregistrations", {"spec": {"subject": "a", "resources": ["pods"],
                                         "failurePolicy": "Maybe"}},
     "spec.failurePolicy: Unsupported value"),
    ("admissionregistrations", {"spec": {"subject": "a"}}, "spec.resources: Required value"),
])
def test_admission_objects_are_validated(resource: str, obj: Object, problem: str):
    info = resolve(resource)
    obj = {"apiVersion": info.api_version, "kind": info.kind, "metadata": {"name": "x"}, **obj}
    with pytest.raises(Invalid) as invalid:
        validate(info, obj)
    assert problem in invalid.value.message


def test_a_well_formed_admission_registration_is_valid():
    info = resolve("admissionregistrations")
    validate(info, {"apiVersion": info.api_version, "kind": info.kind, "metadata": {"name": "x"},
                    "spec": {"subject": "image-policy", "operations": ["CREATE", "UPDATE"],
                             "resources": ["pods", "pods/*"], "timeoutSeconds": 5,
                             "failurePolicy": "Ignore", "mutating": True}})
