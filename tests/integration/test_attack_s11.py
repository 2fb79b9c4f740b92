"""Session 11's attacks on the HTTPS API (the door of kubectl and the ``kubernetes`` client),
with raw HTTP to the cluster's front on 127.0.0.1 (a kubelet's: ``test_attack_s11_nodes``).

The attacker holds an unprivileged user's certificate (no RBAC binding), one that may create
ConfigMaps and Pods in namespace ``m`` only, or one that may patch ConfigMaps in ``p``. Each
test is one attempt; it passes when the defence holds:

- what a request makes a worker do stays in proportion to its size: an apply's YAML has no
  aliases (335 bytes stood for 100,000 strings) and no nesting past the parser (a 500); a
  JSON patch's copies and operations are bounded as kube-apiserver bounds them; strategic
  merge and server-side apply look list items up (they searched: quadratic); a selector is
  at most what an HTTP request line carries (a watch's is matched on the watch worker);
- impersonation headers without a user change nobody's identity; a path's namespace or name
  cannot be made another by ``..``, encoded slashes or empty segments; a body's namespace
  other than the path's is a 400, its kind cannot make a ConfigMap a Secret; the proxy and
  port-forward subresources are not there; made-up list options are refused or stay within
  the path; dry runs change no policy; encoded-once objects are never stale.
"""

from __future__ import annotations

import base64
import csv
import functools
import http.client
import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.api import certs
from actors.api.objects import Object
from actors.client.client import Client
from bindings import kubeconfig
from bindings.cluster import Cluster, ClusterConfig
from bus.errors import BadRequest
from tests.conftest import NOBODY_TOKEN
from tests.processes import KUBECTL
from tests.support import until

pytestmark = pytest.mark.integration

Pems = tuple[Path, Path]
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"


def _start(data: Path, **config: Any) -> Cluster:
    data.mkdir()
    with (data / "tokens.csv").open("w", newline="") as handle:
        csv.writer(handle).writerow([NOBODY_TOKEN, "nobody", "nobody", ""])
    return Cluster.start(ClusterConfig(data_dir=data, **config))


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[Cluster]:
    """An apiserver (no scheduler, no controllers) with its HTTPS front."""
    cluster = _start(tmp_path_factory.mktemp("attack11") / "cluster", nodes=0,
                     apiserver_only=True, disabled_admission=("ServiceAccount",))
    yield cluster
    cluster.stop()


def _pems(cluster: Cluster, where: Path, user: str, groups: str = "") -> Pems:
    """A certificate of ``cluster``'s CA for ``user`` and its key, as files."""
    credentials = cluster.credentials(user, groups)
    name = user.replace(":", "_")
    cert, key = where / f"{name}.crt", where / f"{name}.key"
    cert.write_bytes(certs.cert_pem(credentials.cert))
    key.write_bytes(certs.key_pem(credentials.key))
    return cert, key


class Http:
    """Raw requests to a cluster's HTTPS API as the holder of a certificate (or nobody)."""

    def __init__(self, cluster: Cluster) -> None:
        assert cluster.https is not None
        self.host, self.port = cluster.https.host, cluster.https.port
        ca = kubeconfig.load(cluster.kubeconfig_path).ca
        assert ca is not None
        self.ca = ca.decode()

    def __call__(self, method: str, path: str, body: bytes = b"", client: Pems | None = None,
                 headers: dict[str, str | list[str]] | None = None,
                 content_type: str = "application/json") -> tuple[int, Any]:
        """(status, JSON body or the first bytes of another) of one request; ``headers``
        values that are lists are sent as that many headers."""
        context = ssl.create_default_context(cadata=self.ca)
        if client is not None:
            context.load_cert_chain(*client)
        connection = http.client.HTTPSConnection(self.host, self.port, context=context,
                                                 timeout=30)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            sent: dict[str, str | list[str]] = {"Content-Type": content_type,
                                                "Content-Length": str(len(body)),
                                                **(headers or {})}
            for header, values in sent.items():
                for value in values if isinstance(values, list) else [values]:
                    connection.putheader(header, value)
            connection.endheaders(body or None)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.getheader("Content-Type", "").startswith("application/json"):
            return response.status, json.loads(data)
        return response.status, data[:200]


