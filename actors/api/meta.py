"""What every object carries, as Kubernetes' ``meta/v1`` has it: timestamps, metadata,
status conditions, owner references, the trace annotation, an object without its
``managedFields`` (what kubectl prints, what informers keep).

Functions over plain dicts, whatever their resource (:mod:`actors.api.resources`).

Neighbours: ``actors.api.resources`` (the registry), ``actors.api.pods`` (pod predicates over
conditions), ``actors.controllers`` (owner references, controller refs), ``actors.kubelet`` and
``actors.scheduler`` (conditions and timestamps they write).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from actors.api.objects import Object
from bus.errors import BadRequest

TRACE_ANNOTATION = "kubeactor.io/trace-id"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
"""The annotation ``apply`` keeps the manifest it applied in (kubectl's)."""
"""Annotation carrying the trace id of the request that created an object (DESIGN §7)."""


def now_rfc3339() -> str:
    """The current time as Kubernetes writes timestamps (UTC, seconds); formatted once a
    second (a create stamps several: a few percent of its CPU). Any thread."""
    global _stamped
    second = int(time.time())
    if _stamped[0] != second:
        _stamped = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _stamped[1]


_stamped = (0, "")
"""The last second :func:`now_rfc3339` formatted, and its text (one tuple: replaced whole)."""


def parse_time(value: str) -> datetime:
    """Inverse of :func:`now_rfc3339` (and of :func:`now_micro`), and of any RFC 3339 time
    as clients write it (kopf's events: ``2026-12-06T21:00:29.474117+00:00``); ValueError
    when ``value`` is not a time."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def now_micro() -> str:
    """The current time as Kubernetes' MicroTime (Lease ``renewTime``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def meta(obj: Object) -> dict[str, Any]:
    """``obj["metadata"]``, created when absent."""
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be a map")
    return metadata


def unmanaged(obj: Object) -> Object:
    """``obj`` without ``metadata.managedFields`` (a shallow copy when it had them)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return obj
    return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


def condition(obj: Object, kind: str) -> dict[str, Any] | None:
    """The status condition of type ``kind``, or None."""
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def set_condition(obj: Object, kind: str, status: str, reason: str = "", message: str = "") -> None:
    """Add or replace the status condition ``kind`` (transition time moves only on change)."""
    conditions = obj.setdefault("status", {}).setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == kind:
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now_rfc3339()
            cond.update(status=status, reason=reason, message=message)
            return
    conditions.append({"type": kind, "status": status, "reason": reason, "message": message,
                       "lastTransitionTime": now_rfc3339()})


def trace_id_of(obj: Object) -> str | None:
    """The trace id an object carries in its annotations."""
    return (obj.get("metadata", {}).get("annotations") or {}).get(TRACE_ANNOTATION)


def owner_reference(owner: Object, controller: bool = True) -> Object:
    """An ownerReference naming ``owner``: the owner's controller, blocking its foreground
    deletion until this dependent is gone."""
    metadata = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": metadata["name"],
            "uid": metadata["uid"], "controller": controller, "blockOwnerDeletion": True}


def controller_ref(obj: Object) -> Object | None:
    """The ownerReference with ``controller: true``, or None."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def new_uid() -> str:
    """A random (version 4) UUID for ``metadata.uid``, an audit ID, a token's ``jti``: unique,
    not secret, so drawn from ``random`` (seeded from the OS) rather than ``os.urandom``, a
    system call that gives up the GIL (and, in a busy process, waits to get it back) on every
    request. The text written without a UUID object (a third of its cost): the same text
    ``uuid.UUID(int=..., version=4)`` writes for the same bits."""
    digits = f"{random.getrandbits(128) & ~_VERSION_BITS | _VERSION_4:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


_VERSION_BITS = 0xF000 << 64 | 0xC000 << 48
"""Where a UUID holds its version (4 bits) and variant (the top 2 of the next ones)."""
_VERSION_4 = 0x4000 << 64 | 0x8000 << 48
"""Version 4 (random), RFC 4122's variant: what ``uuid.UUID(int=..., version=4)`` sets."""
