"""The client every component and the CLI use to talk to the apiserver over the bus.

Calls block the calling thread (an actor's, or the CLI's main thread) until the reply comes, and
raise the :class:`~bus.errors.ApiError` leaf matching the reply's status; transport failures
become 503/504 errors. Never call them on the bus loop thread.

Watches (``actors.client.watching``) are pushed to a subject of the client's own; the callback
runs on the bus loop thread and must not block (tell an actor).

A followed log (:class:`LogStream`) is pushed, chunk by chunk, to a subject of the client's own
too; only the chunks MACed with the stream's own random key (which only the pod's kubelet is
given) are taken.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import logging
import queue
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors.api import crds
from actors.api.discovery import Served
from actors.api.objects import Object
from actors.api.patches import APPLY_PATCH
from actors.api.resources import METRICS_GROUP, ResourceInfo
from actors.api.watches import DEFAULT_LEASE_SECONDS
from actors.client.credentials import Credentials, Proof, TokenCredentials
from actors.client.watching import Watch, WatchEvent
from bus import loop as bus_loop
from bus.connection import Connection, Incoming
from bus.envelope import Envelope, mac, new_id, new_trace_id
from bus.errors import (
    ApiError,
    BadRequest,
    BusError,
    Forbidden,
    ServerTimeout,
    TooManyRequests,
    api_error,
)
from bus.inprocess import Door
from bus.permissions import lane_of

log = logging.getLogger(__name__)


REPLY_SLACK = 1.0
"""Seconds :meth:`Client.request` waits past its deadline for the bus to settle the request
(the bus's own deadline fires first) before it gives up on it with ServerTimeout."""

READS = ("get", "list")
"""Verbs a request sends again, once, when no reply came within half its deadline (a request
or its reply lost on the way, as ``bus.faults`` does on purpose): asking again changes nothing
and both attempts fit the deadline. Only of stored objects: not a subresource (a followed
log's get opens a stream) nor metrics (measured anew by the kubelets each time). A write is
sent once: one that timed out may have been done, and its caller decides (controllers requeue
with backoff; a create sent again meets AlreadyExists)."""

CHUNK_SIZE = 500
"""Objects per page of a list asked for whole (kubectl's ``--chunk-size`` default): a page of
them fits a bus message where the whole list of a big cluster (a thousand Nodes, ten thousand
Pods) does not; the server shrinks a page further when its objects are large."""

MAX_THROTTLED = 10
"""Times :meth:`Client.request` (and :meth:`Client.submit` asked to, as ``bind_soon``) sends a
request again that was refused with 429 naming a ``retryAfterSeconds`` (flow control, a busy
mailbox: not served, so nothing was done), each after that pause, before it raises: client-go's
``maxRetries`` for a ``Retry-After`` answer."""

MAX_RETRY_AFTER = 10.0
"""The longest pause (s) a refusal's ``retryAfterSeconds`` buys."""

STREAM_KEY_BYTES = 32
"""Length of a followed log's random key (HMAC-SHA256's block of security)."""


@dataclass(frozen=True, slots=True)
class LogChunk:
    """One chunk of a followed log, from the pod's kubelet (its MAC checked)."""

    data: str
    end: bool
    """The container stopped: the stream is over."""
    incoming: Incoming


class LogStream:
    """``logs -f`` as its reader: a subject of its own (``<prefix>.inbox.<owner>.logs.<id>``)
    and a random key, sent with the request in ``auth.streamKey`` (kept out of traces and the
    audit log) and given by the apiserver to the pod's kubelet alone, which MACs every chunk
    with it. A chunk without that MAC (anyone else who may publish there: another kubelet) is
    dropped and never acknowledged. Take chunks with :meth:`take`, acknowledge each once used
    (flow control: the kubelet sends the next only then), :meth:`close` at the end."""

    def __init__(self, client: Client, pod: str, namespace: str | None,
                 options: dict[str, Any],
                 arrived: Callable[[LogChunk], None] | None = None) -> None:
        """Subscribe, then ask the apiserver to have the log followed to us (ApiError when
        it refuses: nothing is left subscribed). ``arrived``: called with each chunk on the
        bus loop thread (it must not block) instead of keeping it for :meth:`take`."""
        connection = self.connection = client.connection
        self.key = secrets.token_bytes(STREAM_KEY_BYTES)
        self.subject = connection.subjects.stream(connection.owner, new_id())
        self._chunks: queue.Queue[LogChunk] = queue.Queue()
        self._arrived_chunk = arrived or self._chunks.put
        self._subscription = connection.subscribe(self.subject, self._arrived)
        try:
            client.request("get", "pods", namespace=namespace, name=pod, subresource="log",
                           options={**options, "followTo": self.subject},
                           keys={"streamKey": self.key})
        except ApiError:
            self.close()
            raise

    def _arrived(self, incoming: Incoming) -> None:  # bus loop thread
        if not keyed(self.key, incoming):
            return
        body = incoming.envelope.body if isinstance(incoming.envelope.body, dict) else {}
        self._arrived_chunk(LogChunk(str(body.get("data", "")), bool(body.get("end")),
                                     incoming))

    def take(self, timeout: float) -> LogChunk | None:
        """The next chunk; None when none came within ``timeout`` seconds."""
        try:
            return self._chunks.get(timeout=timeout)
        except queue.Empty:
            return None

    def acknowledge(self, chunk: LogChunk) -> None:
        """Tell the kubelet ``chunk`` is taken: it sends the next."""
        answer_stream(self.connection, chunk.incoming, {})

    def close(self) -> None:
        """Stop listening (the kubelet ends the stream at its next chunk)."""
        self.connection.unsubscribe(self._subscription)


def keyed(key: bytes, incoming: Incoming) -> bool:
    """Whether a message of a stream carries the MAC of the stream's ``key`` (only the pod's
    kubelet has it); one that does not is logged, to be dropped."""
    expected = mac(key, incoming.subject, incoming.reply_to or "", incoming.data)
    if incoming.mac is not None and hmac.compare_digest(incoming.mac, expected):
        return True
    log.warning("stream %s: dropped a message not MACed with its key (from %r)",
                incoming.subject, incoming.envelope.sender)
    return False


def answer_stream(connection: Connection, incoming: Incoming, body: dict[str, Any]) -> None:
    """Answer a stream's message (its ``seq`` added to ``body``): the kubelet waits for it.
    Its MAC covered ``reply_to``: the kubelet chose it, into an inbox (checked)."""
    if incoming.reply_to and connection.subjects.is_inbox_of(incoming.reply_to, None):
        sent = incoming.envelope.body if isinstance(incoming.envelope.body, dict) else {}
        connection.publish(incoming.reply_to, incoming.envelope.reply(
            {"seq": sent.get("seq"), **body}, sender=connection.name))


def binding_request(pod: Object, node: str, trace_id: str | None) -> dict[str, Any]:
    """The request binding ``pod`` to ``node``: ``create pods/binding`` with the Binding as
    body (:meth:`Client.request`'s and :meth:`Client.submit`'s arguments)."""
    metadata = pod["metadata"]
    where = {"name": metadata["name"], "namespace": metadata["namespace"]}
    return {"verb": "create", "resource": "pods", **where, "subresource": "binding",
            "trace_id": trace_id,
            "body": {"apiVersion": "v1", "kind": "Binding", "metadata": where,
                     "target": {"apiVersion": "v1", "kind": "Node", "name": node}}}


def _settle(answer: concurrent.futures.Future[Any],
            sent: concurrent.futures.Future[Envelope],
            warn: Callable[[str], None] | None = None) -> None:
    """Resolve ``answer`` from the bus reply ``sent``: what :func:`_answer` makes of it."""
    try:
        answer.set_result(_answer(sent.result(), warn))
    except BusError as error:
        answer.set_exception(api_error(error))
    except (Exception, concurrent.futures.CancelledError) as error:  # ApiError and the rest
        answer.set_exception(error)


def _answer(reply: Envelope, warn: Callable[[str], None] | None) -> Any:
    """A bus reply's body, each of its warnings (``status.warnings``) to ``warn`` first; its
    error raised (a BusError) when it is one."""
    reply.raise_for_status()
    if warn is not None:
        for warning in (reply.status or {}).get("warnings") or ():
            warn(str(warning))
    return reply.body


class Client:
    """A connection to the apiserver for one identity: a bearer token, or credentials (a
    certificate session, see ``actors.client.credentials``)."""

    def __init__(self, connection: Connection, credentials: Credentials | str | None,
                 timeout: float | None = None, *, impersonate: str | None = None,
                 impersonate_groups: tuple[str, ...] = (), field_validation: str | None = None,
                 warn: Callable[[str], None] | None = None, door: Door | None = None) -> None:
        """``impersonate``: act as this user (and ``impersonate_groups``), as kubectl's
        ``--as``/``--as-group``; the identity of ``credentials`` needs RBAC's
        ``impersonate``. ``field_validation``: what :meth:`create` and :meth:`update` ask of
        unknown fields (``Strict``, ``Warn``, ``Ignore``; None: the apiserver's default,
        ``Warn``); ``warn`` is called (on the bus loop's thread) with each warning a reply
        carries, such as an unknown field dropped. With ``door`` (the apiserver's workers of
        this process), :meth:`call` hands its requests to one of them without NATS
        (``bus.inprocess``), and sends them on the bus when none is open."""
        self.field_validation, self.warn, self.door = field_validation, warn, door
        self.connection = connection
        self.subjects = connection.subjects
        self.credentials: Credentials = (
            TokenCredentials(credentials) if credentials is None or isinstance(credentials, str)
            else credentials)
        self._impersonate = {"user": impersonate, "groups": list(impersonate_groups)} \
            if impersonate else None
        self.timeout = timeout or connection.config.request_timeout
        self.lane = lane_of(connection.config.user or "")
        """Where its requests travel (``Subjects.api``): the admin's on the exempt lane, which
        only its NATS user may publish on, apart from everyone else's (docs/DESIGN.md,
        "Priority lanes")."""
        self.served = Served()
        """The resources this client knows: the built-in ones, and the custom ones it learnt
        (:meth:`discover`). Replaced whole, never changed."""

    def info(self, resource: str | ResourceInfo) -> ResourceInfo:
        """The resource a kubectl word names (the apiserver asked for its custom resources
        when the word is not known), or the resource itself."""
        if isinstance(resource, ResourceInfo):
            return resource
        try:
            return self.served.resolve(resource)
        except BadRequest:
            self.discover()
            return self.served.resolve(resource)

    def discover(self) -> Served:
        """Learn the custom resources the cluster serves now: those of its Established
        CustomResourceDefinitions (kubectl reads them from ``/apis``; over the bus they are
        the CRDs themselves). Unchanged when this identity may not list CRDs."""
        try:
            found = self.list(crds.RESOURCE)["items"]
        except Forbidden:
            return self.served
        self.served = Served(info for crd in found if (info := crds.resource_of(crd)))
        return self.served

    # -- the one request path ------------------------------------------------------------------

    def subject(self, verb: str, info: ResourceInfo, subresource: str | None,
                server: str | None = None) -> str:
        """The request's subject: on this client's lane, but a watch and a request addressed
        to one apiserver process (the lane carries neither)."""
        resource = f"{info.name}/{subresource}" if subresource else info.name
        lane = self.lane if verb != "watch" and server is None else "api"
        return self.subjects.api(info.group, resource, verb, server, lane)

    def envelope(self, verb: str, info: ResourceInfo, namespace: str | None, name: str | None,
                 body: Any, options: dict[str, Any] | None, subresource: str | None,
                 trace_id: str | None, auth: dict[str, Any] | None,
                 keys: dict[str, Any] | None = None) -> Envelope:
        """``keys``: secrets of the request beside the credentials (a followed log's
        ``streamKey``), carried in ``auth``, which no trace or audit record shows."""
        if self._impersonate is not None and auth is not None:
            auth = {**auth, "impersonate": self._impersonate}
        if keys:
            auth = {**(auth or {}), **keys}
        return Envelope(
            trace_id=trace_id or new_trace_id(), span_id=new_id(), verb=verb, group=info.group,
            resource=info.name, subresource=subresource,
            namespace=namespace if info.namespaced else None, name=name, body=body,
            options=options, auth=auth,
        )

    def request(self, verb: str, resource: str | ResourceInfo, *, namespace: str | None = None,
                name: str | None = None, body: Any = None, options: dict[str, Any] | None = None,
                subresource: str | None = None, trace_id: str | None = None,
                timeout: float | None = None, server: str | None = None,
                keys: dict[str, Any] | None = None) -> Any:
        """Send one API request and return the reply's body; raise ApiError on failure. A
        request refused with 429 is sent again after the pause it names (if it names one), at
        most :data:`MAX_THROTTLED` times. ``server``: to that one apiserver process (see
        ``Watch.server``), not to any; ``keys``: see :meth:`envelope`.

        Which thread: any but the bus loop's; it blocks that thread for the answer and sleeps
        on it through each 429's pause (as client-go's request sleeps in its goroutine): on an
        actor's thread its mailbox waits meanwhile, over 10 s when flow control keeps refusing.
        An actor that must not stall sends with :meth:`submit` (``resend_throttled``, as
        :meth:`bind_soon`) and is told the answer."""
        throttled = 0
        while True:
            try:
                return self._request(verb, resource, namespace=namespace, name=name, body=body,
                                     options=options, subresource=subresource,
                                     trace_id=trace_id, timeout=timeout, server=server,
                                     keys=keys)
            except TooManyRequests as error:  # not served: sent again, as client-go does
                pause = _resend_after(error, throttled)
                if pause is None:
                    raise
                throttled += 1
                log.info("%s %s: %s; again in %gs", verb, resource, error.message, pause)
                time.sleep(pause)

    def _request(self, verb: str, resource: str | ResourceInfo, *, namespace: str | None,
                 name: str | None, body: Any, options: dict[str, Any] | None,
                 subresource: str | None, trace_id: str | None, timeout: float | None,
                 server: str | None, keys: dict[str, Any] | None) -> Any:
        """One :meth:`request` as sent, a read asked again when its reply was lost."""
        deadline = timeout or self.timeout
        tries = 2 if self._read_again(verb, resource, subresource) else 1
        wait, tried = deadline / tries, 1
        while True:
            answer = self.submit(verb, resource, namespace=namespace, name=name, body=body,
                                 options=options, subresource=subresource, trace_id=trace_id,
                                 timeout=wait, server=server, keys=keys)
            try:
                return answer.result(wait + REPLY_SLACK)
            except TimeoutError:  # the bus loop never settled it (stuck): say so, not hang on
                answer.cancel()
                raise ServerTimeout(
                    f"no answer to {verb} {resource} within {deadline:g}s") from None
            except ServerTimeout:  # no reply came: a read asks again (READS)
                if tried == tries:
                    raise
                log.info("%s %s: no reply within %gs; asking again", verb, resource, wait)
            tried += 1

    def _read_again(self, verb: str, resource: str | ResourceInfo,
                    subresource: str | None) -> bool:
        """Whether a request is asked again when its reply is lost (:data:`READS`)."""
        return verb in READS and subresource is None and \
            self.info(resource).group != METRICS_GROUP

    def submit(self, verb: str, resource: str | ResourceInfo, *, namespace: str | None = None,
               name: str | None = None, body: Any = None, options: dict[str, Any] | None = None,
               subresource: str | None = None, trace_id: str | None = None,
               timeout: float | None = None, server: str | None = None,
               keys: dict[str, Any] | None = None, resend_throttled: bool = False
               ) -> concurrent.futures.Future[Any]:
        """:meth:`request` without waiting: the future resolves to the reply's body or raises
        the ApiError :meth:`request` would. Callable from any thread but the bus loop's (opening a
        certificate session blocks for its handshake). ``resource``: a kubectl word, or the
        resource itself. A 429 resolves it at once, unless ``resend_throttled``: then the
        request is sent again after the pause the 429 names, as :meth:`request` does, each
        pause a timer of the connection's loop (nothing waits) and each resend proven there
        (``Credentials.aprove``)."""
        subject, make = self._outgoing(verb, resource, namespace, name, body, options,
                                       subresource, trace_id, server, keys)
        proof = self.credentials.prove(self.connection)
        deadline = timeout or self.timeout
        sent = self.connection.request(subject, make(proof), deadline, proof.mac_key)
        answer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if resend_throttled:
            sent.add_done_callback(_Resending(self, subject, make, deadline, answer).heard)
        else:
            sent.add_done_callback(lambda done: _settle(answer, done, self.warn))
        return answer

    async def call(self, verb: str, resource: str | ResourceInfo, *,
                   namespace: str | None = None, name: str | None = None, body: Any = None,
                   options: dict[str, Any] | None = None, subresource: str | None = None
                   ) -> Any:
        """:meth:`submit` awaited on an event loop other than the bus loop (the HTTPS
        listener's; ``bus.loop.awaited``): the reply's body, or the ApiError. Opening a
        certificate session blocks the caller's loop for its handshake, once a session. A
        request goes to an apiserver worker of this process when the door has one open (a
        watch is the watch worker's, on the bus)."""
        subject, make = self._outgoing(verb, resource, namespace, name, body, options,
                                       subresource, None, None, None)
        proof = self.credentials.prove(self.connection)
        envelope = make(proof)
        take = self.door.taker() if self.door is not None and verb != "watch" else None
        try:
            if take is not None:
                reply = await self.connection.handed(take, subject, envelope, self.timeout,
                                                     proof.mac_key)
            else:
                reply = await bus_loop.awaited(self.connection.arequest(
                    subject, envelope, self.timeout, proof.mac_key))
        except BusError as error:
            raise api_error(error) from error
        self.answered(reply)
        try:
            return _answer(reply, self.warn)
        except BusError as error:
            raise api_error(error) from error

    def answered(self, reply: Envelope) -> None:
        """Hears each reply :meth:`call` awaited, before its body is taken or its error
        raised (the HTTPS front reads its ``opts`` there). Nothing by default."""

    def _outgoing(self, verb: str, resource: str | ResourceInfo, namespace: str | None,
                  name: str | None, body: Any, options: dict[str, Any] | None,
                  subresource: str | None, trace_id: str | None, server: str | None,
                  keys: dict[str, Any] | None) -> tuple[str, Callable[[Proof], Envelope]]:
        """A request's subject, and its envelope as sent under a proof (each send of it one
        of its own, all of one trace)."""
        info = self.info(resource)
        trace_id = trace_id or new_trace_id()

        def make(proof: Proof) -> Envelope:
            return self.envelope(verb, info, namespace, name, body, options, subresource,
                                 trace_id, proof.auth, keys)

        return self.subject(verb, info, subresource, server), make

    # -- verbs ---------------------------------------------------------------------------------

    def get(self, resource: str, name: str, namespace: str | None = "default") -> Object:
        return self.request("get", resource, namespace=namespace, name=name)

    def list(self, resource: str | ResourceInfo, namespace: str | None = None, *,
             label_selector: str | None = None, field_selector: str | None = None,
             limit: int | None = None, continue_token: str | None = None,
             chunk_size: int = CHUNK_SIZE) -> Object:
        """A ``<Kind>List`` with ``items`` and ``metadata.resourceVersion``.

        With ``limit``, one page of at most that many (the server may send fewer, to fit the
        bus) and ``metadata.continue`` while more follow. Without, every item: asked for in
        pages of ``chunk_size`` (0: in one request) following ``metadata.continue`` to the
        last, as kubectl's ``--chunk-size``, so that a list of any length fits the bus's
        messages; each page is consistent at the first page's ``resourceVersion``, which the
        List carries (a watch may start there)."""
        if limit is not None or not chunk_size:
            options = {k: v for k, v in (("labelSelector", label_selector),
                                         ("fieldSelector", field_selector), ("limit", limit),
                                         ("continue", continue_token)) if v}
            return self.request("list", resource, namespace=namespace, options=options or None)
        page = first = self.list(resource, namespace, label_selector=label_selector,
                                 field_selector=field_selector, limit=chunk_size,
                                 continue_token=continue_token)
        items = list(first["items"])
        while token := page["metadata"].get("continue"):
            page = self.list(resource, namespace, label_selector=label_selector,
                             field_selector=field_selector, limit=chunk_size,
                             continue_token=token)
            items.extend(page["items"])
        return {**first, "items": items, "metadata": {  # metrics lists have no revision
            key: value for key, value in first["metadata"].items() if key == "resourceVersion"}}

    def create(self, resource: str, obj: Object, namespace: str | None = "default",
               trace_id: str | None = None) -> Object:
        metadata = obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        name = name if isinstance(name, str) else None  # the apiserver refuses the body
        return self.request("create", resource, namespace=namespace, name=name, body=obj,
                            trace_id=trace_id, options=self.write_options())

    def update(self, resource: str, obj: Object, *, subresource: str | None = None,
               trace_id: str | None = None) -> Object:
        metadata = obj.get("metadata", {})
        return self.request("update", resource, namespace=metadata.get("namespace"),
                            name=metadata.get("name"), body=obj, subresource=subresource,
                            trace_id=trace_id, options=self.write_options())

    def patch(self, resource: str, name: str, patch: Any, patch_type: str,
              namespace: str | None = "default", *, subresource: str | None = None,
              trace_id: str | None = None) -> Object:
        """Patch the stored object; ``patch_type``: one of ``actors.api.patches.TYPES``
        (``application/merge-patch+json``...)."""
        options = {**(self.write_options() or {}), "patchType": patch_type}
        return self.request("patch", resource, namespace=namespace, name=name, body=patch,
                            subresource=subresource, trace_id=trace_id, options=options)

    def apply(self, resource: str, obj: Object, field_manager: str,
              namespace: str | None = "default", *, force: bool = False) -> Object:
        """Server-side apply ``obj`` (a configuration naming itself in ``metadata.name``) as
        ``field_manager``: created when absent; ``force`` takes the fields other managers own
        instead of a Conflict."""
        options = {**(self.write_options() or {}), "patchType": APPLY_PATCH,
                   "fieldManager": field_manager, "force": force}
        return self.request("patch", resource, namespace=namespace,
                            name=(obj.get("metadata") or {}).get("name"), body=obj,
                            options=options)

    def write_options(self) -> dict[str, Any] | None:
        """The options of a write (``fieldValidation``), for writes sent with :meth:`submit`."""
        return {"fieldValidation": self.field_validation} if self.field_validation else None

    def delete(self, resource: str | ResourceInfo, name: str, namespace: str | None = "default", *,
               grace_period: int | None = None, propagation_policy: str | None = None,
               preconditions: dict[str, str] | None = None, trace_id: str | None = None
               ) -> Object:
        """Delete; ``propagation_policy`` (``Orphan``, ``Background``, ``Foreground``) says
        what happens to the object's dependents; ``preconditions`` (``uid``,
        ``resourceVersion``) what the object must still have (409 else)."""
        options = {k: v for k, v in (("gracePeriodSeconds", grace_period),
                                     ("propagationPolicy", propagation_policy),
                                     ("preconditions", preconditions)) if v is not None}
        return self.request("delete", resource, namespace=namespace, name=name,
                            options=options or None, trace_id=trace_id)

    def delete_collection(self, resource: str, namespace: str | None = "default", *,
                          label_selector: str | None = None,
                          field_selector: str | None = None) -> Object:
        """Delete everything the selectors match (all of ``resource`` in ``namespace`` when
        none); returns a ``<Kind>List`` of what each delete returned."""
        options = {k: v for k, v in (("labelSelector", label_selector),
                                     ("fieldSelector", field_selector)) if v}
        return self.request("deletecollection", resource, namespace=namespace,
                            options=options or None)

    def bind(self, pod: Object, node: str, trace_id: str | None = None) -> None:
        """Bind ``pod`` to ``node`` (``create pods/binding``), waiting for the answer."""
        self.request(**binding_request(pod, node, trace_id))

    def bind_soon(self, pod: Object, node: str, trace_id: str | None = None
                  ) -> concurrent.futures.Future[Any]:
        """:meth:`bind` without waiting (:meth:`submit`'s future), a 429 sent again after
        its pause as :meth:`bind` does, on the connection loop's timer."""
        return self.submit(**binding_request(pod, node, trace_id), resend_throttled=True)

    def watch(self, resource: str | ResourceInfo, on_event: Callable[[WatchEvent], None], *,
              namespace: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None, resource_version: str | None = None,
              lease_seconds: float = DEFAULT_LEASE_SECONDS, version: str | None = None
              ) -> Watch:
        """Start a watch; ``on_event`` runs on the bus loop thread and must not block. With
        ``version`` (a custom resource's served version), its objects come in that version."""
        return Watch.of(self, self.info(resource), on_event, namespace=namespace,
                        label_selector=label_selector, field_selector=field_selector,
                        lease_seconds=lease_seconds, version=version).start(resource_version)

    def new_watch_id(self) -> str:
        """A watch id of this client's own: ``<owner>.<connection name>-<random>``."""
        return self.subjects.watch_id(
            self.connection.owner,
            f"{re.sub(r'[^A-Za-z0-9_-]', '-', self.connection.name)}-{new_id()}")


class _Resending:
    """A request of :meth:`Client.submit` sent again after each 429 naming a pause, as
    :meth:`Client.request` does but with nobody waiting: the pause is a timer of the
    connection's loop, the resend proven and sent there. Settles ``answer`` with the last
    answer (or leaves it once cancelled)."""

    def __init__(self, client: Client, subject: str, make: Callable[[Proof], Envelope],
                 timeout: float, answer: concurrent.futures.Future[Any]) -> None:
        self.client, self.subject, self.make, self.timeout = client, subject, make, timeout
        self.answer = answer
        self.throttled = 0

    def heard(self, sent: concurrent.futures.Future[Envelope]) -> None:
        """The answer to one send (the connection's loop thread, or the sender's when it
        came at once): settle, or send again after the 429's pause. Never blocks."""
        if self.answer.done():  # cancelled meanwhile
            return
        pause = self._pause(sent)
        if pause is None:
            _settle(self.answer, sent, self.client.warn)
            return
        self.throttled += 1
        log.info("%s: refused (429); again in %gs", self.subject, pause)
        self.client.connection.loop.submit(self._again(pause)).add_done_callback(self.heard)

    def _pause(self, sent: concurrent.futures.Future[Envelope]) -> float | None:
        """The pause before sending again (:func:`_resend_after`); None: settle now."""
        try:
            sent.result().raise_for_status()
        except TooManyRequests as refused:
            return _resend_after(refused, self.throttled)
        except (Exception, concurrent.futures.CancelledError):  # settled as it is
            pass
        return None

    async def _again(self, pause: float) -> Envelope:
        """The request sent once more after ``pause`` seconds, unless cancelled meanwhile."""
        await asyncio.sleep(pause)
        if self.answer.cancelled():
            raise asyncio.CancelledError
        connection = self.client.connection
        proof = await self.client.credentials.aprove(connection)
        return await connection.arequest(self.subject, self.make(proof), self.timeout,
                                         proof.mac_key)


def _resend_after(error: TooManyRequests, throttled: int) -> float | None:
    """The pause before sending again a request refused with ``error`` that was sent again
    ``throttled`` times already; None: it is not (:data:`MAX_THROTTLED`, :func:`_retry_after`)."""
    return None if throttled >= MAX_THROTTLED else _retry_after(error)


def _retry_after(error: ApiError) -> float | None:
    """The pause a 429 asks for (``details.retryAfterSeconds``); None when it names none (a
    refusal that waiting does not lift, as an eviction a disruption budget forbids: client-go
    sends again only an answer with ``Retry-After``)."""
    seconds = error.details.get("retryAfterSeconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        return None
    return min(float(seconds), MAX_RETRY_AFTER)
