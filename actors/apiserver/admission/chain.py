"""Admission control (step 3 of the apiserver pipeline): mutating plugins, then validating.

A plugin is a small class with one method: :class:`MutatingPlugin` may change the object,
:class:`ValidatingPlugin` may only reject it by raising an ApiError. Adding a plugin means
passing it to :class:`AdmissionChain`, never editing the chain. A plugin that keeps accounts
(ResourceQuota) also has :class:`ReleasingPlugin`'s ``release``, called when what it admitted
is not stored after all, or is removed.

A plugin that must ask another actor (an external admission actor, see ``external``) returns a
generator instead of None: it yields an :class:`ExternalCall` and is sent back the answer (an
Envelope, or the BusError of a call that failed). The chain passes such calls up to the
apiserver, which sends them without blocking its worker and resumes the chain when the answer
comes (see ``server``). A plugin that must wait a moment (for what a controller is about to
make: the ServiceAccount plugin) yields a :class:`Delay` the same way, and is sent None.

Built-in plugins here: NamespaceLifecycle and NodeRestriction; ``limits`` holds LimitRanger and
ResourceQuota, ``external`` the external admission actors, ``rbac`` the escalation check.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Protocol

from actors.api import storage
from actors.api.discovery import Served
from actors.api.objects import Object
from actors.api.pods import MIRROR_ANNOTATION, bound_node, references
from actors.api.resources import IMMORTAL_NAMESPACES, NODE_LEASE_NAMESPACE, ResourceInfo
from actors.api.users import UserInfo
from bus.envelope import Envelope
from bus.errors import BusError, Forbidden, NotFound


@dataclass(frozen=True, slots=True)
class ExternalCall:
    """A request an admission plugin needs sent: to ``subject``, waiting ``timeout`` seconds."""

    subject: str
    envelope: Envelope
    timeout: float


@dataclass(frozen=True, slots=True)
class Delay:
    """A pause an admission plugin needs, without holding the worker: ``seconds``."""

    seconds: float


Answer = Envelope | BusError | None
"""What an ExternalCall brings back: the reply, or why there is none (None after a Delay)."""
Steps = Generator[ExternalCall | Delay, Answer, None]
"""A plugin's (or the chain's) work when it has calls to make."""


class ObjectAccess(Protocol):
    """The store as plugins see it (the apiserver implements it); each call blocks the
    worker on the store actor, never on another process."""

    def get(self, resource: str, namespace: str | None, name: str) -> Object | None:
        """The stored object, or None."""
        ...

    def list(self, resource: str | ResourceInfo, namespace: str | None) -> list[Object]:
        """Every stored object of ``resource`` (a built-in one's name, or any served one) in
        ``namespace``; read them, never change them (some come from an in-memory copy shared
        by the workers)."""
        ...

    @property
    def served(self) -> Served:
        """The resources served now, custom ones included."""
        ...

    def update_status(self, resource: str, obj: Object) -> Object:
        """Store ``obj``'s status if its resourceVersion is still current (Conflict if
        not); return what was stored."""
        ...


@dataclass(slots=True)
class AdmissionRequest:
    operation: str
    """``CREATE``, ``UPDATE`` or ``DELETE``."""
    info: ResourceInfo
    _: KW_ONLY
    subresource: str | None
    namespace: str | None
    name: str
    object: Object | None
    """The object to be stored (None for DELETE); mutating plugins may change it."""
    old_object: Object | None
    user: UserInfo
    dry_run: bool = False
    """Nothing will be stored: a plugin checks, and changes nothing outside the object
    (Kubernetes' ``admission.Attributes.IsDryRun``)."""

    def forbidden(self, why: str) -> Forbidden:
        """kube-apiserver's admission 403: ``pods "web" is forbidden: <why>`` (the resource
        qualified by its group outside the core group: ``roles.rbac.authorization.k8s.io``)."""
        resource = self.info.qualified
        named = f'{resource} "{self.name}"' if self.name else resource
        return Forbidden(f"{named} is forbidden: {why}",
                         details={"kind": self.info.name, "name": self.name})


class MutatingPlugin(Protocol):
    name: str

    def admit(self, request: AdmissionRequest) -> Steps | None:
        """Change ``request.object`` in place, or raise an ApiError to reject."""
        ...


class ValidatingPlugin(Protocol):
    name: str

    def validate(self, request: AdmissionRequest) -> Steps | None:
        """Raise an ApiError to reject; must not change anything."""
        ...


class ReleasingPlugin(Protocol):
    def release(self, obj: Object, old: Object | None = None) -> None:
        """``obj`` was admitted but not stored, or was removed: give back what it held; with
        ``old``, an update of ``old`` into ``obj`` was admitted but not stored: give back
        what it was charged more than ``old``."""
        ...


class AdmissionChain:
    """Runs every mutating plugin in order, then every validating plugin."""

    def __init__(
        self, mutating: Sequence[MutatingPlugin] = (), validating: Sequence[ValidatingPlugin] = ()
    ) -> None:
        self.mutating = list(mutating)
        self.validating = list(validating)

    def run(self, request: AdmissionRequest) -> Steps:
        """The whole chain; yields the calls its plugins need made (see the module doc)."""
        for mutator in self.mutating:
            steps = mutator.admit(request)
            if steps is not None:
                yield from steps
        for validator in self.validating:
            steps = validator.validate(request)
            if steps is not None:
                yield from steps

    def release(self, obj: Object, old: Object | None = None) -> None:
        """Tell every plugin that keeps accounts that ``obj`` no longer counts (with ``old``:
        that the update of ``old`` into ``obj`` did not happen)."""
        for plugin in {id(p): p for p in [*self.mutating, *self.validating]}.values():
            release = getattr(plugin, "release", None)
            if release is not None:
                release(obj, old)


class NamespaceLifecycle:
    """No new content in a namespace that is missing or terminating; the system namespaces
    cannot be deleted. A mutating plugin that changes nothing: it runs first in the chain, as
    in Kubernetes, so no other plugin (nor an external admission actor) sees such a request."""

    name = "NamespaceLifecycle"

    def __init__(self, access: ObjectAccess) -> None:
        self._access = access

    def admit(self, request: AdmissionRequest) -> None:
        if request.info.name == "namespaces":
            if request.operation == "DELETE" and request.name in IMMORTAL_NAMESPACES:
                raise Forbidden(f'namespaces "{request.name}" is forbidden: this namespace may '
                                "not be deleted")
            return
        if request.operation != "CREATE" or not request.info.namespaced:
            return
        namespace = self._access.get("namespaces", None, request.namespace or "")
        if namespace is None:
            raise NotFound(f'namespaces "{request.namespace}" not found')
        if namespace.get("metadata", {}).get("deletionTimestamp"):
            raise request.forbidden(
                f"unable to create new content in namespace {request.namespace} because it is "
                "being terminated")


NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
RESTRICTED_LABEL_NAMESPACE = "node-restriction.kubernetes.io"
"""Labels a kubelet may never set or change on its Node (the admin sets them, workloads trust
them for placement)."""
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch",
    "beta.kubernetes.io/os", "beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type", "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone"})
