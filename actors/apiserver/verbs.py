"""The verbs: get, list, watch, create, update and patch (and their subresources), delete,
deletecollection, as steps over a decoded, authorized :class:`~actors.apiserver.requests.Request`.

A verb that writes is a generator: it yields the store writes and external admission calls it
waits for (the pipeline makes them without holding the worker and resumes it with the result),
and returns the object to answer with. Kubernetes' rules on what is written are ``registry``'s
pure functions; admission charges are released on every path that does not store (a refused
create, a failed update, a removal). Every create, update and patch records its writer in
``metadata.managedFields``; a patch of type apply is server-side apply (``actors.api.applying``).

Neighbours: ``server`` (the pipeline :class:`Verbs` is mixed into: ``_admit``, ``_validate``,
``_store_write``, ``_commit``), ``registry``, ``watching`` (the ``watch`` verb's registry),
``actors.store`` (reads from its view), ``customresources`` (a CRD's objects go with it).

Which thread: an apiserver worker's actor thread; a verb never blocks on a write (it yields it)
but reads the store's view, and ``watch`` with a ``resourceVersion`` asks the store actor.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

from actors.api import (
    amounts,
    applying,
    certificates,
    conversion,
    crds,
    disruptionbudgets,
    patches,
    serviceaccounts,
    users,
)
from actors.api.meta import now_rfc3339
from actors.api.objects import Object
from actors.api.resources import REVIEWS, lookup
from actors.api.selectors import matcher
from actors.apiserver import evictions
from actors.apiserver.busauth import check_owner
from actors.apiserver.options import (
    CONSISTENT_READ_SECONDS,
    EXPIRED_LIST,
    PreconditionFailed,
    check_preconditions,
    check_watch_match,
    consistent,
    fit_page,
    list_revision,
    parse_options,
    read_continue,
    too_large,
    write_continue,
)
from actors.apiserver.rbac import Attributes
from actors.apiserver.registry import (
    graceful_deletion,
    plain_copy,
    prepare_binding,
    prepare_create,
    prepare_update,
    sent_version,
    to_scale,
    unchanged,
    with_propagation,
)
from actors.apiserver.reviews import access_review, rules_review
from actors.apiserver.watching import Watcher, Watches
from bus.envelope import SHARED, packed_size
from bus.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Gone,
    NotFound,
    RequestEntityTooLarge,
    ServiceUnavailable,
    TooManyRequests,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    import pykka

    from actors.apiserver.admission.chain import AdmissionChain, Steps
    from actors.apiserver.customresources import CustomResources
    from actors.apiserver.rbac import Authorizer
    from actors.apiserver.requests import ApiServerConfig, Request, Result, Step
    from actors.apiserver.tokens import TokenIssuer
    from actors.store import StoreView
    from bus.subjects import Subjects

UPDATE_ATTEMPTS = 5
"""How often an update without a resourceVersion is computed again after a concurrent write
(kube-apiserver retries GuaranteedUpdate the same way)."""


class Verbs:
    """The verbs, mixed into :class:`~actors.apiserver.server.ApiServer` (the pipeline finds
    ``_<verb>`` by name). What they use of the pipeline is declared here."""

    config: ApiServerConfig
    subjects: Subjects
    store: pykka.ActorProxy[Any]
    view: StoreView | None
    authorizer: Authorizer
    admission: AdmissionChain
    resources: CustomResources
    watches: Watches
    token_issuer: TokenIssuer | None

    if TYPE_CHECKING:
        def get(self, resource: str, namespace: str | None, name: str) -> Object | None: ...

        def _admit(self, request: Request, operation: str, obj: Object | None,
                   old: Object | None) -> Steps: ...

        def _check_schema(self, request: Request, obj: Object) -> None: ...

        def _validate(self, request: Request, obj: Object) -> None: ...

        def _store_write(self, request: Request, op: str, obj: Object | None,
                         expected: int | None = None) -> Generator[Step, Result, Object]: ...

        def _commit(self, request: Request, stored: Object, removed: bool = False
                    ) -> Object: ...

        def _release(self, request: Request, obj: Object, old: Object | None = None
                     ) -> None: ...

        def _allocated(self, request: Request, obj: Object, old: Object | None,
                       write: Callable[[], Generator[Step, Result, Object]]
                       ) -> Generator[Step, Result, Object]: ...

        def _released(self, request: Request, removed: Object
                      ) -> Generator[Step, Result, None]: ...

    def _caught_up(self, request: Request) -> None:
        """Before a consistent read (:func:`consistent`): wait until the view holds every write
        acknowledged before it, by this apiserver or another on the same store (a synchronous,
        bounded wait on this worker's thread), 504 Too large resource version after
        :data:`CONSISTENT_READ_SECONDS`; a read at a resourceVersion is served at once."""
        assert self.view is not None, "reads before on_start"
        if consistent(request.options):
            behind = self.view.catch_up(CONSISTENT_READ_SECONDS)
            if behind is not None:
                raise too_large(*behind)

    def _share(self, request: Request, answer: Any) -> None:
        """Encode a stored object the verb answers with (a get's, a write's) once for every
        envelope that carries it: this reply, its watch events, the next get's reply
        (``bus.envelope.SHARED``). What is not the stored object itself is not kept."""
        if request.name and self.view is not None and answer is self.view.get(request.key):
            SHARED.keep(answer)

    def _get(self, request: Request) -> Object:
        """The stored object (shared: read it, never change it)."""
        self._caught_up(request)
        assert self.view is not None, "reads before on_start"
        obj = self.view.get(request.key)
        if obj is None:
            raise request.not_found()
        return to_scale(request.info, obj) if request.subresource == "scale" else obj

    def _list(self, request: Request) -> Object:
        """A list, or with ``limit`` one page of it; every page of one list is consistent at
        the revision of its first page (the ``continue`` token carries it), or of an
        ``Exact`` ``resourceVersionMatch``."""
        options = request.options
        match = matcher(options.label_selector, options.field_selector,
                        crds.selectable_fields(request.info))
        prefix = request.info.prefix(request.namespace)
        self._caught_up(request)
        assert self.view is not None, "reads before on_start"
        exact = list_revision(options, self.view.revision)
        if exact is not None:  # as it was then (resourceVersionMatch=Exact)
            try:
                items, revision, last = self.store.page_shared(
                    prefix, match, options.limit, "", exact).get()
            except Gone:
                raise Gone(EXPIRED_LIST) from None
        elif options.continue_token is None:  # now: from the view, without the store's thread
            items, revision, last = self.view.page(prefix, match, options.limit)
        else:  # at the first page's revision: rebuilt from the store's history
            at, after = read_continue(options.continue_token)
            items, revision, last = self.store.page_shared(
                prefix, match, options.limit, after, at).get()
        if options.limit is not None:
            items, last = fit_page(request.info, items, last, self.config.max_page_bytes)
        metadata: Object = {"resourceVersion": str(revision)}
        if last is not None:
            metadata["continue"] = write_continue(revision, last)
        return {"apiVersion": request.info.api_version, "kind": f"{request.info.kind}List",
                "metadata": metadata, "items": items}

    def _create(self, request: Request) -> Generator[Step, Result, Object]:
        if request.subresource == "binding":
            return (yield from self._bind(request))
        if request.subresource == "token":
            return (yield from self._token_request(request))
        if request.subresource == "eviction":
            return (yield from self._evict(request))
        if request.info.name == "tokenreviews":
            return self._issuer().review(request.envelope.body)
        if request.info.name == "selfsubjectreviews":
            return users.self_review(request.user)
        if request.info.name == "selfsubjectrulesreviews":
            return rules_review(self.authorizer, request.info, request.envelope.body,
                                request.user)
        if request.info.name in REVIEWS:
            return access_review(self.authorizer, request.info, request.envelope.body,
                                 request.user)
        return (yield from self._create_object(request, request.envelope.body))

    def _create_object(self, request: Request, body: Any) -> Generator[Step, Result, Object]:
        """Create the object ``body`` sends (the request's, or an apply's configuration)."""
        obj = prepare_create(request.info, conversion.stored(
            request.info, request.options.version, body), request.namespace,
            request.envelope.trace_id, request.envelope.id)
        named = obj["metadata"].get("name")
        request.name = named if isinstance(named, str) and named else request.name  # else 422
        if request.info.name == certificates.RESOURCE:  # who asks is who sent it
            user = request.user
            certificates.requested_by(obj, user.name, user.uid, user.groups)
        self._check_schema(request, obj)
        yield from self._admit(request, "CREATE", obj, None)
        if request.info.name == "pods":  # PrepareForCreate: after LimitRanger's resources
            obj["status"]["qosClass"] = amounts.qos_class(obj)
        self._record(request, None, obj)
        try:
            self._validate(request, obj)
            stored = yield from self._allocated(
                request, obj, None, lambda: self._store_write(request, "create", obj))
            return self._commit(request, stored)
        except AlreadyExists:
            self._release(request, obj)
            raise AlreadyExists(f'{request.info.qualified} "{request.name}" already exists',
                                details={"name": request.name, "kind": request.info.name}
                                ) from None
        except BaseException:
            self._release(request, obj)  # what admission charged for is not stored
            raise

    def _token_request(self, request: Request) -> Generator[Step, Result, Object]:
        """A token of the service account (TokenRequest), after admission saw the request."""
        issuer = self._issuer()
        account = self._get(request)
        spec, audiences, seconds = serviceaccounts.token_request(request.envelope.body,
                                                                 request.namespace or "")
        asked = {**serviceaccounts.TOKEN_REQUEST, "spec": spec,
                 "metadata": {"name": request.name, "namespace": request.namespace}}
        yield from self._admit(request, "CREATE", asked, None)
        return issuer.token_request(account, spec, seconds, audiences, self.get)

    def _evict(self, request: Request) -> Generator[Step, Result, Object]:
        """kube-apiserver's eviction (``evictions``' rules): admission sees the Eviction
        (CREATE pods/eviction), a budget that selects the pod spends one disruption (its
        status written first, so that a concurrent eviction sees it spent), then the pod is
        deleted with the Eviction's DeleteOptions. The answer is a Success Status."""
        options = parse_options(evictions.delete_options(
            request.envelope.body, request.name, request.namespace), self.subjects)
        pod = self._get(request)
        _check_preconditions(request, options.preconditions, pod)  # before a budget is spent
        yield from self._admit(request, "CREATE", request.envelope.body, None)
        budget = evictions.spend(pod, self._budgets(request.namespace))
        if budget is not None:
            metadata = budget["metadata"]
            spending = dataclasses.replace(request, info=lookup(
                disruptionbudgets.GROUP, disruptionbudgets.RESOURCE), subresource="status",
                name=metadata["name"])
            try:
                yield from self._write(spending, budget, int(metadata["resourceVersion"]))
            except Conflict:
                raise TooManyRequests("Cannot evict pod as the disruption budget changed "
                                      "meanwhile: try again", details={"retryAfterSeconds": 1}
                                      ) from None
        yield from self._delete(dataclasses.replace(request, subresource=None, options=(
            dataclasses.replace(request.options, grace_period=options.grace_period,
                                propagation_policy=options.propagation_policy,
                                preconditions=options.preconditions))))
        return evictions.SUCCESS

    def _budgets(self, namespace: str | None) -> list[Object]:
        assert self.view is not None, "reads before on_start"
        info = lookup(disruptionbudgets.GROUP, disruptionbudgets.RESOURCE)
        return list(self.view.page(info.prefix(namespace))[0])

    def _issuer(self) -> TokenIssuer:
        if self.token_issuer is None:
            raise ServiceUnavailable("this apiserver has no service account signing key")
        return self.token_issuer

    def _update(self, request: Request) -> Generator[Step, Result, Object]:
        """An update computed from the stored object and written only if that is still the
        stored one. Without a ``resourceVersion`` from the client, a concurrent write (another
        worker's) makes it start again from the new object, as kube-apiserver's
        GuaranteedUpdate does: no write is ever lost."""
        pinned = sent_version(request.envelope.body) is not None
        return (yield from self._guaranteed_update(request, lambda old: request.envelope.body,
                                                   pinned))

    def _patch(self, request: Request) -> Generator[Step, Result, Object]:
        """The stored object (as its subresource shows it: a ``scale`` patches the Scale)
        with the patch applied, then updated as an update would be: admission sees an
        UPDATE. A concurrent write makes it apply the patch again to the new object; a
        ``resourceVersion`` the patch sets is a precondition (409 when it is not the
        stored one). A patch that changes nothing writes nothing (the stored object is the
        answer, its resourceVersion the same), as kube-apiserver's storage skips a write of
        identical bytes: kubectl then says ``patched (no change)``."""
        patch_type = request.options.patch_type
        if patch_type is None:
            raise BadRequest(f"patch needs options.patchType: one of {', '.join(patches.SERVED)}")
        patch = plain_copy(request.envelope.body, "patch")  # as deep as a body may be
        if patch_type == patches.APPLY_PATCH:
            return (yield from self._apply(request))

        def patched(old: Object) -> Object:
            shown = to_scale(request.info, old) if request.subresource == "scale" else \
                conversion.served_as(request.info, request.options.version, old)
            return patches.apply(shown, patch_type, patch)

        return (yield from self._guaranteed_update(request, patched, pinned=False))

    def _guaranteed_update(self, request: Request, body_of: Callable[[Object], Any],
                           pinned: bool) -> Generator[Step, Result, Object]:
        """Update with the body ``body_of`` the stored object; on a concurrent write, again
        from the new object unless the client ``pinned`` the version it updates."""
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                return (yield from self._update_once(request, body_of))
            except Conflict as error:
                if pinned or attempt == UPDATE_ATTEMPTS - 1 or isinstance(
                        error, applying.ApplyConflict):
                    raise
        raise AssertionError("unreachable")

    def _update_once(self, request: Request, body_of: Callable[[Object], Any]
                     ) -> Generator[Step, Result, Object]:
        assert self.view is not None, "reads before on_start"
        old = self.view.get(request.key)
        if old is None:
            raise request.not_found()
        current = int(old["metadata"]["resourceVersion"])
        body = conversion.stored(request.info, request.options.version, body_of(old))
        if request.verb == "update":
            _check_sent_uid(request, body, old)
        sent = sent_version(body)
        if sent is not None and sent != current:  # before validation, as Kubernetes
            raise _conflict(request, Conflict(
                "the object has been modified; please apply your changes to the latest "
                f"version and try again (have {current}, got {sent})"))
        obj, _ = prepare_update(request.info, request.subresource, body, old)
        self._check_schema(request, obj)
        yield from self._admit(request, "UPDATE", obj, old)
        self._record(request, old, obj)
        try:
            self._validate(request, obj)
            grace = obj["metadata"].get("deletionGracePeriodSeconds")
            if obj["metadata"].get("deletionTimestamp") and graceful_deletion(
                request.info, obj, grace
            ) is None:  # the last finalizer went: the deletion completes now
                return (yield from self._remove(request, current))
            if request.verb == "patch" and unchanged(obj, old):  # kube-apiserver's no-op
                self._release(request, obj, old)
                stored = old
            else:
                stored = yield from self._allocated(
                    request, obj, old, lambda: self._write(request, obj, current))
        except BaseException:
            self._release(request, obj, old)  # what admission charged for is not stored
            raise
        return to_scale(request.info, stored) if request.subresource == "scale" else stored

    def _apply(self, request: Request) -> Generator[Step, Result, Object]:
        """Server-side apply (``actors.api.applying``): the configuration merged into the
        stored object, its fields owned by the request's ``fieldManager``; a field another
        manager owns and the apply changes is a 409 unless ``force``. An object not there yet
        is created, when the user may also ``create`` it (as kube-apiserver authorizes it)."""
        if request.subresource or conversion.converted(request.info, request.options.version):
            what = "a subresource" if request.subresource else \
                f"{request.info.kind} at {request.info.group}/{request.options.version}"
            raise BadRequest(f"server-side apply of {what} is not served yet: nothing was done")
        config = applying.configuration(request.envelope.body, request.info.kind, request.name)
        writer, force = self._writer(request), request.options.force
        assert self.view is not None, "reads before on_start"
        if self.view.get(request.key) is None:
            self.authorizer.authorize(Attributes(
                request.user, "create", group=request.info.group, resource=request.info.name,
                namespace=request.namespace))
            named = {**config, "metadata": {**(config.get("metadata") or {}),
                                            "name": request.name}}
            with contextlib.suppress(AlreadyExists):  # created meanwhile: applied to it
                return (yield from self._create_object(
                    request, applying.apply(None, named, writer, force)))
        return (yield from self._guaranteed_update(
            request, lambda old: applying.apply(old, config, writer, force), pinned=False))

    def _writer(self, request: Request) -> applying.Writer:
        """Who writes, as ``managedFields`` records it: the ``fieldManager`` option, else the
        name the request was sent under."""
        info = request.info
        return applying.Writer(
            request.options.field_manager or request.envelope.sender or "unknown",
            info.api_version, now_rfc3339(), request.subresource or "",
            reset=("status",) if not request.subresource and "status" in info.subresources
            else ())

    def _record(self, request: Request, old: Object | None, obj: Object) -> None:
        """Set ``obj``'s ``managedFields`` (in place) as its write leaves them: the writer's
        Update entry gains what it set (an apply has recorded its own); ``[{}]`` clears
        them."""
        metadata = obj["metadata"]
        if request.options.patch_type == patches.APPLY_PATCH:
            return
        entries = [] if applying.cleared(obj) else applying.record(old, obj,
                                                                   self._writer(request))
        if entries:
            metadata["managedFields"] = entries
        else:
            metadata.pop("managedFields", None)

    def _bind(self, request: Request) -> Generator[Step, Result, Object]:
        old = self._get(request)
        bound = prepare_binding(old, request.envelope.body)
        yield from self._admit(request, "CREATE", bound, old)
        yield from self._write(request, bound, int(old["metadata"]["resourceVersion"]))
        return {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}

    def _delete(self, request: Request) -> Generator[Step, Result, Object]:
        """Delete (or mark for deletion) the object. With ``preconditions``, it is removed
        only at the revision they held for; a concurrent write makes the delete read and
        check again (kube-apiserver's guaranteed update), a failed one is 409."""
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                return (yield from self._delete_once(request))
            except PreconditionFailed:
                raise
            except Conflict:
                if not request.options.preconditions or attempt == UPDATE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _delete_once(self, request: Request) -> Generator[Step, Result, Object]:
        old = self._get(request)
        _check_preconditions(request, request.options.preconditions, old)
        yield from self._admit(request, "DELETE", None, old)
        propagated = with_propagation(old, request.options.propagation_policy)
        marked = graceful_deletion(request.info, propagated, request.options.grace_period)
        if marked is old:
            return old
        current = int(old["metadata"]["resourceVersion"])
        if marked is not None:
            return (yield from self._write(request, marked, current))
        return (yield from self._remove(request, current if request.options.preconditions
                                        else None))

    def _deletecollection(self, request: Request) -> Generator[Step, Result, Object]:
        """Delete every object the selectors match, each as its own delete (admission
        included); objects gone meanwhile are skipped. The reply lists what each delete
        returned."""
        deleted = []
        for obj in self._list(dataclasses.replace(
                request, options=dataclasses.replace(request.options, limit=None,
                                                     continue_token=None)))["items"]:
            item = dataclasses.replace(request, name=obj["metadata"]["name"])
            with contextlib.suppress(NotFound):
                deleted.append((yield from self._delete(item)))
        return {"apiVersion": request.info.api_version, "kind": f"{request.info.kind}List",
                "metadata": {}, "items": deleted}

    def _remove(self, request: Request, expected: int | None = None
                ) -> Generator[Step, Result, Object]:
        if request.info.name == crds.RESOURCE and request.info.group == crds.GROUP:
            yield from self._remove_custom_objects(request)
        try:
            removed = yield from self._store_write(request, "delete", None, expected)
        except NotFound:
            raise request.not_found() from None
        except Conflict as error:
            raise _conflict(request, error) from None
        self._release(request, removed)
        yield from self._released(request, removed)
        return self._commit(request, removed, removed=True)

    def _remove_custom_objects(self, request: Request) -> Generator[Step, Result, None]:
        """Remove every object of the resource the CRD ``request`` names serves, before the
        CRD itself (apiextensions-apiserver's ``customresourcecleanup`` finalizer), each
        with its watch event."""
        assert self.view is not None, "reads before on_start"
        info = next((i for i in self.resources.served.custom if i.definition == request.name),
                    None)
        if info is None:
            return
        for obj in self.view.page(info.prefix(None))[0]:
            metadata = obj["metadata"]
            item = dataclasses.replace(request, info=info, namespace=metadata.get("namespace"),
                                       name=metadata["name"])
            with contextlib.suppress(NotFound):
                removed = yield from self._store_write(item, "delete", None)
                self._release(item, removed)  # a quota's count of it (none in a dry run)
                self._commit(item, removed, removed=True)

    def _write(self, request: Request, obj: Object, expected: int | None
               ) -> Generator[Step, Result, Object]:
        try:
            stored = yield from self._store_write(request, "update", obj, expected)
            return self._commit(request, stored)
        except NotFound:
            raise request.not_found() from None
        except Conflict as error:
            raise _conflict(request, error) from None

    def _watch(self, request: Request) -> Object:
        """Open, renew or stop a watch (its events come from :class:`Watches`)."""
        options, watches = request.options, self.watches
        watch_id = options.watch_id
        if watch_id is None:
            raise BadRequest("watch needs options.watchId (the client subscribes to its subject)")
        check_watch_match(options.resource_version_match)
        check_owner(request.sender, self.subjects.watch_owner(watch_id),
                    "watch events")
        existing = watches.get(watch_id)
        if existing is not None and existing.user != request.user.name:
            raise Conflict(f"watch {watch_id} belongs to another user")
        if options.stop:
            watches.forget(watch_id)
            return {"watchId": watch_id, "stopped": True}
        if existing is not None:
            watches.renew(existing, options.bookmarks)
            return {"watchId": watch_id, "renewed": True, "seq": existing.sequence}
        if watches.held_by(request.user.name) >= self.config.max_watches:
            raise TooManyRequests(f'user "{request.user.name}" has {self.config.max_watches} '
                                  "watches open; stop some first")
        watcher = Watcher(
            id=watch_id, subject=self.subjects.watch(watch_id),
            owner=request.envelope.sender or request.user.name, user=request.user.name,
            info=request.info, namespace=request.namespace,
            match=matcher(options.label_selector, options.field_selector,
                          crds.selectable_fields(request.info)),
            revision=0, lease_seconds=options.lease_seconds, version=options.version,
        )
        watcher.renew()
        if options.resource_version is not None:
            current = self.store.revision().get()
            if options.resource_version > current:
                raise too_large(options.resource_version, current)
            watcher.revision = options.resource_version
            watches.replay(watcher, self.store.events_since(options.resource_version).get())
        else:  # every later commit reaches this worker after this snapshot: none is missed
            assert self.view is not None, "watches before on_start"
            items, watcher.revision, _ = self.view.page(request.info.prefix(request.namespace),
                                                        watcher.match)
            check_initial_list(items, self.config.max_watch_initial_bytes)
            for obj in items:
                watches.push(watcher, "ADDED", obj)
        watches.add(watcher)
        reply = {"watchId": watch_id, "resourceVersion": str(watcher.revision),
                 "seq": watcher.sequence}
        return reply if self.config.server is None else {**reply, "server": self.config.server}


