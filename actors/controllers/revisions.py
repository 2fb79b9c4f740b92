"""ControllerRevisions: the history of a DaemonSet's or a StatefulSet's pod template.

As Kubernetes' ``controller/history`` package: each template an owner has had is one
ControllerRevision (``apps/v1``) named ``<owner>-<hash>``, labelled with the template's labels
and ``controller-revision-hash``, controlled by the owner, whose ``data`` is the strategic merge
patch that puts that template back (``{"spec": {"template": {..., "$patch": "replace"}}}``:
what ``kubectl rollout undo`` sends as it is) and whose ``revision`` orders them. A revision
holds the owner's template when both are equal as read (``deployment.as_read``: a revision
stored before a default was added still matches its owner given that default by an update).
The template of the newest revision is the one the owner's pods should run; an old template that
comes back (a rollback) has its revision renumbered as the newest rather than copied. Revisions
no pod runs beyond ``revisionHistoryLimit`` are deleted, oldest first.

Neighbours: ``actors.controllers.daemonset`` and ``actors.controllers.statefulset`` (the
owners), ``actors.controllers.deployment`` (the template hash), ``bindings.cli.workloads``
(``rollout history|undo`` read them).

Which thread: the owning controller's actor thread.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass

from actors.api.meta import owner_reference
from actors.api.objects import Object
from actors.controllers.controller import Controller
from actors.controllers.deployment import NOT_COPIED, as_read, template_hash
from bus.errors import AlreadyExists, TemporaryError

HASH_LABEL = "controller-revision-hash"
"""The label naming a revision on it and on the pods made from it."""
RESOURCE = "controllerrevisions"


# -- decisions ----------------------------------------------------------------------------------


def revision_data(owner: Object) -> Object:
    """The patch that puts ``owner``'s current template back (Kubernetes' getPatch)."""
    template = copy.deepcopy(owner["spec"]["template"])
    return {"spec": {"template": {**template, "$patch": "replace"}}}


def template_of(revision: Object) -> Object:
    """The pod template a revision holds."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def number(revision: Object) -> int:
    return int(revision.get("revision") or 0)


def new_revision(owner: Object, number: int, collisions: int) -> Object:
    """Revision ``number`` of ``owner``'s current template (annotations copied but the
    bookkeeping, as Kubernetes' snapshot)."""
    metadata, data = owner["metadata"], revision_data(owner)
    hashed = template_hash(owner["spec"]["template"], collisions)
    labels = {**((owner["spec"]["template"].get("metadata") or {}).get("labels") or {}),
              HASH_LABEL: hashed}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items()
                   if k not in NOT_COPIED}
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"{metadata['name']}-{hashed}",
                         "namespace": metadata["namespace"], "labels": labels,
                         "annotations": annotations,
                         "ownerReferences": [owner_reference(owner)]},
            "data": data, "revision": number}


def to_prune(history: list[Object], limit: int, live: Collection[str]) -> list[Object]:
    """Revisions to delete: beyond ``limit`` of those no pod runs (``live`` holds the names
    and hashes in use, the newest revision's too), oldest first."""
    idle = sorted((r for r in history if r["metadata"]["name"] not in live
                   and (r["metadata"].get("labels") or {}).get(HASH_LABEL) not in live),
                  key=number)
    return idle[:max(len(idle) - limit, 0)]


# -- what the owners call -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class History:
    """An owner's revisions after :func:`sync`."""

    update: Object
    """The revision of the owner's current template (the newest)."""
    all: list[Object]
    """Every revision it controls, ``update`` among them, oldest first."""

    def named(self, name: str) -> Object | None:
        return next((r for r in self.all if r["metadata"]["name"] == name), None)


def sync(controller: Controller, owner: Object, status_resource: str) -> History:
    """Claim ``owner``'s revisions and make the newest hold its current template: renumber a
    revision of that template, or create one (a name another template took counts a
    collision in the owner's ``status.collisionCount`` and raises TemporaryError)."""
    history = sorted(controller.claim(owner, RESOURCE), key=number)
    template = as_read(owner["spec"]["template"])
    newest = max((number(r) for r in history), default=0)
    update = next((r for r in reversed(history) if as_read(template_of(r)) == template), None)
    if update is not None:
        if number(update) < newest:
            update = controller.remember(controller.client.update(
                RESOURCE, dict(update, revision=newest + 1)))
        return History(update, sorted([r for r in history if r is not update and r[
            "metadata"]["name"] != update["metadata"]["name"]] + [update], key=number))
    collisions = int((owner.get("status") or {}).get("collisionCount", 0))
    made = new_revision(owner, newest + 1, collisions)
    try:
        update = controller.remember(controller.client.create(RESOURCE, made,
                                                              owner["metadata"]["namespace"]))
    except AlreadyExists as error:
        status = dict(owner.get("status") or {}, collisionCount=collisions + 1)
        controller.remember(controller.client.update(status_resource, dict(owner, status=status),
                                                     subresource="status"))
        raise TemporaryError(f"{error} (a hash collision, counted)",
                             delay=controller.controller_config.backoff_base_seconds) from error
    return History(update, [*history, update])


def prune(controller: Controller, owner: Object, history: History, live: Collection[str]
          ) -> None:
    """Delete the revisions :func:`to_prune` names (``revisionHistoryLimit``, default 10)."""
    limit = int(owner["spec"].get("revisionHistoryLimit", 10))
    for revision in to_prune(history.all, limit,
                             {*live, history.update["metadata"]["name"]}):
        controller.client.delete(RESOURCE, revision["metadata"]["name"],
                                 owner["metadata"]["namespace"])
