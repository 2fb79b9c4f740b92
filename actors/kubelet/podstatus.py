"""A pod's status from what the runtime reports, as pure functions (no threads, no I/O).

The kubelet's pod sync (``actors.kubelet.podsync``) gathers, for each container of a pod, a
:class:`ContainerView`: the latest runtime container and the one before, why it waits when
it could not be started (ErrImagePull...), and what its probes say. :func:`pod_status` turns
the views into ``status`` as the kubelet does: ``phase`` (Kubernetes' ``getPhase``), the
conditions PodScheduled, Initialized, ContainersReady and Ready, ``initContainerStatuses``
and ``containerStatuses``. The restart decisions and the back-off live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.api.amounts import qos_class
from actors.api.meta import now_rfc3339
from actors.api.objects import Object
from actors.api.pods import is_sidecar
from actors.kubelet.runtime import ContainerInfo

TERMINAL_PHASES = ("Succeeded", "Failed")
"""A pod in one of these phases never runs again (Kubernetes)."""


@dataclass(frozen=True, slots=True)
class ContainerView:
    """What the kubelet knows of one container of a pod."""

    spec: Object
    latest: ContainerInfo | None = None
    """The latest runtime container (attempt) of this name, if any."""
    previous: ContainerInfo | None = None
    """The attempt before the latest (its ``lastState``)."""
    waiting: tuple[str, str] | None = None
    """(reason, message) when the container waits for a reason of the kubelet's own:
    ErrImagePull, ImagePullBackOff, CreateContainerConfigError, CrashLoopBackOff,
    PodInitializing."""
    ready: bool | None = None
    """The readiness probe's verdict; None: no readiness probe (running means ready)."""
    started: bool | None = None
    """The startup probe's verdict; None: no startup probe (running means started)."""


# -- restarts ------------------------------------------------------------------------------------


def sidecar_started(view: ContainerView) -> bool:
    """Whether a sidecar has started (running, its startup probe passed if it has one) at
    least once: from then on it holds back neither the containers after it nor the pod's
    initialization, even while it restarts (the kubelet's restartable init containers)."""
    latest = view.latest
    if latest is None:
        return False
    return latest.attempt > 0 or (latest.started_at is not None and view.started is not False)


def should_restart(policy: str, exit_code: int | None, init: bool = False) -> bool:
    """Whether a container that exited with ``exit_code`` runs again. Init containers run
    until they succeed unless the policy is Never (Kubernetes treats Always as OnFailure)."""
    if init:
        return policy != "Never" and exit_code != 0
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def backoff_seconds(attempt: int, base: float, ceiling: float) -> float:
    """Delay before restart number ``attempt + 1`` since the back-off was last reset, as the
    kubelet does it: the first restart at once, then base, 2*base, 4*base... up to ceiling."""
    if attempt <= 0:
        return 0.0
    return float(min(base * 2 ** min(attempt - 1, 32), ceiling))


def crash_count(previous: int, ran_seconds: float, reset_seconds: float) -> int:
    """Deaths counted for the back-off after one more: a container that ran ``reset_seconds``
    (10 minutes) cleanly starts the count again."""
    return 1 if ran_seconds >= reset_seconds else previous + 1


# -- container statuses --------------------------------------------------------------------------


def terminated(info: ContainerInfo) -> Object:
    """A ``terminated`` state: reason OOMKilled (Docker's State.OOMKilled), Completed or Error."""
    reason = "OOMKilled" if info.oom_killed else ("Completed" if info.exit_code == 0 else "Error")
    return {"exitCode": info.exit_code, "reason": reason, "startedAt": info.started_at,
            "finishedAt": info.finished_at, "containerID": container_id(info)}


def container_id(info: ContainerInfo) -> str:
    return f"{info.runtime}://{info.id}"


def container_status(view: ContainerView) -> Object:
    """One entry of ``containerStatuses`` (or ``initContainerStatuses``)."""
    spec, latest = view.spec, view.latest
    status: Object = {"name": spec["name"], "image": spec["image"], "imageID": "",
                      "ready": False, "restartCount": latest.attempt if latest else 0,
                      "started": False}
    last = latest if latest is not None and latest.state == "exited" else view.previous
    if latest is not None:
        status.update(containerID=container_id(latest), imageID=latest.image_id)
    if latest is not None and latest.state == "running":
        status["state"] = {"running": {"startedAt": latest.started_at}}
        status["started"] = view.started is not False
        status["ready"] = status["started"] and view.ready is not False
        last = view.previous
    elif latest is not None and latest.state == "exited" and view.waiting is None:
        status["state"] = {"terminated": terminated(latest)}
        last = view.previous
    else:
        reason, message = view.waiting or ("ContainerCreating", "")
        status["state"] = {"waiting": {"reason": reason, **({"message": message}
                                                            if message else {})}}
    if last is not None and last.state == "exited":
        status["lastState"] = {"terminated": terminated(last)}
    return status


# -- the pod -------------------------------------------------------------------------------------


