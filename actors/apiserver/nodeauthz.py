"""The Node authorizer: a kubelet reads only what the pods bound to its node need.

As kube-apiserver's (``--authorization-mode=Node,RBAC``), it decides for kubelets only
(``system:node:<n>`` in ``system:nodes``) and has no opinion on anyone else:

- ConfigMaps and Secrets (get, list, watch), PersistentVolumeClaims and ServiceAccounts (get;
  ``serviceaccounts/token`` create; ``persistentvolumeclaims/status`` update): only those a pod
  bound to the node refers to (``actors.api.pods.references``), in that pod's namespace; but
  claims may be listed and watched (the local-path provisioner runs in the kubelet's process);
- Pods: get one bound to the node; list and watch only with the field selector
  ``spec.nodeName=<n>`` (or one bound pod by name); create, delete, ``status`` and
  ``eviction`` (NodeRestriction, in admission, keeps those to its own pods);
- Nodes: get, list and watch only its own (by name, or ``metadata.name=<n>``); create,
  update and ``status`` (NodeRestriction keeps those to its own Node);
- Leases: only ``kube-node-lease/<n>``;
- anything else: Kubernetes' NodeRules (``bootstrappolicy.node_rules``: events, CSRs, ...).

A request it does not allow goes on to RBAC, which grants kubelets nothing by default; the
403 then ends with this authorizer's reason (``no relationship found between node 'n1' and
this object``).

The relations come from a :class:`NodeGraph`: for each pod bound to a node, the objects it
refers to, kept current from the store's commits like the other mirrors. Kinds not served yet
(Secrets, PVCs, ServiceAccounts) are in it all the same, by resource name.

Neighbours: ``rbac`` (the union with RBAC, the rules of ``system:node``), ``mirror`` (how the
graph is fed), ``admission.NodeRestriction`` (what a kubelet may write).

Which thread: the graph changes on whichever apiserver worker commits or hears a pod (one at
a time, under the mirror's lock); :func:`decide` runs on every worker's thread without a lock
(it reads single dictionary entries, each replaced or changed whole).
"""

from __future__ import annotations

from actors.api.objects import Object
from actors.api.pods import Reference, bound_node, references
from actors.api.resources import NODE_LEASE_NAMESPACE
from actors.api.selectors import required_field
from actors.apiserver.admission.chain import node_of
from actors.apiserver.bootstrappolicy import node_rules
from actors.apiserver.mirror import Key, Mirror
from actors.apiserver.rbac import Attributes, Decision, Rule

NO_OPINION = Decision(False)
NODE_RULES = tuple(Rule.of(rule) for rule in node_rules())


# -- the graph -----------------------------------------------------------------------------------


class NodeGraph(Mirror):
    """Pods bound to nodes and what they refer to, changed per pod (a :class:`Mirror` that
    keeps no copy of the pods: see ``mirror.Mirror.apply``)."""

    def __init__(self) -> None:
        super().__init__(("Pod",))
        self._pods: dict[tuple[str, str], tuple[str, frozenset[Reference]]] = {}
        """(namespace, name) of each bound pod -> (its node, what it refers to)."""
        self._users: dict[tuple[str, str, str], dict[str, int]] = {}
        """(resource, namespace, name) -> node -> how many of its pods refer to it."""

    def apply(self, key: Key, obj: Object, deleted: bool) -> None:
        _, namespace, name = key
        node = bound_node(obj)
        old = self._pods.pop((namespace, name), None)
        if old is not None:
            self._count(old[0], namespace, old[1], -1)
        if deleted or not node:  # as Kubernetes: a pod not yet bound relates to no node
            return
        refs = references(obj)
        self._count(node, namespace, refs, +1)
        self._pods[(namespace, name)] = (node, refs)

    def _count(self, node: str, namespace: str, refs: frozenset[Reference], step: int) -> None:
        for resource, name in refs:
            key = (resource, namespace, name)
            users = dict(self._users.get(key, {}))  # replaced whole: readers never see it move
            users[node] = users.get(node, 0) + step
            if users[node] <= 0:
                del users[node]
            if users:
                self._users[key] = users
            else:
                self._users.pop(key, None)

    def node_of_pod(self, namespace: str, name: str) -> str | None:
        """The node a pod is bound to; None when it is not bound (or not there)."""
        bound = self._pods.get((namespace, name))
        return bound[0] if bound else None

    def related(self, node: str, resource: str, namespace: str, name: str) -> bool:
        """Whether a pod bound to ``node`` refers to this object (or, for ``pods``, is it)."""
        if resource == "pods":
            return self.node_of_pod(namespace, name) == node
        return node in self._users.get((resource, namespace, name), {})


# -- the decision --------------------------------------------------------------------------------


def decide(attrs: Attributes, graph: NodeGraph) -> Decision:
    """Kubernetes' NodeAuthorizer.Authorize with AuthorizeNodeWithSelectors (see the module
    docstring): allowed, or no opinion with Kubernetes' reason."""
    node = node_of(attrs.user)
    if node is None:
        return NO_OPINION
    if not node:
        return Decision(False, f'unknown node for user "{attrs.user.name}"')
    rule = _RULES.get((attrs.group, attrs.resource))
    if rule is not None:
        return rule(node, attrs, graph)
    path = attrs.resource_path
    return Decision(any(r.allows(attrs.verb, attrs.group, path, attrs.name)
                        for r in NODE_RULES))


