"""The resources the API serves: what the apiserver and kubectl know about each one.

Objects are plain dicts in Kubernetes' shape (``apiVersion``, ``kind``, ``metadata``, ``spec``,
``status``), so simple Kubernetes manifests apply unchanged. This module holds the registry of
resources (:class:`ResourceInfo`, :data:`RESOURCES`), how a name or a kubectl word finds one
(:func:`lookup`, :func:`resolve`), and the namespaces every cluster has.

Neighbours: ``actors.api.meta`` (what every object carries), ``actors.api.defaulting`` and
``actors.api.validation`` (what the apiserver does to an object before storing it, per
resource), ``actors.api.certificates`` and ``actors.api.priorityclasses`` (the rules of two
resources), ``actors.apiserver`` (the only writer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from actors.api import autoscaling, certificates, disruptionbudgets, faultplans, jobs, storage
from bus.errors import BadRequest, NotFound

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
"""Namespaces that exist in every cluster and may not be deleted."""
NODE_LEASE_NAMESPACE = "kube-node-lease"
"""Where each kubelet keeps the Lease that is its heartbeat."""
SYSTEM_NAMESPACES = (*IMMORTAL_NAMESPACES, NODE_LEASE_NAMESPACE)
"""Namespaces the apiserver creates at start."""


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """What the apiserver and kubectl know about one resource."""

    name: str
    """Plural, lower case: ``pods``."""
    kind: str
    group: str = ""
    version: str = "v1"
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    """Groups of types kubectl can name at once, as in API discovery: ``all``."""
    also: tuple[str, ...] = ()
    """Other versions it is served at, its objects converted (``actors.api.conversion``);
    stored at ``version``, which discovery prefers."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """kube-apiserver's name of the resource in messages: ``pods``, ``deployments.apps``."""
        return qualify(self.name, self.group)

    @property
    def qualified_singular(self) -> str:
        """How kubectl names a type before ``/NAME``: ``pod``, ``deployment.apps``."""
        return qualify(self.singular, self.group)

    def key(self, namespace: str | None, name: str) -> str:
        """The store key of one object: ``/pods/<ns>/<name>`` or ``/nodes/<name>``."""
        return f"{self.prefix(namespace)}{name}"

    def prefix(self, namespace: str | None) -> str:
        """Store key prefix of a list: all namespaces when ``namespace`` is None."""
        group = f"{self.group}/" if self.group else ""
        if self.namespaced and namespace:
            return f"/{group}{self.name}/{namespace}/"
        return f"/{group}{self.name}/"


def qualify(name: str, group: str) -> str:
    """A resource's name qualified by its group outside the core group: ``pods``,
    ``deployments.apps``, ``roles.rbac.authorization.k8s.io``."""
    return f"{name}.{group}" if group else name


