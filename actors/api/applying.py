"""Server-side apply and ``metadata.managedFields``: who set which field, as kube-apiserver
records it.

Each entry of ``managedFields`` is a manager: ``{manager, operation, apiVersion, time,
fieldsType: FieldsV1, fieldsV1}`` (and ``subresource`` when written through one), the fields
in ``fieldsets``' form. Every write records one (:func:`record`): the manager's ``Update``
entry gains what the write set or changed and every other manager loses it. An apply
(:func:`apply`) merges a configuration into the live object (maps by key, keyed lists by
their merge key, set lists as sets, anything else replaced), removes what the same manager
applied before and applies no longer unless another manager owns it, and makes the manager's
``Apply`` entry exactly the configuration's fields. A field another manager owns that the
apply changes is a conflict (:class:`ApplyConflict`, a 409), unless ``force`` takes it; a
field applied with the value it has is shared, not a conflict.

``kubectl apply --server-side`` (the manager ``kubectl``) on an object kubectl applied
client-side takes the fields of its ``last-applied-configuration`` annotation without a
conflict, and keeps that annotation in step, as kube-apiserver does. Not done as Kubernetes
does (no schema here, see ``fieldsets``): version conversion of managers' field sets, unions,
the cap of ten Update entries (``ancient-changes``).

Neighbours: ``actors.apiserver.verbs`` (create, update and patch record their writer;
``patch`` of type ``application/apply-patch+yaml`` applies), ``fieldsets``.

Which thread: any; pure functions, the inputs are never changed.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from actors.api import fieldsets
from actors.api.fieldsets import FieldSet, Path
from actors.api.meta import LAST_APPLIED
from actors.api.objects import Object
from bus.errors import BadRequest, Conflict

APPLY, UPDATE = "Apply", "Update"
KUBECTL = "kubectl"
"""The manager of ``kubectl apply --server-side``, which upgrades client-side apply."""
FIRST_APPLY = "before-first-apply"
"""The manager an apply finds owning every field of an object that had none recorded."""
IGNORED: FieldSet = frozenset({("f:apiVersion",), ("f:kind",)} | {
    ("f:metadata", f"f:{name}") for name in (
        "name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion",
        "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")})
"""Fields no manager owns (the server's, and the object's identity), with all they hold."""
LOOKUPS = 32
"""Fields lost by a write that :meth:`Manager.without` looks up one by one in a manager's
tree; past it, the manager's fields are decoded and looked up among them."""


