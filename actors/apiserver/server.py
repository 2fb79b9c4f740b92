"""The apiserver actor: the cluster's only door, and the only holder of the store.

Every request on ``<prefix>.api.>`` (queue group ``apiserver``) goes through the same pipeline
on this actor's thread: decode -> authenticate -> authorize (RBAC) -> admission (mutating, then
validating) -> schema validation -> store -> reply. Each store commit is published as a span on
``<prefix>.trace.store`` and pushed to the watchers whose filter it matches, on
``<prefix>.watch.<id>``.

Neighbours: ``authn``, ``rbac``, ``admission``, ``registry`` and ``watching`` in this package
hold the decisions; ``actors.store`` holds the data.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

import pykka

from actors.apiserver.admission import AdmissionChain, AdmissionRequest, default_chain
from actors.apiserver.authn import Authenticator, UserInfo
from actors.apiserver.options import Options, parse_options, read_continue, write_continue
from actors.apiserver.rbac import Attributes, Authorizer, bootstrap_policy
from actors.apiserver.registry import (
    graceful_deletion,
    prepare_binding,
    prepare_create,
    prepare_update,
    sent_version,
    to_scale,
    with_propagation,
)
from actors.apiserver.watching import Watcher, event_type_for
from actors.objects import (
    RESOURCES,
    SYSTEM_NAMESPACES,
    ResourceInfo,
    lookup,
    trace_id_of,
    validate,
)
from actors.selectors import matcher
from actors.store import StoreEvent, StoreWriter
from bus.actor import BusActor
from bus.connection import Connection, Incoming
from bus.envelope import Envelope, new_id, packed_size
from bus.errors import (
    AlreadyExists,
    BadRequest,
    BusError,
    Conflict,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestEntityTooLarge,
    ServerTimeout,
    ServiceUnavailable,
    TooManyRequests,
)

log = logging.getLogger(__name__)

Object = dict[str, Any]

VERBS = ("get", "list", "watch", "create", "update", "delete")
SUBRESOURCE_VERBS = {"status": ("get", "update"), "binding": ("create",), "log": ("get",),
                     "exec": ("create",), "scale": ("get", "update"), "finalize": ("update",)}
"""The verbs each subresource answers; any other is 405, never the parent's handler."""
NODE_CALLS = {("get", "log"): "logs", ("create", "exec"): "exec"}
UPDATE_ATTEMPTS = 5
"""How often an update without a resourceVersion is computed again after a concurrent write
(kube-apiserver retries GuaranteedUpdate the same way)."""
"""Subresources served by the pod's kubelet: (verb, subresource) -> op of ``P.node.<n>.<op>``."""
_BY_KIND = {info.kind: info for info in RESOURCES}


@dataclass(frozen=True, slots=True)
class ApiServerConfig:
    name: str = "apiserver"
    """Component name on the bus (envelope ``sender``)."""
    queue: str = "apiserver"
    """NATS queue group: replicas in one group share the requests."""
    serves_watches: bool = True
    """This worker holds the watchers (one per apiserver; the others serve every other verb)."""
    bootstrap: bool = True
    """This worker loads the RBAC policy and creates the bootstrap objects at start."""
    max_watches: int = 256
    """Open watches one user may hold; each costs work on every commit."""
    node_call_seconds: float = 300.0
    """How long a ``pods/log`` or ``pods/exec`` call may wait for the kubelet."""
    max_object_bytes: int = 256 * 1024
    """Largest object stored (packed). Well under NATS's 1 MiB max payload, so that the object,
    its reply and its watch events always fit (etcd's own limit is 1.5 MiB per request)."""


@dataclass(slots=True)
class Request:
    """One decoded, authenticated request."""

    verb: str
    info: ResourceInfo
    subresource: str | None
    namespace: str | None
    name: str | None
    user: UserInfo
    envelope: Envelope
    options: Options

    @property
    def key(self) -> str:
        if not self.name:
            raise BadRequest(f"{self.verb} {self.info.name} needs a name")
        return self.info.key(self.namespace, self.name)

    @property
    def qualified(self) -> str:
        """kube-apiserver's name of the resource in messages: ``pods``, ``deployments.apps``."""
        group = f".{self.info.group}" if self.info.group else ""
        return f"{self.info.name}{group}"

    def not_found(self) -> NotFound:
        return NotFound(f'{self.qualified} "{self.name}" not found',
                        details={"name": self.name, "kind": self.info.name})