_RBAC = "rbac.authorization.k8s.io"
_FLOWCONTROL = "flowcontrol.apiserver.k8s.io"
_NETWORKING = "networking.k8s.io"
METRICS_GROUP = "metrics.k8s.io"
"""The resource metrics (PodMetrics, NodeMetrics): read, never stored; the apiserver asks the
kubelets (``actors.apiserver.metrics``)."""
RESOURCES: tuple[ResourceInfo, ...] = (
    ResourceInfo("namespaces", "Namespace", namespaced=False, short_names=("ns",),
                 subresources=("finalize",)),
    ResourceInfo(
        "pods", "Pod", short_names=("po",),
        subresources=("status", "binding", "eviction", "log", "exec", "attach"),
        categories=("all",),
    ),
    ResourceInfo("nodes", "Node", namespaced=False, short_names=("no",), subresources=("status",)),
    ResourceInfo("events", "Event", short_names=("ev",)),
    ResourceInfo("configmaps", "ConfigMap", short_names=("cm",)),
    ResourceInfo("secrets", "Secret"),
    ResourceInfo("serviceaccounts", "ServiceAccount", short_names=("sa",),
                 subresources=("token",)),
    ResourceInfo("leases", "Lease", group="coordination.k8s.io"),
    ResourceInfo("roles", "Role", group=_RBAC),
    ResourceInfo("rolebindings", "RoleBinding", group=_RBAC),
    ResourceInfo("clusterroles", "ClusterRole", group=_RBAC, namespaced=False),
    ResourceInfo("clusterrolebindings", "ClusterRoleBinding", group=_RBAC, namespaced=False),
    ResourceInfo("limitranges", "LimitRange", short_names=("limits",)),
    ResourceInfo("resourcequotas", "ResourceQuota", short_names=("quota",),
                 subresources=("status",)),
    ResourceInfo("admissionregistrations", "AdmissionRegistration",
                 group="admissionregistration.kubeactor.io", namespaced=False),
    ResourceInfo(faultplans.RESOURCE, faultplans.KIND, group=faultplans.GROUP,
                 namespaced=False),
    ResourceInfo("selfsubjectaccessreviews", "SelfSubjectAccessReview",
                 group="authorization.k8s.io", namespaced=False),
    ResourceInfo("subjectaccessreviews", "SubjectAccessReview", group="authorization.k8s.io",
                 namespaced=False),
    ResourceInfo("selfsubjectrulesreviews", "SelfSubjectRulesReview",
                 group="authorization.k8s.io", namespaced=False),
    ResourceInfo("selfsubjectreviews", "SelfSubjectReview", group="authentication.k8s.io",
                 namespaced=False),
    ResourceInfo("tokenreviews", "TokenReview", group="authentication.k8s.io",
                 namespaced=False),
    ResourceInfo("replicationcontrollers", "ReplicationController", short_names=("rc",),
                 subresources=("status", "scale"), categories=("all",)),
    ResourceInfo("replicasets", "ReplicaSet", group="apps", short_names=("rs",),
                 subresources=("status", "scale"), categories=("all",)),
    ResourceInfo("deployments", "Deployment", group="apps", short_names=("deploy",),
                 subresources=("status", "scale"), categories=("all",)),
    ResourceInfo("daemonsets", "DaemonSet", group="apps", short_names=("ds",),
                 subresources=("status",), categories=("all",)),
    ResourceInfo("statefulsets", "StatefulSet", group="apps", short_names=("sts",),
                 subresources=("status", "scale"), categories=("all",)),
    ResourceInfo("controllerrevisions", "ControllerRevision", group="apps"),
    ResourceInfo(jobs.JOBS, "Job", group=jobs.GROUP, subresources=("status",),
                 categories=("all",)),
    ResourceInfo(jobs.CRONJOBS, "CronJob", group=jobs.GROUP, short_names=("cj",),
                 subresources=("status",), categories=("all",)),
    ResourceInfo(certificates.RESOURCE, "CertificateSigningRequest", group=certificates.GROUP,
                 namespaced=False, short_names=("csr",), subresources=("status", "approval")),
    ResourceInfo(disruptionbudgets.RESOURCE, "PodDisruptionBudget",
                 group=disruptionbudgets.GROUP, short_names=("pdb",), subresources=("status",)),
    ResourceInfo("priorityclasses", "PriorityClass", group="scheduling.k8s.io",
                 namespaced=False, short_names=("pc",)),
    ResourceInfo("flowschemas", "FlowSchema", group=_FLOWCONTROL, namespaced=False,
                 subresources=("status",)),
    ResourceInfo("prioritylevelconfigurations", "PriorityLevelConfiguration",
                 group=_FLOWCONTROL, namespaced=False, subresources=("status",)),
    ResourceInfo("services", "Service", short_names=("svc",), subresources=("status",),
                 categories=("all",)),
    ResourceInfo("endpoints", "Endpoints", short_names=("ep",)),
    ResourceInfo("endpointslices", "EndpointSlice", group="discovery.k8s.io"),
    ResourceInfo("ingresses", "Ingress", group=_NETWORKING, short_names=("ing",),
                 subresources=("status",)),
    ResourceInfo("ingressclasses", "IngressClass", group=_NETWORKING, namespaced=False),
    ResourceInfo("networkpolicies", "NetworkPolicy", group=_NETWORKING,
                 short_names=("netpol",)),
    ResourceInfo(storage.VOLUMES, "PersistentVolume", namespaced=False, short_names=("pv",),
                 subresources=("status",)),
    ResourceInfo(storage.CLAIMS, "PersistentVolumeClaim", short_names=("pvc",),
                 subresources=("status",)),
    ResourceInfo(storage.CLASSES, "StorageClass", group=storage.GROUP, namespaced=False,
                 short_names=("sc",)),
    ResourceInfo("customresourcedefinitions", "CustomResourceDefinition",
                 group="apiextensions.k8s.io", namespaced=False, short_names=("crd", "crds"),
                 subresources=("status",), categories=("api-extensions",)),
    ResourceInfo(autoscaling.RESOURCE, "HorizontalPodAutoscaler", group=autoscaling.GROUP,
                 version="v2", short_names=("hpa",), subresources=("status",),
                 categories=("all",), also=("v1",)),
    # last: the core group's pods and nodes come first wherever a word is resolved
    ResourceInfo("pods", "PodMetrics", group=METRICS_GROUP, version="v1beta1"),
    ResourceInfo("nodes", "NodeMetrics", group=METRICS_GROUP, version="v1beta1",
                 namespaced=False),
)
REVIEWS = ("selfsubjectaccessreviews", "subjectaccessreviews", "selfsubjectrulesreviews",
           "tokenreviews", "selfsubjectreviews")
"""Resources that are questions, not objects: only ``create``, answered and never stored."""
STORED: tuple[ResourceInfo, ...] = tuple(
    info for info in RESOURCES if info.name not in REVIEWS and info.group != METRICS_GROUP)
"""The resources kept in the store (listed, watched, owned, deleted with their namespace)."""

_BY_GROUP_NAME = {(info.group, info.name): info for info in RESOURCES}
BY_KIND: dict[str, ResourceInfo] = {info.kind: info for info in RESOURCES}
"""The resource of each kind: what a stored object, an event or an owner reference names
(kinds are unique across the groups served)."""


def lookup(group: str, name: str) -> ResourceInfo:
    """The resource ``name`` in ``group``; NotFound when the server does not have it."""
    info = _BY_GROUP_NAME.get((group, name))
    if info is None:
        raise NotFound(
            f'the server could not find the requested resource "{qualify(name, group)}"')
    return info


def in_category(category: str, among: Iterable[ResourceInfo] = RESOURCES
                ) -> list[ResourceInfo]:
    """The resources of a category (``all``), in discovery order."""
    return [info for info in among if category in info.categories]


def resolve(word: str, among: Iterable[ResourceInfo] = RESOURCES) -> ResourceInfo:
    """The resource a kubectl user means by ``word``: plural, singular, short name or Kind
    (among the built-in ones unless told: ``actors.api.discovery`` adds the custom ones)."""
    lowered = word.lower()
    for info in among:
        names = (info.name, info.singular, *info.short_names, f"{info.name}.{info.group}",
                 f"{info.singular}.{info.group}")
        if lowered in names:
            return info
    raise BadRequest(f'the server doesn\'t have a resource type "{word}"')
