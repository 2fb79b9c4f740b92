"""In-memory copies of a few kinds of objects, shared by the apiserver's workers.

A :class:`Mirror` holds every object of its kinds as the store last committed it, fed by the
worker that commits a change (at once) and by the store's commit events (on the watch worker),
so the next request on any worker already sees it. The same change may arrive twice, and an
older one late: a change older than the last taken in for its key is ignored, so a replay never
brings back a deleted object (a deleted object carries its deletion's revision, remembered for
the last :data:`MAX_TOMBSTONES` deletions). Changes are taken one at a time (a lock held by
:meth:`Mirror.observe` only); readers never wait: each change replaces the mapping whole (copy
on write), or, for a mirror of many objects, changes only what it derives from them
(:meth:`Mirror.apply`).

The RBAC ``Authorizer``, the admission ``Registrations``, the LimitRanges and ResourceQuotas
admission reads on every pod create and the Node authorizer's graph of pods are mirrors.
"""

from __future__ import annotations

import threading

from actors.api.objects import Object

Key = tuple[str, str, str]
"""(kind, namespace, name); namespace empty for cluster-scoped objects."""
MAX_TOMBSTONES = 10_000
"""Deletions whose revision is remembered (a late older change of the key is then ignored):
as many as the store's history window holds revisions, so memory stays bounded however many
objects come and go."""


def key_of(obj: Object) -> Key:
    meta = obj.get("metadata", {})
    return str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", ""))


class Mirror:
    """Objects of ``kinds`` by key; see the module docstring. Subclasses derive their own
    state from the objects in :meth:`changed`."""

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = kinds
        self.objects: dict[Key, Object] = {}
        """Never changed in place: replaced whole by each change."""
        self._revisions: dict[Key, int] = {}
        """Revision of the last change taken in per key, the latest deletions included."""
        self._tombstones: dict[Key, None] = {}
        """The deleted keys of ``_revisions``, oldest first."""
        self._changing = threading.Lock()

    def observe(self, obj: Object, deleted: bool = False) -> None:
        """Take in a committed change (ignores other kinds). Any thread."""
        if obj.get("kind") not in self.kinds:
            return
        key = key_of(obj)
        revision = int(obj.get("metadata", {}).get("resourceVersion") or 0)
        with self._changing:  # workers commit at once: no change may overwrite another
            if revision and revision < self._revisions.get(key, 0):
                return
            self._revisions[key] = revision
            self._remember(key, deleted)
            self.apply(key, obj, deleted)

    def _remember(self, key: Key, deleted: bool) -> None:
        """Keep the revisions of live keys and of the last MAX_TOMBSTONES deleted ones."""
        self._tombstones.pop(key, None)
        if not deleted:
            return
        self._tombstones[key] = None
        if len(self._tombstones) > MAX_TOMBSTONES:
            oldest = next(iter(self._tombstones))
            del self._tombstones[oldest], self._revisions[oldest]

    def apply(self, key: Key, obj: Object, deleted: bool) -> None:
        """Take in one change (under the lock): by default the objects, replaced whole, then
        :meth:`changed`. A mirror of many objects overrides this to change only its own
        state (copying every pod per change would cost a copy of them all)."""
        objects = dict(self.objects)
        if deleted:
            objects.pop(key, None)
        else:
            objects[key] = obj
        self.objects = objects  # one assignment: readers see old or new, whole
        self.changed(objects)

    def changed(self, objects: dict[Key, Object]) -> None:
        """Called (under the lock) after each change with the new objects."""

    def list(self, kind: str, namespace: str | None) -> list[Object]:
        """The objects of ``kind`` in ``namespace`` (all of them when None), by name. Shared:
        read them, never change them."""
        return [obj for (k, ns, _), obj in sorted(self.objects.items())
                if k == kind and (namespace is None or ns == namespace)]
