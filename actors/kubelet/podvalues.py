"""What a pod's containers get from outside their image, as the kubelet resolves it: keys of
ConfigMaps and Secrets, and service account tokens (:class:`Sources`), the pod's own fields and
its containers' resources (the downward API: :func:`field_value`, :func:`resource_value`), and
the environment built from them (:func:`environment`, the kubelet's makeEnvironmentVariables).

A value that cannot be had is a :class:`~actors.kubelet.runtime.RuntimeFailure` with
``CreateContainerConfigError`` and the kubelet's message (the apiserver's, when it refused the
read: a reference without a name is Forbidden to a node); an ``optional`` reference to what is
missing resolves to nothing. Pure functions but for :class:`Sources`, which reads through the
kubelet's object cache (``actors.kubelet.objectcache``; each object once per container start).

Neighbours: ``actors.kubelet.podsync`` (the caller), ``actors.kubelet.volumes`` (the same values
as files), ``actors.api.secrets`` (how Secret bytes are kept).

Which thread: a pod worker's; :class:`Sources` blocks on the API.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from actors.api import secrets
from actors.api.objects import Object
from actors.api.quantity import parse_cpu, parse_memory
from actors.kubelet.runtime import RuntimeFailure
from bus.errors import ApiError, NotFound

Fetch = Callable[[str, str, str | None], Object]
"""(resource, name, namespace) -> the object; NotFound when it does not exist."""

CONFIG_ERROR = "CreateContainerConfigError"
_KINDS = {"configmaps": "ConfigMap", secrets.RESOURCE: "Secret"}
_WORDS = {"configmaps": "configmap", secrets.RESOURCE: "secret"}


class Sources:
    """The ConfigMaps and Secrets of one pod's namespace, each read once, as bytes by key; and
    the pod's service account tokens (``token``: a ``serviceAccountToken`` source -> the
    token, from the kubelet's token manager)."""

    def __init__(self, fetch: Fetch, namespace: str,
                 token: Callable[[Object], bytes] | None = None) -> None:
        self.fetch, self.namespace = fetch, namespace
        self._read: dict[tuple[str, str], dict[str, bytes] | None] = {}
        self._token = token

    def token(self, source: Object) -> bytes:
        """The token a ``serviceAccountToken`` projection asks for."""
        if self._token is None:
            raise RuntimeFailure("ContainerCreating", "no service account tokens here")
        return self._token(source)

    def data(self, resource: str, name: str, optional: bool) -> dict[str, bytes] | None:
        """The keys of ConfigMap or Secret ``name``; None when it is missing and ``optional``,
        else CreateContainerConfigError as the kubelet words it."""
        if (resource, name) not in self._read:
            try:
                self._read[resource, name] = _as_bytes(resource,
                                                       self.fetch(resource, name, self.namespace))
            except NotFound:
                self._read[resource, name] = None
            except ApiError as error:  # refused (a name the node may not read), unreachable
                raise RuntimeFailure(CONFIG_ERROR, str(error)) from error
        found = self._read[resource, name]
        if found is None and not optional:
            raise RuntimeFailure(CONFIG_ERROR, f'{_WORDS[resource]} "{name}" not found')
        return found

    def key(self, resource: str, ref: Object) -> bytes | None:
        """The value of one ``{name, key, optional}`` reference (env ``*KeyRef``)."""
        optional = bool(ref.get("optional"))
        values = self.data(resource, ref.get("name", ""), optional)
        if values is not None and ref.get("key") in values:
            return values[ref["key"]]
        if optional:
            return None
        raise RuntimeFailure(CONFIG_ERROR, f"couldn't find key {ref.get('key')} in "
                             f"{_KINDS[resource]} {self.namespace}/{ref.get('name')}")


def _as_bytes(resource: str, obj: Object) -> dict[str, bytes]:
    """A ConfigMap's ``data`` and ``binaryData``, or a Secret's ``data``, as bytes."""
    if resource == secrets.RESOURCE:
        return {k: secrets.decoded(v) for k, v in (obj.get("data") or {}).items()}
    values = {k: secrets.decoded(v) for k, v in (obj.get("binaryData") or {}).items()}
    return {**values, **{k: str(v).encode() for k, v in (obj.get("data") or {}).items()}}


# -- the downward API -----------------------------------------------------------------------