def _answer(outcome: tuple[int, Any]) -> tuple[int, str]:
    """(code, reason) of a refusal."""
    code, body = outcome
    return code, body.get("reason", "") if isinstance(body, dict) else str(body)


@pytest.fixture(scope="module")
def call(api: Cluster) -> Http:
    return Http(api)


@pytest.fixture(scope="module")
def admin(api: Cluster) -> Client:
    return api.admin_client("attack11-admin")


@pytest.fixture(scope="module")
def users(api: Cluster, admin: Client, call: Http, tmp_path_factory) -> dict[str, Pems]:
    """``mallory`` (no binding), ``maker`` (create ConfigMaps and Pods in ``m``) and the
    admin, as certificate files."""
    where = tmp_path_factory.mktemp("pems")
    admin.create("namespaces", {"metadata": {"name": "m"}}, None)
    admin.create("roles", {"metadata": {"name": "maker"}, "rules": [{
        "apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["create"]}]}, "m")
    admin.create("rolebindings", {"metadata": {"name": "maker"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "maker"},
        "subjects": [{"kind": "User", "name": "maker"}]}, "m")
    admin.create("secrets", {"metadata": {"name": "kept"}, "stringData": {"a": "b"}},
                 "default")
    users = {"mallory": _pems(api, where, "mallory"), "maker": _pems(api, where, "maker"),
             "admin": _pems(api, where, "admin", "system:masters")}
    for pems in users.values():  # known to flow control: no newcomer's wait from now on
        assert call("GET", "/api/v1/namespaces/m/configmaps/none", client=pems)[0] in (403, 404)
    return users


def _names(admin: Client, resource: str, namespace: str) -> set[str]:
    return {obj["metadata"]["name"] for obj in admin.list(resource, namespace)["items"]}


def _configmap(name: str, namespace: str | None = None, kind: str = "ConfigMap",
               api_version: str = "v1") -> bytes:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return json.dumps({"apiVersion": api_version, "kind": kind, "metadata": metadata,
                       "data": {"a": "b"}}).encode()


# -- an apply's YAML ----------------------------------------------------------------------------


def _alias_bomb(levels: int, width: int) -> bytes:
    """An apply of a ConfigMap whose ``x`` names each level's anchor ``width`` times: the
    last level stands for ``width ** levels`` strings."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "x:",
             '  l0: &l0 ["lol"]']
    lines += [f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]"
              for level in range(1, levels + 1)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("body", [
    _alias_bomb(5, 10),
    b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nx: &a [*a]\n",
    b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nx: " + b"[" * 1200 + b"]" * 1200,
], ids=["100000-strings-in-335-bytes", "self-referring", "1200-deep"])
def test_an_apply_body_that_expands_or_nests_without_bound_is_400_before_any_work(
        call, users, admin, body):
    """Mallory, who may do nothing, sends server-side applies whose YAML the front read
    whole before the apiserver refused her: 100,000 strings from 335 bytes (then encoded,
    MACed and decoded: half a second of the process's time a request), a list that holds
    itself (the encoder's RecursionError, a 500), a nesting the parser recursed through
    (a 500; libyaml stops at 1000 levels). Each is a 400 saying the YAML is refused, and
    nothing is stored."""
    before = _names(admin, "configmaps", "default")
    code, answer = call("PATCH", "/api/v1/namespaces/default/configmaps/bomb?fieldManager=m",
                        body, client=users["mallory"], content_type=APPLY)
    assert (code, answer.get("reason") if isinstance(answer, dict) else answer) == \
        (400, "BadRequest")
    assert answer["message"].startswith("error decoding YAML")
    assert _names(admin, "configmaps", "default") == before


def test_an_apply_body_without_aliases_is_still_read(call, users, admin):
    """What the refusal leaves: an apply in YAML (flow and block forms, no alias) works."""
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: '1'\n"
    code, applied = call("PATCH", "/api/v1/namespaces/default/configmaps/plain?fieldManager=m",
                         body, client=users["admin"], content_type=APPLY)
    assert code in (200, 201) and applied["data"] == {"a": "1"}


# -- a JSON patch's copies and operations ----------------------------------------------------

JSON_PATCH = "application/json-patch+json"
DOUBLED = {"a": "x" * 1024, "b": "y"}


UNPACED: Object = {"metadata": {"name": "attack11-patchers"}, "spec": {
    "priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 50,
    "rules": [{"subjects": [{"kind": "Group", "group": {"name": "patchers"}}],
               "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                  "namespaces": ["*"]}]}]}}
"""The patchers' requests are not paced (flow control would hold each a while after
another's seconds of work): what a test times is the request's own work."""


@pytest.fixture(scope="module")
def patcher(api: Cluster, admin: Client, call: Http, tmp_path_factory) -> Pems:
    """``patcher`` (group ``patchers``, unpaced), who may get, patch and create ConfigMaps in
    ``p`` (as a namespace's editor may), where ConfigMap ``doubled`` holds 1 KiB."""
    admin.create("namespaces", {"metadata": {"name": "p"}}, None)
    admin.create("roles", {"metadata": {"name": "patcher"}, "rules": [{
        "apiGroups": [""], "resources": ["configmaps"],
        "verbs": ["get", "patch", "create"]}]}, "p")
    admin.create("rolebindings", {"metadata": {"name": "patchers"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "patcher"},
        "subjects": [{"kind": "Group", "name": "patchers"}]}, "p")
    admin.create("flowschemas", UNPACED, None)
    admin.create("configmaps", {"metadata": {"name": "doubled"}, "data": DOUBLED}, "p")
    patcher = _pems(api, tmp_path_factory.mktemp("patcher"), "patcher", "patchers")
    assert call("GET", "/api/v1/namespaces/p/configmaps/doubled", client=patcher)[0] == 200
    return patcher  # known to flow control: no newcomer's wait from now on


def test_a_json_patch_whose_copies_double_the_object_is_refused_at_kubes_copy_limit(
        call, admin, patcher):
    """CVE-2019-1002100 (kube-apiserver's ``--json-patch-max-copy-bytes``): each ``copy`` of
    ``/data`` into itself doubles it, so 13 operations (430 bytes) make 8 MiB of a 1 KiB
    ConfigMap in the apiserver's worker before anything is checked, 30 make 1 TiB (the
    process never answers again). Past 3 MiB of copies the patch is refused, and the
    ConfigMap is what it was."""
    doublings = [{"op": "copy", "from": "/data", "path": f"/data/c{index}"}
                 for index in range(13)]
    code, answer = call("PATCH", "/api/v1/namespaces/p/configmaps/doubled",
                        json.dumps(doublings).encode(), client=patcher,
                        content_type=JSON_PATCH)
    assert (code, answer["reason"]) == (400, "BadRequest"), answer
    assert "Unable to complete the copy, the accumulated size increase of copy is" in \
        answer["message"]
    assert admin.get("configmaps", "doubled", "p")["data"] == DOUBLED


def test_a_json_patch_of_more_than_ten_thousand_operations_is_413(call, admin, patcher):
    """kube-apiserver's ``maxJSONPatchOperations``: 60,000 replacements (3 MB, under the
    body's limit) held a worker for most of a second, each operation applied alone. These
    would change nothing; they are refused before any is applied."""
    before = admin.get("configmaps", "doubled", "p")["metadata"]["resourceVersion"]
    patch = [{"op": "replace", "path": "/data/b", "value": "y"}] * 10_001
    code, answer = call("PATCH", "/api/v1/namespaces/p/configmaps/doubled",
                        json.dumps(patch).encode(), client=patcher, content_type=JSON_PATCH)
    assert (code, answer["message"]) == (413, "The allowed maximum operations in a JSON patch "
                                              "is 10000, got 10001")
    assert admin.get("configmaps", "doubled", "p")["metadata"]["resourceVersion"] == before


@pytest.mark.parametrize("patch", [
    {"metadata": {"ownerReferences": [{"uid": f"u{index}"} for index in range(16_000)]}},
    {"data": {**{f"k{index}": "v" for index in range(40_000)},
              "$retainKeys": [f"r{index}" for index in range(40_000)]}},
], ids=["keyed-list-items", "retained-keys"])
def test_a_strategic_merge_patch_is_merged_in_time_linear_in_its_size(
        call, admin, patcher, patch):
    """Each item of a keyed list was looked for among all the items before it, each key of a
    map among all of ``$retainKeys``: 16,000 ownerReferences (290 KB) held a worker for
    20 s, 40,000 keys and as many retained (1 MB) for 14 s, the body's 3 MiB for most of an
    hour, of anyone who may patch one object. Now each is answered within a second or so
    (here 422: a ConfigMap's ownerReferences need their other fields; 200: the ConfigMap
    keeps no key of its data)."""
    started = time.monotonic()
    code, answer = call("PATCH", "/api/v1/namespaces/p/configmaps/doubled",
                        json.dumps(patch).encode(), client=patcher,
                        content_type="application/strategic-merge-patch+json")
    assert code in (200, 422), answer
    assert time.monotonic() - started < 5


def _apply(call: Http, who: Pems, name: str, body: Object) -> tuple[int, Any, float]:
    """A server-side apply of ``body`` to ConfigMap ``name`` of ``p`` by manager ``m``: the
    answer and how long it took."""
    started = time.monotonic()
    code, answer = call("PATCH", f"/api/v1/namespaces/p/configmaps/{name}?fieldManager=m",
                        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", **body}).encode(),
                        client=who, content_type=APPLY)
    return code, answer, time.monotonic() - started


def _owner(uid: str) -> Object:
    return {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": uid}


def test_a_server_side_apply_of_a_long_keyed_list_is_merged_in_linear_time(call, users,
                                                                          patcher):
    """Each item the apply sends was looked for among all the live list's items, those
    it appended included: 8,000 ownerReferences (530 KB) applied to an object that has one
    held a worker for 16 s before the object was found too large (the body's 3 MiB, hours),
    of anyone who may patch one object. Now it is found too large at once."""
    assert _apply(call, users["admin"], "listed", {"metadata": {
        "name": "listed", "ownerReferences": [_owner("u0")]}})[0] in (200, 201)
    code, answer, took = _apply(call, patcher, "listed", {"metadata": {
        "name": "listed", "ownerReferences": [_owner(f"u{n}") for n in range(8_000)]}})
    assert (code, answer["reason"]) == (413, "RequestEntityTooLarge"), answer
    assert took < 10  # ~1 s here; up to 7 under a loaded CI's load 9 (quadratic: 16-30 s)


def test_a_server_side_apply_that_drops_many_fields_prunes_them_in_linear_time(
        call, users, patcher):
    """The fields a manager applied before and no longer does were each compared with every
    field it applies now: 8,000 data keys applied, then 40,000 others (600 KB), held a
    worker for 30 s before the object was found too large (3 MiB of others, minutes)."""
    keys = {"metadata": {"name": "pruned"}, "data": {f"k{n}": "v" for n in range(8_000)}}
    assert _apply(call, users["admin"], "pruned", keys)[0] in (200, 201)
    code, answer, took = _apply(call, patcher, "pruned", {
        "metadata": {"name": "pruned"}, "data": {f"j{n}": "v" for n in range(40_000)}})
    assert (code, answer["reason"]) == (413, "RequestEntityTooLarge"), answer
    assert took < 10  # ~1 s here; up to 7 under a loaded CI's load 9 (quadratic: 16-30 s)


# -- impersonation headers --------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"Impersonate-Group": "system:masters"},
    {"Impersonate-User": "", "Impersonate-Group": "system:masters"},
    {"Impersonate-Uid": "0", "Impersonate-Group": "system:masters"},
    {"Impersonate-Extra-Scopes": "everything"},
], ids=["group-alone", "empty-user", "uid-and-group", "extra"])
def test_impersonation_headers_without_a_user_change_nobodys_identity(call, users, headers):
    """kube-apiserver refuses groups, a uid or extras without a user to act as; kubeactor
    acts on none of them: mallory stays herself, who may read no Secret."""
    code, answer = call("GET", "/api/v1/namespaces/default/secrets/kept",
                        client=users["mallory"], headers=headers)
    assert (code, answer["reason"]) == (403, "Forbidden")
    assert 'User "mallory" cannot get resource "secrets"' in answer["message"]


def _kubeconfig(cluster: Cluster, who: Pems, where: Path) -> Path:
    """A kubeconfig of ``cluster``'s HTTPS API for the holder of ``who``."""
    assert cluster.https is not None
    ca = kubeconfig.load(cluster.kubeconfig_path).ca
    assert ca is not None
    data = {name: base64.b64encode(value).decode() for name, value in (
        ("ca", ca), ("cert", who[0].read_bytes()), ("key", who[1].read_bytes()))}
    path = where / f"{who[0].stem}.kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {
            "server": f"https://{cluster.https.host}:{cluster.https.port}",
            "certificate-authority-data": data["ca"]}}],
        "users": [{"name": "u", "user": {"client-certificate-data": data["cert"],
                                         "client-key-data": data["key"]}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return path


def test_real_kubectl_as_mallory_may_neither_impersonate_nor_read_secrets(
        api, users, tmp_path):
    config = _kubeconfig(api, users["mallory"], tmp_path)

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([KUBECTL, "--kubeconfig", str(config), *args],
                              capture_output=True, text=True, timeout=60)

    refused = kubectl("get", "secrets", "--as", "admin", "--as-group", "system:masters")
    assert refused.returncode == 1  # at discovery already, which kubectl prints as "unknown"
    assert "Error from server (Forbidden)" in refused.stderr
    refused = kubectl("get", "--raw", "/api/v1/namespaces/default/secrets/kept", "--as",
                      "admin")
    assert 'User "mallory" cannot impersonate resource "users"' in refused.stderr
    refused = kubectl("get", "secret", "kept", "-o", "yaml")
    assert refused.returncode == 1
    assert 'User "mallory" cannot get resource "secrets"' in refused.stderr
    assert "no" in kubectl("auth", "can-i", "get", "secrets").stdout


# -- paths and bodies -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/m/../default/configmaps",
    "/api/v1/namespaces/default/../m/configmaps",
    "/api/v1/namespaces/m%2F..%2Fdefault/configmaps",
    "/api/v1/namespaces/m/configmaps/..",
])
def test_dot_dot_in_a_path_reaches_no_other_namespace(call, users, admin, path):
    before = _names(admin, "configmaps", "default")
    code, _ = call("POST", path, _configmap("dotted"), client=users["maker"])
    assert code in (404, 405)  # no such resource as "..", or a POST on a name
    assert _names(admin, "configmaps", "default") == before


@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/m%2Fconfigmaps",  # decoded: the path of m's configmaps
    "/api/v1/namespaces//m/configmaps",   # an empty segment dropped
    "/api//v1/namespaces/m/configmaps",
])
def test_encoded_slashes_and_empty_segments_create_where_the_path_says_as_authorized(
        call, users, admin, path):
    """What a path decodes to is what is authorized and where the object goes: the maker's
    ConfigMap lands in ``m``, where she may create, and nowhere else."""
    name = f"slashed-{abs(hash(path)) % 10_000}"
    code, created = call("POST", path, _configmap(name), client=users["maker"])
    assert (code, created.get("metadata", {}).get("namespace")) == (201, "m"), created
    assert name not in _names(admin, "configmaps", "default")


def test_a_body_naming_another_namespace_than_the_path_is_400(call, users, admin):
    before = _names(admin, "configmaps", "default")
    code, answer = call("POST", "/api/v1/namespaces/m/configmaps",
                        _configmap("elsewhere", "default"), client=users["maker"])
    assert (code, answer["message"]) == (400, "the namespace of the provided object does not "
                                              "match the namespace sent on the request")
    assert _names(admin, "configmaps", "default") == before


@pytest.mark.parametrize(("kind", "api_version"), [("Secret", "v1"), ("Deployment", "apps/v1"),
                                                   ("ClusterRoleBinding",
                                                    "rbac.authorization.k8s.io/v1")])
def test_a_body_of_another_kind_is_stored_as_the_paths_kind(call, users, admin, kind,
                                                            api_version):
    """The path's resource decides what is authorized and stored: a body saying it is a
    Secret or a ClusterRoleBinding is a ConfigMap in ``m`` (kube-apiserver refuses it 400,
    which would do as well), and nothing else is made."""
    name = f"as-{kind.lower()}"
    code, created = call("POST", "/api/v1/namespaces/m/configmaps",
                         _configmap(name, kind=kind, api_version=api_version),
                         client=users["maker"])
    assert code == 400 or (code, created["kind"], created["apiVersion"]) == \
        (201, "ConfigMap", "v1")
    assert name not in _names(admin, "secrets", "m")
    assert name not in {b["metadata"]["name"]
                        for b in admin.list("clusterrolebindings", None)["items"]}


@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/m/pods/x/portforward", "/api/v1/namespaces/m/pods/x/proxy",
    "/api/v1/namespaces/m/pods/x/proxy/metrics", "/api/v1/nodes/n1/proxy/metrics",
    "/api/v1/namespaces/m/services/x/proxy", "/api/v1/namespaces/m/services/x:80/proxy/p",
])
def test_the_proxy_and_port_forward_subresources_are_not_there(call, users, path):
    for method in ("GET", "POST"):
        assert _answer(call(method, path, client=users["maker"])) == (404, "NotFound")


