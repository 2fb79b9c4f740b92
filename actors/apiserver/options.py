"""Verb options (``envelope.opts``), checked once: a wrong type or value is a 400, never a 500.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

from actors.api import patches, podlogs
from actors.api.objects import Object
from actors.api.resources import ResourceInfo
from actors.api.validation import FIELD_VALIDATION
from actors.api.watches import DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS, MIN_LEASE_SECONDS
from bus.envelope import packed_size
from bus.errors import BadRequest, Conflict, Invalid, ServerTimeout, UnsupportedMediaType
from bus.subjects import Subjects

PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")
MAX_GRACE_SECONDS = (1 << 63) // 10**9
MAX_SELECTOR_BYTES = 8192
"""Longest label or field selector: what an HTTP client can send in a request line (the
HTTPS front reads 8190 bytes of one). A watch's selector is matched against each event on the
process's one watch worker, whose time no flow control counts: one of 790 KB in a bus message
(100,000 ``!kN`` terms) took 8 ms an event, for each of a user's 256 watches."""
"""Longest grace period of a delete: kube-apiserver holds it as an int64 of nanoseconds (about
292 years), and a deletionTimestamp that far ahead is still a date here."""


@dataclass(frozen=True, slots=True)
class Options:
    label_selector: str | None = None
    field_selector: str | None = None
    resource_version: int | None = None
    """``None``: from now, after the current objects as ADDED."""
    watch_id: str | None = None
    stop: bool = False
    bookmarks: bool = False
    """``watch``: the client wants BOOKMARK events (``allowWatchBookmarks``)."""
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    grace_period: int | None = None
    propagation_policy: str | None = None
    """``delete``: ``Orphan``, ``Background`` or ``Foreground`` (None: Background)."""
    container: str | None = None
    """``pods/log``: which container (the only one when omitted)."""
    tail_lines: int | None = None
    """``pods/log``: only the last lines."""
    previous: bool = False
    """``pods/log``: the log of the container's previous (terminated) instance, which the
    kubelet keeps beside the latest, as Kubernetes' kubelet does."""
    timestamps: bool = False
    """``pods/log``: each line prefixed with its RFC3339Nano time."""
    since_seconds: int | None = None
    """``pods/log``: only what the container wrote this many seconds ago or later."""
    since_time: str | None = None
    """``pods/log``: only what the container wrote at this RFC3339 time or later."""
    limit_bytes: int | None = None
    """``pods/log``: at most this many bytes of the log (a followed one ends there)."""
    follow_to: str | None = None
    """``pods/log``: follow the log, streamed by the kubelet to this subject (the caller's
    ``<prefix>.inbox.<owner>.logs.<id>``; see docs/PROTOCOL.md)."""
    limit: int | None = None
    """``list``: at most this many objects; ``metadata.continue`` then fetches the rest."""
    continue_token: str | None = None
    """``list``: the ``metadata.continue`` of the previous page."""
    field_validation: str = "Warn"
    """``create``, ``update``: what an unknown field costs (``Strict``: the request, ``Warn``:
    a warning, ``Ignore``: nothing; it is dropped unless refused). kube-apiserver's default."""
    patch_type: str | None = None
    """``patch``: how the body patches the object (``actors.api.patches.SERVED``)."""
    version: str | None = None
    """The served version of the resource the client reads and writes at (an HTTP request's
    path names it): a custom resource's answers and watch events come in it, a patch
    applies to the object shown in it. None: the storage version."""
    dry_run: bool = False
    """``create``, ``update``, ``patch``, ``delete``, ``deletecollection``: everything but the
    store write (``dryRun: ["All"]``, Kubernetes' only value)."""
    field_manager: str | None = None
    """``create``, ``update``, ``patch``: the manager ``metadata.managedFields`` records the
    write under (required for an apply). None: the sender's name."""
    force: bool = False
    """``patch`` of type apply: take the fields other managers own instead of a conflict."""
    resource_version_match: str | None = None
    """``list``: ``Exact`` (the list as it was at ``resourceVersion``) or ``NotOlderThan``
    (at least that fresh): :func:`list_revision`. None: now."""
    preconditions: tuple[tuple[str, str], ...] = ()
    """``delete``, ``deletecollection`` (and an eviction's ``deleteOptions``): the ``uid``
    and ``resourceVersion`` the object must have, checked with the delete
    (:func:`check_preconditions`)."""


