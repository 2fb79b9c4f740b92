"""Issue 14's item 4 as an outside tester checks it: real kubectl (the wheel's v1.37) against
``kubeactor up`` on Docker, each verb's output and exit code. The Kubernetes docs' Deployment
(tests/integration/manifests, its image busybox here: no registry) runs real containers, so
``rollout status|history|undo|pause|resume``, ``wait``, ``logs -c|--previous`` and ``events``
see what a kubelet really did. What the integration tier already drives (apply, label,
annotate, patch, scale, set image, edit, cordon, drain, the create generators, exec, cp, can-i,
whoami, explain) is not repeated; what it does not is here: discovery, every ``get`` output form
and selector, ``describe`` of every served kind, ``diff``'s exit codes, ``delete``'s cascades,
``certificate approve|deny``, ``--dry-run``, ``--as-group`` and a merged ``KUBECONFIG``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import IMAGE
from tests.integration.test_crds import WIDGETS, widget
from tests.processes import KUBECTL, UpProcess
from tests.support import until

pytestmark = pytest.mark.e2e

MANIFESTS = Path(__file__).resolve().parent.parent / "integration" / "manifests"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"
WEB = (MANIFESTS / "nginx-deployment.yaml").read_text().replace(
    "name: nginx-deployment", "name: web").replace(
    "        image: nginx:1.14.2\n",
    f'        image: {IMAGE}\n        command: ["sleep", "3600"]\n')
"""The docs' Deployment, on the image this machine has, sleeping instead of serving."""
SAME_IMAGE = f"docker.io/library/{IMAGE}"
"""Another name of the same local image: a new template without a registry."""


def ok(cluster: UpProcess, *args: str, stdin: str | None = None) -> str:
    """kubectl's output; fails the test (with kubectl's words) when it fails."""
    done = cluster.kubectl(*args, stdin=stdin)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def words(text: str) -> str:
    """``text`` with each run of blanks as one space (kubectl aligns its columns)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def web(cluster: UpProcess) -> str:
    """The docs' Deployment, rolled out (three pods running on Docker)."""
    assert ok(cluster, "apply", "-f", "-", stdin=WEB) == "deployment.apps/web created\n"
    rolled = ok(cluster, "rollout", "status", "deployment/web", "--timeout=90s")
    assert rolled.endswith('deployment "web" successfully rolled out\n')
    return "web"


