"""kubectl's columns of each served type (kube-apiserver's printers): what ``get`` shows of an
object, as cells of text, for both doors: kubeactor's own CLI prints them
(``bindings.cli.printers``) and the HTTPS API serves them as a ``Table``
(``actors.apiserver.http.tables``), so kubectl prints the same table against either.

A type's :class:`Columns` name every column (Kubernetes' names, ``Up-to-date``; kubectl prints
them upper-cased), the wide ones (``-o wide``) with priority 1, and one function that makes
every cell of an object's row, the wide ones included. A type without columns of its own has
``NAME`` and ``AGE``.

Pure (the ages read the clock): unit-tested in tests/unit/bindings/cli/test_printers.py and
tests/unit/actors/apiserver/http/test_tables.py.

Neighbours: ``bindings.cli.printers`` (the CLI's tables), ``actors.apiserver.http.tables``
(the Table form), ``actors.api.certificates`` (a CSR's condition word), ``actors.api.crds`` (a
custom resource's ``additionalPrinterColumns``, read with ``actors.api.jsonpath``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from actors.api import (
    autoscaling,
    certificates,
    crds,
    jsonpath,
    replication,
    services,
    storage,
)
from actors.api.meta import condition, controller_ref, parse_time
from actors.api.objects import Object
from actors.api.pods import SCHEDULING_GATED, sidecar_names
from actors.api.resources import METRICS_GROUP, ResourceInfo
from actors.api.selectors import selector_text


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a type's table (Kubernetes' ``TableColumnDefinition``)."""

    name: str
    """As Kubernetes names it (``Up-to-date``); kubectl prints it upper-cased."""
    priority: int = 0
    """0: always shown; 1: with ``-o wide`` only."""
    format: str = ""
    """``name`` for the column of the object's name (kubectl prefixes it with the kind)."""


@dataclass(frozen=True, slots=True)
class Columns:
    """A type's columns and the cells of an object's row (every column, wide ones too)."""

    columns: tuple[Column, ...]
    cells: Callable[[Object], list[str]]

    def shown(self, wide: bool) -> list[int]:
        """The indexes of the columns shown, all of them with ``wide``."""
        return [i for i, column in enumerate(self.columns) if wide or column.priority == 0]


def age(obj: Object, now: datetime | None = None) -> str:
    """kubectl's short age: ``5s``, ``3m``, ``2h``, ``4d``."""
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = max(int(((now or datetime.now(UTC)) - parse_time(created)).total_seconds()), 0)
    return human_duration(seconds)


def human_duration(seconds: int) -> str:
    """kubectl's HumanDuration: ``45s``, ``5m12s``, ``47m``, ``5h3m``, ``30h``, ``4d5h``..."""
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def pod_status_word(pod: Object) -> str:
    """The STATUS column: a waiting or terminated reason, Terminating, or the phase."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status", {})
    if (condition(pod, "PodScheduled") or {}).get("reason") == SCHEDULING_GATED:
        return SCHEDULING_GATED
    initializing = _init_status_word(pod)
    if initializing is not None and (condition(pod, "Initialized") or {}).get("status") != "True":
        return initializing
    return _app_status_word(status) or initializing or str(status.get("phase", "Pending"))


def _app_status_word(status: Object) -> str | None:
    """The STATUS an app container's state gives (a waiting reason, a terminated one), which
    kubectl prefers once the pod is initialized, even to an ended sidecar's ``Init:Error``."""
    for container in status.get("containerStatuses") or []:
        state = container.get("state", {})
        if "waiting" in state and state["waiting"].get("reason") not in (None, ""):
            return str(state["waiting"]["reason"])
        if "terminated" in state and status.get("phase") not in ("Succeeded", "Failed", None):
            return str(state["terminated"].get("reason", "Terminated"))
    if status.get("phase") in ("Succeeded", "Failed"):
        terminated = [c["state"]["terminated"] for c in status.get("containerStatuses") or []
                      if "terminated" in c.get("state", {})]
        if terminated:
            return str(terminated[0].get("reason") or status["phase"])
    return None


