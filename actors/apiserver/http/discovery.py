"""What the server serves, as kubectl and client-go discover it: ``/api`` (APIVersions),
``/apis`` (APIGroupList), ``/api/v1`` and ``/apis/GROUP/VERSION`` (APIResourceList: each
resource's kind, singular and short names, categories, scope and verbs, its subresources as
``pods/status``), and ``/version``. Built from what the apiserver serves (a
:class:`~actors.api.discovery.Served`: the built-in resources and those of the Established
CRDs, each CRD's at every version it serves) and the verbs the pipeline answers
(``actors.apiserver.server``), so that discovery never promises what the server refuses.

The aggregated form (``application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``)
is not served yet: kubectl asks for it with plain JSON as its second choice and, answered with
the legacy documents, reads those.

Pure: unit-tested in tests/unit/apiserver/http/test_discovery.py.
"""

from __future__ import annotations

from actors.api.discovery import Served, versions
from actors.api.objects import Object
from actors.api.resources import REVIEWS, ResourceInfo
from actors.apiserver.server import SUBRESOURCE_VERBS, VERBS

KUBERNETES_VERSION = (1, 37)
"""The Kubernetes API whose shapes kubeactor serves (the kubectl of the test extra's)."""


def version() -> Object:
    """``/version``: kubectl compares its own minor version with this one."""
    major, minor = KUBERNETES_VERSION
    return {"major": str(major), "minor": str(minor),
            "gitVersion": f"v{major}.{minor}.0-kubeactor", "gitCommit": "", "gitTreeState": "",
            "buildDate": "", "goVersion": "", "compiler": "kubeactor", "platform": "python"}


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
                    "verbs": ["create"] if info.name in REVIEWS else sorted(VERBS)}
    if info.short_names:
        main["shortNames"] = list(info.short_names)
    if info.categories:
        main["categories"] = list(info.categories)
    return [main] + [{"name": f"{info.name}/{sub}", "singularName": "",
                      "namespaced": info.namespaced, "kind": info.kind,
                      "verbs": sorted(SUBRESOURCE_VERBS.get(sub, ())),
                      **SUBRESOURCE_KINDS.get(sub, {})}
                     for sub in info.subresources]
