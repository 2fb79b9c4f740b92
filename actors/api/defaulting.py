"""Defaulting: the fields Kubernetes fills on a new object before validation, per resource
(:data:`DEFAULTERS`, looked up by plural name).

Pure functions that change an object in place; a spec too malformed to default is left for
validation to report.

Neighbours: ``actors.api.validation`` (runs after), ``actors.api.pods`` (containers, taints
tolerated), ``actors.api.priorityclasses`` (its defaults), ``actors.apiserver.registry`` and
``bindings.cli.manifests`` (callers).
"""

from __future__ import annotations

from typing import Any

from actors.api import (
    autoscaling,
    flowcontrol,
    jobs,
    priorityclasses,
    replication,
    secrets,
    services,
    storage,
)
from actors.api.objects import Object
from actors.api.pods import (
    DEFAULT_SCHEDULER,
    DEFAULT_TOLERATION_SECONDS,
    NOT_READY_TAINT,
    UNREACHABLE_TAINT,
    listed,
    mark_gated,
    pod_containers,
    toleration_matches,
)


def default_pod(pod: Object) -> None:
    """Fill the fields Kubernetes defaults on a new pod (in place), with the tolerations its
    DefaultTolerationSeconds admission plugin adds and a gated pod's ``PodScheduled``
    condition; leaves a malformed spec alone for validation to report."""
    spec = pod.setdefault("spec", {})
    if default_pod_spec(spec):
        for container in pod_containers(spec):
            default_requests(container)
        default_tolerations(spec)
        spec.setdefault("enableServiceLinks", True)
        pod.setdefault("status", {}).setdefault("phase", "Pending")
        mark_gated(pod)


def default_pod_spec(spec: Any) -> bool:
    """Defaults of a pod spec, also of the pod templates of workloads (SetDefaults_PodSpec and
    SetDefaults_Container); False when it is too malformed to default."""
    if not isinstance(spec, dict) or not isinstance(spec.get("containers", []), list):
        return False
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", DEFAULT_SCHEDULER)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    if account := spec.get("serviceAccountName") or spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"] = account
    for container in pod_containers(spec):
        default_container(container)
    for volume in listed(spec.get("volumes")):
        default_volume(volume)
    return True


def default_container(container: Object) -> None:
    """SetDefaults_Container and what kube-apiserver defaults inside one: ``resources`` (a
    struct, so always written), ports' protocol, probes' and hooks' handlers, env's
    ``fieldRef``."""
    container.setdefault("imagePullPolicy", default_pull_policy(container.get("image")))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in listed(container.get("ports")):
        port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(found := container.get(probe), dict):
            for field, value in PROBE_DEFAULTS.items():
                if not found.get(field):
                    found[field] = value
            _default_handler(found)
    lifecycle = container.get("lifecycle")
    for hook in ("postStart", "preStop"):
        if isinstance(lifecycle, dict) and isinstance(found := lifecycle.get(hook), dict):
            _default_handler(found)
    for env in listed(container.get("env")):
        source = env.get("valueFrom")
        _default_field_ref(source if isinstance(source, dict) else {})


PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                  "failureThreshold": 3}
"""SetDefaults_Probe: each field unset or 0 takes this."""
FILE_MODE = 420
"""0644, the ``defaultMode`` of secret, configMap, downwardAPI and projected volumes."""
VOLUME_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore",
                  "gitRepo", "secret", "nfs", "iscsi", "glusterfs", "persistentVolumeClaim",
                  "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc",
                  "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
                  "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
                  "storageos", "csi", "ephemeral", "image")
"""The sources a volume may name (v1.VolumeSource's fields)."""


def _default_handler(handler: Object) -> None:
    """SetDefaults_HTTPGetAction: path ``/``, scheme ``HTTP``."""
    if isinstance(get := handler.get("httpGet"), dict):
        get["path"] = get.get("path") or "/"
        get["scheme"] = get.get("scheme") or "HTTP"


