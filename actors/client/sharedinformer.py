"""Shared informers: one watch per resource for all the components of one identity.

The controllers of the controller manager all follow pods, several follow nodes, leases and
ReplicaSets. Each with an informer of its own, every change of a pod would be encoded by the
apiserver, carried by NATS and decoded on the bus loop once per controller. Like client-go's
SharedInformerFactory, :func:`shared_informers` gives the components that share a
:class:`~actors.client.client.Client` (one identity, one process) one :class:`SharedInformers`,
which runs one :class:`~actors.client.informer.Informer` per resource and hands each event to every
handler.

A handler added to a running informer first hears what the informer holds, as ADDED (as
client-go's AddEventHandler replays its store), then every event after it. It may hear an
object twice around that moment (the state and the event that made it): handlers are
level-based. Handlers run on the bus loop thread (on the adding thread for the first list and
the replay) and must not block: components pass ``BusActor.tell_soon``. The informer stops
when its last handler is removed.

Neighbours: ``actors.client.informer`` (the informer shared), ``actors.controllers.controller`` (its
user).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from actors.client.client import Client, WatchEvent
from actors.client.informer import Informer

Handler = Callable[[WatchEvent], None]


class SharedInformer:
    """One informer and the handlers its events go to. Thread-safe."""

    def __init__(self, client: Client, resource: str) -> None:
        self.informer = Informer(client, resource, self._fan_out)
        self._handlers: tuple[Handler, ...] = ()
        """Replaced, never changed in place: a fan-out reads it once, without the lock."""
        self._lock = threading.Lock()
        """Held by the bus loop only to read the handlers: never while waiting on the bus."""

    def add(self, handler: Handler, replay: bool = True) -> None:
        """Add ``handler``; with ``replay``, first tell it every object held, as ADDED."""
        with self._lock:
            if replay:
                for obj in self.informer.items():
                    handler(WatchEvent("ADDED", obj))
            self._handlers = (*self._handlers, handler)

    def remove(self, handler: Handler) -> int:
        """Remove ``handler`` (compared with ``==``: bound methods are new objects); how many
        handlers are left."""
        with self._lock:
            kept = list(self._handlers)
            if handler in kept:
                kept.remove(handler)
            self._handlers = tuple(kept)
            return len(kept)

    def _fan_out(self, event: WatchEvent) -> None:  # bus loop thread (first list: starter's)
        with self._lock:
            handlers = self._handlers
        for handler in handlers:
            handler(event)


class SharedInformers:
    """The shared informers of one client, by resource. Thread-safe; :meth:`add` and
    :meth:`remove` block the calling thread for a list or a watch's end (never call them on
    the bus loop)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._informers: dict[str, SharedInformer] = {}
        self._lock = threading.Lock()
        """Held while an informer lists or stops (a bus round trip): never by the bus loop."""

    def add(self, resource: str, handler: Handler) -> None:
        """Send ``resource``'s events to ``handler``, starting the informer (a list, blocking
        this thread) when it is the first; raises what the list raised."""
        with self._lock:
            shared = self._informers.get(resource)
            if shared is not None:
                shared.add(handler)
                return
            shared = SharedInformer(self.client, resource)
            shared.add(handler, replay=False)
            shared.informer.start()
            self._informers[resource] = shared

    def remove(self, resource: str, handler: Handler) -> None:
        """Stop sending ``resource``'s events to ``handler``; the last one out stops the
        informer."""
        with self._lock:
            shared = self._informers.get(resource)
            if shared is None or shared.remove(handler):
                return
            del self._informers[resource]
            shared.informer.stop()

    def __len__(self) -> int:
        """Informers running."""
        return len(self._informers)


_BY_CLIENT: weakref.WeakKeyDictionary[Client, SharedInformers] = weakref.WeakKeyDictionary()
_BY_CLIENT_LOCK = threading.Lock()


def shared_informers(client: Client) -> SharedInformers:
    """The shared informers of ``client``'s components (made on first use)."""
    with _BY_CLIENT_LOCK:
        found = _BY_CLIENT.get(client)
        if found is None:
            found = _BY_CLIENT[client] = SharedInformers(client)
        return found
