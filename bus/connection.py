"""One NATS connection per component identity, living on the shared bus loop.

Every public method of :class:`Connection` is safe to call from any thread except the bus loop
thread: it schedules the work on the loop and returns a ``concurrent.futures.Future`` (or waits
for one). Subscription callbacks run on the loop thread and must not block: decode, hand the
message to an actor with ``tell()``, return.

When the server goes away, nats-py reconnects in the background (to another server of a NATS
cluster when there is one). Requests are never buffered meanwhile: one made while the
connection is down waits for it to come back (at most its own deadline); one that was awaiting
its reply fails once it is back, with ``ReplyLost`` (no reply can come through the server lost:
the request may or may not have been done, as after a timeout), instead of waiting out its
deadline. A connection with a reconnect window (``BusConfig.reconnect_window``: clients) gives
up when the window passes: it closes, and every request waiting on it, or made later, fails at
once with ``ConnectionLost``; one without (the control plane) reconnects for ever.

A ``tls://`` URL means TLS from the first byte (``bus.config.tls_options``).

Every message a subscription receives meets this process's fault plans first
(``bus.faults``): almost always none, and it goes straight to its handler.

Neighbours: ``bus.config`` (where and as whom), ``bus.loop`` (the thread), ``bus.envelope``
(the codec), ``bus.requests`` (the request/reply mux), ``bus.actor`` (the actor bridge built on
this class), ``bus.faults`` (fault injection).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from bus import faults
from bus import loop as bus_loop
from bus.callout import sign_nonce
from bus.config import (
    MAX_OUTSTANDING_PINGS,
    PING_INTERVAL,
    RECONNECT_WAIT,
    BusConfig,
    tls_options,
)
from bus.envelope import Envelope, decode, encode, read_mac
from bus.errors import (
    ApiError,
    BusError,
    BusTimeout,
    ConnectionLost,
    PayloadTooLarge,
    PermissionViolation,
)
from bus.requests import Requests
from bus.subjects import ANONYMOUS, Subjects, owner_token

log = logging.getLogger(__name__)

TLS_FAILED = ("the TLS handshake with the server failed: is it a tls:// server, is its "
              "certificate of the CA in the kubeconfig (or --nats-ca), naming the address "
              "connected to?")



Handler = Callable[["Incoming"], None]
"""A subscription callback. Runs on the bus loop thread: it must not block."""
Rejected = Callable[[str, ApiError], None]
"""Told of each message a subscription refused before its handler saw it: the subject and the
error it was answered with (400: the message did not decode). Runs on the bus loop
thread: it must not block (the apiserver audits the refusal)."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A decoded message as handed to a subscriber."""

    subject: str
    envelope: Envelope
    reply_to: str | None
    """Where a reply goes (an inbox subject), or None for a plain publish."""
    data: bytes = b""
    """The message as it travelled, for checking its MAC."""
    mac: bytes | None = None
    """The sender's MAC over subject and data (header ``Kubeactor-Mac``), when it sent one."""
    answer: Callable[[Envelope], None] | None = None
    """Where the reply goes instead of being published to ``reply_to``: a request handed over
    in this process (``bus.inprocess``); any thread, must not block. ``reply_to`` is still the
    requester's inbox, which its MAC covers and the responder checks."""


def _hang_up(nc: NatsClient) -> None:
    """Close the socket of ``nc``'s failed TLS handshake, which nats-py leaves open (it waits for
    ever for its close, so its connect was cancelled before it closed it)."""
    transport = getattr(nc, "_transport", None)
    if transport is not None:
        transport.close()


def _suffer(fate: faults.Fate, handler: Handler, msg: Msg,
            decoder: Callable[[bytes], Envelope] = decode) -> None:
    """Hand ``msg`` to ``handler`` as a fault plan decided: not at all, twice (each copy
    decoded anew, as two deliveries would be), or later (loop thread; a delay is a timer of
    the loop, so the messages after it overtake it)."""
    for _ in range(fate.copies):
        incoming = Incoming(msg.subject, decoder(msg.data), msg.reply or None, msg.data,
                            read_mac(msg.headers))
        if fate.delay:
            asyncio.get_running_loop().call_later(fate.delay, handler, incoming)
        else:
            handler(incoming)


