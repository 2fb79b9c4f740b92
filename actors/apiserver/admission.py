"""Admission control (step 3 of the apiserver pipeline): mutating plugins, then validating.

A plugin is a small class with one method: :class:`MutatingPlugin` may change the object,
:class:`ValidatingPlugin` may only reject it by raising an ApiError. Adding a plugin means
passing it to :class:`AdmissionChain`, never editing the chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from actors.apiserver.authn import UserInfo
from actors.objects import IMMORTAL_NAMESPACES, ResourceInfo
from bus.errors import Forbidden, NotFound

Object = dict[str, Any]
Lookup = Callable[[str, str | None, str], "Object | None"]
"""(resource, namespace, name) -> the stored object or None: read access for plugins."""



@dataclass(slots=True)
class AdmissionRequest:
    operation: str
    """``CREATE``, ``UPDATE`` or ``DELETE``."""
    info: ResourceInfo
    subresource: str | None
    namespace: str | None
    name: str
    object: Object | None
    """The object to be stored (None for DELETE); mutating plugins may change it."""
    old_object: Object | None
    user: UserInfo


class MutatingPlugin(Protocol):
    name: str

    def admit(self, request: AdmissionRequest) -> None:
        """Change ``request.object`` in place, or raise an ApiError to reject."""
        ...


class ValidatingPlugin(Protocol):
    name: str

    def validate(self, request: AdmissionRequest) -> None:
        """Raise an ApiError to reject; must not change anything."""
        ...


class AdmissionChain:
    """Runs every mutating plugin in order, then every validating plugin."""

    def __init__(
        self, mutating: Sequence[MutatingPlugin] = (), validating: Sequence[ValidatingPlugin] = ()
    ) -> None:
        self.mutating = list(mutating)
        self.validating = list(validating)

    def run(self, request: AdmissionRequest) -> None:
        for mutator in self.mutating:
            mutator.admit(request)
        for validator in self.validating:
            validator.validate(request)


class NamespaceLifecycle:
    """No new content in a namespace that is missing or terminating; the system namespaces
    cannot be deleted."""

    name = "NamespaceLifecycle"

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup

    def validate(self, request: AdmissionRequest) -> None:
        if request.info.name == "namespaces":
            if request.operation == "DELETE" and request.name in IMMORTAL_NAMESPACES:
                raise Forbidden(f'namespaces "{request.name}" is forbidden: this namespace may '
                                "not be deleted")
            return
        if request.operation != "CREATE" or not request.info.namespaced:
            return
        namespace = self._lookup("namespaces", None, request.namespace or "")
        if namespace is None:
            raise NotFound(f'namespaces "{request.namespace}" not found')
        if namespace.get("metadata", {}).get("deletionTimestamp"):
            raise Forbidden(
                f'{request.info.name} "{request.name}" is forbidden: unable to create new '
                f"content in namespace {request.namespace} because it is being terminated"
            )


def default_chain(lookup: Lookup) -> AdmissionChain:
    """The built-in chain of this release."""
    return AdmissionChain(validating=[NamespaceLifecycle(lookup)])
