"""In-memory copies of a few kinds of objects, shared by the apiserver's workers.

A :class:`Mirror` holds every object of its kinds as the store last committed it, fed by the
worker that commits a change (at once) and by the store's commit events (on the watch worker),
so the next request on any worker already sees it. The same change may arrive twice, and an
older one late: a change older than the last taken in for its key is ignored, so a replay never
brings back a deleted object (a deleted object carries its deletion's revision). Changes are
taken one at a time (a lock held by :meth:`Mirror.observe` only); readers never wait: each
change replaces the mapping whole (copy on write).

The RBAC ``Authorizer``, the admission ``Registrations`` and the LimitRanges and
ResourceQuotas admission reads on every pod create are mirrors.
"""

from __future__ import annotations

import threading
from typing import Any

Object = dict[str, Any]
Key = tuple[str, str, str]
"""(kind, namespace, name); namespace empty for cluster-scoped objects."""


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
        """Revision of the last change taken in per key, deletions included."""
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
