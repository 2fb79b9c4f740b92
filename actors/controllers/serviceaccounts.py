"""What every namespace holds: the ``default`` ServiceAccount (Kubernetes' serviceaccounts
controller) and the ``kube-root-ca.crt`` ConfigMap with the cluster CA (its
root-ca-cert-publisher), which the API access volume of every pod reads.

Both are one :class:`PerNamespace` controller: it follows namespaces and the objects it keeps,
and for each namespace that is not being deleted makes its object when missing (deleted, it is
made again) and, for the ConfigMap, puts its content back when it differs. Keys are
namespaces: an event about a kept object queues its namespace.

Neighbours: ``actors.controllers.controller`` (the base), ``actors.api.serviceaccounts`` (what
is made), ``actors.apiserver.admission.serviceaccount`` (waits for the ``default`` account),
``actors.controllers.manager`` (starts them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import ClassVar

from actors.api import serviceaccounts
from actors.api.objects import Object
from actors.client.client import Client
from actors.controllers.controller import Controller, ControllerConfig, Key
from bus.connection import Connection
from bus.errors import AlreadyExists


class PerNamespace(Controller):
    """One object (:attr:`kept`, named :attr:`object_name`) in every live namespace."""

    kept: ClassVar[str]
    object_name: ClassVar[str]

    def wanted(self, namespace: str) -> Object:
        """The object ``namespace`` should hold."""
        raise NotImplementedError

    def differs(self, live: Object, wanted: Object) -> bool:
        """Whether ``live`` must be put back to ``wanted`` (never, unless overridden)."""
        return False

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        metadata = obj["metadata"]
        if resource == "namespaces":
            return [Key("namespaces", "", metadata["name"])]
        if metadata["name"] == self.object_name:
            return [Key("namespaces", "", metadata.get("namespace", ""))]
        return []

    def reconcile(self, key: Key) -> float | None:
        live = self.objects[self.kept].get((key.name, self.object_name))
        wanted = self.wanted(key.name)
        work = to_do(self.cached(key), live, wanted, self.differs)
        if work == "create":
            with contextlib.suppress(AlreadyExists):  # our cache was behind: its event comes
                self.remember(self.client.create(self.kept, wanted, key.name))
        elif work == "update" and live is not None:
            self.remember(self.client.update(self.kept, {**live, **{
                field: value for field, value in wanted.items() if field != "metadata"}}))
        return None


def to_do(namespace: Object | None, live: Object | None, wanted: Object,
          differs: Callable[[Object, Object], bool]) -> str | None:
    """What a namespace's kept object needs: ``create``, ``update`` or nothing (None; also
    when the namespace is gone or being deleted)."""
    if namespace is None or namespace["metadata"].get("deletionTimestamp"):
        return None
    if live is None:
        return "create"
    return "update" if differs(live, wanted) else None


class ServiceAccountsController(PerNamespace):
    """The ``default`` ServiceAccount of every namespace."""

    component = "service-account-controller"
    resources = ("namespaces", serviceaccounts.RESOURCE)
    kept = serviceaccounts.RESOURCE
    object_name = serviceaccounts.DEFAULT

    def wanted(self, namespace: str) -> Object:
        return serviceaccounts.default_account(namespace)


class RootCAPublisher(PerNamespace):
    """The ``kube-root-ca.crt`` ConfigMap of every namespace, holding ``ca_pem``."""

    component = "root-ca-cert-publisher"
    resources = ("namespaces", "configmaps")
    kept = "configmaps"
    object_name = serviceaccounts.ROOT_CA_CONFIGMAP

    def __init__(self, connection: Connection, client: Client, ca_pem: str,
                 config: ControllerConfig | None = None) -> None:
        super().__init__(connection, client, config)
        self.ca_pem = ca_pem

    def wanted(self, namespace: str) -> Object:
        return serviceaccounts.root_ca_configmap(namespace, self.ca_pem)

    def differs(self, live: Object, wanted: Object) -> bool:
        return live.get("data") != wanted["data"]
