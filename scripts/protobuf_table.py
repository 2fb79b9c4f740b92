"""Writes actors/apiserver/http/protobuf_messages.py: the field numbers, JSON names and types
of every Kubernetes message kubeactor reads from protobuf, from Kubernetes' own sources.

Usage: python scripts/protobuf_table.py API_GIT_DIR APIMACHINERY_GIT_DIR > \
    actors/apiserver/http/protobuf_messages.py

Both arguments are git directories of github.com/kubernetes/api and
github.com/kubernetes/apimachinery (read at HEAD with ``git show``). Each message comes from its
package's ``generated.proto`` (field numbers, scalar or message types, ``repeated``, ``map``);
the JSON name of each field comes from the Go struct of the same name in the package's ``.go``
files, matched by the number in its ``protobuf:"..."`` tag (the proto's field names are the Go
names, not the JSON ones: ``uID`` is ``uid``), with whether a zero that was sent is kept (a
pointer, which gogo sends only when set, or a field without ``omitempty``, whose zero JSON
writes) and whether it is inlined (``VolumeSource`` in ``Volume``). Only the messages
reachable from ROOTS are written.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass

ROOTS = {
    ("v1", "Namespace"): "core.v1.Namespace", ("v1", "Pod"): "core.v1.Pod",
    ("v1", "Node"): "core.v1.Node", ("v1", "Event"): "core.v1.Event",
    ("v1", "ConfigMap"): "core.v1.ConfigMap", ("v1", "Secret"): "core.v1.Secret",
    ("v1", "ServiceAccount"): "core.v1.ServiceAccount",
    ("v1", "ReplicationController"): "core.v1.ReplicationController",
    ("v1", "LimitRange"): "core.v1.LimitRange", ("v1", "ResourceQuota"): "core.v1.ResourceQuota",
    ("v1", "Binding"): "core.v1.Binding",
    ("v1", "PersistentVolume"): "core.v1.PersistentVolume",
    ("v1", "PersistentVolumeClaim"): "core.v1.PersistentVolumeClaim",
    ("storage.k8s.io/v1", "StorageClass"): "storage.v1.StorageClass",
    ("v1", "Service"): "core.v1.Service", ("v1", "Endpoints"): "core.v1.Endpoints",
    ("discovery.k8s.io/v1", "EndpointSlice"): "discovery.v1.EndpointSlice",
    **{("networking.k8s.io/v1", kind): f"networking.v1.{kind}"
       for kind in ("Ingress", "IngressClass", "NetworkPolicy")},
    ("v1", "DeleteOptions"): "apis.meta.v1.DeleteOptions",
    ("meta.k8s.io/v1", "DeleteOptions"): "apis.meta.v1.DeleteOptions",
    ("coordination.k8s.io/v1", "Lease"): "coordination.v1.Lease",
    ("apps/v1", "Deployment"): "apps.v1.Deployment",
    ("apps/v1", "ReplicaSet"): "apps.v1.ReplicaSet",
    ("apps/v1", "DaemonSet"): "apps.v1.DaemonSet",
    ("apps/v1", "StatefulSet"): "apps.v1.StatefulSet",
    ("apps/v1", "ControllerRevision"): "apps.v1.ControllerRevision",
    ("batch/v1", "Job"): "batch.v1.Job", ("batch/v1", "CronJob"): "batch.v1.CronJob",
    ("autoscaling/v1", "Scale"): "autoscaling.v1.Scale",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "autoscaling.v1.HorizontalPodAutoscaler",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "autoscaling.v2.HorizontalPodAutoscaler",
    ("policy/v1", "Eviction"): "policy.v1.Eviction",
    ("policy/v1", "PodDisruptionBudget"): "policy.v1.PodDisruptionBudget",
    ("scheduling.k8s.io/v1", "PriorityClass"): "scheduling.v1.PriorityClass",
    ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"): "flowcontrol.v1.FlowSchema",
    ("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"):
        "flowcontrol.v1.PriorityLevelConfiguration",
    ("certificates.k8s.io/v1", "CertificateSigningRequest"):
        "certificates.v1.CertificateSigningRequest",
    **{("rbac.authorization.k8s.io/v1", kind): f"rbac.v1.{kind}"
       for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")},
    **{("authorization.k8s.io/v1", kind): f"authorization.v1.{kind}"
       for kind in ("SelfSubjectAccessReview", "SubjectAccessReview",
                    "SelfSubjectRulesReview")},
    **{("authentication.k8s.io/v1", kind): f"authentication.v1.{kind}"
       for kind in ("SelfSubjectReview", "TokenReview", "TokenRequest")},
}
"""The objects read from protobuf: each served kind, the reviews, and what kubectl's
``drain`` (Eviction) and ``certificate approve`` send."""
SPECIAL = {
    "apis.meta.v1.Time": "time", "apis.meta.v1.MicroTime": "microtime",
    "apis.meta.v1.Duration": "duration", "api.resource.Quantity": "quantity",
    "util.intstr.IntOrString": "intorstring", "runtime.RawExtension": "json",
    "apis.meta.v1.FieldsV1": "json",
}
"""Messages whose JSON is not an object: written by the decoder's own rules."""
SCALARS = {"string": "string", "bytes": "bytes", "bool": "bool", "int32": "int",
           "int64": "int", "uint32": "int", "uint64": "int", "double": "double",
           "float": "float"}
