"""What the apiserver creates at start: the system namespaces, the bootstrap RBAC policy, the
system PriorityClasses and Kubernetes' FlowSchemas and priority levels, when missing; the
retired bootstrap policy removed, and the bootstrap ClusterRoles of an older data dir given the
rules they lack.

:class:`Bootstrap` is mixed into :class:`~actors.apiserver.server.ApiServer`; the objects
themselves are the decisions of ``rbac`` and ``actors.api.priorityclasses``.

Neighbours: ``server`` (calls :meth:`Bootstrap._bootstrap` in ``on_start``), ``registry``
(prepares each object as a create would), ``actors.store``.

Which thread: the bootstrapping worker's actor thread, before it serves anything; it waits on
the store actor.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pykka

from actors.api import flowcontrol, priorityclasses
from actors.api.objects import Object
from actors.api.resources import BY_KIND, SYSTEM_NAMESPACES, lookup
from actors.apiserver.bootstrappolicy import RETIRED_POLICY, bootstrap_policy
from actors.apiserver.registry import prepare_create
from actors.store import StoreView
from bus.errors import AlreadyExists, NotFound


class Bootstrap:
    """See the module docstring. What it uses of the pipeline is declared here."""

    store: pykka.ActorProxy[Any]
    view: StoreView | None

    if TYPE_CHECKING:
        def _observe(self, obj: Object, deleted: bool = False) -> None: ...

    def _bootstrap(self) -> None:
        """Create the system namespaces, the bootstrap RBAC policy, the system
        PriorityClasses and the default FlowSchemas and levels when missing; remove the
        retired bootstrap policy."""
        for kind, name in RETIRED_POLICY:
            key = BY_KIND[kind].key(None, name)
            old = self.view.get(key) if self.view is not None else None
            if old is not None and old["metadata"].get("labels", {}).get(
                    "kubernetes.io/bootstrapping") == "rbac-defaults":
                with contextlib.suppress(NotFound):
                    self._observe(self.store.delete(key).get(), deleted=True)
        namespaces = [{"metadata": {"name": name}} for name in SYSTEM_NAMESPACES]
        for info, obj in [(lookup("", "namespaces"), ns) for ns in namespaces] + [
            (BY_KIND[obj["kind"]], obj) for obj in [*bootstrap_policy(),
                                                    *priorityclasses.system_classes(),
                                                    *flowcontrol.defaults()]
        ]:
            prepared = prepare_create(info, obj, None, None)
            key = info.key(None, prepared["metadata"]["name"])
            try:
                self._observe(self.store.create(key, prepared).get())
            except AlreadyExists:
                self._reconcile_role(key, prepared)

    def _reconcile_role(self, key: str, wanted: Object) -> None:
        """A bootstrap ClusterRole stored by an older version gets the rules it lacks (as
        Kubernetes' RBAC bootstrap reconciles its roles at start, adding what is missing):
        the controller manager of an older data dir may then make service accounts."""
        assert self.view is not None
        old = self.view.get(key)
        if old is None or old.get("kind") != "ClusterRole" or (
                old["metadata"].get("labels") or {}).get(
                "kubernetes.io/bootstrapping") != "rbac-defaults":
            return
        rules = old.get("rules") or []
        missing = [rule for rule in wanted.get("rules") or [] if rule not in rules]
        if missing:
            self._observe(self.store.update(key, {**old, "rules": [*rules, *missing]},
                                            int(old["metadata"]["resourceVersion"])).get())
