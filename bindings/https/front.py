"""The handlers of the HTTPS listener: each HTTP request becomes the request a bus message
carries, sent to the apiserver as its client's, and its answer becomes the HTTP answer.

Who the client is, is the apiserver's to decide: the front authenticates on the bus as itself
(its own certificate session) and forwards the client's credentials beside (its TLS client
certificate, else its bearer token: ``ForwardedCredentials``), which the pipeline checks
(``actors.apiserver.authn.Forwarding``) before RBAC, admission, validation and the store; the
``Impersonate-User`` and ``Impersonate-Group`` headers become the request's impersonation,
under RBAC's ``impersonate``. Only ``/healthz``, ``/livez``, ``/readyz`` (their checks:
``actors.apiserver.http.health``) and ``/version`` are answered here for anybody
(kube-apiserver's ``system:public-info-viewer``); ``/metrics`` (this process's registry, in the
Prometheus text format) for whom RBAC lets ``get`` that non-resource URL (a
SelfSubjectAccessReview of it, made as the client); discovery and the
OpenAPI documents (kept encoded with their ETags: ``openapi``) are built from what the
apiserver serves now (``served``: the built-in resources and those of the Established CRDs,
the very set the apiserver's workers in this process resolve requests with) but for
authenticated users only, so the front has the apiserver
authenticate the client first (a SelfSubjectAccessReview, which every authenticated user may
make). So is a request with a body and no client certificate, before its body is read: the
front reads nothing from a sender nobody has authenticated (kube-apiserver authenticates before
reading a body), and a body must arrive within ``body_seconds`` (:data:`BODY_SECONDS`); one
client (one certificate, one token) sends at most ``uploads`` bodies at once
(:data:`UPLOADS_PER_CLIENT`: more are 429, not read).

A watch is a chunked stream of JSON lines: the front opens a bus watch for the client (``Client
.watch``: its lease renewed, every renewal with the client's credentials) and writes each event
as it comes, bookmarks only when asked for, until ``timeoutSeconds``, an ERROR event, or the
client leaving; then the bus watch is stopped. A client that lets more than ``watch_buffer``
bytes of events pile up unread is cut off (:data:`WATCH_BUFFER`).

A get, list or watch whose ``Accept`` prefers the Table form gets a Table (``tables``). A log is
text; a followed one is a chunked text stream, the front being the ``LogStream``'s reader. An
exec is a WebSocket (``channels``) relayed to the bus's exec stream opened for the client
(``execing``): input, terminal sizes and the close of stdin one way, output and the exit status
the other.

Which thread: the listener's loop thread (``https``). A bus request is sent from it without
waiting, run on the bus loop and awaited here (``Client.call``, ``bus.loop.awaited``: no
``concurrent.futures`` in between); opening a certificate session, once an hour, blocks it for
one bus round trip; a
watch starts and stops on the bus loop (``Watch.astart``, ``Watch.astop``), holding no thread:
its registration is sent once, and refused (a 429 of flow control too) it is answered with
that refusal (``Retry-After``), as kube-apiserver answers a watch its priority level cannot take
(it was registered on one of the loop's six executor threads, where its client waited out
every 429 and sent again: a user flow control refused, opening watches, held all six for tens
of seconds, every client's watch and the health checks waiting behind). A followed log or an
exec opens and closes on threads of its own (:data:`NODE_CALL_THREADS`); health checks run on
the loop's executor; watch events come on the bus loop and are handed over with
``call_soon_threadsafe``.

Neighbours: ``listener`` (serves this), ``actors.apiserver.http`` (the translation),
``actors.client`` (the bus requests, watches and followed logs), ``execing`` (execs).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from actors.api.discovery import Served
from actors.api.objects import Object
from actors.api.resources import lookup
from actors.apiserver.http import (
    answers,
    channels,
    discovery,
    health,
    openapi,
    queries,
    routes,
    tables,
)
from actors.apiserver.http.documents import Document
from actors.client.client import Client, LogChunk, LogStream, Watch, WatchEvent
from actors.client.credentials import Credentials, ForwardedCredentials
from bindings.https import execing, tracecontext
from bus import loop as bus_loop
from bus.connection import Connection
from bus.envelope import Envelope
from bus.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    Gone,
    RequestEntityTooLarge,
    ServerTimeout,
    TooManyRequests,
)
from bus.inprocess import Door

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024
"""Largest request body read (kube-apiserver's limit); the object limit is the pipeline's."""
BODY_SECONDS = 60.0
"""Longest a request's body may take to arrive (kube-apiserver's request timeout); then 504.
Unbounded, a body sent a byte at a time held its connection and buffer for ever."""
UPLOADS_PER_CLIENT = 16
"""Request bodies one client (one certificate, one token) may be sending at once; past it a
request with a body is 429 (``Retry-After``) before any of it is read. Each is held until
whole (up to :data:`MAX_BODY_BYTES` for up to :data:`BODY_SECONDS`): unbounded, a user
without any RBAC binding holding 100 bodies all but sent grew the process by 370 MB, 1,000
by 3.6 GB, for a minute at a time."""
WATCH_BUFFER = 4 * 1024 * 1024
"""Bytes of encoded events one watch may hold for a client that does not read them; past it its
connection is closed (it lists and watches again), as kube-apiserver closes a watcher whose
buffer stays full. In bytes, not events: a burst of small events (a deletecollection) arrives
all at once for a client that reads fast. Unbounded, one client reading nothing had the front
keep every event: 40 such watches and 100 updates of 240 KB grew the process by 900 MB."""
TEXT = "text/plain"
"""A log's Content-Type."""
NODE_CALL_THREADS = 32
"""Threads that open and close followed logs and execs, apart from the loop's executor
(where health checks run; watches, once there too, hold no thread): their kubelet may take
its time, and one that never answers (compromised, or cut off) holds each such thread until
the client's timeout. Sharing the loop's six, six followed logs of such a kubelet held every
HTTPS watch of every client 9 s."""
GONE_CHECK_SECONDS = 1.0
"""How often a followed log whose container is silent looks whether its client left."""
CHANGES = ("ADDED", "MODIFIED", "DELETED")
"""The watch events that carry an object (which the ``Accept`` header shapes)."""
_REVIEW = lookup("authorization.k8s.io", "selfsubjectaccessreviews")
FLOW = web.RequestKey("kubeactor.flow", dict)
"""Where a request keeps the ``opts`` of its bus answer (``_WarnedClient.flow``), for the
``X-Kubernetes-PF-*`` headers."""
_WHOAMI = lookup("authentication.k8s.io", "selfsubjectreviews")


