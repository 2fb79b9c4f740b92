"""The validation corpus: for every kind kubeactor serves, real manifests (the Kubernetes docs'
and examples/manifests/) are accepted under ``fieldValidation: Strict``, and generated broken
ones (a wrong type at every level of a pod, unknown fields, bad names, labels and quantities)
are refused with a 4xx naming the path, in kube-apiserver's words."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from actors.api import certificates, certs, crds, flowcontrol, quantity, schema
from actors.api.objects import Object
from actors.api.resources import RESOURCES, REVIEWS, lookup
from actors.api.validation import decode, validate
from actors.apiserver.registry import prepare_create
from bus.errors import ApiError, BadRequest, Invalid
from tests.unit.actors.api import test_crds

PODS = lookup("", "pods")
MANIFESTS = Path(__file__).parents[4] / "examples" / "manifests"
NETWORKING = Path(__file__).parents[4] / "tests" / "integration" / "manifests" / "networking"
STORAGE = NETWORKING.parent / "storage"
"""The Kubernetes documentation's Service, Ingress, IngressClass and NetworkPolicy."""
_RBAC = "rbac.authorization.k8s.io/v1"


def _doc_pod() -> Object:
    """A pod with most of what the Kubernetes docs' task pages show."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web", "tier": ""},
                     "annotations": {"example.com/owner": "team a"}},
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox:1.35",
                                "command": ["sh", "-c", "true"]}],
            "containers": [{
                "name": "nginx", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}],
                "env": [{"name": "MODE", "value": "prod"},
                        {"name": "POD", "valueFrom": {"fieldRef": {
                            "fieldPath": "metadata.name"}}}],
                "resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                              "limits": {"cpu": 1, "memory": "1e9"}},
                "livenessProbe": {"httpGet": {"path": "/", "port": "http"},
                                  "initialDelaySeconds": 3, "periodSeconds": 3},
                "readinessProbe": {"tcpSocket": {"port": 80}},
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
            "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "500Mi"}}],
            "nodeSelector": {"disktype": "ssd"},
            "tolerations": [{"key": "example-key", "operator": "Exists",
                             "effect": "NoSchedule"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "topology.kubernetes.io/zone", "operator": "In",
                     "values": ["antarctica-east1"]}]}]}},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                    "weight": 100, "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
                        "topologyKey": "kubernetes.io/hostname"}}]}},
            "securityContext": {"runAsUser": 1000, "fsGroup": 2000},
            "terminationGracePeriodSeconds": 30, "priorityClassName": "high",
        },
    }


def _csr() -> Object:
    request = certs.make_csr(certs.new_key(), certs.Identity("jane", ("dev",)))
    return certificates.signing_request("jane", request)


def _workload(kind: str) -> Object:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web",
                                                           "image": "nginx:1.25"}]}}}}


VALID: dict[str, list[Object]] = {
    "namespaces": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}],
    "pods": [_doc_pod()],
    "nodes": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {
        "kubernetes.io/hostname": "n1"}}, "spec": {"taints": [
            {"key": "gpu", "value": "true", "effect": "NoSchedule"}]},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}],
    "events": [{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.17a"},
                "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
                "reason": "Scheduled", "message": "assigned", "type": "Normal", "count": 1}],
    "configmaps": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "game"},
                    "data": {"player_initial_lives": "3",
                             "game.properties": "enemy.types=aliens\n"}}],
    "secrets": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dotfile-secret"},
                 "data": {".secret-file": "dmFsdWUtMg0KDQo="}},
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secret-basic-auth"},
                 "type": "kubernetes.io/basic-auth",
                 "stringData": {"username": "admin", "password": "t0p-Secret"}}],
    "leases": [{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1",
                                                     "leaseDurationSeconds": 40}}],
    "roles": [{"apiVersion": _RBAC, "kind": "Role", "metadata": {"name": "pod-reader"},
               "rules": [{"apiGroups": [""], "resources": ["pods"],
                          "verbs": ["get", "watch", "list"]}]}],
    "rolebindings": [{"apiVersion": _RBAC, "kind": "RoleBinding",
                      "metadata": {"name": "read-pods"},
                      "subjects": [{"kind": "User", "name": "jane",
                                    "apiGroup": "rbac.authorization.k8s.io"}],
                      "roleRef": {"kind": "Role", "name": "pod-reader",
                                  "apiGroup": "rbac.authorization.k8s.io"}}],
    "clusterroles": [{"apiVersion": _RBAC, "kind": "ClusterRole",
                      "metadata": {"name": "system:node-reader"},
                      "rules": [{"apiGroups": [""], "resources": ["nodes"],
                                 "verbs": ["get"]}]}],
    "clusterrolebindings": [{"apiVersion": _RBAC, "kind": "ClusterRoleBinding",
                             "metadata": {"name": "system:node-readers"},
                             "subjects": [{"kind": "Group", "name": "system:nodes",
                                           "apiGroup": "rbac.authorization.k8s.io"}],
                             "roleRef": {"kind": "ClusterRole", "name": "system:node-reader",
                                         "apiGroup": "rbac.authorization.k8s.io"}}],
    "limitranges": [{"apiVersion": "v1", "kind": "LimitRange",
                     "metadata": {"name": "cpu-limit-range"},
                     "spec": {"limits": [{"default": {"cpu": 1}, "defaultRequest": {
                         "cpu": 0.5}, "type": "Container"}]}}],
    "resourcequotas": [{"apiVersion": "v1", "kind": "ResourceQuota",
                        "metadata": {"name": "mem-cpu-demo"},
                        "spec": {"hard": {"requests.cpu": "1", "requests.memory": "1Gi",
                                          "limits.cpu": "2", "limits.memory": "2Gi"}}}],
    "admissionregistrations": [{"apiVersion": "admissionregistration.kubeactor.io/v1",
                                "kind": "AdmissionRegistration",
                                "metadata": {"name": "labeller"},
                                "spec": {"subject": "labeller", "operations": ["CREATE"],
                                         "resources": ["pods"]}}],
    "faultplans": [{"apiVersion": "chaos.kubeactor.io/v1", "kind": "FaultPlan",
                    "metadata": {"name": "flaky-pods"},
                    "spec": {"subjects": ["kubeactor.api.*.pods.*"], "drop": 0.1,
                             "duplicate": 0.05, "expires": "2026-12-07T01:00:00Z"}}],
    "serviceaccounts": [{"apiVersion": "v1", "kind": "ServiceAccount",
                         "metadata": {"name": "build-robot"},
                         "automountServiceAccountToken": False,
                         "imagePullSecrets": [{"name": "registry"}]}],
    "tokenreviews": [{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                      "spec": {"token": "a.b.c", "audiences": ["vault"]}}],
    "selfsubjectaccessreviews": [{"apiVersion": "authorization.k8s.io/v1",
                                  "kind": "SelfSubjectAccessReview",
                                  "spec": {"resourceAttributes": {"verb": "get",
                                                                  "resource": "pods"}}}],
    "subjectaccessreviews": [{"apiVersion": "authorization.k8s.io/v1",
                              "kind": "SubjectAccessReview",
                              "spec": {"user": "jane", "resourceAttributes": {
                                  "verb": "get", "resource": "pods", "namespace": "dev"}}}],
    "selfsubjectreviews": [{"apiVersion": "authentication.k8s.io/v1",
                            "kind": "SelfSubjectReview"}],
    "poddisruptionbudgets": [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                              "metadata": {"name": "web", "namespace": "default"},
                              "spec": {"minAvailable": "50%",
                                       "selector": {"matchLabels": {"app": "web"}}}}],
    "selfsubjectrulesreviews": [{"apiVersion": "authorization.k8s.io/v1",
                                 "kind": "SelfSubjectRulesReview",
                                 "spec": {"namespace": "default"}}],
    "replicasets": [_workload("ReplicaSet")],
    "replicationcontrollers": [],  # examples/manifests: the docs' replication.yaml
    "deployments": [_workload("Deployment")],
    "daemonsets": [], "statefulsets": [],  # examples/manifests has them
    "controllerrevisions": [{"apiVersion": "apps/v1", "kind": "ControllerRevision",
                             "metadata": {"name": "web-6b8bdb6db9"}, "revision": 1,
                             "data": {"spec": {"template": {"$patch": "replace"}}}}],
    "jobs": [], "cronjobs": [],  # examples/manifests: the Kubernetes docs' job and cronjob
    "horizontalpodautoscalers": [],  # examples/manifests: the Kubernetes docs' walkthrough
    certificates.RESOURCE: [_csr()],
    "priorityclasses": [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                         "metadata": {"name": "high-priority"}, "value": 1000000,
                         "globalDefault": False, "description": "for XYZ pods only"}],
    crds.RESOURCE: [test_crds.CRD],
    **{resource: [obj for obj in flowcontrol.defaults() if obj["kind"].lower() + "s" == resource]
       for resource in (flowcontrol.FLOW_SCHEMAS, flowcontrol.PRIORITY_LEVELS)},
    "endpoints": [{"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},
                   "subsets": [{"addresses": [{"ip": "127.64.0.2"}],
                                "ports": [{"port": 80, "protocol": "TCP"}]}]}],
    "endpointslices": [{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                        "metadata": {"name": "web-abc"}, "addressType": "IPv4",
                        "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
                        "endpoints": [{"addresses": ["127.64.0.2"],
                                       "conditions": {"ready": True}}]}],
}
for document in (d for f in sorted([*MANIFESTS.glob("*.yaml"), *NETWORKING.glob("*.yaml"),
                                   *STORAGE.glob("pv-*.yaml"), *STORAGE.glob("storageclass-*")])
                 for d in yaml.safe_load_all(f.read_text()) if d):
    VALID.setdefault(next(i.name for i in RESOURCES if i.kind == document["kind"]),
                     []).append(document)


def stored(resource: str, body: Object) -> Object:
    """``body`` as the apiserver checks it on a create: prepared, then decoded Strictly."""
    info = next(i for i in RESOURCES if i.name == resource)
    namespace = (body.get("metadata") or {}).get("namespace") or "default"
    obj = prepare_create(info, copy.deepcopy(body), namespace if info.namespaced else None,
                         None)
    assert decode(info, obj, "Strict") == []
    return obj


def test_the_corpus_has_every_kind_kubeactor_serves():
    assert set(VALID) == {info.name for info in RESOURCES}


@pytest.mark.parametrize(("resource", "body"), [(r, b) for r, bodies in VALID.items()
                                                for b in bodies],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_valid_manifest_of_every_kind_is_accepted_strictly(resource: str, body: Object):
    obj = stored(resource, body)
    if resource not in REVIEWS:
        validate(lookup(obj["apiVersion"].rpartition("/")[0], resource), obj)


MAPS = ("labels", "annotations", "nodeSelector", "requests", "limits", "matchLabels")
"""The maps of the pod below: their keys are written ``[key]`` in paths, as Kubernetes does."""


def _wrong_types(value: Any, path: str, in_map: bool = False
                 ) -> Iterator[tuple[str, list[str | int]]]:
    """(path, key path) of every value inside ``value``: each will be given a wrong type."""
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, item in items:
        shown = f"{path}[{key}]" if isinstance(key, int) or in_map else \
            f"{path}.{key}" if path else str(key)
        yield shown, [key]
        for inner, keys in _wrong_types(item, shown, key in MAPS):
            yield inner, [key, *keys]


def _at(obj: Any, keys: list[Any]) -> Any:
    for key in keys:
        obj = obj[key]
    return obj


def _pod_paths() -> list[tuple[str, list[Any]]]:
    pod = _doc_pod()
    return [(path, keys) for path, keys in _wrong_types(pod, "")
            if path not in ("apiVersion", "kind")]


@pytest.mark.parametrize(("path", "keys"), _pod_paths(), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_a_wrong_type_anywhere_in_a_pod_is_a_bad_request_naming_its_go_field(
        path: str, keys: list[Any]):
    """kube-apiserver's decoder names the field by its JSON names, without indexes or keys."""
    pod = _doc_pod()
    holder = _at(pod, keys[:-1])
    wrong = {} if isinstance(holder[keys[-1]], list) else [1]
    holder[keys[-1]] = wrong
    with pytest.raises(BadRequest) as raised:
        decode(PODS, prepare_create(PODS, pod, "default", None), "Strict")
    fields = re.sub(r"\[[^]]*\]", "", path)
    assert re.fullmatch(rf'Pod in version "v1" cannot be handled as a Pod: json: cannot '
                        rf"unmarshal (array|object) into Go struct field \w+\.{re.escape(fields)} "
                        rf"of type \S+", raised.value.message) or \
        raised.value.message.endswith("quantities must match the regular expression "
                                      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'") or \
        raised.value.message == f"{path} must be a map"  # metadata, read before the schema


def test_a_list_where_a_map_belongs_is_refused_as_kube_apiservers_decoder_words_it():
    """The first value in the body Go cannot read is named (the docs' nodeAffinity mistake)."""
    pod = _doc_pod()
    for key in ("affinity", "nodeSelector", "tolerations"):
        pod["spec"].pop(key, None)
    pod["spec"].update(affinity={"nodeAffinity": [{"requiredDuringSchedulingIgnoredDuring"
                                                   "Execution": {}}]},
                       nodeSelector=["ssd"], tolerations={"key": "a"})
    with pytest.raises(BadRequest) as raised:
        decode(PODS, prepare_create(PODS, pod, "default", None))
    assert raised.value.message == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal array into Go '
        "struct field Affinity.spec.affinity.nodeAffinity of type v1.NodeAffinity")