"""The ``kubernetes.io`` labels a kubelet may set on its own Node, as Kubernetes' kubelet
labels; and any label in the namespaces below."""
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def kubelet_may_set(label: str) -> bool:
    """Whether a kubelet may add, change or remove ``label`` on its own Node: never one of
    ``node-restriction.kubernetes.io``; of the ``kubernetes.io`` and ``k8s.io`` namespaces only
    the kubelet's own labels; any other."""
    if _in_namespace(label, RESTRICTED_LABEL_NAMESPACE):
        return False
    if not (_in_namespace(label, "kubernetes.io") or _in_namespace(label, "k8s.io")):
        return True
    return label in KUBELET_LABELS or any(
        _in_namespace(label, namespace) for namespace in KUBELET_LABEL_NAMESPACES)


def _in_namespace(label: str, namespace: str) -> bool:
    """Whether ``label``'s prefix is ``namespace`` or a subdomain of it."""
    prefix = label.partition("/")[0] if "/" in label else ""
    return prefix == namespace or prefix.endswith("." + namespace)


def node_of(user: UserInfo) -> str | None:
    """The node a kubelet identity speaks for (``system:node:NAME`` in ``system:nodes``)."""
    if NODES_GROUP in user.groups and user.name.startswith(NODE_USER_PREFIX):
        return user.name[len(NODE_USER_PREFIX):]
    return None


