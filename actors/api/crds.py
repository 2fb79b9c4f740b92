"""CustomResourceDefinitions (``apiextensions.k8s.io/v1``): what makes a CRD valid, when its
names are accepted and it is Established, and the resource it then serves.

A CRD serves one resource (``<plural>.<group>``) in one or more versions, objects stored in its
one storage version (conversion ``None``: only ``apiVersion`` changes between versions, see
:func:`served_as`). Each version has a structural ``openAPIV3Schema`` (a CRD whose schema is not,
or whose defaults it refuses, is invalid), compiled by ``actors.api.schema`` into the walker
that checks, defaults and prunes its objects; a ``scale`` subresource's paths
(:class:`ScalePaths`) say where its objects keep their replicas. apiextensions-apiserver sets
the CRD's ``NamesAccepted`` and ``Established`` conditions from controllers; kubeactor decides them
(:func:`accept`) when the CRD is written, so the resource is served from the commit on.

Pure functions over plain dicts. Neighbours: ``actors.api.schema`` (the walker),
``actors.api.discovery`` (the resources served, built-in and custom),
``actors.api.validation`` (calls :func:`problems` and :func:`decode_custom`),
``actors.apiserver`` (keeps the served resources current from CRD commits).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.api import schema
from actors.api.meta import now_rfc3339
from actors.api.names import DNS_LABEL
from actors.api.objects import Object
from actors.api.resources import ResourceInfo

GROUP = "apiextensions.k8s.io"
RESOURCE = "customresourcedefinitions"
KIND = "CustomResourceDefinition"
SCOPES = {"Namespaced": True, "Cluster": False}
_KIND = re.compile(r"^[A-Z][A-Za-z0-9]*$")
API_APPROVED = "api-approved.kubernetes.io"


@dataclass(frozen=True, slots=True)
class Column:
    """One ``additionalPrinterColumns`` entry: a column of the resource's tables."""

    name: str
    type: str
    json_path: str
    """A JSONPath without its braces: ``.spec.size``."""
    priority: int = 0
    """0: in every table; more: only in the wide one (``-o wide``)."""


@dataclass(frozen=True, slots=True)
class ScalePaths:
    """A version's ``subresources.scale``: where its objects keep what an ``autoscaling/v1``
    Scale shows. Simple JSON paths (``.spec.replicas``), no array steps."""

    spec_replicas: str
    status_replicas: str
    label_selector: str | None = None


@dataclass(frozen=True, slots=True)
class CustomResource(ResourceInfo):
    """A resource a CRD serves; ``version`` is its storage version."""

    definition: str = ""
    """The CRD's name (``<plural>.<group>``)."""
    versions: tuple[str, ...] = ()
    """The served versions."""
    schemas: Mapping[str, schema.Node] = field(default_factory=dict, compare=False)
    """Each served version's compiled schema."""
    openapi: Mapping[str, Object] = field(default_factory=dict, compare=False)
    """Each served version's ``openAPIV3Schema`` as the CRD says it (what ``kubectl explain``
    reads)."""
    columns: tuple[Column, ...] = ()
    selectable: tuple[str, ...] = ()
    """The storage version's ``selectableFields`` (``spec.color``): what a field selector
    may name besides ``metadata.name`` and ``metadata.namespace``."""
    scale: ScalePaths | None = None
    """The storage version's ``scale`` subresource, when it has one."""


def selectable_fields(info: ResourceInfo) -> tuple[str, ...]:
    """The fields a list or watch of ``info`` may select by besides the common ones: a
    custom resource's ``selectableFields``."""
    return info.selectable if isinstance(info, CustomResource) else ()


def storage_version(crd: Object) -> str:
    return next((v["name"] for v in _versions(crd) if v.get("storage")), "")


def _versions(crd: Object) -> list[Object]:
    versions = (crd.get("spec") or {}).get("versions")
    return [v for v in versions if isinstance(v, dict)] if isinstance(versions, list) else []


