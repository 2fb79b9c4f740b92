"""The roles and bindings every cluster starts with, after Kubernetes' defaults
(``plugin/pkg/auth/authorizer/rbac/bootstrappolicy``): the user-facing roles (view, edit,
admin), the components' (scheduler, controller manager, CSR signer), and the rules of
``system:node`` the Node authorizer applies to kubelets (:func:`node_rules`).

Pure data. Neighbours: ``rbac`` (applies them), ``nodeauthz`` (the node rules), ``server``
(creates them at start, reconciles older ones).

Which thread: any.
"""

from __future__ import annotations

from typing import Any

from actors.api import autoscaling, certificates, disruptionbudgets, faultplans
from actors.api.objects import Object
from actors.api.resources import METRICS_GROUP
from actors.apiserver.rbac import ALL, RBAC_GROUP
from bus.permissions import NODE_SIM

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
WRITE_STATUS = ["get", "update", "patch"]
APPS, BATCH, COORDINATION, POLICY = "apps", "batch", "coordination.k8s.io", "policy"
DISCOVERY, NETWORKING, STORAGE = "discovery.k8s.io", "networking.k8s.io", "storage.k8s.io"
NETWORKING_RESOURCES = ["ingresses", "ingresses/status", "networkpolicies"]
AUTHORIZATION_GROUP = "authorization.k8s.io"
CSR_SIGNER = "system:controller:certificate-controller"
"""The identity of the CSR signer (Kubernetes' name for its certificate controller)."""
WORKLOADS_CORE = ["pods", "pods/exec", "pods/attach", "configmaps", "secrets", "services",
                  "persistentvolumeclaims", "replicationcontrollers",
                  "replicationcontrollers/scale", "serviceaccounts"]
"""What ``edit`` writes of the core group. Not Endpoints (nor EndpointSlices): since Kubernetes
1.22 (CVE-2021-25740) they are the controllers', read only, or an editor could point a Service
at any address, another namespace's pods or the apiserver included."""
WORKLOADS_APPS = ["deployments", "deployments/scale", "replicasets", "replicasets/scale",
                  "statefulsets", "statefulsets/scale", "daemonsets"]
WORKLOADS_BATCH = ["jobs", "cronjobs"]
VIEWABLE_CORE = ["pods", "pods/log", "pods/status", "configmaps", "services", "endpoints",
                 "persistentvolumeclaims", "replicationcontrollers", "serviceaccounts",
                 "events", "limitranges", "resourcequotas", "resourcequotas/status",
                 "namespaces", "namespaces/status"]
"""What ``view`` reads: workloads and their settings, never secrets (as in Kubernetes)."""


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> Object:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "rules": rules,
    }


def _cluster_binding(name: str, kind: str, subject: str) -> Object:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": kind, "name": subject}],
    }


def _user_facing_roles() -> list[Object]:
    """``view`` < ``edit`` < ``admin``: meant for RoleBindings in one namespace (bound with a
    ClusterRoleBinding they apply everywhere), with Kubernetes' rule sets cut to what exists
    or is planned here."""
    view = [_rule([""], VIEWABLE_CORE, READ),
            _rule([APPS], [*WORKLOADS_APPS, "controllerrevisions"], READ),
            _rule([BATCH], WORKLOADS_BATCH, READ),
            _rule([POLICY], [disruptionbudgets.RESOURCE], READ),
            _rule([DISCOVERY], ["endpointslices"], READ),
            _rule([NETWORKING], NETWORKING_RESOURCES, READ),
            _rule([METRICS_GROUP], ["pods", "nodes"], READ),
            _rule([autoscaling.GROUP], [autoscaling.RESOURCE], READ)]
    edit = [*view,
            _rule([""], WORKLOADS_CORE, [*READ, *WRITE]),
            _rule([""], ["pods/eviction"], ["create"]),
            _rule([POLICY], [disruptionbudgets.RESOURCE], [*READ, *WRITE]),
            _rule([APPS], WORKLOADS_APPS, [*READ, *WRITE]),
            _rule([BATCH], WORKLOADS_BATCH, [*READ, *WRITE]),
            _rule([NETWORKING], NETWORKING_RESOURCES, [*READ, *WRITE]),
            _rule([autoscaling.GROUP], [autoscaling.RESOURCE], [*READ, *WRITE])]
    admin = [*edit,
             _rule([RBAC_GROUP], ["roles", "rolebindings"], [*READ, *WRITE]),
             _rule([AUTHORIZATION_GROUP], ["localsubjectaccessreviews"], ["create"])]
    return [_cluster_role("admin", admin), _cluster_role("edit", edit),
            _cluster_role("view", view)]