def _related(node: str, attrs: Attributes, graph: NodeGraph) -> Decision:
    """Allowed when a pod bound to ``node`` refers to the named object."""
    if not attrs.name:
        return Decision(False, "No Object name found")
    if graph.related(node, attrs.resource, attrs.namespace or "", attrs.name):
        return Decision(True)
    return Decision(False, f"no relationship found between node '{node}' and this object")


def _read_namespaced(node: str, attrs: Attributes, graph: NodeGraph) -> Decision:
    """ConfigMaps, Secrets: get, list, watch of one related object in its namespace."""
    if attrs.verb not in ("get", "list", "watch"):
        return Decision(False, "can only read resources of this type")
    if attrs.subresource:
        return Decision(False, "cannot read subresource")
    if not attrs.namespace:
        return Decision(False, "can only read namespaced object of this type")
    return _related(node, attrs, graph)


def _get(node: str, attrs: Attributes, graph: NodeGraph) -> Decision:
    """PersistentVolumeClaims (and their ``status`` update), ServiceAccounts (and
    ``token`` create): one related object."""
    if (attrs.resource, attrs.subresource) == ("persistentvolumeclaims", "status"):
        if attrs.verb not in ("update", "patch"):
            return Decision(False, "can only get/update/patch this type")
        return _related(node, attrs, graph)
    if (attrs.resource, attrs.subresource) == ("serviceaccounts", "token"):
        if attrs.verb != "create" or not attrs.name:
            return Decision(False, "can only create tokens for individual service accounts")
        return _related(node, attrs, graph)
    if attrs.verb != "get":
        return Decision(False, "can only get individual resources of this type")
    if attrs.subresource:
        return Decision(False, "cannot get subresource")
    return _related(node, attrs, graph)


def _claims(node: str, attrs: Attributes, graph: NodeGraph) -> Decision:
    """PersistentVolumeClaims: list and watch of all (the local-path provisioner of the
    kubelet's process follows them, as k3s's provisioner may), else as :func:`_get`."""
    if attrs.verb in ("list", "watch") and not attrs.subresource:
        return Decision(True)
    return _get(node, attrs, graph)


def _lease(node: str, attrs: Attributes, graph: NodeGraph) -> Decision:
    """Its own Lease in ``kube-node-lease`` (a create is checked by name in admission)."""
    if attrs.verb not in ("get", "create", "update", "patch", "delete"):
        return Decision(False, "can only get, create, update, patch, or delete a node lease")
    if attrs.namespace != NODE_LEASE_NAMESPACE:
        return Decision(False, f'can only access leases in the "{NODE_LEASE_NAMESPACE}" '
                               "system namespace")
    if attrs.verb != "create" and attrs.name != node:
        return Decision(False, "can only access node lease with the same name as the "
                               "requesting node")
    return Decision(True)


def _node(node: str, attrs: Attributes, graph: NodeGraph) -> Decision:
    """Reads of its own Node only; writes go to NodeRestriction."""
    verb = attrs.verb
    if not attrs.subresource and verb in ("create", "update", "patch"):
        return Decision(True)
    if attrs.subresource == "status" and verb in ("update", "patch"):
        return Decision(True)
    if attrs.subresource or verb not in ("get", "list", "watch"):
        return NO_OPINION
    if attrs.name == node:
        return Decision(True)
    if not attrs.name:
        return Decision(False, f"node '{node}' cannot read all nodes, only its own Node object")
    return Decision(False, f"node '{node}' cannot read '{attrs.name}', only its own Node "
                           "object")


def _pod(node: str, attrs: Attributes, graph: NodeGraph) -> Decision:
    """Get a pod bound here; list/watch only those (``spec.nodeName=<node>``); create,
    delete, status and eviction go to NodeRestriction."""
    allowed = {None: ("create", "delete"), "status": ("update", "patch"),
               "eviction": ("create",)}
    if attrs.verb in allowed.get(attrs.subresource, ()):
        return Decision(True)
    if attrs.subresource or attrs.verb not in ("get", "list", "watch"):
        return NO_OPINION
    if attrs.verb == "get":
        return _related(node, attrs, graph)
    if required_field(attrs.field_selector, "spec.nodeName") == node:
        return Decision(True)
    if attrs.name:
        return _related(node, attrs, graph)
    return Decision(False, "can only list/watch pods with spec.nodeName field selector")


_RULES = {
    ("", "configmaps"): _read_namespaced,
    ("", "secrets"): _read_namespaced,
    ("", "persistentvolumeclaims"): _claims,
    ("", "serviceaccounts"): _get,
    ("", "pods"): _pod,
    ("", "nodes"): _node,
    ("coordination.k8s.io", "leases"): _lease,
}
"""The resources the Node authorizer decides itself, by (group, resource)."""


class NodeAuthorizer(NodeGraph):
    """The Node authorizer: an ``rbac.Opinion`` asked before RBAC, over its graph (the
    mirror of pods the apiserver feeds)."""

    def decide(self, attrs: Attributes) -> Decision:
        return decide(attrs, self)
