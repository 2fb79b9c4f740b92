"""What the server serves, as kubectl and client-go discover it: ``/api`` (APIVersions),
``/apis`` (APIGroupList), ``/api/v1`` and ``/apis/GROUP/VERSION`` (APIResourceList: each
resource's kind, singular and short names, categories, scope and verbs, its subresources as
``pods/status``), and ``/version``. Built from what the apiserver serves (a
:class:`~actors.api.discovery.Served`: the built-in resources and those of the Established
CRDs, each CRD's at every version it serves) and the verbs the pipeline answers
(``actors.apiserver.server``), so that discovery never promises what the server refuses.

``/api`` and ``/apis`` are also served in the aggregated form kubectl 1.37 asks for first
(``Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``, or
``v2beta1``): an APIGroupDiscoveryList of every group with each version's resources (scope,
singular, response kind, verbs, short names, categories, subresources), so kubectl reads all of
discovery in two requests instead of one per group version. Answered with that Content-Type
(which is how client-go knows it got the aggregated form); a client that does not ask for it
gets the legacy documents. Built once per set of custom resources (``documents``).

Pure: unit-tested in tests/unit/apiserver/http/test_discovery.py.
"""

from __future__ import annotations

from actors.api.discovery import Served, versions
from actors.api.objects import Object
from actors.api.resources import METRICS_GROUP, REVIEWS, ResourceInfo
from actors.apiserver.decoding import SUBRESOURCE_VERBS, VERBS
from actors.apiserver.http import documents
from actors.apiserver.http.documents import Document

KUBERNETES_VERSION = (1, 37)
"""The Kubernetes API whose shapes kubeactor serves (the kubectl of the test extra's)."""


def version() -> Object:
    """``/version``: kubectl compares its own minor version with this one."""
    major, minor = KUBERNETES_VERSION
    return {"major": str(major), "minor": str(minor),
            "gitVersion": f"v{major}.{minor}.0-kubeactor", "gitCommit": "", "gitTreeState": "",
            "buildDate": "", "goVersion": "", "compiler": "kubeactor", "platform": "python"}


def is_document(path: str) -> bool:
    """Whether ``path`` is one of discovery's (``/api``, ``/apis``, a group version's): a
    resource's path has more parts."""
    parts = [part for part in path.split("/") if part]
    return bool(parts) and len(parts) <= {"api": 2, "apis": 3}.get(parts[0], 0)