def check_initial_list(items: list[Object], limit: int) -> None:
    """RequestEntityTooLarge when a watch's initial list is over ``limit`` bytes (packed):
    nothing is opened; the client narrows it, or lists in pages and watches from the list."""
    size = sum(packed_size(obj) for obj in items)
    if size > limit:
        raise RequestEntityTooLarge(
            f"the initial list of this watch is {size} bytes, over the limit of {limit}: "
            "narrow it with a selector or a namespace, or list in pages and watch from the "
            "list's resourceVersion")


def _conflict(request: Request, error: Conflict) -> Conflict:
    return Conflict(f'Operation cannot be fulfilled on {request.info.qualified} '
                    f'"{request.name}": {error.message}')


def _check_sent_uid(request: Request, body: Any, old: Object) -> None:
    """The ``metadata.uid`` an update sends is a precondition, as kube-apiserver takes it
    (``rest.DefaultUpdatedObjectInfo.Preconditions``): 409 when the stored object of that name
    is another one (deleted and made again), so that a write meant for the old one (a
    kubelet's status of the pod it ran) never lands on the new one."""
    metadata = body.get("metadata") if isinstance(body, dict) else None
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    if uid:
        _check_preconditions(request, (("uid", str(uid)),), old)


def _check_preconditions(request: Request, preconditions: tuple[tuple[str, str], ...],
                         obj: Object) -> None:
    try:
        check_preconditions(preconditions, obj)
    except PreconditionFailed as error:
        raise PreconditionFailed(_conflict(request, error).message) from None
