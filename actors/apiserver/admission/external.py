"""External admission actors: the user's own admission plugins, called over NATS.

An ``AdmissionRegistration`` (group ``admissionregistration.kubeactor.io``, cluster-scoped)
names an actor's subject suffix and which requests it sees::

    spec:
      subject: image-policy          # the actor serves P.admission.image-policy (the admin's);
                                     # bot.images: P.admission.bot.images, served by NATS user bot
      operations: [CREATE, UPDATE]   # or ["*"]; CREATE, UPDATE, DELETE, CONNECT
      resources: [pods]              # "pods", "pods/status", "pods/*", "*", "*/*"
      timeoutSeconds: 10             # 1..30
      failurePolicy: Fail            # Fail: no answer refuses the request; Ignore: go on
      mutating: true                 # mutating actors may answer with a JSON patch

:class:`ExternalAdmission` is one plugin of the chain, placed twice: among the mutating plugins
(it calls the mutating registrations one after the other, each seeing the previous patches) and
after the built-in validating ones (the others). Each call is an :class:`ExternalCall` that the
apiserver sends without blocking its worker. The request is an AdmissionReview
(:func:`review_body`); the answer a :class:`Verdict` (allow, deny with a message, or a patch).
Registrations are held by :class:`Registrations`, shared by the apiserver's workers and kept
current from store commits like the RBAC policy.

Registrations themselves are never sent to an external actor, so a broken one can always be
deleted.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from actors.api import jsonpatch
from actors.api.admission import REVIEW_API_VERSION, Verdict
from actors.api.objects import Object
from actors.apiserver.admission.chain import AdmissionRequest, Answer, ExternalCall, Steps
from actors.apiserver.mirror import Key, Mirror
from bus.envelope import Envelope, new_id
from bus.errors import ApiError, BusError, BusTimeout, InternalError
from bus.subjects import Subjects

log = logging.getLogger(__name__)

GROUP = "admissionregistration.kubeactor.io"
KIND = "AdmissionRegistration"
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
DEFAULT_TIMEOUT_SECONDS = 10
MAX_TIMEOUT_SECONDS = 30
"""As Kubernetes' webhooks: 10 s unless told, never more than 30 s."""


@dataclass(frozen=True, slots=True)
class Registration:
    """One AdmissionRegistration, read from its spec (validated before it was stored)."""

    name: str
    subject: str
    operations: frozenset[str]
    resources: frozenset[str]
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    fail: bool = True
    """failurePolicy Fail (True) or Ignore."""
    mutating: bool = False

    @classmethod
    def of(cls, obj: Object) -> Registration:
        spec = obj.get("spec") or {}
        return cls(
            name=obj["metadata"]["name"], subject=str(spec.get("subject", "")),
            operations=frozenset(spec.get("operations") or ["*"]),
            resources=frozenset(spec.get("resources") or []),
            timeout=float(spec.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS),
            fail=spec.get("failurePolicy", "Fail") != "Ignore",
            mutating=bool(spec.get("mutating", False)),
        )

    def wants(self, request: AdmissionRequest) -> bool:
        """Kubernetes' rule matching: ``pods`` is the resource only, ``pods/*`` its
        subresources, ``*`` every resource, ``*/*`` everything."""
        if "*" not in self.operations and request.operation not in self.operations:
            return False
        resource, sub = request.info.name, request.subresource
        wanted = {f"{resource}/{sub}", f"{resource}/*", f"*/{sub}", "*/*"} if sub else {
            resource, "*"}
        return bool(wanted & self.resources)


class Registrations(Mirror):
    """The registrations in force (a :class:`Mirror`), shared by the apiserver's workers."""

    def __init__(self) -> None:
        super().__init__((KIND,))
        self._in_force: list[Registration] = []

    def changed(self, objects: dict[Key, Object]) -> None:
        self._in_force = [Registration.of(obj) for _, obj in sorted(objects.items())]

    def matching(self, request: AdmissionRequest, mutating: bool) -> list[Registration]:
        """The registrations, by name, that want ``request``."""
        if request.info.kind == KIND:
            return []
        return [r for r in self._in_force if r.mutating == mutating and r.wants(request)]


