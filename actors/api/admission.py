"""The AdmissionReview, as external admission actors and the apiserver both read it: what an
actor is asked (:class:`Review`) and what it answers (:class:`Verdict`), as in Kubernetes'
``admission/v1``.

Plain data and the functions that read and write it from a message body; an actor needs only
this module and ``bus`` (``actors.admission_actor``), not the apiserver.

Neighbours: ``actors.admission_actor`` (the SDK, answers), ``actors.apiserver.admission.external``
(asks: writes a review of each request, reads the verdict), ``actors.api.users`` (who asked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.api.objects import Object
from actors.api.users import UserInfo

REVIEW_API_VERSION = "admission.kubeactor.io/v1"


@dataclass(slots=True)
class Review:
    """What an external admission actor is asked (the ``request`` of an AdmissionReview)."""

    uid: str
    operation: str
    kind: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str
    user: UserInfo
    object: Object | None
    old_object: Object | None
    dry_run: bool = False
    """Nothing will be stored: the actor must change nothing outside its answer."""

    @classmethod
    def of(cls, body: Any) -> Review:
        """Read an AdmissionReview body; ValueError when it is not one."""
        request = body.get("request") if isinstance(body, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("uid"), str):
            raise ValueError("not an AdmissionReview request")
        user = request.get("userInfo") or {}
        return cls(request["uid"], str(request.get("operation", "")),
                   str((request.get("kind") or {}).get("kind", "")),
                   str((request.get("resource") or {}).get("resource", "")),
                   request.get("subResource"), request.get("namespace"),
                   str(request.get("name", "")),
                   UserInfo(str(user.get("username", "")), str(user.get("uid", "")),
                            tuple(user.get("groups") or ())),
                   request.get("object"), request.get("oldObject"),
                   request.get("dryRun") is True)


@dataclass(slots=True)
class Verdict:
    """An external admission actor's answer: allow (maybe with a JSON patch) or deny."""

    allowed: bool
    message: str = ""
    code: int | None = None
    """The HTTP-like code of a denial (Kubernetes: 400 unless the actor says)."""
    patch: list[dict[str, Any]] | None = field(default=None)

    def response(self, uid: str) -> Object:
        """The AdmissionReview body that carries this verdict."""
        answer: Object = {"uid": uid, "allowed": self.allowed}
        if not self.allowed:
            answer["status"] = {"code": self.code or 400, "message": self.message}
        if self.patch is not None:
            answer.update(patchType="JSONPatch", patch=self.patch)
        return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "response": answer}

    @classmethod
    def of(cls, body: Any, uid: str) -> Verdict:
        """Read an AdmissionReview answer; ValueError when it is not one for ``uid``."""
        response = body.get("response") if isinstance(body, dict) else None
        if not isinstance(response, dict) or response.get("uid") != uid:
            raise ValueError(f"the response does not answer request uid {uid}")
        if not isinstance(response.get("allowed"), bool):
            raise ValueError("response.allowed must be a boolean")
        status = response.get("status") if isinstance(response.get("status"), dict) else {}
        assert isinstance(status, dict)
        code = status.get("code")
        return cls(response["allowed"], str(status.get("message") or status.get("reason") or ""),
                   code if isinstance(code, int) and code >= 400 else None,
                   response.get("patch"))
