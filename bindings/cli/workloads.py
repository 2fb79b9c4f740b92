"""``kubeactor scale`` and ``rollout``: the verbs about workloads (Deployments, ReplicaSets,
DaemonSets, StatefulSets).

``scale`` sets ``spec.replicas`` through the scale subresource. ``rollout`` is kubectl
rollout's client side for Deployments, DaemonSets and StatefulSets: ``status`` follows the
rollout; ``history`` and ``undo`` read the revision history (a Deployment's ReplicaSets, the
others' ControllerRevisions: :func:`kept_revisions`) and write the owner back; ``pause`` and
``resume`` (Deployments only) flip ``spec.paused``. Those decisions are pure functions over the
objects read (:func:`history`, :func:`rollback_target`, :func:`rolled_back`, :func:`paused`):
each returns the text to print or the object to write, and raises :class:`RolloutError` with
kubectl's message when the request cannot be met. The controllers do the rest: a rolled-back
template rolls out as any change (its old ReplicaSet or ControllerRevision becomes the newest
revision), a paused Deployment rolls nothing out.

Neighbours: ``actors.controllers.deployment`` (the revision annotations the controller keeps),
``actors.controllers.revisions`` (ControllerRevisions),
``bindings.cli.printers`` (the Pod Template section, rollout status lines),
``bindings.cli.parsing``, ``bindings.cli.session``, ``bindings.cli.main`` (dispatch).

Which thread: the main thread; watch events arrive on the bus loop thread through a queue.
"""

from __future__ import annotations

import argparse
import copy
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

from actors.api.meta import controller_ref
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.client.client import WatchEvent
from actors.controllers import revisions
from actors.controllers.deployment import (
    CHANGE_CAUSE,
    NOT_COPIED,
    copied_annotations,
    revision,
    without_hash,
)
from bindings.cli import parsing, printers
from bindings.cli.session import Session, print_error
from bus.errors import ApiError, Conflict, UsageError


class RolloutError(UsageError):
    """The rollout command cannot do what was asked; the message is kubectl's."""


@dataclass(frozen=True, slots=True)
class Kept:
    """One revision of a workload's pod template, wherever it is kept."""

    template: Object
    annotations: dict[str, str]


HISTORY_OF = {"deployments": "replicasets", "daemonsets": revisions.RESOURCE,
              "statefulsets": revisions.RESOURCE}
"""Where each kind with a rollout keeps its history: a Deployment in its ReplicaSets, a
DaemonSet or StatefulSet in ControllerRevisions."""


def kept_revisions(owner: Object, history: list[Object]) -> dict[int, Kept]:
    """The owner's revisions by number, from the ReplicaSets or ControllerRevisions it
    controls (``history``, read from :data:`HISTORY_OF`)."""
    uid = owner["metadata"]["uid"]
    owned = [h for h in history if (controller_ref(h) or {}).get("uid") == uid]
    if owner["kind"] == "Deployment":
        return {revision(rs): Kept(without_hash(rs["spec"]["template"]), copied_annotations(rs))
                for rs in owned if revision(rs)}
    return {revisions.number(r): Kept(revisions.template_of(r),
                                      r["metadata"].get("annotations") or {}) for r in owned}


def _shown(owner: Object) -> str:
    """How kubectl names it in rollout's lines: ``daemonset.apps/NAME``."""
    return f"{owner['kind'].lower()}.apps/{owner['metadata']['name']}"


def history(owner: Object, kept: dict[int, Kept], wanted: int = 0) -> str:
    """``rollout history``: every revision with its change-cause, or the pod template of the
    ``wanted`` one, under kubectl's ``deployment.apps/NAME`` line."""
    if wanted:
        if wanted not in kept:
            raise RolloutError("unable to find the specified revision")
        return (f"{_shown(owner)} with revision #{wanted}\n"
                f"{printers.pod_template(kept[wanted].template)}")
    if not kept:
        return f"{_shown(owner)}\nNo rollout history found."
    width = max(len("REVISION"), *(len(str(rev)) for rev in kept)) + 2  # kubectl's tabwriter
    rows = [f"{rev:<{width}}{cause}" for rev, cause in [("REVISION", "CHANGE-CAUSE")] + [
        (str(rev), kept[rev].annotations.get(CHANGE_CAUSE) or "<none>")
        for rev in sorted(kept)]]
    return "\n".join([_shown(owner), *rows, ""])