def _default_field_ref(source: Object) -> None:
    """SetDefaults_ObjectFieldSelector: a ``fieldRef`` reads ``apiVersion`` v1."""
    if isinstance(ref := source.get("fieldRef"), dict) and not ref.get("apiVersion"):
        ref["apiVersion"] = "v1"


def default_volume(volume: Object) -> None:
    """SetDefaults_Volume and its sources': a volume naming no source is an ``emptyDir``;
    file modes 0644; a hostPath's ``type`` ""; a downward API item's ``fieldRef``; a token's
    hour."""
    if not any(source in volume for source in VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for kind in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(source := volume.get(kind), dict):
            source.setdefault("defaultMode", FILE_MODE)
    if isinstance(host := volume.get("hostPath"), dict):
        host.setdefault("type", "")
    projected = volume.get("projected")
    sources = listed(projected.get("sources")) if isinstance(projected, dict) else []
    for downward in [volume.get("downwardAPI"), *(s.get("downwardAPI") for s in sources)]:
        for item in listed(downward.get("items")) if isinstance(downward, dict) else []:
            _default_field_ref(item)
    for token in (s.get("serviceAccountToken") for s in sources):
        if isinstance(token, dict):
            token.setdefault("expirationSeconds", 3600)


def default_requests(container: Object) -> None:
    """A resource with a limit and no request is requested at its limit (Kubernetes'
    SetDefaults_Pod; not done for the pod templates of workloads, as in Kubernetes)."""
    resources = container.get("resources")
    limits = resources.get("limits") if isinstance(resources, dict) else None
    if not isinstance(resources, dict) or not isinstance(limits, dict) or not limits:
        return
    if resources.get("requests") is None:
        resources["requests"] = {}
    requests = resources["requests"]
    if isinstance(requests, dict):
        for resource, amount in limits.items():
            requests.setdefault(resource, amount)


def default_tolerations(spec: Object) -> None:
    """DefaultTolerationSeconds: a pod that does not tolerate the not-ready and unreachable
    NoExecute taints gets tolerations for them, for DEFAULT_TOLERATION_SECONDS."""
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = []
    if not isinstance(tolerations, list) or not all(isinstance(t, dict) for t in tolerations):
        return
    for key in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        taint = {"key": key, "effect": "NoExecute"}
        if not any(toleration_matches(t, taint) for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    spec["tolerations"] = tolerations


def default_pull_policy(image: Any) -> str:
    """``Always`` for ``:latest`` or untagged images, ``IfNotPresent`` otherwise."""
    if not isinstance(image, str) or "@" in image:
        return "IfNotPresent"
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def default_namespace(namespace: Object) -> None:
    """A namespace is Active and holds the ``kubernetes`` finalizer, which the namespace
    controller removes once everything in it is gone."""
    spec = namespace.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("finalizers", ["kubernetes"])
    status = namespace.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Active")


def default_replicaset(rs: Object) -> None:
    """Kubernetes' defaults of apps/v1 ReplicaSets (and the part Deployments share)."""
    spec = rs.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("minReadySeconds", 0)
    _default_template(spec)
    rs.setdefault("status", {})


def default_replication_controller(rc: Object) -> None:
    """Kubernetes' defaults of v1 ReplicationControllers: the selector and labels from the
    template's labels, then a ReplicaSet's."""
    replication.default_replication_controller(rc)
    default_replicaset(rc)


def default_deployment(deployment: Object) -> None:
    """Kubernetes' defaults of apps/v1 Deployments."""
    default_replicaset(deployment)
    spec = deployment["spec"]
    if not isinstance(spec, dict):
        return
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxSurge", "25%")
                rolling.setdefault("maxUnavailable", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def default_daemonset(daemonset: Object) -> None:
    """Kubernetes' defaults of apps/v1 DaemonSets: RollingUpdate, one unavailable, no surge."""
    _default_workload(daemonset, {"maxUnavailable": 1, "maxSurge": 0})


def default_statefulset(statefulset: Object) -> None:
    """Kubernetes' defaults of apps/v1 StatefulSets: one replica, OrderedReady, RollingUpdate
    from partition 0, claims retained."""
    spec = _default_workload(statefulset, {"partition": 0})
    if spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("persistentVolumeClaimRetentionPolicy",
                        {"whenDeleted": "Retain", "whenScaled": "Retain"})


def _default_workload(workload: Object, rolling: Object) -> Any:
    """What DaemonSets and StatefulSets share: the pod template's defaults, ``minReadySeconds``
    0, ``revisionHistoryLimit`` 10, and ``updateStrategy`` (a RollingUpdate's fields from
    ``rolling``). The spec, None when it is no map."""
    spec = workload.setdefault("spec", {})
    if not isinstance(spec, dict):
        return None
    spec.setdefault("minReadySeconds", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    template = spec.get("template")
    if isinstance(template, dict):
        default_pod_spec(template.get("spec"))
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        fields = strategy.setdefault("rollingUpdate", {}) if strategy[
            "type"] == "RollingUpdate" else None
        if isinstance(fields, dict):
            strategy["rollingUpdate"] = {**rolling, **fields}
    workload.setdefault("status", {})
    return spec
def default_job(job: Object) -> None:
    """Kubernetes' defaults of a batch/v1 Job (its generated selector too) and its template."""
    jobs.default_job(job)
    _default_template(job.get("spec"))


def default_cronjob(cronjob: Object) -> None:
    """Kubernetes' defaults of a batch/v1 CronJob and its job template's pod template."""
    jobs.default_cronjob(cronjob)
    spec = cronjob.get("spec")
    template = spec.get("jobTemplate") if isinstance(spec, dict) else None
    _default_template(template.get("spec") if isinstance(template, dict) else None)


def _default_template(spec: Any) -> None:
    """The defaults of the pod template in a workload's ``spec``."""
    template = spec.get("template") if isinstance(spec, dict) else None
    if isinstance(template, dict):
        default_pod_spec(template.get("spec"))


def default_limit_range(limit_range: Object) -> None:
    """Kubernetes' defaults of a LimitRange: each Container item's ``default`` and
    ``defaultRequest`` filled as :func:`limit_range_defaults` says."""
    spec = limit_range.get("spec")
    items = spec.get("limits") if isinstance(spec, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("type", "Container") == "Container":
            limits, requests = limit_range_defaults(item)
            if limits:
                item["default"] = limits
            if requests:
                item["defaultRequest"] = requests


def limit_range_defaults(item: Object) -> tuple[dict[str, Any], dict[str, Any]]:
    """(limits, requests) a LimitRange Container item gives containers that lack them, as
    Kubernetes defaults the item: a resource without a ``default`` limit takes its ``max``, one
    without a ``defaultRequest`` takes its default limit, else its ``min``."""
    def section(name: str) -> dict[str, Any]:
        amounts = item.get(name)
        return amounts if isinstance(amounts, dict) else {}

    limits = {**section("max"), **section("default")}
    return limits, {**section("min"), **limits, **section("defaultRequest")}


DEFAULTERS = {"pods": default_pod, "namespaces": default_namespace,
              "replicasets": default_replicaset, "deployments": default_deployment,
              replication.RESOURCE: default_replication_controller,
              "daemonsets": default_daemonset, "statefulsets": default_statefulset,
              "limitranges": default_limit_range,
              jobs.JOBS: default_job, jobs.CRONJOBS: default_cronjob,
              priorityclasses.RESOURCE: priorityclasses.default_priority_class,
              secrets.RESOURCE: secrets.decode_secret, "configmaps": secrets.decode_configmap,
              services.RESOURCE: services.default_service,
              autoscaling.RESOURCE: autoscaling.default_autoscaler,
              storage.VOLUMES: storage.default_volume, storage.CLAIMS: storage.default_claim,
              storage.CLASSES: storage.default_class, **flowcontrol.DEFAULTERS}