def _typed(raw: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = raw.get(key)
    wrong_type = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
    if value is not None and wrong_type:
        raise BadRequest(f"options.{key} has the wrong type ({type(value).__name__})")
    return value


def _selector(raw: dict[str, Any], key: str) -> str | None:
    """A selector of at most :data:`MAX_SELECTOR_BYTES` characters; BadRequest past it."""
    value = _typed(raw, key, str) or None
    if value is not None and len(value) > MAX_SELECTOR_BYTES:
        raise BadRequest(f"options.{key} is {len(value)} characters long, over the limit of "
                         f"{MAX_SELECTOR_BYTES}")
    return value


NO_OPTIONS = Options()
"""A request's options when it sends none (most do): one, shared, as Options never change."""


def parse_options(raw: Any, subjects: Subjects) -> Options:
    """The options of one request; BadRequest naming the first bad one."""
    if raw is None:
        return NO_OPTIONS
    if not isinstance(raw, dict):
        raise BadRequest("options must be a map")
    version = _typed(raw, "resourceVersion", (str, int))
    if version is not None and version != "" and not str(version).isdigit():
        raise BadRequest(f"options.resourceVersion {version!r} is not a resource version")
    watch_id = _typed(raw, "watchId", str)
    if watch_id:
        try:
            subjects.watch(watch_id)
        except ValueError as error:
            raise BadRequest(f"options.watchId: {error}") from None
    lease = _typed(raw, "leaseSeconds", (int, float))
    if lease is not None and (not math.isfinite(lease)
                              or not MIN_LEASE_SECONDS <= lease <= MAX_LEASE_SECONDS):
        raise BadRequest(f"options.leaseSeconds must be between {MIN_LEASE_SECONDS:g} and "
                         f"{MAX_LEASE_SECONDS:g}")
    grace = _typed(raw, "gracePeriodSeconds", int)
    if grace is not None and not 0 <= grace <= MAX_GRACE_SECONDS:
        raise BadRequest(f"options.gracePeriodSeconds must be between 0 and "
                         f"{MAX_GRACE_SECONDS}")
    limit = _typed(raw, "limit", int)
    if limit is not None and limit < 0:
        raise BadRequest("options.limit must be 0 or more")
    policy = _typed(raw, "propagationPolicy", str)
    if policy is not None and policy not in PROPAGATION_POLICIES:
        raise BadRequest(f'options.propagationPolicy: Unsupported value: "{policy}": '
                         'supported values: "Orphan", "Background", "Foreground"')
    tail = _typed(raw, "tailLines", int)
    if tail is not None and tail < 0:
        raise BadRequest("options.tailLines must be 0 or more")
    fields = _typed(raw, "fieldValidation", str) or "Warn"
    if fields not in FIELD_VALIDATION:
        raise BadRequest(f'options.fieldValidation: Unsupported value: "{fields}": supported '
                         'values: "Ignore", "Warn", "Strict"')
    patch_type = _typed(raw, "patchType", str) or None
    if patch_type is not None and patch_type not in patches.SERVED:
        raise UnsupportedMediaType(
            f"the body of the request was in an unknown format ({patch_type}) - accepted "
            f"media types include: {', '.join(patches.SERVED)}")
    manager = _typed(raw, "fieldManager", str) or None
    force = bool(_typed(raw, "force", bool))
    _check_manager(patch_type, manager, force)
    version_match = _typed(raw, "resourceVersionMatch", str) or None
    _check_version_match(version_match, version, _typed(raw, "continue", str))
    since_seconds, since_time = _typed(raw, "sinceSeconds", int), _typed(raw, "sinceTime", str)
    limit_bytes = _typed(raw, "limitBytes", int)
    logging = podlogs.problems(since_seconds, since_time, limit_bytes)
    if logging:
        raise Invalid(f'PodLogOptions "" is invalid: {", ".join(logging)}',
                      details={"kind": "PodLogOptions", "causes": logging})
    follow_to = _typed(raw, "followTo", str) or None
    if follow_to is not None and subjects.stream_op(follow_to) is None:
        raise BadRequest("options.followTo must be a subject "
                         f"{subjects.inbox_prefix}.<owner>.logs|exec.<id>")
    return Options(
        dry_run=_dry_run(raw),
        follow_to=follow_to,
        container=_typed(raw, "container", str) or None,
        limit=limit or None,
        continue_token=_typed(raw, "continue", str) or None,
        tail_lines=tail,
        previous=bool(_typed(raw, "previous", bool)),
        label_selector=_selector(raw, "labelSelector"),
        field_selector=_selector(raw, "fieldSelector"),
        resource_version=int(version) if version not in (None, "") else None,
        watch_id=watch_id or None,
        stop=bool(_typed(raw, "stop", bool)),
        bookmarks=bool(_typed(raw, "allowWatchBookmarks", bool)),
        lease_seconds=float(lease) if lease is not None else DEFAULT_LEASE_SECONDS,
        grace_period=grace,
        propagation_policy=policy,
        field_validation=fields,
        patch_type=patch_type,
        version=_typed(raw, "version", str) or None,
        field_manager=manager,
        force=force,
        preconditions=_preconditions(raw),
        timestamps=bool(_typed(raw, "timestamps", bool)),
        since_seconds=since_seconds,
        since_time=since_time,
        limit_bytes=limit_bytes,
        resource_version_match=version_match,
    )


PRECONDITIONS = {"uid": "UID", "resourceVersion": "ResourceVersion"}
"""DeleteOptions' ``preconditions`` and the words kube-apiserver names them with."""


def _preconditions(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """``preconditions``: a map of ``uid`` and ``resourceVersion``, each a string."""
    asked = _typed(raw, "preconditions", dict) or {}
    unknown = sorted(set(asked) - set(PRECONDITIONS))
    if unknown:
        raise BadRequest(f"options.preconditions: unknown field {unknown[0]!r}")
    for key, value in asked.items():
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"options.preconditions.{key} must be a string")
    return tuple((key, value) for key, value in asked.items() if value is not None)


class PreconditionFailed(Conflict):
    """A delete's precondition does not hold: 409, never retried."""

    retryable = False


def check_preconditions(preconditions: tuple[tuple[str, str], ...], obj: Object) -> None:
    """PreconditionFailed, in kube-apiserver's words, unless ``obj`` has the ``uid`` and
    ``resourceVersion`` the preconditions name."""
    metadata = obj["metadata"]
    for key, asked in preconditions:
        held = metadata.get(key, "")
        if asked != held:
            raise PreconditionFailed(f"Precondition failed: {PRECONDITIONS[key]} in "
                                     f"precondition: {asked}, {PRECONDITIONS[key]} in object "
                                     f"meta: {held}")


DRY_RUN_ALL = "All"


def _dry_run(raw: dict[str, Any]) -> bool:
    """``dryRun``: a list of which only ``All`` is a value (empty: a real request)."""
    asked = _typed(raw, "dryRun", list) or []
    for value in asked:
        if value != DRY_RUN_ALL:
            raise BadRequest(f'options.dryRun: Unsupported value: {json.dumps(value)}: '
                             f'supported values: "{DRY_RUN_ALL}"')
    return bool(asked)


MAX_MANAGER_LENGTH = 128
"""Longest ``fieldManager`` (kube-apiserver's)."""


def _check_manager(patch_type: str | None, manager: str | None, force: bool) -> None:
    """Invalid (as kube-apiserver's PatchOptions validation) when an apply names no manager,
    another patch is forced, or the manager's name is too long or not printable."""
    problems = []
    if patch_type == patches.APPLY_PATCH and manager is None:
        problems.append("fieldManager: Required value: is required for apply patch")
    if force and patch_type != patches.APPLY_PATCH:
        problems.append("force: Forbidden: may not be specified for non-apply patch")
    if manager is not None and len(manager) > MAX_MANAGER_LENGTH:
        problems.append(f"fieldManager: Too long: may not be more than {MAX_MANAGER_LENGTH} "
                        "bytes")
    elif manager is not None and not manager.isprintable():
        problems.append(f"fieldManager: Invalid value: {manager!r}: must only contain "
                        "printable characters")
    if problems:
        raise Invalid(f'PatchOptions.meta.k8s.io "" is invalid: {", ".join(problems)}',
                      details={"kind": "PatchOptions", "causes": problems})


def write_continue(revision: int, last_key: str) -> str:
    """The opaque ``metadata.continue`` of a page: where the next one starts, and when."""
    raw = json.dumps({"rv": revision, "start": last_key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def read_continue(token: str) -> tuple[int, str]:
    """(revision, last key) from a continue token; BadRequest when it is not one."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(decoded["rv"]), str(decoded["start"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("options.continue is not a valid continue token") from None


def fit_page(info: ResourceInfo, items: list[Object], last: str | None, max_bytes: int
             ) -> tuple[list[Object], str | None]:
    """A page's ``items`` cut to the first ones that fit ``max_bytes`` packed (at least one),
    and the key the next page starts after (``last``, the page's own, when nothing was cut):
    a page of large objects shrinks so that its reply fits the bus, as kube-apiserver may
    return fewer items than ``limit``. The client follows ``continue`` as for any page."""
    used = 0
    for count, obj in enumerate(items):
        used += packed_size(obj)
        if used > max_bytes and count:
            metadata = items[count - 1]["metadata"]
            return items[:count], info.key(metadata.get("namespace"), metadata["name"])
    return items, last


EXACT, NOT_OLDER_THAN = "Exact", "NotOlderThan"


def _list_options_invalid(*problems: str) -> Invalid:
    return Invalid(f'ListOptions.meta.k8s.io "" is invalid: {", ".join(problems)}',
                   details={"kind": "ListOptions", "group": "meta.k8s.io",
                            "causes": list(problems)})


def _check_version_match(match: str | None, version: Any, continue_token: str | None) -> None:
    """Invalid, as kube-apiserver's ListOptions validation, for a ``resourceVersionMatch``
    without a resourceVersion, with a continue token, of another value, or ``Exact`` at "0"."""
    if match is None:
        return
    field = "resourceVersionMatch"
    problems = []
    if version in (None, ""):
        problems.append(f"{field}: Forbidden: {field} is forbidden unless resourceVersion is "
                        "provided")
    if continue_token:
        problems.append(f"{field}: Forbidden: {field} is forbidden when continue is provided")
    if match not in (EXACT, NOT_OLDER_THAN):
        problems.append(f'{field}: Unsupported value: "{match}": supported values: '
                        f'"{EXACT}", "{NOT_OLDER_THAN}", ""')
    if match == EXACT and str(version) == "0":
        problems.append(f'{field}: Forbidden: {field} "exact" is forbidden for resourceVersion '
                        '"0"')
    if problems:
        raise _list_options_invalid(*problems)


def check_watch_match(match: str | None) -> None:
    """Invalid for a watch with a ``resourceVersionMatch`` (kube-apiserver allows one only
    with ``sendInitialEvents``, which is not served)."""
    if match:
        raise _list_options_invalid(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch "
            "unless sendInitialEvents is provided")


CONSISTENT_READ_SECONDS = 3.0
"""How long a consistent read waits for this apiserver's store view to apply every write
acknowledged before it (kube-apiserver's wait for a fresh watch cache: 3 s), then 504."""


def consistent(options: Options) -> bool:
    """Whether a get or list must see every write acknowledged before it, by any apiserver
    (KEP-2340, etcd's quorum read): no ``resourceVersion`` (nor ``""``), no
    ``resourceVersionMatch``, no ``continue`` (a later page is read at the first one's)."""
    return (options.resource_version is None and options.resource_version_match is None
            and options.continue_token is None)


def too_large(asked: int, current: int) -> ServerTimeout:
    """A read asked at a revision this apiserver has not seen yet: 504 with kube-apiserver's
    words and cause; the client asks again after a second."""
    return ServerTimeout(f"Too large resource version: {asked}, current: {current}", details={
        "causes": [{"reason": "ResourceVersionTooLarge",
                    "message": "Too large resource version"}], "retryAfterSeconds": 1})


EXPIRED_LIST = "The resourceVersion for the provided list is too old."
"""Why an ``Exact`` list at a revision the history no longer holds is 410 Gone
(kube-apiserver's words)."""


def list_revision(options: Options, current: int) -> int | None:
    """The revision a list is served at (None: now, ``current``): ``Exact``'s; ``too_large``
    when a ``resourceVersionMatch`` asks for one past ``current``."""
    if options.resource_version_match is None:
        return None
    asked = options.resource_version or 0
    if asked > current:
        raise too_large(asked, current)
    return asked if options.resource_version_match == EXACT else None
