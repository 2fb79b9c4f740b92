"""Objects as an informer keeps them: what many objects repeat held once.

Ten thousand pods of one ReplicaSet repeat most of their spec (the container's resources,
the tolerations, the service account volume's sources), their owner reference, and much of
their status (the conditions of a Running pod). :class:`Shared` keeps, for each place of an
object (``spec.tolerations``, ``status.conditions[2]``, ...), the dict or list it last kept
there; the next object whose value at that place is equal gets that one instead of a copy of
its own (a pod: 8.5 KB -> 3.4 KB), and the rest is copied with its short strings interned.

Equal is Python's ``==``: ``1``, ``1.0`` and ``True`` are equal, so an object may be given a
value of another's that is equal but of another of those types (JSON of the same number).

The objects given out share their parts: read-only, as everything an informer keeps.

The table is bounded: a place holds at most :data:`PLACES_BELOW` places below it, and a kind's
table at most :data:`PLACES` in all (maps in maps multiply the places below places). Free-form
maps (a custom resource's ``x-kubernetes-preserve-unknown-fields``, long lists) would otherwise
add places for every new key or index a user writes, kept after the objects are gone; past
either bound, an item is copied (strings interned) and not shared.

Pure but for the table of places (one per :class:`Shared`; read and written from any thread:
a value is taken from it only when equal, so a race at worst shares less). Neighbours:
``actors.client.informer`` (whose default transform this is), ``actors.api.objects``
(``interned``).
"""

from __future__ import annotations

from typing import Any

from actors.api.objects import Object, interned

PLACES_BELOW = 256
"""Most places kept below one place (keys of a dict, indices of a list)."""
PLACES = 16384
"""Most places kept for one kind (a pod has about a hundred)."""

Places = dict[Any, Any]
"""One place's table: ``None`` -> the value last kept there; a key or an index -> the table
of the place below it (only for dicts and lists)."""


class Shared:
    """Copies objects sharing the parts equal to what was last kept at the same place."""

    def __init__(self) -> None:
        self._kinds: dict[str, _Kind] = {}

    def __call__(self, obj: Object) -> Object:
        """``obj`` as kept (a new object; ``obj`` is left as it was)."""
        kind = self._kinds.setdefault(str(obj.get("kind", "")), _Kind())
        kept: Object = kind.kept(obj, kind.places)
        return kept


class _Kind:
    """One kind's table of places, and how many it holds (a race at worst miscounts a few)."""

    def __init__(self) -> None:
        self.places: Places = {}
        self.count = 0

    def kept(self, value: Any, places: Places) -> Any:
        """``value`` (a dict or a list) as kept at the place ``places`` stands for."""
        last = places.get(None)
        if last is not None and last == value:
            return last
        new = ({interned(key): self._below(item, key, places) for key, item in value.items()}
               if isinstance(value, dict)
               else [self._below(item, index, places) for index, item in enumerate(value)])
        places[None] = new
        return new

    def _below(self, item: Any, key: Any, places: Places) -> Any:
        if isinstance(item, (dict, list)):
            below = places.get(key)
            if below is None:
                # PLACES_BELOW: the place's ``None`` entry besides
                if len(places) > PLACES_BELOW or self.count >= PLACES:
                    return _copied(item)
                below = places[key] = {}
                self.count += 1
            return self.kept(item, below)
        return interned(item) if isinstance(item, str) else item


def _copied(value: Any) -> Any:
    """``value`` copied with its short strings interned, nothing shared."""
    if isinstance(value, dict):
        return {interned(key): _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return interned(value) if isinstance(value, str) else value
