"""The bridge between Pykka actors and NATS: :class:`BusActor`.

A BusActor subscribes to subjects when it starts; each message is decoded on the bus loop thread
and handed to the actor with ``tell()``, so the actor handles it on its own thread, one at a
time. Whatever :meth:`BusActor.handle` returns is sent back as the reply; an
:class:`~bus.errors.ApiError` it raises becomes an error reply with that status; any other
exception becomes a 500 reply and is logged, and the actor lives on.

Replies go only into inboxes (``<prefix>.inbox.<owner>.<...>``) of the owners
:attr:`BusActor.answers` names (None: any identity's): a reply subject elsewhere is logged and
nothing is published, so that no requester makes this actor's identity publish where the
requester may not (a node's calls, a watch, JetStream's subjects). A reply over the bus's
limit is replaced by a 500 that says so (:func:`send_reply`, which the kubelet's node calls use
too). A request handed over in this process (:meth:`BusActor.offer`, ``bus.inprocess``) is
handled the same way, and its reply goes back to its requester without NATS.

Backpressure: a message that arrives while ``mailbox_limit`` messages are still waiting is
answered ``429 TooManyRequests`` on the loop thread and never reaches the mailbox. Such a
refusal, that of a message that did not decode, and that of a message
:meth:`BusActor.arrived` refuses (a subclass's admission: the apiserver's flow control) are
told to :meth:`BusActor.rejected`.

Bus messages, and whatever other threads hand over with :meth:`BusActor.tell_soon`, wait in a
list beside the Pykka mailbox: only the first of a burst puts a message in the mailbox (one
wake-up of the actor's thread), and the actor then handles the whole list in order.

Neighbours: ``bus.connection`` (the NATS side); ``actors/`` (every component subclasses this).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from typing import Any

import pykka

from bus import loop as bus_loop
from bus.connection import Connection, Incoming
from bus.envelope import Envelope
from bus.errors import ApiError, InternalError, PayloadTooLarge, TooManyRequests
from bus.inprocess import Door

log = logging.getLogger(__name__)

_SOON = object()
"""Mailbox message: handle what :meth:`BusActor.tell_soon` queued."""


def send_reply(connection: Connection, message: Incoming, reply: Envelope) -> None:
    """Publish ``reply`` to ``message``'s reply subject (none: nothing is sent). A reply over
    the bus's limit is replaced by a 500 that says so, so that the requester hears why instead
    of timing out. A request handed over in this process gets its reply back directly
    (``Incoming.answer``). Any thread; the caller has checked that it may answer there."""
    if not message.reply_to:
        return
    if message.answer is not None:
        message.answer(reply)
        return
    try:
        connection.publish(message.reply_to, reply)
    except PayloadTooLarge as error:
        failure = InternalError(f"the response is too large for the bus ({error}); "
                                "narrow the request with a selector or a namespace")
        connection.publish(message.reply_to, message.envelope.error_reply(
            failure, sender=connection.name))


class BusActor(pykka.ThreadingActor):
    """A Pykka actor that talks to the rest of the cluster through NATS subjects.

    Subclasses list their subscriptions in :meth:`subscriptions` and answer in :meth:`handle`.
    Messages that do not come from the bus are passed to :meth:`on_local`. A subclass that
    overrides Pykka's ``on_receive`` (where bus messages are dispatched) is refused when it is
    defined, as Pykka refuses misuse in ``Actor.start``.
    """

    use_daemon_thread = True
    mailbox_limit: int = 10_000
    """Bus messages allowed to wait in the mailbox before new ones get 429."""
    answers: tuple[str, ...] | None = None
    """Owner tokens of the inboxes this actor answers into (an admission actor: the
    apiserver's); None: any identity's inbox. A reply subject elsewhere gets no answer."""

    def __init__(self, connection: Connection, door: Door | None = None) -> None:
        """With ``door``, requesters of this process may also hand it requests without NATS
        (``bus.inprocess``), from the end of :meth:`on_start` until :meth:`on_stop`."""
        super().__init__()
        self.connection = connection
        self.door = door
        self.subjects = connection.subjects
        self._subscriptions: list[Any] = []
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self._soon: list[Any] = []
        """Messages handed over by :meth:`tell_soon`, in order, not yet handled."""
        self._soon_lock = threading.Lock()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "on_receive" in vars(cls):
            raise TypeError(
                f"{cls.__qualname__} overrides on_receive, where BusActor hands bus messages "
                "to handle(): an override silently stops them. Handle other messages in "
                "on_local() instead")

    # -- overridables ----------------------------------------------------------------------

    def subscriptions(self) -> list[tuple[str, str]]:
        """``(subject, queue group)`` pairs to subscribe to at start (queue ``""``: none)."""
        return []

    def handle(self, incoming: Incoming) -> Envelope | None:
        """Answer one bus message on the actor thread; the returned envelope is the reply."""
        return None

    def arrived(self, message: Incoming) -> ApiError | None:
        """A bus message taken from the mailbox, on the actor's thread: by default answered at
        once (:meth:`serve`). An override may keep it back and :meth:`serve` it later (the
        apiserver queues it by flow: a whole batch of the mailbox is queued before any of it
        is served, so the order served is the override's), or return the error refusing it
        (answered, and told to :meth:`rejected`)."""
        self.serve(message)
        return None

    def rejected(self, subject: str, error: ApiError) -> None:
        """A message on ``subject`` was refused before it reached :meth:`handle` (it did not
        decode, the mailbox was full, or :meth:`arrived` refused it) and answered with
        ``error``. Runs on the bus loop thread or the actor's: must not block. Nothing by
        default (the apiserver audits it)."""

    def on_local(self, message: Any) -> Any:
        """Handle a message told by another actor or thread in this process (events, timers).

        An exception raised here is logged and the actor lives on: one bad event must not
        stop a component."""
        raise TypeError(f"{type(self).__name__} does not understand {message!r}")

    # -- Pykka hooks -----------------------------------------------------------------------

    def on_start(self) -> None:
        for subject, queue in self.subscriptions():
            self.listen(subject, queue=queue)
        if self.door is not None:
            self.door.open(self.offer)

    def on_stop(self) -> None:
        if self.door is not None:
            self.door.close(self.offer)
        for sub in self._subscriptions:
            self.connection.unsubscribe(sub)
        self._subscriptions.clear()

    def on_receive(self, message: Any) -> Any:
        if message is _SOON:
            with self._soon_lock:
                batch, self._soon = self._soon, []
            for each in batch:
                self._receive(each)
            return None
        return self._receive(message)

    def _receive(self, message: Any) -> Any:
        if not isinstance(message, Incoming):
            try:
                return self.on_local(message)
            except Exception:
                log.exception("%s failed on %r", type(self).__name__, message)
                return None
        with self._waiting_lock:
            self._waiting -= 1
        try:
            refused = self.arrived(message)
        except Exception as error:
            log.exception("%s failed to take in %s", type(self).__name__, message.subject)
            refused = InternalError(f"{type(self).__name__}: {type(error).__name__}: {error}")
        if refused is not None:
            self._refuse(message, refused)
        return None

    def serve(self, message: Incoming) -> None:
        """Answer a bus message: :meth:`handle`, then its reply (an error's, if it raised).
        The actor's thread."""
        try:
            reply = self.handle(message)
        except ApiError as error:
            reply = message.envelope.error_reply(error, sender=self.connection.name)
        except Exception as error:
            log.exception("%s failed on %s", type(self).__name__, message.subject)
            failure = InternalError(f"{type(self).__name__}: {type(error).__name__}: {error}")
            reply = message.envelope.error_reply(failure, sender=self.connection.name)
        if reply is not None and message.reply_to:
            self._reply(message, reply)

    def _refuse(self, message: Incoming, error: ApiError) -> None:
        """Answer ``message`` with ``error`` where it may be answered, and tell
        :meth:`rejected`. Any thread."""
        if message.reply_to and self.may_answer(message.reply_to):
            send_reply(self.connection, message, message.envelope.error_reply(
                error, sender=self.connection.name))
        self.rejected(message.subject, error)

    def may_answer(self, reply_to: str) -> bool:
        """Whether a reply may go to ``reply_to`` (see :attr:`answers`); logs a refusal.
        Any thread."""
        if self.subjects.is_inbox_of(reply_to, self.answers):
            return True
        log.warning("%s: no answer to %s: not an inbox of %s", type(self).__name__, reply_to,
                    "an identity" if self.answers is None else " or ".join(self.answers))
        return False

    def _reply(self, message: Incoming, reply: Envelope) -> None:
        if self.may_answer(message.reply_to or ""):
            send_reply(self.connection, message, reply)

    # -- helpers for subclasses --------------------------------------------------------------

    def listen(self, subject: str, *, queue: str = "") -> None:
        """Subscribe to ``subject``; its messages arrive in :meth:`handle` on this thread."""
        self._subscriptions.append(self.connection.subscribe(
            subject, self.offer, queue=queue, rejected=self.rejected, answers=self.may_answer))

    def offer(self, incoming: Incoming) -> None:
        """Take a message for :meth:`handle`, as a subscription delivers it (the bus loop
        thread) or as a requester in this process hands it over (``bus.inprocess``: its
        thread); a full mailbox answers 429 instead. Any thread: must not block."""
        with self._waiting_lock:
            full = self._waiting >= self.mailbox_limit
            if not full:
                self._waiting += 1
        if full:
            self._refuse(incoming, TooManyRequests(f"{type(self).__name__} is busy; retry later",
                                                   details={"retryAfterSeconds": 1}))
            return
        self.tell_soon(incoming)

    def tell_self(self, message: Any) -> None:
        """Put ``message`` in this actor's mailbox from any thread (timers, informers, event
        streams); dropped quietly once the actor has stopped."""
        try:
            self.actor_ref.tell(message)
        except pykka.ActorDeadError:
            log.debug("%s stopped; dropped %r", type(self).__name__, message)

    def tell_soon(self, message: Any) -> None:
        """Hand ``message`` to this actor from any thread, to be handled in order with the
        other messages handed over this way (bus messages included); a burst of them costs
        one wake-up of the actor's thread. Dropped quietly once the actor has stopped."""
        with self._soon_lock:
            self._soon.append(message)
            if len(self._soon) > 1:  # the mailbox already holds the call for them
                return
        self.tell_self(_SOON)

    def tell_later(self, delay: float, message: Any) -> concurrent.futures.Future[None]:
        """Put ``message`` in this actor's mailbox after ``delay`` seconds: a timer on the bus
        loop, no thread. ``cancel()`` the returned future to call it off."""
        return bus_loop.call_later(delay, lambda: self.tell_self(message))

    def publish(self, subject: str, envelope: Envelope) -> None:
        """Send without waiting."""
        self.connection.publish(subject, envelope)

    def request(self, subject: str, envelope: Envelope) -> concurrent.futures.Future[Envelope]:
        """Send a request; wait on the future from this thread, never from the loop."""
        return self.connection.request(subject, envelope)