def test_a_user_who_may_create_pods_may_not_bind_them(call, users):
    binding = json.dumps({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "x"},
                          "target": {"kind": "Node", "name": "n1"}}).encode()
    code, answer = call("POST", "/api/v1/namespaces/m/pods/x/binding", binding,
                        client=users["maker"])
    assert (code, answer["reason"]) == (403, "Forbidden")
    assert 'cannot create resource "pods/binding"' in answer["message"]


def test_a_dry_run_binding_grants_nothing_and_a_dry_run_namespace_is_not_there(call, users):
    """The RBAC policy is a mirror of what is committed: a dry run commits nothing."""
    binding = json.dumps({"apiVersion": "rbac.authorization.k8s.io/v1",
                          "kind": "ClusterRoleBinding", "metadata": {"name": "mallory-admin"},
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                      "kind": "ClusterRole", "name": "cluster-admin"},
                          "subjects": [{"kind": "User", "name": "mallory"}]}).encode()
    assert call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?dryRun=All",
                binding, client=users["admin"])[0] == 201
    assert _answer(call("GET", "/api/v1/namespaces/default/secrets/kept",
                        client=users["mallory"])) == (403, "Forbidden")
    assert call("POST", "/api/v1/namespaces?dryRun=All", b'{"apiVersion": "v1", "kind": '
                b'"Namespace", "metadata": {"name": "dry"}}', client=users["admin"])[0] == 201
    assert _answer(call("GET", "/api/v1/namespaces/dry", client=users["admin"])) == \
        (404, "NotFound")