_PREFIXES = ("k8s.io.api.", "k8s.io.apimachinery.pkg.")


@dataclass
class Field:
    number: int
    name: str
    type: str
    mode: str  # "", "repeated", "map"


@dataclass
class GoField:
    json: str
    keeps_zero: bool
    """A pointer (a zero was set) or a field without ``omitempty`` (JSON writes its zero)."""
    inline: bool


def git_show(git_dir: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, "show", f"HEAD:{path}"],
                          check=True, capture_output=True, text=True).stdout


def git_files(git_dir: str, folder: str) -> list[str]:
    listing = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "--name-only", "HEAD",
                              f"{folder}/"], check=True, capture_output=True, text=True).stdout
    return [path for path in listing.split()
            if path.endswith(".go") and not path.endswith("_test.go")
            and not path.split("/")[-1].startswith(("zz_", "generated."))]


def short(name: str) -> str:
    name = name.lstrip(".")
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


_MESSAGE = re.compile(r"^message (\w+) \{$")
_FIELD = re.compile(r"^\s*(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)")
_MAP = re.compile(r"^\s*map<\s*string,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)")


def parse_proto(text: str) -> tuple[dict[str, list[Field]], set[str]]:
    """The messages of one generated.proto (short names) and those that are lists in JSON
    (``+protobuf.nullable=true``: ExtraValue, Verbs)."""
    package = short(re.search(r"^package ([\w.]+);", text, re.M).group(1))  # type: ignore
    messages: dict[str, list[Field]] = {}
    lists: set[str] = set()
    current: list[Field] | None = None
    nullable = False

    def qualified(type_name: str) -> str:
        if type_name in SCALARS:
            return SCALARS[type_name]
        return short(type_name) if type_name.startswith(".") else f"{package}.{type_name}"

    for line in text.splitlines():
        if "+protobuf.nullable=true" in line:
            nullable = True
        if found := _MESSAGE.match(line):
            name = f"{package}.{found.group(1)}"
            current = messages.setdefault(name, [])
            if nullable:
                lists.add(name)
            nullable = False
        elif line.startswith("}"):
            current, nullable = None, False
        elif current is not None and (found := _FIELD.match(line)):
            mode = "repeated" if found.group(1) == "repeated" else ""
            current.append(Field(int(found.group(4)), found.group(3),
                                 qualified(found.group(2)), mode))
        elif current is not None and (found := _MAP.match(line)):
            current.append(Field(int(found.group(3)), found.group(2),
                                 qualified(found.group(1)), "map"))
    return messages, lists


_STRUCT = re.compile(r"^type (\w+) struct \{")
_GO_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?(\S+)\s+`(.*)`")
_TAG = re.compile(r'(\w+):"([^"]*)"')