def review_body(request: AdmissionRequest, uid: str) -> Object:
    """The AdmissionReview an external actor gets for ``request``."""
    info = request.info
    return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "request": {
        "uid": uid, "operation": request.operation,
        "kind": {"group": info.group, "version": info.version, "kind": info.kind},
        "resource": {"group": info.group, "version": info.version, "resource": info.name},
        "subResource": request.subresource, "namespace": request.namespace,
        "name": request.name,
        "userInfo": {"username": request.user.name, "uid": request.user.uid,
                     "groups": list(request.user.groups)},
        "object": request.object, "oldObject": request.old_object,
        "dryRun": request.dry_run,
    }}


class ExternalAdmission:
    """The chain's door to the registered admission actors (see the module docstring)."""

    name = "ExternalAdmission"

    def __init__(self, registrations: Registrations, subjects: Subjects) -> None:
        self._registrations = registrations
        self._subjects = subjects

    def admit(self, request: AdmissionRequest) -> Steps | None:
        return self._call_each(request, mutating=True)

    def validate(self, request: AdmissionRequest) -> Steps | None:
        return self._call_each(request, mutating=False)

    def _call_each(self, request: AdmissionRequest, mutating: bool) -> Steps | None:
        registrations = self._registrations.matching(request, mutating)
        return self._steps(request, registrations) if registrations else None

    def _steps(self, request: AdmissionRequest, registrations: list[Registration]) -> Steps:
        for registration in registrations:
            uid = str(uuid.uuid4())
            envelope = Envelope(span_id=new_id(), target=registration.subject, verb="admit",
                                group=request.info.group, resource=request.info.name,
                                subresource=request.subresource, namespace=request.namespace,
                                name=request.name, body=review_body(request, uid))
            answer = yield ExternalCall(self._subjects.admission(registration.subject),
                                        envelope, registration.timeout)
            try:
                verdict = _verdict(answer, uid)
            except (BusError, ValueError, ApiError) as error:
                if registration.fail:
                    raise failed_call(registration, error) from None
                log.warning("admission %s ignored (failurePolicy Ignore): %s",
                            registration.name, error)
                continue
            apply_verdict(registration, verdict, request)


def _verdict(answer: Answer, uid: str) -> Verdict:
    if isinstance(answer, BusError):
        raise answer
    assert answer is not None, "an external call is answered by an envelope or an error"
    answer.raise_for_status()
    return Verdict.of(answer.body, uid)


def failed_call(registration: Registration, error: Exception) -> InternalError:
    """kube-apiserver's error for a webhook that could not be called (failurePolicy Fail)."""
    why = f"timeout: {error}" if isinstance(error, BusTimeout) else str(error)
    return InternalError(f'Internal error occurred: failed calling webhook '
                         f'"{registration.name}": failed to call webhook: {why}')


def apply_verdict(registration: Registration, verdict: Verdict,
                  request: AdmissionRequest) -> None:
    """Refuse as kube-apiserver words a webhook's denial, or apply a mutating actor's patch
    (which may not change what the object is: kind, name, namespace)."""
    if not verdict.allowed:
        denied = f'admission webhook "{registration.name}" denied the request'
        message = f"{denied}: {verdict.message}" if verdict.message else \
            f"{denied} without explanation"
        raise ApiError.from_status({"code": verdict.code or 400, "message": message})
    if not verdict.patch or not registration.mutating or request.object is None \
            or request.operation not in ("CREATE", "UPDATE"):  # only objects are patched
        return
    before = request.object
    try:
        patched = jsonpatch.apply(before, verdict.patch)
    except jsonpatch.PatchError as error:
        raise InternalError(f'Internal error occurred: admission webhook "{registration.name}" '
                            f"returned a patch that does not apply: {error.message}") from None
    identity = ("apiVersion", "kind")
    names = ("name", "namespace", "uid")
    if not isinstance(patched, dict) or any(patched.get(k) != before.get(k) for k in identity) \
            or any((patched.get("metadata") or {}).get(k) != before["metadata"].get(k)
                   for k in names):
        raise InternalError(f'Internal error occurred: admission webhook "{registration.name}" '
                            "attempted to change the object's kind, name or namespace")
    request.object.clear()
    request.object.update(patched)