def pod_phase(policy: str, inits: list[Object], statuses: list[Object],
              sidecars_running: bool = False) -> str:
    """Kubernetes' ``getPhase``: init containers first, then the app containers' states; a
    sidecar running counts as a running container (the pod ends once it is stopped)."""
    for init in inits:
        done = init["state"].get("terminated", {})
        if done.get("exitCode") == 0:
            continue
        if done and policy == "Never":
            return "Failed"
        return "Pending"
    running, waiting, stopped, succeeded = int(sidecars_running), 0, 0, 0
    for status in statuses:
        state = status["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode") == 0
        elif "lastState" in status:  # waiting to restart
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    return "Failed" if policy == "Never" else "Running"


def pod_status(pod: Object, inits: list[ContainerView], apps: list[ContainerView],
               host_ip: str, start_time: str, pod_ip: str | None = None) -> Object:
    """The pod's ``status`` from the views of its init and app containers; ``pod_ip`` its
    address (none while its node has no pod range). A sidecar that started counts as
    initialized (:func:`sidecar_started`), and its readiness as a container's."""
    policy = pod["spec"].get("restartPolicy", "Always")
    init_statuses = [container_status(view) for view in inits]
    for init, view in zip(init_statuses, inits, strict=True):
        if not is_sidecar(view.spec):  # the prober manager's: ready once it has succeeded
            init["ready"] = init["state"].get("terminated", {}).get("exitCode") == 0
    statuses = [container_status(view) for view in apps]
    sidecars = [s for s, view in zip(init_statuses, inits, strict=True) if is_sidecar(view.spec)]
    blocking = [s for s, view in zip(init_statuses, inits, strict=True)
                if not (is_sidecar(view.spec) and sidecar_started(view))]
    phase = pod_phase(policy, blocking, statuses, any("running" in s["state"] for s in sidecars))
    old = {c["type"]: c for c in pod.get("status", {}).get("conditions") or []}

    def cond(kind: str, value: bool, reason: str = "", message: str = "") -> Object:
        word = "True" if value else "False"
        previous = old.get(kind, {})
        since = previous.get("lastTransitionTime") if previous.get("status") == word else None
        entry = {"type": kind, "status": word, "lastTransitionTime": since or now_rfc3339()}
        return entry if value else {**entry, "reason": reason, "message": message}

    incomplete = [s["name"] for s in blocking
                  if s["state"].get("terminated", {}).get("exitCode") != 0]
    unready = [s["name"] for s in [*sidecars, *statuses] if not s["ready"]]
    why = ("PodCompleted", "") if phase in TERMINAL_PHASES else (
        "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
    status: Object = {
        "phase": phase, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "startTime": start_time,
        "conditions": [
            cond("PodScheduled", True),
            cond("Initialized", not incomplete, "ContainersNotInitialized",
                 f"containers with incomplete status: [{' '.join(incomplete)}]"),
            cond("ContainersReady", not unready, *why),
            cond("Ready", not unready, *why),
        ],
        "containerStatuses": statuses, "qosClass": qos_class(pod),
    }
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    if pod_ip:
        status["podIP"], status["podIPs"] = pod_ip, [{"ip": pod_ip}]
    return status


KUBELET_CONDITIONS = ("PodScheduled", "Initialized", "ContainersReady", "Ready")
"""The conditions :func:`pod_status` writes (Kubernetes' ``PodConditionsByKubelet``); the
others (DisruptionTarget, a readiness gate's) are another writer's."""
KUBELET_FIELDS = ("phase", "hostIP", "hostIPs", "startTime", "conditions", "containerStatuses",
                  "initContainerStatuses", "podIP", "podIPs")
"""The fields of ``status`` :func:`pod_status` writes."""


def comparable(status: Object) -> Object:
    """A status without the timestamps that change on every computation, its conditions in
    one order."""
    return {**status, "conditions": sorted((c["type"], c["status"])
                                           for c in status.get("conditions") or [])}


def owned(status: Object) -> Object:
    """The part of a pod's ``status`` the kubelet writes (:data:`KUBELET_FIELDS`, of its
    conditions only :data:`KUBELET_CONDITIONS`)."""
    return {**{k: v for k, v in status.items() if k in KUBELET_FIELDS},
            "conditions": [c for c in status.get("conditions") or []
                           if c.get("type") in KUBELET_CONDITIONS]}


def needs_reconcile(stored: Object, reported: Object) -> bool:
    """Whether the API's status of a pod (``stored``) says something else than the kubelet
    last reported, in what the kubelet writes, compared as :func:`comparable` compares
    (Kubernetes' status manager's ``needsReconcile``): another writer changed it, or an
    older write of the kubelet's landed after a newer one."""
    return comparable(owned(stored)) != comparable(owned(reported))


def merged(stored: Object, status: Object) -> Object:
    """``status`` to write over ``stored`` (the API's): with the conditions of other writers
    kept from it (Kubernetes' ``mergePodStatus``)."""
    others = [c for c in stored.get("conditions") or [] if c.get("type") not in
              KUBELET_CONDITIONS]
    return {**status, "conditions": [*others, *status["conditions"]]} if others else status