MONITORING_URLS = ["/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*",
                   "/metrics", "/metrics/slis"]
"""What Kubernetes' ``system:monitoring`` ClusterRole may get."""
RETIRED_POLICY = (("ClusterRoleBinding", "system:node"),)
"""Bootstrap objects of older versions, removed at start while they still carry the bootstrap
label: ``system:node`` bound to every kubelet gave each the reads the Node authorizer now
limits to its own node."""


def node_rules() -> list[Object]:
    """Kubernetes' NodeRules, cut to what exists or is planned here: what any kubelet may
    do, before the Node authorizer narrows reads to its own node and NodeRestriction writes."""
    return [
        _rule([AUTHORIZATION_GROUP], ["subjectaccessreviews"], ["create"]),
        _rule([""], ["services"], READ),
        _rule([DISCOVERY], ["endpointslices"], READ),  # the service proxy (node-proxier's)
        _rule([""], ["nodes"], ["create", "get", "list", "watch", "update", "patch"]),
        _rule([""], ["nodes/status"], ["update", "patch"]),
        _rule([""], ["events"], ["create", "update", "patch"]),
        _rule([""], ["pods"], [*READ, "create", "delete"]),
        _rule([""], ["pods/status"], ["update", "patch"]),
        _rule([""], ["pods/eviction"], ["create"]),
        _rule([""], ["secrets", "configmaps"], READ),
        _rule([""], ["persistentvolumeclaims", "endpoints"], ["get"]),
        # the local-path provisioner in the kubelet's process (k3s grants its own the same)
        _rule([""], ["persistentvolumes"], [*READ, "create", "delete"]),
        _rule([STORAGE], ["storageclasses"], READ),
        _rule([""], ["persistentvolumeclaims/status"], ["get", "update", "patch"]),
        _rule([""], ["serviceaccounts/token"], ["create"]),
        _rule([certificates.GROUP], [certificates.RESOURCE], ["create", *READ]),
        _rule([COORDINATION], ["leases"], ["get", "create", "update", "patch", "delete"]),
    ]