class ApiServer(BusActor):
    """See the module docstring. ``store`` is the store actor's proxy."""

    def __init__(
        self,
        connection: Connection,
        store: pykka.ActorProxy[Any],
        authenticator: Authenticator,
        admission: AdmissionChain | None = None,
        config: ApiServerConfig | None = None,
        authorizer: Authorizer | None = None,
    ) -> None:
        """``authorizer`` is shared by the workers of one apiserver, so that a policy change
        committed by one applies to the next request of every other."""
        super().__init__(connection)
        self.store = store
        self.authenticator = authenticator
        self.admission = admission or default_chain(self._lookup)
        self.config = config or ApiServerConfig()
        self.authorizer = authorizer or Authorizer()
        self.writer: StoreWriter | None = None
        self.watchers: dict[str, Watcher] = {}
        self._dispatched = 0
        """The last store revision whose event went past every watcher."""

    def subscriptions(self) -> list[tuple[str, str]]:
        """Every verb but watch, shared with the other workers (queue group); watches only on
        the worker that holds the watchers, in a queue group of their own."""
        subjects = [(self.subjects.api_verb(verb), self.config.queue)
                    for verb in VERBS if verb != "watch"]
        if self.config.serves_watches:
            subjects.append((self.subjects.api_verb("watch"), f"{self.config.queue}-watch"))
        return subjects

    def on_start(self) -> None:
        self.writer = self.store.writer().get()
        if self.config.serves_watches:  # the watch worker hears every commit
            self.store.add_listener(self.tell_self).get()
        if self.config.bootstrap:
            for info in RESOURCES:
                if info.group == "rbac.authorization.k8s.io":
                    for obj in self.store.list(info.prefix(None)).get()[0]:
                        self.authorizer.observe(obj)
            self._bootstrap()
        super().on_start()  # serve only once the policy is in place

    def _bootstrap(self) -> None:
        """Create the system namespaces and the bootstrap RBAC policy when missing."""
        namespaces = [{"metadata": {"name": name}} for name in SYSTEM_NAMESPACES]
        for info, obj in [(lookup("", "namespaces"), ns) for ns in namespaces] + [
            (_BY_KIND[obj["kind"]], obj) for obj in bootstrap_policy()
        ]:
            prepared = prepare_create(info, obj, None, None)
            key = info.key(None, prepared["metadata"]["name"])
            with contextlib.suppress(AlreadyExists):
                self.authorizer.observe(self.store.create(key, prepared).get())

    # -- the pipeline ------------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> Envelope | None:
        started = time.monotonic()
        request = self._decode(incoming)
        # As in Kubernetes, a create is not authorized by name: the name is in the body.
        by_name = request.name if request.verb != "create" or request.subresource else None
        self.authorizer.authorize(Attributes(
            request.user, request.verb, request.info.group, request.info.name,
            request.subresource, request.namespace, by_name,
        ))
        if (request.verb, request.subresource) in NODE_CALLS:
            self._call_node(request, incoming.reply_to)
            return None  # the kubelet's answer is relayed when it comes
        body = getattr(self, f"_{request.verb}")(request)
        reply = request.envelope.reply(
            body, code=201 if request.verb == "create" else 200, sender=self.config.name
        )
        reply.options = {"latencyMs": round((time.monotonic() - started) * 1000, 3)}
        return reply

    def _decode(self, incoming: Incoming) -> Request:
        envelope = incoming.envelope
        parsed = self.subjects.parse_api(incoming.subject)
        if parsed is None:
            raise BadRequest(f"not an API subject: {incoming.subject}")
        resource, _, subresource = parsed.resource.partition("/")
        info = lookup(parsed.group, resource)
        if subresource and subresource not in info.subresources:
            raise NotFound(f'{resource} has no subresource "{subresource}"')
        if subresource and parsed.verb not in SUBRESOURCE_VERBS.get(subresource, ()):
            raise MethodNotAllowed(f'the server does not allow "{parsed.verb}" on '
                                   f"{resource}/{subresource}")
        if parsed.verb not in VERBS:
            raise BadRequest(f'unknown verb "{parsed.verb}" (known: {", ".join(VERBS)})')
        if envelope.verb not in (None, parsed.verb) or envelope.resource not in (None, resource):
            raise BadRequest("envelope verb/resource do not match the subject")
        for field in ("namespace", "name"):
            if not isinstance(getattr(envelope, field), str | None):
                raise BadRequest(f"envelope field {field!r} must be a string")
        user = self.authenticator.authenticate(envelope.auth)
        namespace = envelope.namespace if info.namespaced else None
        if info.namespaced and not namespace and parsed.verb not in ("list", "watch"):
            raise BadRequest(f"{parsed.verb} {info.name} needs a namespace")
        return Request(parsed.verb, info, subresource or None, namespace or None,
                       envelope.name or None, user, envelope,
                       parse_options(envelope.options, self.subjects))

    def _admit(self, request: Request, operation: str, obj: Object | None, old: Object | None
               ) -> None:
        name = (obj or old or {}).get("metadata", {}).get("name", request.name or "")
        self.admission.run(AdmissionRequest(
            operation, request.info, request.subresource, request.namespace, name, obj, old,
            request.user,
        ))

    def _validate(self, request: Request, obj: Object) -> None:
        validate(request.info, obj)
        size = packed_size(obj)
        if size > self.config.max_object_bytes:
            raise RequestEntityTooLarge(
                f'{request.info.name} "{request.name}" is too large: {size} bytes, the limit is '
                f"{self.config.max_object_bytes}")

    def _store_write(self, request: Request, op: str, obj: Object | None,
                     expected: int | None = None) -> Object:
        """Hand a write to the store's group commit; blocks until it is durable."""
        assert self.writer is not None, "writes before on_start"
        return self.writer.write(op, request.key, obj, expected, self._commit_span(request))

    def _lookup(self, resource: str, namespace: str | None, name: str) -> Object | None:
        info = lookup("", resource)
        return self.store.get_or_none(info.key(namespace, name)).get()

    # -- verbs -------------------------------------------------------------------------------

    def _get(self, request: Request) -> Object:
        obj = self.store.get_or_none(request.key).get()
        if obj is None:
            raise request.not_found()
        return to_scale(request.info, obj) if request.subresource == "scale" else obj

    def _list(self, request: Request) -> Object:
        """A list, or with ``limit`` one page of it; every page of one list is consistent at
        the revision of its first page (the ``continue`` token carries it)."""
        options = request.options
        match = matcher(options.label_selector, options.field_selector)
        revision, after = (None, "") if options.continue_token is None else (
            read_continue(options.continue_token))
        items, revision, last = self.store.page(
            request.info.prefix(request.namespace), match, options.limit, after, revision
        ).get()
        metadata: Object = {"resourceVersion": str(revision)}
        if last is not None:
            metadata["continue"] = write_continue(revision, last)
        return {"apiVersion": request.info.api_version, "kind": f"{request.info.kind}List",
                "metadata": metadata, "items": items}

    def _create(self, request: Request) -> Object:
        if request.subresource == "binding":
            return self._bind(request)
        envelope = request.envelope
        obj = prepare_create(request.info, envelope.body, request.namespace, envelope.trace_id)
        request.name = obj["metadata"].get("name") or request.name
        self._admit(request, "CREATE", obj, None)
        self._validate(request, obj)
        try:
            return self._commit(request, self._store_write(request, "create", obj))
        except AlreadyExists:
            raise AlreadyExists(f'{request.qualified} "{request.name}" already exists',
                                details={"name": request.name, "kind": request.info.name}
                                ) from None

    def _update(self, request: Request) -> Object:
        """An update computed from the stored object and written only if that is still the
        stored one. Without a ``resourceVersion`` from the client, a concurrent write (another
        worker's) makes it start again from the new object, as kube-apiserver's
        GuaranteedUpdate does: no write is ever lost."""
        sent = sent_version(request.envelope.body)
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                return self._update_once(request, sent)
            except Conflict:
                if sent is not None or attempt == UPDATE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _update_once(self, request: Request, sent: int | None) -> Object:
        old = self.store.get_or_none(request.key).get()
        if old is None:
            raise request.not_found()
        current = int(old["metadata"]["resourceVersion"])
        if sent is not None and sent != current:  # before validation, as Kubernetes
            raise self._conflict(request, Conflict(
                "the object has been modified; please apply your changes to the latest "
                f"version and try again (have {current}, got {sent})"))
        obj, _ = prepare_update(request.info, request.subresource, request.envelope.body, old)
        self._admit(request, "UPDATE", obj, old)
        self._validate(request, obj)
        grace = obj["metadata"].get("deletionGracePeriodSeconds")
        if obj["metadata"].get("deletionTimestamp") and graceful_deletion(
            request.info, obj, grace
        ) is None:  # the last finalizer went: the deletion completes now
            return self._remove(request, current)
        stored = self._write(request, obj, current)
        return to_scale(request.info, stored) if request.subresource == "scale" else stored

    def _bind(self, request: Request) -> Object:
        old = self._get(request)
        bound = prepare_binding(old, request.envelope.body)
        self._admit(request, "CREATE", bound, old)
        self._write(request, bound, int(old["metadata"]["resourceVersion"]))
        return {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}

    def _delete(self, request: Request) -> Object:
        old = self._get(request)
        self._admit(request, "DELETE", None, old)
        propagated = with_propagation(old, request.options.propagation_policy)
        marked = graceful_deletion(request.info, propagated, request.options.grace_period)
        if marked is old:
            return old
        if marked is not None:
            return self._write(request, marked, int(old["metadata"]["resourceVersion"]))
        return self._remove(request)

    def _remove(self, request: Request, expected: int | None = None) -> Object:
        try:
            removed = self._store_write(request, "delete", None, expected)
        except NotFound:
            raise request.not_found() from None
        except Conflict as error:
            raise self._conflict(request, error) from None
        return self._commit(request, removed, removed=True)

    def _write(self, request: Request, obj: Object, expected: int | None) -> Object:
        try:
            return self._commit(request, self._store_write(request, "update", obj, expected))
        except NotFound:
            raise request.not_found() from None
        except Conflict as error:
            raise self._conflict(request, error) from None

    @staticmethod
    def _conflict(request: Request, error: Conflict) -> Conflict:
        return Conflict(f'Operation cannot be fulfilled on {request.qualified} '
                        f'"{request.name}": {error.message}')

    def _commit(self, request: Request, stored: Object, removed: bool = False) -> Object:
        """Apply an RBAC change at once (the next request already sees it); return stored."""
        self.authorizer.observe(stored, deleted=removed)
        return stored

    def _commit_span(self, request: Request) -> Envelope:
        """The span of a store commit (the seed's 'write it to etcd'). It travels with the
        write and is published by the watch worker when the commit's event comes, so that on
        the bus it always precedes the watch events the commit causes."""
        envelope = request.envelope
        return Envelope(
            trace_id=envelope.trace_id, parent_id=envelope.span_id, span_id=new_id(),
            sender=self.config.name, target="store", verb="commit", group=request.info.group,
            resource=request.info.name, subresource=request.subresource,
            namespace=request.namespace, name=request.name,
            body={"requestVerb": request.verb},
            status={"code": 200, "reason": "OK", "message": ""},
        )

    # -- calls served by a kubelet -----------------------------------------------------------

    def _call_node(self, request: Request, reply_to: str | None) -> None:
        """Forward ``pods/log`` or ``pods/exec`` to the kubelet of the pod's node without
        waiting: its reply (or the failure to get one) is relayed to ``reply_to`` from the
        bus thread, so a slow container never holds up the apiserver."""
        pod = self._get(request)
        name = pod["metadata"]["name"]
        node = pod.get("spec", {}).get("nodeName")
        if not node:
            raise BadRequest(f"pod {name} does not have a host assigned")
        op = NODE_CALLS[(request.verb, request.subresource or "")]
        phase = pod.get("status", {}).get("phase")
        if op == "exec" and phase in ("Succeeded", "Failed"):
            raise BadRequest(f"cannot exec into a container in a completed pod; current phase "
                             f"is {phase}")
        body = request.envelope.body if isinstance(request.envelope.body, dict) else {}
        names = [c["name"] for c in pod["spec"]["containers"]]
        container = request.options.container or body.get("container")
        if container is None and len(names) == 1:
            container = names[0]
        if container not in names:
            raise BadRequest(f"a container name must be specified for pod {name}, choose one "
                             f"of: [{' '.join(names)}]" if container is None else
                             f"container {container} is not valid for pod {name}")
        if op == "exec" and (not isinstance(body.get("command"), list) or not body["command"]
                             or not all(isinstance(w, str) for w in body["command"])):
            raise BadRequest("exec needs body.command, a non-empty list of strings")
        envelope = request.envelope
        forward = Envelope(
            trace_id=envelope.trace_id, parent_id=envelope.span_id, span_id=new_id(),
            sender=self.config.name, target=f"kubelet-{node}", verb=op, resource="pods",
            subresource=request.subresource, namespace=request.namespace, name=name,
            body={"uid": pod["metadata"]["uid"], "container": container,
                  "tailLines": request.options.tail_lines, "command": body.get("command")},
        )
        pending = self.connection.request(self.subjects.node(node, op), forward,
                                          timeout=self.config.node_call_seconds)

        def relay(done: concurrent.futures.Future[Envelope]) -> None:  # bus loop thread
            """Always answer the caller, whatever came back (or did not)."""
            try:
                answer = done.result()
                reply = envelope.reply(answer.body, sender=self.config.name)
                reply.status = answer.status or reply.status
            except BusError as error:
                reply = envelope.error_reply(ServiceUnavailable(
                    f"the kubelet of node {node} did not answer: {error}"),
                    sender=self.config.name)
            except Exception as error:  # a malformed answer, a cancelled call
                reply = envelope.error_reply(InternalError(
                    f"bad answer from the kubelet of node {node}: {error}"),
                    sender=self.config.name)
            if not reply_to:
                return
            try:
                self.connection.publish(reply_to, reply)
            except PayloadTooLarge as error:
                self.connection.publish(reply_to, envelope.error_reply(
                    InternalError(f"the kubelet's answer is too large: {error}"),
                    sender=self.config.name))

        pending.add_done_callback(relay)

    # -- watches -----------------------------------------------------------------------------

    def _watch(self, request: Request) -> Object:
        options = request.options
        watch_id = options.watch_id
        if watch_id is None:
            raise BadRequest("watch needs options.watchId (the client subscribes to its subject)")
        existing = self.watchers.get(watch_id)
        if existing is not None and existing.user != request.user.name:
            raise Conflict(f"watch {watch_id} belongs to another user")
        if options.stop:
            self.watchers.pop(watch_id, None)
            return {"watchId": watch_id, "stopped": True}
        if existing is not None:
            existing.renew()
            if options.bookmarks and self._dispatched > existing.revision:
                # Every commit up to _dispatched was looked at for this watcher: it may resume
                # from there (Kubernetes' BOOKMARK), even if none of them concerned it.
                existing.revision = self._dispatched
                self._push(existing, "BOOKMARK", {
                    "apiVersion": existing.info.api_version, "kind": existing.info.kind,
                    "metadata": {"resourceVersion": str(self._dispatched)}})
            return {"watchId": watch_id, "renewed": True}
        held = sum(w.user == request.user.name for w in self.watchers.values())
        if held >= self.config.max_watches:
            raise TooManyRequests(f'user "{request.user.name}" has {self.config.max_watches} '
                                  "watches open; stop some first")
        watcher = Watcher(
            id=watch_id, subject=self.subjects.watch(watch_id),
            owner=request.envelope.sender or request.user.name, user=request.user.name,
            info=request.info, namespace=request.namespace,
            match=matcher(options.label_selector, options.field_selector),
            revision=0, lease_seconds=options.lease_seconds,
        )
        watcher.renew()
        if options.resource_version is not None:
            current = self.store.revision().get()
            if options.resource_version > current:
                raise ServerTimeout(f"Too large resource version: {options.resource_version}, "
                                    f"current: {current}")
            watcher.revision = options.resource_version
            for event in self.store.events_since(options.resource_version).get():
                self._deliver(watcher, event)
        else:
            items, revision = self.store.list(
                request.info.prefix(request.namespace), watcher.match
            ).get()
            for obj in items:
                self._push(watcher, "ADDED", obj)
            watcher.revision = revision
        self.watchers[watch_id] = watcher
        return {"watchId": watch_id, "resourceVersion": str(watcher.revision)}

    def on_local(self, message: Any) -> Any:
        if isinstance(message, StoreEvent):
            self._on_commit(message)
            return None
        return super().on_local(message)

    def _on_commit(self, event: StoreEvent) -> None:
        self.authorizer.observe(event.object, deleted=event.type == "DELETED")
        self._dispatched = max(self._dispatched, event.revision)
        if isinstance(event.note, Envelope):  # the commit's span, before its watch events
            span = dataclasses.replace(event.note, body={**event.note.body,
                                                         "revision": event.revision})
            self.publish(self.subjects.trace("store"), span)
        now = time.monotonic()
        for watch_id, watcher in list(self.watchers.items()):
            if watcher.expired(now):
                del self.watchers[watch_id]
                continue
            try:
                self._deliver(watcher, event)
            except PayloadTooLarge as error:
                log.warning("watch %s: event at revision %d not delivered: %s", watch_id,
                            event.revision, error)

    def _deliver(self, watcher: Watcher, event: StoreEvent) -> None:
        info = _BY_KIND.get(event.object.get("kind", ""))
        namespace = event.object.get("metadata", {}).get("namespace")
        if info is None or not watcher.wants(info, namespace):
            return
        kind = event_type_for(watcher, event)
        watcher.revision = max(watcher.revision, event.revision)
        if kind is not None:
            self._push(watcher, kind, event.object)

    def _push(self, watcher: Watcher, kind: str, obj: Object) -> None:
        metadata = obj.get("metadata", {})
        self.publish(watcher.subject, Envelope(
            trace_id=trace_id_of(obj), span_id=new_id(), sender=self.config.name,
            target=watcher.owner, verb="event", group=watcher.info.group,
            resource=watcher.info.name, namespace=metadata.get("namespace"),
            name=metadata.get("name"), body={"type": kind, "object": obj},
        ))
