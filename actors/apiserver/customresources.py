"""The resources one apiserver serves, kept current from its CustomResourceDefinitions' commits,
and what the apiserver does for CRDs beyond storing them.

:class:`CustomResources` is a :class:`~actors.apiserver.mirror.Mirror` of the CRDs: each
commit of one replaces :attr:`CustomResources.served` (an immutable
:class:`~actors.api.discovery.Served`), so the request after the commit that made a CRD
Established, on any worker, already finds its resource; the watch worker finds the resource
of each committed custom object through it too. The naming and establishing controllers of
apiextensions-apiserver become :meth:`CustomResources.admit`, a mutating admission plugin that
decides a written CRD's ``NamesAccepted`` and ``Established`` conditions.

Neighbours: ``actors.api.crds`` (the rules), ``actors.api.discovery`` (what is served),
``mirror`` (the base), ``server`` and ``verbs`` (the readers; ``verbs`` deletes a CRD's
objects with it).

Which thread: :meth:`observe` from any worker (under the mirror's lock); readers never wait.
"""

from __future__ import annotations

from actors.api import crds
from actors.api.discovery import Served
from actors.api.objects import Object
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.mirror import Key, Mirror


class CustomResources(Mirror):
    """See the module docstring."""

    name = "CustomResourceDefinitions"

    def __init__(self) -> None:
        super().__init__((crds.KIND,))
        self.served = Served()

    def changed(self, objects: dict[Key, Object]) -> None:
        custom = [crds.resource_of(crd) for crd in objects.values()]
        self.served = Served(info for info in custom if info is not None)

    def admit(self, request: AdmissionRequest) -> None:
        """Decide the conditions of a CRD created or updated (not of its ``/status``)."""
        crd = request.object
        if request.info.name != crds.RESOURCE or crd is None or request.subresource:
            return
        own = crd.get("metadata", {}).get("name")
        others = [info for info in self.served.all
                  if not isinstance(info, crds.CustomResource) or info.definition != own]
        crds.accept(crd, others)