def problems(crd: Object) -> list[str]:
    """What makes ``crd`` invalid, as apiextensions-apiserver's validation words it (its
    schema checked ``crd``'s types already)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural = spec.get("group", ""), names.get("plural", "")
    found = []
    if crd.get("metadata", {}).get("name") != f"{plural}.{group}":
        found.append(f'metadata.name: Invalid value: "{crd["metadata"].get("name")}": must be '
                     'spec.names.plural+"."+spec.group')
    if "." not in group:
        found.append(f'spec.group: Invalid value: "{group}": should be a domain with at least '
                     "one dot")
    if _protected(group) and API_APPROVED not in (crd["metadata"].get("annotations") or {}):
        found.append(f"metadata.annotations[{API_APPROVED}]: Required value: protected groups "
                     f'must have approval annotation "{API_APPROVED}", see '
                     "https://github.com/kubernetes/enhancements/pull/1111")
    if spec.get("scope") not in SCOPES:
        found.append(f'spec.scope: Unsupported value: "{spec.get("scope")}": supported values: '
                     '"Cluster", "Namespaced"')
    found += _name_problems(names)
    found += _version_problems(spec)
    strategy = (spec.get("conversion") or {}).get("strategy", "None")
    if strategy != "None":
        found.append(f'spec.conversion.strategy: Unsupported value: "{strategy}": supported '
                     'values: "None"')
    return found


def _protected(group: str) -> bool:
    """Whether ``group`` is Kubernetes' own (``k8s.io``, ``kubernetes.io`` and their
    subdomains): a CRD may serve there only with the project's approval (KEP 1111)."""
    return any(group == domain or group.endswith(f".{domain}")
               for domain in ("k8s.io", "kubernetes.io"))


def _name_problems(names: Object) -> list[str]:
    words = {"plural": names.get("plural", ""), "singular": names.get("singular") or "x"}
    words.update({f"shortNames[{i}]": short
                  for i, short in enumerate(names.get("shortNames") or ())})
    found = [f'spec.names.{key}: Invalid value: "{word}": a lowercase RFC 1123 label must '
             "consist of lower case alphanumeric characters or '-'"
             for key, word in words.items() if not DNS_LABEL.match(str(word))]
    if not _KIND.match(str(names.get("kind", ""))):
        found.append(f'spec.names.kind: Invalid value: "{names.get("kind", "")}": must be a '
                     "CamelCase name starting with an upper case letter")
    return found


def _version_problems(spec: Object) -> list[str]:
    versions = _versions({"spec": spec})
    if not versions:
        return ["spec.versions: Invalid value: null: must have exactly one version marked as "
                "storage version"]
    found = []
    if sum(bool(v.get("storage")) for v in versions) != 1:
        found.append("spec.versions: Invalid value: must have exactly one version marked as "
                     "storage version")
    seen: set[str] = set()
    for index, version in enumerate(versions):
        at, name = f"spec.versions[{index}]", str(version.get("name", ""))
        if name in seen or not DNS_LABEL.match(name):
            found.append(f'{at}.name: Invalid value: "{name}": must be a unique DNS label')
        seen.add(name)
        root = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
        if root.get("type") != "object":
            found.append(f"{at}.schema.openAPIV3Schema.type: Required value: must be object "
                         "at the root")
        found += _schema_problems(f"{at}.schema.openAPIV3Schema", root)
        found += _scale_problems(f"{at}.subresources.scale",
                                 (version.get("subresources") or {}).get("scale"))
        found += [f"{at}.additionalPrinterColumns[{i}].jsonPath: Invalid value: "
                  f'"{c.get("jsonPath", "")}": must be a simple JSON path'
                  for i, c in enumerate(version.get("additionalPrinterColumns") or ())
                  if not str(c.get("jsonPath", "")).startswith(".")]
    return found


SCALE_PATHS = {"specReplicasPath": (".spec.",), "statusReplicasPath": (".status.",),
               "labelSelectorPath": (".spec.", ".status.")}
"""Each path of a ``scale`` subresource, and where it must point (apiextensions' rules)."""
_SIMPLE_PATH = re.compile(r"^(\.[A-Za-z_][-A-Za-z0-9_]*)+$")


def _scale_problems(at: str, scale: Any) -> list[str]:
    """What apiextensions-apiserver refuses in a version's ``subresources.scale``."""
    if scale is None:
        return []
    if not isinstance(scale, dict):
        return [f"{at}: Invalid value: must be an object"]
    found = []
    for key, roots in SCALE_PATHS.items():
        path = scale.get(key)
        if path is None and key == "labelSelectorPath":
            continue
        if not isinstance(path, str) or not path:
            found.append(f"{at}.{key}: Required value")
        elif not _SIMPLE_PATH.match(path) or not path.startswith(roots):
            where = " or ".join(root.rstrip(".") for root in roots)
            found.append(f'{at}.{key}: Invalid value: "{path}": should be a json path under '
                         f"{where}")
    return found


def path_value(obj: Object, path: str) -> Any:
    """The value at a simple JSON path (``.spec.replicas``) of ``obj``, None when absent."""
    value: Any = obj
    for key in path.split(".")[1:]:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def with_path_value(obj: Object, path: str, value: Any) -> None:
    """Set the value at a simple JSON path of ``obj``, making the maps on the way."""
    *parents, last = path.split(".")[1:]
    for key in parents:
        if not isinstance(obj.get(key), dict):
            obj[key] = {}
        obj = obj[key]
    obj[last] = value


