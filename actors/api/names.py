"""The names Kubernetes allows: object names per kind (DNS labels and subdomains, RBAC path
segments), qualified label and annotation keys, label values, and the annotations' size limit,
in kube-apiserver's words.

Pure functions over plain values.

Neighbours: ``actors.api.validation`` (runs them on every object), ``actors.api.podspecs``
(container names are DNS labels), ``actors.api.crds`` (a CRD's names).
"""

from __future__ import annotations

import re
from typing import Any

from actors.api.resources import ResourceInfo

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


MAX_ANNOTATION_BYTES = 256 * 1024
"""Most bytes all of an object's annotations may hold, keys and values (Kubernetes')."""


def name_problems(info: ResourceInfo, name: Any) -> list[str]:
    """Problems with ``name`` as the name of a ``info`` object: a DNS label for namespaces, a
    path segment for RBAC objects (``system:node``) and core Events (kube-apiserver checks no
    other format on a v1 Event, whose name client-go makes ``<object>.<hex nanoseconds>``: 17
    characters past a name that may have 253), a DNS subdomain for the rest."""
    shown = f'metadata.name: Invalid value: "{name}"'
    if not isinstance(name, str):
        return [f"{shown}: must be a string"]
    if info.group == "rbac.authorization.k8s.io" or (info.group, info.name) == ("", "events"):
        if name in (".", ".."):
            return [f"{shown}: may not be '{name}'"]
        return [f"{shown}: may not contain '{bad}'" for bad in ("/", "%") if bad in name]
    if info.name == "namespaces":
        if len(name) > 63 or not DNS_LABEL.match(name):
            return [f"{shown}: a lowercase RFC 1123 label must consist of lower case "
                    "alphanumeric characters or '-', and must start and end with an "
                    "alphanumeric character"]
        return []
    if len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        return [f"{shown}: a lowercase RFC 1123 subdomain must consist of lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character"]
    return []


def label_problems(at: str, metadata: Any) -> list[str]:
    """Problems with the labels and annotations of the metadata found at ``at``: keys are
    qualified names (``example.com/name``), label values at most 63 characters of
    ``[-A-Za-z0-9_.]``, all annotations at most 256 KiB."""
    if not isinstance(metadata, dict):
        return []
    problems = []
    for field in ("labels", "annotations"):
        value = metadata.get(field)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(f"{at}.{field}: Invalid value: must be a map of strings")
            continue
        problems += [f'{at}.{field}: Invalid value: "{key}": {why}' for key in value
                     if (why := _qualified_name_problem(key))]
        if field == "labels":
            problems += [
                f'{at}.labels: Invalid value: "{v}": a valid label must be an empty string or '
                "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character" for v in value.values()
                if len(v) > 63 or not _LABEL_VALUE.match(v)]
        elif sum(len(k) + len(v) for k, v in value.items()) > MAX_ANNOTATION_BYTES:
            problems.append(f"{at}.annotations: Too long: must have at most "
                            f"{MAX_ANNOTATION_BYTES} bytes")
    return problems


def _qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (``[prefix/]name``), in Kubernetes' words."""
    prefix, _, part = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        return "prefix part a lowercase RFC 1123 subdomain must consist of lower case " \
               "alphanumeric characters, '-' or '.', and must start and end with an " \
               "alphanumeric character"
    if not part or len(part) > 63 or not _NAME_PART.match(part):
        return "name part must consist of alphanumeric characters, '-', '_' or '.', and " \
               "must start and end with an alphanumeric character"
    return None