class NodeRestriction:
    """A kubelet may change only its own Node (not its taints; labels only within
    :func:`kubelet_may_set`), its own Lease in ``kube-node-lease``, and the status of the pods
    bound to it (and delete them), and tokens only bound to those pods, as Kubernetes'
    NodeRestriction admits, in its words."""

    name = "NodeRestriction"

    def __init__(self, access: ObjectAccess | None = None) -> None:
        self._access = access
        """Where the pod a kubelet's token is bound to is read (none: tokens refused)."""

    def validate(self, request: AdmissionRequest) -> None:
        node = node_of(request.user)
        if node is None:
            return
        resource = request.info.name
        if (resource, request.subresource) == ("serviceaccounts", "token"):
            self._own_token(request, node)
        elif (resource, request.subresource) == ("pods", "eviction"):
            self._own_eviction(request, node)
        elif resource == "nodes":
            self._own_node(request, node)
        elif resource == "pods":
            self._own_pod(request, node)
        elif resource == "persistentvolumes":
            self._own_volume(request, node)
        elif resource == "leases" and request.namespace != NODE_LEASE_NAMESPACE:
            raise request.forbidden(f'node "{node}" can only access leases in the '
                                    f'"{NODE_LEASE_NAMESPACE}" system namespace')
        elif resource == "leases" and request.name != node:
            raise request.forbidden(f'node "{node}" can only access node lease with the same '
                                    "name as the requesting node")

    @staticmethod
    def _own_node(request: AdmissionRequest, node: str) -> None:
        if request.name != node:
            raise request.forbidden(f'node "{node}" is not allowed to modify node '
                                    f'"{request.name}"')
        new, old = _labels(request.object), _labels(request.old_object)
        forbidden = sorted(key for key in {*old, *new}
                           if old.get(key) != new.get(key) and not kubelet_may_set(key))
        if request.operation == "CREATE" and forbidden:
            raise request.forbidden(f'node "{node}" is not allowed to set the following '
                                    f"labels: {', '.join(forbidden)}")
        if request.operation != "UPDATE":
            return
        if _taints(request.object) != _taints(request.old_object):
            raise request.forbidden(f'node "{node}" is not allowed to modify taints')
        if forbidden:
            raise request.forbidden(f"is not allowed to modify labels: {', '.join(forbidden)}")

    def _own_token(self, request: AdmissionRequest, node: str) -> None:
        """A kubelet's token must be bound to a pod (named with its uid) on its node."""
        ref = ((request.object or {}).get("spec") or {}).get("boundObjectRef") or {}
        if not isinstance(ref, dict) or ref.get("kind") != "Pod":
            raise request.forbidden("node requested token not bound to a pod")
        if not ref.get("uid"):
            raise request.forbidden("node requested token with a pod binding without a uid")
        pod = self._access.get("pods", request.namespace, str(ref.get("name", ""))) \
            if self._access is not None else None
        if pod is None or pod["metadata"].get("uid") != ref["uid"] or bound_node(pod) != node:
            raise request.forbidden("node requested token bound to a pod scheduled on a "
                                    "different node")

    def _own_eviction(self, request: AdmissionRequest, node: str) -> None:
        """A kubelet evicts only the pods bound to it (Kubernetes' admitPodEviction); a pod
        that is not there is left to the eviction's own 404."""
        if self._access is None:
            raise request.forbidden(f"node {node} can only evict pods with spec.nodeName set "
                                    "to itself")
        pod = self._access.get("pods", request.namespace, request.name)
        if pod is not None and bound_node(pod) != node:
            raise request.forbidden(f"node {node} can only evict pods with spec.nodeName set "
                                    "to itself")

    def _own_volume(self, request: AdmissionRequest, node: str) -> None:
        """The local-path provisioner in a kubelet's process makes and deletes volumes on
        its node only, a new one for a claim the scheduler placed there: a compromised kubelet
        may not bind a host path to another node's claim, nor delete another node's volume
        (whose provisioner would then remove the directory it names)."""
        volume = request.object if request.operation == "CREATE" else request.old_object
        if storage.volume_nodes(volume or {}) != {node}:
            verb = "create" if request.operation == "CREATE" else "delete"
            raise request.forbidden(f'node "{node}" can only {verb} persistentvolumes with '
                                    "node affinity to itself")
        if request.operation == "CREATE" and not self._placed_here(volume or {}, node):
            raise request.forbidden(f'node "{node}" can only create persistentvolumes for '
                                    "claims whose selected node is itself")

    def _placed_here(self, volume: Object, node: str) -> bool:
        """Whether the volume's ``claimRef`` names (by uid) a claim placed on ``node``."""
        ref = ((volume.get("spec") or {}).get("claimRef")) or {}
        if not isinstance(ref, dict) or not ref.get("uid") or self._access is None:
            return False
        claim = self._access.get(storage.CLAIMS, str(ref.get("namespace", "")),
                                 str(ref.get("name", ""))) or {"metadata": {}}
        metadata = claim["metadata"]
        return metadata.get("uid") == ref["uid"] and \
            (metadata.get("annotations") or {}).get(storage.SELECTED_NODE) == node

    @staticmethod
    def _own_pod(request: AdmissionRequest, node: str) -> None:
        if request.operation == "CREATE":
            _mirror_pod(request, node, request.object or {})
            return
        bound_here = bound_node(request.old_object or {}) == node
        if request.operation == "UPDATE" and request.subresource == "status":
            if not bound_here:
                raise request.forbidden(f'node "{node}" can only update pod status for pods '
                                        "with spec.nodeName set to itself")
        elif request.operation == "DELETE":
            if not bound_here:
                raise request.forbidden(f'node "{node}" can only delete pods with '
                                        "spec.nodeName set to itself")
        else:
            raise request.forbidden(f'node "{node}" can only update the status of its pods')