def test_version_api_resources_and_api_versions_describe_the_server(cluster):
    version = json.loads(ok(cluster, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.37.")
    resources = [words(line) for line in ok(cluster, "api-resources").splitlines()]
    assert resources[0] == "NAME SHORTNAMES APIVERSION NAMESPACED KIND"
    assert {"pods po v1 true Pod", "deployments deploy apps/v1 true Deployment",
            "nodes no v1 false Node",
            "poddisruptionbudgets pdb policy/v1 true PodDisruptionBudget"} <= set(resources)
    cluster_wide = ok(cluster, "api-resources", "--namespaced=false", "-o", "name").split()
    assert {"nodes", "namespaces", "clusterroles.rbac.authorization.k8s.io"} <= set(
        cluster_wide) and "pods" not in cluster_wide
    assert {"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "policy/v1"} <= set(
        ok(cluster, "api-versions").split())


def test_cluster_info_names_the_control_plane(cluster):
    """kubectl lists the Services labelled ``kubernetes.io/cluster-service`` (none here) after
    the API's address; it failed while Services were not served."""
    shown = ok(cluster, "cluster-info")
    server = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert words(shown).startswith(f"Kubernetes control plane is running at {server}")


def test_get_prints_every_output_form(cluster, web):
    names = ok(cluster, "get", "pods", "-l", "app=nginx", "-o", "name").split()
    assert len(names) == 3 and all(name.startswith("pod/web-") for name in names)
    pods = sorted(name.removeprefix("pod/") for name in names)
    listed = json.loads(ok(cluster, "get", "pods", "-l", "app=nginx", "-o", "json"))
    assert (listed["kind"], sorted(p["metadata"]["name"] for p in listed["items"])) == (
        "List", pods)
    assert yaml.safe_load(ok(cluster, "get", "deployment", web, "-o", "yaml"))["spec"][
        "replicas"] == 3
    assert ok(cluster, "get", "pods", "-l", "app=nginx", "-o",
              "jsonpath={.items[*].spec.containers[0].image}").split() == [IMAGE] * 3
    columns = ok(cluster, "get", "pods", "-l", "app=nginx", "--sort-by=.metadata.name", "-o",
                 "custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image")
    assert [line.split() for line in columns.splitlines()] == [["NAME", "IMAGE"]] + [
        [pod, IMAGE] for pod in pods]
    template = ok(cluster, "get", "pods", "-l", "app=nginx", "-o",
                  "go-template={{range .items}}{{.metadata.name}}:{{.status.phase}} {{end}}")
    assert sorted(template.split()) == [f"{pod}:Running" for pod in pods]
    wide = ok(cluster, "get", "pods", pods[0], "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                               "NOMINATED", "NODE", "READINESS", "GATES"]
    assert wide[1].split()[:3] + wide[1].split()[-3:] == [pods[0], "1/1", "Running", "node-1",
                                                          "<none>", "<none>"]
    nodes = ok(cluster, "get", "nodes", "-o", "wide").splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP",
                                "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert nodes[1].split()[5:7] == ["127.0.0.1", "<none>"]


def test_get_selects_sorts_pages_and_spans_namespaces(cluster, web):
    pods = sorted(ok(cluster, "get", "pods", "-l", "app=nginx", "-o", "name").split())
    assert ok(cluster, "get", "pods", "-l", "app=nginx", "--sort-by=.metadata.name",
              "-o", "name").split() == pods
    running = ok(cluster, "get", "pods", "--field-selector=status.phase=Running,"
                 "spec.nodeName=node-1", "-l", "app=nginx", "-o", "name")
    assert sorted(running.split()) == pods
    none = cluster.kubectl("get", "pods", "--field-selector=status.phase=Pending")
    assert (none.returncode, none.stdout, none.stderr) == (
        0, "", "No resources found in default namespace.\n")
    paged = cluster.kubectl("get", "pods", "-l", "app=nginx", "--chunk-size=1", "-o", "name",
                            "-v=6")
    assert sorted(paged.stdout.split()) == pods
    assert paged.stderr.count("limit=1") == 3 and "continue=" in paged.stderr
    everywhere = [line.split() for line in ok(cluster, "get", "leases", "-A").splitlines()]
    assert everywhere[0][:2] == ["NAMESPACE", "NAME"]
    assert ["kube-node-lease", "node-1"] in [row[:2] for row in everywhere]


def _csr(name: str, common_name: str, organization: str) -> tuple[str, bytes]:
    """A CSR manifest for a client certificate, and the PEM of its private key."""
    key = ed25519.Ed25519PrivateKey.generate()
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])).sign(key, None)
    manifest = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                "metadata": {"name": name},
                "spec": {"request": base64.b64encode(request.public_bytes(
                    serialization.Encoding.PEM)).decode(),
                         "signerName": "kubernetes.io/kube-apiserver-client",
                         "usages": ["client auth"]}}
    return json.dumps(manifest), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


@pytest.fixture(scope="module")
def carol(cluster: UpProcess, tmp_path_factory) -> Path:
    """carol's client certificate, approved with ``kubectl certificate approve`` and issued by
    the cluster's signer: a kubeconfig of her own (a context, a user; no cluster), to merge."""
    manifest, key = _csr("carol", "carol", "dev")
    assert ok(cluster, "create", "-f", "-", stdin=manifest) == (
        "certificatesigningrequest.certificates.k8s.io/carol created\n")
    assert ok(cluster, "certificate", "approve", "carol") == (
        "certificatesigningrequest.certificates.k8s.io/carol approved\n")
    issued = until(lambda: ok(cluster, "get", "csr", "carol", "-o",
                              "jsonpath={.status.certificate}"), timeout=30)
    folder = tmp_path_factory.mktemp("carol")
    (folder / "carol.crt").write_bytes(base64.b64decode(issued))
    (folder / "carol.key").write_bytes(key)
    config = folder / "kubeconfig"
    for args in (["set-credentials", "carol", f"--client-certificate={folder / 'carol.crt'}",
                  f"--client-key={folder / 'carol.key'}", "--embed-certs"],
                 ["set-context", "carol@kubeactor", "--cluster=kubeactor", "--user=carol",
                  "--namespace=team"]):
        subprocess.run([KUBECTL, "--kubeconfig", str(config), "config", *args], check=True,
                       capture_output=True)
    return config