def _schema_problems(at: str, root: Object) -> list[str]:
    """What apiextensions-apiserver refuses in a version's ``openAPIV3Schema`` beyond its
    types: a schema that is not structural, a ``pattern`` RE2 refuses, and (in a structural
    one) a ``default`` its own schema refuses."""
    nodes = list(_nodes(at, root, "root"))
    found = [problem for where, node, level in nodes
             for problem in _structural_problems(where, node, level)]
    found += [problem for where, node, _ in nodes for problem in _pattern_problems(where, node)]
    if found:
        return found
    return [problem for where, node, _ in nodes if "default" in node
            for problem in _default_problems(where, node)]


def _nodes(at: str, node: Any, level: str) -> Iterator[tuple[str, Object, str]]:
    """``node`` and every schema under it, with where each is and its level (``root``,
    ``field``: a property's, ``item``: an array's items, ``values``: additionalProperties')."""
    if not isinstance(node, dict):
        return
    yield at, node, level
    for key, sub in (node.get("properties") or {}).items():
        yield from _nodes(f"{at}.properties[{key}]", sub, "field")
    yield from _nodes(f"{at}.items", node.get("items"), "item")
    yield from _nodes(f"{at}.additionalProperties", node.get("additionalProperties"), "values")


_EMPTY_TYPE = {"field": "must not be empty for specified object fields",
               "item": "must not be empty for specified array items"}
"""How a structural schema's missing ``type`` is refused, by where the schema is."""


def _structural_problems(at: str, node: Object, level: str) -> list[str]:
    """Why ``node`` is not structural, as apiextensions-apiserver's checks say it."""
    found = []
    typeless = not node.get("type") and not node.get("x-kubernetes-int-or-string") and \
        not node.get("x-kubernetes-preserve-unknown-fields")
    if typeless and level in _EMPTY_TYPE:
        found.append(f"{at}.type: Required value: {_EMPTY_TYPE[level]}")
    if "properties" in node and "additionalProperties" in node:
        found.append(f"{at}.additionalProperties: Forbidden: additionalProperties and "
                     "properties are mutual exclusive")
    return found


def _pattern_problems(at: str, node: Object) -> list[str]:
    """The ``pattern`` of ``node`` when RE2 refuses it."""
    pattern = node.get("pattern")
    problem = schema.pattern_problem(pattern) if isinstance(pattern, str) else None
    return [f'{at}.pattern: Invalid value: "{pattern}": must be a valid regular expression, '
            f"but isn't: {problem}"] if problem else []


_DEFAULT = "<default>"
"""Where the walk of a default says it is: replaced by the default's path in the CRD."""


def _default_problems(at: str, node: Object) -> list[str]:
    """What ``node``'s own schema refuses in its ``default``: kube-openapi's words, the
    field path the default's (``<at>.default``), the message's name relative to it."""
    value = copy.deepcopy(node["default"])
    findings = schema.walk(schema.compile_node(node), value, _DEFAULT)
    shown = json.dumps(node["default"], separators=(",", ":"))
    pruned = [f"{at}.default: Invalid value: {shown}: must not have unknown fields"] \
        if findings.unknown else []
    return pruned + [_at_default(at, error) for error in findings.errors]


def _at_default(at: str, error: str) -> str:
    field, _, message = error.partition(": ")
    message = message.replace(f"{_DEFAULT}.", "").replace(f"{_DEFAULT} ", "")
    return f"{at}.default{field.removeprefix(_DEFAULT)}: {message}"


def accept(crd: Object, served: list[ResourceInfo]) -> None:
    """Set ``crd``'s status as apiextensions-apiserver's naming and establishing controllers
    would: its names are accepted unless another resource of its group already uses them, and
    then it is Established. ``served``: every resource served but ``crd``'s own."""
    names = crd["spec"]["names"]
    conflict = name_conflict(crd["spec"]["group"], names, served)
    status = crd.setdefault("status", {})
    stored = status.get("storedVersions") or []
    if conflict is None:
        status["acceptedNames"] = {key: value for key, value in names.items()}
        status["acceptedNames"].setdefault("singular", names["kind"].lower())
    status["storedVersions"] = list(dict.fromkeys([*stored, storage_version(crd)]))
    conditions = [
        _condition("NamesAccepted", conflict is None, "NoConflicts" if conflict is None
                   else "NameConflict", conflict or "no conflicts found"),
        _condition("Established", conflict is None, "InitialNamesAccepted"
                   if conflict is None else "NotAccepted", "the initial names have been "
                   "accepted" if conflict is None else "not all names are accepted"),
    ]
    status["conditions"] = conditions