@pytest.mark.parametrize(("field", "value", "bits"), [
    ("terminationGracePeriodSeconds", 1 << 63, 64),
    ("priority", 1 << 31, 32), ("priority", -(1 << 31) - 1, 32), ("priority", 1.5, 32)])
def test_an_integer_go_cannot_hold_in_its_field_is_a_bad_request(field: str, value: Any,
                                                                  bits: int):
    pod = _doc_pod()
    pod["spec"][field] = value
    with pytest.raises(BadRequest, match=f"json: cannot unmarshal number {value} into Go struct "
                                         f"field PodSpec.spec.{field} of type int{bits}$"):
        decode(PODS, prepare_create(PODS, pod, "default", None))


def test_the_widest_integer_a_go_field_holds_is_accepted():
    pod = _doc_pod()
    pod["spec"].update(priority=(1 << 31) - 1, terminationGracePeriodSeconds=(1 << 63) - 1)
    decode(PODS, prepare_create(PODS, pod, "default", None))


STRUCTS = ["", "metadata", "spec", "spec.containers[0]", "spec.containers[0].resources",
           "spec.containers[0].ports[0]", "spec.containers[0].livenessProbe.httpGet",
           "spec.affinity.nodeAffinity", "spec.tolerations[0]", "spec.volumes[0].emptyDir",
           "spec.initContainers[0]", "spec.securityContext"]


