"""The Job controller: run a Job's pods until enough succeed, or the Job fails.

For each Job it claims its pods (the generated selector names the Job's uid), counts the
finished ones exactly once through the tracking finalizer (``actors.controllers.jobpods.track``:
``uncountedTerminatedPods`` written first, the finalizers removed after), and then, as
Kubernetes' syncJob: a Job whose criteria are met (:func:`~actors.controllers.jobpods.verdict`)
gets ``FailureTarget`` or ``SuccessCriteriaMet``, its running pods are deleted, and once none is
left it gets ``Failed`` (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy) or
``Complete`` (with ``completionTime``), with a Warning or a ``Completed`` Event; a suspended Job
has its pods deleted and the ``Suspended`` condition; otherwise pods are created up to
``parallelism`` (after the failure back-off) or the surplus deleted. ``startTime`` is set when
it first runs (again on resume), the active deadline counted from it. Status: ``active``,
``ready``, ``terminating``, ``succeeded``, ``failed``, ``completedIndexes``. A terminating
pod is replaced at once, unless ``podReplacementPolicy: Failed`` (the default with a
``podFailurePolicy``); a Job whose ``managedBy`` names another controller is left alone.

Neighbours: ``actors.controllers.controller`` (base), ``actors.controllers.jobpods`` (the
decisions), ``actors.controllers.replicaset`` (pod creation in batches, Expectations),
``actors.controllers.cronjob`` (which creates Jobs), ``actors.controllers.ttlafterfinished``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime

from actors.api import jobs
from actors.api.meta import condition, controller_ref, set_condition
from actors.api.objects import Object
from actors.api.pods import is_pod_ready
from actors.api.selectors import selector_matches
from actors.client.client import Client
from actors.controllers import jobpods
from actors.controllers.controller import Controller, ControllerConfig, Key, without_zeros
from actors.controllers.replicaset import Expectations, create_pods, pods_to_delete
from bus.connection import Connection
from bus.errors import ApiError, Conflict, NotFound, TemporaryError

TERMINAL = {"FailureTarget": "Failed", "SuccessCriteriaMet": "Complete"}
"""The interim condition of a Job that met its criteria, and the final one it leads to."""
OMITTED_WHEN_ZERO = ("active", "succeeded", "failed")
"""JobStatus's counts left out at 0 (``ready`` and ``terminating``, pointers, say 0)."""
MANAGER = "kubernetes.io/job-controller"
"""The ``spec.managedBy`` of the Jobs this controller runs (the default); others are left to
the controller they name."""


