"""Manifests: read Kubernetes YAML/JSON documents, and create or apply them like kubectl.

``kubeactor create -f`` and ``apply -f`` take files, directories (their ``.yaml``, ``.yml`` and
``.json`` files, sorted) and ``-`` for stdin; a file may hold several documents (and ``List``
objects). ``apply`` keeps the applied manifest in the annotation kubectl uses, merges as
kubectl does (``actors.api.strategicmerge``: the three-way strategic merge of that annotation,
the manifest and the live object) and reports ``created``, ``configured`` or ``unchanged`` per
object, as each is acknowledged.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import yaml

from actors.api import crds, strategicmerge
from actors.api.defaulting import DEFAULTERS
from actors.api.meta import LAST_APPLIED
from actors.api.objects import Object
from actors.api.resources import ResourceInfo, resolve
from actors.client.client import Client
from bus.errors import BadRequest, Conflict, NotFound, UsageError, translated

SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(UsageError):
    """A manifest that cannot be read; the message names the file."""


def read(sources: list[str]) -> Iterator[tuple[str, Object]]:
    """(where, object) for every object in ``sources`` (paths, directories, ``-``)."""
    for source in sources:
        if source == "-":
            yield from _documents("<stdin>", _reading(sys.stdin.read))
            continue
        path = Path(source)
        if path.is_dir():
            listing = _reading(functools.partial(sorted, path.iterdir()))
            files = [file for file in listing if file.suffix in SUFFIXES]
        elif path.exists():
            files = [path]
        else:
            raise ManifestError(f'the path "{source}" does not exist')
        for file in files:
            yield from _documents(str(file), _reading(file.read_text))


_T = TypeVar("_T")


def _reading(read: Callable[[], _T]) -> _T:
    """What ``read`` returns; ManifestError when what it reads cannot be read or is not
    text."""
    with translated(ManifestError, (OSError, UnicodeDecodeError)):
        return read()


def _documents(where: str, text: str) -> Iterator[tuple[str, Object]]:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        raise ManifestError(f"error parsing {where}: {error}") from None
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict) or "kind" not in document:
            raise ManifestError(f"error validating {where}: an object needs apiVersion and kind")
        if document["kind"].endswith("List") and isinstance(document.get("items"), list):
            for item in document["items"]:
                yield where, item
        else:
            yield where, document


def describe(info: ResourceInfo, obj: Object) -> str:
    """kubectl's ``kind[.group]/name``."""
    return f"{info.qualified_singular}/{obj.get('metadata', {}).get('name', '')}"


def served_versions(info: ResourceInfo) -> list[str]:
    """The ``apiVersion`` values objects of ``info`` may be written in."""
    if isinstance(info, crds.CustomResource):
        return [f"{info.group}/{version}" for version in info.versions]
    return [info.api_version]


def target(obj: Object, namespace: str, explicit: bool = False,
           resolver: Callable[[str], ResourceInfo] = resolve) -> tuple[ResourceInfo, str | None]:
    """The resource of ``obj`` and the namespace it goes to: its own, else ``namespace``;
    ManifestError when kind and apiVersion name no resource, the name is missing, or the
    object's namespace contradicts an ``explicit`` one (kubectl's ``-n``)."""
    kind, version = obj.get("kind"), obj.get("apiVersion")
    if not version:
        raise ManifestError(f"error validating data: apiVersion not set ({kind})")
    try:
        info = resolver(str(kind))
    except BadRequest:
        info = None
    if info is None or info.kind != kind or version not in served_versions(info):
        raise ManifestError(f'resource mapping not found for kind "{kind}" in version '
                            f'"{version}": ensure CRDs are installed first')
    if not obj.get("metadata", {}).get("name"):
        raise ManifestError(f"{info.singular}: resource name may not be empty")
    if not info.namespaced:
        return info, None
    own = obj.get("metadata", {}).get("namespace")
    if own and explicit and own != namespace:
        raise ManifestError(f'the namespace from the provided object "{own}" does not match '
                            f'the namespace "{namespace}". You must pass '
                            "'--namespace={own}' to perform this operation.")
    return info, own or namespace


def create(client: Client, info: ResourceInfo, ns: str | None, obj: Object) -> str:
    """Create ``obj``; return ``created`` (AlreadyExists and other errors raise)."""
    client.create(info.name, obj, ns)
    return "created"


APPLY_ATTEMPTS = 5
"""How often ``apply`` reads and merges again when the object changed between its read and its
write (kubectl's ``maxPatchRetry``)."""


def apply(client: Client, info: ResourceInfo, ns: str | None, obj: Object) -> str:
    """Create or update ``obj``; return ``created``, ``configured`` or ``unchanged``. A
    ``resourceVersion`` in ``obj`` must still be the live one (Conflict otherwise); without
    one, a concurrent write makes it read and merge again."""
    desired = _with_last_applied(obj)
    for attempt in range(APPLY_ATTEMPTS):
        try:
            live = client.get(info.name, desired["metadata"].get("name"), ns)
        except NotFound:
            client.create(info.name, desired, ns)
            return "created"
        wanted = configured(info, live, desired)
        if wanted == live:  # nothing the manifest sets differs from what is stored
            return "unchanged"
        try:
            client.update(info.name, wanted)
            return "configured"
        except Conflict:
            if "resourceVersion" in desired["metadata"] or attempt == APPLY_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _with_last_applied(obj: Object) -> Object:
    """``obj`` with the annotation holding it (without that annotation), as kubectl keeps it."""
    manifest = copy.deepcopy(obj)
    manifest.get("metadata", {}).get("annotations", {}).pop(LAST_APPLIED, None)
    applied = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    desired = copy.deepcopy(obj)
    desired.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = applied
    return desired


def _last_applied(live: Object) -> Object:
    """The manifest last applied to ``live`` ({} when none, or not one kubectl could read)."""
    previous = (live["metadata"].get("annotations") or {}).get(LAST_APPLIED)
    try:
        last = json.loads(previous) if isinstance(previous, str) else {}
    except json.JSONDecodeError:
        return {}
    return last if isinstance(last, dict) else {}


def configured(info: ResourceInfo, live: Object, desired: Object) -> Object:
    """What ``live`` becomes: kubectl's three-way strategic merge of the manifest last applied,
    ``desired`` and ``live``, then what the server would keep anyway: its own metadata, the
    namespace and ``status`` (a manifest read from ``get -o yaml`` holds them; dropping them
    from the next one asks for no change), and its defaults."""
    from actors.apiserver.registry import SERVER_OWNED  # loads the apiserver: apply pays

    wanted = strategicmerge.three_way_merge(live, _last_applied(live), desired)
    metadata = wanted.setdefault("metadata", {})
    for key in (*SERVER_OWNED, "name", "namespace"):
        if key in live["metadata"]:
            metadata.setdefault(key, live["metadata"][key])
    if "status" in live:
        wanted.setdefault("status", copy.deepcopy(live["status"]))
    if defaulter := DEFAULTERS.get(info.name):
        defaulter(wanted)  # atomic lists are replaced whole: put back what the server defaults
    return wanted
