"""The apiserver actor: the cluster's only door, and the only holder of the store.

Every request on ``<prefix>.api.>`` (queue group ``apiserver``) goes through the same pipeline
on this actor's thread: decode -> authenticate -> authorize (RBAC) -> admission (mutating, then
validating), with the type's schema applied before admission and the semantic validation
after it -> store -> reply. Each store commit is published as a span on
``<prefix>.trace.store`` and pushed to the watchers whose filter it matches, on
``<prefix>.watch.<owner>.<id>`` (the watcher's NATS user, see ``bus.subjects``).

This module holds the pipeline: :class:`ApiServer` (authorize, run the verb, make its store
writes and external admission calls without holding the worker, audit, reply) and the store as
admission plugins see it. Decoding and authenticating a message is ``decoding``'s (mixed in),
the objects made at start ``bootstrapping``'s (mixed in), the verbs themselves
``verbs``'s (mixed in), a batch of bindings (each run as its own request) ``batching``'s
(mixed in), the pods/log and pods/exec relay to kubelets ``relay``'s (mixed in),
the resource metrics (``metrics.k8s.io``, asked of the kubelets) ``metrics``'s (mixed in),
the watchers ``watching``'s :class:`~actors.apiserver.watching.Watches`; API Priority and
Fairness (each request queued by its flow as it arrives, served in fair order) ``fairness``'s
(mixed in; the admin's requests come on the exempt lane, which the launcher gives a worker,
connection and loop thread of their own: ``ApiServerConfig.lanes``), what each answer tells the
observers (the audit, the metrics) ``outcomes``'s (mixed
in).

Neighbours: ``decoding``, ``batching``, ``bootstrapping``, ``verbs``, ``relay``, ``watching``;
``authn``, ``rbac``, ``nodeauthz``, ``admission``, ``registry`` and ``options`` in this package
hold the decisions; ``actors.store`` holds the data.

Which thread: each worker's actor thread runs the pipeline; replies to store writes and
external calls come back from other threads as :class:`Resumed` messages, never handled there.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Generator
from typing import Any

import pykka

from actors.api import bindingbatches, conversion, crds
from actors.api.discovery import Served
from actors.api.objects import Object
from actors.api.resources import (
    METRICS_GROUP,
    RESOURCES,
    STORED,
    ResourceInfo,
)
from actors.api.validation import decode, validate
from actors.apiserver import decoding
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
from actors.apiserver.admission.storageclass import DefaultStorageClass
from actors.apiserver.authn import (
    Authenticator,
    Forwarding,
    Handshaker,
    Replayed,
    hello_user,
)
from actors.apiserver.batching import Batching
from actors.apiserver.bootstrapping import Bootstrap
from actors.apiserver.busauth import check_reply, may_answer
from actors.apiserver.classifying import FlowControl
from actors.apiserver.customresources import CustomResources
from actors.apiserver.decoding import VERBS, Decoding
from actors.apiserver.fairness import DISPATCH, RESUME, Fairness, Identities
from actors.apiserver.metrics import Metrics
from actors.apiserver.mirror import Mirror
from actors.apiserver.nodeauthz import NodeAuthorizer
from actors.apiserver.outcomes import Observer, Telling, Tracers
from actors.apiserver.queueing import Dispatcher, Ticket
from actors.apiserver.rbac import (
    Authorizer,
    PreventEscalation,
)
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
    ApiError,
    BadRequest,
    BusError,
    InternalError,
    RequestEntityTooLarge,
    TooManyRequests,
)
from bus.inprocess import Door
from bus.subjects import EXEMPT_LANE

log = logging.getLogger(__name__)

_BY_NAME = {info.name: info for info in STORED}
ADMISSION_KINDS = ("LimitRange", "ResourceQuota", "PriorityClass", "StorageClass")
"""What admission reads on every pod (and claim) create: kept in memory (a Mirror), not listed
each time."""
DEPRECATED = {
    ("", "endpoints"): "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 "
                       "EndpointSlice",
}
"""(group, resource) -> the warning kube-apiserver adds to every answer about it."""


class ApiServer(Fairness, Decoding, Batching, Bootstrap, Verbs, ServiceAllocations, Relay,
                Metrics, Telling, BusActor):
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
        flow_control: FlowControl | None = None,
        door: Door | None = None,
    ) -> None:
        """``authorizer``, ``registrations``, ``admission_objects`` (a Mirror of
        ADMISSION_KINDS) and ``custom_resources`` (the resources served, CRDs' included) are
        shared by the workers of one apiserver, so that a change
        committed by one applies to the next request of every other. With ``handshaker``,
        clients may open certificate sessions (``<prefix>.authn.hello``). ``observer`` (the
        audit, the request metrics: ``outcomes``) hears of each request taken and answered.
        With ``forwarding``, its fronts (the HTTPS listener) may
        send requests for their clients. With ``token_issuer``, it issues service account
        tokens (TokenRequest) and reviews tokens (TokenReview). ``flow_control`` (the
        FlowSchemas and priority levels) is shared by the workers too. With ``door``, its
        HTTPS front hands it requests in the process, to the same pipeline
        (``bus.inprocess``)."""
        super().__init__(connection, door)
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
        self.flow_control = flow_control or FlowControl()
        self.mirrors = (*self.authorizer.mirrors, self.registrations, self.admission_objects,
                        self.resources, self.flow_control)
        self.identities = Identities(self.subjects, self.flow_control.learnt)
        self.dispatcher = Dispatcher(self.config.concurrency, self.config.max_queue_wait,
                                     self.config.pacing)
        self._seated: Ticket | None = None
        """The ticket of the request being dispatched, for handle() (``fairness``)."""
        self._dispatching = False
        self.admission = admission or self.default_chain()
        self.observer = observer
        self.tracers = Tracers()
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
                                  ServiceAccount(self), priority, DefaultStorageClass(self),
                                  quota, external)
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
        bus's "no responders"). The exempt lane carries every verb but watch."""
        queue, lanes = self.config.queue, self.config.lanes
        subjects = [(self.subjects.api_verb(verb, EXEMPT_LANE), queue) for verb in VERBS
                    if verb != "watch" and EXEMPT_LANE in lanes]
        if self.handshaker is not None and EXEMPT_LANE in lanes:
            subjects.append((self.subjects.hello_on(EXEMPT_LANE), queue))
        if "api" not in lanes:
            return subjects
        if not self.config.serves_watches:
            subjects += [(self.subjects.api_verb(verb), queue) for verb in VERBS if verb != "watch"]
        elif self.config.server is None:  # the only apiserver: nothing is addressed
            subjects.append((self.subjects.api_all, queue))
        else:  # a process gone leaves its address unserved: its watches' clients move on
            subjects += [(subject, queue) for subject in self.subjects.api_unaddressed()]
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
        self._hear_tracers()
        super().on_start()  # serve only once the policy is in place

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
        if (late := self._seat(pending)) is not None:
            return self._refused(pending, late)
        if self.subjects.is_hello(incoming.subject) and self.handshaker is not None:
            return self._hello(pending)
        try:
            request = pending.request = self._decode(pending)
            self._learn(pending, request)
            if request.subresource == "binding" and bindingbatches.is_batch(request.envelope):
                return self._batch(pending, request)
            self.authorizer.authorize(decoding.attributes(request))
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
        (``busauth.may_answer``) and unless it is a copy of one taken (``authn.Replayed``):
        else nothing is published."""
        reply = self._finish(pending, pending.incoming.envelope.error_reply(
            error, sender=self.config.name))
        reply_to = pending.incoming.reply_to
        if isinstance(error, Replayed) or (isinstance(error, TooManyRequests)
                                           and not self._first_answer(pending.incoming)):
            log.info("%s: not answered: %s (a copy of a request taken)",
                     pending.incoming.subject, error.message)
            return None
        if reply_to and not may_answer(pending.sender, reply_to, self.subjects):
            log.warning("%s: not answered: %s", pending.incoming.subject, error.message)
            return None
        return reply

    def _run_verb(self, request: Request) -> Generator[Step, Result, Object]:
        """The verb's work; it yields the external admission calls it needs made. A
        deprecated resource's answers warn of it, as kube-apiserver's do."""
        if (deprecated := DEPRECATED.get((request.info.group, request.info.name))) and \
                not request.subresource:
            request.warnings.append(deprecated)
        result = getattr(self, f"_{request.verb}")(request)
        if isinstance(result, Generator):
            result = yield from result
        return conversion.served_as(request.info, request.options.version, result)

    def _advance(self, pending: Pending, answer: Result | None) -> Envelope | None:
        """Run the verb until it finishes (the reply) or needs a call (sent without waiting;
        its answer comes back as :class:`Resumed` and the verb goes on from there)."""
        assert pending.steps is not None and pending.request is not None
        request = pending.request
        try:
            call = pending.steps.send(answer)
        except StopIteration as done:
            if done.value is RELAYED:
                self._unseat(pending, None)  # a stream is not counted as it lasts
                return None  # the kubelet's answer is relayed when it comes
            reply = request.envelope.reply(
                done.value, code=201 if request.verb == "create" else 200,
                sender=self.config.name)
            reply.options = {"latencyMs": round((time.monotonic() - pending.started) * 1000, 3)}
            if request.warnings and reply.status is not None:
                reply.status["warnings"] = request.warnings
            self._share(request, done.value)
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
        """Give back the request's seat, tell the observers of the answer, and return it."""
        self._unseat(pending, reply)
        return self._told(pending, reply)

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
        request.warnings += decode(request.info, obj, request.options.field_validation,
                                   patched=request.verb == "patch")

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
        if message is DISPATCH:
            self._dispatch()
            return None
        if message is RESUME:
            self._resume()
            return None
        if isinstance(message, StoreEvent):
            self._on_commit(message)
            return None
        if message is REPAIR_RANGES:
            self.repair_ranges()
            self.tell_later(self.config.ranges.repair_seconds, REPAIR_RANGES)
            return None
        if isinstance(message, Resumed):
            reply = self._advance(message.pending, message.answer)
            if reply is not None:
                self._answered(message.pending, reply)
            return None
        return super().on_local(message)

    def _on_commit(self, event: StoreEvent) -> None:
        self._observe(event.object, deleted=event.type == "DELETED")
        if isinstance(event.note, Envelope):  # the commit's span, before its watch events
            event.note.body["revision"] = event.revision  # the span is this worker's alone
            self.publish(self.subjects.trace("store"), event.note)
        self.watches.on_commit(event)


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