def _mirror_pod(request: AdmissionRequest, node: str, pod: Object) -> None:
    """A kubelet creates only mirror pods (of its static pods): bound to itself, owned by
    nothing but its Node, and referring to no other object, since the Node authorizer would
    then let it read that object (Kubernetes' admitPodCreate, in its words)."""
    metadata = pod.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    if MIRROR_ANNOTATION not in (metadata.get("annotations") or {}):
        raise request.forbidden(f'pod does not have "{MIRROR_ANNOTATION}" annotation, node '
                                f'"{node}" can only create mirror pods')
    if bound_node(pod) != node:
        raise request.forbidden(f'node "{node}" can only create pods with spec.nodeName set to '
                                "itself")
    owners = metadata.get("ownerReferences") or []
    if len(owners) > 1:
        raise request.forbidden(f'node "{node}" can only create pods with a single owner '
                                "reference set to itself")
    if owners and not (isinstance(owners[0], dict) and owners[0].get("kind") == "Node"
                       and owners[0].get("name") == node):
        raise request.forbidden(f'node "{node}" can only create pods with an owner reference '
                                "set to itself")
    referenced = {resource for resource, _ in references(pod)}
    for resource, what in _REFERENCE_WORDS:
        if resource in referenced:
            raise request.forbidden(f'node "{node}" can not create pods that reference {what}')


_REFERENCE_WORDS = (("serviceaccounts", "a service account"), ("secrets", "secrets"),
                    ("configmaps", "configmaps"),
                    ("persistentvolumeclaims", "persistentvolumeclaims"))
"""What a mirror pod may not refer to, in the order and words Kubernetes checks them."""


def _labels(obj: Object | None) -> dict[str, Any]:
    labels = ((obj or {}).get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def _taints(obj: Object | None) -> list[Any]:
    """A Node's ``spec.taints`` (none and an empty list are the same, as Kubernetes compares)."""
    return ((obj or {}).get("spec") or {}).get("taints") or []