@pytest.mark.parametrize("at", STRUCTS)
def test_an_unknown_field_is_refused_strictly_and_dropped_with_a_warning_otherwise(at: str):
    keys = dict(_pod_paths())[at] if at else []
    unknown = f"{at}.imagPullPolicy" if at else "imagPullPolicy"
    pod = _doc_pod()
    _at(pod, keys)["imagPullPolicy"] = "Always"
    with pytest.raises(BadRequest) as raised:
        decode(PODS, prepare_create(PODS, pod, "default", None), "Strict")
    assert raised.value.code == 400
    assert raised.value.message == ('Pod in version "v1" cannot be handled as a Pod: strict '
                                    f'decoding error: unknown field "{unknown}"')
    warned = prepare_create(PODS, pod, "default", None)
    assert decode(PODS, warned, "Warn") == [f'unknown field "{unknown}"']
    assert "imagPullPolicy" not in _at(warned, keys)
    ignored = prepare_create(PODS, pod, "default", None)
    assert decode(PODS, ignored, "Ignore") == []
    assert "imagPullPolicy" not in _at(ignored, keys)


def test_an_optional_null_is_dropped_and_a_required_field_is_required():
    pod = _doc_pod()
    pod["spec"]["affinity"] = None
    del pod["spec"]["containers"][0]["name"]
    obj = prepare_create(PODS, pod, "default", None)
    with pytest.raises(Invalid, match=r"spec.containers\[0\].name: Required value"):
        decode(PODS, obj)
    pod["spec"]["containers"][0]["name"] = "nginx"
    obj = prepare_create(PODS, pod, "default", None)
    decode(PODS, obj)
    assert "affinity" not in obj["spec"]