_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace"),
           "metadata.uid": ("metadata", "uid"), "spec.nodeName": ("spec", "nodeName"),
           "spec.serviceAccountName": ("spec", "serviceAccountName"),
           "status.hostIP": ("status", "hostIP"), "status.podIP": ("status", "podIP")}
"""The single-valued fields a ``fieldRef`` may name."""
_LIST_FIELDS = {"status.hostIPs": "status.hostIP", "status.podIPs": "status.podIP"}


def field_value(pod: Object, path: str) -> str:
    """The value of ``fieldRef.fieldPath`` for ``pod`` (Kubernetes' ExtractFieldPathAsString):
    whole label and annotation maps as ``key="value"`` lines, one of them by
    ``metadata.labels['key']``."""
    metadata = pod.get("metadata") or {}
    for field in ("labels", "annotations"):
        values = metadata.get(field) or {}
        if path == f"metadata.{field}":
            return "\n".join(f'{key}="{_quoted(value)}"' for key, value in sorted(values.items()))
        prefix = f"metadata.{field}['"
        if path.startswith(prefix) and path.endswith("']"):
            return str(values.get(path[len(prefix):-2], ""))
    path = _LIST_FIELDS.get(path, path)
    if path not in _FIELDS:
        raise RuntimeFailure(CONFIG_ERROR, f"unsupported fieldPath: {path}")
    section, name = _FIELDS[path]
    return str((pod.get(section) or {}).get(name) or "")


def _quoted(value: Any) -> str:
    """Go's strconv.Quote without its quotes, for the printable text labels hold."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def resource_value(pod: Object, container_name: str, ref: Object,
                   allocatable: Object) -> str:
    """The value of ``resourceFieldRef`` (Kubernetes' ExtractContainerResourceValue): the
    container's request or limit over ``divisor``, rounded up; a limit not set is the node's
    allocatable amount."""
    containers = [*(pod["spec"].get("initContainers") or []), *pod["spec"]["containers"]]
    container = next((c for c in containers if c.get("name") == container_name), None)
    if container is None:
        raise RuntimeFailure(CONFIG_ERROR, f"container {container_name} not found")
    section, _, resource = str(ref.get("resource", "")).partition(".")
    parse = {"cpu": parse_cpu, "memory": parse_memory,
             "ephemeral-storage": parse_memory}.get(resource)
    if section not in ("limits", "requests") or parse is None:
        raise RuntimeFailure(CONFIG_ERROR,
                             f"unsupported container resource : {ref.get('resource')}")
    amounts = (container.get("resources") or {}).get(section) or {}
    amount = amounts.get(resource) or (allocatable.get(resource) if section == "limits" else 0)
    divisor = parse(ref.get("divisor") or "1")
    return str(math.ceil(parse(amount or 0) / (divisor or 1)))


# -- environment ----------------------------------------------------------------------------

def environment(pod: Object, container: Object, sources: Sources,
                allocatable: Object) -> list[Object]:
    """The container's env, every ``valueFrom`` and ``envFrom`` resolved: ``envFrom`` first
    (a later source wins a name), then ``env`` in order; ``$(VAR)`` is left to the runtime."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for field, resource in (("configMapRef", "configmaps"), ("secretRef", secrets.RESOURCE)):
            ref = source.get(field)
            values = sources.data(resource, ref.get("name", ""), bool(ref.get("optional"))
                                  ) if ref else None
            env.update({prefix + k: v.decode(errors="replace") for k, v in (values or {}).items()})
    for item in container.get("env") or []:
        value = _value(pod, container, item, sources, allocatable)
        if value is not None:
            env.pop(item["name"], None)  # keeps Kubernetes' order: a redefinition moves last
            env[item["name"]] = value
    return [{"name": name, "value": value} for name, value in env.items()]


def _value(pod: Object, container: Object, item: Object, sources: Sources,
           allocatable: Object) -> str | None:
    """One env entry's value; None when an optional reference finds nothing."""
    source = item.get("valueFrom")
    if not source:
        return str(item.get("value", ""))
    if "fieldRef" in source:
        return field_value(pod, source["fieldRef"].get("fieldPath", ""))
    if "resourceFieldRef" in source:
        ref = source["resourceFieldRef"]
        return resource_value(pod, ref.get("containerName") or container["name"], ref,
                              allocatable)
    for field, resource in (("configMapKeyRef", "configmaps"),
                            ("secretKeyRef", secrets.RESOURCE)):
        if field in source:
            found = sources.key(resource, source[field])
            return None if found is None else found.decode(errors="replace")
    return ""
