"""The request/reply mux of one connection (:class:`Requests`): every request's reply comes to
one wildcard subscription of the connection's, ``<inbox>.<random>.*``, and is matched to the
request waiting for it by the last token of its subject.

A request's token is a keyed hash of a counter: whoever sees one reply subject (a kubelet, an
admission actor, a log reader) can guess no other, so none can have an answer forged into a
request still waiting (say, an unauthenticated request's error, which the apiserver answers
into any inbox). The MAC of a request (``bus.envelope.mac``) covers its reply subject.

Neighbours: ``bus.connection`` (owns one per connection: its ``request`` and ``arequest`` come
here, its ``handed`` takes a request's bytes, reply subject and MAC from :meth:`Requests.outgoing`,
and it fails the waiting requests when it is lost).

Which thread: the bus loop's; :meth:`Requests.outgoing` any.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import secrets
from typing import TYPE_CHECKING

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from bus.envelope import MAC_HEADER, Envelope, decode, encode, mac
from bus.errors import BusError, BusTimeout, NoResponders, PayloadTooLarge, ReplyLost

if TYPE_CHECKING:
    from bus.connection import Connection

STATUS_HEADER = "Status"
NO_RESPONDERS_STATUS = "503"
"""The status header nats-server sets on the empty reply it sends when nobody listens."""


class Requests:
    """The requests of ``connection`` awaiting their replies."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.prefix = ""
        """``<inbox>.<random>.``: a request's reply subject is this and the request's token
        (set by :meth:`start`)."""
        self._tokens = itertools.count()
        self._token_key = secrets.token_bytes(16)
        """Keys a request's token (see the module's docstring)."""
        self._waiting: dict[str, asyncio.Future[Msg]] = {}
        """The requests awaiting a reply, by token (loop thread only)."""
        self._stranded: set[str] = set()
        """The tokens of the requests that awaited a reply when the connection lost its server
        (:meth:`dropped`), until it is back (:meth:`reconnected`)."""

    async def start(self, nc: NatsClient) -> None:
        """Subscribe to the replies on ``nc`` (the connection's, as it connects)."""
        connection = self._connection
        self.prefix = (f"{connection.subjects.inbox(connection.owner)}."
                       f"{secrets.token_hex(8)}.")
        await nc.subscribe(f"{self.prefix}*", cb=self._on_reply,
                                      pending_msgs_limit=connection.config.pending_limit)

    def fail(self, error: BusError) -> None:
        """Fail every request still waiting with ``error`` (loop thread)."""
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(error)

    def dropped(self) -> None:
        """The connection lost its server: the requests awaiting a reply now will get none
        (it went, or goes, through the server lost). They fail with ReplyLost once the
        connection is back (:meth:`reconnected`), with ConnectionLost if it is lost for good
        (:meth:`fail`): not at once, so a client a person waits on says which (loop thread)."""
        self._stranded.update(self._waiting)

    def reconnected(self) -> None:
        """The connection is back: fail the requests stranded by its loss (loop thread)."""
        stranded, self._stranded = self._stranded, set()
        for token in stranded:
            waiting = self._waiting.get(token)
            if waiting is not None and not waiting.done():
                waiting.set_exception(ReplyLost(
                    "the connection lost its server while the reply was awaited; the request "
                    "may or may not have been done"))

    def outgoing(self, subject: str, envelope: Envelope, mac_key: bytes | None
                 ) -> tuple[bytes, str, bytes | None]:
        """A request's bytes, the token of its reply subject and its MAC (None: no key)."""
        data = encode(envelope)
        token = hashlib.blake2b(str(next(self._tokens)).encode(), key=self._token_key,
                                digest_size=8).hexdigest()
        signed = None if mac_key is None else mac(mac_key, subject, self.prefix + token, data)
        return data, token, signed

    async def request(self, subject: str, envelope: Envelope, timeout: float | None,
                      mac_key: bytes | None) -> Envelope:
        """Publish a request and await its reply (loop thread)."""
        connection = self._connection
        deadline = timeout if timeout is not None else connection.config.request_timeout
        data, token, signed = self.outgoing(subject, envelope, mac_key)
        headers = None if signed is None else {MAC_HEADER: base64.b64encode(signed).decode()}
        left = await connection.wait_up(subject, deadline)
        waiting: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._waiting[token] = waiting
        try:
            await connection.nc.publish(subject, data, reply=self.prefix + token,
                                        headers=headers)
            msg = await asyncio.wait_for(waiting, left)
        except nats.errors.MaxPayloadError as error:
            raise PayloadTooLarge(f"request to {subject} is over the bus limit") from error
        except TimeoutError as error:
            raise BusTimeout(f"no reply on {subject} within {deadline:.1f}s") from error
        except ReplyLost as error:
            raise ReplyLost(f"no reply on {subject}: {error}") from None
        except nats.errors.Error as error:
            raise BusError(f"request on {subject} failed: {error}") from error
        finally:
            self._waiting.pop(token, None)
        if msg.headers and msg.headers.get(STATUS_HEADER) == NO_RESPONDERS_STATUS:
            raise NoResponders(f"no responders on {subject}")
        return decode(msg.data)

    async def _on_reply(self, msg: Msg) -> None:
        """A reply to one of the requests: resolve its future (loop thread)."""
        waiting = self._waiting.get(msg.subject[len(self.prefix):])
        if waiting is not None and not waiting.done():
            waiting.set_result(msg)