def rollback_target(owner: Object, kept: dict[int, Kept], to_revision: int = 0
                    ) -> tuple[int, Kept]:
    """The revision ``rollout undo`` goes back to: ``to_revision``, or (0) the one before the
    newest; kubectl's refusals (a paused Deployment, no such revision, none before)."""
    name = owner["metadata"]["name"]
    if owner["spec"].get("paused"):
        raise RolloutError("you cannot rollback a paused deployment; resume it first with "
                           f"'kubeactor rollout resume deployment/{name}' and try again")
    if to_revision:
        if to_revision not in kept:
            raise RolloutError(f"unable to find specified revision {to_revision} in history")
        return to_revision, kept[to_revision]
    if len(kept) < 2:
        raise RolloutError(f'no rollout history found for deployment "{name}"' if owner[
            "kind"] == "Deployment" else "no last revision to roll back to")
    previous = sorted(kept)[-2]
    return previous, kept[previous]


def rolled_back(owner: Object, kept: Kept) -> Object | None:
    """The owner with ``kept``'s template (a Deployment with its annotations too, its own
    bookkeeping kept), or None when its template is that one already."""
    current = owner["spec"]["template"]
    if (without_hash(current) if owner["kind"] == "Deployment" else current) == kept.template:
        return None
    spec = dict(owner["spec"], template=copy.deepcopy(kept.template))
    if owner["kind"] != "Deployment":
        return dict(owner, spec=spec)
    own = {key: value for key, value in (owner["metadata"].get("annotations") or {}).items()
           if key in NOT_COPIED}
    return dict(owner, metadata=dict(owner["metadata"], annotations={**own, **kept.annotations}),
                spec=spec)


def paused(deployment: Object, pause: bool) -> Object:
    """The Deployment with ``spec.paused`` set to ``pause``; kubectl's error when it is so
    already."""
    if bool(deployment["spec"].get("paused")) == pause:
        raise RolloutError(f'deployments.apps "{deployment["metadata"]["name"]}" is '
                           f'{"already paused" if pause else "not paused"}')
    return dict(deployment, spec=dict(deployment["spec"], paused=pause))


