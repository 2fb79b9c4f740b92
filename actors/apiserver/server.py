"""The apiserver actor: the cluster's only door, and the only holder of the store.

Every request on ``<prefix>.api.>`` (queue group ``apiserver``) goes through the same pipeline
on this actor's thread: decode -> authenticate -> authorize (RBAC) -> admission (mutating, then
validating), with the type's schema applied before admission and the semantic validation
after it -> store -> reply. Each store commit is published as a span on
``<prefix>.trace.store`` and pushed to the watchers whose filter it matches, on
``<prefix>.watch.<owner>.<id>`` (the watcher's NATS user, see ``bus.subjects``).

This module holds the pipeline: :class:`ApiServer` (decode, authenticate, authorize, run the
verb, make its store writes and external admission calls without holding the worker, audit,
reply), the bootstrap, and the store as admission plugins see it. The verbs themselves are
``verbs``'s (mixed in), the pods/log and pods/exec relay to kubelets ``relay``'s (mixed in),
the resource metrics (``metrics.k8s.io``, asked of the kubelets) ``metrics``'s (mixed in),
the watchers ``watching``'s :class:`~actors.apiserver.watching.Watches`.

Neighbours: ``verbs``, ``relay``, ``watching``; ``authn``, ``rbac``, ``nodeauthz``,
``admission``, ``registry`` and ``options`` in this package hold the decisions;
``actors.store`` holds the data.

Which thread: each worker's actor thread runs the pipeline; replies to store writes and
external calls come back from other threads as :class:`Resumed` messages, never handled there.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Generator
from typing import Any

import pykka

from actors.api import crds, discovery, priorityclasses
from actors.api.discovery import Served
from actors.api.objects import Object
from actors.api.resources import (
    BY_KIND,
    METRICS_GROUP,
    RESOURCES,
    REVIEWS,
    STORED,
    SYSTEM_NAMESPACES,
    ResourceInfo,
    lookup,
)
from actors.api.selectors import required_field
from actors.api.validation import decode, validate
from actors.apiserver.admission.certificates import (
    CertificateApproval,
    CertificateSigning,
    CertificateSubjectRestriction,
)
from actors.apiserver.admission.chain import (
    AdmissionChain,
    AdmissionRequest,
    Answer,
    Delay,
    NamespaceLifecycle,
    NodeRestriction,
    Steps,
)
from actors.apiserver.admission.external import ExternalAdmission, Registrations
from actors.apiserver.admission.limits import LimitRanger, ResourceQuota
from actors.apiserver.admission.priority import Priority
from actors.apiserver.admission.serviceaccount import ServiceAccount
from actors.apiserver.authn import (
    Authenticator,
    Forwarding,
    Handshaker,
    Signed,
    hello_user,
    impersonation,
)
from actors.apiserver.busauth import check_reply, may_answer
from actors.apiserver.customresources import CustomResources
from actors.apiserver.metrics import Metrics
from actors.apiserver.mirror import Mirror
from actors.apiserver.nodeauthz import NodeAuthorizer
from actors.apiserver.options import parse_options
from actors.apiserver.outcomes import Observer, answered, refused
from actors.apiserver.rbac import (
    RETIRED_POLICY,
    Attributes,
    Authorizer,
    PreventEscalation,
    bootstrap_policy,
)
from actors.apiserver.registry import prepare_create
from actors.apiserver.relay import NODE_CALLS, RELAYED, Relay
from actors.apiserver.requests import ApiServerConfig, Pending, Request, Result, Resumed, Step
from actors.apiserver.serviceips import REPAIR_RANGES, ServiceAllocations
from actors.apiserver.tokens import TokenIssuer
from actors.apiserver.verbs import Verbs
from actors.apiserver.watching import Watches
from actors.store import StoreEvent, StoreView, StoreWriter, Write, dry_run
from bus.actor import BusActor
from bus.connection import Connection, Incoming
from bus.envelope import Envelope, new_id, packed_size
from bus.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    BusError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    Unauthorized,
)

log = logging.getLogger(__name__)

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
SUBRESOURCE_VERBS = {"status": ("get", "update", "patch"), "binding": ("create",),
                     "eviction": ("create",),
                     "log": ("get",), "exec": ("create",), "attach": ("create",),
                     "scale": ("get", "update", "patch"),
                     "finalize": ("update",), "approval": ("get", "update", "patch"),
                     "token": ("create",)}
"""The verbs each subresource answers; any other is 405, never the parent's handler."""
_BY_NAME = {info.name: info for info in STORED}
ADMISSION_KINDS = ("LimitRange", "ResourceQuota", "PriorityClass")
"""What admission reads on every pod create: kept in memory (a Mirror), not listed each time."""
class ApiServer(Verbs, ServiceAllocations, Relay, Metrics, BusActor):
    """See the module docstring. ``store`` is the store actor's proxy."""

    def __init__(
        self,
        connection: Connection,
        *,
        store: pykka.ActorProxy[Any],
        authenticator: Authenticator,
        admission: AdmissionChain | None = None,
        config: ApiServerConfig | None = None,
        authorizer: Authorizer | None = None,
        handshaker: Handshaker | None = None,
        registrations: Registrations | None = None,
        observer: Observer | None = None,
        admission_objects: Mirror | None = None,
        forwarding: Forwarding | None = None,
        custom_resources: CustomResources | None = None,
        token_issuer: TokenIssuer | None = None,
    ) -> None:
        """``authorizer``, ``registrations``, ``admission_objects`` (a Mirror of
        ADMISSION_KINDS) and ``custom_resources`` (the resources served, CRDs' included) are
        shared by the workers of one apiserver, so that a change
        committed by one applies to the next request of every other. With ``handshaker``,
        clients may open certificate sessions (``<prefix>.authn.hello``). ``observer`` (the audit,
        the request metrics: ``outcomes``) hears of each request taken and answered. With
        ``forwarding``, its fronts (the HTTPS listener) may
        send requests for their clients. With ``token_issuer``, it issues service account
        tokens (TokenRequest) and reviews tokens (TokenReview)."""
        super().__init__(connection)
        self.store = store
        self.authenticator = authenticator
        self.handshaker = handshaker
        self.forwarding = forwarding
        self.token_issuer = token_issuer
        self.config = config or ApiServerConfig()
        self.authorizer = authorizer or Authorizer(NodeAuthorizer())
        self.registrations = registrations or Registrations()
        self.admission_objects = admission_objects or Mirror(ADMISSION_KINDS)
        self.resources = custom_resources or CustomResources()
        self.mirrors = (*self.authorizer.mirrors, self.registrations, self.admission_objects,
                        self.resources)
        self.admission = admission or self.default_chain()
        self.observer = observer
        self.writer: StoreWriter | None = None
        self.view: StoreView | None = None
        self._stats: dict[str, tuple[float, Object | None]] = {}
        self.range_leaks = {}
        self.watches = Watches(self.publish, self.config.name,
                               lambda obj: self.resources.served.of(obj),
                               observer.watched if observer is not None else None)
        """The watchers (the watch worker's; the other workers' stays empty)."""

    def default_chain(self) -> AdmissionChain:
        """Kubernetes' order: NamespaceLifecycle first, built-in mutating plugins, then the
        mutating external actors; built-in validating plugins, then the validating external
        actors, ResourceQuota last; but the plugins the config disables (by name)."""
        external = ExternalAdmission(self.registrations, self.subjects)
        limits, quota, priority = LimitRanger(self), ResourceQuota(self), Priority(self)
        off = set(self.config.disabled_admission)
        return AdmissionChain(
            mutating=[p for p in (NamespaceLifecycle(self), self.resources, limits,
                                  ServiceAccount(self), priority, quota, external)
                      if p.name not in off],
            validating=[p for p in (
                NodeRestriction(self), PreventEscalation(self.authorizer),
                CertificateApproval(self.authorizer), CertificateSigning(self.authorizer),
                CertificateSubjectRestriction(), limits, priority, external, quota)
                if p.name not in off])

    def subscriptions(self) -> list[tuple[str, str]]:
        """All in one queue group, so that each request reaches one worker: NATS hands a
        message to one member of a group whichever of its subscriptions matched. A worker
        serves every verb but watch; the one holding the watchers serves the whole API prefix
        but what is addressed to another process, so watches reach it alone, and so does a
        subject no verb serves (answered 404 or 405, and audited, rather than left to the
        bus's "no responders")."""
        queue = self.config.queue
        if not self.config.serves_watches:
            subjects = [(self.subjects.api_verb(verb), queue) for verb in VERBS if verb != "watch"]
        elif self.config.server is None:  # the only apiserver: nothing is addressed
            subjects = [(self.subjects.api_all, queue)]
        else:  # a process gone leaves its address unserved: its watches' clients move on
            subjects = [(subject, queue) for subject in self.subjects.api_unaddressed()]
            subjects.append((self.subjects.api_server(self.config.server), ""))
        if self.handshaker is not None:
            subjects.append((self.subjects.hello, queue))
        return subjects

    def on_start(self) -> None:
        self.writer = self.store.writer().get()
        self.view = self.store.view().get()
        if self.config.serves_watches:  # the watch worker hears every commit
            self.store.add_listener(self.tell_soon).get()
        if self.config.bootstrap:
            kinds = {kind for mirror in self.mirrors for kind in mirror.kinds}
            for info in RESOURCES:
                if info.kind in kinds:
                    for obj in self.view.page(info.prefix(None))[0]:
                        self._observe(obj)
            self._bootstrap()
            if self.config.ranges.repair_seconds:
                self.tell_soon(REPAIR_RANGES)
        super().on_start()  # serve only once the policy is in place

    def _bootstrap(self) -> None:
        """Create the system namespaces, the bootstrap RBAC policy and the system
        PriorityClasses when missing; remove the retired bootstrap policy."""
        for kind, name in RETIRED_POLICY:
            key = BY_KIND[kind].key(None, name)
            old = self.view.get(key) if self.view is not None else None
            if old is not None and old["metadata"].get("labels", {}).get(
                    "kubernetes.io/bootstrapping") == "rbac-defaults":
                with contextlib.suppress(NotFound):
                    self._observe(self.store.delete(key).get(), deleted=True)
        namespaces = [{"metadata": {"name": name}} for name in SYSTEM_NAMESPACES]
        for info, obj in [(lookup("", "namespaces"), ns) for ns in namespaces] + [
            (BY_KIND[obj["kind"]], obj) for obj in [*bootstrap_policy(),
                                                    *priorityclasses.system_classes()]
        ]:
            prepared = prepare_create(info, obj, None, None)
            key = info.key(None, prepared["metadata"]["name"])
            try:
                self._observe(self.store.create(key, prepared).get())
            except AlreadyExists:
                self._reconcile_role(key, prepared)

    def _reconcile_role(self, key: str, wanted: Object) -> None:
        """A bootstrap ClusterRole stored by an older version gets the rules it lacks (as
        Kubernetes' RBAC bootstrap reconciles its roles at start, adding what is missing):
        the controller manager of an older data dir may then make service accounts."""
        assert self.view is not None
        old = self.view.get(key)
        if old is None or old.get("kind") != "ClusterRole" or (
                old["metadata"].get("labels") or {}).get(
                "kubernetes.io/bootstrapping") != "rbac-defaults":
            return
        rules = old.get("rules") or []
        missing = [rule for rule in wanted.get("rules") or [] if rule not in rules]
        if missing:
            self._observe(self.store.update(key, {**old, "rules": [*rules, *missing]},
                                            int(old["metadata"]["resourceVersion"])).get())

    def _observe(self, obj: Object, deleted: bool = False) -> None:
        """Keep the mirrors (RBAC, admission registrations and objects) current."""
        for mirror in self.mirrors:
            mirror.observe(obj, deleted)

    # -- the pipeline ------------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> Envelope | None:
        """Decode, authenticate, authorize, then run the verb; a verb that waits for an
        external admission actor answers later (:meth:`_advance`), so None is returned."""
        pending = Pending(incoming)
        if self.observer is not None:
            self.observer.received(incoming.subject)
        if incoming.subject == self.subjects.hello and self.handshaker is not None:
            return self._hello(pending)
        try:
            request = pending.request = self._decode(pending)
            self.authorizer.authorize(_attributes(request))
            pending.authorized = True
        except ApiError as error:
            return self._refused(pending, error)
        if (request.verb, request.subresource) in NODE_CALLS:
            pending.steps = self._call_node(pending)
        elif request.info.group == METRICS_GROUP:
            pending.steps = self._metrics(request)
        else:
            pending.steps = self._run_verb(request)
        return self._advance(pending, None)

    def _hello(self, pending: Pending) -> Envelope | None:
        """Answer a certificate handshake: a session for the certificate's user."""
        handshaker, incoming = self.handshaker, pending.incoming
        assert handshaker is not None
        try:
            hello = handshaker.check(incoming.envelope.body)
            pending.sender = hello_user(hello)
            check_reply(pending.sender, incoming.reply_to, self.subjects)
            welcome = handshaker.welcome(hello)
        except ApiError as error:
            return self._refused(pending, error)
        pending.authorized = True
        return self._finish(pending, incoming.envelope.reply(welcome, sender=self.config.name))

    def _refused(self, pending: Pending, error: ApiError) -> Envelope | None:
        """Audit the refusal of a request, and answer it only where its sender may read
        (``busauth.may_answer``): else nothing is published."""
        reply = self._finish(pending, pending.incoming.envelope.error_reply(
            error, sender=self.config.name))
        reply_to = pending.incoming.reply_to
        if reply_to and not may_answer(pending.sender, reply_to, self.subjects):
            log.warning("%s: not answered: %s", pending.incoming.subject, error.message)
            return None
        return reply

    def _run_verb(self, request: Request) -> Generator[Step, Result, Object]:
        """The verb's work; it yields the external admission calls it needs made."""
        result = getattr(self, f"_{request.verb}")(request)
        if isinstance(result, Generator):
            result = yield from result
        return crds.served_as(request.info, request.options.version, result)

    def _advance(self, pending: Pending, answer: Result | None) -> Envelope | None:
        """Run the verb until it finishes (the reply) or needs a call (sent without waiting;
        its answer comes back as :class:`Resumed` and the verb goes on from there)."""
        assert pending.steps is not None and pending.request is not None
        request = pending.request
        try:
            call = pending.steps.send(answer)
        except StopIteration as done:
            if done.value is RELAYED:
                return None  # the kubelet's answer is relayed when it comes
            reply = request.envelope.reply(
                done.value, code=201 if request.verb == "create" else 200,
                sender=self.config.name)
            reply.options = {"latencyMs": round((time.monotonic() - pending.started) * 1000, 3)}
            if request.warnings and reply.status is not None:
                reply.status["warnings"] = request.warnings
            return self._finish(pending, reply)
        except ApiError as error:
            return self._finish(pending, request.envelope.error_reply(
                error, sender=self.config.name))
        except Exception as error:
            log.exception("apiserver failed on %s", pending.incoming.subject)
            failure = InternalError(f"{type(self).__name__}: {type(error).__name__}: {error}")
            return self._finish(pending, request.envelope.error_reply(
                failure, sender=self.config.name))
        if isinstance(call, Write):  # the worker goes on with other requests meanwhile
            assert self.writer is not None, "writes before on_start"
            self.writer.submit(call).add_done_callback(
                lambda done: self.tell_soon(Resumed(pending, _outcome(done))))
            return None
        if isinstance(call, Delay):  # a timer on the bus loop, not the worker
            self.tell_later(call.seconds, Resumed(pending, None))
            return None
        call.envelope.trace_id = request.envelope.trace_id
        call.envelope.parent_id = request.envelope.span_id
        call.envelope.sender = self.config.name
        self.connection.request(call.subject, call.envelope, call.timeout).add_done_callback(
            lambda done: self.tell_soon(Resumed(pending, _answer(done))))
        return None

    def _finish(self, pending: Pending, reply: Envelope) -> Envelope:
        """Tell the observer of the answer to a request, and return it."""
        if self.observer is not None:
            self.observer.answered(answered(pending, reply, self._named_by(
                pending.incoming.subject)), counted=True)
        return reply

    def rejected(self, subject: str, error: ApiError) -> None:
        """Tell the observer of a message refused on the bus loop before a worker saw it (it
        did not decode, or the mailbox was full): nobody authenticated, denied, with its code."""
        if self.observer is not None:
            self.observer.answered(refused(subject, error.code, self._named_by(subject)),
                                   counted=False)

    def _named_by(self, subject: str) -> dict[str, str]:
        """What an audit record can say of a request from its subject alone."""
        if parsed := self.subjects.parse_api(subject):
            return {"verb": parsed.verb, "group": parsed.group, "resource": parsed.resource}
        return {"verb": "hello"} if subject == self.subjects.hello else {}

    def _decode(self, pending: Pending) -> Request:
        incoming = pending.incoming
        envelope = incoming.envelope
        parsed = self.subjects.parse_api(incoming.subject)
        if parsed is None:
            raise NotFound(f"the server could not find the requested resource "
                           f"({incoming.subject} is not <prefix>.api.<group>.<resource>.<verb>)")
        if parsed.server not in (None, self.config.server):
            raise NotFound(f'no apiserver process "{parsed.server}" serves this cluster')
        resource, _, subresource = parsed.resource.partition("/")
        info = self.resources.served.lookup(parsed.group, resource)
        if subresource and subresource not in info.subresources:
            raise NotFound(f'{resource} has no subresource "{subresource}"')
        if subresource and parsed.verb not in SUBRESOURCE_VERBS.get(subresource, ()):
            raise MethodNotAllowed(f'the server does not allow "{parsed.verb}" on '
                                   f"{resource}/{subresource}")
        if info.name in REVIEWS and parsed.verb != "create":
            raise MethodNotAllowed(f'the server does not allow "{parsed.verb}" on {resource}')
        if parsed.verb not in VERBS:
            raise MethodNotAllowed(f'the server does not allow the verb "{parsed.verb}" on '
                                   f"{resource} (known: {', '.join(VERBS)})")
        if envelope.verb not in (None, parsed.verb) or envelope.resource not in (None, resource):
            raise BadRequest("envelope verb/resource do not match the subject")
        for field_ in ("namespace", "name"):
            if not isinstance(getattr(envelope, field_), str | None):
                raise BadRequest(f"envelope field {field_!r} must be a string")
        user = pending.sender = self.authenticator.authenticate(
            envelope.auth, Signed(incoming.subject, incoming.data, incoming.mac,
                                  incoming.reply_to or ""))
        check_reply(user, incoming.reply_to, self.subjects)
        namespace = envelope.namespace if info.namespaced else None
        if info.namespaced and not namespace and parsed.verb not in ("list", "watch"):
            raise BadRequest(f"{parsed.verb} {info.name} needs a namespace")
        options = parse_options(envelope.options, self.subjects)
        if options.version is not None and options.version not in discovery.versions(info):
            raise NotFound(f'the server could not find the requested resource (version '
                           f'"{options.version}" of {info.qualified} is not served)')
        request = Request(parsed.verb, info, subresource=subresource or None,
                          namespace=namespace or None, name=envelope.name or None, user=user,
                          envelope=envelope, options=options)
        self._forwarded(request)
        self._impersonate(request)
        return request

    def _forwarded(self, request: Request) -> None:
        """Act for the client whose credentials a front forwarded (``auth.forwarded``)."""
        auth = request.envelope.auth or {}
        if "forwarded" not in auth:
            return
        if self.forwarding is None:
            raise Unauthorized("Unauthorized: this apiserver takes no forwarded credentials")
        request.via, request.user = request.user, self.forwarding.user(auth["forwarded"],
                                                                       request.user)

    def _impersonate(self, request: Request) -> None:
        """Act as the identity ``auth.impersonate`` names, if the sender may (RBAC verb
        ``impersonate`` on ``users`` and on each of ``groups``, as in Kubernetes)."""
        wanted = impersonation(request.envelope.auth)
        if wanted is None:
            return
        asked = [("users", wanted.name)] + [("groups", g) for g in wanted.groups
                                            if g != "system:authenticated"]
        for resource, name in asked:
            self.authorizer.authorize(Attributes(request.user, "impersonate", group="",
                                                 resource=resource, subresource=None,
                                                 namespace=None, name=name))
        request.impersonator, request.user = request.user, wanted

    def _admit(self, request: Request, operation: str, obj: Object | None, old: Object | None
               ) -> Steps:
        name = (obj or old or {}).get("metadata", {}).get("name", request.name or "")
        yield from self.admission.run(AdmissionRequest(
            operation, request.info, subresource=request.subresource,
            namespace=request.namespace, name=name, object=obj, old_object=old, user=request.user,
            dry_run=request.options.dry_run,
        ))

    def _check_schema(self, request: Request, obj: Object) -> None:
        """The schema of ``obj``'s type, before admission sees it (unknown fields dropped, or
        refused under ``fieldValidation: Strict``); its warnings go with the reply. An object
        sent at one version (``options.version``) must be written in it."""
        if request.verb in ("create", "update") and not request.subresource and (
                mismatch := crds.version_mismatch(request.info, request.options.version,
                                                  request.envelope.body)):
            raise BadRequest(mismatch)
        request.warnings += decode(request.info, obj, request.options.field_validation)

    def _validate(self, request: Request, obj: Object) -> None:
        validate(request.info, obj)
        size = packed_size(obj)
        if size > self.config.max_object_bytes:
            raise RequestEntityTooLarge(
                f'{request.info.name} "{request.name}" is too large: {size} bytes, the limit is '
                f"{self.config.max_object_bytes}")

    def _store_write(self, request: Request, op: str, obj: Object | None,
                     expected: int | None = None) -> Generator[Step, Result, Object]:
        """Hand a write to the store's group commit (``obj`` becomes the store's: never
        change it after) and wait for it without holding the worker: the verb resumes
        with the stored object once durable, or raises the store's error. A dry run writes
        nothing: the store's checks against the object it holds now, and what it would store."""
        if request.options.dry_run:
            assert self.view is not None, "writes before on_start"
            return dry_run(Write(op, request.key, obj, expected), self.view.get(request.key))
        outcome = yield Write(op, request.key, obj, expected, self._commit_span(request))
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, dict), outcome
        return outcome

    # -- the store as admission plugins see it (admission.ObjectAccess) ----------------------

    def get(self, resource: str, namespace: str | None, name: str) -> Object | None:
        assert self.view is not None, "reads before on_start"
        return self.view.get(_BY_NAME[resource].key(namespace, name))

    def list(self, resource: str | ResourceInfo, namespace: str | None) -> list[Object]:
        info = resource if isinstance(resource, ResourceInfo) else _BY_NAME[resource]
        if info.kind in ADMISSION_KINDS:
            return self.admission_objects.list(info.kind, namespace)
        assert self.view is not None, "reads before on_start"
        return self.view.page(info.prefix(namespace))[0]

    @property
    def served(self) -> Served:
        return self.resources.served

    def update_status(self, resource: str, obj: Object) -> Object:
        assert self.writer is not None, "writes before on_start"
        meta = obj["metadata"]
        stored = self.writer.write("update", _BY_NAME[resource].key(meta.get("namespace"),
                                                                    meta["name"]),
                                   obj, int(meta["resourceVersion"]))
        self._observe(stored)
        return stored

    # -- commits -----------------------------------------------------------------------------

    def _commit(self, request: Request, stored: Object, removed: bool = False) -> Object:
        """Apply a policy change at once (the next request already sees it); return stored.
        A dry run changed nothing."""
        if not request.options.dry_run:
            self._observe(stored, deleted=removed)
        return stored

    def _release(self, request: Request, obj: Object, old: Object | None = None) -> None:
        """Give back what admission charged for ``obj`` (``AdmissionChain.release``); a dry
        run was charged nothing."""
        if not request.options.dry_run:
            self.admission.release(obj, old)

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

    def on_local(self, message: Any) -> Any:
        if isinstance(message, StoreEvent):
            self._on_commit(message)
            return None
        if message is REPAIR_RANGES:
            self.repair_ranges()
            self.tell_later(self.config.ranges.repair_seconds, REPAIR_RANGES)
            return None
        if isinstance(message, Resumed):
            reply = self._advance(message.pending, message.answer)
            if reply is not None and message.pending.incoming.reply_to:
                self._reply(message.pending.incoming, reply)
            return None
        return super().on_local(message)

    def _on_commit(self, event: StoreEvent) -> None:
        self._observe(event.object, deleted=event.type == "DELETED")
        if isinstance(event.note, Envelope):  # the commit's span, before its watch events
            event.note.body["revision"] = event.revision  # the span is this worker's alone
            self.publish(self.subjects.trace("store"), event.note)
        self.watches.on_commit(event)


def _attributes(request: Request) -> Attributes:
    """What ``request`` asks, for the authorizers. As in Kubernetes, a create is not
    authorized by name (the name is in the body), and a list or watch is by the name its
    field selector asks for (``metadata.name=<name>``)."""
    name = request.name if request.verb != "create" or request.subresource else None
    selector = request.options.field_selector
    if request.verb in ("list", "watch"):
        name = required_field(selector, "metadata.name")
    return Attributes(request.user, request.verb, group=request.info.group,
                      resource=request.info.name, subresource=request.subresource,
                      namespace=request.namespace, name=name, field_selector=selector)


def _outcome(done: concurrent.futures.Future[Object]) -> Result:
    """A store write's stored object, or the error that refused it."""
    error = done.exception()
    return done.result() if error is None else error


def _answer(done: concurrent.futures.Future[Envelope]) -> Answer:
    """The reply of a finished call, or the BusError that ended it."""
    try:
        return done.result()
    except BusError as error:
        return error
    except Exception as error:  # cancelled on shutdown, or a reply that did not decode
        return BusError(f"{type(error).__name__}: {error}")
