"""kubectl rollout's client side for Deployments: the revision history their ReplicaSets keep,
rolling back to one of them, pausing and resuming.

Pure functions over objects the CLI has read; each returns the text to print or the
Deployment to write, and raises :class:`RolloutError` with kubectl's message when the request
cannot be met. The controller does the rest: a rolled-back template rolls out as any change
(its old ReplicaSet becomes the newest revision), a paused Deployment rolls nothing out.

Neighbours: ``actors.controllers.deployment`` (the revision annotations the controller keeps),
``bindings.cli.printers`` (the Pod Template section), ``bindings.cli.main`` (reads and writes).
"""

from __future__ import annotations

import copy
from typing import Any

from actors.api.meta import controller_ref
from actors.controllers.deployment import (
    CHANGE_CAUSE,
    NOT_COPIED,
    copied_annotations,
    revision,
    without_hash,
)
from bindings.cli import printers
from bus.errors import UsageError

Object = dict[str, Any]


class RolloutError(UsageError):
    """The rollout command cannot do what was asked; the message is kubectl's."""


def revisions(deployment: Object, replicasets: list[Object]) -> dict[int, Object]:
    """The Deployment's ReplicaSets by revision (those it controls and that carry one)."""
    uid = deployment["metadata"]["uid"]
    return {revision(rs): rs for rs in replicasets
            if (controller_ref(rs) or {}).get("uid") == uid and revision(rs)}


def history(deployment: Object, replicasets: list[Object], wanted: int = 0) -> str:
    """``rollout history``: every revision with its change-cause, or the pod template of the
    ``wanted`` one, under kubectl's ``deployment.apps/NAME`` line."""
    name, kept = deployment["metadata"]["name"], revisions(deployment, replicasets)
    if wanted:
        if wanted not in kept:
            raise RolloutError("unable to find the specified revision")
        template = without_hash(kept[wanted]["spec"]["template"])
        return f"deployment.apps/{name} with revision #{wanted}\n{printers.pod_template(template)}"
    if not kept:
        return f"deployment.apps/{name}\nNo rollout history found."
    width = max(len("REVISION"), *(len(str(rev)) for rev in kept)) + 2  # kubectl's tabwriter
    rows = [f"{rev:<{width}}{cause}" for rev, cause in [("REVISION", "CHANGE-CAUSE")] + [
        (str(rev), (kept[rev]["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
         or "<none>") for rev in sorted(kept)]]
    return "\n".join([f"deployment.apps/{name}", *rows, ""])


def rollback_target(deployment: Object, replicasets: list[Object], to_revision: int = 0
                    ) -> tuple[int, Object]:
    """The revision ``rollout undo`` goes back to and its ReplicaSet: ``to_revision``, or (0)
    the one before the newest."""
    name = deployment["metadata"]["name"]
    if deployment["spec"].get("paused"):
        raise RolloutError("you cannot rollback a paused deployment; resume it first with "
                           f"'kubeactor rollout resume deployment/{name}' and try again")
    kept = revisions(deployment, replicasets)
    if to_revision:
        if to_revision not in kept:
            raise RolloutError(f"unable to find specified revision {to_revision} in history")
        return to_revision, kept[to_revision]
    if len(kept) < 2:
        raise RolloutError(f'no rollout history found for deployment "{name}"')
    previous = sorted(kept)[-2]
    return previous, kept[previous]


def rolled_back(deployment: Object, rs: Object) -> Object | None:
    """The Deployment with ``rs``'s template and annotations (the Deployment's own bookkeeping
    kept), or None when its template is that one already."""
    template = without_hash(rs["spec"]["template"])
    if without_hash(deployment["spec"]["template"]) == template:
        return None
    own = {key: value for key, value in (deployment["metadata"].get("annotations") or {}).items()
           if key in NOT_COPIED}
    return dict(deployment, metadata=dict(deployment["metadata"],
                                          annotations={**own, **copied_annotations(rs)}),
                spec=dict(deployment["spec"], template=copy.deepcopy(template)))


def paused(deployment: Object, pause: bool) -> Object:
    """The Deployment with ``spec.paused`` set to ``pause``; kubectl's error when it is so
    already."""
    if bool(deployment["spec"].get("paused")) == pause:
        raise RolloutError(f'deployments.apps "{deployment["metadata"]["name"]}" is '
                           f'{"already paused" if pause else "not paused"}')
    return dict(deployment, spec=dict(deployment["spec"], paused=pause))