def _add_scale(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    scale = verbs.add_parser("scale", parents=[common],
                             help="set the replicas of deployments, replicasets, statefulsets or "
                             "replicationcontrollers")
    scale.add_argument("resource")
    scale.add_argument("names", nargs="*")
    scale.add_argument("--replicas", type=parsing.bounded(0, 1_000_000), required=True)


def _add_rollout(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    rollout = verbs.add_parser("rollout", parents=[common],
                               help="follow, list, undo, pause or resume a rollout")
    rollout.add_argument("action", choices=["status", "history", "undo", "pause", "resume"])
    rollout.add_argument("resource")
    rollout.add_argument("names", nargs="*")
    rollout.add_argument("--timeout", type=parsing.duration, default=0.0,
                         help="status: give up after this long (30s, 5m; 0: wait for ever)")
    rollout.add_argument("--revision", type=parsing.bounded(0, 2**31), default=0,
                         help="history: the pod template of this revision")
    rollout.add_argument("--to-revision", type=parsing.bounded(0, 2**31), default=0,
                         help="undo: back to this revision (0: the previous one)")


def cmd_scale(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``scale TYPE NAME --replicas N``: set ``spec.replicas`` through the scale
    subresource; prints ``deployment.apps/NAME scaled``."""
    info, names = parsing.resource_and_names([args.resource, *args.names])
    if not names:
        raise UsageError("resource(s) were provided, but no name was specified")
    failed = 0
    for name in names:
        try:
            scale = session.client.request("get", info.name, namespace=session.namespace,
                                           name=name, subresource="scale")
            scale["spec"]["replicas"] = args.replicas
            scale["metadata"].pop("resourceVersion", None)  # kubectl: no precondition
            session.client.request("update", info.name, namespace=session.namespace,
                                   name=name, subresource="scale", body=scale)
            print(f"{info.qualified_singular}/{name} scaled", flush=True)
        except ApiError as error:
            print_error(error)
            failed = 1
    return failed


ROLLOUT_UNSUPPORTED = {"status": "no status viewer has been implemented for {kind}",
                       "history": "no history viewer has been implemented for {kind}",
                       "undo": "no rollbacker has been implemented for {kind}",
                       "pause": "pausing is not supported", "resume": "resuming is not supported"}
"""kubectl's words for a rollout action on a type that has none."""


def cmd_rollout(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``rollout status|history|undo|pause|resume TYPE/NAME``, as kubectl's (pause and
    resume: Deployments only)."""
    info, names = parsing.resource_and_names([args.resource, *args.names])
    pausing = args.action in ("pause", "resume")
    if info.name not in HISTORY_OF or (pausing and info.name != "deployments"):
        raise UsageError(ROLLOUT_UNSUPPORTED[args.action].format(kind=info.kind))
    if len(names) != 1:
        raise UsageError(f"rollout {args.action} takes exactly one {info.singular}")
    if args.action == "status":
        return _rollout_status(args, session, info, names[0])
    owner = session.client.get(info.name, names[0], session.namespace)
    if pausing:
        pause = args.action == "pause"
        _update_again(session, info, names[0], lambda current: paused(current, pause))
        print(f"deployment.apps/{names[0]} {'paused' if pause else 'resumed'}")
        return 0
    kept = kept_revisions(owner, session.client.list(HISTORY_OF[info.name],
                                                     session.namespace)["items"])
    if args.action == "history":
        print(history(owner, kept, args.revision))
        return 0
    rev, target = rollback_target(owner, kept, args.to_revision)
    if rolled_back(owner, target) is None:
        print(f"{_shown(owner)} skipped rollback (current template already matches revision "
              f"{rev})")
        return 0
    _update_again(session, info, names[0], lambda current: rolled_back(current, target))
    print(f"{_shown(owner)} rolled back")
    return 0


def _update_again(session: Session, info: ResourceInfo, name: str,
                  change: Callable[[Object], Object | None]) -> None:
    """Write ``change(current)`` (nothing when None), reading the object again when a
    controller wrote it meanwhile (a 409), as kubectl's patch does not need to."""
    for _ in range(10):
        current = session.client.get(info.name, name, session.namespace)
        changed = change(current)
        if changed is None:
            return
        try:
            session.client.update(info.name, changed)
            return
        except Conflict:
            continue
    raise UsageError(f"{info.qualified_singular}/{name} kept changing; try again")


def _rollout_status(args: argparse.Namespace, session: Session, info: ResourceInfo,
                    name: str) -> int:
    """Print kubectl's progress lines as the watch brings changes, until the rollout is done
    (exit 0), past its deadline or ``--timeout`` (1)."""
    changes: queue.Queue[WatchEvent] = queue.Queue()
    watch = session.client.watch(info.name, changes.put, namespace=session.namespace,
                                 field_selector=f"metadata.name={name}")
    deadline = time.monotonic() + args.timeout if args.timeout else None
    try:
        session.client.get(info.name, name, session.namespace)  # NotFound, as kubectl
        last = ""
        while deadline is None or time.monotonic() < deadline:
            try:
                event = changes.get(timeout=0.2)
            except queue.Empty:
                continue
            if event.type not in ("ADDED", "MODIFIED"):
                continue
            text, done = printers.rollout_status(event.object)
            if text != last:
                print(text, flush=True)
                last = text
            if done:
                return 0
        raise UsageError("timed out waiting for the condition")
    finally:
        watch.stop()


PARSERS: dict[str, parsing.Builder] = {"scale": _add_scale, "rollout": _add_rollout}
"""Each verb's parser-builder (``bindings.cli.main`` calls them in the order of its help)."""
COMMANDS = {"scale": cmd_scale, "rollout": cmd_rollout}
"""Each verb's command, run with a session."""