def test_certificate_approve_issues_and_deny_refuses(cluster, carol):
    rows = ok(cluster, "get", "csr", "carol").splitlines()
    assert rows[1].split()[-1] == "Approved,Issued"
    manifest, _ = _csr("dave", "dave", "dev")
    ok(cluster, "create", "-f", "-", stdin=manifest)
    assert ok(cluster, "certificate", "deny", "dave") == (
        "certificatesigningrequest.certificates.k8s.io/dave denied\n")
    assert ok(cluster, "get", "csr", "dave").splitlines()[1].split()[-1] == "Denied"
    again = cluster.kubectl("certificate", "approve", "dave")
    assert (again.returncode, again.stderr) == (
        1, 'error: certificate signing request "dave" is already Denied\n')
    assert ok(cluster, "get", "csr", "dave", "-o", "jsonpath={.status.certificate}") == ""


def _merged(cluster: UpProcess, carol: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """kubectl with ``KUBECONFIG`` the cluster's file then carol's, merged as kubectl merges."""
    return subprocess.run([KUBECTL, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KUBECONFIG": f"{cluster.kubeconfig}:{carol}"})


def test_contexts_from_a_merged_kubeconfig(cluster, carol):
    contexts = [line.split() for line in _merged(
        cluster, carol, "config", "get-contexts").stdout.splitlines()]
    assert contexts[1:] == [["carol@kubeactor", "kubeactor", "carol", "team"],
                            ["*", "kubeactor", "kubeactor", "admin", "default"]]
    assert "Username admin" in words(_merged(cluster, carol, "auth", "whoami").stdout)
    her = _merged(cluster, carol, "--context", "carol@kubeactor", "auth", "whoami")
    assert words(her.stdout) == ("ATTRIBUTE VALUE Username carol "
                                 "Groups [dev system:authenticated]")
    refused = _merged(cluster, carol, "--context", "carol@kubeactor", "get", "pods")
    assert (refused.returncode, refused.stderr) == (1, (
        'Error from server (Forbidden): pods is forbidden: User "carol" cannot list resource '
        '"pods" in API group "" in the namespace "team"\n'))


def test_as_and_as_group_act_as_the_impersonated_user_and_groups(cluster):
    ok(cluster, "create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
    ok(cluster, "create", "rolebinding", "readers", "--role=pod-reader", "--group=readers")
    alone = cluster.kubectl("auth", "can-i", "list", "pods", "--as=zed")
    assert (alone.returncode, alone.stdout) == (1, "no\n")
    grouped = cluster.kubectl("auth", "can-i", "list", "pods", "--as=zed", "--as-group=readers")
    assert (grouped.returncode, grouped.stdout) == (0, "yes\n")
    assert ok(cluster, "get", "pods", "--as=zed", "--as-group=readers", "-o", "name") == ok(
        cluster, "get", "pods", "-o", "name")
    refused = cluster.kubectl("delete", "pods", "--all", "--as=zed", "--as-group=readers")
    assert refused.returncode == 1 and 'User "zed" cannot delete resource "pods"' in (
        refused.stderr)


ADMISSION = """apiVersion: admissionregistration.kubeactor.io/v1
kind: AdmissionRegistration
metadata: {name: quiet-policy}
spec: {subject: quiet-policy, operations: [DELETE], resources: [limitranges],
       timeoutSeconds: 5, failurePolicy: Ignore, mutating: false}
"""
QUIET_CHAOS = """apiVersion: chaos.kubeactor.io/v1
kind: FaultPlan
metadata: {name: quiet-chaos}
spec: {subjects: [kubeactor.api.*.nothing.*], delaySeconds: 0, expires: "2099-01-01T00:00:00Z"}
"""
LIMIT_RANGE = """apiVersion: v1
kind: LimitRange
metadata:
  name: cpu-resource-constraint
  namespace: team
spec:
  limits:
  - default:
      cpu: 500m
    defaultRequest:
      cpu: 500m
    max:
      cpu: "1"
    min:
      cpu: 100m
    type: Container
"""
"""The docs' LimitRange (concepts/policy/limit-range)."""


@pytest.fixture(scope="module")
def every_kind(cluster: UpProcess, web: str, carol: Path) -> None:
    """One object of each served kind that nothing else makes, by kubectl's generators and
    manifests (the docs' ConfigMap and LimitRange, the widgets CRD)."""
    for args in (["namespace", "team"], ["configmap", "settings", "--from-literal=a=1"],
                 ["secret", "generic", "creds", "--from-literal=password=s3cr3t"],
                 ["serviceaccount", "bot", "-n", "team"],
                 ["role", "reader", "--verb=get,list", "--resource=pods", "-n", "team"],
                 ["rolebinding", "rb", "--role=reader", "--user=alice", "-n", "team"],
                 ["clusterrole", "node-reader", "--verb=get", "--resource=nodes"],
                 ["clusterrolebinding", "crb", "--clusterrole=node-reader", "--user=bob"],
                 ["quota", "q", "--hard=pods=10", "-n", "team"],
                 ["pdb", "web", "--selector=app=nginx", "--min-available=1"],
                 ["priorityclass", "high", "--value=1000"],
                 ["job", "once", "--image=busybox:1.35", "--", "true"],
                 ["cronjob", "nightly", "--image=busybox:1.35", "--schedule=0 3 * * *",
                  "--", "true"]):
        ok(cluster, "create", *args)
    networking = [(MANIFESTS / "networking" / f"{name}.yaml").read_text() for name in
                  ("minimal-ingress", "default-ingressclass", "networkpolicy")]
    networking += [(MANIFESTS / "storage" / f"{name}.yaml").read_text() for name in
                   ("pv-volume", "pv-claim")]  # the docs' static volume and its claim
    for manifest in ((MANIFESTS / "game-demo.yaml").read_text(), LIMIT_RANGE, ADMISSION,
                     QUIET_CHAOS,
                     json.dumps(WIDGETS), *networking,
                     (EXAMPLES / "hpa.yaml").read_text()):
        ok(cluster, "create", "-f", "-", stdin=manifest)
    ok(cluster, "create", "-f", "-", stdin=json.dumps(widget("gear", size=3)))
    for kind in ("DaemonSet", "StatefulSet", "ReplicationController"):
        ok(cluster, "create", "-f", "-", stdin=json.dumps(_sleeper(kind)))


def _sleeper(kind: str) -> dict[str, Any]:
    """A DaemonSet, or a one-replica StatefulSet or ReplicationController, of busybox
    sleeping."""
    name = kind.lower()
    selector = {"app": name} if kind == "ReplicationController" else {"matchLabels": {"app": name}}
    spec: dict[str, Any] = {"selector": selector, "template": {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.35",
                                 "command": ["sleep", "3600"]}]}}}
    if kind == "StatefulSet":
        spec.update(replicas=1, serviceName=name)
    elif kind == "ReplicationController":
        spec.update(replicas=1)
    group = "v1" if kind == "ReplicationController" else "apps/v1"
    return {"apiVersion": group, "kind": kind, "metadata": {"name": name}, "spec": spec}


DESCRIBED = [  # resource, name, namespace, what describe says of it (blanks as one space)
    ("configmaps", "game-demo", "default", "player_initial_lives: ---- 3"),
    ("secrets", "creds", "default", "Type: Opaque Data ==== password: 6 bytes"),
    ("serviceaccounts", "bot", "team", "Image pull secrets: <none>"),
    ("namespaces", "team", "", "Status: Active Resource Quotas Name: q Resource Used Hard"),
    ("nodes", "node-1", "", "Ready True"),
    ("pods", "", "default", "Events: Type Reason Age From Message"),  # its events found
    ("replicasets", "", "default", "Controlled By: Deployment/web"),
    ("deployments", "web", "default", "Replicas: 3 desired | 3 updated | 3 total | "
     "3 available | 0 unavailable"),
    ("limitranges", "cpu-resource-constraint", "team",
     "Container cpu 100m 1 500m 500m -"),
    ("resourcequotas", "q", "team", "Resource Used Hard -------- ---- ---- pods 0 10"),
    ("roles", "reader", "team", "pods [] [] [get list]"),
    ("rolebindings", "rb", "team", "Kind: Role Name: reader Subjects: Kind Name Namespace "
     "---- ---- --------- User alice"),
    ("clusterroles", "node-reader", "", "nodes [] [] [get]"),
    ("clusterrolebindings", "crb", "", "Kind: ClusterRole Name: node-reader"),
    ("poddisruptionbudgets", "web", "default", "Min available: 1 Selector: app=nginx"),
    ("priorityclasses", "high", "", "Value: 1000"),
    ("flowschemas", "global-default", "", "Type: ByUser Matching Precedence: 9900"),
    ("prioritylevelconfigurations", "global-default", "", "Nominal Concurrency Shares: 20"),
    ("certificatesigningrequests", "carol", "", "Signer: kubernetes.io/kube-apiserver-client"),
    ("leases", "node-1", "kube-node-lease", "Holder Identity: node-1"),
    ("events", "", "default", "Involved Object: API Version:"),
    ("customresourcedefinitions", "widgets.example.com", "", "Kind: Widget"),
    ("admissionregistrations", "quiet-policy", "", "Failure Policy: Ignore"),
    ("faultplans", "quiet-chaos", "", "Expires: 2099-01-01T00:00:00Z"),
    ("widgets", "gear", "default", "Spec: Color: red Size: 3"),
    ("daemonsets", "daemonset", "default", "Desired Number of Nodes Scheduled: 1"),
    ("statefulsets", "statefulset", "default", "Replicas: 1 desired | 1 total"),
    ("controllerrevisions", "", "default", "Revision: 1"),
    ("jobs", "once", "default", "Parallelism: 1 Completions: 1"),
    ("replicationcontrollers", "replicationcontroller", "default",
     "Replicas: 1 current / 1 desired"),
    ("cronjobs", "nightly", "default", "Schedule: 0 3 * * *"),
    ("services", "kubernetes", "default", "Type: ClusterIP IP Family Policy: SingleStack "
     "IP Families: IPv4 IP: 127.16.0.1 IPs: 127.16.0.1 Port: https 443/TCP TargetPort: 443/TCP"),
    ("endpoints", "kubernetes", "default", "Subsets: Addresses: 127.0.0.1"),
    ("endpointslices", "kubernetes", "default", "AddressType: IPv4 Ports: Name Port Protocol"),
    ("ingresses", "minimal-ingress", "default", "Ingress Class: nginx-example"),
    ("ingressclasses", "example-class", "", "Controller: k8s.io/example-class"),
    ("networkpolicies", "test-network-policy", "default", "PodSelector: role=db"),
    ("horizontalpodautoscalers", "php-apache", "default", "Min replicas: 1 Max replicas: 10"),
    ("persistentvolumes", "task-pv-volume", "", "StorageClass: manual Status: Bound "
     "Claim: default/task-pv-claim Reclaim Policy: Retain Access Modes: RWO"),
    ("persistentvolumeclaims", "task-pv-claim", "default", "StorageClass: manual Status: Bound "
     "Volume: task-pv-volume"),
    ("storageclasses", "local-path", "", "IsDefaultClass: Yes"),
]


DEPRECATED = {"endpoints": "Warning: v1 Endpoints is deprecated in v1.33+; use "
                          "discovery.k8s.io/v1 EndpointSlice\n"}
"""What kubectl prints of kube-apiserver's deprecation warning for a resource."""


def test_describe_covers_every_served_kind(cluster, every_kind):
    described = {resource for resource, *_ in DESCRIBED}
    served = {line.split()[0] for line in ok(cluster, "api-resources", "--verbs=get",
                                             "--no-headers").splitlines()}
    assert served == described


@pytest.mark.parametrize(("resource", "name", "namespace", "said"), DESCRIBED,
                         ids=[row[0] for row in DESCRIBED])
def test_describe_each_served_kind(cluster, every_kind, resource, name, namespace, said):
    where = ["-n", namespace] if namespace else []
    if not name:  # one of those the controllers made
        name = ok(cluster, "get", resource, *where, "-o", "name").split()[0].split("/")[1]
    done = cluster.kubectl("describe", resource, name, *where)
    assert (done.returncode, done.stderr) == (0, DEPRECATED.get(resource, ""))
    assert done.stdout.startswith("Name:") and words(done.stdout).startswith(f"Name: {name} ")
    assert said in words(done.stdout)


def test_diff_exits_0_when_nothing_would_change_1_when_something_would(cluster, web):
    same = cluster.kubectl("diff", "-f", "-", stdin=WEB)
    assert (same.returncode, same.stdout, same.stderr) == (0, "", "")
    changed = cluster.kubectl("diff", "-f", "-", stdin=WEB.replace("replicas: 3",
                                                                   "replicas: 2"))
    assert changed.returncode == 1
    assert "-  replicas: 3\n+  replicas: 2\n" in changed.stdout
    broken = cluster.kubectl("diff", "-f", "-", stdin=WEB.replace("replicas: 3",
                                                                  "replicas: many"))
    assert broken.returncode > 1
    assert ok(cluster, "get", "deployment", web, "-o", "jsonpath={.spec.replicas}") == "3"


def test_dry_run_server_and_client_store_nothing(cluster, web):
    assert ok(cluster, "create", "configmap", "ghost", "--from-literal=a=1",
              "--dry-run=server") == "configmap/ghost created (server dry run)\n"
    printed = yaml.safe_load(ok(cluster, "create", "deployment", "ghost", f"--image={IMAGE}",
                                "--dry-run=client", "-o", "yaml"))
    assert printed["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    assert ok(cluster, "apply", "-f", "-", "--dry-run=server",
              stdin=WEB.replace("replicas: 3", "replicas: 1")) == (
        "deployment.apps/web configured (server dry run)\n")
    assert ok(cluster, "scale", "deployment", web, "--replicas=1", "--dry-run=server") == (
        "deployment.apps/web scaled (server dry run)\n")
    assert ok(cluster, "delete", "deployment", web, "--dry-run=server") == (
        'deployment.apps "web" deleted from default namespace (server dry run)\n')
    gone = cluster.kubectl("get", "configmap", "ghost")
    assert (gone.returncode, gone.stderr) == (
        1, 'Error from server (NotFound): configmaps "ghost" not found\n')
    assert ok(cluster, "get", "deployment", web, "-o", "jsonpath={.spec.replicas}") == "3"


def _revisions(cluster: UpProcess, deployment: str) -> list[str]:
    history = ok(cluster, "rollout", "history", f"deployment/{deployment}").splitlines()
    assert history[:2] == [f"deployment.apps/{deployment} ", "REVISION  CHANGE-CAUSE"]
    return [line.split()[0] for line in history[2:] if line]


def _replicasets(cluster: UpProcess) -> dict[str, str]:
    """Each ReplicaSet of the Deployment ``rolling``: its revision."""
    return dict(line.split() for line in ok(
        cluster, "get", "rs", "-l", "app=rolling", "-o", "custom-columns=NAME:.metadata.name,"
        "REV:.metadata.annotations.deployment\\.kubernetes\\.io/revision",
        "--no-headers").splitlines())


def test_rollout_status_history_undo_pause_and_resume(cluster):
    ok(cluster, "create", "deployment", "rolling", f"--image={IMAGE}", "--replicas=2", "--",
       "sleep", "3600")
    assert ok(cluster, "rollout", "status", "deployment/rolling", "--timeout=90s").endswith(
        'deployment "rolling" successfully rolled out\n')
    first = set(_replicasets(cluster))
    assert ok(cluster, "set", "image", "deployment/rolling", f"busybox={SAME_IMAGE}") == (
        "deployment.apps/rolling image updated\n")
    ok(cluster, "rollout", "status", "deployment/rolling", "--timeout=90s")
    assert _revisions(cluster, "rolling") == ["1", "2"]
    one = ok(cluster, "rollout", "history", "deployment/rolling", "--revision=1")
    assert f"Image:\t{IMAGE}\n" in one and SAME_IMAGE not in one
    assert ok(cluster, "rollout", "undo", "deployment/rolling") == (
        "deployment.apps/rolling rolled back\n")
    ok(cluster, "rollout", "status", "deployment/rolling", "--timeout=90s")
    rolled_back = _replicasets(cluster)
    assert len(rolled_back) == 2  # the first ReplicaSet again, as revision 3
    assert [rolled_back[name] for name in first] == ["3"]
    assert _revisions(cluster, "rolling") == ["2", "3"]
    assert ok(cluster, "rollout", "pause", "deployment/rolling") == (
        "deployment.apps/rolling paused\n")
    ok(cluster, "set", "image", "deployment/rolling", f"busybox={SAME_IMAGE}")
    paused = cluster.kubectl("rollout", "status", "deployment/rolling", "--timeout=5s")
    assert paused.returncode == 1 and "Waiting for deployment" in paused.stdout + paused.stderr
    assert len(_replicasets(cluster)) == 2  # no new ReplicaSet while paused
    assert ok(cluster, "rollout", "resume", "deployment/rolling") == (
        "deployment.apps/rolling resumed\n")
    ok(cluster, "rollout", "status", "deployment/rolling", "--timeout=90s")
    assert _revisions(cluster, "rolling") == ["3", "4"]
    ok(cluster, "wait", "--for=condition=Available", "deployment/rolling", "--timeout=30s")


TWICE = f"""apiVersion: v1
kind: Pod
metadata:
  name: twice
spec:
  volumes:
  - name: marks
    emptyDir: {{}}
  containers:
  - name: app
    image: {IMAGE}
    command: ["sh", "-c", "if [ -e /marks/ran ]; then echo second; sleep 3600;
              else touch /marks/ran; echo first; exit 1; fi"]
    volumeMounts:
    - name: marks
      mountPath: /marks
  - name: side
    image: {IMAGE}
    command: ["sh", "-c", "echo side; sleep 3600"]
"""
"""A pod whose first container fails once, then runs: one previous log to read."""


@pytest.fixture(scope="module")
def twice(cluster: UpProcess) -> str:
    ok(cluster, "create", "-f", "-", stdin=TWICE)
    ok(cluster, "wait", "--for=jsonpath={.status.containerStatuses[0].restartCount}=1",
       "pod/twice", "--timeout=60s")
    ok(cluster, "wait", "--for=condition=Ready", "pod/twice", "--timeout=60s")
    return "twice"


def test_logs_of_a_container_and_of_its_previous_instance(cluster, twice):
    assert ok(cluster, "logs", twice, "-c", "side") == "side\n"
    assert ok(cluster, "logs", twice, "-c", "app") == "second\n"
    assert ok(cluster, "logs", twice, "-c", "app", "--previous") == "first\n"
    assert ok(cluster, "logs", twice, "-c", "app", "-p", "--tail=1") == "first\n"
    defaulted = cluster.kubectl("logs", twice)
    assert (defaulted.stdout, defaulted.stderr) == (
        "second\n", 'Defaulted container "app" out of: app, side\n')
    never = cluster.kubectl("logs", twice, "-c", "side", "--previous")
    assert (never.returncode, never.stderr) == (1, (
        'Error from server (BadRequest): previous terminated container "side" in pod '
        f'"{twice}" not found\n'))
    wrong = cluster.kubectl("logs", twice, "-c", "nope")
    assert (wrong.returncode, wrong.stderr) == (
        1, "error: container nope is not valid for pod twice out of: app, side\n")


def test_events_of_an_object_and_of_a_type(cluster, twice):
    events = [words(line) for line in ok(cluster, "events", "--for", f"pod/{twice}")
              .splitlines()]
    assert events[0] == "LAST SEEN TYPE REASON OBJECT MESSAGE"
    assert any(f"Normal Scheduled Pod/{twice} Successfully assigned default/{twice} to "
               "node-1" in line for line in events)
    assert any(f"Normal Started Pod/{twice} Started container side" in line for line in events)
    warnings = cluster.kubectl("events", "--for", f"pod/{twice}", "--types=Warning")
    assert (warnings.stdout, warnings.stderr) == (  # its first restart is at once: no BackOff
        "", "No events found in default namespace.\n")
    listed = json.loads(ok(cluster, "events", "--for", f"pod/{twice}", "-o", "json"))
    assert {item["involvedObject"]["name"] for item in listed["items"]} == {twice}


def _pods_of(cluster: UpProcess, label: str) -> list[str]:
    return ok(cluster, "get", "pods", "-l", label, "-o", "name").split()


def test_delete_orphans_cascades_in_the_foreground_and_waits(cluster):
    ok(cluster, "create", "deployment", "orphaner", f"--image={IMAGE}", "--", "sleep", "3600")
    ok(cluster, "rollout", "status", "deployment/orphaner", "--timeout=90s")
    assert ok(cluster, "delete", "deployment", "orphaner", "--cascade=orphan") == (
        'deployment.apps "orphaner" deleted from default namespace\n')
    [kept] = ok(cluster, "get", "rs", "-l", "app=orphaner", "-o", "name").split()
    assert ok(cluster, "get", kept, "-o", "jsonpath={.metadata.ownerReferences}") == ""
    assert len(_pods_of(cluster, "app=orphaner")) == 1
    assert ok(cluster, "delete", "rs", "-l", "app=orphaner", "--cascade=foreground") == (
        f'replicaset.apps "{kept.split("/")[1]}" deleted from default namespace\n')
    assert _pods_of(cluster, "app=orphaner") == []  # --wait: gone with their owner


def test_delete_of_files_with_a_grace_period_or_not_waiting_then_wait_for_delete(cluster,
                                                                                tmp_path):
    manifest = tmp_path / "pods.yaml"
    manifest.write_text("---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{batch: b}}}}\n"
        f"spec: {{containers: [{{name: c, image: '{IMAGE}', command: [sleep, '3600']}}]}}\n"
        for name in ("one", "two", "three")))
    ok(cluster, "apply", "-f", str(manifest))
    ok(cluster, "wait", "--for=condition=Ready", "pod", "-l", "batch=b", "--timeout=60s")
    assert ok(cluster, "delete", "pod", "one", "--grace-period=1") == (
        'pod "one" deleted from default namespace\n')
    assert _pods_of(cluster, "batch=b") == ["pod/three", "pod/two"]
    deleted = cluster.kubectl("delete", "-f", str(manifest), "--wait=false")
    assert (deleted.returncode, deleted.stdout) == (1, (
        'pod "two" deleted from default namespace\npod "three" deleted from default namespace\n'))
    assert deleted.stderr == (f'Error from server (NotFound): error when deleting "{manifest}": '
                              'pods "one" not found\n')
    waited = ok(cluster, "wait", "--for=delete", "pod/two", "pod/three", "--timeout=60s")
    assert set(waited.splitlines()) <= {"pod/two condition met", "pod/three condition met"}
    assert _pods_of(cluster, "batch=b") == []
