"""The object model (actors/api/: resources, defaulting, validation, amounts) and quantities
(actors/api/quantity.py): validation as kube-apiserver words it, pod defaults, resource names
kubectl accepts, cpu and memory amounts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from actors.api.amounts import pod_amounts, pod_requests
from actors.api.defaulting import DEFAULTERS, default_deployment, default_pod
from actors.api.objects import Object
from actors.api.quantity import parse_cpu, parse_memory
from actors.api.resources import lookup, resolve
from actors.api.validation import validate
from actors.client.events import event_name
from bus.errors import BadRequest, Invalid
from tests.conftest import node, pod

PODS = lookup("", "pods")
EVENTS = lookup("", "events")


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


def bad_init_container(p: Object) -> None:
    p["spec"]["initContainers"] = [{"name": "setup", "image": "busybox:1.35",
                                    "resources": {"limits": {"memory": "lots"}}}]


def init_named_as_app(p: Object) -> None:
    p["spec"]["initContainers"] = [{"name": "web", "image": "busybox:1.35"}]


def init_restarts_on_failure(p: Object) -> None:
    p["spec"]["initContainers"] = [{"name": "setup", "image": "busybox:1.35",
                                    "restartPolicy": "OnFailure"}]


def app_with_restart_policy(p: Object) -> None:
    container(p)["restartPolicy"] = "Always"


def init_containers_not_a_list(p: Object) -> None:
    p["spec"]["initContainers"] = {"name": "setup"}


@pytest.mark.parametrize(
    ("breaks", "cause"),
    [
        (no_containers, "spec.containers: Required value"),
        (bad_name, "metadata.name: Invalid value: \"Web_1\""),
        (duplicate_container, "spec.containers[1].name: Duplicate value: 'web'"),
        (bad_restart_policy, "spec.restartPolicy: Unsupported value: 'Sometimes'"),
        (bad_quantity, "spec.containers[0].resources.requests[cpu]: Invalid value: \"lots\""),
        (bad_init_container,
         "spec.initContainers[0].resources.limits[memory]: Invalid value: \"lots\""),
        (init_named_as_app, "spec.containers[0].name: Duplicate value: 'web'"),
        (init_restarts_on_failure, "spec.initContainers[0].restartPolicy: Unsupported value: "
                                   "'OnFailure': supported values: \"Always\""),
        (app_with_restart_policy, "spec.containers[0].restartPolicy: Forbidden"),
        (init_containers_not_a_list, "spec.initContainers: Invalid value: must be a list"),
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
    container(filled)["ports"] = [{"containerPort": 80}, {"containerPort": 53,
                                                          "protocol": "UDP"}]
    default_pod(filled)
    assert filled["spec"]["restartPolicy"] == "Always"
    assert [port["protocol"] for port in container(filled)["ports"]] == ["TCP", "UDP"]
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


def test_default_pod_requests_what_each_container_limits_and_asks_for_nothing_more():
    limited = pod("web")
    container(limited)["resources"] = {"limits": {"cpu": "2", "memory": "1Gi"},
                                       "requests": {"memory": "256Mi"}}
    limited["spec"]["initContainers"] = [
        {"name": "setup", "image": "busybox:1.35", "resources": {"limits": {"cpu": "500m"}}},
        {"name": "bare", "image": "busybox:1.35", "resources": {"limits": {}}}]
    default_pod(limited)
    assert container(limited)["resources"]["requests"] == {"cpu": "2", "memory": "256Mi"}
    setup, bare = limited["spec"]["initContainers"]
    assert setup["resources"] == {"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}}
    assert bare["resources"] == {"limits": {}}
    assert pod_requests(limited) == (2000, 256 * 2**20)


def test_workload_templates_keep_limits_without_requests_as_kubernetes_does():
    template = {"metadata": {"labels": {"app": "web"}}, "spec": pod("web")["spec"]}
    template["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    deployment = {"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}}
    default_deployment(deployment)
    assert template["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "1"}}


def test_pod_amounts_take_the_larger_of_the_app_sum_and_each_init_container():
    two_apps = pod("web", cpu="1", memory="100Mi")
    two_apps["spec"]["containers"].append(
        {"name": "side", "image": "busybox:1.35", "resources": {"requests": {"cpu": "1"}}})
    two_apps["spec"]["initContainers"] = [
        {"name": "a", "image": "busybox:1.35", "resources": {"requests": {"cpu": "1500m"}}},
        {"name": "b", "image": "busybox:1.35", "resources": {"requests": {"memory": "1Gi"}}}]
    assert pod_amounts(two_apps, "requests") == {"cpu": 2000, "memory": 2**30}
    assert pod_amounts(two_apps, "limits") == {}
    assert pod_requests(two_apps, nonzero=True) == (2000, 2**30)
    two_apps["spec"]["initContainers"][0]["restartPolicy"] = "Always"  # a sidecar now
    assert pod_amounts(two_apps, "requests") == {"cpu": 3500, "memory": 2**30}


def test_a_sidecar_after_a_big_init_container_is_not_added_to_its_peak():
    # Kubernetes' PodRequests: max(apps + every sidecar, the largest init container running
    # with the sidecars started before it) = max(1 + 1, 10 + 0)
    big_init = pod("web", cpu="1")
    big_init["spec"]["initContainers"] = [
        {"name": "setup", "image": "busybox:1.35", "resources": {"requests": {"cpu": "10"}}},
        {"name": "proxy", "image": "busybox:1.35", "restartPolicy": "Always",
         "resources": {"requests": {"cpu": "1"}}}]
    assert pod_amounts(big_init, "requests") == {"cpu": 10000}


@pytest.mark.parametrize(("spec", "amounts"), [
    ({"containers": "x"}, {}), ({"containers": [1, None]}, {}), ({"initContainers": None}, {}),
    ({"containers": [{"resources": {"requests": {"cpu": "lots"}}}]}, {"cpu": 0}), (None, {}),
])
def test_pod_amounts_of_a_malformed_pod_count_nothing_instead_of_failing(
        spec: Any, amounts: dict[str, int]):
    # admission (the quota) reads a pod before validation refuses it
    assert pod_amounts({"spec": spec}, "requests") == amounts


def test_a_limit_range_is_stored_with_kubernetes_defaults_of_its_container_items():
    limit_range = {"spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m"},
         "default": {"memory": "512Mi"}},
        {"type": "Pod", "max": {"cpu": "4"}}]}}
    DEFAULTERS["limitranges"](limit_range)
    container_item, pod_item = limit_range["spec"]["limits"]
    assert container_item["default"] == {"cpu": "2", "memory": "512Mi"}
    assert container_item["defaultRequest"] == {"cpu": "2", "memory": "512Mi"}
    assert pod_item == {"type": "Pod", "max": {"cpu": "4"}}


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
    "junk", ["", "lots", "1.2.3", "12Q", "64 Mi", None, ["1"], True]
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
    ("resourcequotas", {"spec": {"hard": ["1"]}}, "spec.hard: Invalid value"),
    ("admissionregistrations", {"spec": {"subject": "a.b.c", "resources": ["pods"]}},
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


@pytest.mark.parametrize(("item", "causes"), [
    ({"max": {"cpu": "1"}, "default": {"cpu": "2"}},  # defaultRequest from default too
     ['spec.limits[0].defaultRequest[cpu]: Invalid value: "2": default request value 2 is '
      "greater than max value 1",
      'spec.limits[0].default[cpu]: Invalid value: "2": default value 2 is greater than max '
      "value 1"]),
    ({"min": {"memory": "1Gi"}, "default": {"memory": "512Mi"}},  # defaultRequest from default
     ['spec.limits[0].defaultRequest[memory]: Invalid value: "512Mi": min value 1Gi is greater '
      "than default request value 512Mi",
      'spec.limits[0].default[memory]: Invalid value: "512Mi": min value 1Gi is greater than '
      "default value 512Mi"]),
    ({"defaultRequest": {"cpu": "2"}, "default": {"cpu": "1"}, "min": {"cpu": "3"}},
     ['spec.limits[0].defaultRequest[cpu]: Invalid value: "2": default request value 2 is '
      "greater than default limit value 1",
      'spec.limits[0].default[cpu]: Invalid value: "1": min value 3 is greater than default '
      "value 1",
      'spec.limits[0].defaultRequest[cpu]: Invalid value: "2": min value 3 is greater than '
      "default request value 2"]),
    ({"min": {"cpu": "100m"}, "defaultRequest": {"cpu": "500m"}, "default": {"cpu": "1"},
      "max": {"cpu": "2"}}, []),
])
def test_a_limit_range_must_keep_min_default_request_default_and_max_in_order(
        item: Object, causes: list[str]):
    limit_range = {"metadata": {"name": "x"}, "spec": {"limits": [{"type": "Container", **item}]}}
    DEFAULTERS["limitranges"](limit_range)  # the apiserver validates what it would store
    if not causes:
        validate(resolve("limitranges"), limit_range)
        return
    with pytest.raises(Invalid) as invalid:
        validate(resolve("limitranges"), limit_range)
    assert sorted(invalid.value.details["causes"]) == sorted(causes)


def test_a_well_formed_admission_registration_is_valid():
    info = resolve("admissionregistrations")
    validate(info, {"apiVersion": info.api_version, "kind": info.kind, "metadata": {"name": "x"},
                    "spec": {"subject": "image-policy", "operations": ["CREATE", "UPDATE"],
                             "resources": ["pods", "pods/*"], "timeoutSeconds": 5,
                             "failurePolicy": "Ignore", "mutating": True}})


def deployment_body(**spec: object) -> dict:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    body["spec"].update(spec)
    return body


def workload_problems(body: dict, resource: str = "deployments") -> list[str]:
    DEFAULTERS[resource](body)
    try:
        validate(lookup("apps", resource), body)
    except Invalid as error:
        return list(error.details["causes"])
    return []


def test_deployments_are_defaulted_as_kubernetes_does():
    body = deployment_body()
    default_deployment(body)
    spec = body["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (
        1, 10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert "tolerations" not in spec["template"]["spec"]  # added to pods, not templates
    assert workload_problems(body) == []


def test_workloads_need_a_selector_matching_their_template_and_sane_numbers():
    assert workload_problems(deployment_body(selector=None)) == ["spec.selector: Required value"]
    mismatch = workload_problems(deployment_body(selector={"matchLabels": {"app": "db"}}))
    assert mismatch == ["spec.template.metadata.labels: Invalid value: {'app': 'web'}: "
                        "`selector` does not match template `labels`"]
    unlabelled = deployment_body()  # found by the cluster fuzz: its ReplicaSet was refused
    del unlabelled["spec"]["template"]["metadata"]["labels"]
    assert workload_problems(unlabelled) == ["spec.template.metadata.labels: Invalid value: "
                                             "None: `selector` does not match template `labels`"]
    assert workload_problems(deployment_body(replicas=-1)) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
    empty = deployment_body()
    empty["kind"] = "ReplicaSet"
    empty["spec"]["template"]["spec"] = {"containers": [], "restartPolicy": "Never"}
    assert workload_problems(empty, "replicasets") == [
        "spec.template.spec.containers: Required value",
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
        '"Always"']


def test_rolling_update_parameters_are_checked():
    zero = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}
    assert workload_problems(deployment_body(strategy=zero)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
        "`maxSurge` is 0"]
    bad = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "lots", "maxUnavailable": 1}}
    assert workload_problems(deployment_body(strategy=bad))[0].startswith(
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: 'lots'")
    mixed = {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}
    assert workload_problems(deployment_body(strategy=mixed)) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
        "'Recreate'"]


def sets_body(kind: str, **spec: object) -> dict:
    return dict(deployment_body(**spec), kind=kind)


def test_daemonsets_and_statefulsets_are_defaulted_as_kubernetes_does():
    daemonset = sets_body("DaemonSet")
    assert workload_problems(daemonset, "daemonsets") == []
    assert daemonset["spec"]["updateStrategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert "replicas" not in daemonset["spec"]
    statefulset = sets_body("StatefulSet", updateStrategy={"type": "RollingUpdate"})
    assert workload_problems(statefulset, "statefulsets") == []
    spec = statefulset["spec"]
    assert (spec["replicas"], spec["podManagementPolicy"], spec["revisionHistoryLimit"],
            spec["updateStrategy"]) == (1, "OrderedReady", 10, {
                "type": "RollingUpdate", "rollingUpdate": {"partition": 0}})


def test_daemonset_and_statefulset_strategies_are_checked():
    assert workload_problems(sets_body("DaemonSet", updateStrategy={"type": "Recreate"}),
                             "daemonsets") == [
        'spec.updateStrategy.type: Unsupported value: "Recreate": supported values: '
        '"OnDelete", "RollingUpdate"']
    zero = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}
    assert workload_problems(sets_body("DaemonSet", updateStrategy=zero), "daemonsets") == [
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 "
        "when `maxSurge` is 0"]
    assert workload_problems(sets_body("StatefulSet", podManagementPolicy="Random",
                                       updateStrategy={"type": "RollingUpdate",
                                                       "rollingUpdate": {"partition": -1}}),
                             "statefulsets") == [
        'spec.podManagementPolicy: Unsupported value: "Random": supported values: '
        '"OrderedReady", "Parallel"',
        "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater "
        "than or equal to 0"]


def test_a_statefulsets_volume_claim_templates_are_checked_as_claims():
    claims = [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}},
              {"spec": {"accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}}}}]
    assert workload_problems(sets_body("StatefulSet", volumeClaimTemplates=claims),
                             "statefulsets") == [
        "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value",
        "spec.volumeClaimTemplates[1].metadata.name: Required value: name or generateName is "
        "required"]


def test_kubectl_names_of_the_workloads_resolve():
    for word in ("rs", "replicaset", "replicasets", "ReplicaSet", "replicaset.apps"):
        assert resolve(word).name == "replicasets"
    for word in ("deploy", "deployment", "deployments", "deployment.apps", "deployments.apps"):
        assert resolve(word).name == "deployments"
    for word in ("ds", "daemonset.apps", "sts", "statefulsets", "controllerrevisions"):
        assert resolve(word).name in ("daemonsets", "statefulsets", "controllerrevisions")


def test_an_event_named_after_a_long_pod_name_as_client_go_names_it_is_valid():
    """A pod's name may be 253 characters; client-go (and the EventRecorder) names its Events
    ``<pod>.<nanoseconds in hex>``, 17 more. kube-apiserver checks no name format on a core/v1
    Event (ValidateEventCreate: "No further validation for backwards compatibility") beyond
    what every object's name must be (a path segment), so such a pod's events are stored;
    refused as DNS subdomains here, every event of a pod named 237 characters or more was
    lost (422)."""
    name = "a" * 240
    long_named = pod(name)
    long_named["spec"]["containers"][0]["name"] = "app"
    validate(PODS, long_named)  # the pod itself is valid
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"name": event_name(name, time.time_ns()), "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": name, "namespace": "default"},
             "reason": "Scheduled", "message": "assigned", "type": "Normal"}
    validate(EVENTS, event)


@pytest.mark.parametrize("name", ["a/b", "a%b", ".", ".."])
def test_an_event_name_must_still_be_a_path_segment(name: str):
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name,
                                                               "namespace": "default"}}
    with pytest.raises(Invalid) as raised:
        validate(EVENTS, event)
    assert "metadata.name" in raised.value.message