def _condition(kind: str, true: bool, reason: str, message: str) -> Object:
    return {"type": kind, "status": "True" if true else "False", "reason": reason,
            "message": message, "lastTransitionTime": now_rfc3339()}


def name_conflict(group: str, names: Object, served: list[ResourceInfo]) -> str | None:
    """Why ``names`` cannot be served in ``group`` (another resource uses one), or None."""
    plural, kind = names.get("plural"), names.get("kind")
    for info in served:
        if info.group == group and info.name == plural:
            return f'"{plural}" is already in use'
        if info.group == group and info.kind == kind:
            return f'"{kind}" is already in use'
        taken = {info.name, info.singular, *info.short_names}
        for short in names.get("shortNames") or ():
            if info.group == group and short in taken:
                return f'"{short}" is already in use'
    return None


def established(crd: Object) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in conditions)


def resource_of(crd: Object) -> CustomResource | None:
    """The resource ``crd`` serves, once it is Established (None before)."""
    if not established(crd):
        return None
    spec, names = crd["spec"], crd["spec"]["names"]
    served = [v for v in _versions(crd) if v.get("served")]
    subresources = {key for v in served for key in (v.get("subresources") or {})}
    storage = next(v for v in _versions(crd) if v.get("storage"))
    return CustomResource(
        names["plural"], names["kind"], group=spec["group"], version=storage["name"],
        namespaced=SCOPES[spec["scope"]], short_names=tuple(names.get("shortNames") or ()),
        subresources=tuple(sorted(subresources)),
        categories=tuple(names.get("categories") or ()),
        definition=crd["metadata"]["name"], versions=tuple(v["name"] for v in served),
        schemas={v["name"]: schema.compile_custom(v["schema"]["openAPIV3Schema"])
                 for v in served},
        openapi={v["name"]: v["schema"]["openAPIV3Schema"] for v in served},
        columns=tuple(_column(c) for c in storage.get("additionalPrinterColumns") or ()),
        selectable=tuple(str(f.get("jsonPath", "")).lstrip(".")
                         for f in storage.get("selectableFields") or () if isinstance(f, dict)),
        scale=_scale_paths((storage.get("subresources") or {}).get("scale")),
    )


def _scale_paths(scale: Object | None) -> ScalePaths | None:
    if scale is None:
        return None
    return ScalePaths(scale["specReplicasPath"], scale["statusReplicasPath"],
                      scale.get("labelSelectorPath"))


def _column(column: Object) -> Column:
    return Column(str(column["name"]), str(column.get("type", "string")),
                  str(column["jsonPath"]), int(column.get("priority", 0)))


def decoded_version(info: CustomResource, obj: Object) -> str:
    """The served version ``obj`` is written in (its ``apiVersion``), else the storage one."""
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return version if group == info.group and version in info.versions else info.version


def served_as(info: ResourceInfo, version: str | None, answer: Object) -> Object:
    """``answer`` (an object of ``info``, or a list of them) as the served ``version`` shows
    it: conversion ``None`` changes only ``apiVersion``. Objects of another kind (a Scale, a
    Status) and answers without a version asked for are returned as they are; the stored
    object itself is never changed (a shallow copy is)."""
    if version is None or version == info.version or not isinstance(answer, dict):
        return answer
    shown = f"{info.group}/{version}"
    if answer.get("kind") == f"{info.kind}List" and isinstance(answer.get("items"), list):
        return {**answer, "apiVersion": shown,
                "items": [served_as(info, version, item) for item in answer["items"]]}
    return {**answer, "apiVersion": shown} if answer.get("apiVersion") == info.api_version \
        else answer


def version_mismatch(info: ResourceInfo, version: str | None, body: Any) -> str | None:
    """Why an object sent to be written at ``version`` is not (its ``apiVersion`` names
    another), as kube-apiserver's decoder says it; None when it is, or no version was named."""
    sent = body.get("apiVersion") if isinstance(body, dict) else None
    expected = f"{info.group}/{version}"
    if version is None or sent in (None, expected):
        return None
    return (f"the API version in the data ({sent}) does not match the expected API version "
            f"({expected})")


def check(info: CustomResource, obj: Object) -> schema.Findings:
    """Walk ``obj`` against the schema of the version it is written in (defaults filled in),
    then make it the storage version's (conversion ``None``)."""
    findings = schema.walk(info.schemas[decoded_version(info, obj)], obj)
    obj["apiVersion"] = info.api_version
    return findings

