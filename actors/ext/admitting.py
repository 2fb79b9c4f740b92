"""Admission actors run offline: review objects in memory, the actor's own ``admit``, no bus,
no cluster (for an admission actor's unit tests).

    bench = AdmissionBench(TeamLabel)
    assert bench.admit(pod).allowed is False
    assert bench.admit(labelled).object["metadata"]["labels"]["checked"] == "yes"

:class:`AdmissionBench` makes the actor (not started: no thread, no subscription), writes the
AdmissionReview the apiserver would send for an object, reads it as the actor's ``handle``
does, and reads the verdict back from the answer the actor would send: denial code and
message, the JSON patch and the object it makes. An exception in ``admit`` is raised as it is
(on the bus the apiserver gets a 500 and the registration's failurePolicy decides).

Which thread: the caller's. Neighbours: ``actors.admission_actor`` (the actor),
``actors.api.admission`` (the wire types), ``actors.api.jsonpatch`` (patches), ``actors.ext``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from actors.admission_actor import AdmissionActor
from actors.api import jsonpatch
from actors.api.admission import REVIEW_API_VERSION, Review, Verdict
from actors.api.objects import Object
from bus.connection import Connection
from bus.subjects import Subjects


def review(obj: Object | None, *, operation: str = "CREATE", old: Object | None = None,
           resource: str | None = None, subresource: str | None = None,
           user: str = "alice", groups: Sequence[str] = ("system:authenticated",),
           dry_run: bool = False) -> Object:
    """The AdmissionReview body the apiserver sends about ``obj`` (``old``: the stored one,
    for UPDATE and DELETE); ``resource`` defaults to the kind's plural (``Pod``: ``pods``)."""
    subject = obj if obj is not None else old or {}
    kind, metadata = str(subject.get("kind", "")), subject.get("metadata") or {}
    group, _, version = str(subject.get("apiVersion", "v1")).rpartition("/")
    return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "request": {
        "uid": str(uuid.uuid4()), "operation": operation,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version,
                     "resource": resource or f"{kind.lower()}s"},
        "subResource": subresource, "namespace": metadata.get("namespace", "default"),
        "name": metadata.get("name", ""),
        "userInfo": {"username": user, "uid": "", "groups": list(groups)},
        "object": copy.deepcopy(obj), "oldObject": copy.deepcopy(old), "dryRun": dry_run}}


@dataclass(frozen=True, slots=True)
class Admitted:
    """What the apiserver reads of the actor's answer."""

    allowed: bool
    code: int | None
    """A denial's code (400 unless the actor said another); None when allowed."""
    message: str
    patch: list[dict[str, Any]] | None
    object: Object | None
    """The object as it would be stored: patched when the verdict carries a patch."""


class _NoBus:
    """What an actor reads of its connection before it starts: its name and subjects."""

    def __init__(self, name: str) -> None:
        self.name, self.subjects = name, Subjects("offline")


class AdmissionBench:
    """See the module docstring."""

    def __init__(self, actor_class: type[AdmissionActor], name: str = "offline",
                 *args: Any, **kwargs: Any) -> None:
        """``args``, ``kwargs``: the actor's own, after the connection and ``name``."""
        self.actor = actor_class(cast(Connection, _NoBus(name)), name, *args, **kwargs)

    def admit(self, obj: Object | None, **request: Any) -> Admitted:
        """The actor's verdict on ``obj`` (``request``: :func:`review`'s keywords)."""
        return self.answer(review(obj, **request))

    def answer(self, body: Object) -> Admitted:
        """The actor's verdict on the AdmissionReview ``body``."""
        asked = Review.of(body)
        verdict = Verdict.of(self.actor.admit(asked).response(asked.uid), asked.uid)
        code = None if verdict.allowed else verdict.code or 400
        stored = asked.object
        if verdict.allowed and verdict.patch is not None:
            stored = jsonpatch.apply(asked.object, verdict.patch)
        return Admitted(verdict.allowed, code, verdict.message, verdict.patch, stored)