def parse_go(text: str) -> dict[str, dict[int, GoField]]:
    """Per Go struct: field number (from its protobuf tag) -> JSON name, pointer, inline."""
    structs: dict[str, dict[int, GoField]] = {}
    current: dict[int, GoField] | None = None
    for line in text.splitlines():
        if found := _STRUCT.match(line):
            current = structs.setdefault(found.group(1), {})
        elif line.startswith("}"):
            current = None
        elif current is not None and (found := _GO_FIELD.match(line)):
            tags = dict(_TAG.findall(found.group(3)))
            if "protobuf" not in tags or "json" not in tags:
                continue
            number = int(tags["protobuf"].split(",")[1])
            json_name, *options = tags["json"].split(",")
            inline = found.group(1) is None and json_name == ""
            keeps_zero = found.group(2).startswith("*") or "omitempty" not in options
            current[number] = GoField(json_name, keeps_zero, inline)
    return structs


def load(api: str, machinery: str) -> tuple[dict[str, list[Field]], set[str],
                                            dict[str, dict[int, GoField]]]:
    messages: dict[str, list[Field]] = {}
    lists: set[str] = set()
    go: dict[str, dict[int, GoField]] = {}
    sources = [(api, path) for path in _protos(api)] + [
        (machinery, path) for path in _protos(machinery)]
    for git_dir, path in sources:
        text = git_show(git_dir, path)
        found, found_lists = parse_proto(text)
        messages.update(found)
        lists |= found_lists
        package = short(re.search(r"^package ([\w.]+);", text, re.M).group(1))  # type: ignore
        folder = path.rsplit("/", 1)[0]
        for go_path in git_files(git_dir, folder):
            for struct, fields in parse_go(git_show(git_dir, go_path)).items():
                go[f"{package}.{struct}"] = fields
    return messages, lists, go


def _protos(git_dir: str) -> list[str]:
    listing = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "-r", "--name-only",
                              "HEAD"], check=True, capture_output=True, text=True).stdout
    return [path for path in listing.split() if path.endswith("/generated.proto")
            and "testapigroup" not in path]


def table(messages: dict[str, list[Field]], lists: set[str],
          go: dict[str, dict[int, GoField]]) -> dict[str, list[tuple[int, str, str, str]]]:
    """Each message reachable from ROOTS: (number, JSON name, type, flags) per field. A type
    is a scalar (``string``, ``bytes``, ``bool``, ``int``, ``double``, ``float``), a SPECIAL
    message or another message of the table; flags: ``r`` repeated, ``m`` map (string keys),
    ``z`` a zero that was sent is kept (a pointer, or a field JSON writes without
    ``omitempty``), ``i`` inlined into its parent, ``l`` the message is this list in JSON."""
    found: dict[str, list[tuple[int, str, str, str]]] = {}
    pending = list(ROOTS.values())
    while pending:
        name = pending.pop()
        if name in found or name in SPECIAL:
            continue
        rows = []
        for field in messages[name]:
            flags = {"repeated": "r", "map": "m"}.get(field.mode, "")
            if name in lists:
                rows.append((field.number, "", field.type, flags + "l"))
            else:
                go_field = go[name][field.number]
                flags += ("z" if go_field.keeps_zero else "") + ("i" if go_field.inline else "")
                rows.append((field.number, go_field.json, field.type, flags))
            if field.type not in SCALARS.values():
                pending.append(field.type)
        found[name] = rows
    return dict(sorted(found.items()))


HEADER = '''"""Kubernetes' messages as ``actors.apiserver.http.protobuf`` reads them; generated by
scripts/protobuf_table.py (k8s.io/api {api}, k8s.io/apimachinery {machinery}), which says what
each row holds. Do not edit by hand: run the script again.
"""
# ruff: noqa: E501

Row = tuple[int, str, str, str]
'''


def main() -> None:
    api, machinery = sys.argv[1:3]
    messages, lists, go = load(api, machinery)
    rows = table(messages, lists, go)
    heads = [subprocess.run(["git", "--git-dir", g, "rev-parse", "--short", "HEAD"],
                            check=True, capture_output=True, text=True).stdout.strip()
             for g in (api, machinery)]
    out = [HEADER.format(api=heads[0], machinery=heads[1])]
    out.append(f"SPECIAL: dict[str, str] = {SPECIAL!r}")
    out.append("ROOTS: dict[tuple[str, str], str] = {")
    out += [f"    {key!r}: {value!r}," for key, value in sorted(ROOTS.items())]
    out.append("}")
    out.append("MESSAGES: dict[str, tuple[Row, ...]] = {")
    out += [f"    {name!r}: {tuple(fields)!r}," for name, fields in rows.items()]
    out.append("}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
