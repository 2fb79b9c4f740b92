"""One pod's sync: make its containers what the spec asks, probe them, report its status.

:meth:`PodSync.sync` runs on a pod worker (``actors.kubelet.podworkers``), never two at once for one
pod, and is level-based: it reads the pod's latest object and the runtime's containers and acts
on the difference, so running it again is always safe. In order:

1. a pod gone from the API loses its containers; a pod being deleted is stopped with its
   ``deletionGracePeriodSeconds`` (SIGTERM, then SIGKILL), removed, and the deletion confirmed;
2. init containers run one after the other, each to success, before any app container; a
   sidecar (``restartPolicy: Always``) lets the next one start once it runs, and keeps
   running (restarted whatever the pod's policy) beside the app containers, until they all
   ended for good: then the sidecars are stopped, the last one first, and the pod ends;
3. app containers are started (image pulled by ``imagePullPolicy``, with ErrImagePull then
   ImagePullBackOff between pulls; env resolved from ConfigMaps, Secrets (watched, not read
   at each start: ``actors.kubelet.objectcache``) and the downward API,
   CreateContainerConfigError when one is missing; the files of the volumes it mounts
   written, ContainerCreating and FailedMount when they cannot be), replaced when an update
   changed their image, restarted per ``restartPolicy`` with the crash-loop back-off;
4. due probes run (liveness failures restart the container, readiness drives ``ready``);
   the volumes holding a service account token are written again once it is due for refresh
   (``actors.kubelet.tokens``: at 80% of its life);
5. the status (``actors.kubelet.podstatus``) is handed to the status manager
   (``actors.kubelet.statusmanager``) when it changed, which sends it through ``pods/status``
   without the worker waiting, never over what it did not read.

Waits (back-offs, probe periods) become one timer per pod (``actors.kubelet.timers``) that submits
the pod's sync again. Events (Pulling, Pulled, Failed, BackOff, Created, Started, Killing,
Unhealthy) go through ``actors.client.events``, in their order but not always at once: the
events of a container's start are held while the runtime creates it (Pulled of a present image:
the TokenRequest meets no Event at the apiserver), then told with Created between its create and
its start (the kubelet's order), and those from its start on (Started first) once the sync has
handed its status over, so that the status write does not meet them either.

A container's start (:meth:`PodSync._start`): its image made present, its env resolved, then
the runtime creates it while this worker writes the files of its volumes (a token volume's
TokenRequest among them), which are needed only before the start.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import UTC, datetime

from actors.api.meta import parse_time, trace_id_of
from actors.api.objects import Object
from actors.client.client import Client
from actors.client.events import EventRecorder
from actors.kubelet import probing
from actors.kubelet.objectcache import ObjectCache
from actors.kubelet.podaddresses import PodAddresses
from actors.kubelet.podrecord import PodRecord, Probe, SyncConfig
from actors.kubelet.podstatus import (
    TERMINAL_PHASES,
    ContainerView,
    backoff_seconds,
    comparable,
    crash_count,
    is_sidecar,
    pod_status,
    should_restart,
    sidecar_started,
)
from actors.kubelet.podvalues import Sources, environment
from actors.kubelet.probing import KINDS, first_due, initial, period, run_probe
from actors.kubelet.runtime import ContainerInfo, Runtime, RuntimeFailure
from actors.kubelet.statusmanager import StatusManager
from actors.kubelet.statuswriter import StatusWriter
from actors.kubelet.timers import Timers
from actors.kubelet.tokens import TokenManager
from actors.kubelet.volumes import claimed, file_volume, has_token, payload
from bus.errors import ApiError, Conflict, NotFound

log = logging.getLogger(__name__)


class PodSync:
    """The sync of every pod of one node (state lives in the :class:`PodRecord`)."""

    def __init__(self, client: Client, runtime: Runtime, *, config: SyncConfig, timers: Timers,
                 resubmit: Callable[[str], None], forget: Callable[[str], None],
                 recorder: EventRecorder | None, statuses: StatusWriter,
                 addresses: PodAddresses, objects: ObjectCache | None = None) -> None:
        self.client, self.runtime, self.config = client, runtime, config
        self.addresses = addresses
        self.timers, self.resubmit, self.forget = timers, resubmit, forget
        self.recorder, self.statuses = recorder, statuses
        self.status_manager = StatusManager(client, statuses, timers, config, resubmit)
        self.tokens = TokenManager(client)
        """The service account tokens of the pods' projected volumes."""
        self.objects = objects or ObjectCache()
        """The ConfigMaps and Secrets the pods read, watched (shared by a kubelet's nodes)."""
        self._probe_execs = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe-exec")
        """Exec probes run here so that their timeout can be kept (threads made on demand)."""
        self.on_span: Callable[[Object, str, Object], None] = lambda *_: None
        """Told (pod, verb, body) after each container start and pod removal (the kubelet
        publishes trace spans)."""

    # -- entry -----------------------------------------------------------------------------

    def sync(self, record: PodRecord) -> None:
        """See the module docstring. Runtime and API failures are logged and the pod looked
        at again after the back-off base; anything else is a surprise (:meth:`_surprised`)."""
        if record.done:
            return
        wakes: list[float] = []
        try:
            if record.gone:
                self._remove(record)
            elif record.pod["metadata"].get("deletionTimestamp"):
                self._terminate(record)
            elif (record.reported or record.pod.get("status", {})).get(
                    "phase") not in TERMINAL_PHASES:
                self._converge(record, wakes)
        except (RuntimeFailure, ApiError) as failure:
            log.warning("%s: pod %s: %s; retrying", self.config.node_name, record.name, failure)
            wakes.append(time.monotonic() + self.config.backoff_base)
        except Exception as surprise:  # a pod no check foresaw, or a bug: not retried
            self._surprised(record, surprise)
        finally:
            self._release(record)
        if not record.done and wakes:
            self._wake(record, min(wakes))

    def _surprised(self, record: PodRecord, surprise: Exception) -> None:
        """An unexpected failure of the pod's sync: logged with its traceback and told as a
        ``Failed`` Warning event on the pod, once per message; the pod's next change syncs it
        again."""
        message = f"Error: {type(surprise).__name__}: {surprise}"
        if record.surprise == message:
            return
        record.surprise = message
        log.error("%s: pod %s: sync failed", self.config.node_name, record.name,
                  exc_info=surprise)
        self._event(record, "Warning", "Failed", message)

    def _wake(self, record: PodRecord, at: float) -> None:
        """Sync the pod again at ``at`` (monotonic), unless an earlier wake is pending."""
        now = time.monotonic()
        if record.timer is not None and not record.timer.cancelled and now < record.wake_at <= at:
            return
        if record.timer is not None:
            record.timer.cancel()
        record.wake_at = at
        record.timer = self.timers.call_later(at - now, lambda: self.resubmit(record.uid))

    def _event(self, record: PodRecord, kind: str, reason: str, message: str) -> None:
        if record.held is not None:
            record.held.append((kind, reason, message))
        elif self.recorder is not None:
            self.recorder.record(record.pod, kind, reason, message)

    def _release(self, record: PodRecord) -> None:
        """Record the events held since a container started (in their order): the status
        write went first, so it does not meet them at the apiserver."""
        held, record.held = record.held, None
        for kind, reason, message in held or ():
            self._event(record, kind, reason, message)

    # -- removal -----------------------------------------------------------------------------

    def _remove(self, record: PodRecord) -> None:
        """The pod is gone from the API: remove whatever of it runs, forget it."""
        self.runtime.remove_pod(record.uid)
        self._forget(record)

    def _terminate(self, record: PodRecord) -> None:
        """Stop (SIGTERM, grace, SIGKILL) and remove a deleted pod's containers, then confirm
        the deletion with a grace-0 delete."""
        metadata = record.pod["metadata"]
        grace = int(metadata.get("deletionGracePeriodSeconds") or 0)
        for info in self.runtime.list_containers(record.uid):
            if info.state == "running":
                self._event(record, "Normal", "Killing", f"Stopping container {info.name}")
        self.runtime.stop_pod(record.uid, grace)
        self.runtime.remove_pod(record.uid)
        self.on_span(record.pod, "remove", {"gracePeriodSeconds": grace})
        with contextlib.suppress(NotFound, Conflict):  # gone, or made again under its name
            self.client.delete("pods", metadata["name"], metadata["namespace"], grace_period=0,
                               preconditions={"uid": record.uid},
                               trace_id=trace_id_of(record.pod))
        self._forget(record)

    def _forget(self, record: PodRecord) -> None:
        record.done = True
        self.tokens.forget(record.uid)
        self.objects.release(record.uid)
        self.statuses.drop(record.uid)
        if record.timer is not None:
            record.timer.cancel()
        if self.recorder is not None:
            self.recorder.forget(record.uid)
        self.addresses.release(record.uid)
        self.forget(record.uid)

    # -- convergence -------------------------------------------------------------------------

    def _converge(self, record: PodRecord, wakes: list[float]) -> None:
        spec = record.pod["spec"]
        latest, previous = self._attempts(record.uid)
        if _sidecars_outlive_apps(spec, latest):
            return self._end_sidecars(record, latest)
        inits: list[ContainerView] = []
        for container in spec.get("initContainers") or []:
            if inits and not _initialized(inits[-1]):  # one at a time, in order
                inits.append(ContainerView(container, latest.get(container["name"]),
                                           waiting=("PodInitializing", "")))
            else:
                inits.append(self._view(record, container, latest, previous, wakes, init=True))
        apps_started = any(c["name"] in latest for c in spec["containers"])
        if not apps_started and not all(_initialized(view) for view in inits):
            self._report(record, inits, [ContainerView(
                c, latest.get(c["name"]), previous.get(c["name"]),
                waiting=("PodInitializing", "")) for c in spec["containers"]])
            return
        apps = [self._view(record, c, latest, previous, wakes) for c in spec["containers"]]
        self._refresh_tokens(record, wakes)
        self._refresh_metadata(record, latest)
        self._report(record, inits, apps)

    def _end_sidecars(self, record: PodRecord, latest: dict[str, ContainerInfo]) -> None:
        """The kubelet's KillPod once the app containers ended for good: running sidecars are
        stopped, the last first, none restarted; the pod ends as its app containers did."""
        spec = record.pod["spec"]
        for container in reversed(spec["initContainers"]):
            if is_sidecar(container) and (info := latest.get(container["name"])) is not None \
                    and info.state == "running":
                self._kill(record, info, f"Stopping container {container['name']}")
        latest, previous = self._attempts(record.uid)
        self._report(record, *([ContainerView(c, latest.get(c["name"]), previous.get(c["name"]))
                                for c in spec[kind]] for kind in ("initContainers", "containers")))

    def _attempts(self, uid: str) -> tuple[dict[str, ContainerInfo], dict[str, ContainerInfo]]:
        """The latest attempt of each container name, and the one before."""
        latest: dict[str, ContainerInfo] = {}
        previous: dict[str, ContainerInfo] = {}
        for info in sorted(self.runtime.list_containers(uid), key=lambda i: i.attempt):
            if info.name in latest:
                previous[info.name] = latest[info.name]
            latest[info.name] = info
        return latest, previous

    def _view(self, record: PodRecord, spec: Object, latest: dict[str, ContainerInfo],
              previous: dict[str, ContainerInfo], wakes: list[float],
              init: bool = False) -> ContainerView:
        """Act on one container (start, replace, restart or probe it) and say how it is.
        For init containers, the first one not yet succeeded stops the walk: the rest wait."""
        name = spec["name"]
        info, before = latest.get(name), previous.get(name)
        policy = record.pod["spec"].get("restartPolicy", "Always")
        changed = info is not None and info.image != spec["image"] and not init
        if info is not None and changed and info.state != "exited":
            self._kill(record, info, f"Container {name} definition changed, will be restarted")
            info = self._refresh(record.uid, info)
        if info is None or changed:  # new, or replaced whatever the restart policy says
            started = self._start(record, spec, info.attempt + 1 if info else 0, wakes)
            if started is None:
                return ContainerView(spec, info, before, waiting=record.failures.get(name))
            return self._described(record, spec, started, info, wakes)
        sidecar = init and is_sidecar(spec)
        if info.state == "exited" and (sidecar or should_restart(policy, info.exit_code, init)):
            delay, backoff = self._restart_delay(record, info)
            if delay > 0:
                wakes.append(time.monotonic() + delay)
                if info.id not in record.announced:
                    record.announced.add(info.id)
                    self._event(record, "Warning", "BackOff",
                                f"Back-off restarting failed container {name} in pod "
                                f"{record.pod['metadata']['name']}_"
                                f"{record.pod['metadata']['namespace']}({record.uid})")
                waiting = record.failures.get(name) or (
                    "CrashLoopBackOff", f"back-off {delay_text(backoff)} restarting failed "
                    f"container={name} pod={record.pod['metadata']['name']}_"
                    f"{record.pod['metadata']['namespace']}({record.uid})")
                return ContainerView(spec, info, before, waiting=waiting)
            started = self._start(record, spec, info.attempt + 1, wakes)
            if started is None:
                return ContainerView(spec, info, before, waiting=record.failures.get(name))
            return self._described(record, spec, started, info, wakes)
        return self._described(record, spec, info, before, wakes)

    def _described(self, record: PodRecord, spec: Object, info: ContainerInfo,
                   before: ContainerInfo | None, wakes: list[float]) -> ContainerView:
        """The view of a started container: probes run when it is running."""
        name = spec["name"]
        if info.state != "running":
            return ContainerView(spec, info, before)
        verdicts, failed = self._probe(record, spec, info, wakes)
        if failed:
            self._kill(record, info, f"Container {name} failed {failed} probe, will be "
                       "restarted")
            self.resubmit(record.uid)  # restart it through the ordinary path
            return ContainerView(spec, self._refresh(record.uid, info), before)
        return ContainerView(spec, info, before, ready=verdicts.get("readinessProbe"),
                             started=verdicts.get("startupProbe"))

    def _refresh(self, uid: str, info: ContainerInfo) -> ContainerInfo:
        for fresh in self.runtime.list_containers(uid):
            if fresh.id == info.id:
                return fresh
        return info

    def _kill(self, record: PodRecord, info: ContainerInfo, message: str) -> None:
        self._event(record, "Normal", "Killing", message)
        grace = int(record.pod["spec"].get("terminationGracePeriodSeconds", 30))
        self.runtime.stop_container(info.id, grace)

    def _restart_delay(self, record: PodRecord, info: ContainerInfo) -> tuple[float, float]:
        """Seconds left before a dead container may run again (0: now), and its back-off."""
        counted, deaths = record.crashes.get(info.name, ("", 0))
        if counted != info.id:
            ran = _seconds_between(info.started_at, info.finished_at)
            deaths = crash_count(deaths, ran, self.config.backoff_reset)
            record.crashes[info.name] = (info.id, deaths)
        wait = backoff_seconds(deaths - 1, self.config.backoff_base, self.config.backoff_max)
        finished = parse_time(info.finished_at).timestamp() if info.finished_at else 0.0
        left = finished + wait - datetime.now(UTC).timestamp() if wait else 0.0
        return left, wait

    # -- starting ----------------------------------------------------------------------------

    def _start(self, record: PodRecord, spec: Object, attempt: int,
               wakes: list[float]) -> ContainerInfo | None:
        """Pull, resolve, create and start one attempt; None (and the reason remembered in
        ``record.failures``) when it could not."""
        name = spec["name"]
        if record.held is None:  # the image's events wait for the create: the TokenRequest
            record.held = []     # meets no Event at the apiserver
        try:
            self._pull(record, spec, wakes)
            pod = claimed(record.pod, self.client.get)
            resolved, write_volumes = self._resolved(record, spec)
            info = self.runtime.start_container(pod, resolved, attempt, prepare=write_volumes,
                                                created=lambda: self._created(record, name))
        except RuntimeFailure as failure:
            record.failures[name] = (failure.reason, failure.message)
            if failure.reason == "ContainerCreating":  # a volume could not be set up
                self._event(record, "Warning", "FailedMount", failure.message)
                wakes.append(time.monotonic() + self.config.backoff_base)
            elif failure.reason not in ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull"):
                self._event(record, "Warning", "Failed", f"Error: {failure.message}")
                wakes.append(time.monotonic() + self.config.backoff_base)
            return None
        record.failures.pop(name, None)
        self._event(record, "Normal", "Started", f"Started container {name}")
        for old in self.runtime.list_containers(record.uid) if attempt >= 2 else ():
            if old.name == name and old.attempt < attempt - 1:
                self.runtime.remove_container(old.id)  # keep the latest and the one before
        self.on_span(record.pod, "start", {"container": name, "containerID": info.id,
                                           "image": info.image, "attempt": info.attempt})
        return info

    def _created(self, record: PodRecord, name: str) -> None:
        """The container is created, not started yet: the events held so far go now, while
        the runtime starts it, then Created; the next ones (Started first) are held until
        the sync has handed the pod's status over."""
        self._release(record)
        self._event(record, "Normal", "Created", f"Created container {name}")
        record.held = []

    def _pull(self, record: PodRecord, spec: Object, wakes: list[float]) -> None:
        """Make the image present per ``imagePullPolicy``, with the image pull back-off."""
        image, name = spec["image"], spec["name"]
        policy = spec.get("imagePullPolicy") or "IfNotPresent"
        present = self.runtime.image_present(image)
        if policy == "Never" or (policy == "IfNotPresent" and present):
            if not present:
                message = (f'Container image "{image}" is not present with pull policy of '
                           "Never")
                self._event(record, "Warning", "ErrImageNeverPull", message)
                raise RuntimeFailure("ErrImageNeverPull", message)
            self._event(record, "Normal", "Pulled",
                        f'Container image "{image}" already present on machine')
            return
        failed, next_try = record.pulls.get(name, (0, 0.0))
        now = time.monotonic()
        if now < next_try:
            wakes.append(next_try)
            self._event(record, "Normal", "BackOff", f'Back-off pulling image "{image}"')
            raise RuntimeFailure("ImagePullBackOff", f'Back-off pulling image "{image}"')
        self._release(record)  # a pull takes a while: its events are told as they come
        self._event(record, "Normal", "Pulling", f'Pulling image "{image}"')
        if record.reported is None:  # a pull takes a while: say ContainerCreating first
            inits = record.pod["spec"].get("initContainers") or []
            waiting = ("PodInitializing", "") if inits else None
            self._report(record, [ContainerView(c) for c in inits], [
                ContainerView(c, waiting=waiting) for c in record.pod["spec"]["containers"]])
        try:
            self.runtime.pull_image(image)
        except RuntimeFailure as failure:
            failed += 1
            wait = min(self.config.backoff_base * 2 ** (failed - 1), self.config.backoff_max)
            record.pulls[name] = (failed, time.monotonic() + wait)
            wakes.append(time.monotonic() + wait / 2)  # shows ImagePullBackOff meanwhile
            message = f'Failed to pull image "{image}": {failure.message}'
            self._event(record, "Warning", "Failed", message)
            raise RuntimeFailure("ErrImagePull", message) from failure
        record.pulls.pop(name, None)
        self._event(record, "Normal", "Pulled", f'Successfully pulled image "{image}" in '
                    f"{time.monotonic() - now:.3f}s")

    def _resolved(self, record: PodRecord, spec: Object) -> tuple[Object, Callable[[], None]]:
        """The container as the runtime creates it (env resolved from ConfigMaps, Secrets and
        the downward API), and what writes the files of the volumes it mounts (again at each
        start: a restart sees their latest content; a token volume's TokenRequest among them),
        which the runtime runs while it creates the container: the files are needed only
        before its start. A volume that cannot be set up is told before a missing env source,
        as the kubelet mounts the volumes before it makes the container's config."""
        pod = self._downward_view(record.pod)
        sources = self._sources(pod)
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        mounted = [volumes[m["name"]] for m in spec.get("volumeMounts") or []
                   if m["name"] in volumes]

        def write_volumes() -> None:
            self._write_volumes(pod, mounted, sources)

        try:
            env = environment(pod, spec, sources, self.config.allocatable)
        except (RuntimeFailure, ApiError):
            write_volumes()  # a volume's failure first, as before the config
            raise
        resolved = {**spec, "env": env}
        resolved.pop("envFrom", None)
        return resolved, write_volumes

    def _sources(self, pod: Object) -> Sources:
        uid, namespace = pod["metadata"]["uid"], pod["metadata"]["namespace"]
        return Sources(lambda resource, name, _: self.objects.get(
                           uid, self.client, resource, name, namespace),
                       namespace, lambda source: self.tokens.token(pod, source))

    def _write_volumes(self, pod: Object, volumes: list[Object], sources: Sources) -> None:
        for volume in volumes:
            if file_volume(volume):
                self.runtime.write_volume(pod, volume["name"], payload(
                    pod, volume, sources, self.config.allocatable))

    def _refresh_tokens(self, record: PodRecord, wakes: list[float]) -> None:
        """Write the token volumes again once a token they hold is due (80% of its life),
        and wake when the next one is."""
        due = self.tokens.due(record.uid)
        if due is None:
            return
        if time.time() >= due:
            pod = self._downward_view(record.pod)
            self._write_volumes(pod, [v for v in pod["spec"].get("volumes") or []
                                      if has_token(v)], self._sources(pod))
            due = self.tokens.due(record.uid)
            assert due is not None
        wakes.append(time.monotonic() + max(0.0, due - time.time()))

    def _refresh_metadata(self, record: PodRecord, latest: dict[str, ContainerInfo]) -> None:
        """Write the running pod's file volumes again once its labels or annotations, or a
        ConfigMap or Secret it read, changed (as after the kubelet's remount)."""
        meta = record.pod["metadata"]
        now = (meta.get("labels") or {}, meta.get("annotations") or {})
        if record.meta is not None and (record.meta != now or record.remount) and any(
                info.state == "running" for info in latest.values()):
            pod = self._downward_view(record.pod)
            self._write_volumes(pod, pod["spec"].get("volumes") or [], self._sources(pod))
        record.meta, record.remount = now, False

    def _downward_view(self, pod: Object) -> Object:
        """``pod`` with the addresses the kubelet knows before its status says them."""
        status = dict(pod.get("status") or {})
        status.setdefault("hostIP", self.config.address)
        if pod["spec"].get("hostNetwork"):
            status.setdefault("podIP", self.config.address)
        return {**pod, "status": status}

    # -- probes ------------------------------------------------------------------------------

    def _probe(self, record: PodRecord, spec: Object, info: ContainerInfo,
               wakes: list[float]) -> tuple[dict[str, bool], str]:
        """Run the container's due probes: each probe kind's verdict, and ``liveness`` or
        ``startup`` when that probe failed for good (the container must be restarted).
        Liveness and readiness wait for the startup probe to succeed, as in Kubernetes."""
        verdicts: dict[str, bool] = {}
        failed = ""
        started_at = _monotonic_of(info.started_at)
        for kind in KINDS:
            probe_spec = spec.get(kind)
            if not probe_spec:
                continue
            key = (spec["name"], kind)
            probe = record.probes.get(key)
            if probe is None or probe.container_id != info.id:
                probe = record.probes[key] = Probe(info.id, initial(kind),
                                                   first_due(probe_spec, started_at))
            if (kind == "startupProbe" and probe.state.result) or (
                    kind != "startupProbe" and verdicts.get("startupProbe") is False):
                verdicts[kind] = probe.state.result
                continue
            if time.monotonic() >= probe.due:
                ok, why = run_probe(probe_spec, spec, lambda command, seconds: self._exec(
                    record.uid, spec["name"], command, seconds))
                probe.state = probing.record(probe.state, ok, probe_spec)
                probe.due = time.monotonic() + period(probe_spec)
                if not ok:
                    label = {"startupProbe": "Startup", "livenessProbe": "Liveness",
                             "readinessProbe": "Readiness"}[kind]
                    self._event(record, "Warning", "Unhealthy", f"{label} probe failed: {why}")
            wakes.append(probe.due)
            verdicts[kind] = probe.state.result
            if probing.failed_for_good(kind, probe.state, probe_spec):
                failed = failed or kind.removesuffix("Probe")
        return verdicts, failed

    def _exec(self, uid: str, container: str, command: list[str],
              seconds: float) -> tuple[int, str]:
        """An exec probe's command, given up after ``timeoutSeconds`` (the command may run on
        in the container; the probe has failed)."""
        running = self._probe_execs.submit(self.runtime.exec, uid, container, command)
        try:
            result = running.result(timeout=seconds)
        except FuturesTimeout:
            return -1, f"command timed out after {seconds:g}s"
        except RuntimeFailure as failure:
            return -1, failure.message
        return result.exit_code, result.stdout + result.stderr

    def close(self) -> None:
        self._probe_execs.shutdown(wait=False, cancel_futures=True)

    # -- status ------------------------------------------------------------------------------

    def _report(self, record: PodRecord, inits: list[ContainerView],
                apps: list[ContainerView]) -> None:
        """Hand the pod's status to the status writer when it changed. ``reported`` is what
        was last handed over; a write that fails (but for NotFound: the pod is gone) clears it
        and syncs the pod again after the back-off base, which writes it again."""
        pod = record.pod
        status = pod_status(pod, inits, apps, self.config.address, record.start_time,
                            self.addresses.address(pod))
        if record.reported is not None and comparable(record.reported) == comparable(status):
            return
        self.write(record, status)

    def write(self, record: PodRecord, status: Object) -> None:
        """Hand ``status`` over as the pod's (``actors.kubelet.statusmanager``)."""
        self.status_manager.write(record, status)


