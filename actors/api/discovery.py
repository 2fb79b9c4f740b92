"""What one cluster serves: the built-in resources and the custom ones its Established
CustomResourceDefinitions add, found the ways ``actors.api.resources`` finds the built-in ones.

A :class:`Served` never changes: whoever follows the CRDs (the apiserver's mirror of them, a
client that asked) replaces it whole when they change, so a reader on any thread sees one
consistent set.

Neighbours: ``actors.api.resources`` (the built-in registry and how names are matched),
``actors.api.crds`` (the resource a CRD serves), ``actors.apiserver.customresources`` (the
apiserver's, kept current from CRD commits), ``actors.client.client`` (a client's, learnt
from the CRDs the apiserver lists).

Which thread: any (immutable).
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.api import resources
from actors.api.crds import CustomResource
from actors.api.objects import Object
from actors.api.resources import RESOURCES, ResourceInfo


def versions(info: ResourceInfo) -> tuple[str, ...]:
    """The versions ``info`` is served at: a CRD's served ones, a built-in's stored one and
    those it is converted to."""
    if isinstance(info, CustomResource) and info.versions:
        return info.versions
    return (info.version, *info.also)


class Served:
    """The built-in resources and ``custom`` ones; see the module docstring."""

    def __init__(self, custom: Iterable[CustomResource] = ()) -> None:
        self.custom = tuple(custom)
        self.all: tuple[ResourceInfo, ...] = (*RESOURCES, *self.custom)
        """In discovery order: the built-in ones first."""
        self._by_group_name = {(info.group, info.name): info for info in self.custom}
        self._by_group_kind = {(info.group, info.kind): info for info in self.custom}

    def lookup(self, group: str, name: str) -> ResourceInfo:
        """The resource ``name`` in ``group``; NotFound when it is not served."""
        found = self._by_group_name.get((group, name))
        return found if found is not None else resources.lookup(group, name)

    def resolve(self, word: str) -> ResourceInfo:
        """The resource a kubectl user means by ``word``; BadRequest when none."""
        return resources.resolve(word, self.all)

    def in_category(self, category: str) -> list[ResourceInfo]:
        return resources.in_category(category, self.all)

    def of(self, obj: Object) -> ResourceInfo | None:
        """The resource of a stored object (its kind, and group for a custom one)."""
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        kind = str(obj.get("kind", ""))
        return self._by_group_kind.get((group, kind)) or resources.BY_KIND.get(kind)
