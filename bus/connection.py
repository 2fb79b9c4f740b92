"""One NATS connection per component identity, living on the shared bus loop.

Every public method of :class:`Connection` is safe to call from any thread except the bus loop
thread: it schedules the work on the loop and returns a ``concurrent.futures.Future`` (or waits
for one). Subscription callbacks run on the loop thread and must not block: decode, hand the
message to an actor with ``tell()``, return.

Neighbours: ``bus._loop`` (the thread), ``bus.envelope`` (the codec), ``bus.actor`` (the
actor bridge built on this class).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from bus import _loop
from bus.envelope import Envelope, decode, encode
from bus.errors import ApiError, BusError, BusTimeout, NoResponders
from bus.subjects import Subjects

log = logging.getLogger(__name__)

Handler = Callable[["Incoming"], None]
"""A subscription callback. Runs on the bus loop thread: it must not block."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A decoded message as handed to a subscriber."""

    subject: str
    envelope: Envelope
    reply_to: str | None
    """Where a reply goes (an inbox subject), or None for a plain publish."""


@dataclass(frozen=True, slots=True)
class BusConfig:
    """Where and as whom a component connects."""

    url: str = "nats://127.0.0.1:4222"
    """NATS server URL (several may be given comma-separated, as for a NATS cluster)."""
    prefix: str = "kubeactor"
    """Cluster subject prefix; every subject and inbox lives under it."""
    user: str | None = None
    """NATS user of this identity when the bus is locked down; None for an open bus."""
    password: str | None = None
    request_timeout: float = 10.0
    """Seconds a request waits for its reply. Generous: the store commits durably first."""
    pending_limit: int = 65536
    """Messages a subscription may hold before NATS reports slow-consumer; bounds memory."""


class Connection:
    """A NATS connection for one identity on the shared bus loop."""

    def __init__(self, config: BusConfig, name: str) -> None:
        self.config = config
        self.name = name
        self.subjects = Subjects(config.prefix)
        self._nc: NatsClient | None = None
        self._publishing: set[asyncio.Future[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> Connection:
        """Connect (blocking this thread, not the loop); return self for chaining."""
        _loop.wait(self._connect(), timeout=timeout + 1)
        return self

    async def _connect(self) -> None:
        try:
            self._nc = await nats.connect(
                servers=self.config.url.split(","),
                name=self.name,
                user=self.config.user,
                password=self.config.password,
                inbox_prefix=self.subjects.inbox_prefix.encode(),
                connect_timeout=5,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=self._on_error,
                allow_reconnect=True,
            )
        except (nats.errors.Error, OSError) as error:
            raise BusError(f"cannot connect to NATS at {self.config.url}: {error}") from error

    async def _on_error(self, error: Exception) -> None:
        log.warning("%s: NATS error: %s", self.name, error)

    def close(self) -> None:
        """Drain and close; safe to call twice."""
        if self._nc is not None and not _loop.on_loop_thread():
            nc, self._nc = self._nc, None
            try:
                _loop.wait(nc.drain(), timeout=5)
            except Exception as error:  # closing must not raise; report and move on
                log.debug("%s: close: %s", self.name, error)

    @property
    def nc(self) -> NatsClient:
        if self._nc is None:
            raise BusError(f"connection {self.name!r} is not connected; call connect() first")
        return self._nc

    # -- messaging -------------------------------------------------------------------------

    def subscribe(self, subject: str, handler: Handler, *, queue: str = "") -> Subscription:
        """Subscribe ``handler`` (runs on the loop thread) to ``subject``; blocks until done."""
        return _loop.wait(self._subscribe(subject, handler, queue), timeout=10)

    async def _subscribe(self, subject: str, handler: Handler, queue: str) -> Subscription:
        async def deliver(msg: Msg) -> None:
            try:
                envelope = decode(msg.data)
            except ApiError as error:
                if msg.reply:
                    reply = Envelope(sender=self.name).error_reply(error, sender=self.name)
                    await self.nc.publish(msg.reply, encode(reply))
                log.warning("%s: dropped bad message on %s: %s", self.name, msg.subject, error)
                return
            handler(Incoming(msg.subject, envelope, msg.reply or None))

        sub = await self.nc.subscribe(
            subject, queue=queue, cb=deliver, pending_msgs_limit=self.config.pending_limit
        )
        await self.nc.flush()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop a subscription; never raises."""
        if not _loop.on_loop_thread():
            try:
                _loop.wait(sub.unsubscribe(), timeout=5)
            except Exception as error:  # already closed connections raise here
                log.debug("%s: unsubscribe: %s", self.name, error)

    def publish(self, subject: str, envelope: Envelope) -> None:
        """Send without waiting for anything; callable from any thread, the loop's included."""
        envelope.sender = envelope.sender or self.name
        data = encode(envelope)
        if _loop.on_loop_thread():
            task = asyncio.ensure_future(self.nc.publish(subject, data))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)
        else:
            _loop.submit(self.nc.publish(subject, data))

    def request(
        self, subject: str, envelope: Envelope, timeout: float | None = None
    ) -> concurrent.futures.Future[Envelope]:
        """Send a request; the future resolves to the reply envelope or a BusError."""
        envelope.sender = envelope.sender or self.name
        return _loop.submit(self._request(subject, envelope, timeout))

    async def arequest(
        self, subject: str, envelope: Envelope, timeout: float | None = None
    ) -> Envelope:
        """The request of :meth:`request`, awaited on the loop thread itself."""
        envelope.sender = envelope.sender or self.name
        return await self._request(subject, envelope, timeout)

    async def _request(self, subject: str, envelope: Envelope, timeout: float | None) -> Envelope:
        deadline = timeout if timeout is not None else self.config.request_timeout
        try:
            msg = await self.nc.request(subject, encode(envelope), timeout=deadline)
        except nats.errors.NoRespondersError as error:
            raise NoResponders(f"no responders on {subject}") from error
        except nats.errors.TimeoutError as error:
            raise BusTimeout(f"no reply on {subject} within {deadline:.1f}s") from error
        except nats.errors.Error as error:
            raise BusError(f"request on {subject} failed: {error}") from error
        return decode(msg.data)