@pytest.mark.parametrize(("resource", "name", "ok"), [
    ("clusterroles", "system:node", True), ("roles", "a:b_C", True),
    ("clusterroles", "a/b", False), ("roles", "..", False), ("clusterroles", "50%", False),
    ("pods", "system:node", False), ("pods", "a.b-c", True), ("pods", "Web", False),
    ("namespaces", "a.b", False), ("namespaces", "dev-1", True), ("configmaps", "x" * 254, False),
])
def test_names_follow_the_rules_of_their_kind(resource: str, name: str, ok: bool):
    body = copy.deepcopy(VALID[resource][0])
    body["metadata"]["name"] = name
    obj = stored(resource, body)
    info = next(i for i in RESOURCES if i.name == resource)
    if ok:
        validate(info, obj)
    else:
        with pytest.raises(Invalid, match=r"metadata.name: Invalid value"):
            validate(info, obj)


@pytest.mark.parametrize(("field", "labels", "cause"), [
    ("labels", {"app": "bad value!"}, 'metadata.labels: Invalid value: "bad value!"'),
    ("labels", {"app": "x" * 64}, "metadata.labels: Invalid value"),
    ("labels", {"-app": "web"}, 'metadata.labels: Invalid value: "-app": name part'),
    ("labels", {"Example.com/app": "web"}, "prefix part"),
    ("annotations", {"a/b/c": "x"}, 'metadata.annotations: Invalid value: "a/b/c"'),
    ("annotations", {"big": "x" * 300_000}, "metadata.annotations: Too long"),
])
def test_label_and_annotation_syntax_is_kubernetes(field: str, labels: Object, cause: str):
    pod = _doc_pod()
    pod["metadata"][field] = labels
    obj = stored("pods", pod)
    with pytest.raises(Invalid) as raised:
        validate(PODS, obj)
    assert cause in raised.value.message