def document(path: str, address: str, served: Served) -> Object | None:
    """The discovery document at ``path`` (None: not a discovery path); ``address``: the
    server's ``HOST:PORT``, which ``/api`` names; ``served``: what the apiserver serves now."""
    parts = [part for part in path.split("/") if part]
    if parts == ["api"]:
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}
    if parts == ["apis"]:
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": _groups(served)}
    if len(parts) == 2 and parts[0] == "api":
        return _resources(served, "", parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return _resources(served, parts[1], parts[2])
    return None


AGGREGATED = "application/json;g=apidiscovery.k8s.io;v={};as=APIGroupDiscoveryList"
AGGREGATED_VERSIONS = ("v2", "v2beta1")


def aggregated(path: str, accept: str, served: Served) -> Document | None:
    """``/api`` or ``/apis`` in the aggregated form, when ``accept`` prefers it (the first
    of the forms it names that is served); None otherwise."""
    legacy = path.rstrip("/") == "/api"
    if path.rstrip("/") not in ("/api", "/apis"):
        return None
    version = _asked_aggregation(accept)
    if version is None:
        return None
    custom = None if legacy else served
    return documents.cached(custom, f"{path.rstrip('/')} {version}", lambda: documents.encoded(
        _discovery_list(served, version, legacy), AGGREGATED.format(version)))


def _asked_aggregation(accept: str) -> str | None:
    """The apidiscovery version ``accept`` asks for before any plain JSON (None: none)."""
    for offered in accept.split(","):
        parameters = dict(part.strip().partition("=")[::2] for part in offered.split(";")[1:])
        if offered.split(";")[0].strip() != "application/json":
            continue
        if parameters.get("g") != "apidiscovery.k8s.io":
            return None  # plain JSON (or another form) comes first
        if parameters.get("as") == "APIGroupDiscoveryList" and \
                parameters.get("v") in AGGREGATED_VERSIONS:
            return parameters["v"]
    return None


def _discovery_list(served: Served, version: str, legacy: bool) -> Object:
    """The APIGroupDiscoveryList of the core group (``legacy``) or of the named ones."""
    groups = [""] if legacy else list(dict.fromkeys(
        info.group for info in served.all if info.group))
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": [_group_discovery(served, group) for group in groups]}


def _group_discovery(served: Served, group: str) -> Object:
    """One group: each version (the preferred first) with its resources."""
    listed: dict[str, list[Object]] = {}
    for info in served.all:
        if info.group == group:
            for version in (info.version, *versions(info)):
                listed.setdefault(version, [])
            for version in versions(info):
                listed[version].append(_resource_discovery(info, version))
    metadata = {"name": group} if group else {}
    return {"metadata": metadata, "versions": [
        {"version": version, "resources": resources, "freshness": "Current"}
        for version, resources in listed.items()]}


def _resource_discovery(info: ResourceInfo, version: str) -> Object:
    kind = {"group": info.group, "version": version, "kind": info.kind}
    entry: Object = {"resource": info.name, "responseKind": kind,
                     "scope": "Namespaced" if info.namespaced else "Cluster",
                     "singularResource": info.singular, "verbs": _verbs(info)}
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    if info.subresources:
        entry["subresources"] = [
            {"subresource": sub, "responseKind": {**kind, **SUBRESOURCE_KINDS.get(sub, {})},
             "verbs": sorted(SUBRESOURCE_VERBS.get(sub, ()))} for sub in info.subresources]
    return entry


def _verbs(info: ResourceInfo) -> list[str]:
    if info.group == METRICS_GROUP:
        return ["get", "list"]
    return ["create"] if info.name in REVIEWS else sorted(VERBS)


def _groups(served: Served) -> list[Object]:
    """Every named group (in the order of first appearance) with its versions, the first
    served (a built-in's one, a CRD's storage version) preferred."""
    found: dict[str, dict[str, None]] = {}
    for info in served.all:
        if info.group:
            found.setdefault(info.group, {}).update(dict.fromkeys(
                (info.version, *versions(info))))
    return [{"name": group, "versions": [_group_version(group, v) for v in listed],
             "preferredVersion": _group_version(group, next(iter(listed)))}
            for group, listed in found.items()]


def _group_version(group: str, version: str) -> Object:
    return {"groupVersion": f"{group}/{version}", "version": version}


def _resources(served: Served, group: str, version: str) -> Object | None:
    """The APIResourceList of ``group``/``version``; None when nothing is served there."""
    there = [info for info in served.all if info.group == group and version in versions(info)]
    if not there:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [entry for info in there for entry in _entries(info)]}


SUBRESOURCE_KINDS: dict[str, Object] = {
    "eviction": {"group": "policy", "version": "v1", "kind": "Eviction"},
    "scale": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
    "token": {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"},
    "binding": {"kind": "Binding"}}
"""Subresources whose objects are of another kind than their resource's, as kube-apiserver
lists them (``kubectl drain`` evicts only when ``pods/eviction`` names policy's Eviction)."""


def _entries(info: ResourceInfo) -> list[Object]:
    """The resource's entry, then one per subresource (``pods/status``)."""
    main: Object = {"name": info.name, "singularName": info.singular,
                    "namespaced": info.namespaced, "kind": info.kind,
                    "verbs": _verbs(info)}
    if info.short_names:
        main["shortNames"] = list(info.short_names)
    if info.categories:
        main["categories"] = list(info.categories)
    return [main] + [{"name": f"{info.name}/{sub}", "singularName": "",
                      "namespaced": info.namespaced, "kind": info.kind,
                      "verbs": sorted(SUBRESOURCE_VERBS.get(sub, ())),
                      **SUBRESOURCE_KINDS.get(sub, {})}
                     for sub in info.subresources]