def test_an_object_encoded_once_is_never_served_stale_nor_as_another_version(call, admin,
                                                                             users):
    """Stored objects are encoded once for every envelope that carries them (a get's reply,
    its watch events, the next get): after each of 30 updates of a Secret, a get over HTTPS
    and over the bus and the watch's event carry that update's data, never a kept encoding
    of the one before; and a HorizontalPodAutoscaler read at ``autoscaling/v1`` comes in
    that version, not as the bytes kept of its stored ``v2``."""
    admin.create("secrets", {"metadata": {"name": "rotated"}, "stringData": {"k": "0"}},
                 "default")
    heard: list[str] = []
    watch = admin.watch("secrets", lambda event: heard.append(
        base64.b64decode(event.object["data"]["k"]).decode()), namespace="default",
        field_selector="metadata.name=rotated")
    try:
        for n in range(1, 31):
            admin.patch("secrets", "rotated", {"stringData": {"k": str(n)}},
                        "application/merge-patch+json", "default")
            code, got = call("GET", "/api/v1/namespaces/default/secrets/rotated",
                             client=users["admin"])
            assert (code, base64.b64decode(got["data"]["k"]).decode()) == (200, str(n))
            assert admin.get("secrets", "rotated", "default")["data"]["k"] == \
                base64.b64encode(str(n).encode()).decode()
        until(lambda: heard and heard[-1] == "30", 10, failure=f"heard {heard}")
        assert heard == [str(n) for n in range(31)]
    finally:
        watch.stop()
    admin.create("horizontalpodautoscalers", {"metadata": {"name": "hpa"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 3}}, "default")
    path = "/apis/autoscaling/{}/namespaces/default/horizontalpodautoscalers/hpa"
    assert call("GET", path.format("v2"), client=users["admin"])[1]["apiVersion"] == \
        "autoscaling/v2"
    assert call("GET", path.format("v1"), client=users["admin"])[1]["apiVersion"] == \
        "autoscaling/v1"