def _succeeded(view: ContainerView) -> bool:
    return view.latest is not None and view.latest.state == "exited" \
        and view.latest.exit_code == 0


def _sidecars_outlive_apps(spec: Object, latest: dict[str, ContainerInfo]) -> bool:
    """Whether the pod has sidecars and every app container ran and exited for good (the
    pod's policy restarts none)."""
    policy = spec.get("restartPolicy", "Always")
    return any(is_sidecar(c) for c in spec.get("initContainers") or []) and all(
        (info := latest.get(c["name"])) is not None and info.state == "exited"
        and not should_restart(policy, info.exit_code) for c in spec["containers"])


def _initialized(view: ContainerView) -> bool:
    """An init container the next one need not wait for: it succeeded, or it is a sidecar
    that started (and may be restarting since)."""
    return sidecar_started(view) if is_sidecar(view.spec) else _succeeded(view)


def delay_text(seconds: float) -> str:
    """Go's duration format for whole seconds and minutes (``10s``, ``5m0s``)."""
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"


def _seconds_between(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return (parse_time(end) - parse_time(start)).total_seconds()


def _monotonic_of(started_at: str | None) -> float:
    """A wall-clock start time on the monotonic clock (for probe delays)."""
    now = time.monotonic()
    if not started_at:
        return now
    return now - max(datetime.now(UTC).timestamp() - parse_time(started_at).timestamp(), 0.0)