def bootstrap_policy() -> list[Object]:
    """Cluster roles and bindings every cluster starts with, after Kubernetes' defaults."""
    return [
        _cluster_role("cluster-admin", [_rule([ALL], [ALL], [ALL]),
                                        {"nonResourceURLs": [ALL], "verbs": [ALL]}]),
        # Kubernetes' system:monitoring: the health and metrics endpoints, for scrapers.
        _cluster_role("system:monitoring", [{"nonResourceURLs": MONITORING_URLS,
                                             "verbs": ["get"]}]),
        _cluster_binding("system:monitoring", "Group", "system:monitoring"),
        _cluster_binding("cluster-admin", "Group", "system:masters"),
        *_user_facing_roles(),
        _cluster_role("system:basic-user", [
            _rule([AUTHORIZATION_GROUP], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                  ["create"]),
            _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
        ]),
        _cluster_binding("system:basic-user", "Group", "system:authenticated"),
        _cluster_role("system:kube-scheduler", [
            _rule([""], ["pods", "nodes", "namespaces"], READ),
            _rule([POLICY], ["poddisruptionbudgets"], READ),  # preemption prefers them
            # VolumeBinding: claims' volumes and classes; the selected node on a claim
            _rule([""], ["persistentvolumeclaims", "persistentvolumes"], READ),
            _rule([STORAGE], ["storageclasses"], READ),
            _rule([""], ["persistentvolumeclaims"], ["update", "patch"]),
            _rule([""], ["pods"], ["delete"]),  # preemption evicts lower-priority pods
            _rule([""], ["pods/binding"], ["create"]),
            _rule([""], ["pods/status", "replicationcontrollers/status"], WRITE_STATUS),
            _rule([""], ["events"], ["create", "update", "patch"]),
            _rule([COORDINATION], ["leases"], ["get", "create", "update"]),
        ]),
        _cluster_binding("system:kube-scheduler", "User", "system:kube-scheduler"),
        _cluster_role("system:kube-controller-manager", [
            _rule([""], ["nodes"], [*READ, "update", "patch"]),
            _rule([""], ["nodes/status"], WRITE_STATUS),
            _rule([""], ["pods"], [*READ, "create", "delete", "update", "patch"]),
            _rule([""], ["pods/status"], WRITE_STATUS),
            _rule([""], ["events"], ["create", "update", "patch"]),
            _rule([""], ["resourcequotas"], READ),
            _rule([""], ["resourcequotas/status"], WRITE_STATUS),
            _rule([COORDINATION], ["leases"], [*READ, "create", "update"]),
            _rule(["apps"], ["replicasets", "deployments"], [*READ, "create", "update",
                                                             "patch", "delete"]),
            _rule(["apps"], ["replicasets/status", "deployments/status"], WRITE_STATUS),
            _rule(["apps"], ["daemonsets", "statefulsets", "controllerrevisions"],
                  [*READ, "create", "update", "patch", "delete"]),
            _rule(["apps"], ["daemonsets/status", "statefulsets/status"], WRITE_STATUS),
            _rule([BATCH], WORKLOADS_BATCH, [*READ, "create", "update", "patch", "delete"]),
            _rule([BATCH], ["jobs/status", "cronjobs/status"], WRITE_STATUS),
            _rule([""], ["namespaces/finalize", "namespaces/status"], ["update"]),
            # the default service accounts and the root CA ConfigMap of every namespace
            _rule([""], ["serviceaccounts", "configmaps"], ["create"]),
            # the EndpointSlices of Services and the Endpoints mirrored from them
            _rule([""], ["endpoints"], ["create"]),
            # a StatefulSet's claims from its volumeClaimTemplates
            _rule([""], ["persistentvolumeclaims"], ["create"]),
            _rule([DISCOVERY], ["endpointslices"], ["create"]),
            # The garbage collector and the namespace controller reach every resource.
            _rule([ALL], [ALL], [*READ, "update", "patch", "delete"]),
        ]),
        _cluster_binding("system:kube-controller-manager", "User",
                         "system:kube-controller-manager"),
        # Bound to nobody, as in Kubernetes: the Node authorizer grants kubelets these rules,
        # cut down to their own node (nodeauthz), and NodeRestriction (admission) what they
        # write.
        _cluster_role("system:node", node_rules()),
        # The one informer of pods and of nodes that serves every simulated node of ``up
        # --runtime sim`` (each node acts as itself otherwise).
        _cluster_role(NODE_SIM, [_rule([""], ["pods", "nodes"], READ)]),
        _cluster_binding(NODE_SIM, "User", NODE_SIM),
        # the signer in the apiserver process (actors.controllers.csrsigning)
        _cluster_role(CSR_SIGNER, [
            _rule([certificates.GROUP], [certificates.RESOURCE], READ),
            _rule([certificates.GROUP], [f"{certificates.RESOURCE}/status"], ["update"]),
            {**_rule([certificates.GROUP], ["signers"], ["sign"]),
             "resourceNames": [certificates.CLIENT_SIGNER]},
        ]),
        _cluster_binding(CSR_SIGNER, "User", CSR_SIGNER),
        *_fault_plan_roles(),
    ]


FAULT_PLAN_READER = "system:kubeactor:fault-plan-reader"


def _fault_plan_roles() -> list[Object]:
    """Who follows FaultPlans (``actors.client.faultinjection``): every process hosting
    components, as its own identity; the control plane's injector also deletes expired ones.
    Nobody else is granted them: making one is the admin's (``cluster-admin``)."""
    read = _rule([faultplans.GROUP], [faultplans.RESOURCE], READ)
    readers = _cluster_binding(FAULT_PLAN_READER, "Group", "system:nodes")
    readers["subjects"] += [{"apiGroup": RBAC_GROUP, "kind": "User", "name": user}
                            for user in ("system:kube-scheduler", NODE_SIM)]
    return [_cluster_role(FAULT_PLAN_READER, [read]), readers,
            _cluster_role(faultplans.INJECTOR, [
                read, _rule([faultplans.GROUP], [faultplans.RESOURCE], ["delete"])]),
            _cluster_binding(faultplans.INJECTOR, "User", faultplans.INJECTOR)]