def test_a_deleted_binding_allows_nothing_from_the_next_request_on(call, admin, users):
    """RBAC decisions are compiled per identity and policy generation: the request right
    after a RoleBinding's delete (or its Role's rule removed) is refused, over HTTPS, on
    whichever worker serves it, twenty times in a row."""
    read = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
    for attempt in range(20):
        admin.create("roles", {"metadata": {"name": "reader"}, "rules": [read]}, "default")
        admin.create("rolebindings", {"metadata": {"name": "reader"}, "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "User", "name": "mallory"}]}, "default")
        path = "/api/v1/namespaces/default/secrets/kept"
        assert call("GET", path, client=users["mallory"])[0] == 200, attempt
        if attempt % 2:
            admin.delete("rolebindings", "reader", "default")
        else:
            admin.patch("roles", "reader", {"rules": []}, "application/merge-patch+json",
                        "default")
        assert _answer(call("GET", path, client=users["mallory"])) == (403, "Forbidden"), \
            attempt
        admin.delete("roles", "reader", "default")
        if not attempt % 2:
            admin.delete("rolebindings", "reader", "default")


# -- list options -----------------------------------------------------------------------------


def _continue(revision: Any, start: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": revision, "start": start}).encode()
                                    ).decode()


@pytest.mark.parametrize(("query", "code"), [
    ("limit=999999999999999999999", 400), ("limit=-1", 400), ("limit=abc", 400),
    ("limit=1&continue=garbage", 400), (f"limit=1&continue={_continue('nan', '')}", 400),
    (f"limit=1&continue={_continue(10**30, '')}", 410),
    (f"limit=1&continue={_continue(-5, '')}", 410),
    ("fieldSelector=%3D%3D%3D", 400), ("fieldSelector=data.a%3Db", 400),
    ("labelSelector=a+in+(", 400),
])
def test_made_up_list_options_are_refused(call, users, query, code):
    assert call("GET", f"/api/v1/namespaces/m/configmaps?{query}",
                client=users["admin"])[0] == code


def test_a_continue_token_naming_another_prefix_lists_only_the_paths(call, users, admin):
    """A token says where the next page starts: one made to start before ``/registry/
    secrets/`` still lists ``m``'s ConfigMaps only."""
    revision = admin.list("configmaps", "m")["metadata"]["resourceVersion"]
    for start in ("/registry/secrets/", "", "/registry/configmaps/default/"):
        code, listed = call("GET", "/api/v1/namespaces/m/configmaps?limit=500&continue="
                            f"{_continue(int(revision), start)}", client=users["admin"])
        assert (code, listed["kind"]) == (200, "ConfigMapList")
        assert {item["metadata"]["namespace"] for item in listed["items"]} <= {"m"}
        assert {item["kind"] for item in listed["items"]} <= {"ConfigMap"}


# -- a watch's selector on the watch worker -----------------------------------------------------


@pytest.mark.parametrize("selector", [
    ",".join(f"!k{n}" for n in range(100_000)),
    f"x notin ({','.join(f'v{n}' for n in range(120_000))})",
], ids=["100000-terms", "120000-values"])
def test_a_watch_or_list_may_not_send_a_selector_longer_than_an_http_client_can(
        api, admin, selector):
    """Over the bus a selector could fill a message (790 KB), where an HTTP client's request
    line stops at 8 KB; a watch's selector is matched against each event on the process's one
    watch worker, whose time no flow control counts: 100,000 ``!kN`` terms took 8 ms an
    event, 120,000 values scanned 1.9 ms. Anyone who may watch and create ConfigMaps in a
    namespace held it half a second per ConfigMap she made, with 256 such watches (16 of the
    second: the last of 200 events came 30 s late, and the cluster's own watches lost their
    renewals meanwhile). Both are refused, a watch and a list alike."""
    for verb in (admin.list, functools.partial(admin.watch, on_event=print)):
        with pytest.raises(BadRequest, match="over the limit of 8192"):
            verb("configmaps", namespace="default", label_selector=selector)