class JobController(Controller):
    """See the module docstring."""

    component = "job-controller"
    resources = (jobs.JOBS, "pods")

    def __init__(self, connection: Connection, client: Client,
                 config: ControllerConfig | None = None) -> None:
        super().__init__(connection, client, config)
        self.expectations = Expectations()

    def keys_for(self, resource: str, obj: Object, event: str) -> Iterable[Key]:
        if resource == jobs.JOBS:
            return [Key.of(obj)]
        namespace = obj["metadata"]["namespace"]
        ref = controller_ref(obj)
        if ref is None:  # an orphan: which Job could adopt it?
            labels = obj["metadata"].get("labels")
            return [Key.of(job) for job in self.listed(jobs.JOBS, namespace)
                    if selector_matches(job["spec"].get("selector") or {}, labels)]
        if ref.get("kind") != "Job":
            return []
        key = Key(jobs.JOBS, namespace, ref["name"])
        if event == "ADDED":
            self.expectations.created(key)
        if event == "DELETED" or obj["metadata"].get("deletionTimestamp"):
            self.expectations.deleted(key, obj["metadata"]["name"])
        return [key]

    def reconcile(self, key: Key) -> float | None:
        job = self.cached(key)
        if job is None:  # gone: its pods must not keep the finalizer
            self.expectations.forget(key)
            self._release([pod for pod in self.listed("pods", key.namespace)
                           if (controller_ref(pod) or {}).get("name") == key.name
                           and (controller_ref(pod) or {}).get("kind") == "Job"])
            return None
        if job["spec"].get("managedBy", MANAGER) != MANAGER:
            return None
        pods = self.claim(job, "pods")
        if jobs.finished(job) or job["metadata"].get("deletionTimestamp"):
            self._release([pod for pod in pods if jobpods.has_finalizer(pod)])
            return None
        tracking = jobpods.track(job, pods)
        status = self._status(job, tracking, pods)
        if status["uncountedTerminatedPods"] != ((job.get("status") or {}).get(
                "uncountedTerminatedPods") or {}) or tracking.release:
            job = self._write(job, status)  # the uids first, then the finalizers go
            self._release(tracking.release)
            return 0.0  # count them once their finalizers are gone
        return self._sync(key, job, status, pods, tracking)

    # -- one pass --------------------------------------------------------------------------------

    def _status(self, job: Object, tracking: jobpods.Tracking, pods: list[Object]) -> Object:
        """The Job's status as the pods say, conditions aside."""
        active = [pod for pod in pods if jobpods.is_active(pod)]
        status = copy.deepcopy(job.get("status") or {})
        status.update(
            active=len(active), ready=sum(1 for pod in active if is_pod_ready(pod)),
            terminating=sum(1 for pod in pods if pod["metadata"].get("deletionTimestamp")
                            and not jobpods.is_finished(pod)),
            succeeded=tracking.succeeded, failed=tracking.failed,
            uncountedTerminatedPods={k: v for k, v in tracking.uncounted.items() if v})
        if jobpods.is_indexed(job):
            status["completedIndexes"] = jobpods.format_indexes(tracking.completed)
        if jobpods.per_index(job) is not None:
            status["failedIndexes"] = jobpods.format_indexes(tracking.failed_indexes)
        if tracking.fail_job is not None and not condition(job, "FailureTarget"):
            _condition(status, "FailureTarget", "PodFailurePolicy", tracking.fail_job)
        return status

    def _sync(self, key: Key, job: Object, status: Object, pods: list[Object],
              tracking: jobpods.Tracking) -> float | None:
        now = datetime.now(UTC)
        active = [pod for pod in pods if jobpods.is_active(pod)]
        view = dict(job, status=status)
        met = next((kind for kind in TERMINAL if _true(view, kind)), None)
        found = None if met is not None or job["spec"].get("suspend") else \
            jobpods.verdict(view, tracking, active, now)
        if found is not None:
            met = found[0]
            _condition(status, *found)
        again: float | None = None
        if met is not None:
            self._delete(key, job, active)
            if not active and not status.get("terminating"):
                self._finish(job, status, met)
        elif job["spec"].get("suspend"):
            self._suspend(key, job, status, active)
        else:
            again = self._advance(key, job, status, pods, tracking, now)
        self._write(job, status)
        return again

    def _advance(self, key: Key, job: Object, status: Object, pods: list[Object],
             tracking: jobpods.Tracking, now: datetime) -> float | None:
        """Resume when suspended, start the clock, create or delete pods toward
        ``parallelism``; the seconds before this Job must be looked at again."""
        if _true(job, "Suspended"):
            _condition(status, "Suspended", "JobResumed", "Job resumed", "False")
            status["startTime"] = _stamp(now)
            self.record_event(job, "Normal", "Resumed", "Job resumed")
        status.setdefault("startTime", _stamp(now))
        active = [pod for pod in pods if jobpods.is_active(pod)]
        deadline = jobpods.deadline_left(dict(job, status=status), now)
        if not self.expectations.satisfied(key):
            return deadline
        if extra := jobpods.surplus(job, active):
            self._delete(key, job, pods_to_delete(active, extra))
            return deadline
        running = active if job["spec"].get("podReplacementPolicy") != "Failed" else [
            pod for pod in pods if not jobpods.is_finished(pod)]  # terminating ones too
        wanted, delay = jobpods.due_now(job, jobpods.wanted(job, tracking, running), pods, now)
        if wanted:
            self.expectations.expect(key, adds=len(wanted))
            create_pods(self, key, job, [
                jobpods.job_pod(job, i, 0 if i is None else jobpods.next_failure_count(pods, i))
                for i in wanted], self.expectations)
            status["active"] = len(active) + len(wanted)
        waits = [t for t in (deadline, delay or None) if t is not None]
        return min(waits) if waits else None

    def _suspend(self, key: Key, job: Object, status: Object, active: list[Object]) -> None:
        self._delete(key, job, active)
        if not _true(job, "Suspended"):
            _condition(status, "Suspended", "JobSuspended", "Job suspended")
            self.record_event(job, "Normal", "Suspended", "Job suspended")

    def _finish(self, job: Object, status: Object, met: str) -> None:
        """The final condition after the interim one, once no pod runs."""
        interim = condition(dict(job, status=status), met) or {}
        final = TERMINAL[met]
        _condition(status, final, interim.get("reason", ""), interim.get("message", ""))
        if final == "Complete":
            status["completionTime"] = _stamp(datetime.now(UTC))
            self.record_event(job, "Normal", "Completed", "Job completed")
        else:
            self.record_event(job, "Warning", interim.get("reason", ""),
                              interim.get("message", ""))

    # -- writes ----------------------------------------------------------------------------------

    def _write(self, job: Object, status: Object) -> Object:
        status = without_zeros(status, OMITTED_WHEN_ZERO)
        if status == job.get("status"):
            return job
        return self.remember(self.client.update(jobs.JOBS, dict(job, status=status),
                                                subresource="status"))

    def _release(self, pods: list[Object]) -> None:
        """Remove the tracking finalizer from ``pods`` side by side; a conflict or failure is
        retried with the Job's key (the pod's event brings it back too)."""
        futures = [self.pool.submit(self._unfinalize, pod) for pod in pods
                   if jobpods.has_finalizer(pod)]
        failure = None
        for future in futures:
            try:
                self.remember(future.result())
            except NotFound:
                continue
            except ApiError as error:
                failure = failure or error
        if failure is not None:
            raise TemporaryError(str(failure)) from failure

    def _unfinalize(self, pod: Object) -> Object:
        for _ in range(3):  # a kubelet's status write races us
            kept = [f for f in pod["metadata"].get("finalizers") or []
                    if f != jobs.TRACKING_FINALIZER]
            try:
                return self.client.update("pods", dict(
                    pod, metadata=dict(pod["metadata"], finalizers=kept)))
            except Conflict:
                pod = self.client.get("pods", pod["metadata"]["name"],
                                      pod["metadata"]["namespace"])
        raise TemporaryError(f"pod {pod['metadata']['name']} keeps changing")

    def _delete(self, key: Key, job: Object, doomed: list[Object]) -> None:
        """Delete pods the Job no longer wants: their finalizer goes first, so they are not
        counted as failed."""
        if not doomed:
            return
        self._release(doomed)
        names = [pod["metadata"]["name"] for pod in doomed]
        self.expectations.expect(key, deletes=names)
        futures = [self.pool.submit(self.client.delete, "pods", name, key.namespace)
                   for name in names]
        for name, future in zip(names, futures, strict=True):
            try:
                future.result()
            except ApiError:
                self.expectations.deleted(key, name)
                continue
            self.record_event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")


def _true(obj: Object, kind: str) -> bool:
    return (condition(obj, kind) or {}).get("status") == "True"


def _condition(status: Object, kind: str, reason: str, message: str,
               value: str = "True") -> None:
    holder = {"status": status}
    set_condition(holder, kind, value, reason, message)
    for cond in status["conditions"]:
        cond.setdefault("lastProbeTime", cond.get("lastTransitionTime"))


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