@dataclass(frozen=True)
class Manager:
    """One entry of ``managedFields``; its fields decoded only when asked for."""

    manager: str
    operation: str
    """``Apply`` or ``Update``."""
    api_version: str
    time: str
    tree: Object
    """Its fields, as ``fieldsV1`` holds them."""
    subresource: str = ""

    @classmethod
    def of(cls, writer: Writer, operation: str, fields: FieldSet, time: str = "") -> Manager:
        return cls(writer.manager, operation, writer.api_version, time or writer.time,
                   fieldsets.encode(fields), writer.subresource)

    @functools.cached_property
    def fields(self) -> FieldSet:
        return fieldsets.decode(self.tree)

    @property
    def identity(self) -> tuple[str, str, str]:
        """What tells entries apart (kube-apiserver's manager identifier)."""
        return self.manager, self.operation, self.subresource

    def without(self, lost: FieldSet) -> Manager:
        """This manager without the fields ``lost`` (itself when it holds none of them).
        A few are each looked up in its tree; more, its fields are among them (its tree
        decoded): each of many managers looked through all the fields a write changed, so
        a create sending 3,000 managers of one field each held a worker 6 s (quadratic)."""
        if len(lost) > LOOKUPS:
            if self.fields.isdisjoint(lost):
                return self
        elif not any(fieldsets.holds(self.tree, path) for path in lost):
            return self
        return replace(self, tree=fieldsets.encode(self.fields - lost))

    def described(self) -> str:
        """The manager as kube-apiserver's conflict messages name it."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        return f"{text} using {self.api_version}" if self.operation == UPDATE else text

    def entry(self) -> Object:
        written: Object = {"manager": self.manager, "operation": self.operation,
                           "apiVersion": self.api_version, "time": self.time,
                           "fieldsType": "FieldsV1", "fieldsV1": self.tree}
        return {**written, "subresource": self.subresource} if self.subresource else written


class ApplyConflict(Conflict):
    """Fields the apply would change that other managers own (kube-apiserver's 409)."""

    def __init__(self, conflicts: list[tuple[Manager, Path]]) -> None:
        causes = [{"type": "FieldManagerConflict", "message": f"conflict with {m.described()}",
                   "field": fieldsets.describe(path)} for m, path in conflicts]
        super().__init__(_conflict_message(conflicts), details={"causes": causes})


def _conflict_message(conflicts: list[tuple[Manager, Path]]) -> str:
    if len(conflicts) == 1:
        manager, path = conflicts[0]
        return (f"Apply failed with 1 conflict: conflict with {manager.described()}: "
                f"{fieldsets.describe(path)}")
    grouped: dict[str, list[str]] = {}  # by manager, each conflict once (not once a manager)
    for manager, path in conflicts:
        grouped.setdefault(manager.described(), []).append(f"- {fieldsets.describe(path)}")
    lines = []
    for described in sorted(grouped):
        lines += [f"conflicts with {described}:", *grouped[described]]
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes, as a manager will record it."""

    manager: str
    api_version: str
    time: str
    """RFC 3339, when the write happens."""
    subresource: str = ""
    reset: tuple[str, ...] = ()
    """Top-level fields the write cannot set (``status`` through the main resource): not
    owned by an apply of them."""


def read(obj: Object | None) -> list[Manager] | None:
    """The managers ``obj`` records; None when it records none, or not in a form read here
    (kube-apiserver then keeps the live object's)."""
    entries = ((obj or {}).get("metadata") or {}).get("managedFields")
    if not isinstance(entries, list) or not entries:
        return None
    try:
        return [_manager(entry) for entry in entries]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _manager(entry: Object) -> Manager:
    if entry.get("operation") not in (APPLY, UPDATE) or not isinstance(entry["manager"], str):
        raise ValueError("not a managedFields entry")
    return Manager(entry["manager"], entry["operation"], str(entry.get("apiVersion", "")),
                   str(entry.get("time", "")), entry.get("fieldsV1", {}),
                   str(entry.get("subresource", "")))


def _sent(new: Object, old: Object | None) -> list[Manager] | None:
    """The managers ``new`` carries when they are not ``old``'s and can be read (each
    decoded now), else ``old``'s (read when stored)."""
    entries = new["metadata"].get("managedFields")
    if not entries or entries == ((old or {}).get("metadata") or {}).get("managedFields"):
        return read(old)
    managers = read(new)
    try:
        for manager in managers or ():
            _ = manager.fields  # decoded now: a malformed one raises
    except (ValueError, TypeError, AttributeError):
        return read(old)
    return managers or read(old)


def write(managers: Iterable[Manager]) -> list[Object]:
    """``managedFields`` of ``managers``, those that own nothing left out."""
    return [m.entry() for m in managers if m.tree]


def cleared(obj: Object) -> bool:
    """Whether ``obj`` asks for its managedFields to go: ``[{}]`` (Kubernetes' documented
    way; an empty list keeps them, so a client unaware of them cannot drop them)."""
    entries = (obj.get("metadata") or {}).get("managedFields")
    return isinstance(entries, list) and bool(entries) and all(e == {} for e in entries)


def owned(obj: Object, reset: tuple[str, ...] = ()) -> dict[Path, Any]:
    """The fields of ``obj`` a manager may own, with their values."""
    return {path: value for path, value in fieldsets.fields(obj).items()
            if _ownable(path, reset)}


def _ownable(path: Path, reset: tuple[str, ...] = ()) -> bool:
    return (path != ("f:metadata",) and path[:1] not in IGNORED and path[:2] not in IGNORED
            and not (path[0][2:] in reset and path[0].startswith("f:")))


def _changes(old: Object | None, new: Object) -> tuple[FieldSet, FieldSet]:
    """(set or changed, removed) of the fields a manager may own, from ``old`` (None:
    created, so every field of ``new`` is set, without a diff) to ``new``."""
    if old is None:
        return frozenset(p for p in fieldsets.fields(new) if _ownable(p)), frozenset()
    changed, removed = fieldsets.changes(old, new)
    return (frozenset(p for p in changed if _ownable(p)),
            frozenset(p for p in removed if _ownable(p)))


def record(old: Object | None, new: Object, writer: Writer) -> list[Object]:
    """The ``managedFields`` of ``new`` written over ``old`` (None: created) by an update,
    a create or a non-apply patch: the managers ``new`` carries (or else ``old``'s), the
    writer's Update entry gaining the fields set or changed, the others losing them and the
    fields removed."""
    managers = _sent(new, old) or []
    if old is None and not managers:  # a create: the writer owns every field, one walk
        tree = fieldsets.tree(new, IGNORED)
        if tree.get("f:metadata") == {}:  # an empty metadata is no field of anyone's
            del tree["f:metadata"]
        return [Manager(writer.manager, UPDATE, writer.api_version, writer.time, tree,
                        writer.subresource).entry()] if tree else []
    changed, removed = _changes(old, new)
    lost = changed | removed
    kept = [m.without(lost) for m in managers]
    if not changed:
        return write(kept)
    me = (writer.manager, UPDATE, writer.subresource)
    mine = next((m.fields for m in kept if m.identity == me), frozenset())
    return write([*(m for m in kept if m.identity != me),
                  Manager.of(writer, UPDATE, mine | changed)])


def configuration(body: Any, kind: str, name: str | None) -> Object:
    """The applied configuration ``body``; BadRequest unless it is an object of ``kind``,
    named ``name`` (or unnamed), without managedFields."""
    if not isinstance(body, dict):
        raise BadRequest("an apply configuration is an object")
    if not body.get("apiVersion") or not body.get("kind"):
        raise BadRequest("an apply configuration needs apiVersion and kind")
    if body["kind"] != kind:
        raise BadRequest(f"the kind of the configuration ({body['kind']}) is not the kind of "
                         f"the resource ({kind})")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be a map")
    if metadata.get("name") not in (None, "", name):
        raise BadRequest(f"the name of the object ({metadata['name']}) does not match the "
                         f"name on the URL ({name})")
    if metadata.get("managedFields"):
        raise BadRequest("metadata.managedFields must be nil")
    return body


def apply(live: Object | None, config: Object, writer: Writer, force: bool) -> Object:
    """``live`` (None: not there yet) with ``config`` applied by ``writer``'s manager, its
    ``managedFields`` recorded; ApplyConflict when another manager owns a field it changes,
    unless ``force``."""
    before = live or {}
    managers = _managers_before(before)
    merged = _merge(copy.deepcopy(before), config, ())
    applied = _configured(config, writer.reset)
    me = (writer.manager, APPLY, writer.subresource)
    previous = next((m for m in managers if m.identity == me), None)
    others = [m for m in managers if m.identity != me]
    if previous is not None:
        _prune(merged, previous.fields - applied, applied.union(*(m.fields for m in others)))
    changed, removed = _changes(before, merged)
    conflicts = [(m, path) for m in others for path in sorted(m.fields & changed)]
    if writer.manager == KUBECTL:
        conflicts = _upgrading(before, merged, config, conflicts)
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    when = previous.time if previous and not (changed or removed) else writer.time
    lost = changed | removed
    merged.setdefault("metadata", {})["managedFields"] = write(
        [*(m.without(lost) for m in others),
         Manager.of(writer, APPLY, applied, when)])
    return merged


def _upgrading(live: Object, merged: Object, config: Object,
               conflicts: list[tuple[Manager, Path]]) -> list[tuple[Manager, Path]]:
    """kubectl's upgrade from client-side apply (kube-apiserver's, for the manager
    ``kubectl`` only, on an object with the last-applied annotation): the fields that
    annotation holds are no conflict, and the annotation becomes this configuration, so a
    later ``kubectl apply`` without ``--server-side`` goes on from it."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    try:
        last = json.loads(annotations[LAST_APPLIED])
    except (KeyError, TypeError, ValueError):
        return conflicts
    allowed = _configured(last, ()) if isinstance(last, dict) else frozenset()
    merged["metadata"].setdefault("annotations", {})[LAST_APPLIED] = json.dumps(
        _without_last_applied(config), sort_keys=True, separators=(",", ":")) + "\n"
    return [(m, path) for m, path in conflicts if path not in allowed]


def _without_last_applied(config: Object) -> Object:
    annotations = (config.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED not in annotations:
        return config
    kept = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return {**config, "metadata": {**config["metadata"], "annotations": kept}}


def _configured(config: Object, reset: tuple[str, ...]) -> FieldSet:
    """The fields a configuration sets (as kube's ToFieldSet: a map that holds fields is not
    one itself, a list item is)."""
    return frozenset(path for path, value in owned(config, reset).items()
                     if value is not fieldsets.INNER or path[-1].startswith("k:"))


def _managers_before(live: Object) -> list[Manager]:
    """``live``'s managers; for an object that records none, one that owns all its fields
    (kube-apiserver's ``before-first-apply``), so an apply cannot take them unnoticed."""
    managers = read(live)
    if managers is not None:
        return managers
    fields = frozenset(owned(live))
    version = str(live.get("apiVersion", ""))
    return [Manager(FIRST_APPLY, UPDATE, version, "", fieldsets.encode(fields))] if fields else []


def _merge(live: Any, config: Any, path: Path) -> Any:
    """``config`` merged into ``live`` (the caller's own copy, changed in place)."""
    if isinstance(config, dict):
        merged = live if isinstance(live, dict) else {}
        for key, value in config.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _merge(merged.get(key), value, (*path, f"f:{key}"))
        return merged
    items = fieldsets.elements(config, path) if isinstance(config, list) else None
    known = fieldsets.elements(live, path) if isinstance(live, list) else None
    if items is None or known is None:
        return copy.deepcopy(config)
    places = {element: n for n, element in enumerate(known)}  # a search per item: quadratic
    for element, item in zip(items, config, strict=True):
        at = places.get(element)
        if at is None:
            places[element] = len(live)
            live.append(copy.deepcopy(item))
        else:
            live[at] = _merge(live[at], item, (*path, element))
    return live


def _prune(obj: Object, dropped: FieldSet, kept: FieldSet) -> None:
    """Remove from ``obj`` the fields ``dropped`` that are not ``kept`` and hold none that
    is (an item goes whole, before its key field could be looked for)."""
    within = {other[:n] for other in kept for n in range(1, len(other) + 1)}  # a set: each
    for path in sorted(dropped - kept, key=len):  # compared with all kept was quadratic
        if path not in within:
            fieldsets.remove(obj, path)