def _init_status_word(pod: Object) -> str | None:
    """kubectl's word for a pod still running its init containers (``Init:0/2``,
    ``Init:CrashLoopBackOff``, ``Init:Error``), None once they all succeeded."""
    total = len(pod.get("spec", {}).get("initContainers") or [])
    sidecars = sidecar_names(pod)
    for index, container in enumerate(pod.get("status", {}).get("initContainerStatuses") or []):
        state = container.get("state", {})
        terminated, waiting = state.get("terminated"), state.get("waiting") or {}
        if (terminated and terminated.get("exitCode") == 0) or (
                container.get("name") in sidecars and container.get("started")):
            continue
        if terminated:
            return f"Init:{terminated.get('reason') or 'ExitCode:' + str(terminated['exitCode'])}"
        if waiting.get("reason") not in (None, "", "PodInitializing"):
            return f"Init:{waiting['reason']}"
        return f"Init:{index}/{total}"
    return None


def _pod_cells(pod: Object) -> list[str]:
    """kubectl's printPod: sidecars count among the containers (READY), and init
    containers' restarts among the RESTARTS."""
    status = pod.get("status", {})
    sidecars = sidecar_names(pod)
    inits = status.get("initContainerStatuses") or []
    apps = status.get("containerStatuses") or []
    started = [s for s in inits if s.get("name") in sidecars and s.get("started")]
    total = len(pod.get("spec", {}).get("containers", [])) + len(sidecars)
    ready = sum(1 for s in [*started, *apps] if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in [*inits, *apps])
    return [pod["metadata"]["name"], f"{ready}/{total}", pod_status_word(pod), str(restarts),
            age(pod), status.get("podIP") or "<none>",
            pod.get("spec", {}).get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", _readiness_gates(pod)]


def _readiness_gates(pod: Object) -> str:
    """``true/all`` of the pod's readiness gates' conditions, ``<none>`` without gates."""
    gates = [gate.get("conditionType") for gate in pod.get("spec", {}).get("readinessGates")
             or []]
    if not gates:
        return "<none>"
    true = sum(1 for gate in gates if (condition(pod, gate) or {}).get("status") == "True")
    return f"{true}/{len(gates)}"


def _node_cells(node: Object) -> list[str]:
    ready = condition(node, "Ready")
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if node.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels
                            if k.startswith("node-role.kubernetes.io/"))) or "<none>"
    info = node.get("status", {}).get("nodeInfo") or {}
    addresses = {a["type"]: a["address"] for a in node.get("status", {}).get("addresses", [])}
    return [node["metadata"]["name"], status, roles, age(node), info.get("kubeletVersion", ""),
            addresses.get("InternalIP", "<none>"), addresses.get("ExternalIP", "<none>"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion", "")]


def _default_cells(obj: Object) -> list[str]:
    return [obj["metadata"]["name"], age(obj)]


def _created_cells(obj: Object) -> list[str]:
    """kube-apiserver's default table (a CRD's) and its Roles' and ClusterRoles': the name and
    when it was created, as RFC 3339 in UTC."""
    return [obj["metadata"]["name"], str(obj["metadata"].get("creationTimestamp", ""))]


def _binding_cells(binding: Object) -> list[str]:
    """A RoleBinding's or ClusterRoleBinding's row: ``Kind/name`` of its role; wide, its
    users, groups and service accounts (``namespace/name``), as kube's SubjectsStrings."""
    ref = binding.get("roleRef") or {}
    subjects = [s for s in binding.get("subjects") or [] if isinstance(s, dict)]

    def named(kind: str) -> str:
        return ", ".join(
            f"{s['namespace']}/{s.get('name', '')}" if kind == "ServiceAccount"
            and s.get("namespace") else str(s.get("name", ""))
            for s in subjects if s.get("kind") == kind)

    return [binding["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}",
            age(binding), named("User"), named("Group"), named("ServiceAccount")]


def _configmap_cells(configmap: Object) -> list[str]:
    data = len(configmap.get("data") or {}) + len(configmap.get("binaryData") or {})
    return [configmap["metadata"]["name"], str(data), age(configmap)]


def _service_account_cells(account: Object) -> list[str]:
    return [account["metadata"]["name"], str(len(account.get("secrets") or [])), age(account)]


def _secret_cells(secret: Object) -> list[str]:
    return [secret["metadata"]["name"], str(secret.get("type", "")),
            str(len(secret.get("data") or {})), age(secret)]


def _event_cells(event: Object) -> list[str]:
    """An Event's row, the wide cells among the others as kube's printEvent orders them:
    SUBOBJECT and SOURCE before MESSAGE, FIRST SEEN, COUNT and NAME after it."""
    involved = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event["metadata"].get("creationTimestamp")
    first = event.get("firstTimestamp") or event.get("eventTime") or last
    source = event.get("source") or {}
    component, host = (source.get("component"), source.get("host")) if source.get(
        "component") else (event.get("reportingComponent"), event.get("reportingInstance"))
    return [age({"metadata": {"creationTimestamp": last}}), str(event.get("type", "")),
            str(event.get("reason", "")),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
            str(involved.get("fieldPath", "")),
            f"{component}, {host}" if host else str(component or ""),
            str(event.get("message", "")).strip(),
            age({"metadata": {"creationTimestamp": first}}), str(event.get("count", 1)),
            event["metadata"]["name"]]


def _template_cells(obj: Object) -> list[str]:
    """-o wide of workloads: CONTAINERS, IMAGES, SELECTOR."""
    spec = obj.get("spec", {})
    containers = (spec.get("template", {}).get("spec") or {}).get("containers") or []
    return [",".join(str(c.get("name")) for c in containers),
            ",".join(str(c.get("image")) for c in containers),
            selector_text(spec.get("selector") or {}) or "<none>"]


def _replicaset_cells(rs: Object) -> list[str]:
    spec, status = rs.get("spec", {}), rs.get("status") or {}
    return [rs["metadata"]["name"], str(spec.get("replicas", 0)), str(status.get("replicas", 0)),
            str(status.get("readyReplicas", 0)), age(rs), *_template_cells(rs)]


def _deployment_cells(deployment: Object) -> list[str]:
    spec, status = deployment.get("spec", {}), deployment.get("status") or {}
    return [deployment["metadata"]["name"],
            f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            str(status.get("updatedReplicas", 0)), str(status.get("availableReplicas", 0)),
            age(deployment), *_template_cells(deployment)]


def _daemonset_cells(daemonset: Object) -> list[str]:
    spec, status = daemonset.get("spec", {}), daemonset.get("status") or {}
    counts = [str(status.get(field, 0)) for field in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable")]
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [daemonset["metadata"]["name"], *counts,
            ",".join(f"{k}={v}" for k, v in node_selector.items()) or "<none>",
            age(daemonset), *_template_cells(daemonset)]


def _statefulset_cells(statefulset: Object) -> list[str]:
    spec, status = statefulset.get("spec", {}), statefulset.get("status") or {}
    return [statefulset["metadata"]["name"],
            f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", age(statefulset),
            *_template_cells(statefulset)[:2]]


def _revision_cells(revision: Object) -> list[str]:
    owner = controller_ref(revision)
    shown = f"{owner.get('kind', '').lower()}.apps/{owner.get('name')}" if owner else "<none>"
    return [revision["metadata"]["name"], shown, str(revision.get("revision", 0)),
            age(revision)]
def _job_cells(job: Object) -> list[str]:
    """kubectl's Job row: STATUS, COMPLETIONS (succeeded/completions; ``/1 of P`` without
    completions at a parallelism P above 1), DURATION (from startTime to completionTime)."""
    spec, status = job.get("spec", {}), job.get("status") or {}
    completions, parallelism = spec.get("completions"), spec.get("parallelism") or 0
    shown = f"{status.get('succeeded', 0)}/" + (
        str(completions) if completions is not None else
        f"1 of {parallelism}" if parallelism > 1 else "1")
    started, ended = status.get("startTime"), status.get("completionTime")
    duration = "" if not started else human_duration(int((
        (parse_time(ended) if ended else datetime.now(UTC)) - parse_time(started)
    ).total_seconds()))
    return [job["metadata"]["name"], _job_status(job), shown, duration, age(job),
            *_template_cells(job)]


def _job_status(job: Object) -> str:
    """kubectl's printJob status: Complete, Failed, Terminating, Suspended, FailureTarget,
    SuccessCriteriaMet (the first that holds), else Running."""
    for word in ("Complete", "Failed", "Terminating", "Suspended", "FailureTarget",
                 "SuccessCriteriaMet"):
        if word == "Terminating":
            if job["metadata"].get("deletionTimestamp"):
                return word
        elif (condition(job, word) or {}).get("status") == "True":
            return word
    return "Running"


def _cronjob_cells(cronjob: Object) -> list[str]:
    spec, status = cronjob.get("spec", {}), cronjob.get("status") or {}
    last = status.get("lastScheduleTime")
    suspend = spec.get("suspend")
    return [cronjob["metadata"]["name"], str(spec.get("schedule", "")),
            str(spec.get("timeZone") or "<none>"),
            "<unset>" if suspend is None else str(bool(suspend)),
            str(len(status.get("active") or [])),
            age({"metadata": {"creationTimestamp": last}}) if last else "<none>", age(cronjob),
            *_template_cells(spec.get("jobTemplate") or {})]


def _namespace_cells(namespace: Object) -> list[str]:
    return [namespace["metadata"]["name"],
            str((namespace.get("status") or {}).get("phase", "Active")), age(namespace)]


def _quota_cells(quota: Object) -> list[str]:
    """kubectl's ``used/hard`` per resource: requests (and counts) apart from limits."""
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    cells = [", ".join(f"{name}: {used.get(name, 0)}/{hard[name]}" for name in sorted(hard)
                       if name.startswith("limits.") == limits) for limits in (False, True)]
    return [quota["metadata"]["name"], *cells, age(quota)]


def _csr_cells(csr: Object) -> list[str]:
    spec = csr.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [csr["metadata"]["name"], age(csr), str(spec.get("signerName", "")),
            str(spec.get("username", "")),
            human_duration(int(seconds)) if seconds else "<none>",
            certificates.condition_word(csr)]


def _priority_class_cells(priority_class: Object) -> list[str]:
    return [priority_class["metadata"]["name"], str(priority_class.get("value", 0)),
            str(bool(priority_class.get("globalDefault"))).lower(), age(priority_class),
            str(priority_class.get("preemptionPolicy", ""))]


def _budget_cells(budget: Object) -> list[str]:
    spec = budget.get("spec") or {}
    shown = [str(spec[field]) if spec.get(field) is not None else "N/A"
             for field in ("minAvailable", "maxUnavailable")]
    allowed = (budget.get("status") or {}).get("disruptionsAllowed", 0)
    return [budget["metadata"]["name"], *shown, str(allowed), age(budget)]


def _autoscaler_cells(hpa: Object) -> list[str]:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    low = spec.get("minReplicas")
    return [hpa["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}",
            autoscaling.targets_text(spec.get("metrics") or [],
                                     status.get("currentMetrics") or []),
            "<unset>" if low is None else str(low), str(spec.get("maxReplicas", "")),
            str(status.get("currentReplicas", 0)), age(hpa)]


def _lease_cells(lease: Object) -> list[str]:
    holder = (lease.get("spec") or {}).get("holderIdentity")
    return [lease["metadata"]["name"], str(holder) if holder else "<none>", age(lease)]


def _service_cells(service: Object) -> list[str]:
    spec = service.get("spec") or {}
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
    return [service["metadata"]["name"], str(spec.get("type", "ClusterIP")),
            spec.get("clusterIP") or "<none>", services.external_ip_text(service),
            services.ports_text(service), age(service), selector or "<none>"]


def _listed(items: list[str], most: int = 3) -> str:
    """kubectl's short list: the first three, then ``+ N more...``; ``<none>`` when empty."""
    if not items:
        return "<none>"
    more = f" + {len(items) - most} more..." if len(items) > most else ""
    return ",".join(items[:most]) + more


def _endpoints_cells(endpoints: Object) -> list[str]:
    found = [f"{a['ip']}:{p['port']}" for subset in endpoints.get("subsets") or []
             for p in subset.get("ports") or [{}] if "port" in p
             for a in subset.get("addresses") or []]
    return [endpoints["metadata"]["name"], _listed(found), age(endpoints)]


def _slice_cells(piece: Object) -> list[str]:
    ports = [str(p.get("port")) for p in piece.get("ports") or [] if p.get("port")]
    found = [a for e in piece.get("endpoints") or [] for a in e.get("addresses") or []]
    return [piece["metadata"]["name"], str(piece.get("addressType", "")),
            ",".join(ports) or "<unset>", _listed(found), age(piece)]


def _ingress_cells(ingress: Object) -> list[str]:
    spec = ingress.get("spec") or {}
    hosts = [r["host"] for r in spec.get("rules") or [] if r.get("host")]
    balancer = (ingress.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
    ports = "80, 443" if spec.get("tls") else "80"
    return [ingress["metadata"]["name"], spec.get("ingressClassName") or "<none>",
            ",".join(hosts) or "*", ",".join(i.get("ip") or i.get("hostname", "")
                                            for i in balancer), ports, age(ingress)]


def _ingress_class_cells(ingress_class: Object) -> list[str]:
    spec = ingress_class.get("spec") or {}
    parameters = spec.get("parameters") or {}
    shown = f"{parameters.get('kind')}/{parameters.get('name')}" if parameters else "<none>"
    return [ingress_class["metadata"]["name"], spec.get("controller", ""), shown,
            age(ingress_class)]


def _network_policy_cells(policy: Object) -> list[str]:
    selector = (policy.get("spec") or {}).get("podSelector") or {}
    return [policy["metadata"]["name"], selector_text(selector) or "<none>", age(policy)]


def _priority_level_cells(level: Object) -> list[str]:
    """kube-apiserver's printer: the figures of a ``Limited`` level, its queuing's if it
    queues; ``<none>`` where there are none."""
    spec = level.get("spec") or {}
    limited = spec.get("limited") or {}
    queuing = (limited.get("limitResponse") or {}).get("queuing") or {}
    figures = [limited.get("nominalConcurrencyShares"), *(
        queuing.get(key) for key in ("queues", "handSize", "queueLengthLimit"))]
    return [level["metadata"]["name"], str(spec.get("type", "")),
            *("<none>" if figure is None else str(figure) for figure in figures), age(level)]


def _flow_schema_cells(schema: Object) -> list[str]:
    """kube-apiserver's printer: ``MissingPL`` is the ``Dangling`` condition's status, ``?``
    before anyone set it."""
    spec = schema.get("spec") or {}
    dangling = condition(schema, "Dangling") or {}
    return [schema["metadata"]["name"], str((spec.get("priorityLevelConfiguration") or {})
                                            .get("name", "")),
            str(spec.get("matchingPrecedence", "")),
            str((spec.get("distinguisherMethod") or {}).get("type") or "<none>"), age(schema),
            str(dangling.get("status", "?"))]


def _fault_plan_cells(plan: Object) -> list[str]:
    spec = plan.get("spec") or {}
    return [plan["metadata"]["name"], ",".join(spec.get("subjects") or []),
            *(str(spec.get(rate, 0)) for rate in ("drop", "duplicate", "reorder")),
            f"{spec.get('delaySeconds', 0)}s", str(spec.get("expires", "")), age(plan)]


def _columns(names: str, wide: str, cells: Callable[[Object], list[str]]) -> Columns:
    """Columns from their names (comma-separated; a ``Name`` column is the name's), the wide
    ones after the others."""
    return Columns(tuple(
        Column(name, priority, "name" if name == "Name" else "")
        for text, priority in ((names, 0), (wide, 1)) for name in text.split(",") if name),
        cells)


_WORKLOAD_WIDE = "Containers,Images,Selector"
DEFAULT = _columns("Name,Age", "", _default_cells)
"""The columns of a type without columns of its own."""
BY_RESOURCE: dict[str, Columns] = {
    "pods": _columns("Name,Ready,Status,Restarts,Age", "IP,Node,Nominated Node,Readiness Gates",
                     _pod_cells),
    "nodes": _columns("Name,Status,Roles,Age,Version",
                      "Internal-IP,External-IP,OS-Image,Kernel-Version,Container-Runtime",
                      _node_cells),
    "configmaps": _columns("Name,Data,Age", "", _configmap_cells),
    "secrets": _columns("Name,Type,Data,Age", "", _secret_cells),
    "serviceaccounts": _columns("Name,Secrets,Age", "", _service_account_cells),
    "events": Columns(tuple(
        Column(name, priority, "name" if name == "Name" else "")
        for name, priority in (("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0),
                               ("Subobject", 1), ("Source", 1), ("Message", 0),
                               ("First Seen", 1), ("Count", 1), ("Name", 1))), _event_cells),
    "resourcequotas": _columns("Name,Request,Limit,Age", "", _quota_cells),
    "namespaces": _columns("Name,Status,Age", "", _namespace_cells),
    "replicasets": _columns("Name,Desired,Current,Ready,Age", _WORKLOAD_WIDE, _replicaset_cells),
    replication.RESOURCE: _columns("Name,Desired,Current,Ready,Age", _WORKLOAD_WIDE,
                                   lambda rc: _replicaset_cells(replication.as_replicaset(rc))),
    "deployments": _columns("Name,Ready,Up-to-date,Available,Age", _WORKLOAD_WIDE,
                            _deployment_cells),
    "daemonsets": _columns("Name,Desired,Current,Ready,Up-to-date,Available,Node Selector,Age",
                           _WORKLOAD_WIDE, _daemonset_cells),
    "statefulsets": _columns("Name,Ready,Age", "Containers,Images", _statefulset_cells),
    "controllerrevisions": _columns("Name,Controller,Revision,Age", "", _revision_cells),
    "jobs": _columns("Name,Status,Completions,Duration,Age", _WORKLOAD_WIDE, _job_cells),
    "cronjobs": _columns("Name,Schedule,Timezone,Suspend,Active,Last Schedule,Age",
                         _WORKLOAD_WIDE, _cronjob_cells),
    certificates.RESOURCE: _columns("Name,Age,SignerName,Requestor,RequestedDuration,Condition",
                                    "", _csr_cells),
    "priorityclasses": _columns("Name,Value,Global-Default,Age,PreemptionPolicy", "",
                                _priority_class_cells),
    "flowschemas": _columns("Name,PriorityLevel,MatchingPrecedence,DistinguisherMethod,Age,"
                            "MissingPL", "", _flow_schema_cells),
    "prioritylevelconfigurations": _columns(
        "Name,Type,NominalConcurrencyShares,Queues,HandSize,QueueLengthLimit,Age", "",
        _priority_level_cells),
    "leases": _columns("Name,Holder,Age", "", _lease_cells),
    **dict.fromkeys(("roles", "clusterroles", "limitranges", "customresourcedefinitions"),
                    _columns("Name,Created At", "", _created_cells)),
    **dict.fromkeys(("rolebindings", "clusterrolebindings"),
                    _columns("Name,Role,Age", "Users,Groups,ServiceAccounts", _binding_cells)),
    "poddisruptionbudgets": _columns("Name,Min Available,Max Unavailable,Allowed Disruptions,Age",
                                     "", _budget_cells),
    "services": _columns("Name,Type,Cluster-IP,External-IP,Port(s),Age", "Selector",
                         _service_cells),
    "endpoints": _columns("Name,Endpoints,Age", "", _endpoints_cells),
    "endpointslices": _columns("Name,AddressType,Ports,Endpoints,Age", "", _slice_cells),
    "ingresses": _columns("Name,Class,Hosts,Address,Ports,Age", "", _ingress_cells),
    "ingressclasses": _columns("Name,Controller,Parameters,Age", "", _ingress_class_cells),
    "networkpolicies": _columns("Name,Pod-Selector,Age", "", _network_policy_cells),
    "faultplans": _columns("Name,Subjects,Drop,Duplicate,Reorder,Delay,Expires,Age", "",
                           _fault_plan_cells),
    autoscaling.RESOURCE: _columns("Name,Reference,Targets,MinPods,MaxPods,Replicas,Age", "",
                                   _autoscaler_cells),
    storage.VOLUMES: _columns("Name,Capacity,Access Modes,Reclaim Policy,Status,Claim,"
                              "StorageClass,VolumeAttributesClass,Reason,Age", "VolumeMode",
                              lambda pv: storage.volume_cells(pv, age(pv))),
    storage.CLAIMS: _columns("Name,Status,Volume,Capacity,Access Modes,StorageClass,"
                             "VolumeAttributesClass,Age", "VolumeMode",
                             lambda pvc: storage.claim_cells(pvc, age(pvc))),
    storage.CLASSES: _columns("Name,Provisioner,ReclaimPolicy,VolumeBindingMode,"
                              "AllowVolumeExpansion,Age", "",
                              lambda sc: storage.class_cells(sc, age(sc))),
}
"""The columns of each type by resource name (kinds, and so names, are unique across the groups
served)."""


def of(info: ResourceInfo) -> Columns:
    """The columns of ``info``'s objects: a custom resource's are its CRD's
    ``additionalPrinterColumns`` (when it has some)."""
    if isinstance(info, crds.CustomResource) and info.columns:
        return _custom(info.columns)
    return BY_RESOURCE.get(info.name, DEFAULT) if info.group != METRICS_GROUP else DEFAULT


def _custom(printed: tuple[crds.Column, ...]) -> Columns:
    """Name, then a CRD's ``additionalPrinterColumns`` (priority 0 always, the others with
    ``-o wide``); a ``date`` column shows an age."""
    ordered = sorted(printed, key=lambda c: c.priority != 0)

    def cell(column: crds.Column, obj: Object) -> str:
        found = jsonpath.find(jsonpath.parse_path(column.json_path), obj)
        if column.type == "date" and found and isinstance(found[0], str):
            return age({"metadata": {"creationTimestamp": found[0]}})
        return ",".join(jsonpath.text_of(value) for value in found) or "<none>"

    return Columns(
        (Column("Name", 0, "name"), *(Column(c.name, min(c.priority, 1)) for c in ordered)),
        lambda obj: [obj["metadata"]["name"], *(cell(c, obj) for c in ordered)])