@pytest.mark.parametrize(("amount", "ok"), [
    ("1e3", True), (".5", True), ("+1Gi", True), ("100u", True), ("500n", True), (2, True),
    ("1.1.M", False), ("5 Gi", False), ("-1", False), ("lots", False),
])
def test_quantities_anywhere_take_the_full_grammar_and_no_negatives(amount: Any, ok: bool):
    pod = _doc_pod()
    pod["spec"]["containers"][0]["resources"]["requests"]["memory"] = amount
    pod["spec"]["volumes"][0]["emptyDir"]["sizeLimit"] = amount
    obj = prepare_create(PODS, pod, "default", None)
    try:
        decode(PODS, obj, "Strict")
        validate(PODS, obj)
    except ApiError as error:  # one Go's decoder cannot read is a 400, a negative a 422
        assert not ok, error
        assert (error.code == 422 and ("memory]: Invalid value" in error.message or
                                      "sizeLimit: Invalid value" in error.message)) or \
            (error.code == 400 and error.message.endswith(quantity.FORMAT_ERROR))
    else:
        assert ok


def test_kubeactors_own_kinds_pass_the_schema_unchanged():
    info = lookup("admissionregistration.kubeactor.io", "admissionregistrations")
    body = copy.deepcopy(VALID["admissionregistrations"][0]) | {"extra": 1}
    assert decode(info, body, "Strict") == []
    assert body["extra"] == 1


@pytest.mark.parametrize(("value", "types", "ok"), [
    (True, ("integer",), False), (True, ("number",), False), (True, ("boolean",), True),
    (1, ("number",), True), (1.5, ("integer",), False), (1.5, ("number",), True),
    (1, ("integer", "string"), True), ("1", ("integer", "string"), True),
    ("1", ("integer",), False), ([], ("object",), False), ({}, ("object",), True),
    ([], ("array",), True), ("x", ("no-such-type",), False)])
def test_a_value_has_the_json_types_kubernetes_gives_it(value: Any, types: tuple[str, ...],
                                                         ok: bool):
    for _ in range(2):  # the second time from the classes remembered for those types
        assert schema.walk(schema.Node(types=types), value).errors is not ok