class Connection:
    """A NATS connection for one identity on the shared bus loop."""

    def __init__(self, config: BusConfig, name: str, loop: bus_loop.Loop = bus_loop.BUS
                 ) -> None:
        """``loop``: the thread its messages are read, decoded and sent on (the bus loop,
        shared by the process's connections, unless a lane's own)."""
        self.config = config
        self.name = name
        self.loop = loop
        self.subjects = Subjects(config.prefix)
        self.owner = owner_token(config.user) if config.user else ANONYMOUS
        """Owner token of this connection's inbox and watch subjects: its NATS user's."""
        self._refused: set[str] = set()
        """Subjects whose subscription the server refused, until subscribe() reports it."""
        self._connect_error = ""
        """What the server said while connecting (an authorization violation), or why its
        TLS handshake failed."""
        self._connecting: asyncio.Future[None] | None = None
        """nats.connect while it runs: a failed TLS handshake cancels it (nats-py would wait
        for ever on the broken connection's close)."""
        self._nc: NatsClient | None = None
        self._publishing: set[asyncio.Future[None]] = set()
        self._outbox: list[tuple[str, bytes]] = []
        """Messages published and not yet handed to nats-py, in order."""
        self._sending = False
        """A task on the loop is sending the outbox (it ends when the outbox is empty)."""
        self._outbox_lock = threading.Lock()
        self.requests = Requests(self)
        """The requests awaiting their replies (``bus.requests``)."""
        self._up = asyncio.Event()
        """Set while connected, or once lost for good: requests wait on it (loop thread only)."""
        self._down: tuple[float, asyncio.TimerHandle | None] | None = None
        """While reconnecting: since when (monotonic), and the timer that gives up."""
        self.lost: str | None = None
        """Why the connection is closed for good (its reconnect window passed), else None.
        Readable from any thread: the CLI's watchers look at it to stop."""
        self._closed = False
        self._reconnected: list[Callable[[], None]] = []
        """Told each time the connection is back after a loss (:meth:`when_reconnected`)."""

    # -- lifecycle -------------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> Connection:
        """Connect (blocking this thread, not the loop); return self for chaining."""
        self.loop.wait(self._connect(), timeout=timeout + 1)
        return self

    async def _connect(self) -> None:
        nc = NatsClient()
        self._connecting = asyncio.ensure_future(nc.connect(
                servers=self.config.url.split(","),
                name=self.name,
                **self._credentials(),
                **tls_options(self.config.url, self.config.ca),
                inbox_prefix=self.subjects.inbox(self.owner).encode(),
                connect_timeout=2,
                # Fail fast when nobody listens; once connected, reconnect for ever (or
                # until the reconnect window closes the connection: _on_disconnected).
                max_reconnect_attempts=1,
                reconnect_time_wait=RECONNECT_WAIT,  # type: ignore[arg-type]  # any float
                ping_interval=PING_INTERVAL,
                max_outstanding_pings=MAX_OUTSTANDING_PINGS,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
                closed_cb=self._on_closed,
                allow_reconnect=True,
            ))
        try:
            await self._connecting
        except asyncio.CancelledError:
            if not self._connect_error.startswith(TLS_FAILED):
                raise
            _hang_up(nc)
            raise BusError(f"cannot connect to NATS at {self.config.url}: "
                           f"{self._connect_error}") from None
        except (nats.errors.Error, OSError, TimeoutError) as error:
            raise BusError(f"cannot connect to NATS at {self.config.url}: "
                           f"{self._refusal(error)}") from None
        finally:
            self._connecting = None
        nc.options["max_reconnect_attempts"] = -1
        await self.requests.start(nc)
        self._nc = nc
        self._up.set()

    def _credentials(self) -> dict[str, Any]:
        """nats-py's connect options for this identity's credentials (``bus.callout`` says
        what the auth callout expects)."""
        config = self.config
        if config.password is not None:
            return {"user": config.user, "password": config.password}
        if config.certificate is not None and config.key is not None:
            return {"token": base64.b64encode(config.certificate).decode(),
                    "signature_cb": partial(sign_nonce, config.key.sign)}
        if config.token is not None:
            return {"user": config.user, "password": config.token}
        return {}

    def _refusal(self, error: Exception) -> str:
        """Why connecting failed with ``error``, in words that say what to check."""
        if "authorization" in self._connect_error.lower():
            return f"{self._connect_error}: {self._refused_credentials()}"
        if isinstance(error, nats.errors.NoServersError):
            return "connection refused"
        return str(error) or type(error).__name__

    def _refused_credentials(self) -> str:
        """What the server refused, and what to check (it says no more than that it did)."""
        config = self.config
        if config.password is not None:
            return f"the password of NATS user {config.user!r} is not the cluster's"
        if config.certificate is not None:
            return (f"the certificate of {config.user!r} is refused (is it of this cluster's "
                    "CA, and valid now?)")
        if config.token is not None:
            return (f"the token is refused as user {config.user!r}'s (is it valid, and is the "
                    "kubeconfig's user named after the token's user?)")
        return ("this bus admits no connection without credentials: use a kubeconfig with a "
                "client certificate or a token")

    async def _on_error(self, error: Exception) -> None:
        # nats-py lower-cases the server's 'Permissions Violation for Subscription to "S"'.
        refused = str(error).lower().partition('permissions violation for subscription to "')[2]
        if refused:
            self._refused.add(refused.partition('"')[0])
        if self._nc is None:  # still connecting: _connect reports the outcome
            self._connect_error = self._connect_error or str(error)
            log.debug("%s: NATS error while connecting: %s", self.name, error)
            if isinstance(error, ssl.SSLError) and self._connecting is not None:
                self._connect_error = f"{TLS_FAILED} ({error})"
                self._connecting.cancel()
        elif refused or self._down is not None or isinstance(
                error, (nats.errors.UnexpectedEOF, ConnectionError)):
            # Refused: the subscriber gets PermissionViolation. The loss of the server (EOF,
            # a reset) and each failed attempt to reconnect: _on_disconnected says it once.
            log.debug("%s: NATS error: %s", self.name, error)
        else:
            log.warning("%s: NATS error: %s", self.name, error)

    async def _on_disconnected(self) -> None:
        """The server went away: nats-py reconnects; requests wait (see the module's
        docstring), and with a reconnect window, a timer gives up when it passes."""
        if self._nc is None or self.lost is not None or self._down is not None:
            return  # connecting, closing on purpose, lost for good, or already reconnecting
        self._up.clear()
        self.requests.dropped()
        window = self.config.reconnect_window
        timer = None if window is None else asyncio.get_running_loop().call_later(
            window, self._lose, f"the connection to the bus at {self.config.url} was lost and "
                                f"did not come back within {window:g}s")
        self._down = (time.monotonic(), timer)
        log.log(self._loss_level(), "%s: lost the bus at %s; reconnecting", self.name,
                self.config.url)

    def _loss_level(self) -> int:
        """How loudly to log the loss of the server: a connection that gives up tells its
        callers (ConnectionLost), so it only informs; one that never does warns."""
        return logging.WARNING if self.config.reconnect_window is None else logging.INFO

    async def _on_reconnected(self) -> None:
        if self._down is not None:
            since, timer = self._down
            if timer is not None:
                timer.cancel()
            log.log(self._loss_level(), "%s: reconnected to the bus after %.1fs", self.name,
                    time.monotonic() - since)
        self._down = None
        self.requests.reconnected()
        self._up.set()
        for listener in tuple(self._reconnected):
            listener()

    def when_reconnected(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` each time the connection is back after losing its server (on the
        loop thread: it must not block): what was published to its subscriptions meanwhile
        never came (a watch resumes). Returns what stops that (any thread, twice is fine)."""
        self._reconnected.append(listener)

        def forget() -> None:
            if listener in self._reconnected:
                self._reconnected.remove(listener)

        return forget

    async def _on_closed(self) -> None:
        if self._nc is not None and self.lost is None:  # not by close(): nats-py gave up
            self._lose(f"the connection to the bus at {self.config.url} was closed")

    def _lose(self, reason: str) -> None:
        """Give up for good (loop thread): close, and fail every request with ``reason``."""
        if self.lost is not None or self._nc is None:
            return
        self.lost = reason
        log.log(self._loss_level(), "%s: %s", self.name, reason)
        self.requests.fail(ConnectionLost(reason))
        self._up.set()  # requests waiting for the connection wake up, and see it lost
        closing = asyncio.ensure_future(_close_quietly(self._nc, self.name))
        self._publishing.add(closing)
        closing.add_done_callback(self._publishing.discard)

    def stopping(self) -> None:
        """Its owner is stopping: a connection reconnecting now is given up at once, so what
        the stop still sends (a Lease released, a watch stopped) fails fast instead of waiting
        out the reconnect window for a bus that is gone. Any thread but the loop's."""
        async def give_up() -> None:
            if self._down is not None:
                self._lose(f"the bus at {self.config.url} is down while {self.name} stops")

        if self._nc is not None and not self.closed:
            self.loop.wait(give_up(), timeout=5)

    @property
    def down(self) -> str | None:
        """Why nothing sent on it goes now: lost for good, closed, or reconnecting since a
        loss; None while connected (any thread: the health checks ask)."""
        if self.lost is not None or self._closed:
            return self.lost or "closed"
        if self._down is not None:
            return f"reconnecting to {self.config.url} for {time.monotonic() - self._down[0]:.1f}s"
        return None

    @property
    def closed(self) -> bool:
        """Closed for good, by :meth:`close` or lost: nothing sent on it will go (any thread)."""
        return self._closed or self.lost is not None

    def close(self) -> None:
        """Drain and close; safe to call twice. Not on the loop thread (RuntimeError)."""
        self._closed = True
        if self._nc is not None and self.lost is None:  # lost: _lose closes it, nothing to drain
            nc, self._nc = self._nc, None
            try:
                self.loop.wait(nc.drain(), timeout=5)
            except (nats.errors.Error, OSError, TimeoutError) as error:
                log.debug("%s: close: %s", self.name, error)

    @property
    def nc(self) -> NatsClient:
        if self.lost is not None:
            raise ConnectionLost(self.lost)
        if self._nc is None:
            raise BusError(f"connection {self.name!r} is not connected; call connect() first")
        return self._nc

    # -- messaging -------------------------------------------------------------------------

    def subscribe(self, subject: str, handler: Handler, *, queue: str = "",
                  rejected: Rejected | None = None,
                  answers: Callable[[str], bool] | None = None,
                  decoder: Callable[[bytes], Envelope] = decode) -> Subscription:
        """Subscribe ``handler`` (runs on the loop thread) to ``subject``; blocks until done.
        A message that does not decode is told to ``rejected`` and answered with its error
        when ``answers(reply subject)`` (by default: into an inbox, ``Subjects.inbox_owner``).
        ``decoder``: :func:`~bus.envelope.decode`, or ``decode_from_apiserver`` where only the
        apiserver may publish (a watch's events).
        """
        return self.loop.wait(self._subscribe(subject, handler, queue, rejected,
                                             answers or self._is_inbox, decoder), timeout=10)

    async def asubscribe(self, subject: str, handler: Handler, *,
                         decoder: Callable[[bytes], Envelope] = decode) -> Subscription:
        """:meth:`subscribe` (no queue, the default answers) awaited on the loop thread
        itself."""
        return await self._subscribe(subject, handler, "", None, self._is_inbox, decoder)

    def _is_inbox(self, subject: str) -> bool:
        return self.subjects.is_inbox_of(subject, None)

    async def _subscribe(self, subject: str, handler: Handler, queue: str,
                         rejected: Rejected | None, answers: Callable[[str], bool],
                         decoder: Callable[[bytes], Envelope]) -> Subscription:
        async def deliver(msg: Msg) -> None:
            try:
                envelope = decoder(msg.data)
            except ApiError as error:
                log.warning("%s: dropped bad message on %s: %s", self.name, msg.subject, error)
                if rejected is not None:
                    rejected(msg.subject, error)
                if msg.reply and answers(msg.reply):
                    reply = Envelope(sender=self.name).error_reply(error, sender=self.name)
                    await self.nc.publish(msg.reply, encode(reply))
                return
            chosen = faults.PROCESS.fate(msg.subject, envelope, self.name)
            if chosen is None:
                handler(Incoming(msg.subject, envelope, msg.reply or None, msg.data,
                                 read_mac(msg.headers)))
            else:
                _suffer(chosen, handler, msg, decoder)

        return await self._checked(subject, await self.nc.subscribe(
            subject, queue=queue, cb=deliver, pending_msgs_limit=self.config.pending_limit))

    async def _checked(self, subject: str, sub: Subscription) -> Subscription:
        """``sub`` once the server has it; PermissionViolation when the server refused it. Its
        error may come just after the reply to a ping sent with the subscription: a second
        round trip waits for it."""
        await self.nc.flush()
        await self.nc.flush()
        if subject.lower() in self._refused:
            self._refused.discard(subject.lower())
            await sub.unsubscribe()
            raise PermissionViolation(
                f"NATS user {self.owner!r} may not subscribe to {subject} (see the bus "
                "permissions in docs/PROTOCOL.md)")
        return sub

    def subscribe_raw(self, subject: str, handler: Callable[[str, bytes], None]) -> Subscription:
        """Subscribe ``handler(subject, data)`` to undecoded messages (tracers, recorders).
        Runs on the loop thread: it must not block."""

        async def deliver(msg: Msg) -> None:
            handler(msg.subject, msg.data)

        async def subscribe() -> Subscription:
            return await self._checked(subject, await self.nc.subscribe(
                subject, cb=deliver, pending_msgs_limit=self.config.pending_limit))

        return self.loop.wait(subscribe(), timeout=10)

    def serve_raw(self, subject: str, queue: str, answer: Callable[[bytes], bytes | None],
                  answers: Callable[[str], bool]) -> Subscription:
        """Answer each request on ``subject`` (in ``queue``) with ``answer(data)``'s bytes
        (None: no answer), when ``answers(its reply subject)``: a request answered elsewhere
        is logged and gets nothing. Runs on the loop thread: it must not block."""

        async def deliver(msg: Msg) -> None:
            if not (msg.reply and answers(msg.reply)):
                log.warning("%s: request on %s not answered to %r", self.name, subject,
                            msg.reply)
                return
            reply = answer(msg.data)
            if reply is not None:
                await self.nc.publish(msg.reply, reply)

        async def subscribe() -> Subscription:
            return await self._checked(subject, await self.nc.subscribe(
                subject, queue=queue, cb=deliver, pending_msgs_limit=self.config.pending_limit))

        return self.loop.wait(subscribe(), timeout=10)

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop a subscription (a closed connection has none left). Not on the loop thread."""
        try:
            self.loop.wait(self.aunsubscribe(sub), timeout=5)
        except TimeoutError as error:
            log.debug("%s: unsubscribe: %s", self.name, error)

    async def aunsubscribe(self, sub: Subscription) -> None:
        """:meth:`unsubscribe` awaited on the loop thread itself."""
        try:
            await sub.unsubscribe()
        except (nats.errors.Error, OSError) as error:
            log.debug("%s: unsubscribe: %s", self.name, error)

    def publish(self, subject: str, envelope: Envelope) -> None:
        """Send without waiting for delivery; callable from any thread, the loop's included.

        Raises PayloadTooLarge at once when the message exceeds the server's max payload; a
        later failure to send is logged (there is nobody left to tell).
        """
        envelope.sender = envelope.sender or self.name
        data = encode(envelope)
        limit = self.nc.max_payload
        if len(data) > limit:
            raise PayloadTooLarge(
                f"message to {subject} is {len(data)} bytes, over the bus limit of {limit}"
            )
        with self._outbox_lock:
            self._outbox.append((subject, data))
            if self._sending:  # the running sender takes it, after the ones before it
                return
            self._sending = True
        if self.loop.on_loop_thread():
            self._start_sending()
        else:  # one wake-up of the loop for every message queued until the sender runs
            self.loop.loop().call_soon_threadsafe(self._start_sending)

    def _start_sending(self) -> None:
        task = asyncio.ensure_future(self._send_outbox())
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _send_outbox(self) -> None:
        """Send the outbox until it is empty, in order (loop thread; one sender at a time,
        so messages leave in the order they were published, from every thread)."""
        while True:
            with self._outbox_lock:
                batch, self._outbox = self._outbox, []
                if not batch:
                    self._sending = False
                    return
            for subject, data in batch:
                try:
                    await self.nc.publish(subject, data)
                except Exception as error:  # logged; the messages after it still go
                    log.warning("%s: publish to %s failed: %s", self.name, subject, error)

    def request(
        self, subject: str, envelope: Envelope, timeout: float | None = None,
        mac_key: bytes | None = None,
    ) -> concurrent.futures.Future[Envelope]:
        """Send a request; the future resolves to the reply envelope or a BusError. With
        ``mac_key`` the request carries a MAC over its subject and bytes (see ``mac``)."""
        envelope.sender = envelope.sender or self.name
        return self.loop.submit(self.requests.request(subject, envelope, timeout, mac_key))

    async def arequest(
        self, subject: str, envelope: Envelope, timeout: float | None = None,
        mac_key: bytes | None = None,
    ) -> Envelope:
        """The request of :meth:`request`, awaited on the loop thread itself."""
        envelope.sender = envelope.sender or self.name
        return await self.requests.request(subject, envelope, timeout, mac_key)

    async def handed(self, take: Callable[[Incoming], None], subject: str, envelope: Envelope,
                     timeout: float | None = None, mac_key: bytes | None = None) -> Envelope:
        """The request of :meth:`arequest`, handed to ``take`` (a responder in this process,
        ``bus.inprocess``) instead of published: the same bytes, reply subject and MAC; the
        reply comes back encoded and is decoded here, as from NATS. Awaited on any event loop
        (the HTTPS listener's): neither the bus loop nor NATS is involved."""
        envelope.sender = envelope.sender or self.name
        deadline = timeout if timeout is not None else self.config.request_timeout
        data, token, signed = self.requests.outgoing(subject, envelope, mac_key)
        here = asyncio.get_running_loop()
        back = bus_loop.handover(here)
        replied: asyncio.Future[bytes] = here.create_future()

        def answer(reply: Envelope) -> None:  # the responder's thread
            back.call(partial(_resolve, replied, encode(reply)))

        take(Incoming(subject, decode(data), self.requests.prefix + token, data, signed, answer))
        try:
            return decode(await asyncio.wait_for(replied, deadline))
        except TimeoutError as error:
            raise BusTimeout(f"no reply on {subject} within {deadline:.1f}s") from error

    async def wait_up(self, subject: str, deadline: float) -> float:
        """Wait until connected (at most ``deadline`` seconds; loop thread: each request of
        ``bus.requests`` does first); what is left of the deadline. ConnectionLost when the
        connection is lost for good, or still down at the deadline."""
        started = time.monotonic()
        if not self._up.is_set():
            try:
                await asyncio.wait_for(self._up.wait(), deadline)
            except TimeoutError:
                raise ConnectionLost(f"request on {subject}: the bus at {self.config.url} is "
                                     f"not back after {deadline:.1f}s") from None
        if self.lost is not None:
            raise ConnectionLost(self.lost)
        return deadline - (time.monotonic() - started)


async def _close_quietly(nc: NatsClient, name: str) -> None:
    """Close a connection given up: nats-py's close may fail on a transport already gone
    (a TLS one whose protocol is None); that is no news once the loss was told."""
    try:
        await nc.close()
    except Exception as error:  # nats-py raises unrelated types here
        log.debug("%s: closing the lost connection: %s", name, error)


def _resolve(replied: asyncio.Future[bytes], data: bytes) -> None:
    """A handed-over request's reply, on the requester's loop (it may have given up)."""
    if not replied.done():
        replied.set_result(data)
