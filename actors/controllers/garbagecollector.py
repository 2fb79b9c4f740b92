"""The garbage collector: dependents follow their owners (``metadata.ownerReferences``).

It follows every resource but Events and keeps two indexes: uid -> object, and owner uid ->
dependents. For one object it decides (:func:`owner_verdict`, as Kubernetes'
attemptToDeleteItem):

- its owners are all gone (confirmed by a live read, never by the cache alone): delete it
  (background: its own dependents follow in turn);
- some owners are gone but one is alive: drop the references to the gone ones;
- its only owners are being deleted in the foreground: delete it (in the foreground too when
  it has dependents of its own).

And for an object being deleted (``deletionTimestamp``) that holds one of its finalizers:

- ``orphan``: every dependent loses its reference to it, then the finalizer goes;
- ``foregroundDeletion``: every dependent is deleted; once none that blocks its owner's
  deletion (``blockOwnerDeletion``) is left, the finalizer goes.

The apiserver removes an object whose last finalizer went (``registry.graceful_deletion``).

Neighbours: ``actors.controllers.controller`` (base), ``actors.apiserver.registry`` (which adds the
finalizers for a delete's ``propagationPolicy``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from actors.api import crds
from actors.api.objects import Object
from actors.api.resources import STORED, ResourceInfo
from actors.client.client import Client
from actors.controllers.controller import (
    Controller,
    ControllerConfig,
    Key,
    with_owner,
    with_owner_references,
)
from bus.connection import Connection
from bus.errors import NotFound

log = logging.getLogger(__name__)

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"


@dataclass(frozen=True, slots=True)
class Owners:
    """What became of the owners of one object."""

    solid: list[str]
    """uids of owners that exist and are not being deleted in the foreground."""
    dangling: list[str]
    """uids of owners that are gone."""
    waiting: list[str]
    """uids of owners being deleted in the foreground (waiting for their dependents)."""


def owner_verdict(owners: Owners, has_dependents: bool) -> tuple[str, Any]:
    """What to do with an object given its owners: ``("keep", None)``,
    ``("unlink", [uids])`` (drop those references) or ``("delete", policy)``."""
    if owners.solid:
        gone = owners.dangling + owners.waiting
        return ("unlink", gone) if gone else ("keep", None)
    if not owners.dangling and not owners.waiting:
        return "keep", None
    if owners.waiting and has_dependents:
        return "delete", "Foreground"
    return "delete", None


def finalizer_step(obj: Object, dependents: list[Object]) -> tuple[str, list[Object]]:
    """For an object being deleted: ``("orphan", deps)`` (unlink those, then drop the
    finalizer), ``("delete", deps)`` (delete those first), ``("finish", [])`` (drop the
    foreground finalizer now), or ``("none", [])``."""
    finalizers = obj["metadata"].get("finalizers") or []
    if not obj["metadata"].get("deletionTimestamp"):
        return "none", []
    if ORPHAN in finalizers:
        return "orphan", dependents
    if FOREGROUND not in finalizers:
        return "none", []
    uid = obj["metadata"]["uid"]
    blocking = [d for d in dependents if any(
        r.get("uid") == uid and r.get("blockOwnerDeletion")
        for r in d["metadata"].get("ownerReferences") or [])]
    undeleted = [d for d in dependents if not d["metadata"].get("deletionTimestamp")]
    if undeleted:
        return "delete", undeleted
    return ("delete", []) if blocking else ("finish", [])


def being_deleted(obj: Object | None) -> bool:
    """Whether ``obj`` (cached; None: not seen) is being deleted: only then do its dependents
    matter to it (its finalizers wait on them), and only then is an owner looked at again for
    a change of one of its dependents, as in Kubernetes' collector. Looking at a live owner
    for each dependent's change costs all its dependents each time: a ReplicaSet of 10,000
    pods, 10,000 x 10,000."""
    return obj is not None and bool(obj["metadata"].get("deletionTimestamp"))


class GarbageCollector(Controller):
    """See the module docstring."""

    component = "garbage-collector-controller"
    resources = tuple(info.name for info in STORED if info.name != "events")

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None) -> None:
        super().__init__(connection, client, config)
        self.by_uid: dict[str, Key] = {}
        self.dependents: dict[str, set[Key]] = {}
        self._owners_of: dict[Key, set[str]] = {}

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == crds.RESOURCE and event != "DELETED" and (
                custom := crds.resource_of(obj)) is not None:
            self.client.discover()  # then follow the objects of the resource it serves
            self.follow(custom.name)
        key, metadata = self.key_of(obj), obj["metadata"]
        uid = metadata.get("uid", "")
        owners = {r.get("uid", "") for r in metadata.get("ownerReferences") or []}
        for gone in self._owners_of.get(key, set()) - owners:
            self.dependents.get(gone, set()).discard(key)
        for owner in owners:
            self.dependents.setdefault(owner, set()).add(key)
        keys = [self.by_uid[o] for o in owners
                if o in self.by_uid and being_deleted(self.cached(self.by_uid[o]))]
        if event == "DELETED":
            self.by_uid.pop(uid, None)
            self._owners_of.pop(key, None)
            return [*keys, *self.dependents.get(uid, set())]
        self.by_uid[uid] = key
        self._owners_of[key] = owners
        if owners or metadata.get("deletionTimestamp"):
            keys.append(key)
        if metadata.get("deletionTimestamp"):
            keys += self.dependents.get(uid, set())
        return keys

    def _dependents_of(self, obj: Object) -> list[Object]:
        uid = obj["metadata"]["uid"]
        found = [self.cached(k) for k in self.dependents.get(uid, set())]
        return [d for d in found if d is not None and any(
            r.get("uid") == uid for r in d["metadata"].get("ownerReferences") or [])]

    def reconcile(self, key: Key) -> float | None:
        obj = self.cached(key)
        if obj is None:
            return None
        step, dependents = finalizer_step(  # a live object's dependents are no matter here
            obj, self._dependents_of(obj) if being_deleted(obj) else [])
        uid = obj["metadata"]["uid"]
        if step == "orphan":
            for dependent in dependents:
                self.remember(self.client.update(self.key_of(dependent).resource,
                                                 with_owner(dependent, None, uid)))
            self._drop_finalizer(key, obj, ORPHAN)
        elif step == "delete":
            for dependent in dependents:
                self._delete(dependent, "Foreground" if self._dependents_of(dependent)
                             else None)
        elif step == "finish":
            self._drop_finalizer(key, obj, FOREGROUND)
        if obj["metadata"].get("ownerReferences"):
            self._follow_owners(key, obj)
        return None

    def _follow_owners(self, key: Key, obj: Object) -> None:
        owners = self._owners(obj)
        action, detail = owner_verdict(owners, bool(self._dependents_of(obj)))
        if action == "unlink":
            kept = with_owner_references(obj, [
                r for r in obj["metadata"]["ownerReferences"] if r.get("uid") not in detail])
            self.remember(self.client.update(key.resource, kept))
        elif action == "delete" and not obj["metadata"].get("deletionTimestamp"):
            self._delete(obj, detail)

    def _owners(self, obj: Object) -> Owners:
        solid, dangling, waiting = [], [], []
        namespace = obj["metadata"].get("namespace")
        for ref in obj["metadata"]["ownerReferences"]:
            uid, info = ref.get("uid", ""), self._resource_of(ref)
            owner = self.cached(self.by_uid[uid]) if uid in self.by_uid else None
            if owner is None and info is not None:  # the cache may be behind: ask
                try:
                    owner = self.client.get(info.name, ref.get("name", ""),
                                            namespace if info.namespaced else None)
                except NotFound:
                    owner = None
            if owner is None and info is None:
                solid.append(uid)  # a kind this cluster does not serve: never guess
            elif owner is None or owner["metadata"].get("uid") != uid:
                dangling.append(uid)
            elif owner["metadata"].get("deletionTimestamp") and FOREGROUND in (
                    owner["metadata"].get("finalizers") or []):
                waiting.append(uid)
            else:
                solid.append(uid)
        return Owners(solid, dangling, waiting)

    def _resource_of(self, ref: Object) -> ResourceInfo | None:
        """The resource an ownerReference names: a built-in one, or a custom one the client
        knows or learns now (None: this cluster does not serve it)."""
        named = {"apiVersion": ref.get("apiVersion", ""), "kind": ref.get("kind", "")}
        if (info := self.client.served.of(named)) is None:
            info = self.client.discover().of(named)
        return info

    def _delete(self, obj: Object, policy: str | None) -> None:
        key = self.key_of(obj)
        with contextlib.suppress(NotFound):
            self.client.delete(key.resource, key.name, key.namespace or None,
                               propagation_policy=policy)

    def _drop_finalizer(self, key: Key, obj: Object, finalizer: str) -> None:
        finalizers = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        with contextlib.suppress(NotFound):
            self.client.update(key.resource, dict(obj, metadata=dict(
                obj["metadata"], finalizers=finalizers)))