class Front:
    """The handlers, sending on ``connection`` as the identity of ``credentials``;
    ``served`` says what the apiserver serves at the moment it is called (any thread: it
    returns an immutable :class:`~actors.api.discovery.Served`)."""

    def __init__(self, connection: Connection, credentials: Credentials,
                 served: Callable[[], Served], max_body_bytes: int = MAX_BODY_BYTES,
                 watch_buffer: int = WATCH_BUFFER, body_seconds: float = BODY_SECONDS,
                 uploads: int = UPLOADS_PER_CLIENT,
                 door: Door | None = None, metrics: CollectorRegistry | None = None,
                 checks: Mapping[str, Sequence[health.Check]] | None = None) -> None:
        """``door``: the apiserver workers of this process, to which requests are handed
        without the NATS hop (None, or none open: over the bus); ``metrics``: what
        ``/metrics`` shows (None: 404); ``checks``: each health endpoint's (``/readyz``...),
        run on an executor thread (they may take a moment)."""
        self.connection, self.credentials, self.served = connection, credentials, served
        self.door = door
        self.metrics, self.checks = metrics, checks or {}
        self.max_body_bytes, self.watch_buffer = max_body_bytes, watch_buffer
        self.body_seconds = body_seconds
        self.uploads = _Uploads(uploads)
        self.node_calls = ThreadPoolExecutor(NODE_CALL_THREADS, "https-node-calls")
        """Where followed logs and execs open and close (:data:`NODE_CALL_THREADS`)."""
        self.address = ""
        """``HOST:PORT`` the listener serves on, which ``/api`` names (set once listening)."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request (the listener's only route)."""
        path = request.path
        if health.is_health(path):
            return await self._health(request, path)
        if path in ("/version", "/version/"):  # kube-apiserver serves both; kr8s asks the 2nd
            return _json(200, discovery.version())
        try:
            response = await self._answer(request, path)
        except ApiError as error:
            code, body = answers.failure(error)
            response = web.Response(status=code, body=body, content_type=answers.JSON,
                                    headers=answers.retry_after(error))
        response.headers.extend(answers.flow_headers(request.get(FLOW, {})))
        return response

    async def _health(self, request: web.Request, path: str) -> web.Response:
        endpoint = "/" + path.lstrip("/").partition("/")[0]
        code, text = await asyncio.get_running_loop().run_in_executor(None, functools.partial(
            health.answer, path, self.checks.get(endpoint, ()), "verbose" in request.query,
            request.query.getall("exclude", [])))
        return web.Response(status=code, text=text)

    async def _metrics(self, client: Client) -> web.Response:
        """This process's metrics, for a client RBAC lets ``get`` ``/metrics``."""
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"nonResourceAttributes": {"verb": "get", "path": "/metrics"}}}
        if not (await client.call("create", _REVIEW, body=review))["status"]["allowed"]:
            who = await client.call("create", _WHOAMI, body={
                "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
            raise Forbidden(f'forbidden: User "{who["status"]["userInfo"]["username"]}" '
                            'cannot get path "/metrics"')
        assert self.metrics is not None
        return web.Response(body=generate_latest(self.metrics),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _answer(self, request: web.Request, path: str) -> web.StreamResponse:
        forwarded = _forwarded(request)
        client = self._client(request, forwarded)
        if path == "/metrics" and self.metrics is not None:
            return await self._metrics(client)
        served = self.served()
        accept = request.headers.get("Accept", "")
        if discovery.is_document(path) or openapi.is_document(path):
            await _authenticated(client)  # before anything is said of the document
            published = discovery.aggregated(path, accept, served) or openapi.document(
                path, served, accept)
            if published is not None:
                return _published(request, published)
            document = discovery.document(path, self.address, served)
            if document is not None:
                return _json(200, document)
        call = routes.route(request.method, path, request.query, served)
        if request.body_exists and "certificate" not in forwarded:  # TLS checked a certificate
            await _authenticated(client)
        if call.subresource in routes.CONNECT:
            return await self._exec(request, client, call)
        with self.uploads.reading(request, forwarded):
            body = await _body(request, self.body_seconds)
        options = queries.options(call, request.query, body, request.content_type,
                                  request.headers.get("User-Agent", ""))
        if call.verb == "watch":
            return await self._watch(request, client, call, options)
        if call.subresource == "log" and request.query.get("follow") in routes.TRUE:
            return await self._follow(request, client, call, options)
        answer = await client.call(
            call.verb, call.info, namespace=call.namespace, name=call.name,
            body=queries.payload(call, body, request.content_type), options=options or None,
            subresource=call.subresource)
        if call.subresource == "log":
            return web.Response(text=str(answer), content_type=TEXT)
        response = _json(answers.success_code(call.verb), _shaped(request, call, answer))
        for warning in client.warnings:
            response.headers.add("Warning", answers.warning(warning))
        return response

    def _client(self, request: web.Request, forwarded: Object) -> _WarnedClient:
        """A client on the front's connection, for the caller of ``request`` (who showed
        ``forwarded``)."""
        headers = request.headers
        client = _WarnedClient(
            self.connection, ForwardedCredentials(self.credentials, forwarded),
            impersonate=headers.get("Impersonate-User"),
            impersonate_groups=tuple(headers.getall("Impersonate-Group", ())), door=self.door,
            trace=tracecontext.parent(headers.get(tracecontext.HEADER)))
        request[FLOW] = client.flow
        return client

    async def _watch(self, request: web.Request, client: Client, call: routes.Call,
                     options: Object) -> web.StreamResponse:
        """Stream the events of a bus watch opened for the client (see the module
        docstring)."""
        loop = asyncio.get_running_loop()
        backlog = _Backlog(self.watch_buffer)
        seconds = queries.watch_seconds(request.query)
        response = web.StreamResponse(headers={"Content-Type": answers.JSON})
        shape = _shaper(request, call)

        def arrived(event: WatchEvent) -> None:  # bus loop thread
            loop.call_soon_threadsafe(_offer, backlog, event, request, shape)

        watch = Watch.of(client, call.info, arrived, namespace=call.namespace,
                         label_selector=options.get("labelSelector"),
                         field_selector=options.get("fieldSelector"), version=call.version)
        try:  # stopped however it ends: a client that left as its start was answered (the
            # bus loop done, the answer not yet handed back) left it started, renewed for ever
            try:
                await bus_loop.awaited(watch.astart(options.get("resourceVersion")))
            except Gone as error:  # 200, then the 410 in the stream: the client lists again
                await response.prepare(request)
                await response.write(answers.error_event(error))
                return response
            await response.prepare(request)
            await _stream(response, backlog, loop.time() + seconds,
                          bool(options.get("allowWatchBookmarks")))
        except ConnectionError:
            log.debug("watch %s: the client left", watch.id)
        finally:
            bus_loop.submit(watch.astop())
        return response


    async def _follow(self, request: web.Request, client: Client, call: routes.Call,
                      options: Object) -> web.StreamResponse:
        """Stream a followed log as chunked text: the front is the stream's reader (its
        subject and key, see ``LogStream``), acknowledging each chunk once written, until the
        container stops or the client leaves."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[LogChunk] = asyncio.Queue()

        def arrived(chunk: LogChunk) -> None:  # bus loop thread
            loop.call_soon_threadsafe(chunks.put_nowait, chunk)

        stream = await execing.opened(loop, self.node_calls, functools.partial(
            LogStream, client, str(call.name), call.namespace, options, arrived),
            lambda left: loop.run_in_executor(self.node_calls, left.close))
        response = web.StreamResponse(headers={"Content-Type": TEXT})
        try:
            await response.prepare(request)
            while (chunk := await _next(chunks, request)) is not None:
                await response.write(chunk.data.encode())
                stream.acknowledge(chunk)  # the end's too: the kubelet waits for it
                if chunk.end:
                    break
        except ConnectionError:
            log.debug("log stream %s: the client left", stream.subject)
        finally:
            loop.run_in_executor(self.node_calls, stream.close)
        return response


    async def _exec(self, request: web.Request, client: Client,
                    call: routes.Call) -> web.StreamResponse:
        """Run a command, or attach to the container, over WebSocket (``channels``): the
        bus's exec stream, opened for the client (authorized as ``create pods/exec`` or
        ``pods/attach``), relayed both ways by ``execing``."""
        subresource = str(call.subresource)
        body = channels.attachment(request.query) if subresource == "attach" else \
            channels.execution(request.query.getall("command", []), request.query)
        socket = web.WebSocketResponse(protocols=channels.PROTOCOLS)
        if not socket.can_prepare(request).ok:  # kubectl's fallback after a refused upgrade
            await asyncio.get_running_loop().run_in_executor(self.node_calls, functools.partial(
                _refusal_first, client, call, body))
            raise BadRequest(f"pods/{subresource} is served over WebSocket only "
                             f"({', '.join(channels.PROTOCOLS)}), not SPDY")
        relay = execing.ExecRelay(socket.send_bytes, execing.websocket(socket), request.query,
                                  self.node_calls)
        args = (client, str(call.name), call.namespace, body, subresource)
        await relay.open(*args)  # refused (404, 403...) as an HTTP answer, before the upgrade
        try:
            await socket.prepare(request)
        except BaseException:
            relay.abandon()
            raise
        await relay.run(*args)
        await socket.close()
        return socket


def _refusal_first(client: Client, call: routes.Call, body: Object) -> None:
    """Raise what an exec or attach of ``call`` would be refused with before it starts (403,
    404, a container not the pod's...), by asking for it as a dry run, which the apiserver
    refuses once it has checked all that, running nothing (``relay.node_call``): a client
    that falls back to SPDY after a refused WebSocket upgrade hears the same refusal."""
    try:
        client.request("create", "pods", namespace=call.namespace, name=str(call.name),
                       subresource=str(call.subresource), body=body,
                       options={"dryRun": ["All"]})
    except BadRequest as refused:
        if not refused.message.startswith("dryRun is not served"):
            raise


class _WarnedClient(Client):
    """A client for one HTTP request, keeping the warnings of its answer (an unknown field
    dropped), which go back in ``Warning`` headers as kube-apiserver sends them, and the flow
    that served it (``opts``: its FlowSchema's and priority level's UIDs), which go back in
    kube-apiserver's ``X-Kubernetes-PF-*`` headers; its bus requests are in the ``trace`` of
    the request's ``traceparent`` (trace id, the caller's span as their parent), if any."""

    def __init__(self, *args: Any, trace: tuple[str, str] | None = None,
                 **kwargs: Any) -> None:
        self.warnings: list[str] = []
        self.flow: dict[str, Any] = {}
        self.trace = trace
        super().__init__(*args, warn=self.warnings.append, **kwargs)

    def envelope(self, *args: Any, **kwargs: Any) -> Envelope:
        envelope = super().envelope(*args, **kwargs)
        if self.trace is not None:
            envelope.trace_id, envelope.parent_id = self.trace
        return envelope

    def answered(self, reply: Envelope) -> None:
        self.flow.update(reply.options or {})


class _Uploads:
    """The request bodies being read, by the credential that sends them: at most ``limit``
    each (:data:`UPLOADS_PER_CLIENT`). The listener's loop thread only."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._reading: dict[object, int] = {}

    @contextlib.contextmanager
    def reading(self, request: web.Request, forwarded: Object) -> Iterator[None]:
        """Count the body of ``request`` (from the sender of ``forwarded``) while it is read
        (none: nothing counted); TooManyRequests when its sender's are at the limit."""
        sender = forwarded.get("certificate") or forwarded.get("token")
        if not request.body_exists or sender is None:
            yield
            return
        held = self._reading.get(sender, 0)
        if held >= self.limit:
            raise TooManyRequests(f"this client is sending {held} request bodies already, "
                                  f"the most it may at once: try again later",
                                  details={"retryAfterSeconds": 1})
        self._reading[sender] = held + 1
        try:
            yield
        finally:
            if (left := self._reading.pop(sender) - 1) > 0:
                self._reading[sender] = left


class _Backlog:
    """The encoded events of one watch its client has not taken yet, at most ``limit`` bytes
    (:data:`WATCH_BUFFER`). The listener's loop thread only."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0
        self._events: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    def offer(self, kind: str, chunk: bytes) -> bool:
        """Queue one event; False (nothing queued) when it would go past the limit."""
        if self.size + len(chunk) > self.limit:
            return False
        self.size += len(chunk)
        self._events.put_nowait((kind, chunk))
        return True

    async def take(self) -> tuple[str, bytes]:
        kind, chunk = await self._events.get()
        self.size -= len(chunk)
        return kind, chunk


async def _stream(response: web.StreamResponse, backlog: _Backlog, deadline: float,
                  bookmarks: bool) -> None:
    """Write ``backlog``'s events until ``deadline`` (loop time) or an ERROR event."""
    loop = asyncio.get_running_loop()
    while (left := deadline - loop.time()) > 0:
        try:
            kind, chunk = await asyncio.wait_for(backlog.take(), left)
        except TimeoutError:
            return
        if kind != "BOOKMARK" or bookmarks:
            await response.write(chunk)
        if kind == "ERROR":
            return


def _offer(backlog: _Backlog, event: WatchEvent, request: web.Request, shape: Shaper) -> None:
    """Queue ``event`` for ``request``'s client (the object of a change as ``shape`` makes
    it), or cut the client off when its backlog is full: its handler ends on the lost
    connection and stops the bus watch."""
    obj = shape(event.object) if event.type in CHANGES else event.object
    if not backlog.offer(event.type, answers.event(event.type, obj)) and \
            request.transport is not None:
        log.info("a watch client of %s read too slowly: cut off", request.path)
        request.transport.abort()


Shaper = Callable[[Object], Object]
"""What an object of an answer becomes: itself, or its Table (``Accept``)."""


def _shaper(request: web.Request, call: routes.Call) -> Shaper:
    """How the objects of ``call``'s answer go back: as they are, or as a Table of one row
    when the ``Accept`` header prefers one (a get, of the object or its status, and each
    change of a watch)."""
    version = tables.asked(request.headers.get("Accept", ""))
    if version is None or call.subresource not in (None, "status"):
        return _itself
    include = tables.include(request.query)
    return functools.partial(tables.table, call.info, version=version, what=include,
                             single=True)


def _shaped(request: web.Request, call: routes.Call, answer: Any) -> Any:
    """The answer of a get or a list as the ``Accept`` header asks (a Table or itself)."""
    if call.verb == "list" and (version := tables.asked(request.headers.get("Accept", ""))):
        return tables.table(call.info, answer, version, tables.include(request.query),
                            single=False)
    return _shaper(request, call)(answer) if call.verb == "get" else answer


def _itself(obj: Object) -> Object:
    return obj


async def _next(chunks: asyncio.Queue[LogChunk], request: web.Request) -> LogChunk | None:
    """The next chunk of a followed log; None once the client has gone (looked at every
    :data:`GONE_CHECK_SECONDS` while the container is silent)."""
    while request.transport is not None and not request.transport.is_closing():
        try:
            return await asyncio.wait_for(chunks.get(), GONE_CHECK_SECONDS)
        except TimeoutError:
            continue
    return None


def _forwarded(request: web.Request) -> Object:
    """The caller's credentials: its TLS client certificate (DER; the handshake verified it
    against the cluster CA and proved its key), else its bearer token, else none."""
    transport = request.transport
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    certificate = tls.getpeercert(binary_form=True) if tls is not None else None
    source = {"sourceIP": request.remote} if request.remote else {}
    if certificate:
        return {"certificate": certificate, **source}
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return {"token": token.strip(), **source} if scheme.lower() == "bearer" and token.strip() \
        else source


async def _authenticated(client: Client) -> None:
    """Have the apiserver authenticate ``client``'s caller (Unauthorized when it cannot)."""
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "get", "resource": "namespaces"}}}
    await client.call("create", _REVIEW, body=review)


async def _body(request: web.Request, seconds: float) -> bytes:
    """The request's body; RequestEntityTooLarge past the listener's limit, ServerTimeout
    when it has not all come within ``seconds``; empty at once when there is none (a get)."""
    if not request.body_exists:
        return b""
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise ServerTimeout(f"the request body did not arrive within {seconds:g}s") from None
    except web.HTTPRequestEntityTooLarge as error:
        raise RequestEntityTooLarge(f"the request body is too large: {error.text}") from None


def _published(request: web.Request, document: Document) -> web.Response:
    """A document kept encoded (aggregated discovery, OpenAPI): 304 when the client holds
    it (``If-None-Match``), immutable when asked for by its hash (as the index names it)."""
    headers = {"ETag": document.etag, "Vary": "Accept", "Cache-Control": "public, immutable"
               if request.query.get("hash") == document.hash else "no-cache, private"}
    if document.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=document.body,
                        headers={**headers, "Content-Type": document.content_type})


def _json(code: int, body: Any) -> web.Response:
    return web.Response(status=code, body=answers.encode(body), content_type=answers.JSON)
